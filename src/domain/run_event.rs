//! The run event log's vocabulary: every kind of entry with its typed data, and the one line a
//! person reads for it (the CLI's progress, `runs events` and the dashboard all show
//! [`RunEventData::summary`]).
//!
//! On the wire and in the store an event is `{"kind": …, "payload": {…}}`. An entry whose kind or
//! payload this version does not know (written by another version) is kept as
//! [`RunEventData::Other`], never dropped.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{ApprovalId, ReportId, RunStatus, Timestamp};

text_enum! {
    /// The kind of a run event, as stored in the log's `kind` column.
    RunEventKind, "run event kind" {
        /// An attempt began.
        AttemptStarted = "attempt_started",
        /// The agent's process was started.
        AgentStarted = "agent_started",
        /// The context built for the attempt.
        Context = "context",
        /// The agent's session began.
        Init = "init",
        /// The model wrote text.
        AssistantText = "assistant_text",
        /// The model called a tool.
        ToolUse = "tool_use",
        /// A tool's result came back.
        ToolResult = "tool_result",
        /// The agent asked to use a tool.
        PermissionRequest = "permission_request",
        /// The agent withdrew that request.
        PermissionCancelled = "permission_cancelled",
        /// The request was answered.
        PermissionAnswer = "permission_answer",
        /// The request waits for a person.
        ApprovalWaiting = "approval_waiting",
        /// The model's API failed; the agent retries.
        ApiRetry = "api_retry",
        /// A line of an unstructured agent's output.
        Output = "output",
        /// The agent's final result.
        Result = "result",
        /// The agent's process ended.
        Exited = "exited",
        /// A message of the agent's the adapter does not know.
        Unknown = "unknown",
        /// The run's status changed.
        Status = "status",
        /// The agent was silent too long.
        Stalled = "stalled",
        /// The agent is being stopped.
        Stopping = "stopping",
        /// Another engine took the run.
        LeaseLost = "lease_lost",
        /// Processes the agent left behind were killed.
        ProcessesKilled = "processes_killed",
        /// An attempt failed.
        AttemptFailed = "attempt_failed",
        /// A retry was scheduled.
        RetryScheduled = "retry_scheduled",
        /// A recovered run continues from where the log says it stood.
        Recovered = "recovered",
        /// The verifier's verdict.
        Verification = "verification",
        /// The verified work landed.
        Merged = "merged",
        /// The work was rebased onto a newer branch, to be verified again.
        Rebased = "rebased",
        /// Landing the work conflicted.
        MergeConflict = "merge_conflict",
        /// The run waits for a person.
        Escalated = "escalated",
        /// A person's retry started the count of attempts again.
        AttemptsReset = "attempts_reset",
    }
}

