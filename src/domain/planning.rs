//! Planning sessions: the requirements Q&A that ends in an approved plan.

use std::fmt;
use std::str::FromStr;

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

/// The area a question covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuestionCategory {
    /// What must be built.
    Requirements,
    /// Limits the work must respect.
    Constraints,
    /// How it should be built.
    Architecture,
    /// How success will be checked.
    Verification,
    /// What is in and out.
    Scope,
}

impl QuestionCategory {
    /// Every category.
    pub const ALL: &'static [Self] = &[
        Self::Requirements,
        Self::Constraints,
        Self::Architecture,
        Self::Verification,
        Self::Scope,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requirements => "requirements",
            Self::Constraints => "constraints",
            Self::Architecture => "architecture",
            Self::Verification => "verification",
            Self::Scope => "scope",
        }
    }
}

impl fmt::Display for QuestionCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for QuestionCategory {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.iter().copied().find(|c| c.as_str() == s).ok_or_else(|| {
            format!("`{s}` is not a question category: expected requirements, constraints, architecture, verification or scope")
        })
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
