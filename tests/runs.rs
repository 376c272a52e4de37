//! Runs end to end: the built orchestrator supervising the real Claude Code CLI (pinned, from
//! `scripts/test`) against the fake Messages API; the CLI, its tools, its permission requests and
//! the files it writes are real. Also a script agent through the `command` adapter.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use orchestrator::domain::{PlanId, RunEventData, RunId};
use serde_json::Value;
use support::fake_api::{FakeApi, Step};
use support::{Project, content_v1, git};

const SECRET: &str = "sk-fake-test-key-7f3a";

struct Setup {
    project: Project,
    api: FakeApi,
    plan: PlanId,
}

/// A git project whose plan's task T1 may write `files`, an agent pointed at the fake API, and a
/// verification that passes once hello.txt exists. `script` gets the project root (Claude
/// Code's file tools take absolute paths).
fn setup(script: impl FnOnce(&Path) -> Vec<Step>, files: &[&str], extra: &str) -> Setup {
    let project = Project::new();
    let api = FakeApi::start(script(&project.root));
    let home = project.dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let root = &project.root;
    let claude = support::tool("npm/node_modules/.bin/claude");
    let env = api.toml_env(&home);
    let defaults = |name: &str, lines: &[&str]| -> String {
        let mine = section(extra, name);
        let mut out: Vec<String> = lines
            .iter()
            .filter(|l| {
                let key = l.split('=').next().unwrap_or_default().trim();
                !mine
                    .lines()
                    .any(|m| m.split('=').next().unwrap_or_default().trim() == key)
            })
            .map(|l| (*l).to_owned())
            .collect();
        out.push(mine);
        out.join("\n")
    };
    let config = format!(
        "[agent]\n{agent}\n[agent.env]\n{env}\n[supervisor]\n{supervisor}\n[verifier]\nchecks = [\"done\"]\n[verifier.check.done]\ncommand = [\"test\", \"-f\", \"hello.txt\"]\n{rest}",
        agent = defaults(
            "agent",
            &[&format!("command = {claude:?}"), "max_turns = 20"]
        ),
        supervisor = defaults(
            "supervisor",
            &[
                "monitor_interval_secs = 1",
                "stall_timeout_secs = 60",
                "retry_backoff_secs = 0"
            ]
        ),
        rest = section(extra, "rest"),
    );
    std::fs::write(root.join("orchestrator.toml"), config).unwrap();
    std::fs::write(root.join("README.md"), "# demo\n").unwrap();
    std::fs::write(root.join(".gitignore"), ".secrets.json\n").unwrap();
    git(root, &["init", "-q"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "start"]);
    support::write_secrets(
        root,
        &format!(r#"{{"keys": {{"ANTHROPIC_API_KEY": "{SECRET}"}}}}"#),
    );
    let mut content = content_v1();
    content.phases[0].tasks[0].files = files.iter().map(|f| (*f).to_owned()).collect();
    content.phases[0].tasks[0].description = "Write hello.txt".into();
    let plan = project.approved_plan("Hello", &content);
    Setup { project, api, plan }
}

fn at(root: &Path, file: &str) -> String {
    root.join(file).to_string_lossy().into_owned()
}

/// Lines of `extra` under a marker such as `#agent`.
fn section(extra: &str, name: &str) -> String {
    let mut out = String::new();
    let mut on = false;
    for line in extra.lines() {
        if let Some(marker) = line.strip_prefix('#') {
            on = marker.trim() == name;
        } else if on {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

impl Setup {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = self.project.command();
        cmd.args(args);
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    fn start_task(&self) -> Child {
        self.cmd(&["run-task", &self.plan.to_string(), "T1", "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn run_task(&self) -> (Output, Value) {
        let out = self.run(&["run-task", &self.plan.to_string(), "T1", "--json"]);
        let run = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out, run)
    }

    fn events(&self, run: RunId) -> Vec<Value> {
        let out = self.run(&["runs", "events", &run.to_string(), "--json"]);
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn root(&self) -> &PathBuf {
        &self.project.root
    }
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["kind"].as_str().unwrap()).collect()
}

fn of_kind<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["kind"] == kind)
        .map(|e| &e["payload"])
        .collect()
}

fn explain(out: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Waits for `check` with a deadline (what it waits for happens in another process).
fn wait_for(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_run_writes_a_file_is_verified_and_completes() {
    let s = setup(
        |r| {
            vec![
                Step::write(&at(r, "hello.txt"), "hi\n"),
                Step::text("Done."),
            ]
        },
        &["hello.txt"],
        "",
    );
    let (out, run) = s.run_task();
    assert!(out.status.success(), "{}", explain(&out));
    assert_eq!(run["status"], "COMPLETED");
    assert_eq!(run["attempt"], 1);
    assert_eq!(
        std::fs::read_to_string(s.root().join("hello.txt")).unwrap(),
        "hi\n"
    );
    let events = s.events(RunId(1));
    let k = kinds(&events);
    for expected in [
        "attempt_started",
        "init",
        "tool_use",
        "permission_request",
        "permission_answer",
        "tool_result",
        "result",
        "exited",
        "verification",
    ] {
        assert!(k.contains(&expected), "{expected} missing from {k:?}");
    }
    // No plumbing logged as if it were the agent's (the initialize answer, hook notices).
    assert!(!k.contains(&"unknown"), "{k:?}");
    let answer = of_kind(&events, "permission_answer")[0];
    assert_eq!(
        (answer["allowed"].as_bool(), answer["decided_by"].as_str()),
        (Some(true), Some("policy"))
    );
    // The prompt Claude Code sent the model is the context builder's, within the budget.
    let context = of_kind(&events, "context")[0];
    assert!(context["estimated_tokens"].as_u64().unwrap() <= context["budget"].as_u64().unwrap());
    assert_eq!(context["included"][1]["label"], "D1", "{context}");
    let first = s.api.requests()[0].to_string();
    for part in [
        "# Task T1: Task T1",
        "Write hello.txt",
        "### D1: use axum",
        "## Verification",
        "## Rules of this run",
    ] {
        assert!(
            first.contains(part),
            "{part} missing from the prompt the model got"
        );
    }
    assert_eq!(of_kind(&events, "verification")[0]["passed"], true);
    let init_session = of_kind(&events, "init")[0]["session_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let view: Value =
        serde_json::from_slice(&s.run(&["runs", "show", "1", "--json"]).stdout).unwrap();
    assert_eq!(view["run"]["agent_session_id"], init_session.as_str());
    let reasons: Vec<&str> = view["checkpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["first edit", "agent finished", "verified"]);
    let finished = &view["checkpoints"][1];
    assert_eq!(finished["files_changed"], serde_json::json!(["hello.txt"]));
    assert!(finished["cost_usd"].as_f64().unwrap() > 0.0);
    let commit = finished["commit"].as_str().unwrap();
    let tree = Command::new("git")
        .arg("-C")
        .arg(s.root())
        .args(["show", &format!("{commit}:hello.txt")])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&tree.stdout),
        "hi\n",
        "the checkpoint commit holds the work"
    );
    let status = Command::new("git")
        .arg("-C")
        .arg(s.root())
        .args(["status", "--porcelain"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&status.stdout).contains("?? hello.txt"),
        "the branch and index are untouched"
    );

    // The API key reached the agent (the fake API saw it) but never the store.
    for file in std::fs::read_dir(&s.project.data_dir).unwrap() {
        let bytes = std::fs::read(file.unwrap().path()).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(SECRET),
            "the secret reached the data dir"
        );
    }
    assert_eq!(s.api.requests().len(), 2);
}

#[test]
fn a_refused_command_is_denied_and_the_run_still_finishes() {
    let s = setup(
        |r| {
            vec![
                Step::bash("rm -rf /"),
                Step::write(&at(r, "hello.txt"), "hi\n"),
                Step::text("Done."),
            ]
        },
        &["hello.txt"],
        "",
    );
    // Without --json: the live display and the summary line.
    let out = s.run(&["run-task", &s.plan.to_string(), "T1"]);
    assert!(out.status.success(), "{}", explain(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("run 1: COMPLETED"),
        "{}",
        explain(&out)
    );
    let events = s.events(RunId(1));
    let answers = of_kind(&events, "permission_answer");
    assert_eq!(answers[0]["allowed"], false);
    assert!(
        answers[0]["message"].as_str().unwrap().contains("rm -rf /"),
        "{answers:?}"
    );
    let results = of_kind(&events, "tool_result");
    assert_eq!(results[0]["is_error"], true, "the agent was told no");
    let audit: Value =
        serde_json::from_slice(&s.run(&["policy", "audit", "--json"]).stdout).unwrap();
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["verdict"] == "deny" && e["tool_name"] == "Bash")
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("denied by policy"),
        "the live display shows it: {}",
        explain(&out)
    );
}

#[test]
fn an_escalated_call_waits_for_a_person_who_approves_it_from_the_cli() {
    let s = setup(
        |r| {
            vec![
                Step::bash("mkdir -p docs && echo notes > docs/notes.md"),
                Step::write(&at(r, "hello.txt"), "hi\n"),
                Step::text("Done."),
            ]
        },
        &["hello.txt"],
        "",
    );
    let child = s.start_task();
    let mut pending = Value::Null;
    wait_for("the approval request", Duration::from_secs(60), || {
        pending =
            serde_json::from_slice(&s.run(&["approvals", "--json"]).stdout).unwrap_or(Value::Null);
        pending.as_array().is_some_and(|a| !a.is_empty())
    });
    assert_eq!(pending[0]["task_key"], "T1");
    assert!(
        pending[0]["reason"]
            .as_str()
            .unwrap()
            .contains("docs/notes.md")
    );
    assert!(
        !s.root().join("docs/notes.md").exists(),
        "the agent waits for the answer"
    );
    let id = pending[0]["id"].to_string();
    let approved = s.run(&["approve", &id, "--by", "alice"]);
    assert!(approved.status.success(), "{}", explain(&approved));
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", explain(&out));
    assert_eq!(
        std::fs::read_to_string(s.root().join("docs/notes.md")).unwrap(),
        "notes\n"
    );
    let events = s.events(RunId(1));
    let answer = of_kind(&events, "permission_answer")[0];
    assert_eq!(
        (answer["allowed"].as_bool(), answer["decided_by"].as_str()),
        (Some(true), Some("alice"))
    );
}

#[test]
fn an_overloaded_api_is_retried_and_the_run_completes() {
    let s = setup(
        |r| {
            vec![
                Step::write(&at(r, "hello.txt"), "hi\n").failing(529, 1),
                Step::text("Done."),
            ]
        },
        &["hello.txt"],
        "",
    );
    let (out, run) = s.run_task();
    assert!(out.status.success(), "{}", explain(&out));
    assert_eq!(
        (run["status"].as_str(), run["attempt"].as_u64()),
        (Some("COMPLETED"), Some(1))
    );
    let events = s.events(RunId(1));
    assert_eq!(of_kind(&events, "api_retry")[0]["status"], 529);
}

#[test]
fn a_stalled_agent_is_killed_and_its_session_resumed() {
    let s = setup(
        |r| {
            vec![
                Step::write(&at(r, "hello.txt"), "hi\n").slow(60, 1),
                Step::text("Done."),
            ]
        },
        &["hello.txt"],
        "#supervisor\nstall_timeout_secs = 3\n",
    );
    let started = Instant::now();
    let (out, run) = s.run_task();
    assert!(out.status.success(), "{}", explain(&out));
    assert!(
        started.elapsed() < Duration::from_secs(45),
        "the stall was cut short"
    );
    assert_eq!(
        (run["status"].as_str(), run["attempt"].as_u64()),
        (Some("COMPLETED"), Some(2))
    );
    let events = s.events(RunId(1));
    assert_eq!(of_kind(&events, "stalled").len(), 1);
    let attempts = of_kind(&events, "attempt_started");
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[1]["resumed"], true);
    assert_eq!(
        attempts[1]["session"], attempts[0]["session"],
        "the same agent session continues"
    );
    assert!(
        of_kind(&events, "attempt_failed")[0]["error"]
            .as_str()
            .unwrap()
            .contains("stalled")
    );
    let last_prompt = s.api.requests().last().unwrap().to_string();
    assert!(
        last_prompt.contains("The previous attempt failed"),
        "the new attempt is told what failed"
    );
}

#[test]
fn repeated_failures_escalate_with_a_summary_and_a_person_can_retry_or_cancel() {
    let notified = tempfile::tempdir().unwrap();
    let hook = notified.path().join("hook.json");
    let extra = format!(
        "#supervisor\nmax_retries = 5\n#rest\n[policy]\nnotify_command = [\"sh\", \"-c\", \"cat > {}\"]\n",
        hook.display()
    );
    let s = setup(
        |_| vec![Step::text("never").failing(400, 1000)],
        &["hello.txt"],
        &extra,
    );
    let (out, run) = s.run_task();
    assert_eq!(out.status.code(), Some(1), "{}", explain(&out));
    assert_eq!(
        (run["status"].as_str(), run["attempt"].as_u64()),
        (Some("ESCALATED"), Some(6))
    );
    let events = s.events(RunId(1));
    assert_eq!(
        of_kind(&events, "attempt_started").len(),
        6,
        "one attempt and five retries"
    );
    let summary = of_kind(&events, "escalated")[0];
    assert_eq!(summary["task"], "T1");
    assert_eq!(summary["attempts"], 6);
    assert!(
        summary["last_error"]
            .as_str()
            .unwrap()
            .contains("the agent ended in error"),
        "{summary}"
    );
    assert!(summary["last_checkpoint"]["reason"].is_string());
    let told: Value = serde_json::from_str(&std::fs::read_to_string(&hook).unwrap()).unwrap();
    assert_eq!(told["event"], "run_escalated");
    assert_eq!(told["run"]["status"], "ESCALATED");

    let resume = s.run(&["runs", "resume", "9"]);
    assert_eq!(resume.status.code(), Some(1));
    let cancelled = s.run(&["runs", "cancel", "1"]);
    assert!(
        String::from_utf8_lossy(&cancelled.stdout).contains("CANCELLED"),
        "{}",
        explain(&cancelled)
    );
    let again = s.run(&["runs", "retry", "1"]);
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("CANCELLED"),
        "a cancelled run stays cancelled: {}",
        explain(&again)
    );
}

#[test]
fn a_killed_orchestrator_is_recovered_on_restart_from_the_stored_session() {
    let s = setup(
        |r| {
            vec![
                Step::write(&at(r, "started.txt"), "1\n"),
                Step::write(&at(r, "hello.txt"), "hi\n").slow(60, 1),
                Step::text("Done."),
            ]
        },
        &["hello.txt", "started.txt"],
        "",
    );
    let mut child = s.start_task();
    wait_for(
        "the agent's first edit and the slow call",
        Duration::from_secs(60),
        || s.root().join("started.txt").exists() && s.api.requests().len() >= 2,
    );
    // SIGKILL: no chance to clean up.
    child.kill().unwrap();
    child.wait().unwrap();
    let view: Value =
        serde_json::from_slice(&s.run(&["runs", "show", "1", "--json"]).stdout).unwrap();
    assert_eq!(
        view["run"]["status"], "IN_PROGRESS",
        "the run was in flight"
    );
    let session = view["run"]["agent_session_id"].as_str().unwrap().to_owned();

    let out = s.run(&["runs", "recover"]);
    assert!(out.status.success(), "{}", explain(&out));
    let view: Value =
        serde_json::from_slice(&s.run(&["runs", "show", "1", "--json"]).stdout).unwrap();
    assert_eq!(view["run"]["status"], "COMPLETED");
    assert_eq!(view["run"]["attempt"], 1, "a recovery is not a retry");
    let events = s.events(RunId(1));
    let attempts = of_kind(&events, "attempt_started");
    assert_eq!(attempts.len(), 2);
    assert_eq!(
        (
            attempts[1]["resumed"].as_bool(),
            attempts[1]["session"].as_str()
        ),
        (Some(true), Some(session.as_str()))
    );
    assert_eq!(
        std::fs::read_to_string(s.root().join("hello.txt")).unwrap(),
        "hi\n"
    );
    let again = s.run(&["runs", "recover"]);
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("No run needs recovering"),
        "none is run twice"
    );
}

