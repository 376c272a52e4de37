//! The approvals queue: a run's escalated call waits for a person, who answers from the library,
//! the CLI (another process) or MCP; timeouts deny; every decision is audited; "always for this
//! run" is remembered; secrets never reach the store; a waiting request survives a restart.

mod support;

use std::process::Output;
use std::time::Duration;

use orchestrator::config::{Overrides, Settings};
use orchestrator::domain::{ApprovalStatus, PlanStatus, RuleLists, RunId};
use orchestrator::policy::{HumanAnswer, Severity, ToolRequest};
use orchestrator::store::{ApprovalFilter, NewRun};
use orchestrator::{Error, Orchestrator};
use serde_json::{Value, json};
use support::{Project, StdioPeer, call, content_v1, structured, tool_error_text};

/// A project whose plan has task T1 (files `src/**`, its own rules) and a run of it.
fn seeded(project: &Project, config: &str) -> RunId {
    std::fs::write(project.root.join("orchestrator.toml"), config).unwrap();
    std::fs::create_dir_all(project.root.join("src")).unwrap();
    let store = project.store();
    let p = store.ensure_project(&project.root, "project").unwrap();
    let mut content = content_v1();
    content.phases[0].tasks[0].files = vec!["src/**".into()];
    content.phases[0].tasks[0].rules = RuleLists {
        allow: vec!["Bash(make deploy-preview)".into()],
        ..RuleLists::default()
    };
    let plan = store
        .create_plan(p.id, None, "Health", &content, "created")
        .unwrap();
    store
        .set_plan_status(plan.id, PlanStatus::Approved)
        .unwrap();
    store
        .create_run(&NewRun {
            plan_id: plan.id,
            task_key: "T1".into(),
            agent: "claude".into(),
        })
        .unwrap()
        .id
}

async fn open(project: &Project) -> Orchestrator {
    let settings = Settings::load(
        &project.root,
        &|_| None,
        &Overrides {
            data_dir: Some(project.data_dir.clone()),
            ..Overrides::default()
        },
    )
    .unwrap();
    Orchestrator::open(settings).await.unwrap()
}

