//! Claude Code, headless: `claude -p --verbose --output-format stream-json --input-format
//! stream-json --permission-prompt-tool stdio`, as ../shared/CLAUDE_CODE.md describes. The
//! prompt goes in as a stream-json user message after the `initialize` control request; every
//! stdout line becomes an [`AgentEvent`] (unknown ones kept raw); `can_use_tool` control requests
//! become permission requests answered with control responses; stdin stays open until the
//! `result` arrives.

use std::process::Stdio;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use super::{Agent, AgentEvent, AgentHandle, Control, Session, StartSpec, agent_env, tail_of};
use crate::error::{Error, Result};

/// The Claude Code adapter.
#[derive(Debug)]
pub struct Claude;

/// The arguments for a run.
pub fn arguments(spec: &StartSpec) -> Vec<String> {
    let mut args: Vec<String> = [
        "-p",
        "--verbose",
        "--output-format",
        "stream-json",
        "--input-format",
        "stream-json",
        "--permission-prompt-tool",
        "stdio",
        "--permission-mode",
        "default",
        "--setting-sources",
        "",
    ]
    .map(str::to_owned)
    .to_vec();
    match &spec.session {
        Session::New(id) => args.extend(["--session-id".to_owned(), id.clone()]),
        Session::Resume(id) => args.push(format!("--resume={id}")),
    }
    args.extend(limit_arguments(
        spec.model.as_deref(),
        spec.max_turns,
        spec.max_budget_usd,
    ));
    if let Some(settings) = &spec.settings {
        args.extend(["--settings".to_owned(), settings.clone()]);
    }
    args.extend(spec.args.iter().cloned());
    args
}

/// `--model`, `--max-turns` and `--max-budget-usd`, for those that are set.
pub fn limit_arguments(
    model: Option<&str>,
    max_turns: Option<u32>,
    max_budget_usd: Option<f64>,
) -> Vec<String> {
    let mut args = Vec::new();
    if let Some(model) = model {
        args.extend(["--model".to_owned(), model.to_owned()]);
    }
    if let Some(turns) = max_turns {
        args.extend(["--max-turns".to_owned(), turns.to_string()]);
    }
    if let Some(budget) = max_budget_usd {
        args.extend(["--max-budget-usd".to_owned(), budget.to_string()]);
    }
    args
}