#[test]
fn a_script_agent_runs_through_the_same_lifecycle() {
    let s = setup(
        |_| vec![],
        &["hello.txt"],
        "#agent\ncommand = \"sh\"\nkind = \"command\"\nargs = [\"-c\", \"echo working on: $(head -c 13); echo hi > hello.txt\"]\n",
    );
    let (out, run) = s.run_task();
    assert!(out.status.success(), "{}", explain(&out));
    assert_eq!(run["status"], "COMPLETED");
    let events = s.events(RunId(1));
    assert_eq!(
        of_kind(&events, "output")[0]["text"],
        "working on: # Task T1: Ta"
    );
    assert_eq!(of_kind(&events, "exited")[0]["code"], 0);

    let failing = setup(
        |_| vec![],
        &["hello.txt"],
        "#agent\ncommand = \"sh\"\nkind = \"command\"\nargs = [\"-c\", \"echo nope >&2; exit 3\"]\n#supervisor\nmax_retries = 1\n",
    );
    let (out, run) = failing.run_task();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        (run["status"].as_str(), run["attempt"].as_u64()),
        (Some("ESCALATED"), Some(2))
    );
    let events = failing.events(RunId(1));
    assert!(
        of_kind(&events, "attempt_failed")[0]["error"]
            .as_str()
            .unwrap()
            .contains("exit code 3; nope"),
        "{events:?}"
    );
}

