//! Verification reports: what the independent checks found on one commit.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ProjectId, ReportId, RunId, Timestamp};

/// The result of running every configured check once, on one commit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct VerificationReport {
    /// The report's id.
    pub id: ReportId,
    /// The project verified.
    pub project_id: ProjectId,
    /// The run whose worktree was verified, if any.
    pub run_id: Option<RunId>,
    /// The commit verified; a report for another commit cannot complete a run.
    pub commit: Option<String>,
    /// The tree had changes not in `commit` (such a report completes nothing).
    #[serde(default)]
    pub dirty: bool,
    /// The commit the tampering checks compared against.
    #[serde(default)]
    pub base_commit: Option<String>,
    /// Whether every check passed.
    pub passed: bool,
    /// When the checks started.
    pub started_at: Timestamp,
    /// When the last check ended.
    pub finished_at: Timestamp,
    /// One result per check, in the order they ran.
    pub checks: Vec<CheckResult>,
}

/// The outcome of one check (a test suite, a linter, a type checker, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CheckResult {
    /// The check's name (`pytest`, `ruff`, `cargo clippy`, a custom name).
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// The process's exit code, when it exited.
    pub exit_code: Option<i32>,
    /// How long it ran, in milliseconds.
    pub duration_ms: u64,
    /// Why the check could not run or was cut short (not installed, timed out, …).
    pub error: Option<String>,
    /// What it found.
    pub findings: Vec<Finding>,
    /// Test counts, for test suites.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tests: Option<TestCounts>,
    /// The last part of its raw output.
    pub output_tail: String,
}

/// How many tests a suite ran, and how they ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TestCounts {
    /// Tests run (or collected).
    pub total: u32,
    /// Passed.
    pub passed: u32,
    /// Failed (assertions).
    pub failed: u32,
    /// Errored (setup, collection, crashes).
    pub errors: u32,
    /// Skipped or ignored.
    pub skipped: u32,
}

impl VerificationReport {
    /// Whether this report can complete a task whose work is at `commit`: it passed, verified
    /// exactly that commit, and the tree held nothing else.
    pub fn completes(&self, commit: &str) -> bool {
        self.passed && !self.dirty && self.commit.as_deref() == Some(commit)
    }
}

text_enum! {
    /// How serious a finding is, least first.
    Severity, "severity" {
        /// Worth knowing.
        Info = "info",
        /// Should be fixed.
        Warning = "warning",
        /// Fails the check.
        Error = "error",
    }
}

/// One problem a check reported, located as precisely as the tool allows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    /// The file, relative to the verified tree.
    pub file: Option<String>,
    /// Line, from 1.
    pub line: Option<u32>,
    /// Column, from 1.
    pub column: Option<u32>,
    /// The tool's rule or code (`E501`, `B602`, `arg-type`, …).
    pub rule: Option<String>,
    /// How serious it is.
    pub severity: Severity,
    /// The tool's message.
    pub message: String,
}
