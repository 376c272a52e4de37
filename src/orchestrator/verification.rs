//! Verification: running the checks on the project or a run's worktree, storing the report, and
//! background jobs so a client can start a long verification and ask how it goes.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Orchestrator;
use crate::config::VerifierConfig;
use crate::domain::{ReportId, RunId, Timestamp, VerificationReport};
use crate::error::{Error, Result};
use crate::store::NewReport;
use crate::verifier::{self, Progress, VerifyRequest, checks};

/// What to verify.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
pub struct VerifyOptions {
    /// Verify this run's worktree (its task's files may change check configuration; its base
    /// commit is the tampering baseline).
    pub run: Option<RunId>,
    /// Only these checks (default: the configured or detected ones).
    pub checks: Option<Vec<String>>,
    /// The changed files; checks that take file lists get only these.
    pub files: Option<Vec<String>>,
    /// Compare with this commit for tampering (default: the run's base commit; none outside a run).
    pub base: Option<String>,
}

/// A verification running in the background.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct VerifyJob {
    /// The job's id (valid while this server runs).
    pub id: u64,
    /// `running`, `done` or `failed`.
    pub status: JobStatus,
    /// Checks finished.
    pub done: usize,
    /// Checks in all (0 until known).
    pub total: usize,
    /// The check running now.
    pub current: Option<String>,
    /// Names of the checks finished, each with ✓ or ✗.
    pub finished: Vec<String>,
    /// When it started.
    pub started_at: Timestamp,
    /// The stored report, once done.
    pub report: Option<VerificationReport>,
    /// Why it could not run, if it failed.
    pub error: Option<String>,
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Checks are running.
    Running,
    /// The report is ready (it may have failed checks).
    Done,
    /// The verification could not run at all.
    Failed,
}

/// The jobs of one engine.
#[derive(Debug, Default)]
pub(super) struct Jobs {
    next: Mutex<u64>,
    jobs: Mutex<HashMap<u64, VerifyJob>>,
    changed: tokio::sync::Notify,
}

impl Jobs {
    fn update(&self, id: u64, f: impl FnOnce(&mut VerifyJob)) {
        if let Ok(mut jobs) = self.jobs.lock()
            && let Some(job) = jobs.get_mut(&id)
        {
            f(job);
        }
        self.changed.notify_waiters();
    }

    fn get(&self, id: u64) -> Option<VerifyJob> {
        self.jobs
            .lock()
            .ok()
            .and_then(|jobs| jobs.get(&id).cloned())
    }
}

impl Orchestrator {
    fn verifier_config(&self) -> VerifierConfig {
        self.settings
            .as_deref()
            .map(|s| s.config.verifier.clone())
            .unwrap_or_default()
    }

