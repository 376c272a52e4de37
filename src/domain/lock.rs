//! File locks: leases that keep parallel runs off each other's files.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{LeaseId, ProjectId, RunId, Timestamp};

text_enum! {
    /// Whether a lock excludes everyone or only writers.
    LockMode, "lock mode" {
        /// For reading: shared with other readers.
        Shared = "shared",
        /// For writing: no other lock may overlap.
        Exclusive = "exclusive",
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
    /// Why it ended, when it did (the run ended, a person released it, it lapsed and was taken
    /// over).
    pub released_reason: Option<String>,
}

impl LockLease {
    /// Whether the lease still holds at `now`: not released and not expired.
    pub fn is_held_at(&self, now: Timestamp) -> bool {
        self.released_at.is_none() && self.expires_at > now
    }
}
