//! Approval requests: tool calls the policy escalated to a person.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ApprovalId, ApprovalStatus, RunId, Timestamp};

/// A tool call waiting for (or answered by) a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ApprovalRequest {
    /// The request's id.
    pub id: ApprovalId,
    /// The run whose agent asked.
    pub run_id: RunId,
    /// The tool the agent wants to call (`Bash`, `Edit`, `mcp__server__tool`, …).
    pub tool_name: String,
    /// The tool's input as the agent sent it.
    pub input: serde_json::Value,
    /// Why the policy escalated instead of deciding.
    pub reason: String,
    /// Where the request stands.
    pub status: ApprovalStatus,
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
