//! Projects: a directory whose work the orchestrator tracks.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ProjectId, Timestamp};

/// A project: one root directory, registered the first time the orchestrator works in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Project {
    /// The project's id.
    pub id: ProjectId,
    /// Absolute, canonical path of the project root.
    pub root: PathBuf,
    /// Display name (the root's folder name unless configured).
    pub name: String,
    /// When it was registered.
    pub created_at: Timestamp,
}
