//! A planning session from goal to approved plan over MCP, through a real stdio pipe to the built
//! binary, with the server killed and restarted in the middle.

mod support;

use serde_json::{Value, json};
use support::{PYTHON_PROJECT, Project, StdioPeer, call, structured, tool_error_text};

fn serve(project: &Project) -> StdioPeer {
    let mut cmd = project.command();
    cmd.args(["serve"]);
    let mut peer = StdioPeer::spawn(cmd);
    peer.initialize();
    peer
}

/// The answer the test user gives to the n-th question asked on a topic (0 = the question itself).
fn answer_for(topic: &str, nth: usize) -> &'static str {
    match (topic, nth) {
        ("requirements.users", _) => "2",
        // Vague first, then clear on the follow-up.
        ("requirements.features", 0) => "idk",
        ("requirements.features", _) => {
            "Add a note with a title\nList notes, newest first\nDelete a note by its id"
        }
        ("requirements.errors", _) => "1",
        ("scope.out", _) => "none",
        ("scope.first_delivery", _) => "Every must-have feature",
        ("constraints.limits", _) => "No new third-party dependencies",
        ("constraints.protected", _) => "none",
        ("architecture.data", _) => "Files on disk (JSON, CSV)",
        ("architecture.dependencies", _) => "none",
        // Vague three times: the plan will assume instead.
        ("verification.success", 0) => "maybe",
        ("verification.success", 1) => "not sure",
        ("verification.success", _) => "",
        // Pre-filled by the analysis: confirm.
        (
            "constraints.stack"
            | "architecture.shape"
            | "verification.tests"
            | "verification.checks",
            _,
        ) => "yes",
        _ => panic!("unexpected topic {topic}"),
    }
}

/// Answers every question in `view["next_questions"]`; returns the answer report.
fn answer_batch(peer: &mut StdioPeer, id: u64, session: i64, view: &Value) -> Value {
    let answers: Vec<Value> = view["next_questions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            let topic = q["topic"].as_str().unwrap();
            let follow_ups = orchestrator::planner::questions::topic(topic)
                .unwrap()
                .follow_ups;
            let nth = follow_ups
                .iter()
                .position(|f| *f == q["text"])
                .map_or(0, |i| i + 1);
            json!({"question_id": q["id"], "answer": answer_for(topic, nth)})
        })
        .collect();
    let reply = call(
        peer,
        id,
        "plan_answer",
        json!({"session_id": session, "answers": answers}),
    );
    structured(&reply).clone()
}

fn good_draft() -> Value {
    json!({
        "goal": "A note keeper on the command line",
        "success_criteria": ["`notes add`, `notes list` and `notes delete` work from a shell"],
        "constraints": ["No new third-party dependencies"],
        "phases": [
            {"key": "storage", "name": "Storage", "tasks": [
                {"key": "T1", "title": "Keep notes in a JSON file", "description": "Load and save notes as JSON under the user's data dir.",
                 "files": ["src/notes/store.py", "tests/test_store.py"], "depends_on": [], "verification": ["pytest tests/test_store.py"]}
            ]},
            {"key": "cli", "name": "Command line", "tasks": [
                {"key": "T2", "title": "add and list", "description": "The add and list commands.",
                 "files": ["src/notes/cli.py", "tests/test_cli.py"], "depends_on": ["T1"], "verification": ["pytest", "ruff check ."]},
                {"key": "T3", "title": "delete", "description": "The delete command.",
                 "files": ["src/notes/delete.py", "tests/test_delete.py"], "depends_on": ["T1"], "verification": ["pytest"]}
            ]}
        ],
        "decisions": [
            {"key": "D1", "what": "Store notes in one JSON file", "why": "No new dependencies are allowed",
             "rejected_alternatives": [{"option": "SQLite", "reason": "More than a note list needs"}]}
        ]
    })
}

