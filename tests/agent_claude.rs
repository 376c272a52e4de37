//! The Claude Code adapter against the real CLI and the fake API: events, permission answers.

mod support;

use std::time::Duration;

use orchestrator::agent::{Agent, AgentEvent, Control, Session, StartSpec, claude::Claude};
use orchestrator::domain::RunEventKind;
use support::fake_api::{FakeApi, Step};

#[tokio::test]
async fn the_real_cli_writes_a_file_after_a_permission_answer() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    let home = dir.path().join("home");
    std::fs::create_dir_all(&work).unwrap();
    std::fs::create_dir_all(&home).unwrap();
    let api = FakeApi::start(vec![
        Step::write(&work.join("hello.txt").to_string_lossy(), "hi\n"),
        Step::bash("rm -rf /tmp/x"),
        Step::text("Done."),
    ]);
    let mut env = api.env(&home);
    env.push(("ANTHROPIC_API_KEY".into(), "dummy".into()));
    let session = uuid::Uuid::new_v4().to_string();
    let spec = StartSpec {
        program: support::tool("npm/node_modules/.bin/claude")
            .to_string_lossy()
            .into_owned(),
        args: vec![],
        cwd: work.clone(),
        prompt: "write hello.txt".into(),
        session: Session::New(session.clone()),
        model: None,
        max_turns: Some(10),
        max_budget_usd: None,
        env,
        settings: None,
    };
    let mut agent = Claude.start(spec).unwrap();
    let mut kinds = Vec::new();
    while let Some(event) = tokio::time::timeout(Duration::from_secs(60), agent.next_event())
        .await
        .unwrap()
    {
        kinds.push(event.kind().map_or("?", RunEventKind::as_str));
        if let AgentEvent::PermissionRequest {
            request_id,
            tool_name,
            input,
        } = &event
        {
            let allow = tool_name == "Write";
            agent
                .send(Control::Answer {
                    request_id: request_id.clone(),
                    allow,
                    message: "not allowed here".into(),
                    input: input.clone(),
                })
                .await;
        }
        if let AgentEvent::Init { session_id, .. } = &event {
            assert_eq!(session_id, &session);
        }
        if let AgentEvent::Result {
            is_error, denials, ..
        } = &event
        {
            assert!(!is_error);
            assert_eq!(*denials, 1);
        }
        if matches!(event, AgentEvent::Exited { .. }) {
            break;
        }
    }
    eprintln!("{kinds:?}");
    assert_eq!(
        std::fs::read_to_string(work.join("hello.txt")).unwrap(),
        "hi\n"
    );
    assert!(
        kinds.contains(&"init") && kinds.contains(&"result") && kinds.last() == Some(&"exited"),
        "{kinds:?}"
    );
    assert_eq!(api.requests().len(), 3);
}
