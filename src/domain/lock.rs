//! File locks: leases that keep parallel runs off each other's files.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{LeaseId, ProjectId, RunId, Timestamp};

/// Whether a lock excludes everyone or only writers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LockMode {
    /// For reading: shared with other readers.
    Shared,
    /// For writing: no other lock may overlap.
    Exclusive,
}

impl LockMode {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Shared => "shared",
            Self::Exclusive => "exclusive",
        }
    }
}

impl fmt::Display for LockMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LockMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "shared" => Ok(Self::Shared),
            "exclusive" => Ok(Self::Exclusive),
            _ => Err(format!(
                "`{s}` is not a lock mode: expected shared or exclusive"
            )),
        }
    }
}

/// A lock on a path or glob, held by an owner until released or expired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LockLease {
    /// The lease's id.
    pub id: LeaseId,
    /// The project whose files are locked.
    pub project_id: ProjectId,
    /// A path or glob relative to the project root.
    pub pattern: String,
    /// Shared or exclusive.
    pub mode: LockMode,
    /// Who holds it (an engine instance).
    pub owner: String,
    /// The run it was taken for.
    pub run_id: Option<RunId>,
    /// When it was taken.
    pub acquired_at: Timestamp,
    /// When the owner last renewed it.
    pub heartbeat_at: Timestamp,
    /// When it lapses unless renewed.
    pub expires_at: Timestamp,
    /// When it was given back, if it was.
    pub released_at: Option<Timestamp>,
}

impl LockLease {
    /// Whether the lease still holds at `now`: not released and not expired.
    pub fn is_held_at(&self, now: Timestamp) -> bool {
        self.released_at.is_none() && self.expires_at > now
    }
}
