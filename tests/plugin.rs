//! The Claude Code plugin in `plugin/`: validated by the pinned Claude Code CLI, and loaded by it
//! with `--plugin-dir` to plan a goal through the orchestrator's MCP server (the fake API plays
//! the model).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use support::Project;
use support::fake_api::{FakeApi, Step};

fn plugin_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("plugin")
}

fn claude() -> PathBuf {
    support::tool("npm/node_modules/.bin/claude")
}

#[test]
fn claude_code_validates_the_plugin_with_no_problem() {
    let out = Command::new(claude())
        .args(["plugin", "validate", "--strict", "--json"])
        .arg(plugin_dir())
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(out.status.success(), "{report:#}");
    assert_eq!(report["success"], true, "{report:#}");
    let manifest = &report["manifest"];
    for list in ["errors", "warnings", "notes"] {
        assert_eq!(manifest[list], json!([]), "{list}: {report:#}");
    }
    let provides = &report["provides"];
    assert_eq!(provides["mcpServers"][0]["name"], "orchestrator");
    assert_eq!(provides["mcpServers"][0]["args"], json!(["serve"]));
    assert_eq!(provides["hooks"][0]["event"], "PreToolUse");
    assert_eq!(
        provides["hooks"][0]["command"],
        "orchestrator hook pre-tool-use"
    );
    let commands: Vec<&str> = provides["commands"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for command in [
        "orchestrator:plan",
        "orchestrator:run",
        "orchestrator:review",
    ] {
        assert!(commands.contains(&command), "{commands:?}");
    }
    assert_eq!(provides["skills"], json!(["orchestrator:orchestrator"]));
}

/// Claude Code with the plugin loaded, in `project`, against `api`; the orchestrator binary on
/// its `PATH` (the plugin starts `orchestrator serve` and its hook runs `orchestrator hook …`).
fn claude_with_plugin(project: &Project, api: &FakeApi, prompt: &str) -> std::process::Output {
    let home = project.dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_orchestrator"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut cmd = Command::new(claude());
    cmd.current_dir(&project.root)
        .args(["-p", prompt, "--output-format", "json", "--max-turns", "8"])
        .arg("--plugin-dir")
        .arg(plugin_dir())
        .env("PATH", path)
        .env("ANTHROPIC_API_KEY", "sk-fake")
        .env("ORCHESTRATOR_DATA_DIR", &project.data_dir)
        .env_remove("CLAUDECODE");
    for (k, v) in api.env(&home) {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

#[test]
fn a_planning_session_runs_through_the_plugin_in_claude_code() {
    let project = Project::new();
    let tool = |name: &str| format!("mcp__plugin_orchestrator_orchestrator__{name}");
    let api = FakeApi::start(vec![
        Step::Tool {
            name: tool("plan_start"),
            input: json!({"goal": "A URL shortener"}),
        },
        Step::Tool {
            name: tool("plan_answer"),
            input: json!({"session_id": 1, "answers": [{"question_id": 1, "answer": "Developers, from a command line"}]}),
        },
        Step::text("Here are the next questions."),
    ]);
    let out = claude_with_plugin(&project, &api, "/orchestrator:plan A URL shortener");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let result: Value = serde_json::from_str(stdout.trim()).unwrap();
    // The plugin's hook let the orchestrator's own planning tools through without a prompt.
    assert_eq!(result["permission_denials"], json!([]), "{result:#}");

    // The plugin's command became the model's instructions, and its server was given.
    let first = api.requests()[0].to_string();
    assert!(
        first.contains("Call plan_start with that goal"),
        "the /orchestrator:plan command"
    );
    assert!(
        first.contains(&tool("plan_start")),
        "the plugin's MCP server"
    );
    // The model's calls reached the orchestrator: a session for the goal, the answer recorded,
    // and the questions came back to the model.
    let session = Command::new(env!("CARGO_BIN_EXE_orchestrator"))
        .arg("--project")
        .arg(&project.root)
        .arg("--data-dir")
        .arg(&project.data_dir)
        .args(["plan", "session", "1", "--json"])
        .output()
        .unwrap();
    let session: Value = serde_json::from_slice(&session.stdout).unwrap();
    assert_eq!(session["session"]["goal"], "A URL shortener", "{session:#}");
    let users = session["topics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["question_id"] == 1)
        .unwrap();
    assert_eq!(
        users["answer"], "Developers, from a command line",
        "{users:#}"
    );
    let last = api.requests().last().unwrap().to_string();
    assert!(
        last.contains("next_questions") && !last.contains(r#""is_error":true"#),
        "the tools' results reached the model"
    );
}

#[test]
fn the_plugins_hook_answers_a_persons_own_session_with_the_policy() {
    let project = Project::new();
    std::fs::write(project.root.join("hello.txt"), "hi\n").unwrap();
    std::fs::write(
        project.root.join(".env"),
        "API_KEY=sk-live-0123456789abcdef\n",
    )
    .unwrap();
    let env_file = project.root.join(".env").to_string_lossy().into_owned();
    let api = FakeApi::start(vec![
        Step::Tool {
            name: "Bash".into(),
            input: json!({"command": "rm -rf /", "description": "Clean up"}),
        },
        Step::Tool {
            name: "Bash".into(),
            input: json!({"command": "ls", "description": "List the files"}),
        },
        Step::Tool {
            name: "Read".into(),
            input: json!({"file_path": env_file}),
        },
        Step::text("Done."),
    ]);
    let out = claude_with_plugin(&project, &api, "Tidy the project up.");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let requests = api.requests();
    let results = |i: usize| {
        requests[i]["messages"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .to_string()
    };
    // The dangerous command was refused, with the policy's reason.
    let refused = results(1);
    assert!(
        refused.contains("is_error") && refused.contains("destroy"),
        "{refused}"
    );
    // The safe one ran without a prompt (in `-p` nothing may ask: only the hook's allow lets it).
    let listed = results(2);
    assert!(listed.contains("hello.txt"), "{listed}");
    // The secret file was not read: its value never reached the model.
    let secret = results(3);
    assert!(secret.contains("is_error"), "{secret}");
    for request in &requests {
        assert!(
            !request.to_string().contains("sk-live-0123456789abcdef"),
            "the secret reached the model"
        );
    }
}