/// Claude Code reads files and runs `cat` without asking anyone: the supervisor's hook puts
/// those calls to the policy too, so the secrets file never reaches the model.
#[test]
fn a_secret_file_is_never_read_into_the_model() {
    let s = setup(
        |r| {
            vec![
                Step::read(&at(r, ".secrets.json")),
                Step::bash("cat .secrets.json"),
                Step::write(&at(r, "hello.txt"), "hi\n"),
                Step::text("Done."),
            ]
        },
        &["hello.txt"],
        "",
    );
    let (out, run) = s.run_task();
    assert!(out.status.success(), "{}", explain(&out));
    assert_eq!(run["status"], "COMPLETED");
    let requests = s.api.requests();
    assert_eq!(requests.len(), 4, "every step was played");
    for (i, request) in requests.iter().enumerate() {
        assert!(
            !request.to_string().contains(SECRET),
            "the secret reached the model in request {i}"
        );
    }
    // The model was told why, and both refusals went through the supervisor: logged, audited.
    let last = requests.last().unwrap().to_string();
    assert!(last.contains("secret"), "{last}");
    let events = s.events(RunId(1));
    let refused: Vec<&Value> = of_kind(&events, "permission_answer")
        .into_iter()
        .filter(|a| a["allowed"] == false)
        .collect();
    assert_eq!(refused.len(), 2, "{refused:?}");
    let audit: Value =
        serde_json::from_slice(&s.run(&["policy", "audit", "--json"]).stdout).unwrap();
    let denied: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["verdict"] == "deny")
        .map(|e| e["tool_name"].as_str().unwrap())
        .collect();
    assert_eq!(denied, ["Bash", "Read"], "{audit:#}");
}

