//! Identifiers of stored entities: one newtype per entity so that a plan id can never be passed
//! where a run id is expected.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta] $name:ident => $what:literal;)*) => {$(
        #[$doc]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim().parse::<i64>() {
                    Ok(n) if n > 0 => Ok(Self(n)),
                    _ => Err(format!("`{s}` is not a {} id: expected a positive whole number", $what)),
                }
            }
        }
    )*};
}

id_type! {
    /// Identifies a project.
    ProjectId => "project";
    /// Identifies a planning session.
    SessionId => "planning session";
    /// Identifies a question.
    QuestionId => "question";
    /// Identifies an answer.
    AnswerId => "answer";
    /// Identifies a plan across all of its versions.
    PlanId => "plan";
    /// Identifies a run.
    RunId => "run";
    /// Identifies a checkpoint.
    CheckpointId => "checkpoint";
    /// Identifies a lock lease.
    LeaseId => "lock lease";
    /// Identifies an approval request.
    ApprovalId => "approval request";
    /// Identifies a verification report.
    ReportId => "verification report";
}
