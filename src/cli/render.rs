//! Text renderings of engine results for a person at a terminal.

use std::fmt::Write as _;

use crate::StatusReport;
use crate::domain::{ApprovalRequest, ApprovalStatus, AuditEntry, Timestamp};
use crate::domain::{
    ChangeKind, Draft, FieldChange, ItemChange, Plan, PlanContent, PlanDiff, PlanId, PlanView,
    PlanningSession,
};
use crate::domain::{Run, RunEvent, RunEventData, RunEventKind, VerificationReport};
use crate::orchestrator::RunView;
use crate::planner::SessionView;
use crate::policy::Decision;
use crate::verifier::Progress;

pub(super) fn plan_list(plans: &Vec<Plan>) -> String {
    if plans.is_empty() {
        return "No plans yet: `orchestrator plan new \"goal\"` (or plan_start over MCP) plans one.\n".into();
    }
    let mut out = format!(
        "{:>4}  {:<10}  {:>7}  {:<24}  {}\n",
        "ID", "STATUS", "VERSION", "UPDATED", "TITLE"
    );
    for plan in plans {
        let _ = writeln!(
            out,
            "{:>4}  {:<10}  {:>7}  {:<24}  {}",
            plan.id, plan.status, plan.current_version, plan.updated_at, plan.title
        );
    }
    out
}

pub(super) fn plan(view: &PlanView) -> String {
    let (plan, version) = (&view.plan, &view.version);
    let content = &version.content;
    let mut out = format!(
        "Plan {}: {}  [{}]  version {} of {}\n\nGoal: {}\n",
        plan.id, plan.title, plan.status, version.version, plan.current_version, content.goal
    );
    plan_content(&mut out, content, |key| {
        view.task_status
            .get(key)
            .map_or("PENDING", |s| s.as_str())
            .to_string()
    });
    out.push_str("\nVersions:\n");
    for info in &view.history {
        let marker = if info.version == version.version {
            "*"
        } else {
            " "
        };
        let _ = writeln!(
            out,
            " {marker}{:>3}  {}  {}",
            info.version, info.created_at, info.note
        );
    }
    out
}

/// Criteria, constraints, phases with their tasks, and decisions; `label` gives each task's tag.
fn plan_content(out: &mut String, content: &PlanContent, label: impl Fn(&str) -> String) {
    list(out, "Success criteria", &content.success_criteria);
    list(out, "Constraints", &content.constraints);
    for phase in &content.phases {
        let _ = writeln!(out, "\nPhase {}: {}", phase.key, phase.name);
        if !phase.description.is_empty() {
            let _ = writeln!(out, "  {}", phase.description);
        }
        for task in &phase.tasks {
            let _ = writeln!(out, "  [{}] {}  {}", label(&task.key), task.key, task.title);
            let _ = writeln!(out, "      {}", task.description);
            for (label, items) in [
                ("files", &task.files),
                ("depends on", &task.depends_on),
                ("verify", &task.verification),
            ] {
                if !items.is_empty() {
                    let _ = writeln!(out, "      {label}: {}", items.join(", "));
                }
            }
        }
    }
    if !content.decisions.is_empty() {
        out.push_str("\nDecisions:\n");
        for decision in &content.decisions {
            let _ = writeln!(
                out,
                "  {}: {}\n      why: {}",
                decision.key, decision.what, decision.why
            );
            for alternative in &decision.rejected_alternatives {
                let _ = writeln!(
                    out,
                    "      rejected: {} ({})",
                    alternative.option, alternative.reason
                );
            }
        }
    }
}

/// A draft under review: its plan, the order its tasks can run in, and its problems.
pub(super) fn draft(draft: &Draft, order: &[Vec<String>]) -> String {
    let content = &draft.content;
    let mut out = format!(
        "Draft {} ({}{})\n\nGoal: {}\n",
        draft.number,
        draft.source,
        if draft.note.is_empty() {
            String::new()
        } else {
            format!(", {}", draft.note)
        },
        content.goal
    );
    plan_content(&mut out, content, |_| "task".into());
    if !order.is_empty() {
        let waves: Vec<String> = order.iter().map(|wave| wave.join(" + ")).collect();
        let _ = writeln!(out, "\nOrder: {}", waves.join(" → "));
    }
    if !draft.problems.is_empty() {
        let _ = writeln!(out, "\nProblems ({}):", draft.problems.len());
        for problem in &draft.problems {
            let _ = writeln!(
                out,
                "  - {}: {}\n    fix: {}",
                problem.location, problem.message, problem.fix
            );
        }
    }
    out
}

