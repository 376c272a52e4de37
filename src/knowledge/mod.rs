//! The knowledge base: crawled documentation, chunked by heading and searchable (issue: Context
//! builder, knowledge base and skills).
//!
//! Not built yet; this is the shape of what it returns.

use serde::Serialize;

/// A piece of a document, returned by a search with its source.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Chunk {
    /// Where it came from (a path or URL).
    pub source: String,
    /// The headings above it, outermost first.
    pub heading_path: Vec<String>,
    /// Its text.
    pub text: String,
}
