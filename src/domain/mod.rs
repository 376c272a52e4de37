//! Domain types: every entity of DESIGN.md, defined once and used by every module.
//!
//! Types here are plain data with serde and JSON-schema derives; the only behaviour is what is
//! true of the data itself: status transitions ([`status`]), a plan diff ([`diff_content`]),
//! a lease's liveness.

#[macro_use]
mod text_enum;

mod approval;
mod ids;
mod lock;
mod plan;
mod planning;
mod project;
mod run;
mod run_event;
pub mod status;
mod time;
mod verification;

pub use approval::{ApprovalRequest, AuditEntry};
pub use ids::{
    AnswerId, ApprovalId, CheckpointId, LeaseId, PlanId, ProjectId, QuestionId, ReportId, RunId,
    SessionId,
};
pub use lock::{LockLease, LockMode};
pub use plan::{
    ChangeKind, Decision, FieldChange, ItemChange, Phase, Plan, PlanContent, PlanDiff, PlanVersion,
    PlanVersionInfo, PlanView, RejectedAlternative, RuleLists, Task, diff_content,
};
pub use planning::{
    Answer, Draft, DraftSource, PlanningSession, Problem, Question, QuestionCategory,
    SessionLogEntry,
};
pub use project::Project;
pub use run::{Checkpoint, Run, RunEvent};
pub use run_event::{CheckpointMark, ContextEntry, RunEventData, RunEventKind};
pub use status::{
    ApprovalStatus, IllegalTransition, PlanStatus, RunStatus, SessionStatus, Transition,
};
pub use time::Timestamp;

/// Whether text a person or client gave says nothing: empty, or only whitespace and control
/// characters (`"\u0000"` is as empty as `"  "`).
pub fn blank(text: &str) -> bool {
    text.chars().all(|c| c.is_whitespace() || c.is_control())
}
pub use verification::{CheckResult, Finding, Severity, TestCounts, VerificationReport};