/// An agent that says it is done without changing anything (a resumed session that believes
/// its work is finished, say) completes nothing, even when the checks pass on the old tree.
#[test]
fn a_run_that_changes_nothing_is_escalated_not_completed() {
    let s = setup(
        |_| vec![],
        &["hello.txt"],
        "#agent\ncommand = \"sh\"\nkind = \"command\"\nargs = [\"-c\", \"echo all done already\"]\n",
    );
    // The check passes before any work: hello.txt is already committed.
    std::fs::write(s.root().join("hello.txt"), "hi\n").unwrap();
    git(s.root(), &["add", "-A"]);
    git(s.root(), &["commit", "-qm", "hello"]);
    let (out, run) = s.run_task();
    assert_eq!(out.status.code(), Some(1), "{}", explain(&out));
    assert_eq!(run["status"], "ESCALATED", "{run}");
    let events = s.events(RunId(1));
    let escalated = of_kind(&events, "escalated");
    assert!(
        escalated[0]["last_error"]
            .as_str()
            .is_some_and(|r| r.contains("without changing anything")),
        "{escalated:?}"
    );
    assert!(
        of_kind(&events, "merged").is_empty(),
        "{:?}",
        kinds(&events)
    );
}

#[test]
fn runs_are_started_and_followed_over_mcp() {
    let s = setup(
        |r| {
            vec![
                Step::write(&at(r, "hello.txt"), "hi\n"),
                Step::text("Done."),
            ]
        },
        &["hello.txt"],
        "",
    );
    let mut cmd = s.cmd(&["serve"]);
    cmd.env("ORCHESTRATOR_TOOLS", "all");
    let mut peer = support::StdioPeer::spawn(cmd);
    peer.initialize();
    let started = support::call(
        &mut peer,
        2,
        "run_start",
        serde_json::json!({"plan_id": s.plan.0, "task": "T1"}),
    );
    let handle = support::structured(&started);
    let run = handle["run"]["id"].as_i64().unwrap();
    assert_eq!(
        handle["run"]["status"], "PENDING",
        "the call returns before the agent works"
    );
    let mut after = 0;
    let mut seen = Vec::new();
    let mut status = Value::Null;
    for id in 3..60 {
        let reply = support::call(
            &mut peer,
            id,
            "run_status",
            serde_json::json!({"run_id": run, "after_seq": after, "wait_seconds": 10}),
        );
        status = support::structured(&reply).clone();
        for e in status["new_events"].as_array().into_iter().flatten() {
            after = e["seq"].as_u64().unwrap();
            seen.push(e["kind"].as_str().unwrap().to_owned());
        }
        if status["view"]["run"]["status"] == "COMPLETED" {
            break;
        }
    }
    assert_eq!(status["view"]["run"]["status"], "COMPLETED", "{status}");
    assert!(status["next_step"].as_str().unwrap().contains("completed"));
    assert!(
        seen.contains(&"permission_answer".to_owned()) && seen.contains(&"verification".to_owned()),
        "{seen:?}"
    );
    let events = support::call(
        &mut peer,
        70,
        "run_events",
        serde_json::json!({"run_id": run}),
    );
    assert!(
        support::structured(&events)["events"]
            .as_array()
            .unwrap()
            .len()
            >= seen.len()
    );
    let listed = support::call(&mut peer, 71, "run_status", serde_json::json!({}));
    assert_eq!(support::structured(&listed)["runs"][0]["id"], run);
    let bad = support::call(
        &mut peer,
        72,
        "run_control",
        serde_json::json!({"run_id": run, "action": "resume"}),
    );
    assert!(support::tool_error_text(&bad).contains("COMPLETED"));
    let unknown = support::call(
        &mut peer,
        73,
        "run_start",
        serde_json::json!({"plan_id": s.plan.0, "task": "T9"}),
    );
    assert!(support::tool_error_text(&unknown).contains("T9"));
    peer.finish();
}

