//! The plan run end to end: `orchestrator run` with the real Claude Code CLI against the fake
//! Messages API (one script per task), on a fixture git project. Parallelism is observed, not
//! hoped for: tasks meant to run side by side wait (in a shell loop) for a go-file that the test
//! writes only once it sees both of their runs in progress at the same time.

mod support;

use std::time::{Duration, Instant};

use orchestrator::domain::{Phase, PlanContent, PlanStatus};
use serde_json::Value;
use support::fake_api::Step;
use support::git;
use support::plans::{explain, fixture, span, status_of, task, wait_for_go, wait_runs, write};

#[test]
fn a_plan_runs_in_parallel_where_it_can_in_order_where_it_must_and_lands_every_task() {
    let f = fixture(
        vec![
            task("A", &["a/**"], &[]),
            task("B", &["b/**"], &[]),
            task("C", &["c/**"], &["A"]),
            task("D", &["d/**"], &["B"]),
            task("E", &["e/**"], &["C", "D"]),
        ],
        |m| {
            let pair = |key: &'static str, file: &str| {
                (
                    key,
                    vec![
                        wait_for_go(m, &format!("{key}-go")),
                        write(file, key),
                        Step::text(&format!("{key} done.")),
                    ],
                )
            };
            vec![
                pair("A", "a/a.txt"),
                pair("B", "b/b.txt"),
                pair("C", "c/c.txt"),
                pair("D", "d/d.txt"),
                ("E", vec![write("e/e.txt", "E"), Step::text("E done.")]),
            ]
        },
        "",
    );
    let mut child = f.start_run();
    f.go_together(&["A", "B"], &mut child);
    f.go_together(&["C", "D"], &mut child);
    let (out, report) = f.finish(child);
    assert!(out.status.success(), "{}", explain(&out));
    assert_eq!(report["done"], true, "{report:#}");
    assert_eq!(report["completed"], 5);
    let root = &f.project.root;
    // Every task's work landed on main, one commit each, and nothing else is left around.
    for (file, text) in [
        ("a/a.txt", "A"),
        ("b/b.txt", "B"),
        ("c/c.txt", "C"),
        ("d/d.txt", "D"),
        ("e/e.txt", "E"),
    ] {
        assert_eq!(
            std::fs::read_to_string(root.join(file)).unwrap(),
            format!("{text}\n"),
            "{file} on main"
        );
    }
    assert_eq!(
        git(root, &["rev-list", "--count", "main"]),
        "6",
        "{}",
        git(root, &["log", "--oneline"])
    );
    assert_eq!(
        git(root, &["status", "--porcelain"]),
        "",
        "the checkout is clean"
    );
    assert!(
        !git(root, &["branch", "--list"]).contains("orchestrator/"),
        "run branches removed"
    );
    assert_eq!(
        git(root, &["worktree", "list"]).lines().count(),
        1,
        "worktrees removed"
    );
    // Order: E began after C and D ended; C after A, D after B.
    let runs = f.runs();
    let id = |t: &str| {
        runs.iter().find(|r| r["task_key"] == t).unwrap()["id"]
            .as_u64()
            .unwrap()
    };
    let spans: std::collections::HashMap<&str, (String, String)> = ["A", "B", "C", "D", "E"]
        .iter()
        .map(|t| (*t, span(&f.events(id(t)))))
        .collect();
    assert!(
        spans["E"].0 > spans["C"].1 && spans["E"].0 > spans["D"].1,
        "{spans:?}"
    );
    assert!(
        spans["C"].0 > spans["A"].1 && spans["D"].0 > spans["B"].1,
        "{spans:?}"
    );
    // The pairs met: each waited for a go-file the test wrote only once both were at work.
    for t in ["A", "B", "C", "D"] {
        let results: Vec<String> = f
            .events(id(t))
            .iter()
            .filter(|e| e["kind"] == "tool_result")
            .map(|e| e["payload"].to_string())
            .collect();
        assert!(
            results.iter().any(|r| r.contains("met")),
            "{t}: {results:?}"
        );
        assert!(
            f.events(id(t)).iter().any(|e| e["kind"] == "merged"),
            "{t} landed through the merge queue"
        );
    }
    // No lock is left.
    let out = f.cmd(&["locks", "list", "--json"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");
    let plan: Value = serde_json::from_slice(
        &f.cmd(&["plan", "show", &f.plan.to_string(), "--json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(plan["plan"]["status"], "COMPLETED", "{plan:#}");
}

#[test]
fn conflicts_failures_and_overlapping_files_are_handled_while_the_rest_finishes() {
    let f = fixture(
        vec![
            task("H", &["x.txt"], &[]),
            task("V", &["v/**"], &[]),
            task("W", &["w/**"], &["V"]),
            task("O1", &["shared/**"], &[]),
            task("O2", &["shared/one.txt"], &[]),
            task("Z", &["../outside/**"], &[]),
        ],
        |m| {
            vec![
                // Changes the line main changes meanwhile; told of the conflict, merges both.
                (
                    "H",
                    vec![
                        wait_for_go(m, "H-go"),
                        Step::bash("printf 'H\\n' > x.txt"),
                        Step::text("H done."),
                        Step::bash("printf 'main\\nH\\n' > x.txt"),
                        Step::text("Resolved."),
                    ],
                ),
                // Always fails the `bad` check.
                (
                    "V",
                    vec![
                        write("v/v.txt", "bad"),
                        Step::text("V done."),
                        Step::text("Still done."),
                    ],
                ),
                ("W", vec![write("w/w.txt", "W"), Step::text("W done.")]),
                (
                    "O1",
                    vec![
                        wait_for_go(m, "O1-go"),
                        write("shared/one.txt", "one"),
                        Step::text("O1 done."),
                    ],
                ),
                (
                    "O2",
                    vec![write("shared/one.txt", "two"), Step::text("O2 done.")],
                ),
            ]
        },
        "",
    );
    let root = f.project.root.clone();
    let mut child = f.start_run();
    // While H works, main moves under it: the same line of x.txt.
    wait_runs(&f, &mut child, "H in progress", |runs| {
        status_of(runs, "H") == ["IN_PROGRESS"]
    });
    std::fs::write(root.join("x.txt"), "main\n").unwrap();
    git(&root, &["commit", "-qam", "main changes x.txt"]);
    std::fs::write(f.markers.join("H-go"), "").unwrap();
    // O2 overlaps O1's files: it waits while O1 works.
    wait_runs(&f, &mut child, "O2 waiting for O1's locks", |runs| {
        status_of(runs, "O1") == ["IN_PROGRESS"] && status_of(runs, "O2") == ["PENDING"]
    });
    let out = f.cmd(&["locks", "list", "--json"]).output().unwrap();
    let held: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        held.iter().any(|l| l["pattern"] == "shared/**"),
        "{held:#?}"
    );
    assert!(
        !held.iter().any(|l| l["pattern"] == "shared/one.txt"),
        "O2 holds nothing while it waits: {held:#?}"
    );
    std::fs::write(f.markers.join("O1-go"), "").unwrap();
    let (out, report) = f.finish(child);
    assert_eq!(
        out.status.code(),
        Some(1),
        "not every task completed: {}",
        explain(&out)
    );
    let state = |t: &str| {
        report["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["task"] == t)
            .unwrap()
            .clone()
    };
    assert_eq!(report["completed"], 3, "{report:#}");
    assert_eq!(
        (
            state("H")["status"].as_str(),
            state("H")["attempts"].as_u64()
        ),
        (Some("COMPLETED"), Some(2)),
        "{report:#}"
    );
    assert_eq!(state("V")["status"], "ESCALATED");
    assert_eq!(state("V")["verification"]["passed"], false, "{report:#}");
    assert!(
        state("V")["verification"]["failed_checks"][0]
            .as_str()
            .unwrap()
            .starts_with("bad"),
        "{report:#}"
    );
    assert_eq!(state("H")["verification"]["passed"], true);
    assert!(
        state("V")["error"].as_str().unwrap().contains("bad"),
        "{report:#}"
    );
    assert_eq!(
        state("W")["status"],
        "BLOCKED",
        "a failed task holds back its dependants"
    );
    assert_eq!(state("Z")["status"], "ESCALATED");
    assert!(
        state("Z")["error"].as_str().unwrap().contains("`..`"),
        "{report:#}"
    );
    assert_eq!(
        (
            state("O1")["status"].as_str(),
            state("O2")["status"].as_str()
        ),
        (Some("COMPLETED"), Some("COMPLETED"))
    );
    assert!(
        report["escalated"] == 2
            && report["blocked"] == 1
            && report["retried"].as_u64().unwrap() >= 2,
        "{report:#}"
    );
    // The conflict went back to H once, with the files named; both changes landed.
    let h = state("H")["run"].as_u64().unwrap();
    let events = f.events(h);
    let conflicts: Vec<&Value> = events
        .iter()
        .filter(|e| e["kind"] == "merge_conflict")
        .collect();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(
        conflicts[0]["payload"]["files"],
        serde_json::json!(["x.txt"])
    );
    assert_eq!(
        std::fs::read_to_string(root.join("x.txt")).unwrap(),
        "main\nH\n"
    );
    // O1 and O2 never ran at once, and O2 built on O1.
    let (o1, o2) = (
        span(&f.events(state("O1")["run"].as_u64().unwrap())),
        span(&f.events(state("O2")["run"].as_u64().unwrap())),
    );
    assert!(o2.0 > o1.1 || o1.0 > o2.1, "{o1:?} {o2:?}");
    assert_eq!(
        std::fs::read_to_string(root.join("shared/one.txt")).unwrap(),
        "two\n"
    );
    assert!(
        !root.join("v").exists() && !root.join("w").exists(),
        "nothing unverified landed"
    );
    // Escalated runs keep their worktree for a person; the rest are gone.
    assert_eq!(
        git(&root, &["worktree", "list"]).lines().count(),
        2,
        "{}",
        git(&root, &["worktree", "list"])
    );
    let out = f.cmd(&["locks", "list", "--json"]).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "[]",
        "no lock is left"
    );
}

#[test]
fn a_killed_plan_run_resumes_without_losing_or_repeating_a_task() {
    let f = fixture(
        vec![task("K1", &["k1/**"], &[]), task("K2", &["k2/**"], &["K1"])],
        |m| {
            vec![
                (
                    "K1",
                    vec![
                        wait_for_go(m, "K1-go"),
                        write("k1/k1.txt", "K1"),
                        Step::text("K1 done."),
                    ],
                ),
                ("K2", vec![write("k2/k2.txt", "K2"), Step::text("K2 done.")]),
            ]
        },
        "",
    );
    let mut child = f.start_run();
    wait_runs(&f, &mut child, "K1 in progress", |runs| {
        status_of(runs, "K1") == ["IN_PROGRESS"]
    });
    // Killed mid-work: the agent is in its waiting command.
    wait_runs(&f, &mut child, "K1's agent at work", |_| {
        f.events(1).iter().any(|e| e["kind"] == "tool_use")
    });
    child.kill().unwrap(); // SIGKILL: no clean stop
    child.wait().unwrap();
    std::fs::write(f.markers.join("K1-go"), "").unwrap();
    let (out, report) = f.finish(f.start_run());
    assert!(out.status.success(), "{}", explain(&out));
    assert_eq!(report["done"], true, "{report:#}");
    let runs = f.runs();
    assert_eq!(
        status_of(&runs, "K1"),
        ["COMPLETED"],
        "the same run resumed, not a second one"
    );
    assert_eq!(status_of(&runs, "K2"), ["COMPLETED"]);
    let k1 = runs.iter().find(|r| r["task_key"] == "K1").unwrap()["id"]
        .as_u64()
        .unwrap();
    let attempts = f
        .events(k1)
        .into_iter()
        .filter(|e| e["kind"] == "attempt_started")
        .collect::<Vec<_>>();
    // After the restart the agent's session is resumed; if the killed agent had not written
    // its transcript yet, that resume finds nothing and the next attempt starts afresh.
    assert_eq!(attempts[1]["payload"]["resumed"], true, "{attempts:#?}");
    if attempts.len() > 2 {
        assert_eq!(attempts[2]["payload"]["resumed"], false, "{attempts:#?}");
    }
    assert!(attempts.len() <= 3, "{attempts:#?}");
    for (file, text) in [("k1/k1.txt", "K1"), ("k2/k2.txt", "K2")] {
        assert_eq!(
            std::fs::read_to_string(f.project.root.join(file)).unwrap(),
            format!("{text}\n")
        );
    }
    assert_eq!(git(&f.project.root, &["rev-list", "--count", "main"]), "3");
}

#[test]
fn a_plan_run_is_started_followed_paused_and_resumed_over_mcp() {
    use serde_json::json;
    use support::{StdioPeer, call, structured, tool_error_text};
    let f = fixture(
        vec![task("P1", &["p1/**"], &[]), task("P2", &["p2/**"], &["P1"])],
        |m| {
            vec![
                (
                    "P1",
                    vec![
                        wait_for_go(m, "P1-go"),
                        write("p1/p1.txt", "P1"),
                        Step::text("P1 done."),
                    ],
                ),
                ("P2", vec![write("p2/p2.txt", "P2"), Step::text("P2 done.")]),
                (
                    "Q1",
                    vec![
                        wait_for_go(m, "never"),
                        write("q1/q1.txt", "Q1"),
                        Step::text("Q1 done."),
                    ],
                ),
            ]
        },
        "",
    );
    let mut cmd = f.project.command();
    cmd.arg("serve");
    let mut peer = StdioPeer::spawn(cmd);
    peer.initialize();
    let plan = f.plan.0;
    let started = call(&mut peer, 2, "run_start", json!({"plan_id": plan}));
    assert_eq!(
        structured(&started)["plan_run"]["state"],
        "running",
        "{started}"
    );
    let task_status = |s: &Value, t: &str| {
        s["plan_run"]["report"]["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["task"] == t)
            .unwrap()["status"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let mut id = 10;
    let mut follow = |peer: &mut StdioPeer, until: &dyn Fn(&Value) -> bool| {
        let start = Instant::now();
        loop {
            id += 1;
            let status = call(
                peer,
                id,
                "run_status",
                json!({"plan_id": plan, "wait_seconds": 2}),
            );
            if until(structured(&status)) {
                return structured(&status).clone();
            }
            assert!(start.elapsed() < Duration::from_secs(120), "{status}");
        }
    };
    follow(&mut peer, &|s| task_status(s, "P1") == "IN_PROGRESS");
    // Paused: the agent stops cleanly, the run waits to resume.
    let paused = call(
        &mut peer,
        3,
        "run_control",
        json!({"plan_id": plan, "action": "pause"}),
    );
    assert_eq!(
        structured(&paused)["plan_run"]["state"],
        "paused",
        "{paused}"
    );
    let wrong = call(
        &mut peer,
        4,
        "run_control",
        json!({"plan_id": plan, "action": "retry"}),
    );
    assert!(tool_error_text(&wrong).contains("retry"), "{wrong}");
    std::fs::write(f.markers.join("P1-go"), "").unwrap();
    let resumed = call(
        &mut peer,
        5,
        "run_control",
        json!({"plan_id": plan, "action": "resume"}),
    );
    assert_eq!(
        structured(&resumed)["plan_run"]["state"],
        "running",
        "{resumed}"
    );
    let done = follow(&mut peer, &|s| s["plan_run"]["state"] == "finished");
    assert_eq!(done["plan_run"]["report"]["done"], true, "{done:#}");
    assert_eq!(task_status(&done, "P2"), "COMPLETED");
    assert!(
        done["next_step"]
            .as_str()
            .unwrap()
            .contains("2 of 2 tasks completed"),
        "{done:#}"
    );
    assert_eq!(
        std::fs::read_to_string(f.project.root.join("p2/p2.txt")).unwrap(),
        "P2\n"
    );
    // A second plan, cancelled while its task works: nothing is left behind.
    let store = f.project.store();
    let project = store.ensure_project(&f.project.root, "project").unwrap();
    let content = PlanContent {
        goal: "cancel me".into(),
        phases: vec![Phase {
            key: "q".into(),
            name: "Q".into(),
            description: String::new(),
            overlap: false,
            tasks: vec![task("Q1", &["q1/**"], &[])],
        }],
        ..PlanContent::default()
    };
    let other = store
        .create_plan(project.id, None, "Cancelled", &content, "created")
        .unwrap();
    store
        .set_plan_status(other.id, PlanStatus::Approved)
        .unwrap();
    drop(store);
    call(&mut peer, 7, "run_start", json!({"plan_id": other.id.0}));
    let q1 = |s: &Value| {
        s["plan_run"]["report"]["tasks"][0]["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let start = Instant::now();
    loop {
        let status = call(
            &mut peer,
            8,
            "run_status",
            json!({"plan_id": other.id.0, "wait_seconds": 2}),
        );
        if q1(structured(&status)) == "IN_PROGRESS" {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "{status}");
    }
    let cancelled = call(
        &mut peer,
        9,
        "run_control",
        json!({"plan_id": other.id.0, "action": "cancel"}),
    );
    assert_eq!(
        structured(&cancelled)["plan_run"]["state"],
        "cancelled",
        "{cancelled}"
    );
    assert_eq!(q1(structured(&cancelled)), "CANCELLED");
    let out = f.cmd(&["locks", "list", "--json"]).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "[]",
        "its locks went back"
    );
    assert_eq!(
        git(&f.project.root, &["worktree", "list"]).lines().count(),
        1,
        "its worktree is gone"
    );
    assert!(!f.project.root.join("q1").exists());
    let unknown = call(&mut peer, 6, "run_start", json!({"plan_id": 99}));
    assert!(tool_error_text(&unknown).contains("99"), "{unknown}");
    peer.finish();
}

#[test]
fn outside_git_a_big_task_is_split_and_its_parts_run_in_place() {
    let f = fixture(
        vec![
            task("S", &["s/one.txt", "s/two.txt"], &[]),
            task("T", &["t/**"], &["S"]),
        ],
        |_| {
            vec![
                (
                    "S.1",
                    vec![write("s/one.txt", "one"), Step::text("S.1 done.")],
                ),
                (
                    "S.2",
                    vec![write("s/two.txt", "two"), Step::text("S.2 done.")],
                ),
                ("T", vec![write("t/t.txt", "T"), Step::text("T done.")]),
            ]
        },
        "[delegator]\nmax_files_per_task = 1\n",
    );
    // Not a git project: runs work in place, kept apart by their locks.
    std::fs::remove_dir_all(f.project.root.join(".git")).unwrap();
    let (out, report) = f.finish(f.start_run());
    assert!(out.status.success(), "{}", explain(&out));
    assert_eq!(
        report["version"], 2,
        "the split is a new plan version: {report:#}"
    );
    let keys: Vec<&str> = report["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["task"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["S.1", "S.2", "T"]);
    assert_eq!(report["completed"], 3);
    for (file, text) in [("s/one.txt", "one"), ("s/two.txt", "two"), ("t/t.txt", "T")] {
        assert_eq!(
            std::fs::read_to_string(f.project.root.join(file)).unwrap(),
            format!("{text}\n")
        );
    }
    let plan: Value = serde_json::from_slice(
        &f.cmd(&["plan", "show", &f.plan.to_string(), "--json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let t = plan["version"]["content"]["phases"][0]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["key"] == "T")
        .unwrap()
        .clone();
    assert_eq!(
        t["depends_on"],
        serde_json::json!(["S.1", "S.2"]),
        "{plan:#}"
    );
    assert!(
        plan["history"]
            .to_string()
            .contains("split S into S.1, S.2 (2 files, more than 1)"),
        "{plan:#}"
    );
}