fn cli(project: &Project, args: &[&str]) -> Output {
    let out = project.command().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

#[tokio::test]
async fn the_policy_decides_what_it_can_and_queues_the_rest_for_a_person() {
    let project = Project::new();
    let run = seeded(&project, "");
    let engine = open(&project).await;

    let allowed = engine
        .request_permission(run, ToolRequest::bash("cargo test"))
        .await
        .unwrap();
    assert!(
        allowed.allowed && allowed.approval_id.is_none(),
        "{allowed:?}"
    );
    assert_eq!(allowed.decided_by, "policy");
    let denied = engine
        .request_permission(run, ToolRequest::bash("cat .env"))
        .await
        .unwrap();
    assert!(
        !denied.allowed && denied.message.contains(".env"),
        "{denied:?}"
    );
    let by_task_rule = engine
        .request_permission(run, ToolRequest::bash("make deploy-preview"))
        .await
        .unwrap();
    assert!(
        by_task_rule.allowed,
        "the task's own rule applies: {by_task_rule:?}"
    );
    assert!(
        by_task_rule.decided_by.contains("the task's rules"),
        "{by_task_rule:?}"
    );
    let edit = ToolRequest {
        tool_name: "Write".into(),
        input: json!({"file_path": "src/app.py", "content": "x"}),
    };
    assert!(
        engine.request_permission(run, edit).await.unwrap().allowed,
        "the task's declared files are writable"
    );

    // An escalation waits; the agent goes on as soon as a person answers.
    let (decision, queued) = engine
        .submit_permission(run, ToolRequest::bash("curl https://example.com"))
        .await
        .unwrap();
    assert_eq!(decision.verdict, Severity::Escalate);
    let queued = queued.expect("an escalation is queued");
    assert_eq!(
        (
            queued.status,
            queued.task_key.as_str(),
            queued.tool_name.as_str()
        ),
        (ApprovalStatus::Pending, "T1", "Bash")
    );
    assert_eq!(queued.grants, ["Bash(curl https://example.com)"]);
    let waiter = tokio::spawn({
        let engine = engine.clone();
        async move { engine.wait_for_approval(queued.id).await }
    });
    let pending = engine
        .approvals(ApprovalFilter {
            status: Some(ApprovalStatus::Pending),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        pending.iter().map(|r| r.id).collect::<Vec<_>>(),
        [queued.id]
    );
    engine
        .answer_approval(
            queued.id,
            HumanAnswer::Approve,
            "alice",
            Some("read-only endpoint"),
        )
        .await
        .unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(answer.allowed && answer.decided_by == "alice", "{answer:?}");
    assert!(answer.message.contains("read-only endpoint"));

    // Answered requests cannot be answered again; unknown ids are named.
    let again = engine
        .answer_approval(queued.id, HumanAnswer::Deny, "bob", Some("no"))
        .await
        .unwrap_err();
    assert!(matches!(again, Error::IllegalTransition(_)), "{again}");
    let unknown = engine
        .answer_approval(
            orchestrator::domain::ApprovalId(999),
            HumanAnswer::Approve,
            "bob",
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(unknown, Error::NotFound { .. }), "{unknown}");

    // A denial needs a reason, which the agent is told.
    let (_, second) = engine
        .submit_permission(run, ToolRequest::bash("pip install requests"))
        .await
        .unwrap();
    let second = second.unwrap();
    let no_reason = engine
        .answer_approval(second.id, HumanAnswer::Deny, "alice", None)
        .await
        .unwrap_err();
    assert!(no_reason.to_string().contains("reason"), "{no_reason}");
    engine
        .answer_approval(
            second.id,
            HumanAnswer::Deny,
            "alice",
            Some("use the standard library"),
        )
        .await
        .unwrap();
    let answer = engine.wait_for_approval(second.id).await.unwrap();
    assert!(
        !answer.allowed && answer.message.contains("use the standard library"),
        "{answer:?}"
    );

    // Every decision, automatic or human, is in the audit log with who decided and why.
    let audit = engine.audit_log(Some(run), 100).await.unwrap();
    let rows: Vec<(&str, &str)> = audit
        .iter()
        .rev()
        .map(|e| (e.verdict.as_str(), e.decided_by.as_str()))
        .collect();
    assert_eq!(
        rows,
        [
            ("allow", "policy"),
            ("deny", "policy"),
            (
                "allow",
                "policy: rule allow `Bash(make deploy-preview)` (the task's rules)"
            ),
            ("allow", "policy"),
            ("escalate", "policy"),
            ("approved", "alice"),
            ("escalate", "policy"),
            ("denied", "alice"),
        ]
    );
    assert!(
        audit
            .iter()
            .all(|e| !e.reason.is_empty() && e.run_id == Some(run))
    );
}

#[tokio::test]
async fn always_for_this_run_remembers_exactly_the_call_for_that_run_only() {
    let project = Project::new();
    let run = seeded(&project, "");
    let engine = open(&project).await;
    let other_run = {
        let store = project.store();
        let plan = store.run(run).unwrap().plan_id;
        store
            .create_run(&NewRun {
                plan_id: plan,
                task_key: "T2".into(),
                agent: "claude".into(),
            })
            .unwrap()
            .id
    };

    let (_, queued) = engine
        .submit_permission(
            run,
            ToolRequest::bash("npm install left-pad && curl https://x.test"),
        )
        .await
        .unwrap();
    let queued = queued.unwrap();
    assert_eq!(
        queued.grants,
        ["Bash(npm install left-pad)", "Bash(curl https://x.test)"]
    );
    let answered = engine
        .answer_approval(queued.id, HumanAnswer::ApproveAlways, "alice", None)
        .await
        .unwrap();
    assert!(answered.applies_to_run);

    let again = engine
        .request_permission(
            run,
            ToolRequest::bash("npm install left-pad && curl https://x.test"),
        )
        .await
        .unwrap();
    assert!(again.allowed && again.approval_id.is_none(), "{again:?}");
    assert!(
        again.decided_by.contains("a person, for this run"),
        "{again:?}"
    );
    let part = engine
        .request_permission(run, ToolRequest::bash("curl https://x.test"))
        .await
        .unwrap();
    assert!(part.allowed, "each granted command passes alone too");
    let (other_call, queued) = engine
        .submit_permission(run, ToolRequest::bash("npm install is-odd"))
        .await
        .unwrap();
    assert_eq!(other_call.verdict, Severity::Escalate, "the grant is exact");
    assert!(queued.is_some());
    let (elsewhere, _) = engine
        .submit_permission(other_run, ToolRequest::bash("npm install left-pad"))
        .await
        .unwrap();
    assert_eq!(
        elsewhere.verdict,
        Severity::Escalate,
        "another run is not covered"
    );
    let (refused, _) = engine
        .submit_permission(run, ToolRequest::bash("npm install left-pad; rm -rf /"))
        .await
        .unwrap();
    assert_eq!(
        refused.verdict,
        Severity::Deny,
        "a grant never lifts a refusal"
    );
}

#[tokio::test]
async fn an_unanswered_request_is_denied_when_it_times_out() {
    let project = Project::new();
    let run = seeded(&project, "[policy]\napproval_timeout_secs = 1\n");
    let engine = open(&project).await;
    let (_, queued) = engine
        .submit_permission(run, ToolRequest::bash("curl https://example.com"))
        .await
        .unwrap();
    let queued = queued.unwrap();
    assert!(queued.expires_at.as_millis() - queued.created_at.as_millis() <= 1000);

    let answer = tokio::time::timeout(Duration::from_secs(15), engine.wait_for_approval(queued.id))
        .await
        .unwrap()
        .unwrap();
    assert!(!answer.allowed, "{answer:?}");
    assert_eq!(answer.decided_by, "timeout");
    let expired = engine.approval(queued.id).await.unwrap();
    assert_eq!(expired.status, ApprovalStatus::Expired);
    let late = engine
        .answer_approval(queued.id, HumanAnswer::Approve, "alice", None)
        .await
        .unwrap_err();
    assert!(
        late.to_string().contains("expired") || matches!(late, Error::IllegalTransition(_)),
        "{late}"
    );
    let audit = engine.audit_log(Some(run), 10).await.unwrap();
    assert_eq!(
        (audit[0].verdict.as_str(), audit[0].decided_by.as_str()),
        ("expired", "timeout")
    );
}

#[tokio::test]
async fn a_waiting_request_survives_a_restart_and_is_answered_from_the_cli() {
    let project = Project::new();
    let run = seeded(&project, "");
    let id = {
        let engine = open(&project).await;
        let (_, queued) = engine
            .submit_permission(run, ToolRequest::bash("git push origin main"))
            .await
            .unwrap();
        queued.unwrap().id
    }; // the engine is gone, as after a crash

    let listed = json_of(&cli(&project, &["approvals", "--json"]));
    assert_eq!(listed[0]["id"], id.0);
    assert_eq!(listed[0]["status"], "PENDING");
    assert_eq!(listed[0]["input"]["command"], "git push origin main");
    let text = String::from_utf8(cli(&project, &["approvals"]).stdout).unwrap();
    assert!(
        text.contains(&format!("#{id}")) && text.contains("git push") && text.contains("task T1"),
        "{text}"
    );

    let engine = open(&project).await;
    let waiter = tokio::spawn({
        let engine = engine.clone();
        async move { engine.wait_for_approval(id).await }
    });
    let approved = json_of(&cli(
        &project,
        &["approve", &id.to_string(), "--by", "carol", "--json"],
    ));
    assert_eq!(approved["status"], "APPROVED");
    let answer = tokio::time::timeout(Duration::from_secs(15), waiter)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        answer.allowed && answer.decided_by == "carol",
        "an answer from another process reaches the waiting agent: {answer:?}"
    );

    // Deny from the CLI: the reason is required and kept.
    let (_, queued) = engine
        .submit_permission(run, ToolRequest::bash("git push --force"))
        .await
        .unwrap();
    let id = queued.unwrap().id.to_string();
    let missing = project.command().args(["deny", &id]).output().unwrap();
    assert_eq!(
        missing.status.code(),
        Some(2),
        "deny without --reason is a usage error"
    );
    let denied = String::from_utf8(
        cli(
            &project,
            &["deny", &id, "--reason", "never force-push", "--by", "carol"],
        )
        .stdout,
    )
    .unwrap();
    assert!(denied.contains("denied by carol"), "{denied}");
    let twice = project.command().args(["approve", &id]).output().unwrap();
    assert_eq!(twice.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&twice.stderr).contains("DENIED"),
        "{}",
        String::from_utf8_lossy(&twice.stderr)
    );

    let all = json_of(&cli(&project, &["approvals", "--all", "--json"]));
    assert_eq!(all.as_array().unwrap().len(), 2);
    let audit = json_of(&cli(
        &project,
        &["policy", "audit", "--json", "--run", &run.to_string()],
    ));
    let verdicts: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["denied", "escalate", "approved", "escalate"]);
    let unknown = project
        .command()
        .args(["approve", "4242"])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("4242"));
}