#[test]
fn sigterm_stops_the_agent_cleanly_and_the_run_resumes_later() {
    let s = setup(
        |r| {
            vec![
                Step::write(&at(r, "started.txt"), "1\n"),
                Step::write(&at(r, "hello.txt"), "hi\n").slow(60, 1),
                Step::text("Done."),
            ]
        },
        &["hello.txt", "started.txt"],
        "",
    );
    let child = s.start_task();
    wait_for("the slow call", Duration::from_secs(60), || {
        s.api.requests().len() >= 2
    });
    // SAFETY: sending SIGTERM to the child we started.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", explain(&out));
    let events = s.events(RunId(1));
    assert_eq!(
        of_kind(&events, "stopping").len(),
        1,
        "{:?}",
        kinds(&events)
    );
    let view: Value =
        serde_json::from_slice(&s.run(&["runs", "show", "1", "--json"]).stdout).unwrap();
    assert_eq!(view["run"]["status"], "IN_PROGRESS");
    assert!(
        view["run"]["lease_owner"].is_null(),
        "the lease was given back"
    );
    assert_eq!(
        view["checkpoints"].as_array().unwrap().last().unwrap()["reason"],
        "stopped"
    );
    let out = s.run(&["runs", "recover"]);
    assert!(out.status.success(), "{}", explain(&out));
    assert_eq!(
        std::fs::read_to_string(s.root().join("hello.txt")).unwrap(),
        "hi\n"
    );
}

