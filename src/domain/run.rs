//! Runs of tasks, their append-only event log and their checkpoints.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{CheckpointId, PlanId, RunEventData, RunEventKind, RunId, RunStatus, Timestamp};

/// One execution of one task by one agent. A retry is a new attempt of the same run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Run {
    /// The run's id.
    pub id: RunId,
    /// The plan the task belongs to.
    pub plan_id: PlanId,
    /// The task's key in that plan.
    pub task_key: String,
    /// The plan version the run was started from.
    pub plan_version: u32,
    /// Where the run stands.
    pub status: RunStatus,
    /// Attempt number, from 1; a retry increments it.
    pub attempt: u32,
    /// The agent adapter running it (`claude`, `command`, …).
    pub agent: String,
    /// The agent's own session id, needed to resume it after a crash.
    pub agent_session_id: Option<String>,
    /// The worktree the agent works in.
    pub worktree: Option<PathBuf>,
    /// The commit the worktree started from.
    pub base_commit: Option<String>,
    /// Why the last attempt failed, if it did.
    pub last_error: Option<String>,
    /// The engine currently owning the run, while it holds the lease.
    pub lease_owner: Option<String>,
    /// When that engine's lease runs out unless renewed.
    pub lease_expires_at: Option<Timestamp>,
    /// When the run was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// One entry of a run's event log, appended before it is acted on and never changed. On the
/// wire: `{"run_id", "seq", "kind", "payload", "at"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunEvent {
    /// The run.
    pub run_id: RunId,
    /// Position in the run's log, from 1.
    pub seq: u64,
    /// What happened: the entry's kind and its data.
    #[serde(flatten)]
    pub data: RunEventData,
    /// When it was recorded.
    pub at: Timestamp,
}

impl RunEvent {
    /// The entry's kind, or `None` for one this version cannot read.
    pub fn kind(&self) -> Option<RunEventKind> {
        self.data.kind()
    }

    /// What happened, for a person (see [`RunEventData::summary`]).
    pub fn summary(&self) -> String {
        self.data.summary()
    }
}

/// What is needed to resume a run: written periodically and at milestones, never changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Checkpoint {
    /// The checkpoint's id.
    pub id: CheckpointId,
    /// The run.
    pub run_id: RunId,
    /// Why it was taken (`periodic`, `first_edit`, `verification`, `end`, …).
    pub reason: String,
    /// The agent session to resume.
    pub agent_session_id: Option<String>,
    /// The commit holding the worktree's state at that moment.
    pub commit: Option<String>,
    /// Files changed since the run's base commit.
    pub files_changed: Vec<String>,
    /// Money spent so far, in US dollars.
    pub cost_usd: f64,
    /// Input tokens used so far.
    pub input_tokens: u64,
    /// Output tokens used so far.
    pub output_tokens: u64,
    /// The agent's last output, shortened.
    pub last_output: String,
    /// When it was taken.
    pub at: Timestamp,
}
