//! The supervisor's judgement, free of I/O: why an attempt failed and whether the next one
//! resumes the agent's session ([`Failure`]), how an agent's attempt ended from what it reported
//! ([`AgentEnd`]), the wait between attempts ([`backoff`]), which engine holds a run
//! ([`engine_id`], `owner_is_dead`), whether a logged attempt finished cleanly (for recovery), and
//! the checkpoints ([`checkpoint`]: the tree's state committed on a ref of its own).
//!
//! The loop that runs an agent under this judgement — claim, start, log, answer, watch,
//! checkpoint, verify, retry, escalate — is the engine's: `orchestrator/supervise.rs`.

pub mod checkpoint;

use std::time::Duration;

use crate::agent;
pub use crate::domain::{Checkpoint, RunEvent};
use crate::domain::{RunEventData, RunEventKind};

/// Why an attempt did not complete the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The agent reported an error (API failure, turn or budget limit).
    Agent(String),
    /// The agent's process died without a result.
    Crash(String),
    /// No event for the stall timeout.
    Stall(u64),
    /// The verification failed.
    Verification(String),
    /// The run could not even start (the agent program is missing, the task is gone).
    Start(String),
    /// The work conflicts with what landed meanwhile.
    Conflict(String),
}

impl Failure {
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Agent(e) => format!("the agent ended in error: {e}"),
            Self::Crash(e) => format!("the agent crashed: {e}"),
            Self::Stall(s) => format!("the agent stalled: no event for {s} s, so it was stopped"),
            Self::Verification(e) => format!("the verification failed: {e}"),
            Self::Start(e) => format!("the agent could not start: {e}"),
            Self::Conflict(e) => e.clone(),
        }
    }

    /// Whether the next attempt should continue the agent's session — it keeps what the agent
    /// knew — rather than start fresh (only when it never began).
    pub(crate) fn resume_session(&self) -> bool {
        !matches!(self, Self::Start(_))
    }
}

pub(crate) enum Ending {
    Completed,
    Stopped,
    Failed(Failure),
    /// Retrying cannot help: a person must look.
    Escalate(String),
}

/// This engine's name as a lease owner: host, process and a random part.
pub fn engine_id() -> String {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let host = std::fs::read_to_string("/etc/hostname").unwrap_or_else(|_| "host".into());
        format!(
            "{}:{}:{}",
            host.trim(),
            std::process::id(),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        )
    })
    .clone()
}

/// Whether the engine named in a lease is a dead process on this machine.
pub(crate) fn owner_is_dead(owner: &str) -> bool {
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_else(|_| "host".into());
    let mut parts = owner.split(':');
    match (
        parts.next(),
        parts.next().and_then(|p| p.parse::<u32>().ok()),
    ) {
        (Some(h), Some(pid)) if h == host.trim() => pid != std::process::id() && !agent::alive(pid),
        _ => false,
    }
}

/// The wait before the retry after attempt `attempt`: base × 2^(attempt−1), at most 10 minutes.
pub fn backoff(base_secs: u64, attempt: u32) -> Duration {
    let factor = 2u64.saturating_pow(attempt.saturating_sub(1).min(16));
    Duration::from_secs(base_secs.saturating_mul(factor).min(600))
}

/// Whether the latest attempt's agent ended as a success ends: exit code 0 (or none) with no
/// signal, no error result, and not stopped by anyone.
pub(crate) fn finished_cleanly(events: &[RunEvent]) -> bool {
    let start = events
        .iter()
        .rposition(|e| e.kind() == Some(RunEventKind::AttemptStarted))
        .map_or(0, |i| i + 1);
    let attempt = &events[start..];
    // An agent stopped, stalled or taken from this engine did not finish its work.
    let failed = attempt.iter().any(|e| {
        matches!(
            e.data,
            RunEventData::Result { is_error: true, .. }
                | RunEventData::Stopping { .. }
                | RunEventData::Stalled { .. }
                | RunEventData::LeaseLost { .. }
        )
    });
    let exited = attempt.iter().any(|e| {
        matches!(
            e.data,
            RunEventData::Exited {
                code: Some(0) | None,
                signal: None,
                ..
            }
        )
    });
    exited && !failed
}

/// Why an attempt whose agent's output ended with neither a result nor an exit failed.
const NO_RESULT: &str = "the agent's output ended without a result";

/// How an agent's attempt ended, judged from what it reported and how it was stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentEnd {
    /// Stopped on purpose (a pause, a cancel, a shutdown): the run is left to be resumed.
    Stopped,
    /// Silent for the stall timeout, and killed.
    Stalled,
    /// It reported an error (an API failure, a turn or budget limit).
    Error(String),
    /// It finished its work: what it did is verified next.
    Finished,
    /// Its process ended without finishing, as described.
    Crashed(String),
}

