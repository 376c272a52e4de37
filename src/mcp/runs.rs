//! Runs over MCP: start a task's run (it is supervised in the server; the call returns at once),
//! follow it (long-polling for new events), read its events, and retry, resume or cancel it.

use super::tools::structured_response;
use rmcp::model::CallToolResponse;
use std::time::Duration;

use rmcp::handler::server::wrapper::Parameters;
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::tools::{OrchestratorMcp, tool_error};
use crate::domain::{PlanId, Run, RunEvent, RunId, RunStatus};
use crate::orchestrator::{PlanRunAction, PlanRunStatus, RunAction, RunView};

/// The longest `run_status` waits, well under the ~60 s clients allow a tool call.
const MAX_WAIT_SECS: u64 = 50;

/// Arguments of `run_start`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunStartArgs {
    /// The approved plan.
    pub plan_id: PlanId,
    /// One task's key (`T1`) to run only it; leave out to run the whole plan.
    pub task: Option<String>,
}

/// What `run_start` and `run_control` return.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RunHandle {
    /// The task's run, as it stands now (a task's run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<Run>,
    /// The plan run and every task's state (a whole plan).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_run: Option<PlanRunStatus>,
    /// What to do next.
    pub next_step: String,
}

/// Arguments of `run_status`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunStatusArgs {
    /// The run; leave out to list the project's runs.
    pub run_id: Option<RunId>,
    /// Follow this plan's run (every task's state) instead of one run.
    pub plan_id: Option<PlanId>,
    /// Events after this `seq` (the last one seen).
    pub after_seq: Option<u64>,
    /// Seconds to wait for news (default 25, at most 50).
    pub wait_seconds: Option<u64>,
}

/// What `run_status` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RunStatusResult {
    /// The plan run (with `plan_id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan_run: Option<PlanRunStatus>,
    /// The run, its checkpoints and newest events (with `run_id`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub view: Option<RunView>,
    /// The events after `after_seq` (with `run_id`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub new_events: Vec<RunEvent>,
    /// The project's runs (without `run_id`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<Run>,
    /// What to do next.
    pub next_step: String,
}

/// Arguments of `run_control`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunControlArgs {
    /// The run.
    pub run_id: Option<RunId>,
    /// The plan whose run to control.
    pub plan_id: Option<PlanId>,
    /// `retry`, `resume` or `cancel` a run; `pause`, `resume` or `cancel` a plan run.
    pub action: ControlAction,
}

/// What `run_control` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ControlAction {
    /// A run: start again with fresh attempts.
    Retry,
    /// A run: continue its agent's session; a plan run: go on where it stopped.
    Resume,
    /// A plan run: stop cleanly, to resume later.
    Pause,
    /// Stop for good.
    Cancel,
}

fn plan_next(status: &PlanRunStatus) -> String {
    let r = &status.report;
    format!(
        "Plan run {}: {} of {} tasks completed, {} escalated, {} blocked. {}",
        status.state,
        r.completed,
        r.tasks.len(),
        r.escalated,
        r.blocked,
        match status.state.as_str() {
            "running" => format!("Call run_status with plan_id {} to follow it; `approvals` lists what waits for the user.", r.plan_id),
            "paused" => "run_control with action resume goes on.".into(),
            _ if r.escalated > 0 => "Escalated tasks need the user: see their runs (run_status with run_id), then run_control.".into(),
            _ => String::new(),
        }
    )
}

/// Arguments of `run_events`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunEventsArgs {
    /// The run.
    pub run_id: RunId,
    /// Only events after this sequence number.
    #[serde(default)]
    pub after_seq: u64,
    /// At most this many (default 200).
    pub limit: Option<u32>,
}

/// What `run_events` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct RunEventsResult {
    /// The events, oldest first.
    pub events: Vec<RunEvent>,
}

fn next_for(run: &Run, waiting: usize) -> String {
    match run.status {
        RunStatus::Completed => "The run completed: its work passed verification.".into(),
        RunStatus::Escalated => format!(
            "The run needs a person: read its events, then run_control with retry, resume or cancel (last error: {}).",
            run.last_error.as_deref().unwrap_or("none recorded")
        ),
        RunStatus::Cancelled => "The run was cancelled.".into(),
        _ if waiting > 0 => {
            format!("{waiting} tool call(s) wait for approval: see `approvals` and ask the user.")
        }
        _ => format!(
            "The run is {}; call run_status with run_id {} and after_seq to follow it.",
            run.status, run.id
        ),
    }
}

