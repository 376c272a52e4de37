//! The web dashboard over real HTTP: the built binary's `dashboard` command, every endpoint, the
//! live event streams, and what is refused (a foreign Host, a request without the page's header or
//! from another origin, a missing or wrong token).

mod support;

use std::time::Duration;

use orchestrator::domain::{
    CheckResult, Finding, LockMode, PlanStatus, RunEventData, RunStatus, Severity, Timestamp,
};
use orchestrator::store::{NewApproval, NewLease, NewReport, NewRun};
use serde_json::{Value, json};
use support::{Dashboard, Project};

fn start(project: &Project, args: &[&str]) -> Dashboard {
    let mut cmd = project.command();
    cmd.arg("dashboard").args(args);
    Dashboard::start(cmd)
}

fn client() -> reqwest::Client {
    orchestrator::install_tls_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// A project with an approved plan of two versions, a run with events, a waiting approval, a
/// lock, a knowledge source and a skill.
fn seeded() -> Project {
    let project = Project::new();
    support::write_files(
        &project.root,
        &[(
            ".claude/skills/review/SKILL.md",
            "---\nname: review\ndescription: Review a change\n---\nbody\n",
        )],
    );
    let plan = project.seed_plan();
    let store = project.store();
    store.set_plan_status(plan, PlanStatus::Approved).unwrap();
    let run = support::run_in_progress(&store, plan, "claude");
    store
        .append_event(
            run.id,
            &RunEventData::ToolUse {
                id: "toolu_1".into(),
                name: "Bash".into(),
                input: json!({"command": "cargo test"}),
            },
        )
        .unwrap();
    store
        .create_approval(&NewApproval {
            run_id: run.id,
            tool_name: "Bash".into(),
            input: json!({"command": "make deploy"}),
            reason: "`make deploy` runs a build target the policy does not know".into(),
            grants: vec!["Bash(make deploy)".into()],
            expires_at: Timestamp::now().plus(Duration::from_secs(3600)),
        })
        .unwrap();
    store
        .create_approval(&NewApproval {
            run_id: run.id,
            tool_name: "Bash".into(),
            input: json!({"command": "curl https://example.org"}),
            reason: "curl reaches the network".into(),
            grants: vec![],
            expires_at: Timestamp::now().plus(Duration::from_secs(3600)),
        })
        .unwrap();
    let project_id = store.ensure_project(&project.root, "project").unwrap().id;
    store
        .acquire_leases(
            &[NewLease {
                project_id,
                pattern: "src/**".into(),
                mode: LockMode::Exclusive,
                owner: "engine-a".into(),
                run_id: Some(run.id),
                expires_at: Timestamp::now().plus(Duration::from_secs(3600)),
            }],
            orchestrator::delegator::locks::lease_conflicts,
        )
        .unwrap()
        .unwrap();
    store
        .add_kb_source(project_id, "/docs/somewhere", "folder")
        .unwrap();
    store
        .save_report(&NewReport {
            project_id,
            run_id: Some(run.id),
            commit: Some("abc123".into()),
            dirty: false,
            base_commit: None,
            started_at: Timestamp::now(),
            finished_at: Timestamp::now(),
            checks: vec![CheckResult {
                name: "ruff".into(),
                passed: false,
                exit_code: Some(1),
                duration_ms: 120,
                error: None,
                findings: vec![Finding {
                    file: Some("app.py".into()),
                    line: Some(3),
                    column: Some(1),
                    rule: Some("F401".into()),
                    severity: Severity::Error,
                    message: "`os` imported but unused".into(),
                }],
                tests: None,
                output_tail: "Found 1 error.".into(),
            }],
        })
        .unwrap();
    project
}

async fn get(client: &reqwest::Client, url: &str) -> (u16, Value) {
    let response = client.get(url).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A POST as the dashboard's own page sends it: JSON, with its `X-Orchestrator` header.
fn from_page(client: &reqwest::Client, url: &str, body: &Value) -> reqwest::RequestBuilder {
    client.post(url).header("X-Orchestrator", "1").json(body)
}

/// Reads server-sent events until `enough` says stop; returns (event name, data) pairs.
async fn read_events(
    response: reqwest::Response,
    enough: impl Fn(&[(String, String)]) -> bool,
) -> Vec<(String, String)> {
    EventReader::new(response).until(enough).await.to_vec()
}

/// An open event stream, read as far as needed, then further.
struct EventReader {
    response: reqwest::Response,
    buffer: String,
    events: Vec<(String, String)>,
}

impl EventReader {
    fn new(response: reqwest::Response) -> Self {
        Self {
            response,
            buffer: String::new(),
            events: Vec::new(),
        }
    }

    /// Every (event name, data) pair read so far, once `enough` says so.
    async fn until(&mut self, enough: impl Fn(&[(String, String)]) -> bool) -> &[(String, String)] {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !enough(&self.events) {
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .expect("events in time")
                .unwrap()
                .expect("the stream stays open");
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = "message".to_owned();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(n) = line.strip_prefix("event:") {
                        name = n.trim().to_owned();
                    } else if let Some(d) = line.strip_prefix("data:") {
                        data.push_str(d.trim_start());
                    }
                }
                if !data.is_empty() {
                    self.events.push((name, data));
                }
            }
        }
        &self.events
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_answers_and_changes_need_the_pages_own_request() {
    let project = seeded();
    let dash = start(&project, &["--addr", "127.0.0.1:0"]);
    assert!(dash.token.is_none(), "no token on loopback unless asked");
    let c = client();
    let u = |p: &str| format!("{}{}", dash.url.trim_end_matches('/'), p);

    // The page and its assets, embedded in the binary.
    let page = c.get(u("/")).send().await.unwrap();
    assert_eq!(
        page.headers()["content-security-policy"],
        "default-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:"
    );
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("<script src=\"/app.js\"")
    );
    assert!(
        c.get(u("/app.js"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains("function render()")
    );
    assert!(
        c.get(u("/app.css"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .contains(".events")
    );

    let (status, overview) = get(&c, &u("/api/overview")).await;
    assert_eq!(status, 200);
    assert_eq!(overview["approvals_waiting"], 2);
    assert_eq!(overview["runs_active"], 1);
    assert_eq!(overview["plans"][0]["plan"]["title"], "Health endpoint");
    assert_eq!(
        (
            overview["plans"][0]["tasks"].as_u64(),
            overview["plans"][0]["running"].as_u64()
        ),
        (Some(3), Some(1))
    );

    let (status, plan) = get(&c, &u("/api/plans/1")).await;
    assert_eq!(status, 200);
    assert_eq!(plan["view"]["version"]["version"], 2);
    assert_eq!(plan["run"]["report"]["tasks"][0]["status"], "IN_PROGRESS");
    assert_eq!(plan["runs"][0]["id"], 1);
    // The page says which task waits for a person, and where.
    assert_eq!(plan["waiting"][0]["task"], "T1", "{plan}");
    assert_eq!(plan["waiting"][0]["run_id"], 1);
    let (_, v1) = get(&c, &u("/api/plans/1?version=1")).await;
    assert_eq!(
        v1["view"]["version"]["content"]["goal"],
        "Add a health endpoint"
    );
    let (status, diff) = get(&c, &u("/api/plans/1/diff?from=1&to=2")).await;
    assert_eq!(status, 200);
    assert!(diff.to_string().contains("readiness"), "{diff}");
    assert_eq!(get(&c, &u("/api/plans/99")).await.0, 404);
    assert_eq!(
        get(&c, &u("/api/plans/1/diff?from=1")).await.0,
        400,
        "a missing parameter"
    );

    let (status, run) = get(&c, &u("/api/runs/1")).await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            run["view"]["run"]["status"].as_str(),
            run["view"]["waiting_approvals"].as_u64()
        ),
        (Some("IN_PROGRESS"), Some(2))
    );
    // Its verification, with findings by file and line.
    let finding = &run["reports"][0]["checks"][0]["findings"][0];
    assert_eq!(
        (
            finding["file"].as_str(),
            finding["line"].as_u64(),
            finding["rule"].as_str()
        ),
        (Some("app.py"), Some(3), Some("F401"))
    );
    assert_eq!(run["reports"][0]["passed"], false);
    assert_eq!(get(&c, &u("/api/runs/99")).await.0, 404);
    assert_eq!(get(&c, &u("/api/runs/99/events")).await.0, 404);

    let (_, waiting) = get(&c, &u("/api/approvals")).await;
    assert_eq!(waiting.as_array().unwrap().len(), 2);
    // A card can say which task of which plan asks.
    assert_eq!(
        (
            waiting[0]["plan_id"].as_i64(),
            waiting[0]["task_key"].as_str(),
            waiting[0]["task_title"].as_str()
        ),
        (Some(1), Some("T1"), Some("Task T1")),
        "{waiting}"
    );
    let (_, locks) = get(&c, &u("/api/locks")).await;
    assert_eq!(locks[0]["pattern"], "src/**");
    let (_, knowledge) = get(&c, &u("/api/knowledge")).await;
    assert_eq!(knowledge["sources"][0]["location"], "/docs/somewhere");
    assert_eq!(knowledge["skills"][0]["name"], "review");
    assert_eq!(get(&c, &u("/api/nothing")).await.0, 404);

    // Answering: only from the page itself.
    let post = |path: &str, body: Value| c.post(u(path)).json(&body);
    let bare = post("/api/approvals/1", json!({"decision": "approve"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        bare.status().as_u16(),
        403,
        "no X-Orchestrator header: another site's form"
    );
    let foreign = post("/api/approvals/1", json!({"decision": "approve"}))
        .header("X-Orchestrator", "1")
        .header("Origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status().as_u16(), 403, "another origin");
    let spoofed = c
        .get(u("/api/overview"))
        .header("Host", "evil.example:80")
        .send()
        .await
        .unwrap();
    assert_eq!(
        spoofed.status().as_u16(),
        421,
        "DNS rebinding: a foreign Host"
    );
    let nonsense = post("/api/approvals/1", json!({"decision": "maybe"}))
        .header("X-Orchestrator", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(nonsense.status().as_u16(), 400);
    let unexplained = post("/api/approvals/2", json!({"decision": "deny"}))
        .header("X-Orchestrator", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        unexplained.status().as_u16(),
        422,
        "a denial needs a reason"
    );

    // The approvals stream shows the queue, then every change, whoever answers.
    let stream = c.get(u("/api/approvals/stream")).send().await.unwrap();
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let origin = dash.url.trim_end_matches('/').to_owned();
    let answered = post(
        "/api/approvals/1",
        json!({"decision": "approve_always", "by": "Ada"}),
    )
    .header("X-Orchestrator", "1")
    .header("Origin", origin.as_str())
    .send()
    .await
    .unwrap();
    assert_eq!(answered.status().as_u16(), 200);
    let answered: Value = answered.json().await.unwrap();
    assert_eq!(
        (answered["status"].as_str(), answered["decided_by"].as_str()),
        (Some("APPROVED"), Some("Ada (dashboard)")),
        "the audit log says who answered"
    );
    // Another process (the CLI) denies the second: the stream hears it too.
    let out = project
        .command()
        .args(["deny", "2", "--reason", "no network here"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = read_events(stream, |e| e.last().is_some_and(|(_, d)| d == "[]")).await;
    assert!(events.iter().all(|(name, _)| name == "approvals"));
    assert!(events.len() >= 2, "{events:?}");
    let (_, all) = get(&c, &u("/api/approvals?all=true")).await;
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .any(|a| a["status"] == "DENIED" && a["decision_reason"] == "no network here")
    );
    assert_eq!(
        get(&c, &u("/api/approvals/1")).await.0,
        405,
        "answers are POSTed"
    );
    let again = post(
        "/api/approvals/1",
        json!({"decision": "deny", "reason": "late"}),
    )
    .header("X-Orchestrator", "1")
    .send()
    .await
    .unwrap();
    assert_eq!(
        again.status().as_u16(),
        422,
        "an answered request cannot be answered again"
    );
}

/// A tab follows everything its page shows through one stream (browsers allow six connections
/// to a host; a stream per topic hung a third tab and kept a fourth from loading).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_stream_carries_every_topic_a_page_follows() {
    let project = seeded();
    let dash = start(&project, &["--addr", "127.0.0.1:0"]);
    let c = client();
    let stream = c
        .get(format!(
            "{}api/stream?approvals=true&overview=true&plan=1&run=1",
            dash.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status().as_u16(), 200);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    let mut reader = EventReader::new(stream);
    let names = |e: &[(String, String)]| -> std::collections::BTreeSet<String> {
        e.iter().map(|(n, _)| n.clone()).collect()
    };
    let events = reader.until(|e| names(e).len() == 4).await.to_vec();
    assert_eq!(
        names(&events).into_iter().collect::<Vec<_>>(),
        ["approvals", "overview", "plan", "run_event"]
    );
    // A topic that names nothing of this project is refused as a whole.
    assert_eq!(
        get(&c, &format!("{}api/stream?plan=99", dash.url)).await.0,
        404
    );
    assert_eq!(
        get(&c, &format!("{}api/stream?run=99&approvals=true", dash.url))
            .await
            .0,
        404
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runs_events_arrive_live() {
    let project = seeded();
    let dash = start(&project, &["--addr", "127.0.0.1:0"]);
    let c = client();
    let stream = c
        .get(format!("{}api/runs/1/events", dash.url))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status().as_u16(), 200);
    let plan = c
        .get(format!("{}api/plans/1/stream", dash.url))
        .send()
        .await
        .unwrap();
    assert_eq!(plan.headers()["content-type"], "text/event-stream");
    let overview = c
        .get(format!("{}api/overview/stream", dash.url))
        .send()
        .await
        .unwrap();
    let mut run_events = EventReader::new(stream);
    let mut plan_events = EventReader::new(plan);
    let mut overview_events = EventReader::new(overview);
    let active = |data: &str| serde_json::from_str::<Value>(data).unwrap()["runs_active"].as_u64();
    assert_eq!(
        active(&overview_events.until(|e| !e.is_empty()).await[0].1),
        Some(1)
    );
    // The backlog first, and the plan as it stands.
    run_events.until(|e| !e.is_empty()).await;
    let first: Value =
        serde_json::from_str(&plan_events.until(|e| !e.is_empty()).await[0].1).unwrap();
    assert_eq!(first["run"]["report"]["tasks"][0]["status"], "IN_PROGRESS");
    // Then an event logged by another process arrives on the open stream, and the end of the
    // run closes it; the plan's stream sends the task's new state.
    let store = project.store();
    store
        .append_event(
            orchestrator::domain::RunId(1),
            &RunEventData::AssistantText {
                text: "All tests pass.".into(),
            },
        )
        .unwrap();
    for status in [RunStatus::Verifying, RunStatus::Completed] {
        store
            .set_run_status(orchestrator::domain::RunId(1), status, None)
            .unwrap();
    }
    let events = run_events
        .until(|e| e.iter().any(|(name, _)| name == "end"))
        .await
        .to_vec();
    let task_state = |data: &str| {
        serde_json::from_str::<Value>(data).unwrap()["run"]["report"]["tasks"][0]["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let states: Vec<String> = plan_events
        .until(|e| e.iter().any(|(_, d)| task_state(d) != "IN_PROGRESS"))
        .await
        .iter()
        .map(|(name, d)| {
            assert_eq!(name, "plan");
            task_state(d)
        })
        .collect();
    assert_eq!(
        states.last().map(String::as_str),
        Some("COMPLETED"),
        "{states:?}"
    );
    let overviews = overview_events
        .until(|e| e.iter().any(|(_, d)| active(d) == Some(0)))
        .await;
    assert!(overviews.iter().all(|(name, _)| name == "overview"));
    assert_eq!(
        get(&c, &format!("{}api/plans/99/stream", dash.url)).await.0,
        404
    );
    let kinds: Vec<String> = events
        .iter()
        .filter(|(n, _)| n == "run_event")
        .map(|(_, d)| {
            serde_json::from_str::<Value>(d).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(kinds.first().map(String::as_str), Some("status"));
    assert!(
        kinds.contains(&"tool_use".to_owned()) && kinds.contains(&"assistant_text".to_owned()),
        "{kinds:?}"
    );
    assert_eq!(
        events.last().unwrap(),
        &("end".to_owned(), "COMPLETED".to_owned())
    );
    // Resuming after a sequence number sends only what came later.
    let later = c
        .get(format!("{}api/runs/1/events?after=5", dash.url))
        .send()
        .await
        .unwrap();
    let rest = read_events(later, |e| e.iter().any(|(n, _)| n == "end")).await;
    assert!(rest.iter().filter(|(n, _)| n == "run_event").all(|(_, d)| {
        serde_json::from_str::<Value>(d).unwrap()["seq"]
            .as_u64()
            .unwrap()
            > 5
    }));
    // A browser reconnecting says where it was with Last-Event-ID: nothing is sent twice.
    let reconnected = c
        .get(format!("{}api/runs/1/events", dash.url))
        .header("Last-Event-ID", "5")
        .send()
        .await
        .unwrap();
    let again = read_events(reconnected, |e| e.iter().any(|(n, _)| n == "end")).await;
    let seqs: Vec<u64> = again
        .iter()
        .filter(|(n, _)| n == "run_event")
        .map(|(_, d)| {
            serde_json::from_str::<Value>(d).unwrap()["seq"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert!(!seqs.is_empty() && seqs.iter().all(|s| *s > 5), "{seqs:?}");

    // An escalated run's stream ends too (it used to spin without end), and closes.
    let escalated = store
        .create_run(&orchestrator::store::NewRun {
            plan_id: orchestrator::domain::PlanId(1),
            task_key: "T2".into(),
            agent: "claude".into(),
        })
        .unwrap();
    for status in [
        RunStatus::Delegated,
        RunStatus::InProgress,
        RunStatus::Failed,
        RunStatus::Escalated,
    ] {
        store.set_run_status(escalated.id, status, None).unwrap();
    }
    let stream = c
        .get(format!("{}api/runs/{}/events", dash.url, escalated.id))
        .send()
        .await
        .unwrap();
    let mut reader = EventReader::new(stream);
    let events = reader
        .until(|e| e.iter().any(|(n, _)| n == "end"))
        .await
        .to_vec();
    assert_eq!(
        events.last().unwrap(),
        &("end".to_owned(), "ESCALATED".to_owned())
    );
    let closed = tokio::time::timeout(Duration::from_secs(10), reader.response.chunk())
        .await
        .expect("the stream closes after its end")
        .unwrap();
    assert!(closed.is_none(), "nothing follows the end: {closed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_loopback_or_with_a_token_every_api_request_needs_it() {
    let project = seeded();
    let c = client();
    // Another address: a token is made up and printed once; nothing answers without it.
    let open = start(&project, &["--addr", "0.0.0.0:0"]);
    let token = open.token.clone().expect("a token is printed");
    assert!(token.len() >= 32);
    let port = open
        .url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    let base = format!("http://127.0.0.1:{port}");
    // Every endpoint refuses a request without the token, or with a wrong one, and answers
    // with it.
    for path in [
        "/api/overview",
        "/api/overview/stream",
        "/api/plans/1",
        "/api/plans/1/stream",
        "/api/plans/1/diff?from=1&to=2",
        "/api/runs/1",
        "/api/runs/1/events",
        "/api/approvals",
        "/api/approvals?all=true",
        "/api/approvals/stream",
        "/api/locks",
        "/api/knowledge",
    ] {
        let url = format!("{base}{path}");
        let status = |r: reqwest::Response| r.status().as_u16();
        assert_eq!(
            status(c.get(&url).send().await.unwrap()),
            401,
            "{path} without the token"
        );
        assert_eq!(
            status(c.get(&url).bearer_auth("nope").send().await.unwrap()),
            401,
            "{path} with a wrong token"
        );
        assert_eq!(
            status(c.get(&url).bearer_auth(&token).send().await.unwrap()),
            200,
            "{path} with the token"
        );
    }
    for path in [
        "/api/approvals/1",
        "/api/runs/1/control",
        "/api/plans/1/control",
    ] {
        let refused = from_page(
            &c,
            &format!("{base}{path}"),
            &json!({"action": "cancel", "decision": "approve"}),
        )
        .send()
        .await
        .unwrap();
        assert_eq!(
            refused.status().as_u16(),
            401,
            "POST {path} without the token"
        );
    }
    let refused: Value = c
        .get(format!("{base}/api/overview"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        refused["error"].as_str().unwrap().contains("token"),
        "the refusal says what is missing: {refused}"
    );
    assert_eq!(
        c.get(format!("{base}/"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200,
        "the page itself holds nothing"
    );
    let stream = c
        .get(format!("{base}/api/approvals/stream?token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        stream.status().as_u16(),
        200,
        "event streams take the token in the query"
    );
    drop(stream);
    let approve = || {
        from_page(
            &c,
            &format!("{base}/api/approvals/1"),
            &json!({"decision": "approve"}),
        )
    };
    let post = approve().send().await.unwrap();
    assert_eq!(post.status().as_u16(), 401, "changes need the token too");
    let post = approve().bearer_auth(&token).send().await.unwrap();
    assert_eq!(post.status().as_u16(), 200);
    drop(open);

    // On loopback with a token given: the same rules, and the token is never printed.
    let guarded = start(
        &project,
        &[
            "--addr",
            "127.0.0.1:0",
            "--token",
            "correct horse battery staple",
        ],
    );
    assert_eq!(guarded.token, None);
    assert_eq!(get(&c, &format!("{}api/locks", guarded.url)).await.0, 401);
    let ok = c
        .get(format!("{}api/locks", guarded.url))
        .bearer_auth("correct horse battery staple")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
}

/// `serve --dashboard`: the MCP server on stdio and the dashboard in one process, one engine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_runs_the_dashboard_beside_the_mcp_server() {
    let project = seeded();
    let mut cmd = project.command();
    cmd.args(["serve", "--dashboard", "127.0.0.1:0"]);
    let (mut peer, stderr) = support::StdioPeer::spawn_with_stderr(cmd);
    let (url, _) = loop {
        let line = stderr
            .recv_timeout(Duration::from_secs(30))
            .expect("the dashboard's address on stderr");
        if let Some(found) = support::dashboard_address(&line) {
            break found;
        }
    };
    let c = client();
    let answered = from_page(
        &c,
        &format!("{url}api/approvals/1"),
        &json!({"decision": "approve"}),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(answered.status().as_u16(), 200);
    // The MCP side sees the answer the dashboard gave.
    let listed = tokio::task::spawn_blocking(move || {
        peer.initialize();
        let listed = support::call(&mut peer, 1, "approvals", json!({}));
        assert!(peer.finish().success(), "serve exits when stdin closes");
        listed
    })
    .await
    .unwrap();
    let requests = support::structured(&listed)["requests"].clone();
    assert_eq!(requests.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(requests[0]["id"], 2);
}

/// A person's decisions from the dashboard: cancel a run (its locks released, what it waited for
/// withdrawn), retry an escalated one (supervised by the dashboard's process), and what is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_and_plan_runs_are_controlled_from_the_dashboard() {
    let project = seeded();
    // The retried run's agent: a script that finishes at once.
    std::fs::write(
        project.root.join("orchestrator.toml"),
        "[agent]\ncommand = \"sh\"\nkind = \"command\"\nargs = [\"-c\", \"exit 0\"]\n",
    )
    .unwrap();
    let store = project.store();
    let escalated = store
        .create_run(&NewRun {
            plan_id: orchestrator::domain::PlanId(1),
            task_key: "T2".into(),
            agent: "command".into(),
        })
        .unwrap();
    for status in [
        RunStatus::Delegated,
        RunStatus::InProgress,
        RunStatus::Escalated,
    ] {
        store.set_run_status(escalated.id, status, None).unwrap();
    }
    let dash = start(&project, &["--addr", "127.0.0.1:0"]);
    let c = client();
    // POSTs `{"action": …}` from the dashboard's page; the answer's status and body.
    let control = |path: String, action: &str| {
        let request = from_page(
            &c,
            &format!("{}{path}", dash.url),
            &json!({ "action": action }),
        );
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (
                status,
                response.json::<Value>().await.unwrap_or(Value::Null),
            )
        }
    };

    let (status, refused) = control("api/runs/1/control".into(), "retry").await;
    assert_eq!(status, 422, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("works on an escalated run"),
        "{refused}"
    );
    assert_eq!(control("api/runs/1/control".into(), "explode").await.0, 400);
    assert_eq!(control("api/runs/99/control".into(), "cancel").await.0, 404);
    let bare = c
        .post(format!("{}api/runs/1/control", dash.url))
        .json(&json!({"action": "cancel"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status().as_u16(), 403, "not from the dashboard's page");
    let (status, refused) = control("api/plans/1/control".into(), "pause").await;
    assert_eq!(status, 422, "nothing runs the plan here: {refused}");
    assert_eq!(
        control("api/plans/1/control".into(), "explode").await.0,
        400
    );

    // Cancel run 1: it ends, its lock goes back, its two waiting requests are withdrawn.
    let (status, run) = control("api/runs/1/control".into(), "cancel").await;
    assert_eq!((status, run["status"].as_str()), (200, Some("CANCELLED")));
    assert_eq!(
        get(&c, &format!("{}api/locks", dash.url)).await.1,
        json!([])
    );
    assert_eq!(
        get(&c, &format!("{}api/approvals", dash.url)).await.1,
        json!([])
    );
    let (_, all) = get(&c, &format!("{}api/approvals?all=true", dash.url)).await;
    assert_eq!(all.as_array().map(Vec::len), Some(2), "{all}");
    for request in all.as_array().unwrap() {
        assert_eq!(
            (
                request["status"].as_str(),
                request["decided_by"].as_str(),
                request["decision_reason"].as_str()
            ),
            (
                Some("EXPIRED"),
                Some("orchestrator"),
                Some("the run was cancelled")
            )
        );
    }

    // Retry the escalated run: a fresh count of attempts, supervised by the dashboard's process.
    let (status, run) = control(format!("api/runs/{}/control", escalated.id), "retry").await;
    assert_eq!(
        (status, run["status"].as_str()),
        (200, Some("PENDING")),
        "{run}"
    );
    let events = c
        .get(format!("{}api/runs/{}/events", dash.url, escalated.id))
        .send()
        .await
        .unwrap();
    let events = read_events(events, |e| {
        e.iter()
            .any(|(_, d)| d.contains("\"kind\":\"attempt_started\""))
    })
    .await;
    assert!(
        events
            .iter()
            .any(|(_, d)| d.contains("\"kind\":\"attempt_started\"")),
        "the dashboard's process supervises it: {events:?}"
    );
}