/// The command agent of the one-run-at-a-time tests: it writes a file named after its task
/// (and hello.txt, which the verification looks for) once `go` exists in the project.
const TASK_AGENT: &str = "#agent\ncommand = \"sh\"\nkind = \"command\"\nargs = [\"-c\", \"k=$(head -c 20 | sed -n 's/^# Task \\\\([A-Za-z0-9]*\\\\).*/\\\\1/p'); while [ ! -f go ]; do sleep 0.1; done; echo $k > $k.txt; echo hi > hello.txt\"]\n";

/// The same agent, working at once.
const TASK_AGENT_NOW: &str = "#agent\ncommand = \"sh\"\nkind = \"command\"\nargs = [\"-c\", \"k=$(head -c 20 | sed -n 's/^# Task \\\\([A-Za-z0-9]*\\\\).*/\\\\1/p'); echo $k > $k.txt; echo hi > hello.txt\"]\n";

fn run_status(s: &Setup, run: u64) -> Option<String> {
    let out = s.run(&["runs", "show", &run.to_string(), "--json"]);
    let view: Value = serde_json::from_slice(&out.stdout).ok()?;
    view["run"]["status"].as_str().map(str::to_owned)
}

/// Waits for a child with a deadline, killing it on time-out.
fn finish_within(mut child: Child, limit: Duration) -> Output {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!("still running after {limit:?}:\n{}", explain(&out));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().unwrap()
}

/// A task has one run at a time and none once it is done: a second `run-task` is refused while
/// the first works, and after it completed.
#[test]
fn a_task_runs_once_at_a_time_and_not_again_once_done() {
    let s = setup(|_| vec![], &["hello.txt", "T1.txt"], TASK_AGENT);
    let first = s.start_task();
    wait_for("run 1 in progress", Duration::from_secs(30), || {
        run_status(&s, 1).as_deref() == Some("IN_PROGRESS")
    });
    let (out, _) = s.run_task();
    assert_eq!(out.status.code(), Some(1), "{}", explain(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("task T1 already has run 1 (IN_PROGRESS)"),
        "{}",
        explain(&out)
    );
    std::fs::write(s.root().join("go"), "").unwrap();
    let out = finish_within(first, Duration::from_secs(60));
    assert!(out.status.success(), "{}", explain(&out));
    assert_eq!(run_status(&s, 1).as_deref(), Some("COMPLETED"));
    let (out, _) = s.run_task();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("task T1 is done: run 1 completed it"),
        "{}",
        explain(&out)
    );
    assert!(run_status(&s, 2).is_none(), "no second run was made");
}

