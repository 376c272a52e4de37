//! An independent client — the official Python `mcp` SDK, pinned in tests/python/requirements.txt —
//! talks to the built server over stdio and over HTTP.

mod support;

use std::process::Command;

use serde_json::{Value, json};
use support::{HttpServer, Project, tool};

fn run_client<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Value {
    run_script("mcp_client.py", args)
}

/// The command line that serves `project` over stdio, for a client that launches the server.
fn stdio_server(project: &Project) -> Vec<String> {
    let (root, data) = (
        project.root.to_str().unwrap(),
        project.data_dir.to_str().unwrap(),
    );
    [
        env!("CARGO_BIN_EXE_orchestrator"),
        "--project",
        root,
        "--data-dir",
        data,
        "serve",
    ]
    .map(String::from)
    .to_vec()
}

fn run_script<S: AsRef<std::ffi::OsStr>>(name: &str, args: &[S]) -> Value {
    let script = format!("{}/tests/python/{name}", env!("CARGO_MANIFEST_DIR"));
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
            "approvals",
            "context_preview",
            "kb_search",
            "plan_answer",
            "plan_approve",
            "plan_decide",
            "plan_get",
            "plan_start",
            "plan_submit",
            "run_control",
            "run_start",
            "run_status",
            "skills",
            "verify"
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
    let seen = run_client(&[vec!["stdio".to_string()], stdio_server(&project)].concat());
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

/// What a client with forms saw in a planning interview, in either protocol era.
fn check_elicited(seen: &Value, protocol: &str) {
    assert_eq!(seen["protocol_version"], protocol, "{seen}");
    assert_eq!(seen["offered"], true, "plan_start offers the forms: {seen}");
    assert_eq!(seen["is_error"], false, "{seen}");
    assert_eq!(
        seen["status"], "DESIGNING",
        "the forms finished the interview: {seen}"
    );
    assert_eq!(seen["unanswered"], json!([]), "{seen}");
    assert_eq!(seen["users"], "People, through a command line", "{seen}");
    assert_eq!(
        seen["features"], "Add a note; List notes; Delete a note",
        "{seen}"
    );
    let forms: Vec<&str> = seen["forms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(
        forms
            .iter()
            .any(|f| f.starts_with("If it could do only one thing")),
        "the vague answer got a follow-up form: {forms:?}"
    );
    if protocol == "2026-07-28" {
        assert_eq!(
            seen["tests"], "pytest",
            "the pre-filled default was offered: {seen}"
        );
    }
    assert_eq!(seen["declined_status"], "GATHERING_REQUIREMENTS", "{seen}");
    assert_eq!(seen["declined_recorded"], 0, "{seen}");
    assert!(
        seen["declined_next_step"]
            .as_str()
            .unwrap()
            .contains("closed a form"),
        "{seen}"
    );
}

#[test]
fn python_sdk_answers_planning_questions_through_forms_in_both_protocol_eras() {
    // 2026-07-28 over stdio: the tool answers input_required and the SDK calls again. The
    // Python fixture makes some forms carry a pre-filled default.
    let project = Project::new();
    support::write_files(&project.root, support::PYTHON_PROJECT);
    let args = [
        vec!["auto".to_string(), "stdio".to_string()],
        stdio_server(&project),
    ]
    .concat();
    let seen = run_script("plan_elicit.py", &args);
    check_elicited(&seen, "2026-07-28");

    // The initialize handshake over HTTP: the server sends elicitation/create requests.
    let project = Project::new();
    let server = HttpServer::spawn(project.command());
    let seen = run_script("plan_elicit.py", &["legacy", "http", &server.url]);
    check_elicited(&seen, "2025-11-25");
}

#[test]
fn python_sdk_listens_to_a_plan_and_hears_it_change() {
    let project = Project::new();
    let plan = project.seed_plan().0;
    let seen = run_script(
        "plan_listen.py",
        &[vec![plan.to_string()], stdio_server(&project)].concat(),
    );
    assert_eq!(seen["protocol_version"], "2026-07-28", "{seen}");
    // Only what the server serves is honoured.
    let uri = format!("orchestrator://plans/{plan}");
    assert_eq!(seen["honored"], json!([uri]), "{seen}");
    assert_eq!(seen["decided_is_error"], false, "{seen}");
    assert_eq!(seen["event"], "ResourceUpdated", "{seen}");
    assert_eq!(seen["event_uri"], uri, "{seen}");
}
