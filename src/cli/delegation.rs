//! `orchestrator locks …` (and, as it lands, the plan run).

use clap::Subcommand;

use super::print;
use crate::Orchestrator;
use crate::domain::{LeaseId, LockLease, RunEventData, Timestamp};

#[derive(Debug, Subcommand)]
pub(super) enum LocksCommand {
    /// The file locks in force (or every lease with --all): pattern, mode, run, owner, expiry.
    List {
        /// Every lease ever taken, newest first, with why it ended.
        #[arg(long)]
        all: bool,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Release a lock by hand (a stuck run, say); the reason is kept.
    Release {
        /// The lease's id (from `orchestrator locks`).
        id: LeaseId,
        /// Why.
        #[arg(long, required = true)]
        reason: String,
    },
}

pub(super) async fn locks(
    orchestrator: &Orchestrator,
    command: Option<LocksCommand>,
) -> anyhow::Result<()> {
    match command.unwrap_or(LocksCommand::List {
        all: false,
        limit: 100,
        json: false,
    }) {
        LocksCommand::List { all, limit, json } => {
            let leases = orchestrator.locks(all, limit).await?;
            print(json, &leases, |l| leases_text(l, all))
        }
        LocksCommand::Release { id, reason } => {
            let lease = orchestrator.release_lock(id, &reason).await?;
            outln!(
                "Released lock {} on {} ({}).",
                lease.id,
                lease.pattern,
                lease.released_reason.unwrap_or_default()
            );
            Ok(())
        }
    }
}

fn leases_text(leases: &[LockLease], all: bool) -> String {
    if leases.is_empty() {
        return if all {
            "No lock was ever taken.\n".into()
        } else {
            "No file is locked.\n".into()
        };
    }
    let now = Timestamp::now();
    let mut text = format!(
        "{:>5}  {:<9} {:>5}  {:<32} {}\n",
        "ID", "MODE", "RUN", "PATTERN", "STATE"
    );
    for lease in leases {
        let state = match (&lease.released_at, lease.is_held_at(now)) {
            (Some(at), _) => format!(
                "released {at}: {}",
                lease.released_reason.as_deref().unwrap_or("")
            ),
            (None, true) => format!("held by {} until {}", lease.owner, lease.expires_at),
            (None, false) => format!("lapsed at {} (can be taken over)", lease.expires_at),
        };
        let run = lease
            .run_id
            .map(|r| r.to_string())
            .unwrap_or_else(|| "-".into());
        text.push_str(&format!(
            "{:>5}  {:<9} {:>5}  {:<32} {state}\n",
            lease.id, lease.mode, run, lease.pattern
        ));
    }
    text
}

/// `orchestrator run PLAN`: the plan run in the foreground with a live display.
pub(super) async fn run_plan(
    orchestrator: &Orchestrator,
    plan: crate::domain::PlanId,
    json: bool,
) -> anyhow::Result<()> {
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(super::cancel_on_signal(stop.clone()));
    let board = std::sync::Arc::new(Board::new(!json));
    let events = board.clone();
    let ticker = {
        let board = board.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_millis(500));
            loop {
                tokio::select! {
                    _ = tick.tick() => board.draw(),
                    () = stop.cancelled() => return,
                }
            }
        })
    };
    let total = orchestrator
        .plan(plan, None)
        .await?
        .version
        .content
        .tasks()
        .count();
    board.set_total(total);
    let report = orchestrator
        .run_plan(
            plan,
            stop.clone(),
            std::sync::Arc::new(move |event| events.hear(&event)),
        )
        .await;
    ticker.abort();
    board.clear();
    let report = report?;
    print(json, &report, report_text)?;
    if report.done {
        Ok(())
    } else {
        Err(super::ChecksFailed.into())
    }
}

/// One line per running task, pending approvals marked, a progress bar; redrawn in a terminal,
/// a line per change otherwise.
struct Board {
    enabled: bool,
    terminal: bool,
    started: std::time::Instant,
    state: std::sync::Mutex<BoardState>,
}

#[derive(Default)]
struct BoardState {
    total: usize,
    done: usize,
    lines: std::collections::BTreeMap<String, TaskLine>,
    drawn: usize,
}

struct TaskLine {
    run: crate::domain::RunId,
    state: String,
    doing: String,
    since: std::time::Instant,
    cost: f64,
    waiting: bool,
}

impl Board {
    fn new(enabled: bool) -> Self {
        Self {
            enabled,
            terminal: std::io::IsTerminal::is_terminal(&std::io::stderr()),
            started: std::time::Instant::now(),
            state: std::sync::Mutex::default(),
        }
    }

    fn set_total(&self, total: usize) {
        if let Ok(mut s) = self.state.lock() {
            s.total = total;
        }
    }

    fn say(&self, line: &str) {
        if self.enabled && !self.terminal {
            errln!("  {:>6.1}s  {line}", self.started.elapsed().as_secs_f64());
        }
    }

