//! MCP server cost, measured against the built binary over a real stdio pipe:
//! - what `tools/list` costs a client's context: its bytes, for the `core` and `all` profiles;
//! - cold start: spawn `orchestrator serve` → the `initialize` response, then → `tools/list`
//!   and → a first `plan_get` sent right after (what opens after the handshake);
//! - each core tool's first call in a fresh server against its second call (a model's first
//!   call comes after a turn of thinking: 300 ms after `initialize` here);
//! - `tools/call` of `plan_get` for one plan, on a warm server;
//! - `orchestrator hook pre-tool-use`, which the plugin's hook runs before each tool call of a
//!   person's Claude Code session: spawn → answer.
//!
//! Run with `cargo bench --bench mcp_latency` (a release build); prints min, median, p95, max.

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::Write as _;
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

    for profile in ["core", "all"] {
        let mut cmd = project.command();
        cmd.args(["serve", "--tools", profile]);
        let mut peer = StdioPeer::spawn(cmd);
        peer.initialize();
        let reply = peer.request(1, "tools/list", json!({}));
        let tools = &reply["result"]["tools"];
        println!(
            "tools/list, {profile:<4} profile: {} tools, {} bytes",
            tools.as_array().map_or(0, Vec::len),
            serde_json::to_string(tools).unwrap().len()
        );
        assert!(peer.finish().success());
    }

    let (mut cold, mut listed, mut planned) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..cold_starts {
        let mut cmd = project.command();
        cmd.arg("serve");
        let started = Instant::now();
        let mut peer = StdioPeer::spawn(cmd);
        let reply = peer.initialize();
        cold.push(started.elapsed());
        assert_eq!(reply["result"]["serverInfo"]["name"], "orchestrator");
        // What a client asks next, without a pause: the tools, then a call that needs the store.
        let tools = peer.request(1, "tools/list", json!({}));
        listed.push(started.elapsed());
        assert!(tools["result"]["tools"].is_array(), "{tools}");
        let plans = peer.request(
            2,
            "tools/call",
            json!({"name": "plan_get", "arguments": {}}),
        );
        planned.push(started.elapsed());
        assert_eq!(plans["result"]["isError"], false, "{plans}");
        assert!(peer.finish().success());
    }
    summary("cold start → initialize", cold);
    summary("cold start → tools/list", listed);
    summary("cold start → first plan_get", planned);

    // Each tool's first call in a fresh server, then the same call again.
    let calls_of: Vec<(&str, serde_json::Value)> = vec![
        ("plan_get", json!({"plan_id": plan})),
        (
            "plan_start",
            json!({"goal": "A command that greets people"}),
        ),
        (
            "plan_answer",
            json!({"session_id": 1, "answers": [{"question_id": 1, "answer": "developers"}]}),
        ),
        ("plan_submit", json!({"session_id": 1})),
        (
            "plan_decide",
            json!({"plan_id": plan, "what": "Use SQLite", "why": "one file"}),
        ),
        ("run_status", json!({"wait_seconds": 0})),
        ("approvals", json!({})),
        ("verify", json!({"job_id": 424242})),
        ("context_preview", json!({"plan_id": plan, "task": "T1"})),
        ("kb_search", json!({"query": "health endpoint"})),
        ("skills", json!({})),
    ];
    let rounds = if quick { 1 } else { 5 };
    for (tool, arguments) in &calls_of {
        let (mut first, mut second) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            let mut cmd = project.command();
            cmd.arg("serve");
            let mut peer = StdioPeer::spawn(cmd);
            peer.initialize();
            std::thread::sleep(Duration::from_millis(300));
            for (id, out) in [(1u64, &mut first), (2, &mut second)] {
                let started = Instant::now();
                let reply = peer.request(
                    id,
                    "tools/call",
                    json!({"name": tool, "arguments": arguments}),
                );
                out.push(started.elapsed());
                assert!(reply.get("result").is_some(), "{tool}: {reply}");
            }
            assert!(peer.finish().success());
        }
        first.sort();
        second.sort();
        println!(
            "{tool:<16} first call {:>9.3?}   second call {:>9.3?}   (medians of {rounds})",
            first[first.len() / 2],
            second[second.len() / 2]
        );
    }

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

    let call = json!({
        "session_id": "bench",
        "cwd": project.root,
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": "ls src"},
    })
    .to_string();
    let mut hooks = Vec::with_capacity(cold_starts);
    for _ in 0..cold_starts {
        let started = Instant::now();
        let mut child = project
            .command()
            .args(["hook", "pre-tool-use"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("spawn the hook");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(call.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        hooks.push(started.elapsed());
        let answer = String::from_utf8_lossy(&output.stdout);
        assert!(
            answer.contains("\"permissionDecision\":\"allow\""),
            "{answer}"
        );
    }
    summary("hook pre-tool-use (ls src)", hooks);
}