/// Two `orchestrator run` of one plan at once: each task is run and landed once.
#[test]
fn two_plan_runs_at_once_land_each_task_once() {
    let s = setup(|_| vec![], &["hello.txt", "T1.txt"], TASK_AGENT_NOW);
    let plan = s.plan.to_string();
    let spawn = || {
        s.cmd(&["run", &plan, "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (
        finish_within(a, Duration::from_secs(120)),
        finish_within(b, Duration::from_secs(120)),
    );
    assert!(a.status.success(), "{}", explain(&a));
    assert!(b.status.success(), "{}", explain(&b));
    let out = s.run(&["runs", "list", "--json"]);
    let runs: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let tasks: Vec<(&str, &str)> = runs
        .iter()
        .map(|r| {
            (
                r["task_key"].as_str().unwrap(),
                r["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        tasks,
        [("T1", "COMPLETED"), ("T2", "COMPLETED")],
        "{runs:#?}"
    );
    let log = git(s.root(), &["log", "--format=%s"]);
    assert_eq!(log.lines().count(), 3, "start, T1, T2:\n{log}");
}

/// A person cancels a run that waits for another engine's locks: the plan run ends.
#[test]
fn a_plan_run_ends_when_a_run_waiting_for_locks_is_cancelled() {
    use orchestrator::delegator::locks::lease_conflicts;
    use orchestrator::domain::{LockMode, Timestamp};
    use orchestrator::store::NewLease;
    let s = setup(|_| vec![], &["hello.txt"], TASK_AGENT);
    let store = s.project.store();
    let project = store.ensure_project(s.root(), "project").unwrap();
    store
        .acquire_leases(
            &[NewLease {
                project_id: project.id,
                pattern: "hello.txt".into(),
                mode: LockMode::Exclusive,
                owner: "elsewhere:1:abcdef12".into(),
                run_id: None,
                expires_at: Timestamp::now().plus(Duration::from_secs(3600)),
            }],
            lease_conflicts,
        )
        .unwrap()
        .unwrap();
    let mut child = s
        .cmd(&["run", &s.plan.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("waits for locks on hello.txt") {
        let mut line = String::new();
        let read = std::io::BufRead::read_line(&mut stderr, &mut line).unwrap();
        assert!(read > 0, "the plan run ended early: {seen}");
        seen.push_str(&line);
    }
    let out = s.run(&["runs", "cancel", "1"]);
    assert!(out.status.success(), "{}", explain(&out));
    std::thread::spawn(move || std::io::Read::read_to_string(&mut stderr, &mut String::new()));
    let out = finish_within(child, Duration::from_secs(30));
    assert_eq!(run_status(&s, 1).as_deref(), Some("CANCELLED"));
    assert!(
        !out.status.success(),
        "the plan is not done: {}",
        explain(&out)
    );
}

/// The engine died after the agent's clean exit was logged and before verification: recovery
/// verifies the work instead of running the agent again.
#[test]
fn a_run_killed_after_its_agent_finished_is_verified_not_run_again() {
    let s = setup(
        |_| vec![],
        &["hello.txt"],
        "#agent\ncommand = \"sh\"\nkind = \"command\"\nargs = [\"-c\", \"echo ran again > again.txt\"]\n",
    );
    let store = s.project.store();
    let run = support::run_in_progress(&store, s.plan, "command");
    // What the dead engine logged: the attempt, then the agent's clean end; its work is there.
    store
        .append_event(
            run.id,
            &RunEventData::AttemptStarted {
                attempt: 1,
                session: "0f8a3c1e-5b7d-4e2a-9c6f-1d2e3f4a5b6c".into(),
                resumed: false,
                agent: "command".into(),
            },
        )
        .unwrap();
    std::fs::write(s.root().join("hello.txt"), "hi\n").unwrap();
    store
        .append_event(
            run.id,
            &RunEventData::Exited {
                code: Some(0),
                signal: None,
                stderr_tail: String::new(),
            },
        )
        .unwrap();
    // A command of the dead engine's agent is still at work.
    let prefix = tokio::runtime::Runtime::new().unwrap().block_on(async {
        orchestrator::Orchestrator::with_store(s.project.store(), s.root(), "project")
            .await
            .unwrap()
            .agent_mark_prefix(run.id)
    });
    let mut leftover = Command::new("sleep")
        .arg("300")
        .env(orchestrator::agent::MARK_VAR, format!("{prefix}deadbeef"))
        .spawn()
        .unwrap();
    let out = s.run(&["runs", "recover"]);
    assert!(out.status.success(), "{}", explain(&out));
    let mut ended = None;
    wait_for("the leftover to end", Duration::from_secs(10), || {
        ended = leftover.try_wait().unwrap();
        ended.is_some()
    });
    let ended = ended.unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&ended),
        Some(9),
        "the leftover was killed"
    );
    assert_eq!(run_status(&s, 1).as_deref(), Some("COMPLETED"));
    let events = s.events(RunId(1));
    assert_eq!(
        of_kind(&events, "attempt_started").len(),
        1,
        "{:?}",
        kinds(&events)
    );
    assert_eq!(
        of_kind(&events, "recovered").len(),
        1,
        "{:?}",
        kinds(&events)
    );
    assert!(
        !s.root().join("again.txt").exists(),
        "the agent did not run again"
    );
}

/// An engine killed right after a run completed left its branch and a lock: recovery (and the
/// next plan run) tidies them away, and doing it twice is harmless.
#[test]
fn what_a_completed_run_left_behind_is_tidied_on_recovery() {
    use orchestrator::delegator::locks::lease_conflicts;
    use orchestrator::domain::{LockMode, Timestamp};
    use orchestrator::store::NewLease;
    let s = setup(|_| vec![], &["hello.txt", "T1.txt"], TASK_AGENT_NOW);
    let out = s.run(&["run", &s.plan.to_string(), "--json"]);
    assert!(out.status.success(), "{}", explain(&out));
    // The leftovers of a kill between COMPLETED and the cleanup.
    git(s.root(), &["branch", "orchestrator/run-1", "HEAD"]);
    let store = s.project.store();
    let project = store.ensure_project(s.root(), "project").unwrap();
    store
        .acquire_leases(
            &[NewLease {
                project_id: project.id,
                pattern: "hello.txt".into(),
                mode: LockMode::Exclusive,
                owner: "dead:1:engine00".into(),
                run_id: Some(RunId(1)),
                expires_at: Timestamp::now().plus(Duration::from_secs(3600)),
            }],
            lease_conflicts,
        )
        .unwrap()
        .unwrap();
    for _ in 0..2 {
        let out = s.run(&["runs", "recover"]);
        assert!(out.status.success(), "{}", explain(&out));
    }
    assert!(
        !git(s.root(), &["branch", "--list"]).contains("orchestrator/run-1"),
        "the branch is gone"
    );
    let locks = s.run(&["locks", "list", "--json"]);
    let held: Value = serde_json::from_slice(&locks.stdout).unwrap();
    assert_eq!(held, serde_json::json!([]), "no lock is left held");
}

/// Whether a process is alive (a zombie is not).
fn process_alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit(')')
            .next()
            .unwrap_or_default()
            .trim_start()
            .starts_with('Z')
    })
}

/// A command the agent started in a session of its own (as Claude Code runs every Bash command)
/// outlives the agent's process group: it is ended with the agent all the same, and one left by
/// an engine that died is ended before the run is recovered.
#[test]
fn what_an_agent_started_dies_with_it() {
    let s = setup(
        |_| vec![],
        &["hello.txt", "bg.pid"],
        "#agent\ncommand = \"sh\"\nkind = \"command\"\nargs = [\"-c\", \"setsid sh -c 'echo $$ > bg.pid; exec sleep 300' </dev/null >/dev/null 2>&1 & while [ ! -s bg.pid ]; do sleep 0.05; done; echo hi > hello.txt\"]\n",
    );
    let (out, run) = s.run_task();
    assert!(out.status.success(), "{}", explain(&out));
    assert_eq!(run["status"], "COMPLETED");
    let pid: i32 = std::fs::read_to_string(s.root().join("bg.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        !process_alive(pid),
        "the agent's background command {pid} still runs"
    );
    let events = s.events(RunId(1));
    assert_eq!(
        of_kind(&events, "processes_killed")[0]["count"],
        1,
        "{:?}",
        kinds(&events)
    );
}

/// Cancelling a run whose agent is a plain program: over MCP (this process supervises it) the
/// agent is stopped first, so CANCELLED is the last thing in the run's log; from another
/// process (`runs cancel` while `run-task` supervises) the supervisor hears of it at its next
/// heartbeat and stops the program (SIGTERM: it has no other way to hear "stop").
#[test]
fn a_cancelled_run_stops_its_program_and_says_so_last() {
    let agent = "#agent\ncommand = \"sh\"\nkind = \"command\"\nargs = [\"-c\", \"echo $$ > agent.pid; exec sleep 300\"]\n";
    let s = setup(|_| vec![], &["hello.txt", "agent.pid"], agent);
    let pid = |s: &Setup| -> i32 {
        std::fs::read_to_string(s.root().join("agent.pid"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };

    // From another process.
    let task = s.start_task();
    wait_for("the agent at work", Duration::from_secs(30), || {
        s.root().join("agent.pid").exists() && run_status(&s, 1).as_deref() == Some("IN_PROGRESS")
    });
    let out = s.run(&["runs", "cancel", "1"]);
    assert!(out.status.success(), "{}", explain(&out));
    let out = finish_within(task, Duration::from_secs(20));
    assert_eq!(
        run_status(&s, 1).as_deref(),
        Some("CANCELLED"),
        "{}",
        explain(&out)
    );
    assert!(!process_alive(pid(&s)), "the program was stopped");
    std::fs::remove_file(s.root().join("agent.pid")).unwrap();

    // Over MCP, in the process that supervises it.
    git(s.root(), &["checkout", "-q", "--", "."]);
    let mut cmd = s.cmd(&["serve"]);
    cmd.env("ORCHESTRATOR_TOOLS", "all");
    let mut peer = support::StdioPeer::spawn(cmd);
    peer.initialize();
    let started = support::call(
        &mut peer,
        2,
        "run_start",
        serde_json::json!({"plan_id": s.plan.0, "task": "T1"}),
    );
    let run = support::structured(&started)["run"]["id"].as_i64().unwrap() as u64;
    wait_for("the agent at work", Duration::from_secs(30), || {
        s.root().join("agent.pid").exists() && run_status(&s, run).as_deref() == Some("IN_PROGRESS")
    });
    let cancelled = support::call(
        &mut peer,
        3,
        "run_control",
        serde_json::json!({"run_id": run, "action": "cancel"}),
    );
    assert_eq!(
        support::structured(&cancelled)["run"]["status"],
        "CANCELLED",
        "{cancelled}"
    );
    assert!(!process_alive(pid(&s)), "the program was stopped first");
    let events = s.events(RunId(run as i64));
    let last = events.last().unwrap();
    assert_eq!(
        (last["kind"].as_str(), last["payload"]["to"].as_str()),
        (Some("status"), Some("CANCELLED")),
        "{:?}",
        kinds(&events)
    );
    assert!(peer.finish().success());
}
