//! Approval requests: tool calls the policy escalated to a person.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ApprovalId, ApprovalStatus, PlanId, RunId, Timestamp};

/// A tool call waiting for (or answered by) a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ApprovalRequest {
    /// The request's id.
    pub id: ApprovalId,
    /// The run whose agent asked.
    pub run_id: RunId,
    /// The tool the agent wants to call (`Bash`, `Edit`, `mcp__server__tool`, …).
    pub tool_name: String,
    /// The task the run works on.
    pub task_key: String,
    /// That task's title, in the plan version the run follows.
    #[serde(default)]
    pub task_title: Option<String>,
    /// The plan the run belongs to.
    pub plan_id: PlanId,
    /// The tool's input as the agent sent it (secret values redacted).
    pub input: serde_json::Value,
    /// Why the policy escalated instead of deciding.
    pub reason: String,
    /// Where the request stands.
    pub status: ApprovalStatus,
    /// The exact rules an "always for this run" answer remembers.
    pub grants: Vec<String>,
    /// Whether the answer also covers later identical calls in the same run.
    pub applies_to_run: bool,
    /// Who answered (a person's name, `cli`, `dashboard`, `timeout`).
    pub decided_by: Option<String>,
    /// The reason given with the answer.
    pub decision_reason: Option<String>,
    /// When it was asked.
    pub created_at: Timestamp,
    /// When it was answered.
    pub decided_at: Option<Timestamp>,
    /// When an unanswered request is denied.
    pub expires_at: Timestamp,
}

/// One permission decision, automatic or human, as the audit log keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AuditEntry {
    /// The entry's number, in order of writing.
    pub id: i64,
    /// The run whose agent asked, if any.
    pub run_id: Option<RunId>,
    /// The approval request the decision answered, if a person was asked.
    pub approval_id: Option<ApprovalId>,
    /// The tool.
    pub tool_name: String,
    /// Its input (secret values redacted).
    pub input: serde_json::Value,
    /// `allow`, `deny` or `escalate` for the policy; `approved`, `denied` or `expired` for an
    /// answer to a request.
    pub verdict: String,
    /// Why.
    pub reason: String,
    /// Who or what decided: `policy` (with the rule, if one decided), a person's name, `timeout`.
    pub decided_by: String,
    /// When.
    pub at: Timestamp,
}
