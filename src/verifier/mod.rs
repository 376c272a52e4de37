//! The verifier: the independent quality gate that alone completes a task (issue: Verifier).
//!
//! Not built yet. Its reports are [`VerificationReport`]s in [`crate::domain`], already stored with
//! their check results and findings.

pub use crate::domain::{CheckResult, Finding, Severity, VerificationReport};