/// A planning session: where it stands, the answers, what is open, the draft.
pub(super) fn session(view: &SessionView) -> String {
    let session = &view.session;
    let mut out = format!(
        "Planning session {}: {}  [{}]\n",
        session.id, session.goal, session.status
    );
    if let Some(plan) = session.plan_id {
        let _ = writeln!(out, "Plan: {plan} (`orchestrator plan show {plan}`)");
    }
    out.push_str("\nAnswers:\n");
    for (n, topic) in view.topics.iter().enumerate() {
        let value = match (&topic.answer, &topic.assumed) {
            (Some(answer), _) => answer.replace('\n', "; "),
            (None, Some(assumed)) => format!("(assumed) {assumed}"),
            _ => "(open)".into(),
        };
        let _ = writeln!(out, "  {:>2}. {:<28} {value}", n + 1, topic.topic);
    }
    if view.open_questions > 0 {
        let _ = writeln!(out, "\n{} question(s) open.", view.open_questions);
    }
    if let Some(draft) = &view.draft {
        let _ = writeln!(
            out,
            "\nNewest draft: {} from {}, {} problem(s).",
            draft.number,
            draft.source,
            draft.problems.len()
        );
    }
    out
}

/// Sessions, newest first.
pub(super) fn session_list(sessions: &Vec<PlanningSession>) -> String {
    if sessions.is_empty() {
        return "No planning sessions yet: `orchestrator plan new \"goal\"` starts one.\n".into();
    }
    let mut out = format!(
        "{:>4}  {:<22}  {:>4}  {:<24}  {}\n",
        "ID", "STATUS", "PLAN", "UPDATED", "GOAL"
    );
    for s in sessions {
        let plan = s
            .plan_id
            .map(|p| p.to_string())
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            out,
            "{:>4}  {:<22}  {:>4}  {:<24}  {}",
            s.id, s.status, plan, s.updated_at, s.goal
        );
    }
    out
}

fn list(out: &mut String, title: &str, items: &[String]) {
    if !items.is_empty() {
        let _ = writeln!(out, "{title}:");
        for item in items {
            let _ = writeln!(out, "  - {item}");
        }
    }
}

pub(super) fn diff(id: PlanId, diff: &PlanDiff) -> String {
    let mut out = format!(
        "Plan {id}: version {} → {}\n",
        diff.from_version, diff.to_version
    );
    if diff.is_empty() {
        out.push_str("No differences.\n");
        return out;
    }
    for change in &diff.fields {
        field_line(&mut out, "", change);
    }
    for (what, changes) in [
        ("phase", &diff.phases),
        ("task", &diff.tasks),
        ("decision", &diff.decisions),
    ] {
        for change in changes {
            item_lines(&mut out, what, change);
        }
    }
    out
}

fn item_lines(out: &mut String, what: &str, change: &ItemChange) {
    let sign = match change.kind {
        ChangeKind::Added => '+',
        ChangeKind::Removed => '-',
        ChangeKind::Changed => '~',
    };
    let _ = writeln!(out, "{sign} {what} {}", change.key);
    for field in &change.fields {
        field_line(out, "    ", field);
    }
}

fn field_line(out: &mut String, indent: &str, change: &FieldChange) {
    let _ = writeln!(
        out,
        "{indent}~ {}: {} → {}",
        change.field, change.before, change.after
    );
}

