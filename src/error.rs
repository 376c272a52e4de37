//! The library's error type: every failure a caller can act on, with a message that names the
//! input and what would have been accepted.

use std::path::PathBuf;

use crate::config::ConfigError;
use crate::domain::IllegalTransition;

/// Any failure of the orchestrator library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An id or key that names nothing stored.
    #[error("{what} {id} does not exist{hint}")]
    NotFound {
        /// The kind of thing looked for ("plan", "version 7 of plan 3", …).
        what: String,
        /// The id asked for.
        id: String,
        /// What the caller can do instead (starts with ": " when present).
        hint: String,
    },
    /// A status change the entity's state machine does not allow.
    #[error(transparent)]
    IllegalTransition(#[from] IllegalTransition),
    /// Input that is well-formed but not acceptable; the message says why and what would be.
    #[error("{0}")]
    Invalid(String),
    /// What was asked for is taken: the task already has a run, another engine supervises it.
    #[error("{0}")]
    Busy(String),
    /// The configuration could not be read.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The database was written by a newer build of the orchestrator.
    #[error(
        "the store {path} has schema version {found}, newer than the {known} this build knows: \
         use a newer orchestrator, or point --data-dir elsewhere"
    )]
    SchemaTooNew {
        /// The database file.
        path: PathBuf,
        /// The version found in it.
        found: u32,
        /// The newest version this build can migrate to.
        known: u32,
    },
    /// SQLite reported an error.
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    /// A file or directory could not be read or written.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, naming the path.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Stored JSON that no longer decodes (a bug or a hand-edited database).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// A background task died before finishing (a bug; the message says where).
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// A `NotFound` for an entity kind and id, with no hint.
    pub fn not_found(what: impl Into<String>, id: impl ToString) -> Self {
        Self::NotFound {
            what: what.into(),
            id: id.to_string(),
            hint: String::new(),
        }
    }

    /// An `Io` error naming what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
