//! The command line, run as a user would: the built binary in a project folder.

mod support;

use std::process::Output;

use serde_json::{Value, json};
use support::Project;

fn run(project: &Project, args: &[&str]) -> Output {
    project
        .command()
        .args(args)
        .output()
        .expect("run orchestrator")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn init_writes_a_commented_config_and_prints_the_claude_mcp_add_line() {
    let project = Project::new();
    let out = stdout(&run(&project, &["init"]));
    let config = std::fs::read_to_string(project.root.join("orchestrator.toml")).unwrap();
    assert!(
        config.contains("# ") && config.contains("max_parallel = 3"),
        "{config}"
    );
    let line = out
        .lines()
        .find(|l| l.contains("claude mcp add"))
        .expect("a claude mcp add line");
    assert!(line.contains(env!("CARGO_BIN_EXE_orchestrator")), "{line}");
    assert!(
        line.contains(&format!("serve --project {}", project.root.display())),
        "{line}"
    );

    let again = run(&project, &["init"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    assert!(run(&project, &["init", "--force"]).status.success());
}

#[test]
fn plan_commands_show_list_diff_and_roll_back() {
    let project = Project::new();
    let plan = project.seed_plan().to_string();

    let list = stdout(&run(&project, &["plan", "list"]));
    assert!(
        list.contains("Health endpoint") && list.contains("DRAFT"),
        "{list}"
    );
    let json: Value =
        serde_json::from_str(&stdout(&run(&project, &["plan", "list", "--json"]))).unwrap();
    assert_eq!(json[0]["current_version"], 2);

    let show = stdout(&run(&project, &["plan", "show", &plan]));
    assert!(
        show.contains("Goal: Add health and readiness endpoints"),
        "{show}"
    );
    assert!(show.contains("[PENDING] T3"), "{show}");
    assert!(show.contains("depends on: T2"), "{show}");
    let old = stdout(&run(&project, &["plan", "show", &plan, "--version", "1"]));
    assert!(
        old.contains("version 1 of 2") && old.contains("D1: use axum"),
        "{old}"
    );

    let diff = stdout(&run(&project, &["plan", "diff", &plan, "1", "2"]));
    assert!(diff.contains("+ task T3"), "{diff}");
    assert!(diff.contains("- decision D1"), "{diff}");
    assert!(
        diff.contains("~ task T2") && diff.contains("description"),
        "{diff}"
    );
    let same = stdout(&run(&project, &["plan", "diff", &plan, "2", "2"]));
    assert!(same.contains("No differences."), "{same}");

    let rolled: Value = serde_json::from_str(&stdout(&run(
        &project,
        &["plan", "rollback", &plan, "1", "--json"],
    )))
    .unwrap();
    assert_eq!(rolled["version"], 3);
    let show = stdout(&run(&project, &["plan", "show", &plan]));
    assert!(
        show.contains("Goal: Add a health endpoint") && show.contains("rollback to version 1"),
        "{show}"
    );
}

#[test]
fn failures_exit_1_and_usage_errors_exit_2() {
    let project = Project::new();
    project.seed_plan();
    let missing = run(&project, &["plan", "show", "77"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("plan 77 does not exist"));

    let bad_id = run(&project, &["plan", "show", "seven"]);
    assert_eq!(bad_id.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_id.stderr).contains("positive whole number"));
    assert_eq!(
        run(&project, &["plan", "frobnicate"]).status.code(),
        Some(2)
    );
    assert_eq!(run(&project, &["--help"]).status.code(), Some(0));
}

#[test]
fn a_malformed_config_is_reported_with_file_line_and_key() {
    let project = Project::new();
    std::fs::write(
        project.root.join("orchestrator.toml"),
        "[context]\n\ntoken_budget = \"big\"\n",
    )
    .unwrap();
    let output = run(&project, &["status"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let file = project.root.join("orchestrator.toml");
    assert!(
        stderr.contains(&format!("{}:3:", file.display())),
        "{stderr}"
    );
    assert!(stderr.contains("`context.token_budget`"), "{stderr}");
}

#[test]
fn status_reports_the_store_and_warns_about_exposed_secrets_without_showing_them() {
    use std::os::unix::fs::PermissionsExt;
    let project = Project::new();
    project.seed_plan();
    let secrets = project.root.join(".secrets.json");
    std::fs::write(
        &secrets,
        r#"{"keys": {"ANTHROPIC_API_KEY": "sk-ant-very-secret"}}"#,
    )
    .unwrap();
    std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o644)).unwrap();

    let output = run(&project, &["status"]);
    let text = stdout(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(text.contains("Plans:     1 DRAFT"), "{text}");
    assert!(text.contains("ANTHROPIC_API_KEY"), "{text}");
    assert!(stderr.contains("chmod 600"), "{stderr}");
    let json = stdout(&run(&project, &["status", "--json"]));
    let parsed: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        parsed["schema_version"],
        orchestrator::store::SCHEMA_VERSION
    );
    for shown in [&text, &json, &stderr.to_string()] {
        assert!(
            !shown.contains("sk-ant-very-secret"),
            "a secret value was printed: {shown}"
        );
    }
}

/// `orchestrator … | head -1`: the reader closes the pipe, and the command ends quietly with
/// exit code 0 instead of panicking on the first write.
#[test]
fn a_closed_stdout_ends_a_command_cleanly() {
    let project = Project::new();
    project.seed_plan();
    for args in [
        &["plan", "list"][..],
        &["plan", "list", "--json"],
        &["plan", "show", "1"],
        &["policy", "check", "--json", "--", "ls"],
        &["init"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = project
            .command()
            .args(args)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}

/// Two projects share the default data directory: neither sees nor touches the other's plans,
/// runs or waiting requests by id — from the CLI and over MCP alike.
#[test]
fn projects_sharing_a_store_cannot_reach_each_others_runs_or_approvals() {
    use orchestrator::domain::{PlanStatus, RunStatus, Timestamp};
    use orchestrator::store::{NewApproval, NewRun};
    let a = Project::new();
    let plan = a.seed_plan();
    let store = a.store();
    store.set_plan_status(plan, PlanStatus::Approved).unwrap();
    let a_run = store
        .create_run(&NewRun {
            plan_id: plan,
            task_key: "T1".into(),
            agent: "claude".into(),
        })
        .unwrap();
    store
        .set_run_status(a_run.id, RunStatus::Delegated, None)
        .unwrap();
    store
        .create_approval(&NewApproval {
            run_id: a_run.id,
            tool_name: "Bash".into(),
            input: json!({"command": "curl https://example.org"}),
            reason: "curl reaches the network".into(),
            grants: vec![],
            expires_at: Timestamp::now().plus(std::time::Duration::from_secs(3600)),
        })
        .unwrap();

    // Project b: its own folder, the same data directory.
    let b_root = a.dir.path().join("b");
    std::fs::create_dir(&b_root).unwrap();
    let b = |args: &[&str]| {
        let cmd = a.command();
        let position = cmd.get_args().position(|x| x == "--project").unwrap();
        let mut args_before: Vec<std::ffi::OsString> =
            cmd.get_args().map(ToOwned::to_owned).collect();
        args_before[position + 1] = b_root.clone().into_os_string();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_orchestrator"));
        cmd.args(args_before).args(args);
        for (var, _) in orchestrator::config::ENV_VARS {
            cmd.env_remove(var);
        }
        cmd.output().unwrap()
    };
    for args in [
        &["runs", "show", "1"][..],
        &["runs", "events", "1"],
        &["runs", "cancel", "1"],
        &["approve", "1"],
        &["deny", "1", "--reason", "no"],
        &["plan", "show", "1"],
        &["plan", "rollback", "1", "1"],
        &["run-task", "1", "T1"],
    ] {
        let out = b(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("does not exist") || err.contains("not found"),
            "{args:?}: {err}"
        );
    }
    let listed = b(&["approvals", "--all", "--json"]);
    assert_eq!(
        serde_json::from_slice::<Value>(&listed.stdout).unwrap(),
        json!([])
    );
    // Project a's run and request are as they were, and a still sees them.
    assert_eq!(store.run(a_run.id).unwrap().status, RunStatus::Delegated);
    let mine = stdout(&run(&a, &["approvals", "--json"]));
    let mine: Value = serde_json::from_str(&mine).unwrap();
    assert_eq!(mine[0]["status"], "PENDING");
    assert!(run(&a, &["runs", "show", "1"]).status.success());
}
