//! The plan run: an approved plan becomes finished, verified, merged work. Tasks start in
//! dependency and phase order, up to `max_parallel` at once, each once its file locks are
//! taken; in a git project each run works in its own worktree and lands through the merge
//! queue. Everything is in the store, so a stopped or killed plan run resumes where it stopped.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::{ContextFor, Orchestrator};
use crate::delegator::schedule::{self, TaskState};
use crate::delegator::worktree;
use crate::domain::{
    PlanId, PlanStatus, Run, RunEvent, RunEventData, RunEventKind, RunId, RunStatus, Timestamp,
    Transition,
};
use crate::error::{Error, Result};

/// What a plan run tells its display.
#[derive(Debug, Clone)]
pub enum PlanEvent {
    /// A task's run took its locks and started.
    Started {
        /// The task.
        task: String,
        /// Its run.
        run: RunId,
    },
    /// A task's run waits for locks other runs hold.
    Waiting {
        /// The task.
        task: String,
        /// Its run.
        run: RunId,
        /// The patterns in the way.
        on: Vec<String>,
    },
    /// Something happened in a task's run.
    Run {
        /// The task.
        task: String,
        /// The event.
        event: RunEvent,
    },
    /// A task's run ended (or stopped with the plan run).
    Ended {
        /// The task.
        task: String,
        /// The run as it ended.
        run: Run,
    },
    /// A task was split into parts (a new plan version).
    Split {
        /// The task.
        task: String,
        /// The parts.
        into: Vec<String>,
        /// Why.
        why: String,
    },
}

/// What one task came to.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TaskOutcome {
    /// The task's key.
    pub task: String,
    /// Its title.
    pub title: String,
    /// Its state: the latest run's status, or `NOT_STARTED` / `BLOCKED`.
    pub status: String,
    /// Its latest run.
    pub run: Option<RunId>,
    /// Runs it took.
    pub runs: u32,
    /// Attempts over all its runs (more than `runs` means retries).
    pub attempts: u32,
    /// Money spent, in US dollars.
    pub cost_usd: f64,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Time from its first run's creation to its latest run's last change.
    pub elapsed_ms: u64,
    /// Why its latest run failed or was escalated.
    pub error: Option<String>,
    /// Its latest verification: whether it passed, and the checks that failed.
    pub verification: Option<VerificationOutcome>,
}

/// What the latest verification of a task said.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct VerificationOutcome {
    /// Whether every check passed.
    pub passed: bool,
    /// The checks that failed, each with its first finding.
    pub failed_checks: Vec<String>,
}

/// The account of a plan run.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PlanRunReport {
    /// The plan.
    pub plan_id: PlanId,
    /// The version run (the newest; splits make new ones).
    pub version: u32,
    /// Every task.
    pub tasks: Vec<TaskOutcome>,
    /// Tasks completed.
    pub completed: u32,
    /// Tasks whose latest run is under way (pending its locks, delegated, in progress or
    /// verifying).
    pub running: u32,
    /// Tasks escalated to a person.
    pub escalated: u32,
    /// Tasks that needed more than one attempt.
    pub retried: u32,
    /// Tasks that could not start because a dependency stopped.
    pub blocked: u32,
    /// Money spent over all tasks, in US dollars.
    pub cost_usd: f64,
    /// Tokens over all tasks (input + output).
    pub tokens: u64,
    /// How long this plan run took.
    pub elapsed_ms: u64,
    /// Whether every task completed.
    pub done: bool,
    /// Whether the plan run was stopped before the end (run it again to resume).
    pub stopped: bool,
}

type Running = tokio::task::JoinSet<(RunId, String, Result<Run>)>;