/// What one entry of a run's log says, by kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", content = "payload", rename_all = "snake_case")]
pub enum RunEventData {
    /// An attempt began.
    AttemptStarted {
        /// Its number, from 1.
        attempt: u32,
        /// The agent session it uses.
        session: String,
        /// Whether that session is resumed rather than new.
        resumed: bool,
        /// The agent adapter.
        agent: String,
    },
    /// The agent's process was started.
    AgentStarted {
        /// Its process id.
        pid: Option<u32>,
    },
    /// The context built for the attempt's prompt.
    Context {
        /// Its estimated size in tokens.
        estimated_tokens: u32,
        /// The budget it had to fit.
        budget: u32,
        /// What went in.
        included: Vec<ContextEntry>,
        /// What was left out, and why.
        dropped: Vec<ContextEntry>,
    },
    /// The agent's session began.
    Init {
        /// The agent's session id.
        session_id: String,
        /// The model it runs.
        model: Option<String>,
    },
    /// The model wrote text.
    AssistantText {
        /// The text.
        text: String,
    },
    /// The model called a tool.
    ToolUse {
        /// The call's id.
        id: String,
        /// The tool.
        name: String,
        /// Its input.
        input: serde_json::Value,
    },
    /// A tool's result came back.
    ToolResult {
        /// The call's id.
        tool_use_id: String,
        /// Whether the tool failed (or was refused).
        is_error: bool,
        /// The start of what it returned.
        content: String,
    },
    /// The agent asked to use a tool and waits for the answer.
    PermissionRequest {
        /// The request's id.
        request_id: String,
        /// The tool.
        tool_name: String,
        /// Its input.
        input: serde_json::Value,
    },
    /// The agent withdrew a permission request.
    PermissionCancelled {
        /// The request's id.
        request_id: String,
    },
    /// A permission request was answered.
    PermissionAnswer {
        /// The request's id.
        request_id: String,
        /// Whether the call may go ahead.
        allowed: bool,
        /// What the agent was told.
        message: String,
        /// Who decided (`policy`, a person's name, `timeout`, …).
        decided_by: String,
        /// The approval request a person answered, if one did.
        approval_id: Option<ApprovalId>,
    },
    /// A permission request waits for a person.
    ApprovalWaiting {
        /// The approval request to answer.
        approval_id: ApprovalId,
        /// The tool.
        tool_name: String,
        /// Why the policy asks a person.
        reason: String,
        /// When it is denied unanswered.
        expires_at: Timestamp,
    },
    /// The model's API failed and the agent retries.
    ApiRetry {
        /// The agent's retry number.
        attempt: u32,
        /// The HTTP status, if any.
        status: Option<u16>,
        /// What failed.
        error: String,
    },
    /// A line of output from an agent without a structured protocol.
    Output {
        /// The line.
        text: String,
    },
    /// The agent finished its work (or gave up).
    Result {
        /// Whether it ended in error.
        is_error: bool,
        /// The agent's own label (`success`, `error_max_turns`, …).
        subtype: String,
        /// Its final words.
        text: Option<String>,
        /// Money spent, in US dollars.
        cost_usd: f64,
        /// Input tokens.
        input_tokens: u64,
        /// Output tokens.
        output_tokens: u64,
        /// Tool calls it was refused.
        denials: u32,
    },
    /// The agent's process ended.
    Exited {
        /// Its exit code, if it exited rather than being killed.
        code: Option<i32>,
        /// The signal that ended it, if one did.
        signal: Option<i32>,
        /// The end of what it wrote on stderr.
        stderr_tail: String,
    },
    /// A message of the agent's the adapter does not know, kept as it came.
    Unknown {
        /// The raw message.
        raw: serde_json::Value,
    },
    /// The run's status changed.
    Status {
        /// The status before, unless the run was just created.
        from: Option<RunStatus>,
        /// The status now.
        to: RunStatus,
        /// The error that came with the change, if any.
        error: Option<String>,
    },
    /// The agent sent nothing for too long and is stopped.
    Stalled {
        /// How long it was silent, in seconds.
        silent_secs: u64,
    },
    /// The agent is being stopped.
    Stopping {
        /// Why.
        why: String,
    },
    /// Another engine holds the run now; this one stopped its agent.
    LeaseLost {
        /// The engine holding it, if known.
        owner: Option<String>,
    },
    /// Processes the agent started were still alive and were killed.
    ProcessesKilled {
        /// How many.
        count: usize,
        /// Why they were killed then.
        why: String,
    },
    /// An attempt failed.
    AttemptFailed {
        /// Its number.
        attempt: u32,
        /// Why it failed.
        error: String,
    },
    /// A retry was scheduled.
    RetryScheduled {
        /// The attempt that will run.
        attempt: u32,
        /// When, in seconds from now.
        in_secs: f64,
    },
    /// A recovered run continues from where its log says it stood.
    Recovered {
        /// What the log showed.
        from: String,
        /// What happens next.
        next: String,
    },
    /// The verifier's verdict on the run's tree.
    Verification {
        /// The report with the details.
        report_id: ReportId,
        /// Whether it passed.
        passed: bool,
        /// Each failed check with its first finding.
        failed_checks: Vec<String>,
    },
    /// The verified work landed on the branch.
    Merged {
        /// The commit that holds it.
        commit: String,
        /// The branch.
        branch: String,
    },
    /// The branch moved on: the work was rebased onto it and is verified again.
    Rebased {
        /// The rebased commit.
        commit: String,
        /// The commit it now sits on.
        base: String,
    },
    /// Landing the work conflicted.
    MergeConflict {
        /// The conflicting files.
        files: Vec<String>,
        /// The branch it was landing on.
        branch: String,
    },
    /// The run waits for a person.
    Escalated {
        /// The task.
        task: String,
        /// Attempts made.
        attempts: u32,
        /// The last error.
        last_error: String,
        /// The last checkpoint, to resume from.
        last_checkpoint: Option<CheckpointMark>,
        /// Files changed by then.
        files_changed: Vec<String>,
        /// Money spent by then, in US dollars.
        cost_usd: f64,
    },
    /// A person's retry of an escalated run started its count of attempts again.
    AttemptsReset {},
    /// An entry this version cannot read (another version's kind or payload), kept as stored.
    #[serde(untagged)]
    Other {
        /// Its kind.
        kind: String,
        /// Its payload.
        payload: serde_json::Value,
    },
}