impl Agent for Claude {
    fn name(&self) -> &'static str {
        "claude"
    }

    fn resumes(&self) -> bool {
        true
    }

    fn start(&self, spec: StartSpec) -> Result<AgentHandle> {
        let mut cmd = tokio::process::Command::new(&spec.program);
        cmd.args(arguments(&spec))
            .current_dir(&spec.cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        super::die_with_parent(&mut cmd);
        agent_env(&mut cmd, &spec.env);
        let mut child = cmd.spawn().map_err(|e| {
            Error::Invalid(format!("cannot start the agent `{}`: {e}", spec.program))
        })?;
        let pid = child.id();
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let (event_tx, event_rx) = mpsc::channel(256);
        let (control_tx, mut control_rx) = mpsc::channel::<Control>(64);
        let (done_tx, mut done_rx) = mpsc::channel::<()>(1);

        // stdin: initialize, the prompt, then answers until the result closes it.
        let prompt = spec.prompt.clone();
        let session = spec.session.id().to_owned();
        tokio::spawn(async move {
            let Some(mut stdin) = stdin else { return };
            let mut write = async |value: Value| -> bool {
                let mut line = value.to_string();
                line.push('\n');
                stdin.write_all(line.as_bytes()).await.is_ok() && stdin.flush().await.is_ok()
            };
            let init = json!({"type": "control_request", "request_id": "init-1", "request": {"subtype": "initialize", "hooks": {}}});
            let user = json!({
                "type": "user",
                "message": {"role": "user", "content": prompt},
                "parent_tool_use_id": null,
                "session_id": session,
            });
            if !write(init).await || !write(user).await {
                return;
            }
            let mut interrupts = 0;
            loop {
                tokio::select! {
                    control = control_rx.recv() => match control {
                        Some(Control::Answer { request_id, allow, message, input }) => {
                            let response = if allow {
                                json!({"behavior": "allow", "updatedInput": input})
                            } else {
                                json!({"behavior": "deny", "message": message})
                            };
                            let line = json!({"type": "control_response", "response": {"subtype": "success", "request_id": request_id, "response": response}});
                            if !write(line).await {
                                return;
                            }
                        }
                        Some(Control::Interrupt) => {
                            interrupts += 1;
                            let line = json!({"type": "control_request", "request_id": format!("interrupt-{interrupts}"), "request": {"subtype": "interrupt"}});
                            if !write(line).await {
                                return;
                            }
                        }
                        None => return,
                    },
                    _ = done_rx.recv() => return, // the result arrived: closing stdin lets the CLI exit
                }
            }
        });

        // stdout: one JSON object per line.
        let events = event_tx.clone();
        let reader = tokio::spawn(async move {
            let Some(stdout) = stdout else { return };
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if line.trim().is_empty() {
                    continue;
                }
                let parsed: Value = match serde_json::from_str(&line) {
                    Ok(v) => v,
                    Err(_) => {
                        let _ = events.send(AgentEvent::Output { text: line }).await;
                        continue;
                    }
                };
                for event in translate(&parsed) {
                    let finished = matches!(event, AgentEvent::Result { .. });
                    if events.send(event).await.is_err() {
                        return;
                    }
                    if finished {
                        let _ = done_tx.send(()).await;
                    }
                }
            }
        });
        let stderr_tail = tokio::spawn(tail_of(stderr));
        tokio::spawn(async move {
            let status = child.wait().await;
            let _ = reader.await;
            let tail = stderr_tail.await.unwrap_or_default();
            use std::os::unix::process::ExitStatusExt;
            let (code, signal) = match status {
                Ok(s) => (s.code(), s.signal()),
                Err(_) => (None, None),
            };
            let _ = event_tx
                .send(AgentEvent::Exited {
                    code,
                    signal,
                    stderr_tail: tail,
                })
                .await;
        });
        Ok(AgentHandle {
            events: event_rx,
            control: control_tx,
            pid,
        })
    }
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        other => other.to_string(),
    }
}

