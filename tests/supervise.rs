//! The supervision loop driven by a scripted agent in this process (`Orchestrator::with_agent`):
//! the engine logs, answers, checkpoints, verifies, retries and escalates it exactly as it does a
//! real agent's process, without one — so each path is fast and certain.

mod support;

use std::sync::{Arc, Mutex};

use orchestrator::Orchestrator;
use orchestrator::agent::{Agent, AgentEvent, AgentHandle, Control, Session, StartSpec};
use orchestrator::config::{Overrides, Settings};
use orchestrator::domain::{Run, RunEventData, RunEventKind, RunStatus};
use serde_json::{Value, json};
use support::{Project, content_v1, git};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// One thing a scripted agent does.
#[derive(Debug, Clone)]
enum Step {
    /// Reports an event.
    Say(AgentEvent),
    /// Asks to use a tool and waits for the answer.
    Ask(&'static str, &'static str, Value),
    /// Writes a file in its working directory.
    Write(&'static str, &'static str),
    /// Says nothing more until it is interrupted.
    Silent,
}

#[derive(Debug, Default)]
struct Record {
    /// The steps of each attempt still to start.
    scripts: Vec<Vec<Step>>,
    /// How each attempt was started.
    started: Vec<StartSpec>,
    /// The answers it got: request, allowed, message.
    answers: Vec<(String, bool, String)>,
}

/// An agent that plays a script per attempt; it ends when interrupted, as a killed process does.
#[derive(Debug, Clone, Default)]
struct Scripted(Arc<Mutex<Record>>);

impl Scripted {
    fn new(scripts: Vec<Vec<Step>>) -> Self {
        Self(Arc::new(Mutex::new(Record {
            scripts,
            ..Record::default()
        })))
    }
}

impl Agent for Scripted {
    fn name(&self) -> &'static str {
        "scripted"
    }

    fn resumes(&self) -> bool {
        true
    }

    fn start(&self, spec: StartSpec) -> orchestrator::Result<AgentHandle> {
        let steps = {
            let mut record = self.0.lock().unwrap();
            record.started.push(spec.clone());
            record.scripts.remove(0)
        };
        let (events, receiver) = mpsc::channel(64);
        let (control, mut controls) = mpsc::channel(16);
        let record = self.0.clone();
        tokio::spawn(async move {
            let killed = AgentEvent::Exited {
                code: None,
                signal: Some(9),
                stderr_tail: String::new(),
            };
            for step in steps {
                match step {
                    Step::Say(event) => {
                        let _ = events.send(event).await;
                    }
                    Step::Write(file, text) => std::fs::write(spec.cwd.join(file), text).unwrap(),
                    Step::Ask(id, tool, input) => {
                        let request = AgentEvent::PermissionRequest {
                            request_id: id.into(),
                            tool_name: tool.into(),
                            input,
                        };
                        let _ = events.send(request).await;
                        loop {
                            match controls.recv().await {
                                Some(Control::Answer {
                                    request_id,
                                    allow,
                                    message,
                                    ..
                                }) if request_id == id => {
                                    record
                                        .lock()
                                        .unwrap()
                                        .answers
                                        .push((request_id, allow, message));
                                    break;
                                }
                                Some(Control::Answer { .. }) => {}
                                Some(Control::Interrupt) | None => {
                                    let _ = events.send(killed).await;
                                    return;
                                }
                            }
                        }
                    }
                    Step::Silent => {
                        while let Some(control) = controls.recv().await {
                            if control == Control::Interrupt {
                                let _ = events.send(killed).await;
                                return;
                            }
                        }
                        return;
                    }
                }
            }
            let _ = events
                .send(AgentEvent::Exited {
                    code: Some(0),
                    signal: None,
                    stderr_tail: String::new(),
                })
                .await;
        });
        Ok(AgentHandle::in_process(receiver, control))
    }
}

fn init(session: &str) -> Step {
    Step::Say(AgentEvent::Init {
        session_id: session.into(),
        model: None,
    })
}

fn result(is_error: bool, subtype: &str) -> Step {
    Step::Say(AgentEvent::Result {
        is_error,
        subtype: subtype.into(),
        text: Some("done".into()),
        cost_usd: 0.01,
        input_tokens: 100,
        output_tokens: 20,
        denials: 0,
    })
}

/// A git project whose plan's task T1 writes hello.txt, verified by its existence; an engine
/// that runs `agent` for every run, with `supervisor` settings.
async fn setup(agent: &Scripted, supervisor: &str) -> (Project, Orchestrator, Run) {
    let project = Project::new();
    let root = &project.root;
    std::fs::write(
        root.join("orchestrator.toml"),
        format!(
            "[agent]\nkind = \"command\"\ncommand = \"scripted\"\n[supervisor]\nmonitor_interval_secs = 1\nretry_backoff_secs = 0\n{supervisor}\n[verifier]\nchecks = [\"done\"]\n[verifier.check.done]\ncommand = [\"test\", \"-f\", \"hello.txt\"]\n"
        ),
    )
    .unwrap();
    std::fs::write(root.join("README.md"), "# demo\n").unwrap();
    git(root, &["init", "-q"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "start"]);
    let mut content = content_v1();
    content.phases[0].tasks[0].files = vec!["hello.txt".into()];
    content.phases[0].tasks[0].description = "Write hello.txt".into();
    let plan = project.approved_plan("Hello", &content);
    let overrides = Overrides {
        data_dir: Some(project.data_dir.clone()),
        tools: None,
    };
    let settings = Settings::load(root, &|_| None, &overrides).unwrap();
    let engine = Orchestrator::open(settings)
        .await
        .unwrap()
        .with_agent(Arc::new(agent.clone()));
    let run = engine.create_task_run(plan, "T1").await.unwrap();
    (project, engine, run)
}