/// One piece of context as the log records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ContextEntry {
    /// The section (`task`, `decisions`, `history`, `docs`, `skills`).
    pub section: String,
    /// What it is.
    pub label: String,
    /// Its size in tokens.
    pub tokens: u32,
    /// Why it was dropped or truncated, if it was.
    pub reason: Option<String>,
}

/// Where an escalated run's last checkpoint stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CheckpointMark {
    /// Why it was taken.
    pub reason: String,
    /// The commit holding the tree then.
    pub commit: Option<String>,
    /// When.
    pub at: Timestamp,
}

impl RunEventData {
    /// The entry's kind, or `None` for an entry this version cannot read.
    pub fn kind(&self) -> Option<RunEventKind> {
        use RunEventKind as K;
        Some(match self {
            Self::AttemptStarted { .. } => K::AttemptStarted,
            Self::AgentStarted { .. } => K::AgentStarted,
            Self::Context { .. } => K::Context,
            Self::Init { .. } => K::Init,
            Self::AssistantText { .. } => K::AssistantText,
            Self::ToolUse { .. } => K::ToolUse,
            Self::ToolResult { .. } => K::ToolResult,
            Self::PermissionRequest { .. } => K::PermissionRequest,
            Self::PermissionCancelled { .. } => K::PermissionCancelled,
            Self::PermissionAnswer { .. } => K::PermissionAnswer,
            Self::ApprovalWaiting { .. } => K::ApprovalWaiting,
            Self::ApiRetry { .. } => K::ApiRetry,
            Self::Output { .. } => K::Output,
            Self::Result { .. } => K::Result,
            Self::Exited { .. } => K::Exited,
            Self::Unknown { .. } => K::Unknown,
            Self::Status { .. } => K::Status,
            Self::Stalled { .. } => K::Stalled,
            Self::Stopping { .. } => K::Stopping,
            Self::LeaseLost { .. } => K::LeaseLost,
            Self::ProcessesKilled { .. } => K::ProcessesKilled,
            Self::AttemptFailed { .. } => K::AttemptFailed,
            Self::RetryScheduled { .. } => K::RetryScheduled,
            Self::Recovered { .. } => K::Recovered,
            Self::Verification { .. } => K::Verification,
            Self::Merged { .. } => K::Merged,
            Self::Rebased { .. } => K::Rebased,
            Self::MergeConflict { .. } => K::MergeConflict,
            Self::Escalated { .. } => K::Escalated,
            Self::AttemptsReset {} => K::AttemptsReset,
            Self::Other { .. } => return None,
        })
    }

    /// The kind as stored: the known kind's text, or what an unreadable entry was stored with.
    pub fn kind_text(&self) -> &str {
        match self {
            Self::Other { kind, .. } => kind,
            known => known.kind().map_or("", RunEventKind::as_str),
        }
    }

    /// The payload as stored.
    pub fn payload(&self) -> serde_json::Value {
        match self {
            Self::Other { payload, .. } => payload.clone(),
            known => serde_json::to_value(known)
                .map(|mut v| v["payload"].take())
                .unwrap_or_default(),
        }
    }

    /// Reads a stored `kind` and `payload`; what does not match this version's vocabulary is
    /// kept as [`RunEventData::Other`].
    pub fn from_stored(kind: &str, payload: serde_json::Value) -> Self {
        let entry = serde_json::json!({"kind": kind, "payload": payload});
        serde_json::from_value(entry).unwrap_or_else(|_| Self::Other {
            kind: kind.to_owned(),
            payload,
        })
    }

