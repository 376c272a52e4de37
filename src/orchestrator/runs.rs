//! Runs: starting a task's run under the supervisor, reading runs and their events, a person's
//! retry / cancel / resume of an escalated run, and recovery of runs whose engine died.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::Orchestrator;
use crate::domain::{Checkpoint, PlanId, Run, RunEvent, RunId, RunStatus};
use crate::error::{Error, Result};
use crate::store::NewRun;

/// A run with what a person or client needs to follow it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct RunView {
    /// The run.
    pub run: Run,
    /// Its checkpoints, oldest first.
    pub checkpoints: Vec<Checkpoint>,
    /// Its newest events (at most 20), oldest first.
    pub recent_events: Vec<RunEvent>,
    /// Approval requests of this run waiting for a person.
    pub waiting_approvals: usize,
    /// Whether a supervisor in this process is driving it now.
    pub supervised_here: bool,
}

/// What a person can do to a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunAction {
    /// Start again with a fresh count of attempts (an escalated or failed run).
    Retry,
    /// Continue the agent's session where it stopped (an escalated run).
    Resume,
    /// Stop it for good.
    Cancel,
}

/// Supervisors running in this process, by run, to stop them.
#[derive(Debug, Default)]
pub(super) struct Live {
    runs: Mutex<HashMap<RunId, CancellationToken>>,
    /// Woken whenever a supervisor of this process ends.
    ended: tokio::sync::Notify,
}

impl Orchestrator {
    /// Creates a run of a task of an approved plan, in `PENDING`.
    pub async fn create_task_run(&self, plan: PlanId, task: &str) -> Result<Run> {
        self.project_plan(plan).await?;
        let agent = self
            .settings()
            .map_or("claude", |s| match s.config.agent.kind() {
                crate::config::AgentKind::Claude => "claude",
                crate::config::AgentKind::Command => "command",
            });
        let new = NewRun {
            plan_id: plan,
            task_key: task.to_owned(),
            agent: agent.to_owned(),
        };
        self.blocking(move |s| s.create_run(&new)).await
    }

    /// Supervises a run in this task until it ends (completed, escalated, cancelled) or `stop`
    /// fires. `on_event` sees each event as it is logged.
    pub async fn supervise_run(
        &self,
        run: RunId,
        stop: CancellationToken,
        on_event: &(dyn Fn(&RunEvent) + Send + Sync),
    ) -> Result<Run> {
        let token = stop.child_token();
        if let Ok(mut live) = self.live.runs.lock() {
            live.insert(run, token.clone());
        }
        let result = super::supervise::supervise(self, run, token, on_event).await;
        if let Ok(mut live) = self.live.runs.lock() {
            live.remove(&run);
        }
        self.live.ended.notify_waiters();
        if let Ok(ended) = &result
            && ended.status == RunStatus::Cancelled
        {
            // Cancelled while its worktree was being made, or while it started: nothing of it
            // stays behind.
            self.unlock_run(run, "the run was cancelled").await?;
            self.remove_worktree(run).await;
        }
        result
    }

    /// Starts supervising a run in the background; returns at once.
    pub fn spawn_run(&self, run: RunId, stop: CancellationToken) {
        // Registered before the task starts, so a shutdown right after waits for it.
        if let Ok(mut live) = self.live.runs.lock() {
            live.entry(run).or_insert_with(|| stop.child_token());
        }
        let engine = self.clone();
        tokio::spawn(async move {
            if let Err(e) = engine.supervise_run(run, stop, &|_| {}).await {
                tracing::warn!(run = %run, error = %e, "the supervisor stopped with an error");
            }
        });
    }

    /// How many runs this process supervises now.
    pub fn live_runs(&self) -> usize {
        self.live.runs.lock().map_or(0, |l| l.len())
    }

    /// A run with its checkpoints and newest events.
    pub async fn run_view(&self, id: RunId) -> Result<RunView> {
        self.own_run(id).await?;
        let supervised_here = self.live.runs.lock().is_ok_and(|l| l.contains_key(&id));
        let (run, checkpoints, events) = self
            .blocking(move |s| {
                let run = s.run(id)?;
                let checkpoints = s.checkpoints(id)?;
                let events = s.last_events(id, 20)?;
                Ok((run, checkpoints, events))
            })
            .await?;
        let waiting = self
            .approvals(crate::store::ApprovalFilter {
                status: Some(crate::domain::ApprovalStatus::Pending),
                run_id: Some(id),
                limit: None,
                project_id: None,
                plan_id: None,
            })
            .await?
            .len();
        Ok(RunView {
            run,
            checkpoints,
            recent_events: events,
            waiting_approvals: waiting,
            supervised_here,
        })
    }

    /// The project's runs, oldest first (only those in `states`, when given).
    pub async fn runs(&self, states: Vec<RunStatus>) -> Result<Vec<Run>> {
        let project = self.project.id;
        self.blocking(move |s| s.runs_in(project, &states)).await
    }

    /// A run of this project's plans; another project's (one store may hold several) is not
    /// found. Every method taking a run's id checks it so.
    pub async fn own_run(&self, id: RunId) -> Result<Run> {
        let project = self.project.id;
        self.blocking(move |s| {
            let run = s.run(id)?;
            if s.plan(run.plan_id)?.project_id == project {
                Ok(run)
            } else {
                Err(Error::not_found("run", id))
            }
        })
        .await
    }