impl Orchestrator {
    /// Runs an approved plan to the end (or until `stop`), `on_event` hearing what happens.
    pub async fn run_plan(
        &self,
        plan: PlanId,
        stop: CancellationToken,
        on_event: Arc<dyn Fn(PlanEvent) + Send + Sync>,
    ) -> Result<PlanRunReport> {
        let row = self.project_plan(plan).await?;
        self.tidy_ended_runs().await?;
        let started = Instant::now();
        match row.status {
            PlanStatus::Approved | PlanStatus::Completed => {
                self.settle_plan_status(plan, PlanStatus::Active).await?;
            }
            PlanStatus::Active => {}
            other => {
                return Err(Error::Invalid(format!(
                    "plan {plan} is {other}: only an approved plan runs (see `orchestrator plan approve`)"
                )));
            }
        }
        let root = self.project.root.clone();
        let git_root = root.clone();
        let branch = if tokio::task::spawn_blocking(move || worktree::is_repo(&git_root))
            .await
            .unwrap_or(false)
        {
            let r = root.clone();
            Some(
                tokio::task::spawn_blocking(move || worktree::current_branch(&r))
                    .await
                    .map_err(|e| Error::Internal(e.to_string()))??,
            )
        } else {
            None
        };
        let config = self
            .settings()
            .map(|s| s.config.delegator.clone())
            .unwrap_or_default();
        let max_parallel = usize::try_from(config.max_parallel.max(1)).unwrap_or(1);
        let max_files = usize::try_from(config.max_files_per_task.max(1)).unwrap_or(20);
        let me = crate::supervisor::engine_id();
        let mut running: Running = tokio::task::JoinSet::new();
        let mut supervised: HashMap<RunId, String> = HashMap::new();
        let mut told_waiting: HashMap<RunId, Vec<String>> = HashMap::new();

        loop {
            if stop.is_cancelled() {
                break;
            }
            let (content, runs) = self
                .blocking(move |s| {
                    Ok((s.plan_version(plan, None)?.content, s.runs_for_plan(plan)?))
                })
                .await?;
            let mut latest: BTreeMap<String, Run> = BTreeMap::new();
            for run in runs {
                latest.insert(run.task_key.clone(), run);
            }
            let statuses: HashMap<String, RunStatus> =
                latest.iter().map(|(k, r)| (k.clone(), r.status)).collect();
            let states = schedule::states(&content, &statuses);

            // Runs in flight that nobody supervises (left by a stop or a crash), then new tasks.
            let now = Timestamp::now();
            // A run that is no longer in flight (a person cancelled it while it waited for locks)
            // waits for nothing.
            told_waiting
                .retain(|id, _| latest.values().any(|r| r.id == *id && in_flight(r.status)));
            let mut candidates: Vec<Run> = latest
                .values()
                .filter(|r| in_flight(r.status))
                .filter(|r| !supervised.contains_key(&r.id))
                .filter(|r| match (&r.lease_owner, r.lease_expires_at) {
                    (Some(owner), Some(until)) if *owner != me && until > now => {
                        crate::supervisor::owner_is_dead(owner)
                    }
                    _ => true,
                })
                .cloned()
                .collect();
            let mut split_happened = false;
            for task in schedule::ready(&content, &states) {
                if running.len() + candidates.len() >= max_parallel {
                    break;
                }
                // Too big for one agent: split before delegating.
                let too_many = task.files.len() > max_files;
                let unfit = !too_many
                    && task.files.len() > 1
                    && !self
                        .context_for_task(plan, &task.key, ContextFor::default())
                        .await?
                        .fits;
                if too_many || unfit {
                    let key = task.key.clone();
                    let why = if too_many {
                        format!("{} files, more than {max_files}", task.files.len())
                    } else {
                        "its context is over the token budget".into()
                    };
                    if let Some(parts) = schedule::split(&content, &key, max_files) {
                        let into: Vec<String> = parts
                            .tasks()
                            .filter(|t| t.key.starts_with(&format!("{key}.")))
                            .map(|t| t.key.clone())
                            .collect();
                        let note = format!("split {key} into {} ({why})", into.join(", "));
                        self.blocking(move |s| s.save_plan_version(plan, &parts, &note))
                            .await?;
                        on_event(PlanEvent::Split {
                            task: key,
                            into,
                            why,
                        });
                        split_happened = true;
                        break;
                    }
                }
                match self.create_task_run(plan, &task.key).await {
                    Ok(run) => candidates.push(run),
                    // Another engine started it a moment ago: its run shows up next time.
                    Err(Error::Busy(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            if split_happened {
                continue;
            }
            for run in candidates {
                if running.len() >= max_parallel {
                    break;
                }
                match self.lock_run(run.id).await {
                    Ok(Ok(_)) => {
                        told_waiting.remove(&run.id);
                        if let Some(branch) = &branch
                            && let Err(e) = self.prepare_worktree(run.id, branch).await
                        {
                            self.stop_run(&run, &format!("its worktree could not be made: {e}"))
                                .await?;
                            continue;
                        }
                        on_event(PlanEvent::Started {
                            task: run.task_key.clone(),
                            run: run.id,
                        });
                        supervised.insert(run.id, run.task_key.clone());
                        let (engine, key, token, events) = (
                            self.clone(),
                            run.task_key.clone(),
                            stop.child_token(),
                            on_event.clone(),
                        );
                        running.spawn(async move {
                            let task = key.clone();
                            let result = engine
                                .supervise_run(run.id, token, &|event| {
                                    events(PlanEvent::Run {
                                        task: task.clone(),
                                        event: event.clone(),
                                    })
                                })
                                .await;
                            (run.id, key, result)
                        });
                    }
                    Ok(Err(held)) => {
                        let on: Vec<String> = held.iter().map(|l| l.pattern.clone()).collect();
                        if told_waiting.get(&run.id) != Some(&on) {
                            on_event(PlanEvent::Waiting {
                                task: run.task_key.clone(),
                                run: run.id,
                                on: on.clone(),
                            });
                            told_waiting.insert(run.id, on);
                        }
                    }
                    Err(e) => {
                        self.stop_run(&run, &format!("its files cannot be locked: {e}"))
                            .await?
                    }
                }
            }
            if running.is_empty()
                && told_waiting.is_empty()
                && schedule::finished(
                    &content,
                    &schedule::states(&content, &self.latest_statuses(plan).await?),
                )
            {
                break;
            }
            // Wait for a run to end, or look again shortly (locks held by others, runs elsewhere).
            tokio::select! {
                Some(ended) = running.join_next(), if !running.is_empty() => self.run_ended(ended, &mut supervised, &on_event).await?,
                () = stop.cancelled() => {}
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
        }
        // Stopping: the supervisors stop their agents cleanly; the runs stay for the next time.
        while let Some(ended) = running.join_next().await {
            self.run_ended(ended, &mut supervised, &on_event).await?;
        }
        let report = self
            .plan_report(plan, started.elapsed(), stop.is_cancelled())
            .await?;
        if report.done {
            self.settle_plan_status(plan, PlanStatus::Completed).await?;
        }
        Ok(report)
    }

    /// Moves the plan to `to`; another plan run of it having done so a moment ago is no error.
    async fn settle_plan_status(&self, plan: PlanId, to: PlanStatus) -> Result<()> {
        self.blocking(move |s| match s.set_plan_status(plan, to) {
            Err(Error::IllegalTransition(_)) if s.plan(plan)?.status == to => Ok(()),
            other => other.map(|_| ()),
        })
        .await
    }

    async fn latest_statuses(&self, plan: PlanId) -> Result<HashMap<String, RunStatus>> {
        let runs = self.plan_runs(plan).await?;
        Ok(runs.into_iter().map(|r| (r.task_key, r.status)).collect())
    }

    async fn run_ended(
        &self,
        ended: std::result::Result<(RunId, String, Result<Run>), tokio::task::JoinError>,
        supervised: &mut HashMap<RunId, String>,
        on_event: &Arc<dyn Fn(PlanEvent) + Send + Sync>,
    ) -> Result<()> {
        let (id, task, result) =
            ended.map_err(|e| Error::Internal(format!("a supervisor died: {e}")))?;
        supervised.remove(&id);
        let run = match result {
            Ok(run) => run,
            // Another engine won the run: its locks are that engine's, not ours to give back.
            Err(Error::Busy(e)) => {
                tracing::info!(run = %id, "{e}");
                return Ok(());
            }
            Err(e) => {
                tracing::warn!(run = %id, error = %e, "supervising a run failed");
                self.blocking(move |s| s.run(id)).await?
            }
        };
        let why = match run.status {
            RunStatus::Completed => "the run completed",
            RunStatus::Escalated => "the run was escalated to a person",
            RunStatus::Cancelled => "the run was cancelled",
            _ => "the plan run stopped; the run resumes with it",
        };
        self.unlock_run(id, why).await?;
        on_event(PlanEvent::Ended { task, run });
        Ok(())
    }

    /// A run that cannot go on (bad lock paths, no worktree) goes to a person.
    async fn stop_run(&self, run: &Run, why: &str) -> Result<()> {
        let (id, why) = (run.id, why.to_owned());
        self.blocking(move |s| {
            let mut current = s.run(id)?.status;
            if current.next().contains(&RunStatus::Failed) && current != RunStatus::Failed {
                current = s.set_run_status(id, RunStatus::Failed, Some(&why))?.status;
            }
            if current.next().contains(&RunStatus::Escalated) {
                s.set_run_status(id, RunStatus::Escalated, Some(&why))?;
            }
            Ok(())
        })
        .await
    }

    /// Where every task of a plan stands, with cost, tokens and time.
    pub async fn plan_report(
        &self,
        plan: PlanId,
        elapsed: Duration,
        stopped: bool,
    ) -> Result<PlanRunReport> {
        self.project_plan(plan).await?;
        self.blocking(move |s| {
            let version = s.plan_version(plan, None)?;
            let runs = s.runs_for_plan(plan)?;
            let statuses: HashMap<String, RunStatus> = runs
                .iter()
                .map(|r| (r.task_key.clone(), r.status))
                .collect();
            let states = schedule::states(&version.content, &statuses);
            let mut tasks = Vec::new();
            for task in version.content.tasks() {
                let mine: Vec<&Run> = runs.iter().filter(|r| r.task_key == task.key).collect();
                let latest = mine.last();
                let (mut cost, mut input, mut output) = (0.0, 0, 0);
                for run in &mine {
                    if let Some(c) = s.checkpoints(run.id)?.last() {
                        cost += c.cost_usd;
                        input += c.input_tokens;
                        output += c.output_tokens;
                    }
                }
                let status = match (latest, states.get(&task.key)) {
                    (Some(run), _) => run.status.to_string(),
                    (None, Some(TaskState::Blocked)) => "BLOCKED".into(),
                    _ => "NOT_STARTED".into(),
                };
                let elapsed_ms = match (mine.first(), latest) {
                    (Some(first), Some(last)) => {
                        u64::try_from(last.updated_at.as_millis() - first.created_at.as_millis())
                            .unwrap_or(0)
                    }
                    _ => 0,
                };
                tasks.push(TaskOutcome {
                    task: task.key.clone(),
                    title: task.title.clone(),
                    status,
                    run: latest.map(|r| r.id),
                    runs: u32::try_from(mine.len()).unwrap_or(u32::MAX),
                    attempts: mine.iter().map(|r| r.attempt).sum(),
                    cost_usd: cost,
                    input_tokens: input,
                    output_tokens: output,
                    elapsed_ms,
                    error: latest
                        .and_then(|r| r.last_error.clone())
                        .filter(|_| latest.is_some_and(|r| r.status != RunStatus::Completed)),
                    verification: match latest {
                        Some(run) => s
                            .last_event_of(run.id, RunEventKind::Verification)?
                            .and_then(|e| match e.data {
                                RunEventData::Verification {
                                    passed,
                                    failed_checks,
                                    ..
                                } => Some(VerificationOutcome {
                                    passed,
                                    failed_checks,
                                }),
                                _ => None,
                            }),
                        None => None,
                    },
                });
            }
            let count = |status: &str| {
                u32::try_from(tasks.iter().filter(|t| t.status == status).count())
                    .unwrap_or(u32::MAX)
            };
            let completed = count("COMPLETED");
            let running = ["PENDING", "DELEGATED", "IN_PROGRESS", "VERIFYING"]
                .iter()
                .map(|status| count(status))
                .sum();
            Ok(PlanRunReport {
                plan_id: plan,
                version: version.version,
                completed,
                running,
                escalated: count("ESCALATED"),
                retried: u32::try_from(tasks.iter().filter(|t| t.attempts > 1).count())
                    .unwrap_or(u32::MAX),
                blocked: count("BLOCKED"),
                cost_usd: tasks.iter().map(|t| t.cost_usd).sum(),
                tokens: tasks.iter().map(|t| t.input_tokens + t.output_tokens).sum(),
                elapsed_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
                done: !tasks.is_empty() && completed as usize == tasks.len(),
                stopped,
                tasks,
            })
        })
        .await
    }
}

/// What a person can do to a plan run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlanRunAction {
    /// Stop cleanly: no new task starts, running agents stop and their runs wait to resume.
    Pause,
    /// Go on where it stopped.
    Resume,
    /// Stop for good: every unfinished run of the plan is cancelled.
    Cancel,
}

/// Where a plan run stands.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PlanRunStatus {
    /// `running`, `paused`, `cancelled`, `finished`, `failed`, or `idle` (never started by this
    /// server).
    pub state: String,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// Every task's state, cost and time so far.
    pub report: PlanRunReport,
}

#[derive(Debug)]
struct Background {
    stop: CancellationToken,
    state: String,
    error: Option<String>,
    started: Instant,
}

/// Plan runs started in the background (by MCP), by plan.
#[derive(Debug, Default)]
pub(super) struct PlanRuns {
    map: std::sync::Mutex<HashMap<PlanId, Background>>,
    changed: tokio::sync::Notify,
}

impl Orchestrator {
    /// Waits until a plan run in the background changes state.
    pub(super) async fn plan_runs_changed(&self) {
        self.plan_runs.changed.notified().await;
    }

    /// Starts a plan run in the background (or finds the one running); returns at once.
    pub async fn start_plan_run(&self, plan: PlanId) -> Result<PlanRunStatus> {
        let row = self.project_plan(plan).await?;
        if !matches!(
            row.status,
            PlanStatus::Approved | PlanStatus::Active | PlanStatus::Completed
        ) {
            return Err(Error::Invalid(format!(
                "plan {plan} is {}: only an approved plan runs",
                row.status
            )));
        }
        let stop = self.stop.child_token();
        let already = {
            let mut map = self
                .plan_runs
                .map
                .lock()
                .map_err(|_| Error::Internal("plan runs lock poisoned".into()))?;
            let running = map.get(&plan).is_some_and(|b| b.state == "running");
            if !running {
                map.insert(
                    plan,
                    Background {
                        stop: stop.clone(),
                        state: "running".into(),
                        error: None,
                        started: Instant::now(),
                    },
                );
            }
            running
        };
        if already {
            return self.plan_run_status(plan, Duration::ZERO).await;
        }
        self.plan_runs.changed.notify_waiters();
        let engine = self.clone();
        tokio::spawn(async move {
            let result = engine.run_plan(plan, stop.clone(), Arc::new(|_| {})).await;
            if let Ok(mut map) = engine.plan_runs.map.lock()
                && let Some(b) = map.get_mut(&plan)
            {
                match result {
                    Ok(report) if report.done => b.state = "finished".into(),
                    Ok(_) if stop.is_cancelled() => {
                        if b.state == "running" {
                            b.state = "paused".into();
                        }
                    }
                    Ok(_) => b.state = "finished".into(),
                    Err(e) => {
                        b.state = "failed".into();
                        b.error = Some(e.to_string());
                    }
                }
            }
            engine.plan_runs.changed.notify_waiters();
        });
        self.plan_run_status(plan, Duration::ZERO).await
    }

    /// Where a plan run stands; waits up to `wait` for a change of state or of a task.
    pub async fn plan_run_status(&self, plan: PlanId, wait: Duration) -> Result<PlanRunStatus> {
        let before = self.plan_report(plan, Duration::ZERO, false).await?;
        if !wait.is_zero() {
            let deadline = Instant::now() + wait;
            let fingerprint = |r: &PlanRunReport| {
                r.tasks
                    .iter()
                    .map(|t| format!("{}{}", t.status, t.attempts))
                    .collect::<Vec<_>>()
            };
            let seen = fingerprint(&before);
            while Instant::now() < deadline {
                let changed = self.plan_runs.changed.notified();
                tokio::select! {
                    () = changed => break,
                    () = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
                if fingerprint(&self.plan_report(plan, Duration::ZERO, false).await?) != seen {
                    break;
                }
            }
        }
        let (state, error, elapsed) = match self.plan_runs.map.lock() {
            Ok(map) => map
                .get(&plan)
                .map_or(("idle".into(), None, Duration::ZERO), |b| {
                    (b.state.clone(), b.error.clone(), b.started.elapsed())
                }),
            Err(_) => ("idle".into(), None, Duration::ZERO),
        };
        let report = self.plan_report(plan, elapsed, state == "paused").await?;
        Ok(PlanRunStatus {
            state,
            error,
            report,
        })
    }

    /// Pauses, resumes or cancels a plan run.
    pub async fn control_plan_run(
        &self,
        plan: PlanId,
        action: PlanRunAction,
    ) -> Result<PlanRunStatus> {
        self.project_plan(plan).await?;
        match action {
            PlanRunAction::Resume => return self.start_plan_run(plan).await,
            PlanRunAction::Pause | PlanRunAction::Cancel => {
                let stop = {
                    let mut map = self
                        .plan_runs
                        .map
                        .lock()
                        .map_err(|_| Error::Internal("plan runs lock poisoned".into()))?;
                    let entry = map.get_mut(&plan);
                    if action == PlanRunAction::Pause
                        && entry.as_ref().is_none_or(|b| b.state != "running")
                    {
                        return Err(Error::Invalid(format!(
                            "plan {plan} is not running in this server: nothing to pause"
                        )));
                    }
                    entry.map(|b| {
                        b.state = if action == PlanRunAction::Pause {
                            "paused"
                        } else {
                            "cancelled"
                        }
                        .into();
                        b.stop.clone()
                    })
                };
                if let Some(stop) = stop {
                    stop.cancel();
                }
                if action == PlanRunAction::Cancel {
                    let runs = self.plan_runs(plan).await?;
                    for run in runs.into_iter().filter(|r| {
                        !matches!(r.status, RunStatus::Completed | RunStatus::Cancelled)
                    }) {
                        self.control_run(run.id, super::RunAction::Cancel).await?;
                    }
                    if let Ok(mut map) = self.plan_runs.map.lock() {
                        map.entry(plan)
                            .or_insert_with(|| Background {
                                stop: CancellationToken::new(),
                                state: "cancelled".into(),
                                error: None,
                                started: Instant::now(),
                            })
                            .state = "cancelled".into();
                    }
                }
                self.plan_runs.changed.notify_waiters();
            }
        }
        self.plan_run_status(plan, Duration::ZERO).await
    }
}

/// A run that is not over: it goes on, with this engine or another.
fn in_flight(status: RunStatus) -> bool {
    matches!(
        status,
        RunStatus::Pending
            | RunStatus::Delegated
            | RunStatus::InProgress
            | RunStatus::Verifying
            | RunStatus::Failed
    )
}
