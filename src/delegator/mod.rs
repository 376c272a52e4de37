//! The delegator: tasks become runs, in dependency order, under file locks, in worktrees, merged
//! back through one queue (issue: Delegator).
//!
//! Not built yet. Its entities are [`Run`] and [`LockLease`] in [`crate::domain`]; the store already
//! takes leases atomically with [`Store::acquire_lease`](crate::store::Store::acquire_lease).

pub mod glob;
pub mod locks;
pub mod schedule;
pub mod worktree;

pub use crate::domain::{LockLease, LockMode, Run, RunStatus};
