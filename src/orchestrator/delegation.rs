//! Delegation as the engine offers it: the file locks of runs (taken all or none, renewed by the
//! supervisor's heartbeat, released when the run ends), listed and released by a person.

use super::Orchestrator;
use crate::delegator::locks::{lease_conflicts, task_locks};
use crate::domain::{LeaseId, LockLease, RunId, Timestamp};
use crate::error::{Error, Result};
use crate::store::NewLease;

impl Orchestrator {
    fn lease_secs(&self) -> u64 {
        self.settings()
            .map_or(60, |s| s.config.supervisor.lease_secs)
            .max(5)
    }

    /// Takes the locks of a run's task — its files, exclusive — all or none. `Ok(Err(held))`
    /// names the leases in the way.
    pub async fn lock_run(
        &self,
        run: RunId,
    ) -> Result<std::result::Result<Vec<LockLease>, Vec<LockLease>>> {
        let (project, root, until) = (
            self.project.id,
            self.project.root.clone(),
            Timestamp::now().plus(std::time::Duration::from_secs(self.lease_secs())),
        );
        let owner = crate::supervisor::engine_id();
        self.blocking(move |s| {
            let run = s.run(run)?;
            let content = s.plan_version(run.plan_id, Some(run.plan_version))?.content;
            let task = content.task(&run.task_key).ok_or_else(|| {
                Error::Corrupt(format!(
                    "run {}: task {} is not in its plan version",
                    run.id, run.task_key
                ))
            })?;
            let new: Vec<NewLease> = task_locks(&root, task)?
                .into_iter()
                .map(|(pattern, mode)| NewLease {
                    project_id: project,
                    pattern,
                    mode,
                    owner: owner.clone(),
                    run_id: Some(run.id),
                    expires_at: until,
                })
                .collect();
            s.acquire_leases(&new, lease_conflicts)
        })
        .await
    }

    /// Gives back a run's locks, saying why.
    pub async fn unlock_run(&self, run: RunId, reason: &str) -> Result<usize> {
        let reason = reason.to_owned();
        self.blocking(move |s| s.release_run_leases(run, &reason))
            .await
    }

    /// The locks in force, newest first; with `all`, every lease ever taken (at most `limit`).
    pub async fn locks(&self, all: bool, limit: u32) -> Result<Vec<LockLease>> {
        let project = self.project.id;
        self.blocking(move |s| s.leases(project, all, limit)).await
    }

    /// A person releases a lock, with the reason kept.
    pub async fn release_lock(&self, id: LeaseId, reason: &str) -> Result<LockLease> {
        if reason.trim().is_empty() {
            return Err(Error::Invalid(
                "say why the lock is released (--reason)".into(),
            ));
        }
        let (project, reason) = (
            self.project.id,
            format!("released by a person: {}", reason.trim()),
        );
        self.blocking(move |s| s.release_lease_because(project, id, &reason))
            .await
    }
}
