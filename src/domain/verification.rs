//! Verification reports: what the independent checks found on one commit.

use std::fmt;
use std::str::FromStr;

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
    /// The last part of its raw output.
    pub output_tail: String,
}

/// How serious a finding is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Should be fixed.
    Warning,
    /// Fails the check.
    Error,
}

impl Severity {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "info" => Ok(Self::Info),
            "warning" => Ok(Self::Warning),
            "error" => Ok(Self::Error),
            _ => Err(format!(
                "`{s}` is not a severity: expected info, warning or error"
            )),
        }
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
