//! Text renderings of engine results for a person at a terminal.

use std::fmt::Write as _;

use crate::StatusReport;
use crate::domain::{ChangeKind, FieldChange, ItemChange, Plan, PlanDiff, PlanId, PlanView};

pub(super) fn plan_list(plans: &Vec<Plan>) -> String {
    if plans.is_empty() {
        return "No plans yet. A planning session (plan_start over MCP) creates one.\n".into();
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
    list(&mut out, "Success criteria", &content.success_criteria);
    list(&mut out, "Constraints", &content.constraints);
    for phase in &content.phases {
        let _ = writeln!(out, "\nPhase {}: {}", phase.key, phase.name);
        if !phase.description.is_empty() {
            let _ = writeln!(out, "  {}", phase.description);
        }
        for task in &phase.tasks {
            let status = view
                .task_status
                .get(&task.key)
                .map(|s| s.as_str())
                .unwrap_or("PENDING");
            let _ = writeln!(out, "  [{status}] {}  {}", task.key, task.title);
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