fn short(text: &str) -> String {
    let cut: String = text.chars().take(2000).collect();
    if cut.len() < text.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

/// One stdout message as events (an assistant message may carry several blocks).
pub fn translate(msg: &Value) -> Vec<AgentEvent> {
    let unknown = || vec![AgentEvent::Unknown { raw: msg.clone() }];
    match msg["type"].as_str() {
        Some("system") => match msg["subtype"].as_str() {
            Some("init") => vec![AgentEvent::Init {
                session_id: msg["session_id"].as_str().unwrap_or_default().to_owned(),
                model: msg["model"].as_str().map(str::to_owned),
            }],
            Some("api_retry") => vec![AgentEvent::ApiRetry {
                attempt: msg["attempt"]
                    .as_u64()
                    .and_then(|a| u32::try_from(a).ok())
                    .unwrap_or(0),
                status: msg["error_status"]
                    .as_u64()
                    .and_then(|s| u16::try_from(s).ok()),
                error: msg["error"].as_str().unwrap_or_default().to_owned(),
            }],
            // The policy hook starting and answering before each tool call: the permission
            // request that follows, if any, is what counts.
            Some("hook_started" | "hook_response" | "hook_progress") => Vec::new(),
            _ => unknown(),
        },
        Some("assistant") => {
            let blocks = msg["message"]["content"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let events: Vec<AgentEvent> = blocks
                .iter()
                .filter_map(|b| match b["type"].as_str() {
                    Some("text") => Some(AgentEvent::AssistantText {
                        text: b["text"].as_str().unwrap_or_default().to_owned(),
                    }),
                    Some("tool_use") => Some(AgentEvent::ToolUse {
                        id: b["id"].as_str().unwrap_or_default().to_owned(),
                        name: b["name"].as_str().unwrap_or_default().to_owned(),
                        input: b["input"].clone(),
                    }),
                    _ => None,
                })
                .collect();
            if events.is_empty() { unknown() } else { events }
        }
        Some("user") => {
            let blocks = msg["message"]["content"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let events: Vec<AgentEvent> = blocks
                .iter()
                .filter(|b| b["type"] == "tool_result")
                .map(|b| AgentEvent::ToolResult {
                    tool_use_id: b["tool_use_id"].as_str().unwrap_or_default().to_owned(),
                    is_error: b["is_error"].as_bool().unwrap_or(false),
                    content: short(&text_of(&b["content"])),
                })
                .collect();
            if events.is_empty() { unknown() } else { events }
        }
        Some("control_request") if msg["request"]["subtype"] == "can_use_tool" => {
            vec![AgentEvent::PermissionRequest {
                request_id: msg["request_id"].as_str().unwrap_or_default().to_owned(),
                tool_name: msg["request"]["tool_name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                input: msg["request"]["input"].clone(),
            }]
        }
        // Plumbing, not the agent's work: the CLI's answer to our own `initialize` (logged, it
        // was noise in every run).
        Some("control_response") => Vec::new(),
        Some("control_cancel_request") => vec![AgentEvent::PermissionCancelled {
            request_id: msg["request_id"].as_str().unwrap_or_default().to_owned(),
        }],
        Some("result") => {
            let usage = &msg["usage"];
            vec![AgentEvent::Result {
                is_error: msg["is_error"].as_bool().unwrap_or(true),
                subtype: msg["subtype"].as_str().unwrap_or("unknown").to_owned(),
                text: msg["result"].as_str().map(str::to_owned),
                cost_usd: msg["total_cost_usd"].as_f64().unwrap_or(0.0),
                input_tokens: usage["input_tokens"].as_u64().unwrap_or(0),
                output_tokens: usage["output_tokens"].as_u64().unwrap_or(0),
                denials: msg["permission_denials"]
                    .as_array()
                    .map_or(0, |d| u32::try_from(d.len()).unwrap_or(u32::MAX)),
            }]
        }
        _ => unknown(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captured_traffic_becomes_typed_events() {
        let text = include_str!(
            "../../tests/fixtures/claude-code/stream_json_control_protocol_2.1.197.jsonl"
        );
        let events: Vec<AgentEvent> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .flat_map(|v| translate(&v))
            .collect();
        let kinds: Vec<&str> = events
            .iter()
            .map(|e| e.kind().map_or("?", crate::domain::RunEventKind::as_str))
            .collect();
        assert_eq!(
            kinds.first(),
            Some(&"init"),
            "the answer to our own initialize is no event"
        );
        assert!(!kinds.contains(&"unknown"), "{kinds:?}");
        assert!(
            kinds.contains(&"init")
                && kinds.contains(&"permission_request")
                && kinds.contains(&"tool_result")
        );
        match events.last() {
            Some(AgentEvent::Result {
                is_error,
                cost_usd,
                denials,
                ..
            }) => {
                assert!(!is_error);
                assert!(*cost_usd > 0.0);
                assert_eq!(*denials, 1);
            }
            other => panic!("{other:?}"),
        }
        let retry =
            include_str!("../../tests/fixtures/claude-code/stream_json_api_retry_529.jsonl");
        let retried: Vec<AgentEvent> = retry
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .flat_map(|v| translate(&v))
            .collect();
        assert!(retried.iter().any(|e| matches!(
            e,
            AgentEvent::ApiRetry {
                status: Some(529),
                ..
            }
        )));
        assert!(matches!(
            retried.last(),
            Some(AgentEvent::Result { is_error: true, .. })
        ));
    }
}
