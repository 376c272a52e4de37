//! The context builder: the prompt a subagent gets, within a token budget (issue: Context builder).
//!
//! Not built yet; these are the shapes its result will take.

pub mod tokens;

use serde::Serialize;

/// The prompt built for one task, with an account of what it holds.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct SubagentContext {
    /// The rendered prompt (Markdown).
    pub prompt: String,
    /// Estimated tokens of `prompt`, erring high.
    pub estimated_tokens: u32,
    /// Items included, in the order they appear.
    pub included: Vec<ContextItem>,
    /// Items left out, with the reason.
    pub dropped: Vec<ContextItem>,
}

/// One piece of context considered for a prompt.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ContextItem {
    /// The section it belongs to (`task`, `decisions`, `history`, `docs`, `skills`, …).
    pub section: String,
    /// What it is (a decision key, a document path, a skill name).
    pub label: String,
    /// Its estimated size.
    pub tokens: u32,
    /// Why it was dropped or truncated, if it was.
    pub reason: Option<String>,
}
