//! Skills: `SKILL.md` folders offered to agents (issue: Context builder, knowledge base and
//! skills).
//!
//! Not built yet; this is the shape of a discovered skill.

use std::path::PathBuf;

use serde::Serialize;

/// A skill found on disk, from its YAML front matter.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Skill {
    /// Its name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Tools it may use, if it restricts them.
    pub allowed_tools: Vec<String>,
    /// Its `SKILL.md`.
    pub path: PathBuf,
}
