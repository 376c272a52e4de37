//! The planner: a requirements Q&A that ends in an approved, versioned plan (issue: Planner).
//!
//! Not built yet. Its entities — [`PlanningSession`], [`Question`], [`Answer`] and the plan types —
//! live in [`crate::domain`] and are already stored by [`crate::store`].

pub use crate::domain::{Answer, PlanningSession, Question, QuestionCategory, SessionStatus};

/// Where a draft plan came from, in the planner's order of preference.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DraftSource {
    /// Submitted by the MCP client's model through a schema-checked tool call.
    McpClient,
    /// Asked of the configured agent on the command line.
    Agent,
    /// Built deterministically from the answers, always available offline.
    Skeleton,
}
