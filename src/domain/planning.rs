//! Planning sessions: the requirements Q&A that ends in an approved plan.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    AnswerId, PlanContent, PlanId, ProjectId, QuestionId, SessionId, SessionStatus, Timestamp,
};

/// A requirements interview for one goal in one project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PlanningSession {
    /// The session's id.
    pub id: SessionId,
    /// The project planned for.
    pub project_id: ProjectId,
    /// The goal the user stated.
    pub goal: String,
    /// Where the session stands.
    pub status: SessionStatus,
    /// The plan it produced, once approved.
    pub plan_id: Option<PlanId>,
    /// When it started.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

text_enum! {
    /// The area a question covers.
    QuestionCategory, "question category" {
        /// What must be built.
        Requirements = "requirements",
        /// Limits the work must respect.
        Constraints = "constraints",
        /// How it should be built.
        Architecture = "architecture",
        /// How success will be checked.
        Verification = "verification",
        /// What is in and out.
        Scope = "scope",
    }
}

/// A question asked in a planning session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Question {
    /// The question's id.
    pub id: QuestionId,
    /// The session it belongs to.
    pub session_id: SessionId,
    /// The stable topic it covers (`"verification.tests"`); a follow-up shares its question's topic.
    pub topic: String,
    /// Its area.
    pub category: QuestionCategory,
    /// The question as asked.
    pub text: String,
    /// Why it is asked.
    pub why: String,
    /// Suggested answers, if any.
    pub suggestions: Vec<String>,
    /// An answer the project analysis already found, offered for confirmation.
    pub prefilled: Option<String>,
    /// When this is a follow-up to a vague answer, the question it narrows.
    pub follow_up_of: Option<QuestionId>,
    /// Position in the session.
    pub ordinal: u32,
    /// When it was asked.
    pub created_at: Timestamp,
}

/// An answer to a question. A revised answer is a new row; the newest one counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Answer {
    /// The answer's id.
    pub id: AnswerId,
    /// The question answered.
    pub question_id: QuestionId,
    /// The answer's text.
    pub text: String,
    /// When it was given.
    pub created_at: Timestamp,
}

text_enum! {
    /// Where a draft plan came from, in the planner's order of preference.
    DraftSource, "draft source" {
        /// Submitted by the MCP client's model through a schema-checked tool call.
        McpClient = "mcp_client",
        /// Asked of the configured agent on the command line.
        Agent = "agent",
        /// Built deterministically from the answers, always available offline.
        Skeleton = "skeleton",
        /// Written by a person (a JSON file given to the CLI).
        File = "file",
    }
}

/// One thing wrong with a draft plan: where, what, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Problem {
    /// Where in the draft (`"phases[1].tasks[0] (T3).files[2]"`).
    pub location: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({})", self.location, self.message, self.fix)
    }
}

/// A draft plan a session produced. Drafts are kept, numbered from 1; the newest counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Draft {
    /// The draft's number within its session.
    pub number: u32,
    /// Who wrote it.
    pub source: DraftSource,
    /// The plan it proposes.
    pub content: PlanContent,
    /// What validation found wrong; empty when it can be reviewed.
    pub problems: Vec<Problem>,
    /// Why it was written ("skeleton: the agent was not found", "change requested", …).
    pub note: String,
    /// When it was written.
    pub created_at: Timestamp,
}

/// An entry of a session's log: a status change, the project analysis, research notes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SessionLogEntry {
    /// Position in the log, from 1.
    pub seq: u32,
    /// What kind of entry (`status`, `analysis`, `research`, …).
    pub kind: String,
    /// Its data.
    pub payload: serde_json::Value,
    /// When it was written.
    pub at: Timestamp,
}