#[tool_router(router = runs_router, vis = "pub(super)")]
impl OrchestratorMcp {
    /// Runs an approved plan (tasks in dependency order, in parallel where files allow, each
    /// verified and merged) or one task, supervised. Returns at once; follow it with run_status.
    #[tool(
        name = "run_start",
        annotations(
            title = "Run a plan or a task",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn run_start(
        &self,
        Parameters(args): Parameters<RunStartArgs>,
    ) -> Result<CallToolResponse, String> {
        let engine = self.engine().await?;
        let Some(task) = args.task else {
            let status = engine
                .start_plan_run(args.plan_id)
                .await
                .map_err(tool_error)?;
            return structured_response(
                &(RunHandle {
                    next_step: plan_next(&status),
                    run: None,
                    plan_run: Some(status),
                }),
            );
        };
        let run = engine
            .create_task_run(args.plan_id, &task)
            .await
            .map_err(tool_error)?;
        engine.spawn_run(run.id, engine.stop_token());
        structured_response(
            &(RunHandle {
                next_step: format!(
                    "Run {} started. Call run_status with run_id {} to follow it.",
                    run.id, run.id
                ),
                run: Some(run),
                plan_run: None,
            }),
        )
    }

    /// A run's state and its events after `after_seq` (waiting up to `wait_seconds` for news);
    /// with `plan_id`, every task's state; with neither, the project's runs.
    #[tool(
        name = "run_status",
        annotations(title = "Follow a run", read_only_hint = true, open_world_hint = false)
    )]
    async fn run_status(
        &self,
        Parameters(args): Parameters<RunStatusArgs>,
    ) -> Result<CallToolResponse, String> {
        if let Some(plan) = args.plan_id {
            if args.run_id.is_some() {
                return Err("give `run_id` or `plan_id`, not both".into());
            }
            let wait = Duration::from_secs(args.wait_seconds.unwrap_or(25).min(MAX_WAIT_SECS));
            let status = self
                .engine()
                .await?
                .plan_run_status(plan, wait)
                .await
                .map_err(tool_error)?;
            return structured_response(
                &(RunStatusResult {
                    next_step: plan_next(&status),
                    plan_run: Some(status),
                    view: None,
                    new_events: Vec::new(),
                    runs: Vec::new(),
                }),
            );
        }
        let Some(id) = args.run_id else {
            let runs = self
                .engine()
                .await?
                .runs(Vec::new())
                .await
                .map_err(tool_error)?;
            return structured_response(
                &(RunStatusResult {
                    plan_run: None,
                    view: None,
                    new_events: Vec::new(),
                    next_step: if runs.is_empty() {
                        "No runs yet: run_start starts one.".into()
                    } else {
                        "Call run_status with a run_id to follow one.".into()
                    },
                    runs,
                }),
            );
        };
        let after = args.after_seq.unwrap_or(0);
        let wait = Duration::from_secs(args.wait_seconds.unwrap_or(25).min(MAX_WAIT_SECS));
        let engine = self.engine().await?;
        let view = engine
            .watch_run(id, after, wait)
            .await
            .map_err(tool_error)?;
        let new_events = engine
            .run_events(id, after, 200)
            .await
            .map_err(tool_error)?;
        structured_response(
            &(RunStatusResult {
                plan_run: None,
                next_step: next_for(&view.run, view.waiting_approvals),
                view: Some(view),
                new_events,
                runs: Vec::new(),
            }),
        )
    }

    /// A person's decision, only with the user's word: `retry` or `resume` an escalated run,
    /// `cancel` a run; `pause`, `resume` or `cancel` a plan run (plan_id).
    #[tool(
        name = "run_control",
        annotations(
            title = "Retry, resume or cancel a run",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn run_control(
        &self,
        Parameters(args): Parameters<RunControlArgs>,
    ) -> Result<CallToolResponse, String> {
        match (args.run_id, args.plan_id, args.action) {
            (Some(_), Some(_), _) | (None, None, _) => {
                Err("give `run_id` (a run) or `plan_id` (a plan run)".into())
            }
            (None, Some(plan), action) => {
                let action = match action {
                    ControlAction::Pause => PlanRunAction::Pause,
                    ControlAction::Resume => PlanRunAction::Resume,
                    ControlAction::Cancel => PlanRunAction::Cancel,
                    ControlAction::Retry => {
                        return Err("`retry` is for one run (run_id); a plan run is resumed".into());
                    }
                };
                let status = self
                    .engine()
                    .await?
                    .control_plan_run(plan, action)
                    .await
                    .map_err(tool_error)?;
                structured_response(
                    &(RunHandle {
                        next_step: plan_next(&status),
                        run: None,
                        plan_run: Some(status),
                    }),
                )
            }
            (Some(id), None, action) => {
                let action = match action {
                    ControlAction::Retry => RunAction::Retry,
                    ControlAction::Resume => RunAction::Resume,
                    ControlAction::Cancel => RunAction::Cancel,
                    ControlAction::Pause => {
                        return Err("`pause` is for a plan run (plan_id)".into());
                    }
                };
                let run = self
                    .engine()
                    .await?
                    .control_run_in_background(id, action)
                    .await
                    .map_err(tool_error)?;
                structured_response(
                    &(RunHandle {
                        next_step: next_for(&run, 0),
                        run: Some(run),
                        plan_run: None,
                    }),
                )
            }
        }
    }
}

#[tool_router(router = run_events_router, vis = "pub(super)")]
impl OrchestratorMcp {
    /// A run's event log: what the agent did and said, permission answers, checkpoints,
    /// verification, retries.
    #[tool(
        name = "run_events",
        annotations(
            title = "Read a run's events",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn run_events(
        &self,
        Parameters(args): Parameters<RunEventsArgs>,
    ) -> Result<CallToolResponse, String> {
        let events = self
            .engine()
            .await?
            .run_events(
                args.run_id,
                args.after_seq,
                args.limit.unwrap_or(200).min(1000),
            )
            .await
            .map_err(tool_error)?;
        structured_response(&(RunEventsResult { events }))
    }
}