pub(super) fn status(report: &StatusReport) -> String {
    let mut out = format!(
        "Project:   {} ({}), id {}\nConfig:    {}\nDatabase:  {} (schema {})\nSecrets:   {}\n",
        report.project.name,
        report.project.root.display(),
        report.project.id,
        report
            .config_file
            .as_ref()
            .map_or("none (defaults)".into(), |p| p.display().to_string()),
        report.database.display(),
        report.schema_version,
        if report.secret_names.is_empty() {
            "none".into()
        } else {
            report.secret_names.join(", ")
        },
    );
    let counts = &report.counts;
    let by_status = |map: &std::collections::BTreeMap<String, u64>| {
        if map.is_empty() {
            "none".to_string()
        } else {
            map.iter()
                .map(|(k, v)| format!("{v} {k}"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let _ = writeln!(out, "Projects:  {}", counts.projects);
    let _ = writeln!(out, "Plans:     {}", by_status(&counts.plans));
    let _ = writeln!(out, "Runs:      {}", by_status(&counts.runs));
    let _ = writeln!(out, "Approvals: {} waiting", counts.pending_approvals);
    let _ = writeln!(out, "Locks:     {} held", counts.active_locks);
    for warning in &report.warnings {
        let _ = writeln!(out, "Warning:   {warning}");
    }
    out
}

/// A tool call's input in one line: the command, the path or the URL, else compact JSON.
fn call_summary(tool: &str, input: &serde_json::Value) -> String {
    let field = |k: &str| input.get(k).and_then(serde_json::Value::as_str);
    let text = field("command")
        .or_else(|| field("file_path"))
        .or_else(|| field("notebook_path"))
        .or_else(|| field("url"))
        .or_else(|| field("path"))
        .map_or_else(|| input.to_string(), str::to_owned);
    let one_line = text.replace('\n', "⏎ ");
    let short: String = one_line.chars().take(100).collect();
    let cut = if one_line.chars().count() > 100 {
        "…"
    } else {
        ""
    };
    format!("{tool} `{short}{cut}`")
}

fn ago(then: Timestamp, now: Timestamp) -> String {
    let secs = (now.as_millis() - then.as_millis()).max(0) / 1000;
    match secs {
        s if s < 90 => format!("{s}s"),
        s if s < 5400 => format!("{}m", s / 60),
        s => format!("{}h", s / 3600),
    }
}

pub(super) fn approvals(requests: &Vec<ApprovalRequest>, all: bool) -> String {
    if requests.is_empty() {
        return if all {
            "No approval requests yet.\n".into()
        } else {
            "Nothing is waiting for approval.\n".into()
        };
    }
    let now = Timestamp::now();
    let mut out = String::new();
    for r in requests {
        let state = match r.status {
            ApprovalStatus::Pending => format!(
                "waiting {}, denied in {} unless answered",
                ago(r.created_at, now),
                ago(now, r.expires_at)
            ),
            status => format!(
                "{} by {}{}",
                status.as_str().to_ascii_lowercase(),
                r.decided_by.as_deref().unwrap_or("?"),
                if r.applies_to_run {
                    " (always for this run)"
                } else {
                    ""
                }
            ),
        };
        let _ = writeln!(
            out,
            "#{}  run {} (task {})  {}",
            r.id,
            r.run_id,
            r.task_key,
            call_summary(&r.tool_name, &r.input)
        );
        let _ = writeln!(out, "    why: {}", r.reason);
        let _ = writeln!(out, "    {state}");
        if let Some(reason) = r
            .decision_reason
            .as_deref()
            .filter(|_| r.status != ApprovalStatus::Pending)
        {
            let _ = writeln!(out, "    answer: {reason}");
        }
    }
    if !all {
        let _ = writeln!(
            out,
            "\nAnswer with `orchestrator approve ID [--always]` or `orchestrator deny ID --reason \"…\"`."
        );
    }
    out
}

pub(super) fn approval_answered(r: &ApprovalRequest) -> String {
    let mut out = format!(
        "#{} {} by {}: {}\n",
        r.id,
        r.status.as_str().to_ascii_lowercase(),
        r.decided_by.as_deref().unwrap_or("?"),
        call_summary(&r.tool_name, &r.input)
    );
    if r.applies_to_run && !r.grants.is_empty() {
        let _ = writeln!(
            out,
            "For the rest of run {} also allowed: {}",
            r.run_id,
            r.grants.join(", ")
        );
    }
    out
}

pub(super) fn decision(d: &Decision) -> String {
    let mut out = format!("{}: {}\n", d.verdict, d.reason);
    if let Some(rule) = &d.rule {
        let _ = writeln!(out, "decided by {rule}");
    }
    if !d.findings.is_empty() {
        out.push('\n');
        let width = d
            .findings
            .iter()
            .map(|f| f.subject.chars().count())
            .max()
            .unwrap_or(0)
            .min(48);
        for f in &d.findings {
            let _ = writeln!(
                out,
                "  {:<8}  {:<width$}  {}  [{}]",
                f.verdict.as_str(),
                f.subject,
                f.reason,
                f.decided_by
            );
        }
    }
    out
}

pub(super) fn audit(entries: &Vec<AuditEntry>) -> String {
    if entries.is_empty() {
        return "No permission decisions recorded yet.\n".into();
    }
    let mut out = String::new();
    for e in entries {
        let run = e.run_id.map_or_else(String::new, |r| format!("run {r}  "));
        let _ = writeln!(
            out,
            "{}  {run}{:<9} {}  by {}",
            e.at,
            e.verdict,
            call_summary(&e.tool_name, &e.input),
            e.decided_by
        );
        let _ = writeln!(out, "    {}", e.reason);
    }
    out
}

/// The live display of a verification on stderr: a line per check as it starts and ends
/// (rewritten in place on a terminal).
pub(super) struct VerifyProgress {
    enabled: bool,
    terminal: bool,
}

impl VerifyProgress {
    pub(super) fn new(enabled: bool) -> Self {
        Self {
            enabled,
            terminal: std::io::IsTerminal::is_terminal(&std::io::stderr()),
        }
    }

    pub(super) fn show(&self, event: &Progress) {
        if !self.enabled {
            return;
        }
        match event {
            Progress::Started { index, total, name } => {
                if self.terminal {
                    err!("\r\x1b[2K  [{}/{total}] {name} …", index + 1);
                } else {
                    errln!("  [{}/{total}] {name} …", index + 1);
                }
            }
            Progress::Finished {
                index,
                total,
                result,
            } => {
                let mark = if result.passed { "✓" } else { "✗" };
                let line = format!(
                    "  [{}/{total}] {mark} {} ({})",
                    index + 1,
                    result.name,
                    seconds(result.duration_ms)
                );
                if self.terminal {
                    errln!("\r\x1b[2K{line}");
                } else {
                    errln!("{line}");
                }
            }
        }
    }
}

fn seconds(ms: u64) -> String {
    format!("{:.1}s", ms as f64 / 1000.0)
}

pub(super) fn verification(report: &VerificationReport) -> String {
    let mut out = String::new();
    let commit = match (&report.commit, report.dirty) {
        (Some(c), false) => format!("commit {}", &c[..c.len().min(12)]),
        (Some(c), true) => format!("commit {} with uncommitted changes", &c[..c.len().min(12)]),
        (None, _) => "a folder outside git".to_owned(),
    };
    let _ = writeln!(
        out,
        "{} Verification {}: {} ({commit})",
        if report.passed { "✓" } else { "✗" },
        report.id,
        if report.passed {
            "every check passed"
        } else {
            "failed"
        }
    );
    for check in &report.checks {
        let mark = if check.passed { "✓" } else { "✗" };
        let mut detail = Vec::new();
        if let Some(t) = &check.tests {
            detail.push(format!(
                "{} tests: {} passed, {} failed, {} errors, {} skipped",
                t.total, t.passed, t.failed, t.errors, t.skipped
            ));
        }
        if !check.findings.is_empty() {
            detail.push(format!("{} finding(s)", check.findings.len()));
        }
        detail.push(seconds(check.duration_ms));
        let _ = writeln!(out, "  {mark} {:<12} {}", check.name, detail.join(", "));
        if let Some(error) = &check.error {
            let _ = writeln!(out, "      {error}");
        }
    }
    // Findings grouped by file, the way a person fixes them.
    let mut by_file: std::collections::BTreeMap<String, Vec<(u32, String)>> =
        std::collections::BTreeMap::new();
    for check in &report.checks {
        for f in &check.findings {
            let at = match (f.line, f.column) {
                (Some(l), Some(c)) => format!("{l}:{c}"),
                (Some(l), None) => l.to_string(),
                _ => "-".into(),
            };
            let rule = f
                .rule
                .as_deref()
                .map(|r| format!(" [{r}]"))
                .unwrap_or_default();
            by_file
                .entry(f.file.clone().unwrap_or_else(|| "(project)".into()))
                .or_default()
                .push((
                    f.line.unwrap_or(0),
                    format!(
                        "    {at:>7}  {:<7} {}: {}{rule}",
                        f.severity.as_str(),
                        check.name,
                        f.message
                    ),
                ));
        }
    }
    for (file, lines) in &mut by_file {
        lines.sort_by_key(|(line, _)| *line);
        let _ = writeln!(out, "\n{file}");
        for (_, line) in lines.iter() {
            let _ = writeln!(out, "{line}");
        }
    }
    let failed_without_findings: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| !c.passed && c.findings.is_empty() && !c.output_tail.trim().is_empty())
        .map(|c| c.name.as_str())
        .collect();
    for name in failed_without_findings {
        if let Some(check) = report.checks.iter().find(|c| c.name == name) {
            let _ = writeln!(out, "\n{name} output (last lines):");
            let tail: Vec<&str> = check.output_tail.lines().rev().take(15).collect();
            for line in tail.into_iter().rev() {
                let _ = writeln!(out, "    {line}");
            }
        }
    }
    out
}

/// The live display of a supervised run on stderr: one line per thing worth seeing.
pub(super) struct RunProgress {
    enabled: bool,
    started: std::time::Instant,
}

impl RunProgress {
    pub(super) fn new(enabled: bool) -> Self {
        Self {
            enabled,
            started: std::time::Instant::now(),
        }
    }

    pub(super) fn show(&self, event: &RunEvent) {
        if !self.enabled {
            return;
        }
        if let Some(line) = run_event(event) {
            errln!("  {:>6.1}s  {line}", self.started.elapsed().as_secs_f64());
        }
    }
}

/// An event as a progress line for a person, or `None` for the ones not worth a line while
/// watching (the agent's session and process, tool output, the context's make-up).
pub(super) fn run_event(event: &RunEvent) -> Option<String> {
    use RunEventKind as K;
    let kind = event.kind();
    if matches!(
        kind,
        Some(
            K::AgentStarted
                | K::Init
                | K::ToolResult
                | K::PermissionCancelled
                | K::Context
                | K::Exited
                | K::Unknown
        )
    ) {
        return None;
    }
    let summary = event.summary();
    let mut line = format!(
        "{} {}",
        event.data.kind_text().replace('_', " "),
        summary.lines().next().unwrap_or_default()
    );
    if let RunEventData::ApprovalWaiting { approval_id, .. } = &event.data {
        let _ = write!(
            line,
            " — `orchestrator approve {approval_id}` or `orchestrator deny {approval_id} --reason …`"
        );
    }
    Some(line)
}

/// A logged event as `runs events` lists it: number, time, kind and what happened.
pub(super) fn logged_event(event: &RunEvent) -> String {
    format!(
        "{:>5} {} {:<20} {}\n",
        event.seq,
        event.at,
        event.data.kind_text(),
        event
            .summary()
            .replace('\n', "\n                                                ")
    )
}

pub(super) fn run_line(run: &Run) -> String {
    let mut line = format!(
        "run {}: {} (task {}, attempt {})\n",
        run.id, run.status, run.task_key, run.attempt
    );
    if let Some(error) = &run.last_error {
        let _ = writeln!(line, "  last error: {error}");
    }
    line
}

pub(super) fn run_list(runs: &Vec<Run>) -> String {
    if runs.is_empty() {
        return "No runs yet: `orchestrator run-task PLAN_ID TASK` starts one.\n".into();
    }
    let mut out = format!(
        "{:>4}  {:<12} {:>4} {:<8} {:>7}  {}\n",
        "ID", "STATUS", "PLAN", "TASK", "ATTEMPT", "AGENT"
    );
    for r in runs {
        let _ = writeln!(
            out,
            "{:>4}  {:<12} {:>4} {:<8} {:>7}  {}",
            r.id,
            r.status.as_str(),
            r.plan_id,
            r.task_key,
            r.attempt,
            r.agent
        );
    }
    out
}

pub(super) fn run_view(view: &RunView) -> String {
    let mut out = run_line(&view.run);
    if let Some(session) = &view.run.agent_session_id {
        let _ = writeln!(out, "  agent session: {session}");
    }
    if view.waiting_approvals > 0 {
        let _ = writeln!(
            out,
            "  {} approval request(s) waiting: `orchestrator approvals --run {}`",
            view.waiting_approvals, view.run.id
        );
    }
    for c in &view.checkpoints {
        let _ = writeln!(
            out,
            "  checkpoint {}: {}{}, {} file(s) changed, ${:.4}",
            c.at,
            c.reason,
            c.commit
                .as_deref()
                .map(|h| format!(" at {}", &h[..h.len().min(12)]))
                .unwrap_or_default(),
            c.files_changed.len(),
            c.cost_usd
        );
    }
    for e in &view.recent_events {
        if let Some(line) = run_event(e) {
            let _ = writeln!(out, "  #{:<4} {line}", e.seq);
        }
    }
    out
}

/// Claude Code's PreToolUse hook output for an answer; `None` when nothing is to be said.
pub(super) fn hook_answer(answer: &crate::orchestrator::HookAnswer) -> Option<String> {
    let (decision, reason) = match answer {
        crate::orchestrator::HookAnswer::Pass => return None,
        crate::orchestrator::HookAnswer::Allow(reason) => ("allow", reason),
        crate::orchestrator::HookAnswer::Ask(reason) => ("ask", reason),
        crate::orchestrator::HookAnswer::Deny(reason) => ("deny", reason),
    };
    Some(
        serde_json::json!({"hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": decision,
            "permissionDecisionReason": reason,
        }})
        .to_string(),
    )
}
