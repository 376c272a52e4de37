//! MCP server latency, measured against the built binary over a real stdio pipe:
//! - cold start: spawn `orchestrator serve` → the first `initialize` response;
//! - `tools/call` of `plan_get` for one plan, on a warm server.
//!
//! Run with `cargo bench --bench mcp_latency` (a release build); prints min, median, p95, max.

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::{Project, StdioPeer};

const COLD_STARTS: usize = 30;
const CALLS: usize = 500;

fn summary(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let pick = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    println!(
        "{name:<32} n={:<4} min {:>9.3?}  median {:>9.3?}  p95 {:>9.3?}  max {:>9.3?}",
        samples.len(),
        samples[0],
        pick(0.5),
        pick(0.95),
        samples[samples.len() - 1]
    );
}

fn main() {
    // `cargo bench` passes `--bench`; with `cargo test --benches` it is absent, so run once quickly.
    let quick = !std::env::args().any(|a| a == "--bench");
    let (cold_starts, calls) = if quick { (2, 10) } else { (COLD_STARTS, CALLS) };

    let project = Project::new();
    let plan = project.seed_plan().0;

    let mut cold = Vec::with_capacity(cold_starts);
    for _ in 0..cold_starts {
        let mut cmd = project.command();
        cmd.arg("serve");
        let started = Instant::now();
        let mut peer = StdioPeer::spawn(cmd);
        let reply = peer.initialize();
        cold.push(started.elapsed());
        assert_eq!(reply["result"]["serverInfo"]["name"], "orchestrator");
        assert!(peer.finish().success());
    }
    summary("cold start → initialize", cold);

    let mut cmd = project.command();
    cmd.arg("serve");
    let mut peer = StdioPeer::spawn(cmd);
    peer.initialize();
    let mut latencies = Vec::with_capacity(calls);
    for id in 0..calls as u64 {
        let started = Instant::now();
        let reply = peer.request(
            id + 1,
            "tools/call",
            json!({"name": "plan_get", "arguments": {"plan_id": plan}}),
        );
        latencies.push(started.elapsed());
        assert_eq!(reply["result"]["isError"], false, "{reply}");
    }
    summary("tools/call plan_get (one plan)", latencies);
    assert!(peer.finish().success());
}
