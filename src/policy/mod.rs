//! The permission policy: answers each tool call an agent wants to make (issue: Permission policy
//! and the approvals queue).
//!
//! Not built yet; these are the shapes of a question and its answer. Escalations are stored as
//! [`ApprovalRequest`]s.

use serde::{Deserialize, Serialize};

pub use crate::domain::{ApprovalRequest, ApprovalStatus};

/// A tool call as the agent sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolRequest {
    /// The tool (`Bash`, `Edit`, `WebFetch`, `mcp__server__tool`, …).
    pub tool_name: String,
    /// Its input.
    pub input: serde_json::Value,
}

/// The policy's answer to a tool call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", content = "reason", rename_all = "snake_case")]
pub enum Verdict {
    /// Let it run.
    Allow,
    /// Refuse it, with the reason the agent is told.
    Deny(String),
    /// Ask a person, with the reason they are shown.
    Escalate(String),
}
