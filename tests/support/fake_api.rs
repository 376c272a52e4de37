//! A fake Anthropic Messages API on loopback, for running the real Claude Code CLI in tests. It
//! is the only test double: the CLI, its tools, its permission requests and the files it writes
//! are real; only the model's words are scripted.
//!
//! The step to answer is chosen from the request itself — the number of assistant messages
//! already in `messages` — so the server is stateless across CLI restarts and resumes, except
//! for `Fail` and `Slow`, which count how often they have been served.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// One scripted model turn.
#[derive(Debug, Clone)]
pub enum Step {
    /// Call a tool.
    Tool {
        /// The tool (`Bash`, `Write`, `Edit`, `Read`, …).
        name: String,
        /// Its input.
        input: Value,
    },
    /// Answer with text and end the turn.
    Text(String),
    /// Fail with this HTTP status the first `times` times, then play `then`.
    Fail {
        /// HTTP status (529 overloaded, 400 invalid request, …).
        status: u16,
        /// How many times.
        times: u32,
        /// What to play afterwards.
        then: Box<Step>,
    },
    /// Wait `seconds` before answering, the first `times` times.
    Slow {
        /// The delay.
        seconds: u64,
        /// How many times.
        times: u32,
        /// What to play.
        then: Box<Step>,
    },
}

impl Step {
    /// A Bash tool call.
    pub fn bash(command: &str) -> Self {
        Self::Tool {
            name: "Bash".into(),
            input: json!({"command": command, "description": "run a command"}),
        }
    }

    /// A Write tool call.
    pub fn write(path: &str, content: &str) -> Self {
        Self::Tool {
            name: "Write".into(),
            input: json!({"file_path": path, "content": content}),
        }
    }

    /// A Read tool call.
    pub fn read(path: &str) -> Self {
        Self::Tool {
            name: "Read".into(),
            input: json!({"file_path": path}),
        }
    }

    /// An Edit tool call.
    pub fn edit(path: &str, old: &str, new: &str) -> Self {
        Self::Tool {
            name: "Edit".into(),
            input: json!({"file_path": path, "old_string": old, "new_string": new}),
        }
    }

    /// The text this step ends with, if it is (or wraps) a text step.
    fn final_text(&self) -> Option<&str> {
        match self {
            Self::Text(t) => Some(t),
            Self::Fail { then, .. } | Self::Slow { then, .. } => then.final_text(),
            Self::Tool { .. } => None,
        }
    }

    /// Final text.
    pub fn text(text: &str) -> Self {
        Self::Text(text.into())
    }

    /// Fail `times` times with `status`, then play this step.
    pub fn failing(self, status: u16, times: u32) -> Self {
        Self::Fail {
            status,
            times,
            then: Box::new(self),
        }
    }

    /// Be slow (`seconds`) the first `times` times.
    pub fn slow(self, seconds: u64, times: u32) -> Self {
        Self::Slow {
            seconds,
            times,
            then: Box::new(self),
        }
    }
}

#[derive(Default)]
struct Shared {
    script: Vec<Step>,
    /// Scripts by task key, chosen by the `# Task KEY:` heading of the conversation's first
    /// message (the orchestrator's prompt); `script` for anything else.
    per_task: Vec<(String, Vec<Step>)>,
    served: Mutex<HashMap<usize, u32>>,
    requests: Mutex<Vec<Value>>,
}

/// A running fake API.
pub struct FakeApi {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeApi {
    /// Starts a server playing `script`, on its own thread and runtime.
    pub fn start(script: Vec<Step>) -> Self {
        Self::start_with(Shared {
            script,
            ..Shared::default()
        })
    }

    fn start_with(shared: Shared) -> Self {
        let shared = Arc::new(shared);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel::<SocketAddr>();
        let state = Arc::clone(&shared);
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                let app = axum::Router::new().fallback(handle).with_state(state);
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await;
            });
        });
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the fake API started");
        Self {
            url: format!("http://{addr}"),
            shared,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    /// Starts a server playing one script per task (several agents at once, each finding its
    /// own script by the task its prompt is about).
    pub fn start_per_task(scripts: Vec<(&str, Vec<Step>)>) -> Self {
        Self::start_with(Shared {
            per_task: scripts
                .into_iter()
                .map(|(k, s)| (k.to_owned(), s))
                .collect(),
            ..Shared::default()
        })
    }

    /// The request bodies of every `/v1/messages` call with tools, in order.
    pub fn requests(&self) -> Vec<Value> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// The environment Claude Code needs to use this server (and nothing else on the network).
    pub fn env(&self, home: &std::path::Path) -> Vec<(String, String)> {
        [
            ("ANTHROPIC_BASE_URL", self.url.as_str()),
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
            ("DISABLE_TELEMETRY", "1"),
            ("DISABLE_AUTOUPDATER", "1"),
            ("DISABLE_ERROR_REPORTING", "1"),
            ("CLAUDE_CODE_MAX_RETRIES", "1"),
            ("HOME", &home.to_string_lossy()),
            ("CLAUDE_CONFIG_DIR", &home.join(".claude").to_string_lossy()),
            ("TMPDIR", &home.to_string_lossy()),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    }

    /// `env` as the lines of an `[agent.env]` table in orchestrator.toml.
    pub fn toml_env(&self, home: &std::path::Path) -> String {
        self.env(home)
            .iter()
            .map(|(k, v)| format!("{k} = {v:?}\n"))
            .collect()
    }
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn json_body(value: Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({"type": "error", "error": {"type": kind, "message": message}}).to_string(),
    )
        .into_response()
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    body: axum::body::Bytes,
) -> Response {
    let path = uri.path();
    match (method.as_str(), path) {
        ("HEAD", "/") | ("GET", "/") => StatusCode::OK.into_response(),
        ("GET", "/v1/models") => json_body(
            json!({"data": [{"id": "claude-fake-1", "type": "model"}], "has_more": false}),
        ),
        ("POST", "/v1/messages/count_tokens") => json_body(json!({"input_tokens": 10})),
        ("POST", "/v1/messages") => {
            let Ok(request) = serde_json::from_slice::<Value>(&body) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request_error",
                    "the body is not JSON",
                );
            };
            messages(&shared, request).await
        }
        _ => error(
            StatusCode::NOT_FOUND,
            "not_found_error",
            &format!("no route {path}"),
        ),
    }
}