/// What an agent reported before it ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentReport {
    /// Stopped on purpose.
    pub stopped: bool,
    /// Stopped for its silence.
    pub stalled: bool,
    /// Its result: whether in error, and its label with its final words.
    pub result: Option<(bool, String)>,
    /// Its exit: code, signal and the end of its stderr.
    pub exit: Option<(Option<i32>, Option<i32>, String)>,
    /// Whether the agent has no structured protocol (a plain command: its clean exit is its
    /// result).
    pub plain: bool,
}

impl AgentEnd {
    /// Judges an attempt's end.
    pub fn judge(report: AgentReport) -> Self {
        if report.stopped {
            return Self::Stopped;
        }
        if report.stalled {
            return Self::Stalled;
        }
        match (report.result, report.exit) {
            (Some((true, what)), _) => Self::Error(what),
            (Some((false, _)), Some((Some(0) | None, None, _)) | None) => Self::Finished,
            (None, Some((Some(0), None, _))) if report.plain => Self::Finished,
            (_, Some((code, signal, tail))) => {
                let how = match (code, signal) {
                    (_, Some(s)) => format!("killed by signal {s}"),
                    (Some(c), _) => format!("exit code {c}"),
                    _ => "no exit status".into(),
                };
                Self::Crashed(format!(
                    "{how}; {}",
                    tail.lines().last().unwrap_or_default()
                ))
            }
            (None, None) => Self::Crashed(NO_RESULT.into()),
        }
    }

    /// Why a checkpoint is taken at this end, or `None` when there is nothing to keep (the
    /// agent's output ended with neither a result nor an exit).
    pub fn checkpoint_reason(&self) -> Option<&'static str> {
        Some(match self {
            Self::Stopped => "stopped",
            Self::Stalled => "stalled",
            Self::Error(_) => "agent error",
            Self::Finished => "agent finished",
            Self::Crashed(why) if why == NO_RESULT => return None,
            Self::Crashed(_) => "crash",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attempts_end_is_judged_from_what_the_agent_reported() {
        let exit = |code: Option<i32>, signal: Option<i32>| {
            Some((code, signal, "boom\nlast words".to_owned()))
        };
        let ok = Some((false, "success: done".to_owned()));
        let cases: Vec<(AgentReport, AgentEnd)> = vec![
            (
                AgentReport {
                    stopped: true,
                    stalled: true,
                    ..AgentReport::default()
                },
                AgentEnd::Stopped,
            ),
            (
                AgentReport {
                    stalled: true,
                    result: ok.clone(),
                    ..AgentReport::default()
                },
                AgentEnd::Stalled,
            ),
            (
                AgentReport {
                    result: Some((true, "error_max_turns: ".into())),
                    exit: exit(Some(0), None),
                    ..AgentReport::default()
                },
                AgentEnd::Error("error_max_turns: ".into()),
            ),
            (
                AgentReport {
                    result: ok.clone(),
                    exit: exit(Some(0), None),
                    ..AgentReport::default()
                },
                AgentEnd::Finished,
            ),
            (
                AgentReport {
                    result: ok.clone(),
                    exit: None,
                    ..AgentReport::default()
                },
                AgentEnd::Finished,
            ),
            (
                AgentReport {
                    result: ok.clone(),
                    exit: exit(Some(1), None),
                    ..AgentReport::default()
                },
                AgentEnd::Crashed("exit code 1; last words".into()),
            ),
            (
                AgentReport {
                    exit: exit(Some(0), None),
                    plain: true,
                    ..AgentReport::default()
                },
                AgentEnd::Finished,
            ),
            (
                AgentReport {
                    exit: exit(Some(0), None),
                    ..AgentReport::default()
                },
                AgentEnd::Crashed("exit code 0; last words".into()),
            ),
            (
                AgentReport {
                    exit: exit(None, Some(9)),
                    plain: true,
                    ..AgentReport::default()
                },
                AgentEnd::Crashed("killed by signal 9; last words".into()),
            ),
            (
                AgentReport::default(),
                AgentEnd::Crashed("the agent's output ended without a result".into()),
            ),
        ];
        for (report, end) in cases {
            assert_eq!(AgentEnd::judge(report.clone()), end, "{report:?}");
        }
    }

    #[test]
    fn the_backoff_doubles_up_to_ten_minutes() {
        let secs: Vec<u64> = (1..=12).map(|a| backoff(30, a).as_secs()).collect();
        assert_eq!(
            secs,
            [30, 60, 120, 240, 480, 600, 600, 600, 600, 600, 600, 600]
        );
        assert_eq!(backoff(u64::MAX, u32::MAX).as_secs(), 600);
    }
}