    /// A run's events after `after`, at most `limit`.
    pub async fn run_events(&self, id: RunId, after: u64, limit: u32) -> Result<Vec<RunEvent>> {
        self.own_run(id).await?;
        self.blocking(move |s| s.events(id, after, limit)).await
    }

    /// Waits up to `wait` for a run to log an event after `after`, then returns its view.
    pub async fn watch_run(&self, id: RunId, after: u64, wait: Duration) -> Result<RunView> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let newer = self.run_events(id, after, 1).await?;
            let run = self.blocking(move |s| s.run(id)).await?;
            let settled = matches!(
                run.status,
                RunStatus::Completed | RunStatus::Cancelled | RunStatus::Escalated
            );
            if !newer.is_empty() || settled || tokio::time::Instant::now() >= deadline {
                return self.run_view(id).await;
            }
            tokio::time::sleep(
                Duration::from_millis(250).min(deadline - tokio::time::Instant::now()),
            )
            .await;
        }
    }

    /// A person's decision about a run: retry or resume an escalated (or failed) run, or cancel
    /// one. Retry and resume return once the run is set up; the run then needs supervising.
    pub async fn control_run(&self, id: RunId, action: RunAction) -> Result<Run> {
        self.own_run(id).await?;
        if action == RunAction::Cancel
            && let Some(token) = self.live.runs.lock().ok().and_then(|l| l.get(&id).cloned())
        {
            // Its supervisor stops the agent first (checkpoint, requests withdrawn), so that
            // CANCELLED is the last word in the run's log; it has 10 seconds.
            token.cancel();
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            loop {
                let ended = self.live.ended.notified();
                if !self.live.runs.lock().is_ok_and(|l| l.contains_key(&id)) {
                    break;
                }
                if tokio::time::timeout_at(deadline, ended).await.is_err() {
                    break;
                }
            }
        }
        let run = self
            .blocking(move |s| {
                let run = s.run(id)?;
                match (action, run.status) {
                    (RunAction::Cancel, _) => {
                        s.set_run_status(id, RunStatus::Cancelled, Some("cancelled by a person"))
                    }
                    (RunAction::Retry, RunStatus::Escalated | RunStatus::Failed) => {
                        if run.status == RunStatus::Escalated {
                            s.set_run_status(id, RunStatus::Failed, None)?;
                        }
                        s.reset_attempts(id)?;
                        s.set_run_status(id, RunStatus::Pending, None)
                    }
                    (RunAction::Resume, RunStatus::Escalated) => {
                        s.set_run_status(id, RunStatus::InProgress, None)
                    }
                    (action, status) => Err(Error::Invalid(format!(
                        "run {id} is {status}: {} works on an escalated run{}",
                        match action {
                            RunAction::Retry => "retry",
                            RunAction::Resume => "resume",
                            RunAction::Cancel => "cancel",
                        },
                        if action == RunAction::Retry {
                            " or a failed one"
                        } else {
                            ""
                        }
                    ))),
                }
            })
            .await?;
        if run.status == RunStatus::Cancelled {
            // Nothing is left behind: the locks go back, the worktree and its branch go away.
            self.unlock_run(id, "the run was cancelled").await?;
            self.withdraw_approvals(id, "the run was cancelled").await?;
            self.remove_worktree(id).await;
        }
        Ok(run)
    }

    /// `control_run`, then a retried or resumed run supervised in the background of this process
    /// (until it ends or the engine stops), as MCP and the dashboard do; returns at once.
    pub async fn control_run_in_background(&self, id: RunId, action: RunAction) -> Result<Run> {
        let run = self.control_run(id, action).await?;
        if action != RunAction::Cancel {
            self.spawn_run(run.id, self.stop_token());
        }
        Ok(run)
    }

    /// What ended runs left behind when their engine died between the end and the cleanup:
    /// locks still held, worktrees and branches of completed or cancelled runs (an escalated
    /// run keeps its worktree for the person). Safe to repeat; returns the runs tidied.
    pub async fn tidy_ended_runs(&self) -> Result<Vec<RunId>> {
        let project = self.project.id;
        self.blocking(move |s| {
            s.release_leases_of_ended_runs(project, "its run had ended (tidied up on recovery)")
        })
        .await?;
        let ended = self
            .runs(vec![RunStatus::Completed, RunStatus::Cancelled])
            .await?;
        let root = self.project.root.clone();
        let branches =
            tokio::task::spawn_blocking(move || crate::delegator::worktree::run_branches(&root))
                .await
                .map_err(|e| Error::Internal(e.to_string()))?;
        let mut tidied = Vec::new();
        for run in ended {
            if run.worktree.as_ref().is_some_and(|w| w.exists()) || branches.contains(&run.id) {
                self.remove_worktree(run.id).await;
                tidied.push(run.id);
            }
        }
        Ok(tidied)
    }

    /// Runs left in flight by an engine that is gone (its lease ran out, or its process on this
    /// machine died): the ones to supervise again.
    pub async fn orphans(&self) -> Result<Vec<RunId>> {
        super::supervise::orphans(self).await
    }

    /// Runs whose engine died with them in flight: each is supervised again in the background
    /// (resumed from its agent session). Returns their ids.
    pub async fn recover_runs(&self, stop: CancellationToken) -> Result<Vec<RunId>> {
        self.tidy_ended_runs().await?;
        let orphans = self.orphans().await?;
        for run in &orphans {
            self.spawn_run(*run, stop.clone());
        }
        Ok(orphans)
    }
}

/// Shared state for [`Live`].
pub(super) type LiveRuns = Arc<Live>;