    /// The entry as a person reads it after its kind: what happened, without restating the
    /// kind (`tool_use` → `Bash cargo test`, `verification` → `✗ failed: ruff (…)`). May hold
    /// several lines only where the agent's own text does.
    #[allow(clippy::too_many_lines)]
    pub fn summary(&self) -> String {
        let first = |text: &str| text.lines().next().unwrap_or_default().to_owned();
        match self {
            Self::AttemptStarted {
                attempt,
                agent,
                resumed,
                ..
            } => format!(
                "attempt {attempt} ({agent}{})",
                if *resumed {
                    ", resuming its session"
                } else {
                    ""
                }
            ),
            Self::AgentStarted { pid } => match pid {
                Some(pid) => format!("agent process {pid} started"),
                None => "agent process started".into(),
            },
            Self::Context {
                estimated_tokens,
                budget,
                included,
                dropped,
            } => format!(
                "{estimated_tokens} of {budget} tokens: {} items in, {} left out",
                included.len(),
                dropped.len()
            ),
            Self::Init { session_id, model } => match model {
                Some(model) => format!("session {session_id} with {model}"),
                None => format!("session {session_id}"),
            },
            Self::AssistantText { text } => format!("“{text}”"),
            Self::ToolUse { name, input, .. } => {
                let what = ["command", "file_path", "url", "pattern", "path"]
                    .iter()
                    .find_map(|k| input[*k].as_str())
                    .unwrap_or_default();
                format!("{name} {}", first(what)).trim_end().to_owned()
            }
            Self::ToolResult {
                is_error, content, ..
            } => {
                let text: String = first(content).chars().take(200).collect();
                match (*is_error, text.is_empty()) {
                    (true, _) => format!("error: {text}").trim_end().to_owned(),
                    (false, true) => "(no output)".into(),
                    (false, false) => text,
                }
            }
            Self::PermissionRequest { tool_name, .. } => format!("asks to use {tool_name}"),
            Self::PermissionCancelled { .. } => "withdrew a permission request".into(),
            Self::PermissionAnswer {
                allowed,
                message,
                decided_by,
                ..
            } => {
                let head = format!(
                    "{} by {decided_by}",
                    if *allowed { "allowed" } else { "denied" }
                );
                // The policy's message often starts with its own "denied by policy: ".
                let why = message.as_str();
                let why = [
                    format!("{head}: "),
                    "allowed: ".to_owned(),
                    "denied: ".to_owned(),
                ]
                .iter()
                .find_map(|p| why.strip_prefix(p.as_str()))
                .unwrap_or(why);
                if why.is_empty() {
                    head
                } else {
                    format!("{head}: {why}")
                }
            }
            Self::ApprovalWaiting {
                approval_id,
                tool_name,
                reason,
                ..
            } => format!("waiting for a person: request #{approval_id} for {tool_name} ({reason})"),
            Self::ApiRetry { status, error, .. } => match status {
                Some(status) => format!("API error {status}, the agent retries"),
                None => format!("API error ({}), the agent retries", first(error)),
            },
            Self::Output { text } => format!("| {text}"),
            Self::Result {
                subtype,
                cost_usd,
                input_tokens,
                output_tokens,
                ..
            } => format!(
                "agent finished ({subtype}), ${cost_usd:.4}, {input_tokens} tokens in, {output_tokens} out"
            ),
            Self::Exited { code, signal, .. } => {
                let mut line = "agent exited".to_owned();
                if let Some(code) = code {
                    line += &format!(" with code {code}");
                }
                if let Some(signal) = signal {
                    line += &format!(" by signal {signal}");
                }
                line
            }
            Self::Unknown { raw } => format!(
                "({} message)",
                raw["type"].as_str().unwrap_or("unrecognised")
            ),
            Self::Status { from, to, error } => {
                let mut line = from.map(|f| format!("{f} → ")).unwrap_or_default();
                line += to.as_str();
                if let Some(error) = error {
                    line += &format!(": {error}");
                }
                line
            }
            Self::Stalled { silent_secs } => {
                format!("no event for {silent_secs} s; stopping the agent")
            }
            Self::Stopping { why } => why.clone(),
            Self::LeaseLost { owner } => format!(
                "{} holds the run now; this engine stopped its agent",
                owner.as_deref().unwrap_or("another engine")
            ),
            Self::ProcessesKilled { count, why } => {
                format!("{count} process(es) the agent left were killed ({why})")
            }
            Self::AttemptFailed { attempt, error } => format!("attempt {attempt}: {error}"),
            Self::RetryScheduled { attempt, in_secs } => {
                format!("attempt {attempt} in {in_secs:.0} s")
            }
            Self::Recovered { from, next } => format!("from {from}; next: {next}"),
            Self::Verification {
                passed,
                failed_checks,
                ..
            } => {
                if *passed {
                    "✓ passed".into()
                } else {
                    format!("✗ failed: {}", failed_checks.join("; "))
                }
            }
            Self::Merged { commit, branch } => format!("into {branch} at {}", short(commit)),
            Self::Rebased { base, .. } => {
                format!("onto {} of the moved branch; verifying again", short(base))
            }
            Self::MergeConflict { files, branch } => {
                format!("landing on {branch} conflicts in {}", files.join(", "))
            }
            Self::Escalated {
                attempts,
                last_error,
                ..
            } => format!("after {attempts} attempt(s): {last_error}"),
            Self::AttemptsReset {} => "a person's retry counts attempts from 1 again".into(),
            Self::Other { payload, .. } => payload.to_string().chars().take(200).collect(),
        }
    }
}

