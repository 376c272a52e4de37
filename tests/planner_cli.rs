//! The planning interview in the terminal: `plan new`, Ctrl-C, `plan resume`, `--answers`, the
//! review prompt, and the agent as draft source — the built binary, driven through stdin.

mod support;

use std::io::{Read, Write};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc::channel;

use serde_json::{Value, json};
use support::{PYTHON_PROJECT, Project, REPLY_TIMEOUT, RUST_PROJECT};

fn run_with_stdin(mut cmd: Command, input: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn orchestrator");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn json_of(project: &Project, args: &[&str]) -> Value {
    let output = project.command().args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn an_interactive_interview_on_a_rust_project_ends_in_an_approved_plan() {
    let project = Project::new();
    support::write_files(&project.root, RUST_PROJECT);
    let answers = [
        "2",                                            // users: a suggestion by number
        "maybe",                                        // features: vague …
        "Count words in a file; Count lines in a file", // … so the follow-up asks again
        "1",
        "none",
        "1",
        "", // stack: Enter keeps the pre-filled Rust
        "none",
        "none",
        "", // shape: keep src/
        "1",
        "none",
        "", // tests: keep cargo test
        "", // checks: keep clippy and fmt
        "`tally words FILE` prints the number of words",
        "d", // review: add a decision
        "Read files whole",
        "Inputs are small",
        "Streaming: more code than the inputs need",
        "a", // approve
    ];
    let mut cmd = project.command();
    cmd.args([
        "plan",
        "new",
        "A word and line counter",
        "--draft",
        "skeleton",
    ]);
    let output = run_with_stdin(cmd, &(answers.join("\n") + "\n"));
    let out = text(&output.stdout);
    assert!(output.status.success(), "{out}\n{}", text(&output.stderr));
    assert!(out.contains("Languages: Rust"), "{out}");
    assert!(
        out.contains("The project is written in Rust"),
        "pre-filled: {out}"
    );
    assert!(out.contains("Enter keeps \"cargo test\""), "{out}");
    assert!(
        out.contains("That leaves too much open (it leaves the decision open)"),
        "{out}"
    );
    assert!(
        out.contains("If it could do only one thing"),
        "the follow-up: {out}"
    );
    assert!(out.contains("Order: T1 → T2 + T3 → T4"), "{out}");
    assert!(
        out.contains("Approved: plan 1 \"A word and line counter\", version 1"),
        "{out}"
    );

    let plan = json_of(&project, &["plan", "show", "1", "--json"]);
    assert_eq!(plan["plan"]["status"], "APPROVED");
    let content = &plan["version"]["content"];
    let features = &content["phases"][1]["tasks"];
    assert_eq!(features[0]["title"], "Count words in a file");
    assert_eq!(features[1]["title"], "Count lines in a file");
    // The confirmed shape ("New code in src/") decides the files; tests go to the Rust test folder.
    assert_eq!(features[0]["files"], json!(["src/**", "tests/**/*.rs"]));
    assert_eq!(
        features[0]["verification"],
        json!([
            "cargo test",
            "cargo clippy --all-targets -- -D warnings",
            "cargo fmt --check"
        ])
    );
    let decisions = content["decisions"].as_array().unwrap();
    let added = decisions.last().unwrap();
    assert_eq!(added["what"], "Read files whole");
    assert_eq!(added["rejected_alternatives"][0]["option"], "Streaming");
    assert!(
        decisions.iter().any(|d| d["what"] == "Build with Rust"),
        "{decisions:?}"
    );
}

/// Reads a child's stdout on a thread, so a test can wait for a prompt without a newline.
struct Screen {
    chunks: std::sync::mpsc::Receiver<Vec<u8>>,
    seen: String,
}

impl Screen {
    fn new(mut stdout: std::process::ChildStdout) -> Self {
        let (tx, chunks) = channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Self {
            chunks,
            seen: String::new(),
        }
    }

    /// Waits until the screen shows `count` prompts.
    fn wait_for_prompts(&mut self, count: usize) {
        while self.seen.matches("\n> ").count() < count {
            let chunk = self.chunks.recv_timeout(REPLY_TIMEOUT).unwrap_or_else(|_| {
                panic!("no prompt {count} in time; screen so far:\n{}", self.seen)
            });
            self.seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    fn rest(mut self) -> String {
        while let Ok(chunk) = self.chunks.recv_timeout(REPLY_TIMEOUT) {
            self.seen.push_str(&String::from_utf8_lossy(&chunk));
        }
        self.seen
    }
}

#[test]
fn ctrl_c_keeps_the_session_and_an_answers_file_finishes_it() {
    let project = Project::new();
    support::write_files(&project.root, PYTHON_PROJECT);
    let mut child = project
        .command()
        .args(["plan", "new", "A note keeper on the command line"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut screen = Screen::new(child.stdout.take().unwrap());
    screen.wait_for_prompts(1);
    writeln!(stdin, "People, through a command line").unwrap();
    stdin.flush().unwrap();
    screen.wait_for_prompts(2);
    // The second question is waiting for input: Ctrl-C.
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    let out = screen.rest();
    assert_eq!(exit.code(), Some(130), "{out}");
    assert!(
        out.contains("Interrupted. Session 1 is kept: `orchestrator plan resume 1` continues it."),
        "{out}"
    );

    // Nothing answered was lost.
    let view = json_of(&project, &["plan", "session", "1", "--json"]);
    assert_eq!(view["session"]["status"], "GATHERING_REQUIREMENTS");
    assert_eq!(
        view["topics"][0]["answer"],
        "People, through a command line"
    );
    assert!(view["topics"][1]["answer"].is_null());

    // An answers file with a gap stops with the missing topic named; the session is kept.
    let partial = project.dir.path().join("partial.json");
    std::fs::write(&partial, r#"{"requirements.errors": "1"}"#).unwrap();
    let output = project
        .command()
        .args(["plan", "resume", "1", "--draft", "skeleton", "--answers"])
        .arg(&partial)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let err = text(&output.stderr);
    assert!(
        err.contains("no answer for `requirements.features`"),
        "{err}"
    );

    let typo = project.dir.path().join("typo.json");
    std::fs::write(&typo, r#"{"requirements.feature": "x"}"#).unwrap();
    let output = project
        .command()
        .args(["plan", "resume", "1", "--answers"])
        .arg(&typo)
        .output()
        .unwrap();
    assert!(text(&output.stderr).contains("`requirements.feature` is not a question topic"));

    // The full file: follow-up answers in a list, pre-filled questions left out are confirmed.
    let answers = project.dir.path().join("answers.toml");
    std::fs::write(
        &answers,
        r#"
"requirements.features" = ["whatever", "Add a note\nList notes\nDelete a note"]
"requirements.errors" = "1"
"scope.out" = "Sync between devices"
"scope.first_delivery" = "1"
"constraints.limits" = "No new third-party dependencies"
"constraints.protected" = "none"
"architecture.data" = "2"
"architecture.dependencies" = "none"
"verification.success" = "Notes survive a restart"
"#,
    )
    .unwrap();
    let output = project
        .command()
        .args([
            "plan",
            "resume",
            "1",
            "--draft",
            "skeleton",
            "--approve",
            "--title",
            "Notes",
            "--answers",
        ])
        .arg(&answers)
        .output()
        .unwrap();
    let out = text(&output.stdout);
    assert!(output.status.success(), "{out}\n{}", text(&output.stderr));
    assert!(out.contains("Approved: plan 1 \"Notes\""), "{out}");
    let plan = json_of(&project, &["plan", "show", "1", "--json"]);
    let content = &plan["version"]["content"];
    assert!(
        content["constraints"]
            .as_array()
            .unwrap()
            .contains(&json!("Out of scope: Sync between devices"))
    );
    assert_eq!(content["phases"][1]["tasks"].as_array().unwrap().len(), 3);
    assert_eq!(
        content["phases"][1]["tasks"][0]["verification"],
        json!(["pytest", "ruff check .", "mypy ."])
    );
    let sessions = json_of(&project, &["plan", "sessions", "--json"]);
    assert_eq!(sessions[0]["status"], "APPROVED");
    assert_eq!(sessions[0]["plan_id"], 1);

    // Decisions on the approved plan make versions; the CLI refuses a malformed alternative.
    let output = project
        .command()
        .args([
            "plan",
            "decide",
            "--plan",
            "1",
            "--what",
            "Use argparse",
            "--why",
            "stdlib",
            "--rejected",
            "click: a dependency",
        ])
        .output()
        .unwrap();
    assert!(
        text(&output.stdout).contains("Plan 1: version 2 (decision"),
        "{}",
        text(&output.stderr)
    );
    let output = project
        .command()
        .args([
            "plan",
            "decide",
            "--plan",
            "1",
            "--what",
            "x",
            "--why",
            "y",
            "--rejected",
            "no colon",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("option: reason"));
}

/// Answers every question of a new session non-interactively, with `agent` as the agent
/// command, and returns the output.
fn plan_with_agent(project: &Project, agent: &str) -> Output {
    let mut cmd = plan_command(project, &[]);
    cmd.env("ORCHESTRATOR_AGENT_COMMAND", agent);
    cmd.output().unwrap()
}

#[test]
fn the_configured_agent_drafts_the_plan_and_the_skeleton_covers_for_it() {
    // A script that stands in for `claude -p` (declared a Claude agent, whatever its name). It
    // checks that it got the brief and the schema, then answers in Claude Code's JSON result
    // shape. The real CLI drafts in `claude_code_drafts_through_its_structured_output_tool`.
    let project = Project::new();
    std::fs::write(
        project.root.join("orchestrator.toml"),
        "[agent]\nkind = \"claude\"\n",
    )
    .unwrap();
    let agent = project.dir.path().join("fake-agent.sh");
    let plan = json!({
        "goal": "A URL shortener",
        "success_criteria": ["A short URL redirects"],
        "constraints": ["Python only"],
        "phases": [{"key": "core", "name": "Core", "tasks": [
            {"key": "A1", "title": "Shorten and redirect", "description": "The two endpoints.",
             "files": ["src/short/app.py", "tests/test_app.py"], "depends_on": [], "verification": ["pytest"]}
        ]}],
        "decisions": []
    });
    let envelope = json!({"type": "result", "subtype": "success", "is_error": false, "result": "", "structured_output": plan});
    std::fs::write(
        &agent,
        format!(
            "#!/bin/sh\nprompt=$(cat)\ncase \"$prompt\" in *'Shorten a URL; Redirect'*) ;; *) echo 'no brief' >&2; exit 3;; esac\n\
             case \"$*\" in *--json-schema*success_criteria*) ;; *) echo 'no schema' >&2; exit 4;; esac\n\
             [ -z \"$CLAUDECODE\" ] || exit 5\n\
             cat <<'EOF'\n{envelope}\nEOF\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&agent, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();

    let output = plan_with_agent(&project, agent.to_str().unwrap());
    let out = text(&output.stdout);
    assert!(output.status.success(), "{out}\n{}", text(&output.stderr));
    assert!(
        out.contains("Draft 1 (agent, written by the agent)"),
        "{out}"
    );
    assert!(out.contains("A1  Shorten and redirect"), "{out}");
    assert!(out.contains("orchestrator plan approve 1"), "{out}");

    // An agent that is not installed: the skeleton is drafted instead, and says why.
    let other = Project::new();
    let output = plan_with_agent(&other, "no-such-agent-program");
    let out = text(&output.stdout);
    assert!(output.status.success(), "{out}\n{}", text(&output.stderr));
    assert!(
        out.contains(
            "Draft 1 (skeleton, skeleton: could not start the agent `no-such-agent-program`"
        ),
        "{out}"
    );
}

/// Files the interview cannot use stop `plan new` before a session is made; an answers file may
/// use TOML tables and numbers; a draft file with problems approves nothing (never a plan the
/// user did not write); and what the interview assumed is recorded in the user's own draft.
#[test]
fn a_draft_file_is_the_plan_or_nothing_and_keeps_the_interviews_assumptions() {
    let project = Project::new();
    support::write_files(&project.root, PYTHON_PROJECT);
    let dir = project.dir.path();
    let plan_new = |args: &[&str]| {
        project
            .command()
            .args(["plan", "new", "A note keeper on the command line"])
            .args(args)
            .output()
            .unwrap()
    };
    let sessions = || json_of(&project, &["plan", "sessions", "--json"]);

    // Unusable files: stopped at once, no session left behind.
    let missing = dir.join("missing.json");
    let output = plan_new(&["--draft-file", missing.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("cannot read the draft"),
        "{}",
        text(&output.stderr)
    );
    let wrong = dir.join("wrong.toml");
    std::fs::write(&wrong, "[requirements]\nusers = [\"a\", {x = 1}]\n").unwrap();
    let output = plan_new(&["--answers", wrong.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr)
            .contains("the answers to `requirements.users` must be text or numbers"),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(sessions(), json!([]));

    // Tables and numbers; verification.success stays vague, so the interview assumes.
    let answers = dir.join("answers.toml");
    std::fs::write(
        &answers,
        r#"
[requirements]
users = "People, through a command line"
features = "Add a note\nList notes\nDelete a note"
errors = 1

[scope]
out = "Sync between devices"
first_delivery = 1

[constraints]
limits = "No new third-party dependencies"
protected = "none"

[architecture]
data = 2
dependencies = "none"

[verification]
success = ["maybe", "not sure", ""]
"#,
    )
    .unwrap();
    let mut broken = support::content_v1();
    broken.phases[0].tasks[0].files.clear();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, serde_json::to_string(&broken).unwrap()).unwrap();
    let output = plan_new(&[
        "--answers",
        answers.to_str().unwrap(),
        "--draft-file",
        bad.to_str().unwrap(),
        "--approve",
    ]);
    let (out, err) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(1), "{out}\n{err}");
    assert!(out.contains("the task names no files"), "{out}");
    assert!(
        err.contains("has 1 problem(s), listed above; nothing was approved"),
        "{err}"
    );
    assert_eq!(json_of(&project, &["plan", "list", "--json"]), json!([]));
    assert_eq!(sessions()[0]["status"], "DESIGNING");

    let good = dir.join("good.json");
    std::fs::write(
        &good,
        serde_json::to_string(&support::content_v1()).unwrap(),
    )
    .unwrap();
    let output = project
        .command()
        .args(["plan", "submit", "1"])
        .arg(&good)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let output = project
        .command()
        .args(["plan", "approve", "1"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let plan = json_of(&project, &["plan", "show", "1", "--json"]);
    let decisions = plan["version"]["content"]["decisions"].as_array().unwrap();
    assert!(
        decisions.iter().any(|d| d["what"]
            .as_str()
            .is_some_and(|w| w.starts_with("Assumed: "))),
        "{decisions:#?}"
    );
}

/// `--draft agent` with the real Claude Code CLI against the fake API: asked with
/// `--json-schema`, it answers through its StructuredOutput tool, and the plan it gave is the
/// one approved. The agent is run from the same configuration as runs: the fake API's address
/// is only in `[agent.env]`, and `args` are passed.
#[test]
fn claude_code_drafts_through_its_structured_output_tool() {
    use support::fake_api::{FakeApi, Step};
    let project = Project::new();
    let plan = json!({
        "goal": "A URL shortener",
        "success_criteria": ["A short URL redirects"],
        "constraints": ["Python only"],
        "phases": [{"key": "core", "name": "Core", "tasks": [
            {"key": "S1", "title": "Shorten and redirect", "description": "The two endpoints.",
             "files": ["src/short/app.py", "tests/test_app.py"], "depends_on": [], "verification": ["pytest"]}
        ]}],
        "decisions": [{"key": "D1", "what": "Use the standard library", "why": "No dependencies", "rejected_alternatives": []}]
    });
    let api = FakeApi::start(vec![
        Step::Tool {
            name: "StructuredOutput".into(),
            input: plan.clone(),
        },
        Step::text("Here is the plan."),
    ]);
    let home = project.dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let claude = support::tool("npm/node_modules/.bin/claude");
    std::fs::write(
        project.root.join("orchestrator.toml"),
        format!(
            "[agent]\ncommand = {claude:?}\nargs = [\"--max-turns\", \"5\"]\n[agent.env]\nANTHROPIC_API_KEY = \"sk-fake\"\n{}",
            api.toml_env(&home)
        ),
    )
    .unwrap();
    let output = plan_command(&project, &["--draft", "agent", "--approve"])
        .output()
        .unwrap();
    let (out, err) = (text(&output.stdout), text(&output.stderr));
    assert!(output.status.success(), "{out}\n{err}");
    assert!(
        out.contains("Draft 1 (agent, written by the agent)"),
        "{out}"
    );
    let approved = json_of(&project, &["plan", "show", "1", "--json"]);
    let content = &approved["version"]["content"];
    assert_eq!(content["phases"][0]["tasks"][0]["key"], "S1", "{content:#}");
    assert_eq!(content["decisions"][0]["what"], "Use the standard library");
    let asked = api.requests()[0].to_string();
    assert!(
        asked.contains("StructuredOutput") && asked.contains("success_criteria"),
        "Claude Code was given the schema as its output tool"
    );
}

/// `plan new` with an answers file for every question, and these extra arguments.
fn plan_command(project: &Project, extra: &[&str]) -> Command {
    let answers = project.dir.path().join("answers.json");
    std::fs::write(
        &answers,
        json!({
            "requirements.users": "1", "requirements.features": "Shorten a URL; Redirect",
            "requirements.errors": "1", "scope.out": "none", "scope.first_delivery": "1",
            "constraints.stack": "Python", "constraints.limits": "none", "constraints.protected": "none",
            "architecture.shape": "src/short/", "architecture.data": "1", "architecture.dependencies": "none",
            "verification.tests": "pytest", "verification.checks": "ruff check .",
            "verification.success": "A short URL redirects"
        })
        .to_string(),
    )
    .unwrap();
    let mut cmd = project.command();
    cmd.args(["plan", "new", "A URL shortener", "--answers"])
        .arg(&answers)
        .args(extra);
    cmd
}
