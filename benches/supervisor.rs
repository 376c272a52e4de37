//! The supervisor's own cost: how many agent events per second it ingests (each parsed, appended
//! to the run's log in SQLite and acted on), and how much memory the orchestrator needs per
//! supervised agent. The agent is a shell script through the `command` adapter, so what is
//! measured is the orchestrator, not a model.
//!
//! Run with `cargo bench --bench supervisor`.

use std::time::{Duration, Instant};

use orchestrator::Orchestrator;
use orchestrator::config::{AgentKind, Overrides, Settings};
use orchestrator::domain::{Phase, PlanContent, PlanStatus, Task};
use tokio_util::sync::CancellationToken;

const EVENTS: usize = 20_000;
const AGENTS: usize = 10;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

async fn open_engine(dir: &std::path::Path, script: &str, parallel: u32) -> Orchestrator {
    let root = dir.join("project");
    std::fs::create_dir_all(&root).unwrap();
    let mut settings = Settings::load(
        &root,
        &|_| None,
        &Overrides {
            data_dir: Some(dir.join("data")),
            ..Overrides::default()
        },
    )
    .unwrap();
    settings.config.agent.command = "sh".into();
    settings.config.agent.kind = Some(AgentKind::Command);
    settings.config.agent.args = vec!["-c".into(), script.into()];
    settings.config.delegator.max_parallel = parallel;
    settings.config.verifier.checks = vec!["ok".into()];
    settings.config.verifier.check.insert(
        "ok".into(),
        orchestrator::config::CheckConfig {
            command: vec!["true".into()],
            ..Default::default()
        },
    );
    Orchestrator::open(settings).await.unwrap()
}

/// An approved plan of `tasks` independent tasks, `T1`…, each on files of its own (a task runs
/// once at a time, and runs of one plan must not wait for each other's locks).
async fn approved_plan(engine: &Orchestrator, tasks: usize) -> orchestrator::domain::PlanId {
    let tasks = (1..=tasks)
        .map(|n| Task {
            reads: Vec::new(),
            key: format!("T{n}"),
            title: "bench".into(),
            description: "bench".into(),
            files: vec![format!("out/{n}/**")],
            depends_on: vec![],
            verification: vec!["true".into()],
            rules: Default::default(),
        })
        .collect();
    let content = PlanContent {
        goal: "bench".into(),
        phases: vec![Phase {
            overlap: false,
            key: "p".into(),
            name: "p".into(),
            description: String::new(),
            tasks,
        }],
        ..Default::default()
    };
    let plan = engine.create_plan("bench", content).await.unwrap();
    engine
        .set_plan_status(plan.id, PlanStatus::Approved)
        .await
        .unwrap();
    plan.id
}

#[tokio::main]
async fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let events = if quick { 500 } else { EVENTS };
    let agents = if quick { 2 } else { AGENTS };

    let dir = tempfile::tempdir().unwrap();
    let engine = open_engine(dir.path(), &format!("seq 1 {events}"), 1).await;
    let plan = approved_plan(&engine, 1).await;
    let run = engine.create_task_run(plan, "T1").await.unwrap();
    let start = Instant::now();
    let done = engine
        .supervise_run(run.id, CancellationToken::new(), &|_| {})
        .await
        .unwrap();
    let took = start.elapsed();
    assert_eq!(done.status, orchestrator::domain::RunStatus::Completed);
    println!(
        "supervisor ingest: {events} agent events in {took:.2?} = {:.0} events/s ({:.1} µs per event, each logged in SQLite)",
        events as f64 / took.as_secs_f64(),
        took.as_micros() as f64 / events as f64
    );

    let dir = tempfile::tempdir().unwrap();
    let engine = open_engine(
        dir.path(),
        "echo started; sleep 3",
        u32::try_from(agents).unwrap(),
    )
    .await;
    let plan = approved_plan(&engine, agents).await;
    let before = rss_kib();
    let mut runs = Vec::new();
    for n in 1..=agents {
        let run = engine
            .create_task_run(plan, &format!("T{n}"))
            .await
            .unwrap();
        runs.push(run.id);
        engine.spawn_run(run.id, engine.stop_token());
    }
    let mut peak = before;
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        peak = peak.max(rss_kib());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "memory: {agents} supervised agents add {} KiB to the orchestrator ({} KiB per agent; the agents' own processes not counted)",
        peak.saturating_sub(before),
        peak.saturating_sub(before) / agents as u64
    );
    engine.shutdown().await;
}