async fn supervise(engine: &Orchestrator, run: &Run) -> (Run, Vec<RunEventData>) {
    let ended = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        engine.supervise_run(run.id, CancellationToken::new(), &|_| {}),
    )
    .await
    .expect("the supervisor ends")
    .unwrap();
    let events = engine
        .run_events(run.id, 0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.data)
        .collect();
    (ended, events)
}

fn count(events: &[RunEventData], kind: RunEventKind) -> usize {
    events.iter().filter(|e| e.kind() == Some(kind)).count()
}

#[tokio::test]
async fn an_agent_in_this_process_is_logged_answered_checkpointed_and_verified() {
    let agent = Scripted::new(vec![vec![
        init("session-1"),
        Step::Ask("r1", "Bash", json!({"command": "rm -rf /"})),
        Step::Ask(
            "r2",
            "Write",
            json!({"file_path": "hello.txt", "content": "hi\n"}),
        ),
        Step::Say(AgentEvent::ToolUse {
            id: "t1".into(),
            name: "Write".into(),
            input: json!({"file_path": "hello.txt"}),
        }),
        Step::Write("hello.txt", "hi\n"),
        result(false, "success"),
    ]]);
    let (project, engine, run) = setup(&agent, "").await;
    let (ended, events) = supervise(&engine, &run).await;
    assert_eq!(ended.status, RunStatus::Completed, "{events:#?}");
    assert_eq!(ended.agent_session_id.as_deref(), Some("session-1"));
    assert!(project.root.join("hello.txt").exists() || ended.worktree.is_some());

    // The policy answered both requests; the agent got each answer.
    let answers = agent.0.lock().unwrap().answers.clone();
    assert_eq!(answers.len(), 2, "{answers:?}");
    assert!(
        !answers[0].1 && answers[0].2.contains("rm -rf /"),
        "{answers:?}"
    );
    assert!(answers[1].1, "{answers:?}");
    // Every event was logged in order, each request before its answer.
    let kinds: Vec<&str> = events.iter().map(RunEventData::kind_text).collect();
    let at = |kind: &str| kinds.iter().position(|k| *k == kind).unwrap();
    assert!(at("attempt_started") < at("init"), "{kinds:?}");
    assert!(
        at("permission_request") < at("permission_answer"),
        "{kinds:?}"
    );
    assert!(
        at("result") < at("exited") && at("exited") < at("verification"),
        "{kinds:?}"
    );
    assert!(events.iter().any(|e| matches!(
        e,
        RunEventData::PermissionAnswer { allowed: false, decided_by, .. } if decided_by.starts_with("policy")
    )));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, RunEventData::Verification { passed: true, .. }))
    );
    // Checkpoints at the first edit and at the end, with the agent's spend.
    let view = engine.run_view(run.id).await.unwrap();
    let reasons: Vec<&str> = view.checkpoints.iter().map(|c| c.reason.as_str()).collect();
    assert!(
        reasons.contains(&"first edit") && reasons.contains(&"agent finished"),
        "{reasons:?}"
    );
    assert!(view.checkpoints.iter().any(|c| c.cost_usd > 0.0));
}

#[tokio::test]
async fn a_failing_agent_is_resumed_with_what_failed_then_escalated() {
    let attempt = || vec![init("session-7"), result(true, "error_max_turns")];
    let agent = Scripted::new(vec![attempt(), attempt()]);
    let (_project, engine, run) = setup(&agent, "max_retries = 1").await;
    let (ended, events) = supervise(&engine, &run).await;
    assert_eq!(ended.status, RunStatus::Escalated, "{events:#?}");
    assert_eq!(ended.attempt, 2);
    assert_eq!(count(&events, RunEventKind::AttemptFailed), 2);
    assert_eq!(count(&events, RunEventKind::RetryScheduled), 1);
    assert_eq!(count(&events, RunEventKind::Escalated), 1);
    let started = agent.0.lock().unwrap().started.clone();
    assert_eq!(started.len(), 2);
    assert!(matches!(started[0].session, Session::New(_)));
    // The second attempt continues the agent's session and is told what went wrong.
    assert_eq!(started[1].session, Session::Resume("session-7".into()));
    assert!(
        started[1]
            .prompt
            .contains("the agent ended in error: error_max_turns"),
        "{}",
        started[1].prompt
    );
    assert!(matches!(
        events.last(),
        Some(RunEventData::Escalated { attempts: 2, .. })
    ));
}

#[tokio::test]
async fn a_silent_agent_is_stopped_as_stalled_and_escalated() {
    let agent = Scripted::new(vec![vec![init("session-3"), Step::Silent]]);
    let (_project, engine, run) = setup(&agent, "stall_timeout_secs = 2\nmax_retries = 0").await;
    let (ended, events) = supervise(&engine, &run).await;
    assert_eq!(ended.status, RunStatus::Escalated, "{events:#?}");
    assert_eq!(count(&events, RunEventKind::Stalled), 1, "{events:#?}");
    assert!(
        ended
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("stalled")),
        "{ended:?}"
    );
    // Its end was logged after the stall: the interrupt reached it.
    let kinds: Vec<&str> = events.iter().map(RunEventData::kind_text).collect();
    let stalled = kinds.iter().position(|k| *k == "stalled").unwrap();
    assert!(kinds[stalled..].contains(&"exited"), "{kinds:?}");
}