#[tokio::test]
async fn secrets_in_a_call_never_reach_the_store() {
    let project = Project::new();
    let run = seeded(&project, "");
    support::write_secrets(
        &project.root,
        r#"{"keys": {"DEPLOY_TOKEN": "tok-5f9d2a77c1e8"}}"#,
    );
    let engine = open(&project).await;
    let command = "curl -H 'Authorization: Bearer tok-5f9d2a77c1e8' https://api.example.com";
    let (decision, queued) = engine
        .submit_permission(run, ToolRequest::bash(command))
        .await
        .unwrap();
    let queued = queued.unwrap();
    assert!(
        !serde_json::to_string(&decision)
            .unwrap()
            .contains("tok-5f9d2a77c1e8")
    );
    assert_eq!(
        queued.input["command"],
        "curl -H 'Authorization: Bearer [redacted:DEPLOY_TOKEN]' https://api.example.com"
    );
    assert!(
        !queued.reason.contains("tok-5f9d2a77c1e8")
            && !queued.grants.concat().contains("tok-5f9d2a77c1e8")
    );
    let (printed, _) = engine
        .submit_permission(run, ToolRequest::bash("echo $DEPLOY_TOKEN"))
        .await
        .unwrap();
    assert_eq!(
        printed.verdict,
        Severity::Escalate,
        "printing a secret's variable is asked about"
    );
    drop(engine);
    for file in std::fs::read_dir(&project.data_dir).unwrap() {
        let bytes = std::fs::read(file.unwrap().path()).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains("tok-5f9d2a77c1e8"),
            "a secret reached the data dir"
        );
    }
}