    fn hear(&self, event: &crate::orchestrator::PlanEvent) {
        use crate::orchestrator::PlanEvent;
        let Ok(mut s) = self.state.lock() else { return };
        match event {
            PlanEvent::Started { task, run } => {
                s.lines.insert(
                    task.clone(),
                    TaskLine {
                        run: *run,
                        state: "DELEGATED".into(),
                        doing: String::new(),
                        since: std::time::Instant::now(),
                        cost: 0.0,
                        waiting: false,
                    },
                );
                drop(s);
                self.say(&format!("{task}: run {run} started"));
            }
            PlanEvent::Waiting { task, run, on } => {
                drop(s);
                self.say(&format!(
                    "{task}: run {run} waits for locks on {}",
                    on.join(", ")
                ));
            }
            PlanEvent::Split { task, into, why } => {
                s.total += into.len().saturating_sub(1);
                drop(s);
                self.say(&format!("{task} split into {} ({why})", into.join(", ")));
            }
            PlanEvent::Run { task, event } => {
                let line = super::render::run_event(event);
                if let Some(entry) = s.lines.get_mut(task) {
                    match &event.data {
                        RunEventData::Status { to, .. } => entry.state = to.to_string(),
                        RunEventData::AttemptStarted { .. } => entry.state = "IN_PROGRESS".into(),
                        RunEventData::Verification { .. } => entry.state = "VERIFYING".into(),
                        RunEventData::ApprovalWaiting { .. } => entry.waiting = true,
                        RunEventData::PermissionAnswer { .. } => entry.waiting = false,
                        RunEventData::Result { cost_usd, .. } => entry.cost += cost_usd,
                        _ => {}
                    }
                    if let Some(line) = &line {
                        entry.doing = line.chars().take(60).collect();
                    }
                }
                drop(s);
                if let Some(line) = line {
                    self.say(&format!("{task}: {line}"));
                }
            }
            PlanEvent::Ended { task, run } => {
                s.lines.remove(task);
                if run.status == crate::domain::RunStatus::Completed {
                    s.done += 1;
                }
                drop(s);
                self.say(&format!("{task}: run {} {}", run.id, run.status));
            }
        }
    }

    fn draw(&self) {
        if !self.enabled || !self.terminal {
            return;
        }
        let Ok(mut s) = self.state.lock() else { return };
        let mut out = String::new();
        if s.drawn > 0 {
            out.push_str(&format!("\x1b[{}A", s.drawn));
        }
        let width = 30;
        let filled = (s.done * width)
            .checked_div(s.total)
            .unwrap_or(0)
            .min(width);
        let mut lines = vec![format!(
            "[{}{}] {}/{} tasks · {:.0}s",
            "█".repeat(filled),
            "·".repeat(width - filled),
            s.done,
            s.total,
            self.started.elapsed().as_secs_f64()
        )];
        for (task, line) in &s.lines {
            let mark = if line.waiting {
                "\x1b[1;33m⏸ waiting for a person (orchestrator approvals)\x1b[0m"
            } else {
                ""
            };
            lines.push(format!(
                "  {task:<8} run {:<4} {:<12} {:>5.0}s ${:<7.4} {} {mark}",
                line.run,
                line.state,
                line.since.elapsed().as_secs_f64(),
                line.cost,
                line.doing
            ));
        }
        for line in &lines {
            out.push_str(&format!("\x1b[2K{line}\n"));
        }
        // Lines left from a taller board are wiped.
        for _ in lines.len()..s.drawn {
            out.push_str("\x1b[2K\n");
        }
        let drawn = lines.len().max(s.drawn);
        if drawn > lines.len() {
            out.push_str(&format!("\x1b[{}A", drawn - lines.len()));
        }
        s.drawn = lines.len();
        err!("{out}");
    }

    fn clear(&self) {
        self.draw();
    }
}

fn report_text(report: &crate::orchestrator::PlanRunReport) -> String {
    let mut text = format!(
        "Plan {} (version {}): {} of {} tasks completed, {} escalated, {} blocked, {} retried · ${:.4}, {} tokens · {:.0}s{}\n",
        report.plan_id,
        report.version,
        report.completed,
        report.tasks.len(),
        report.escalated,
        report.blocked,
        report.retried,
        report.cost_usd,
        report.tokens,
        report.elapsed_ms as f64 / 1000.0,
        if report.stopped {
            " — stopped: run it again to resume"
        } else {
            ""
        }
    );
    for task in &report.tasks {
        let mark = match task.status.as_str() {
            "COMPLETED" => "✓",
            "ESCALATED" | "FAILED" | "BLOCKED" | "CANCELLED" => "✗",
            _ => "·",
        };
        text.push_str(&format!(
            "  {mark} {:<8} {:<12} attempts {:<2} ${:<8.4} {:>6} tokens  {}\n",
            task.task,
            task.status,
            task.attempts,
            task.cost_usd,
            task.input_tokens + task.output_tokens,
            task.title
        ));
        if let Some(v) = task.verification.as_ref().filter(|v| !v.passed) {
            text.push_str(&format!(
                "      verification failed: {}\n",
                v.failed_checks.join("; ")
            ));
        }
        if let Some(error) = &task.error {
            text.push_str(&format!(
                "      {}\n",
                error.lines().next().unwrap_or_default()
            ));
        }
    }
    text
}
