//! An independent client — the official Python `mcp` SDK, pinned in tests/python/requirements.txt —
//! talks to the built server over stdio and over HTTP.

mod support;

use std::process::Command;

use serde_json::{Value, json};
use support::{HttpServer, Project, tool};

fn run_client(args: &[&str]) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/mcp_client.py");
    let output = Command::new(tool("venv/bin/python"))
        .arg(script)
        .args(args)
        .output()
        .expect("run the Python MCP client");
    assert!(
        output.status.success(),
        "the Python client failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last)
        .unwrap_or_else(|e| panic!("client output is not JSON ({e}): {stdout}"))
}

fn check(seen: &Value, plan: i64) {
    assert_eq!(seen["server_name"], "orchestrator", "{seen}");
    assert_eq!(
        seen["tools"],
        json!([
            "plan_answer",
            "plan_approve",
            "plan_decide",
            "plan_get",
            "plan_session",
            "plan_start",
            "plan_submit"
        ]),
        "{seen}"
    );
    assert_eq!(seen["plan_ids"], json!([plan]), "{seen}");
    assert_eq!(seen["goal_v1"], "Add a health endpoint", "{seen}");
    assert_eq!(seen["bad_call_is_error"], true, "{seen}");
    assert!(
        seen["bad_call_text"].as_str().unwrap().contains("expected"),
        "{seen}"
    );
}

#[test]
fn python_sdk_client_works_over_stdio() {
    let project = Project::new();
    let plan = project.seed_plan().0;
    let binary = env!("CARGO_BIN_EXE_orchestrator");
    let (root, data) = (
        project.root.to_str().unwrap(),
        project.data_dir.to_str().unwrap(),
    );
    let seen = run_client(&[
        "stdio",
        binary,
        "--project",
        root,
        "--data-dir",
        data,
        "serve",
    ]);
    check(&seen, plan);
}

#[test]
fn python_sdk_client_works_over_http() {
    let project = Project::new();
    let plan = project.seed_plan().0;
    let server = HttpServer::spawn(project.command());
    let seen = run_client(&["http", &server.url]);
    check(&seen, plan);
}