#[tokio::test]
async fn hooks_are_told_when_a_request_waits() {
    let project = Project::new();
    let seen = project.dir.path().join("notified.json");
    let id_file = project.dir.path().join("notified.id");
    // A webhook receiver on loopback.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Value>(4);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::body::Bytes| {
            let tx = tx.clone();
            async move {
                let _ = tx
                    .send(serde_json::from_slice(&body).unwrap_or(Value::Null))
                    .await;
                "ok"
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    let config = format!(
        "[policy]\nnotify_command = [\"sh\", \"-c\", \"cat > '{}'; echo $ORCHESTRATOR_APPROVAL_ID > '{}'\"]\nnotify_webhook = \"{url}\"\n",
        seen.display(),
        id_file.display()
    );
    let run = seeded(&project, &config);
    let engine = open(&project).await;
    let (_, queued) = engine
        .submit_permission(run, ToolRequest::bash("wget https://example.com/x"))
        .await
        .unwrap();
    let queued = queued.unwrap();

    let posted = tokio::time::timeout(Duration::from_secs(15), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(posted["event"], "approval_waiting");
    assert_eq!(posted["request"]["id"], queued.id.0);
    assert_eq!(
        posted["request"]["input"]["command"],
        "wget https://example.com/x"
    );
    let piped: Value = serde_json::from_str(&std::fs::read_to_string(&seen).unwrap()).unwrap();
    assert_eq!(piped["request"]["tool_name"], "Bash");
    assert_eq!(
        std::fs::read_to_string(&id_file).unwrap().trim(),
        queued.id.to_string()
    );

    // A broken hook does not stop the request from waiting.
    let broken = Project::new();
    let run = seeded(
        &broken,
        "[policy]\nnotify_command = [\"/nonexistent/notifier\"]\nnotify_webhook = \"http://127.0.0.1:9/down\"\n",
    );
    let engine = open(&broken).await;
    let (_, queued) = engine
        .submit_permission(run, ToolRequest::bash("wget https://example.com/x"))
        .await
        .unwrap();
    assert_eq!(
        engine.approval(queued.unwrap().id).await.unwrap().status,
        ApprovalStatus::Pending
    );
}

#[test]
fn approvals_are_answered_over_mcp() {
    let project = Project::new();
    let run = seeded(&project, "");
    let id = {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let engine = open(&project).await;
            let (_, queued) = engine
                .submit_permission(run, ToolRequest::bash("docker build ."))
                .await
                .unwrap();
            queued.unwrap().id
        })
    };
    let mut cmd = project.command();
    cmd.arg("serve").env("ORCHESTRATOR_TOOLS", "all");
    let mut peer = StdioPeer::spawn(cmd);
    peer.initialize();

    let listed = call(&mut peer, 2, "approvals", json!({}));
    let result = structured(&listed);
    assert_eq!(result["requests"][0]["id"], id.0);
    assert_eq!(result["requests"][0]["task_key"], "T1");
    assert!(result["next_step"].as_str().unwrap().contains("1 request"));

    let no_decision = call(&mut peer, 3, "approvals", json!({"id": id.0}));
    assert!(tool_error_text(&no_decision).contains("decision"));
    let bad = call(
        &mut peer,
        4,
        "approvals",
        json!({"id": id.0, "decision": "maybe"}),
    );
    assert!(tool_error_text(&bad).contains("maybe"), "{bad}");
    let deny_without_reason = call(
        &mut peer,
        5,
        "approvals",
        json!({"id": id.0, "decision": "deny"}),
    );
    assert!(tool_error_text(&deny_without_reason).contains("reason"));

    let answered = call(
        &mut peer,
        6,
        "approvals",
        json!({"id": id.0, "decision": "approve_always", "decided_by": "dana"}),
    );
    let result = structured(&answered);
    assert_eq!(result["answered"]["status"], "APPROVED");
    assert_eq!(result["answered"]["decided_by"], "dana");
    assert_eq!(result["answered"]["applies_to_run"], true);
    assert_eq!(result["requests"], json!([]));
    let again = call(
        &mut peer,
        7,
        "approvals",
        json!({"id": id.0, "decision": "deny", "reason": "x"}),
    );
    assert!(tool_error_text(&again).contains("APPROVED"));
    let unknown = call(
        &mut peer,
        8,
        "approvals",
        json!({"id": 777, "decision": "approve"}),
    );
    assert!(tool_error_text(&unknown).contains("777"));

    let checked = call(
        &mut peer,
        9,
        "policy_check",
        json!({"command": "docker build .", "run_id": run.0}),
    );
    assert_eq!(
        structured(&checked)["verdict"],
        "allow",
        "the run now allows what was approved always"
    );
    let checked = call(
        &mut peer,
        10,
        "policy_check",
        json!({"tool_name": "Read", "input": {"file_path": ".env"}}),
    );
    assert_eq!(structured(&checked)["verdict"], "deny");
    let neither = call(&mut peer, 11, "policy_check", json!({}));
    assert!(tool_error_text(&neither).contains("command"));
    let audit = call(&mut peer, 12, "policy_audit", json!({"run_id": run.0}));
    assert_eq!(structured(&audit)["entries"][0]["verdict"], "approved");
    peer.finish();
}