/// A commit id as people quote it.
fn short(commit: &str) -> &str {
    commit.get(..10).unwrap_or(commit)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// One entry of every kind with the line a person reads for it.
    fn every_kind() -> Vec<(RunEventData, &'static str)> {
        let at = Timestamp::from_millis(1_700_000_000_000);
        vec![
            (
                RunEventData::AttemptStarted {
                    attempt: 2,
                    session: "s-1".into(),
                    resumed: true,
                    agent: "claude".into(),
                },
                "attempt 2 (claude, resuming its session)",
            ),
            (
                RunEventData::AgentStarted { pid: Some(4242) },
                "agent process 4242 started",
            ),
            (
                RunEventData::Context {
                    estimated_tokens: 1200,
                    budget: 150_000,
                    included: vec![ContextEntry {
                        section: "task".into(),
                        label: "T1".into(),
                        tokens: 1200,
                        reason: None,
                    }],
                    dropped: vec![],
                },
                "1200 of 150000 tokens: 1 items in, 0 left out",
            ),
            (
                RunEventData::Init {
                    session_id: "s-1".into(),
                    model: Some("claude-sonnet".into()),
                },
                "session s-1 with claude-sonnet",
            ),
            (
                RunEventData::AssistantText {
                    text: "Done.".into(),
                },
                "“Done.”",
            ),
            (
                RunEventData::ToolUse {
                    id: "t1".into(),
                    name: "Bash".into(),
                    input: json!({"command": "cargo test\necho more"}),
                },
                "Bash cargo test",
            ),
            (
                RunEventData::ToolResult {
                    tool_use_id: "t1".into(),
                    is_error: true,
                    content: "denied by policy\nmore".into(),
                },
                "error: denied by policy",
            ),
            (
                RunEventData::PermissionRequest {
                    request_id: "r1".into(),
                    tool_name: "Write".into(),
                    input: json!({"file_path": "src/a.py"}),
                },
                "asks to use Write",
            ),
            (
                RunEventData::PermissionCancelled {
                    request_id: "r1".into(),
                },
                "withdrew a permission request",
            ),
            (
                RunEventData::PermissionAnswer {
                    request_id: "r1".into(),
                    allowed: false,
                    message: "denied by policy: `rm -rf /` deletes outside the project".into(),
                    decided_by: "policy".into(),
                    approval_id: None,
                },
                "denied by policy: `rm -rf /` deletes outside the project",
            ),
            (
                RunEventData::ApprovalWaiting {
                    approval_id: ApprovalId(7),
                    tool_name: "Bash".into(),
                    reason: "deploys".into(),
                    expires_at: at,
                },
                "waiting for a person: request #7 for Bash (deploys)",
            ),
            (
                RunEventData::ApiRetry {
                    attempt: 1,
                    status: Some(529),
                    error: "overloaded".into(),
                },
                "API error 529, the agent retries",
            ),
            (
                RunEventData::Output {
                    text: "building".into(),
                },
                "| building",
            ),
            (
                RunEventData::Result {
                    is_error: false,
                    subtype: "success".into(),
                    text: Some("ok".into()),
                    cost_usd: 0.0123,
                    input_tokens: 10,
                    output_tokens: 5,
                    denials: 0,
                },
                "agent finished (success), $0.0123, 10 tokens in, 5 out",
            ),
            (
                RunEventData::Exited {
                    code: None,
                    signal: Some(9),
                    stderr_tail: String::new(),
                },
                "agent exited by signal 9",
            ),
            (
                RunEventData::Unknown {
                    raw: json!({"type": "rate_limit_event"}),
                },
                "(rate_limit_event message)",
            ),
            (
                RunEventData::Status {
                    from: Some(RunStatus::InProgress),
                    to: RunStatus::Failed,
                    error: Some("agent crashed".into()),
                },
                "IN_PROGRESS → FAILED: agent crashed",
            ),
            (
                RunEventData::Stalled { silent_secs: 300 },
                "no event for 300 s; stopping the agent",
            ),
            (
                RunEventData::Stopping {
                    why: "the orchestrator is shutting down".into(),
                },
                "the orchestrator is shutting down",
            ),
            (
                RunEventData::LeaseLost { owner: None },
                "another engine holds the run now; this engine stopped its agent",
            ),
            (
                RunEventData::ProcessesKilled {
                    count: 2,
                    why: "its agent ended".into(),
                },
                "2 process(es) the agent left were killed (its agent ended)",
            ),
            (
                RunEventData::AttemptFailed {
                    attempt: 1,
                    error: "verification failed".into(),
                },
                "attempt 1: verification failed",
            ),
            (
                RunEventData::RetryScheduled {
                    attempt: 2,
                    in_secs: 30.0,
                },
                "attempt 2 in 30 s",
            ),
            (
                RunEventData::Recovered {
                    from: "the agent's logged clean exit".into(),
                    next: "verification".into(),
                },
                "from the agent's logged clean exit; next: verification",
            ),
            (
                RunEventData::Verification {
                    report_id: ReportId(3),
                    passed: false,
                    failed_checks: vec!["ruff (src/a.py:1: F401)".into(), "mypy".into()],
                },
                "✗ failed: ruff (src/a.py:1: F401); mypy",
            ),
            (
                RunEventData::Merged {
                    commit: "0123456789abcdef".into(),
                    branch: "main".into(),
                },
                "into main at 0123456789",
            ),
            (
                RunEventData::Rebased {
                    commit: "aaaaaaaaaaaaaaaa".into(),
                    base: "bbbbbbbbbbbbbbbb".into(),
                },
                "onto bbbbbbbbbb of the moved branch; verifying again",
            ),
            (
                RunEventData::MergeConflict {
                    files: vec!["src/a.py".into()],
                    branch: "main".into(),
                },
                "landing on main conflicts in src/a.py",
            ),
            (
                RunEventData::Escalated {
                    task: "T1".into(),
                    attempts: 5,
                    last_error: "tests fail".into(),
                    last_checkpoint: Some(CheckpointMark {
                        reason: "end".into(),
                        commit: None,
                        at,
                    }),
                    files_changed: vec![],
                    cost_usd: 1.5,
                },
                "after 5 attempt(s): tests fail",
            ),
            (
                RunEventData::AttemptsReset {},
                "a person's retry counts attempts from 1 again",
            ),
        ]
    }

    #[test]
    fn every_kind_has_its_line_and_is_stored_and_read_back_as_it_was() {
        let table = every_kind();
        let kinds: Vec<RunEventKind> = table.iter().filter_map(|(d, _)| d.kind()).collect();
        assert_eq!(kinds, RunEventKind::ALL, "one case per kind, in order");
        for (data, line) in table {
            assert_eq!(data.summary(), line, "{data:?}");
            let wire = serde_json::to_value(&data).unwrap();
            assert_eq!(wire["kind"], data.kind_text(), "{data:?}");
            assert_eq!(wire["payload"], data.payload(), "{data:?}");
            assert_eq!(
                RunEventData::from_stored(data.kind_text(), data.payload()),
                data
            );
        }
    }

    #[test]
    fn what_this_version_cannot_read_is_kept_as_stored() {
        // Another version's kind, and a known kind with a payload of another shape.
        for (kind, payload) in [
            ("teleported", json!({"to": "mars"})),
            ("stalled", json!({"silent": "long"})),
        ] {
            let data = RunEventData::from_stored(kind, payload.clone());
            assert_eq!(
                data,
                RunEventData::Other {
                    kind: kind.into(),
                    payload: payload.clone()
                }
            );
            assert_eq!(data.kind(), None);
            assert_eq!((data.kind_text(), data.payload()), (kind, payload.clone()));
            assert_eq!(
                serde_json::to_value(&data).unwrap(),
                json!({"kind": kind, "payload": payload})
            );
        }
        // Agent events were stored with their own `type` tag: still read as typed.
        let old = RunEventData::from_stored(
            "exited",
            json!({"type": "exited", "code": 0, "signal": null, "stderr_tail": ""}),
        );
        assert_eq!(old.kind(), Some(RunEventKind::Exited));
    }

    #[test]
    fn a_run_event_keeps_its_wire_form() {
        let event = crate::domain::RunEvent {
            run_id: crate::domain::RunId(1),
            seq: 3,
            data: RunEventData::Stalled { silent_secs: 5 },
            at: Timestamp::from_millis(0),
        };
        let wire = serde_json::to_value(&event).unwrap();
        assert_eq!(wire["kind"], "stalled");
        assert_eq!(wire["payload"], json!({"silent_secs": 5}));
        assert_eq!(
            serde_json::from_value::<crate::domain::RunEvent>(wire).unwrap(),
            event
        );
    }
}
