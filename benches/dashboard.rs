//! What an open dashboard costs the orchestrator: the CPU time its server spends per second while
//! tabs follow a plan page (the plan, the overview and the approvals queue, on one stream per
//! tab) whose run has logged many events, for 1, 3 and 6 tabs — with nothing changing, and with
//! another process appending an event every 100 ms. Also the time to build the plan page's
//! snapshot once.
//!
//! Run with `cargo bench --bench dashboard` (a release build). Without `--bench` it runs a small
//! version quickly.

use std::time::{Duration, Instant};

use orchestrator::Orchestrator;
use orchestrator::domain::{Phase, PlanContent, PlanStatus, RunEventData, RunStatus, Task};
use orchestrator::store::{NewRun, Store};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// CPU time (user + system) this process has used.
fn cpu_time() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &raw mut usage) };
    let tv = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn content(tasks: usize) -> PlanContent {
    let tasks = (0..tasks)
        .map(|i| Task {
            key: format!("T{i}"),
            title: format!("task {i}"),
            description: String::new(),
            files: vec![format!("src/mod{i}.py")],
            reads: Vec::new(),
            depends_on: Vec::new(),
            verification: vec![],
            rules: Default::default(),
        })
        .collect();
    PlanContent {
        goal: "bench".into(),
        phases: vec![Phase {
            key: "p1".into(),
            name: "phase".into(),
            description: String::new(),
            overlap: false,
            tasks,
        }],
        ..PlanContent::default()
    }
}

/// Sends a GET for `path` and reads the answer until the server closes (a page's API call) or
/// the task is aborted (a tab's stream); returns the bytes read.
async fn tab(addr: std::net::SocketAddr, path: String) -> tokio::task::JoinHandle<usize> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0;
        while let Ok(n) = stream.read(&mut buf).await {
            if n == 0 {
                break;
            }
            total += n;
        }
        total
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let (events, window) = if quick {
        (2_000, Duration::from_secs(2))
    } else {
        (40_000, Duration::from_secs(10))
    };
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("project");
    std::fs::create_dir_all(&root).unwrap();
    let db = dir.path().join("data/orchestrator.db");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();

    // A plan of 20 tasks; the first has a run with `events` events, as a long agent session logs.
    let store = Store::open(&db).unwrap();
    let project = store.ensure_project(&root, "bench").unwrap();
    let plan = store
        .create_plan(project.id, None, "Bench", &content(20), "bench")
        .unwrap();
    store
        .set_plan_status(plan.id, PlanStatus::Approved)
        .unwrap();
    let run = store
        .create_run(&NewRun {
            plan_id: plan.id,
            task_key: "T0".into(),
            agent: "claude".into(),
        })
        .unwrap();
    for status in [RunStatus::Delegated, RunStatus::InProgress] {
        store.set_run_status(run.id, status, None).unwrap();
    }
    for i in 0..events {
        store
            .append_event(
                run.id,
                &RunEventData::ToolUse {
                    id: format!("toolu_{i}"),
                    name: "Bash".into(),
                    input: serde_json::json!({"command": format!("pytest -k case_{i}")}),
                },
            )
            .unwrap();
    }
    drop(store);

    let engine = Orchestrator::with_store(Store::open(&db).unwrap(), &root, "bench")
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = orchestrator::web::app(engine.clone(), None);
    tokio::spawn(async move { axum::serve(listener, app).await });

    let start = Instant::now();
    let rounds = if quick { 3 } else { 20 };
    for _ in 0..rounds {
        let client = tab(addr, format!("/api/plans/{}", plan.id)).await;
        client.await.unwrap();
    }
    println!(
        "plan page snapshot with a run of {events} events: {:.1} ms",
        start.elapsed().as_secs_f64() * 1000.0 / f64::from(rounds)
    );

    // Another process's store, appending to the run's log while tabs watch.
    let writer_store = std::sync::Arc::new(Store::open(&db).unwrap());
    for tabs in [1usize, 3, 6] {
        for busy in [false, true] {
            let mut clients = Vec::new();
            for _ in 0..tabs {
                clients.push(
                    tab(
                        addr,
                        format!("/api/stream?plan={}&overview=true&approvals=true", plan.id),
                    )
                    .await,
                );
            }
            // The first snapshots are sent; then the steady state is measured.
            tokio::time::sleep(Duration::from_millis(1500)).await;
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let writer = busy.then(|| {
                let (store, stop, run) = (writer_store.clone(), stop.clone(), run.id);
                std::thread::spawn(move || {
                    let mut i = 0;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        i += 1;
                        store
                            .append_event(
                                run,
                                &RunEventData::Output {
                                    text: format!("line {i}"),
                                },
                            )
                            .unwrap();
                        std::thread::sleep(Duration::from_millis(100));
                    }
                })
            });
            let (cpu, wall) = (cpu_time(), Instant::now());
            tokio::time::sleep(window).await;
            let spent = cpu_time() - cpu;
            let per_second = spent.as_secs_f64() * 1000.0 / wall.elapsed().as_secs_f64();
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            if let Some(writer) = writer {
                writer.join().unwrap();
            }
            for client in clients {
                client.abort();
            }
            println!(
                "{tabs} tab(s) on the plan page, {}: {per_second:.1} ms of CPU per second",
                if busy {
                    "an event every 100 ms"
                } else {
                    "nothing changing"
                }
            );
            // The server notices the closed streams before the next round.
            tokio::time::sleep(Duration::from_millis(1000)).await;
        }
    }
}