/// The script for a conversation, and a number telling scripts apart.
fn script_for<'a>(shared: &'a Shared, request: &Value) -> (&'a [Step], usize) {
    let first = &request["messages"][0]["content"];
    let text = match first {
        Value::String(s) => s.clone(),
        Value::Array(blocks) => blocks
            .iter()
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    };
    let key = text
        .split("# Task ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .unwrap_or_default();
    match shared.per_task.iter().position(|(k, _)| k == key) {
        Some(i) => (&shared.per_task[i].1, i + 1),
        None => (&shared.script, 0),
    }
}

async fn messages(shared: &Shared, request: Value) -> Response {
    let model = request["model"]
        .as_str()
        .unwrap_or("claude-fake-1")
        .to_owned();
    let stream = request["stream"].as_bool().unwrap_or(false);
    let has_tools = request["tools"].as_array().is_some_and(|t| !t.is_empty());
    if !has_tools {
        // A side call (a title, a summary).
        return reply(&model, stream, &Step::text("ok"));
    }
    shared.requests.lock().unwrap().push(request.clone());
    let (script, which) = script_for(shared, &request);
    // Only the turns this server wrote count: Claude Code adds its own assistant messages (such as
    // "No response requested." for a turn cut off by a kill) to a resumed conversation.
    let scripted_texts: Vec<&str> = script
        .iter()
        .filter_map(Step::final_text)
        .chain(["Nothing more to do."])
        .collect();
    let index = request["messages"].as_array().map_or(0, |m| {
        m.iter()
            .filter(|m| m["role"] == "assistant")
            .filter(|m| {
                m["content"].as_array().is_some_and(|blocks| {
                    blocks.iter().any(|b| {
                        b["id"]
                            .as_str()
                            .is_some_and(|id| id.starts_with("toolu_fake_"))
                            || b["text"]
                                .as_str()
                                .is_some_and(|t| scripted_texts.contains(&t))
                    })
                })
            })
            .count()
    });
    let mut step = script
        .get(index)
        .cloned()
        .unwrap_or_else(|| Step::text("Nothing more to do."));
    loop {
        match step {
            Step::Fail {
                status,
                times,
                then,
            } => {
                let served = {
                    let mut served = shared.served.lock().unwrap();
                    let n = served.entry(which * 100_000 + index).or_default();
                    *n += 1;
                    *n
                };
                if served <= times {
                    let code =
                        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                    let kind = if status == 529 {
                        "overloaded_error"
                    } else if status == 400 {
                        "invalid_request_error"
                    } else {
                        "api_error"
                    };
                    return error(code, kind, "scripted failure");
                }
                step = *then;
            }
            Step::Slow {
                seconds,
                times,
                then,
            } => {
                let served = {
                    let mut served = shared.served.lock().unwrap();
                    let n = served.entry(which * 100_000 + index + 10_000).or_default();
                    *n += 1;
                    *n
                };
                if served <= times {
                    tokio::time::sleep(Duration::from_secs(seconds)).await;
                }
                step = *then;
            }
            other => return reply(&model, stream, &other),
        }
    }
}

fn reply(model: &str, stream: bool, step: &Step) -> Response {
    let id = format!("msg_fake_{}", uuid::Uuid::new_v4().simple());
    let (block, stop) = match step {
        Step::Tool { name, input } => (
            json!({"type": "tool_use", "id": format!("toolu_fake_{}", uuid::Uuid::new_v4().simple()), "name": name, "input": input}),
            "tool_use",
        ),
        Step::Text(text) => (json!({"type": "text", "text": text}), "end_turn"),
        _ => (json!({"type": "text", "text": "?"}), "end_turn"),
    };
    let usage = json!({"input_tokens": 10, "output_tokens": 5, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0});
    if !stream {
        return json_body(json!({
            "id": id, "type": "message", "role": "assistant", "model": model, "content": [block],
            "stop_reason": stop, "stop_sequence": null, "usage": usage,
        }));
    }
    let start_block = match &block["type"] {
        v if v == "tool_use" => {
            json!({"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}})
        }
        _ => json!({"type": "text", "text": ""}),
    };
    let delta = match &block["type"] {
        v if v == "tool_use" => {
            json!({"type": "input_json_delta", "partial_json": block["input"].to_string()})
        }
        _ => json!({"type": "text_delta", "text": block["text"]}),
    };
    let events = [
        (
            "message_start",
            json!({"type": "message_start", "message": {"id": id, "type": "message", "role": "assistant", "model": model, "content": [], "stop_reason": null, "stop_sequence": null, "usage": {"input_tokens": 10, "output_tokens": 1}}}),
        ),
        (
            "content_block_start",
            json!({"type": "content_block_start", "index": 0, "content_block": start_block}),
        ),
        (
            "content_block_delta",
            json!({"type": "content_block_delta", "index": 0, "delta": delta}),
        ),
        (
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        ),
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null}, "usage": {"output_tokens": 5}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ];
    let body: String = events
        .iter()
        .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
        .collect();
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from(body))
        .unwrap()
}
