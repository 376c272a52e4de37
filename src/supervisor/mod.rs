//! The supervisor: owns a live run — events, checkpoints, permission answers, retries, escalation
//! (issue: Agent runtime and supervisor).
//!
//! Not built yet. Its records are [`RunEvent`] and [`Checkpoint`] in [`crate::domain`], append-only
//! in the store.

pub use crate::domain::{Checkpoint, RunEvent};