    /// Runs the checks and stores the report. `on_progress` hears each check start and end.
    pub async fn verify(
        &self,
        options: VerifyOptions,
        on_progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<VerificationReport> {
        let config = self.verifier_config();
        let (dir, base, declared) = match options.run {
            Some(run_id) => {
                self.own_run(run_id).await?;
                let (run, task_files) = self
                    .blocking(move |s| {
                        let run = s.run(run_id)?;
                        let version = s.plan_version(run.plan_id, Some(run.plan_version))?;
                        let files = version
                            .content
                            .phases
                            .iter()
                            .flat_map(|p| &p.tasks)
                            .find(|t| t.key == run.task_key)
                            .map(|t| t.files.clone())
                            .unwrap_or_default();
                        Ok((run, files))
                    })
                    .await?;
                let dir = run
                    .worktree
                    .clone()
                    .unwrap_or_else(|| self.project.root.clone());
                (
                    dir,
                    options.base.clone().or(run.base_commit.clone()),
                    task_files,
                )
            }
            None => (self.project.root.clone(), options.base.clone(), Vec::new()),
        };
        if !dir.is_dir() {
            return Err(Error::Invalid(format!(
                "{} is not a folder that can be verified",
                dir.display()
            )));
        }
        let specs = {
            let (dir, config, requested) = (dir.clone(), config.clone(), options.checks.clone());
            tokio::task::spawn_blocking(move || {
                checks::resolve(&dir, &config, requested.as_deref())
            })
            .await
            .map_err(|e| Error::Internal(format!("resolving checks: {e}")))??
        };
        let files = options
            .files
            .map(|files| normalise_files(&dir, files))
            .transpose()?;
        let mut request = VerifyRequest::new(&dir, specs, &config);
        request.files_changed = files;
        request.base = base;
        request.declared_files = declared;
        let done = verifier::verify(&request, on_progress).await;
        let new = NewReport {
            project_id: self.project.id,
            run_id: options.run,
            commit: done.commit,
            dirty: done.dirty,
            base_commit: done.base_commit,
            started_at: done.started_at,
            finished_at: done.finished_at,
            checks: done.checks,
        };
        self.blocking(move |s| s.save_report(&new)).await
    }

    /// Starts a verification in the background and returns its job at once.
    pub async fn start_verification(&self, options: VerifyOptions) -> VerifyJob {
        let jobs = Arc::clone(&self.jobs);
        let id = {
            let mut next = jobs
                .next
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *next += 1;
            *next
        };
        let job = VerifyJob {
            id,
            status: JobStatus::Running,
            done: 0,
            total: 0,
            current: None,
            finished: Vec::new(),
            started_at: Timestamp::now(),
            report: None,
            error: None,
        };
        if let Ok(mut map) = jobs.jobs.lock() {
            map.insert(id, job.clone());
        }
        let engine = self.clone();
        tokio::spawn(async move {
            let progress_jobs = Arc::clone(&engine.jobs);
            let on_progress = move |event: Progress| match event {
                Progress::Started { total, name, .. } => progress_jobs.update(id, |job| {
                    job.total = total;
                    job.current = Some(name);
                }),
                Progress::Finished {
                    index,
                    total,
                    result,
                } => progress_jobs.update(id, |job| {
                    job.total = total;
                    job.done = index + 1;
                    job.current = None;
                    job.finished.push(format!(
                        "{} {}",
                        if result.passed { "✓" } else { "✗" },
                        result.name
                    ));
                }),
            };
            let outcome = engine.verify(options, &on_progress).await;
            engine.jobs.update(id, |job| match outcome {
                Ok(report) => {
                    job.status = JobStatus::Done;
                    job.report = Some(report);
                }
                Err(e) => {
                    job.status = JobStatus::Failed;
                    job.error = Some(e.to_string());
                }
            });
        });
        job
    }

    /// A background verification: waits up to `wait` for it to finish, then says where it
    /// stands.
    pub async fn verification_job(&self, id: u64, wait: Duration) -> Result<VerifyJob> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let notified = self.jobs.changed.notified();
            let job = self.jobs.get(id).ok_or_else(|| {
                Error::Invalid(format!(
                    "no verification job {id} in this server (jobs live as long as the server)"
                ))
            })?;
            if job.status != JobStatus::Running || tokio::time::Instant::now() >= deadline {
                return Ok(job);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self
                    .jobs
                    .get(id)
                    .ok_or_else(|| Error::Internal("the job vanished".into()));
            }
        }
    }

    /// A stored report.
    pub async fn verification_report(&self, id: ReportId) -> Result<VerificationReport> {
        let project = self.project.id;
        self.blocking(move |s| {
            let report = s.report(id)?;
            if report.project_id == project {
                Ok(report)
            } else {
                Err(Error::not_found("verification report", id))
            }
        })
        .await
    }

    /// The project's newest reports.
    pub async fn verification_reports(&self, limit: u32) -> Result<Vec<VerificationReport>> {
        let project = self.project.id;
        self.blocking(move |s| s.recent_reports(project, limit))
            .await
    }

    /// The verification reports of a run, newest first.
    pub async fn run_reports(&self, run: crate::domain::RunId) -> Result<Vec<VerificationReport>> {
        self.own_run(run).await?;
        let mut reports = self.blocking(move |s| s.reports_for_run(run)).await?;
        reports.reverse();
        Ok(reports)
    }
}

/// Changed files as paths relative to the tree; one outside it is an error.
fn normalise_files(dir: &std::path::Path, files: Vec<String>) -> Result<Vec<String>> {
    files
        .into_iter()
        .map(|f| {
            let path = PathBuf::from(&f);
            let absolute = if path.is_absolute() {
                path
            } else {
                dir.join(&path)
            };
            let clean = crate::policy::shell::normalize(&absolute);
            clean
                .strip_prefix(dir)
                .map(|rel| rel.to_string_lossy().into_owned())
                .map_err(|_| {
                    Error::Invalid(format!("the changed file {f} is outside {}", dir.display()))
                })
        })
        .collect()
}
