//! Delegation as the engine offers it: the file locks of runs (taken all or none, renewed by the
//! supervisor's heartbeat, released when the run ends), listed and released by a person.

use std::path::PathBuf;

use super::Orchestrator;
use crate::delegator::locks::{lease_conflicts, task_locks};
use crate::delegator::worktree::{self, Rebase};
use crate::domain::{LeaseId, LockLease, RunId, Timestamp};
use crate::error::{Error, Result};
use crate::store::{NewLease, RunUpdate};

/// What the merge queue did with a verified run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Landing {
    /// Fast-forwarded onto the base branch.
    Landed {
        /// The commit now at the branch's tip.
        commit: String,
        /// The base branch.
        branch: String,
    },
    /// Rebased onto a base that moved: verify again, then land.
    Rebased {
        /// The rebased commit.
        commit: String,
        /// The new base.
        base: String,
    },
    /// The rebase conflicts; the markers are in the worktree for the agent.
    Conflict {
        /// The files in conflict.
        files: Vec<String>,
        /// The base branch.
        branch: String,
    },
}

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
        self.own_run(run).await?;
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
        if crate::domain::blank(reason) {
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

    /// Where the runs' worktrees live.
    fn worktrees_dir(&self) -> PathBuf {
        let data = self
            .store
            .path()
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default();
        data.join("worktrees").join(self.project.id.0.to_string())
    }

    /// Gives a run its own worktree on its own branch from the tip of `branch` (or finds it
    /// again), and records it with its base commit.
    pub async fn prepare_worktree(&self, run: RunId, branch: &str) -> Result<PathBuf> {
        let (root, dir, branch) = (
            self.project.root.clone(),
            self.worktrees_dir(),
            branch.to_owned(),
        );
        let existing = self.blocking(move |s| s.run(run)).await?;
        if let (Some(path), Some(_)) = (&existing.worktree, &existing.base_commit)
            && path.exists()
        {
            return Ok(path.clone());
        }
        let (path, base) = tokio::task::spawn_blocking(move || -> Result<(PathBuf, String)> {
            let base = worktree::tip(&root, &branch)?;
            Ok((worktree::create(&root, &dir, run, &base)?, base))
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))??;
        let update = RunUpdate {
            worktree: Some(path.clone()),
            base_commit: Some(base),
            ..RunUpdate::default()
        };
        self.blocking(move |s| s.update_run(run, &update)).await?;
        Ok(path)
    }

    /// The merge queue: one run at a time, rebase the run's commit onto the tip of the branch
    /// checked out at the project root and fast-forward the branch to it.
    pub async fn land_run(&self, run: RunId) -> Result<Landing> {
        let _turn = self.merge_queue.lock().await;
        let record = self.blocking(move |s| s.run(run)).await?;
        let (Some(tree), Some(base)) = (record.worktree.clone(), record.base_commit.clone()) else {
            return Err(Error::Invalid(format!("run {run} has no worktree to land")));
        };
        let root = self.project.root.clone();
        let (landing, new_base) =
            tokio::task::spawn_blocking(move || -> Result<(Landing, Option<String>)> {
                let branch = worktree::current_branch(&root)?;
                Ok(match worktree::rebase(&root, &tree, &branch, &base)? {
                    Rebase::UpToDate => {
                        let commit = worktree::head(&tree)?;
                        worktree::land(&root, &branch, &commit)?;
                        (Landing::Landed { commit, branch }, None)
                    }
                    Rebase::Moved { commit, base } => (
                        Landing::Rebased {
                            commit,
                            base: base.clone(),
                        },
                        Some(base),
                    ),
                    Rebase::Conflict { files, base } => {
                        (Landing::Conflict { files, branch }, Some(base))
                    }
                })
            })
            .await
            .map_err(|e| Error::Internal(e.to_string()))??;
        if let Some(base) = new_base {
            // The work now sits on the new base: tampering is judged against it.
            let update = RunUpdate {
                base_commit: Some(base),
                ..RunUpdate::default()
            };
            self.blocking(move |s| s.update_run(run, &update)).await?;
        }
        Ok(landing)
    }

    /// Removes a run's worktree and branch (for runs that ended: landed or cancelled).
    pub async fn remove_worktree(&self, run: RunId) {
        let root = self.project.root.clone();
        let Ok(record) = self.blocking(move |s| s.run(run)).await else {
            return;
        };
        let Some(tree) = record.worktree else { return };
        let removed =
            tokio::task::spawn_blocking(move || worktree::remove(&root, &tree, run)).await;
        if let Ok(Err(e)) | Err(e) = removed.map_err(|e| Error::Internal(e.to_string())) {
            tracing::warn!(run = %run, error = %e, "the worktree could not be removed");
        }
    }
}
