//! Planning sessions: the requirements Q&A that ends in an approved plan.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{AnswerId, PlanId, ProjectId, QuestionId, SessionId, SessionStatus, Timestamp};

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
