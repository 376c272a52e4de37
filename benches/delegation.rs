//! Scheduling and locking at scale: a plan of 1,000 tasks over overlapping file sets.
//!
//! Reports: the glob-overlap decision (µs per pair), lock throughput in the store (all-or-none
//! acquisitions and releases per second, with the conflicts found), and the scheduler's overhead
//! per task — a whole plan driven to the end with everything but the agents: states and the
//! ready set computed from the store each round, a run created, its locks taken, its status
//! walked to COMPLETED, its locks released.
//!
//! Run with `cargo bench --bench delegation` (a release build). Without `--bench` it runs a
//! small version quickly.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use orchestrator::delegator::glob::overlap;
use orchestrator::delegator::locks::{lease_conflicts, task_locks};
use orchestrator::delegator::schedule;
use orchestrator::domain::{LockMode, Phase, PlanContent, PlanStatus, RunStatus, Task, Timestamp};
use orchestrator::store::{NewLease, NewRun, Store};

/// A small deterministic generator.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// `n` tasks in 4 phases; each touches 1–3 entries from a pool of files, folders and globs (so
/// many overlap), and depends on up to 2 earlier tasks of its phase.
fn plan(n: usize, rng: &mut Rng) -> PlanContent {
    let pool: Vec<String> = (0..60)
        .flat_map(|m| {
            [
                format!("src/mod{m}/lib.rs"),
                format!("src/mod{m}/**"),
                format!("tests/test_{m}.py"),
                format!("docs/{m}/*.md"),
            ]
        })
        .chain(["src/**/*.rs".to_owned(), "**/*.md".to_owned()])
        .collect();
    let per_phase = n.div_ceil(4);
    let mut phases = Vec::new();
    let mut made = 0;
    for p in 0..4 {
        let mut tasks = Vec::new();
        for i in 0..per_phase.min(n - made) {
            let key = format!("T{}", made + i);
            let mut files: Vec<String> = (0..=rng.below(3))
                .map(|_| pool[rng.below(pool.len() as u64 - 2) as usize].clone())
                .collect();
            if rng.below(200) == 0 {
                files.push(pool[pool.len() - 1 - rng.below(2) as usize].clone());
            }
            files.dedup();
            let depends_on = (0..rng.below(3))
                .filter(|_| i > 0)
                .map(|_| format!("T{}", made + rng.below(i as u64) as usize))
                .collect::<Vec<_>>();
            tasks.push(Task {
                reads: Vec::new(),
                key,
                title: format!("task {i}"),
                description: String::new(),
                files,
                depends_on,
                verification: vec![],
                rules: Default::default(),
            });
        }
        made += tasks.len();
        phases.push(Phase {
            overlap: false,
            key: format!("p{p}"),
            name: format!("phase {p}"),
            description: String::new(),
            tasks,
        });
    }
    PlanContent {
        goal: "bench".into(),
        phases,
        ..PlanContent::default()
    }
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let n = if quick { 100 } else { 1_000 };
    let mut rng = Rng(11);
    let content = plan(n, &mut rng);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("project");
    std::fs::create_dir_all(&root).unwrap();
    let root = root.canonicalize().unwrap();

    // The overlap decision alone.
    let patterns: Vec<String> = content.tasks().flat_map(|t| t.files.clone()).collect();
    let start = Instant::now();
    let mut pairs = 0u64;
    let mut overlapping = 0u64;
    for (i, a) in patterns.iter().enumerate().take(400) {
        for b in patterns.iter().skip(i + 1).take(400) {
            pairs += 1;
            overlapping += u64::from(overlap(a, b).is_some());
        }
    }
    let per_pair = start.elapsed().as_secs_f64() * 1e6 / pairs as f64;
    println!("glob overlap: {pairs} pairs ({overlapping} overlapping), {per_pair:.2} µs per pair");

    let store = Store::open(&dir.path().join("data/orchestrator.db")).unwrap();
    let project = store.ensure_project(&root, "bench").unwrap();
    let plan = store
        .create_plan(project.id, None, "Bench", &content, "bench")
        .unwrap();
    store
        .set_plan_status(plan.id, PlanStatus::Approved)
        .unwrap();

    // Lock throughput: every task's locks taken (all or none) against what is held, released in
    // turn, with at most 3 held at once as in a plan run.
    let leases: Vec<Vec<(String, LockMode)>> = content
        .tasks()
        .map(|t| task_locks(&root, t).unwrap())
        .collect();
    let until = Timestamp::now().plus(Duration::from_secs(3600));
    let start = Instant::now();
    let (mut acquired, mut refused, mut released) = (0u64, 0u64, 0u64);
    let mut held: Vec<orchestrator::domain::RunId> = Vec::new();
    let runs: Vec<orchestrator::domain::RunId> = content
        .tasks()
        .map(|t| {
            store
                .create_run(&NewRun {
                    plan_id: plan.id,
                    task_key: t.key.clone(),
                    agent: "bench".into(),
                })
                .unwrap()
                .id
        })
        .collect();
    let setup = start.elapsed();
    let start = Instant::now();
    for (i, locks) in leases.iter().enumerate() {
        if held.len() == 3 {
            released += store.release_run_leases(held.remove(0), "bench").unwrap() as u64;
        }
        let new: Vec<NewLease> = locks
            .iter()
            .map(|(p, m)| NewLease {
                project_id: project.id,
                pattern: p.clone(),
                mode: *m,
                owner: "bench".into(),
                run_id: Some(runs[i]),
                expires_at: until,
            })
            .collect();
        match store.acquire_leases(&new, lease_conflicts).unwrap() {
            Ok(_) => {
                acquired += 1;
                held.push(runs[i]);
            }
            Err(_) => refused += 1,
        }
    }
    for run in held.drain(..) {
        released += store.release_run_leases(run, "bench").unwrap() as u64;
    }
    let took = start.elapsed().as_secs_f64();
    println!(
        "locks: {} acquisitions tried ({acquired} taken, {refused} refused by a conflict), {released} leases released in {took:.2} s — {:.0} acquire/release operations per second",
        leases.len(),
        (leases.len() as u64 + released) as f64 / took
    );
    for run in &runs {
        store
            .set_run_status(*run, RunStatus::Cancelled, None)
            .unwrap();
    }
    let _ = setup;

    // The scheduler's own work per task, over the whole plan.
    let plan2 = store
        .create_plan(project.id, None, "Bench 2", &content, "bench")
        .unwrap();
    store
        .set_plan_status(plan2.id, PlanStatus::Approved)
        .unwrap();
    let start = Instant::now();
    let mut rounds = 0;
    let mut done = 0;
    let mut waiting: Vec<(orchestrator::domain::RunId, Task)> = Vec::new();
    loop {
        rounds += 1;
        let version = store.plan_version(plan2.id, None).unwrap();
        let latest: HashMap<String, RunStatus> = store
            .runs_for_plan(plan2.id)
            .unwrap()
            .into_iter()
            .map(|r| (r.task_key, r.status))
            .collect();
        let states = schedule::states(&version.content, &latest);
        if waiting.is_empty() && schedule::finished(&version.content, &states) {
            break;
        }
        // Runs waiting for locks go first, then new ones, up to 3 at once.
        let mut candidates: Vec<(orchestrator::domain::RunId, Task)> = std::mem::take(&mut waiting);
        for task in schedule::ready(&version.content, &states) {
            if candidates.len() >= 3 {
                break;
            }
            let run = store
                .create_run(&NewRun {
                    plan_id: plan2.id,
                    task_key: task.key.clone(),
                    agent: "bench".into(),
                })
                .unwrap();
            candidates.push((run.id, task.clone()));
        }
        let mut started = Vec::new();
        for (run, task) in candidates {
            let new: Vec<NewLease> = task_locks(&root, &task)
                .unwrap()
                .into_iter()
                .map(|(p, m)| NewLease {
                    project_id: project.id,
                    pattern: p,
                    mode: m,
                    owner: "bench".into(),
                    run_id: Some(run),
                    expires_at: until,
                })
                .collect();
            if store.acquire_leases(&new, lease_conflicts).unwrap().is_ok() {
                started.push(run);
            } else {
                waiting.push((run, task));
            }
        }
        // The agents' work would happen here; each run walks to COMPLETED and lets go.
        for run in started {
            for status in [
                RunStatus::Delegated,
                RunStatus::InProgress,
                RunStatus::Verifying,
                RunStatus::Completed,
            ] {
                store.set_run_status(run, status, None).unwrap();
            }
            store.release_run_leases(run, "bench").unwrap();
            done += 1;
        }
        assert!(rounds < n * 10, "the schedule does not progress");
    }
    let took = start.elapsed();
    println!(
        "scheduler: {done} of {n} tasks through {rounds} rounds in {:.2} s — {:.2} ms overhead per task (store reads, states, ready set, run creation, locks, status walk)",
        took.as_secs_f64(),
        took.as_secs_f64() * 1000.0 / done.max(1) as f64
    );
}