fn bad_draft() -> Value {
    let mut draft = good_draft();
    draft["success_criteria"] = json!([]);
    let tasks = &mut draft["phases"][1]["tasks"];
    tasks[0]["depends_on"] = json!(["T1", "T3"]);
    tasks[1]["depends_on"] = json!(["T2"]);
    tasks[1]["files"] = json!(["../elsewhere/delete.py"]);
    tasks[1]["verification"] = json!([]);
    draft["phases"][0]["tasks"][0]["depends_on"] = json!(["T9"]);
    draft
}

#[test]
fn a_goal_becomes_an_approved_plan_over_mcp_across_a_restart() {
    let project = Project::new();
    support::write_files(&project.root, PYTHON_PROJECT);
    let mut peer = serve(&project);

    // Start: the analysis pre-fills what the repository already says.
    let reply = call(
        &mut peer,
        1,
        "plan_start",
        json!({"goal": "A note keeper on the command line"}),
    );
    let view = structured(&reply).clone();
    let session = view["session"]["id"].as_i64().unwrap();
    assert_eq!(view["session"]["status"], "GATHERING_REQUIREMENTS");
    let analysis = &view["analysis"];
    assert_eq!(analysis["languages"], json!(["Python"]), "{analysis}");
    let commands = |key: &str| -> Vec<String> {
        analysis[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["command"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(commands("test_tools"), ["pytest"]);
    assert_eq!(commands("lint_tools"), ["ruff check ."]);
    assert_eq!(commands("type_checkers"), ["mypy ."]);
    assert_eq!(analysis["ci"], json!([".github/workflows/ci.yml"]));
    assert_eq!(analysis["docs"], json!(["README.md"]));
    let topics = view["topics"].as_array().unwrap();
    assert!((10..=15).contains(&topics.len()), "{} topics", topics.len());
    assert_eq!(view["next_questions"].as_array().unwrap().len(), 5);
    assert_eq!(view["open_questions"], topics.len());
    let first = &view["next_questions"][0];
    for field in ["id", "category", "text", "why", "suggestions"] {
        assert!(!first[field].is_null(), "{field} missing: {first}");
    }

    // First batch, including a vague answer that gets a follow-up.
    let report = answer_batch(&mut peer, 2, session, &view);
    let follow_ups = report["follow_ups"].as_array().unwrap();
    assert_eq!(follow_ups.len(), 1, "{report}");
    assert_eq!(follow_ups[0]["topic"], "requirements.features");
    let vague: Vec<&Value> = report["recorded"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["vague"].is_null())
        .collect();
    assert_eq!(vague.len(), 1);
    // The follow-up comes first in the next batch: it continues the thread just answered.
    assert_eq!(
        report["session"]["next_questions"][0]["id"],
        follow_ups[0]["id"]
    );

    // An answer's result says what is new, not what was seen: the whole session is one call away.
    assert!(report["session"].get("analysis").is_none(), "{report}");
    let before = structured(&call(
        &mut peer,
        30,
        "plan_get",
        json!({"session_id": session}),
    ))["session"]
        .clone();
    assert!(before["analysis"].is_object() && before["topics"].is_array());

    // The orchestrator is killed; a new one resumes the same session from the store.
    peer.child.kill().unwrap();
    peer.child.wait().unwrap();
    let mut peer = serve(&project);
    let reply = call(&mut peer, 3, "plan_get", json!({"session_id": session}));
    let resumed = structured(&reply)["session"].clone();
    assert_eq!(
        resumed["next_questions"],
        report["session"]["next_questions"]
    );
    assert_eq!(resumed["topics"], before["topics"]);
    // Listing shows the open session beside the plans.
    let listed = call(&mut peer, 4, "plan_get", json!({}));
    assert_eq!(structured(&listed)["sessions"][0]["id"], session);
    assert!(structured(&listed)["plans"].is_array());

    // A draft before the interview is over is refused.
    let early = call(
        &mut peer,
        5,
        "plan_submit",
        json!({"session_id": session, "draft": good_draft()}),
    );
    assert!(tool_error_text(&early).contains("still gathering requirements"));

    let mut view = resumed;
    let mut id = 10;
    while view["session"]["status"] == "GATHERING_REQUIREMENTS" {
        assert!(id < 30, "the interview does not end: {view}");
        view = answer_batch(&mut peer, id, session, &view)["session"].clone();
        id += 1;
    }
    assert_eq!(view["session"]["status"], "DESIGNING", "{view}");
    // Every topic's answer: the whole session, one call away.
    let view = structured(&call(
        &mut peer,
        90,
        "plan_get",
        json!({"session_id": session}),
    ))["session"]
        .clone();
    let topic = |key: &str| {
        view["topics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["topic"] == key)
            .unwrap()
            .clone()
    };
    assert_eq!(topic("verification.tests")["answer"], "pytest");
    assert_eq!(
        topic("requirements.users")["answer"],
        "People, through a command line"
    );
    assert!(
        topic("requirements.features")["answer"]
            .as_str()
            .unwrap()
            .contains("Delete a note")
    );
    let success = topic("verification.success");
    assert!(
        success["answer"].is_null() && success["assumed"].is_string(),
        "{success}"
    );
    let brief = view["brief"].as_str().unwrap();
    assert!(brief.contains("List notes, newest first"), "{brief}");
    assert!(
        brief.contains("A tiny note keeper"),
        "research reads the README: {brief}"
    );
    assert!(view["research"]["findings"].as_array().unwrap().len() >= 3);

    // A broken draft comes back with each problem located.
    let reply = call(
        &mut peer,
        40,
        "plan_submit",
        json!({"session_id": session, "draft": bad_draft()}),
    );
    let report = structured(&reply);
    assert_eq!(report["accepted"], false);
    let problems: Vec<String> = report["session"]["draft"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{} | {} | {}",
                p["location"].as_str().unwrap(),
                p["message"].as_str().unwrap(),
                p["fix"].as_str().unwrap()
            )
        })
        .collect();
    let has = |needle: &str| problems.iter().any(|p| p.contains(needle));
    assert!(has("success_criteria"), "{problems:#?}");
    assert!(
        has("phases[0] (storage).tasks[0] (T1).depends_on[0] | `T9` is not a task"),
        "{problems:#?}"
    );
    assert!(
        !has("(T2).depends_on[0]"),
        "T2 on T1 is fine: {problems:#?}"
    );
    assert_eq!(problems.len(), 5, "{problems:#?}");
    assert!(
        has("cycle: T2 → T3 → T2") || has("cycle: T3 → T2 → T3"),
        "{problems:#?}"
    );
    assert!(
        has("tasks[1] (T3).files[0] | `../elsewhere/delete.py` leads outside the project"),
        "{problems:#?}"
    );
    assert!(has("tasks[1] (T3).verification"), "{problems:#?}");
    assert_eq!(report["session"]["session"]["status"], "DESIGNING");
    let early = call(
        &mut peer,
        41,
        "plan_approve",
        json!({"session_id": session}),
    );
    assert!(tool_error_text(&early).contains("not REVIEWING"));

    // A valid draft goes up for review with its dependency order.
    let reply = call(
        &mut peer,
        42,
        "plan_submit",
        json!({"session_id": session, "draft": good_draft()}),
    );
    let report = structured(&reply);
    assert_eq!(report["accepted"], true, "{report}");
    assert_eq!(report["session"]["draft"]["source"], "mcp_client");
    // The interview's assumption is recorded in the client's own draft too.
    assert_eq!(
        report["session"]["draft"]["content"]["decisions"][1]["key"], "assumed-2",
        "{report}"
    );
    assert!(
        report["session"]["draft"]["content"]["decisions"][1]["what"]
            .as_str()
            .unwrap()
            .starts_with("Assumed: "),
        "{report}"
    );
    assert_eq!(report["session"]["session"]["status"], "REVIEWING");
    assert_eq!(
        report["session"]["dependency_order"],
        json!([["T1"], ["T2", "T3"]])
    );

    // A decision during review makes a new draft that stays reviewable.
    let reply = call(
        &mut peer,
        43,
        "plan_decide",
        json!({
            "session_id": session, "what": "Use argparse", "why": "It is in the standard library",
            "rejected_alternatives": [{"option": "click", "reason": "a new dependency"}]
        }),
    );
    let decided = structured(&reply);
    assert_eq!(decided["draft"]["session"]["draft"]["number"], 3);
    assert_eq!(
        decided["draft"]["session"]["draft"]["content"]["decisions"][2]["key"],
        "D3"
    );
    assert_eq!(
        decided["draft"]["session"]["session"]["status"],
        "REVIEWING"
    );

    // Approval freezes version 1.
    let reply = call(
        &mut peer,
        44,
        "plan_approve",
        json!({"session_id": session, "title": "Notes CLI"}),
    );
    let plan = structured(&reply).clone();
    let plan_id = plan["plan"]["id"].as_i64().unwrap();
    assert_eq!(plan["plan"]["status"], "APPROVED");
    assert_eq!(plan["plan"]["title"], "Notes CLI");
    assert_eq!(plan["version"]["version"], 1);
    assert_eq!(
        plan["version"]["content"]["decisions"][2]["what"],
        "Use argparse"
    );
    assert_eq!(plan["plan"]["session_id"], session);
    let again = call(
        &mut peer,
        45,
        "plan_approve",
        json!({"session_id": session}),
    );
    assert!(tool_error_text(&again).contains(&format!("approved already as plan {plan_id}")));
    let late = call(
        &mut peer,
        46,
        "plan_answer",
        json!({"session_id": session, "answers": [{"question_id": first["id"], "answer": "x"}]}),
    );
    assert!(tool_error_text(&late).contains("can no longer change"));

    // A decision on the approved plan is its version 2.
    let reply = call(
        &mut peer,
        47,
        "plan_decide",
        json!({
            "plan_id": plan_id, "what": "Support Python 3.10+", "why": "The oldest maintained version"
        }),
    );
    assert_eq!(structured(&reply)["version"]["version"], 2, "{reply}");
    assert_eq!(structured(&reply)["version"]["note"], "decision D4 added");
    let reply = call(&mut peer, 48, "plan_get", json!({"plan_id": plan_id}));
    let read = &structured(&reply)["plan"];
    assert_eq!(read["plan"]["current_version"], 2);
    assert_eq!(
        read["version"]["content"]["decisions"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert_eq!(read["task_status"]["T2"], "PENDING");
    let both = call(
        &mut peer,
        49,
        "plan_decide",
        json!({"plan_id": plan_id, "session_id": session, "what": "x", "why": "y"}),
    );
    assert!(tool_error_text(&both).contains("exactly one"));
    let nul = call(
        &mut peer,
        50,
        "plan_decide",
        json!({"plan_id": plan_id, "what": "\u{0}", "why": "y"}),
    );
    assert!(tool_error_text(&nul).contains("what"), "{nul}");
    assert!(peer.finish().success());
}

#[test]
fn the_offline_skeleton_and_answer_revisions_work_over_mcp() {
    let project = Project::new();
    let mut peer = serve(&project);
    // Text of nothing but NULs and blanks says nothing.
    let nul = call(&mut peer, 80, "plan_start", json!({"goal": "\u{0}\u{0} "}));
    assert!(tool_error_text(&nul).contains("the goal is empty"), "{nul}");
    let reply = call(
        &mut peer,
        1,
        "plan_start",
        json!({"goal": "A URL shortener with an HTTP API"}),
    );
    let mut view = structured(&reply).clone();
    let session = view["session"]["id"].as_i64().unwrap();
    // This client declared no elicitation: no forms are offered, and asking for them is refused.
    assert!(!view["next_step"].as_str().unwrap().contains("ask_user"));
    let forms = call(
        &mut peer,
        90,
        "plan_answer",
        json!({"session_id": session, "ask_user": true}),
    );
    assert!(tool_error_text(&forms).contains("did not declare the elicitation capability"));
    let nothing = call(&mut peer, 91, "plan_answer", json!({"session_id": session}));
    assert!(tool_error_text(&nothing).contains("no answers given"));
    // An empty folder: nothing to pre-fill.
    assert_eq!(view["analysis"]["files_seen"], 0);
    assert!(
        view["topics"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["answer"].is_null())
    );
    assert!(
        view["next_questions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|q| q["prefilled"].is_null())
    );

    let mut id = 2;
    while view["session"]["status"] == "GATHERING_REQUIREMENTS" {
        let answers: Vec<Value> = view["next_questions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| {
                let answer = match q["topic"].as_str().unwrap() {
                    "requirements.features" => {
                        "Shorten a URL; Redirect a short code; Show click counts"
                    }
                    "constraints.stack" => "Python with FastAPI",
                    "architecture.shape" => "src/shortener/ for the app, tests/ for the tests",
                    "verification.tests" => "pytest",
                    "verification.checks" => "ruff check ., mypy .",
                    "verification.success" => "A shortened URL redirects; unknown codes give 404",
                    _ => "1",
                };
                json!({"question_id": q["id"], "answer": answer})
            })
            .collect();
        let reply = call(
            &mut peer,
            id,
            "plan_answer",
            json!({"session_id": session, "answers": answers}),
        );
        view = structured(&reply)["session"].clone();
        id += 1;
    }
    assert_eq!(view["session"]["status"], "DESIGNING");

    // No draft: the skeleton, built from the answers, is valid and reviewable.
    let reply = call(&mut peer, 50, "plan_submit", json!({"session_id": session}));
    let report = structured(&reply).clone();
    assert_eq!(report["accepted"], true, "{report}");
    assert_eq!(report["session"]["draft"]["source"], "skeleton");
    // The draft once, without the brief and analysis the caller already had.
    let text = serde_json::to_string(&report).unwrap();
    assert_eq!(text.matches("\"source\":\"skeleton\"").count(), 1, "{text}");
    assert!(report.get("draft").is_none() && report["session"].get("brief").is_none());
    let content = &report["session"]["draft"]["content"];
    let titles: Vec<&str> = content["phases"][1]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "Shorten a URL",
            "Redirect a short code",
            "Show click counts"
        ]
    );
    assert_eq!(
        content["phases"][0]["tasks"][0]["files"],
        json!(["src/shortener/**", "tests/**", "pyproject.toml"])
    );
    assert_eq!(
        content["phases"][1]["tasks"][0]["verification"],
        json!(["pytest", "ruff check .", "mypy ."])
    );
    assert_eq!(content["success_criteria"][0], "A shortened URL redirects");

    // Revising an answer in review sends the session back through the interview to design.
    let view = structured(&call(
        &mut peer,
        91,
        "plan_get",
        json!({"session_id": session}),
    ))["session"]
        .clone();
    let features = view["topics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["topic"] == "requirements.features")
        .unwrap()["question_id"]
        .clone();
    let reply = call(
        &mut peer,
        51,
        "plan_answer",
        json!({"session_id": session, "answers": [{"question_id": features, "answer": "Shorten a URL; Redirect a short code"}]}),
    );
    let revised = structured(&reply)["session"].clone();
    assert_eq!(revised["session"]["status"], "DESIGNING");
    let reply = call(&mut peer, 52, "plan_submit", json!({"session_id": session}));
    let report = structured(&reply);
    assert_eq!(report["session"]["draft"]["number"], 2);
    assert_eq!(
        report["session"]["draft"]["content"]["phases"][1]["tasks"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Bad input gets clear errors.
    let unknown = call(
        &mut peer,
        53,
        "plan_answer",
        json!({"session_id": session, "answers": [{"question_id": 99999, "answer": "x"}]}),
    );
    assert!(tool_error_text(&unknown).contains("not part of planning session"));
    let missing = call(&mut peer, 54, "plan_get", json!({"session_id": 424242}));
    assert!(tool_error_text(&missing).contains("424242"));
    let empty = call(&mut peer, 55, "plan_start", json!({"goal": "   "}));
    assert!(tool_error_text(&empty).contains("goal is empty"));
    let wrong = call(
        &mut peer,
        56,
        "plan_submit",
        json!({"session_id": session, "draft": {"goal": "x", "surprise": 1}}),
    );
    assert!(tool_error_text(&wrong).contains("surprise"), "{wrong}");
    assert!(peer.finish().success());
}
