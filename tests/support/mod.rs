//! Shared helpers for the integration tests: a seeded project, the built binary, the test tools
//! that `scripts/test` installs.
#![allow(dead_code)]

pub mod fake_api;
pub mod plans;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use orchestrator::domain::{Decision, Phase, PlanContent, PlanId, Run, RunStatus, Task};
use orchestrator::store::Store;
use serde_json::{Value, json};

/// How long any single reply may take before a test fails instead of hanging.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// A temporary project folder with its own data dir.
pub struct Project {
    pub dir: tempfile::TempDir,
    pub root: PathBuf,
    pub data_dir: PathBuf,
}

impl Project {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("project")).expect("project dir");
        // The binary canonicalizes --project; the seeded project must have the same root.
        let root = dir.path().join("project").canonicalize().unwrap();
        let data_dir = dir.path().join("data");
        Self {
            dir,
            root,
            data_dir,
        }
    }

    pub fn db(&self) -> PathBuf {
        self.data_dir.join("orchestrator.db")
    }

    pub fn store(&self) -> Store {
        Store::open(&self.db()).expect("open store")
    }

    /// Seeds a plan with two versions (v2 changes the goal, edits task T2, adds T3, drops D1).
    pub fn seed_plan(&self) -> PlanId {
        let store = self.store();
        let project = store.ensure_project(&self.root, "project").unwrap();
        let plan = store
            .create_plan(
                project.id,
                None,
                "Health endpoint",
                &content_v1(),
                "created",
            )
            .unwrap();
        store
            .save_plan_version(plan.id, &content_v2(), "revised")
            .unwrap();
        plan.id
    }

    /// An approved plan of `content`, titled `title`, in this project.
    pub fn approved_plan(&self, title: &str, content: &PlanContent) -> PlanId {
        let store = self.store();
        let project = store.ensure_project(&self.root, "project").unwrap();
        let plan = store
            .create_plan(project.id, None, title, content, "created")
            .unwrap();
        store
            .set_plan_status(plan.id, orchestrator::domain::PlanStatus::Approved)
            .unwrap();
        plan.id
    }

    /// The binary, run against this project and data dir.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_orchestrator"));
        cmd.arg("--project")
            .arg(&self.root)
            .arg("--data-dir")
            .arg(&self.data_dir);
        cmd.env_remove("RUST_LOG");
        for (var, _) in orchestrator::config::ENV_VARS {
            cmd.env_remove(var);
        }
        cmd
    }
}

/// A run of `plan`'s task T1 by `agent`, walked to IN_PROGRESS as an engine starting it would.
pub fn run_in_progress(store: &Store, plan: PlanId, agent: &str) -> Run {
    let run = store
        .create_run(&orchestrator::store::NewRun {
            plan_id: plan,
            task_key: "T1".into(),
            agent: agent.into(),
        })
        .unwrap();
    for status in [RunStatus::Delegated, RunStatus::InProgress] {
        store.set_run_status(run.id, status, None).unwrap();
    }
    store.run(run.id).unwrap()
}

pub fn task(key: &str, description: &str, depends_on: &[&str]) -> Task {
    Task {
        reads: Vec::new(),
        key: key.into(),
        title: format!("Task {key}"),
        description: description.into(),
        files: vec![format!("src/{key}.rs")],
        depends_on: depends_on.iter().map(|d| d.to_string()).collect(),
        verification: vec!["cargo test".into()],
        rules: Default::default(),
    }
}

pub fn content_v1() -> PlanContent {
    PlanContent {
        goal: "Add a health endpoint".into(),
        success_criteria: vec!["GET /health answers 200".into()],
        constraints: vec!["no new dependencies".into()],
        phases: vec![Phase {
            overlap: false,
            key: "p1".into(),
            name: "Build".into(),
            description: "the endpoint".into(),
            tasks: vec![
                task("T1", "add the route", &[]),
                task("T2", "add the handler", &["T1"]),
            ],
        }],
        decisions: vec![Decision {
            key: "D1".into(),
            what: "use axum".into(),
            why: "already used".into(),
            rejected_alternatives: vec![],
        }],
    }
}

pub fn content_v2() -> PlanContent {
    let mut content = content_v1();
    content.goal = "Add health and readiness endpoints".into();
    content.phases[0].tasks[1].description = "add both handlers".into();
    content.phases[0]
        .tasks
        .push(task("T3", "add readiness", &["T2"]));
    content.decisions.clear();
    content
}

/// The tools folder that `scripts/test` fills (Python venv, Node packages).
pub fn tools_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools")
}

/// A path inside the tools folder, or a failure saying how to install it.
pub fn tool(relative: &str) -> PathBuf {
    let path = tools_dir().join(relative);
    assert!(
        path.exists(),
        "{} is missing: run `scripts/test` (it installs the test tools) instead of bare `cargo test`",
        path.display()
    );
    path
}

/// A JSON-RPC peer over a child's stdin/stdout, one message per line.
pub struct StdioPeer {
    pub child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
}

impl StdioPeer {
    pub fn spawn(cmd: Command) -> Self {
        Self::spawn_with(cmd, Stdio::null())
    }

    /// Like `spawn`, with the server's stderr lines read as they come.
    pub fn spawn_with_stderr(cmd: Command) -> (Self, Receiver<String>) {
        let mut peer = Self::spawn_with(cmd, Stdio::piped());
        let stderr = peer.child.stderr.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        (peer, lines)
    }

    fn spawn_with(mut cmd: Command, stderr: Stdio) -> Self {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn orchestrator");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            stdin,
            lines,
        }
    }

    pub fn send_raw(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").expect("write to server");
        self.stdin.flush().unwrap();
    }

    pub fn send(&mut self, message: &Value) {
        self.send_raw(&message.to_string());
    }

    /// The next message from the server, failing the test after REPLY_TIMEOUT.
    pub fn next(&mut self) -> Value {
        let line = self
            .lines
            .recv_timeout(REPLY_TIMEOUT)
            .expect("the server did not answer in time");
        serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("server wrote a non-JSON line ({e}): {line}"))
    }

    /// Sends a request and returns the response with the same id, skipping notifications.
    pub fn request(&mut self, id: u64, method: &str, params: Value) -> Value {
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let message = self.next();
            if message.get("id") == Some(&json!(id)) {
                return message;
            }
        }
    }

    pub fn initialize(&mut self) -> Value {
        let reply = self.request(
            0,
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "tests", "version": "1"}}),
        );
        self.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        reply
    }

    /// Closes stdin and waits for the server to exit on its own.
    pub fn finish(mut self) -> std::process::ExitStatus {
        drop(self.stdin);
        let deadline = std::time::Instant::now() + REPLY_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the server did not exit after stdin closed"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A running `serve --http` child, killed on drop.
pub struct HttpServer {
    pub child: Child,
    pub url: String,
}

impl HttpServer {
    pub fn spawn(mut cmd: Command) -> Self {
        let mut child = cmd
            .args(["serve", "--http", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn orchestrator");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.strip_prefix("orchestrator: MCP over HTTP at ") {
                    let _ = tx.send(url.trim().to_string());
                }
            }
        });
        let url = rx
            .recv_timeout(REPLY_TIMEOUT)
            .expect("the HTTP server did not report its address");
        Self { child, url }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The structured content of a successful tools/call response.
pub fn structured(reply: &Value) -> &Value {
    let result = &reply["result"];
    assert_eq!(result["isError"], json!(false), "tool call failed: {reply}");
    &result["structuredContent"]
}

/// The text of a tool error.
pub fn tool_error_text(reply: &Value) -> String {
    assert_eq!(
        reply["result"]["isError"],
        json!(true),
        "expected a tool error: {reply}"
    );
    reply["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Writes `files` (relative path, content) under `root`, creating folders.
pub fn write_files(root: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
}

/// Writes the project's `.secrets.json` (`json`), readable by its owner only, as the
/// orchestrator requires.
pub fn write_secrets(root: &Path, json: &str) {
    use std::os::unix::fs::PermissionsExt;
    let path = root.join(".secrets.json");
    std::fs::write(&path, json).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// A small Python project with pytest, ruff and mypy configured, CI and a README.
pub const PYTHON_PROJECT: &[(&str, &str)] = &[
    (
        "pyproject.toml",
        "[project]\nname = \"notes\"\nversion = \"0.1.0\"\n\n[tool.pytest.ini_options]\ntestpaths = [\"tests\"]\n\n[tool.ruff]\nline-length = 100\n\n[tool.mypy]\nstrict = true\n",
    ),
    ("src/notes/__init__.py", "\"\"\"Notes.\"\"\"\n"),
    (
        "src/notes/store.py",
        "def load() -> list[str]:\n    return []\n",
    ),
    (
        "tests/test_store.py",
        "from notes.store import load\n\n\ndef test_load() -> None:\n    assert load() == []\n",
    ),
    (
        "README.md",
        "# Notes\n\nA tiny note keeper for the command line.\n",
    ),
    (".github/workflows/ci.yml", "on: push\njobs: {}\n"),
];

/// A small Rust crate.
pub const RUST_PROJECT: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        "[package]\nname = \"tally\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    ),
    ("src/main.rs", "fn main() {}\n"),
    (
        "src/lib.rs",
        "pub fn add(a: i32, b: i32) -> i32 { a + b }\n",
    ),
    ("rustfmt.toml", "max_width = 100\n"),
];

/// A tools/call over a peer; returns the whole response.
pub fn call(peer: &mut StdioPeer, id: u64, tool: &str, arguments: Value) -> Value {
    peer.request(
        id,
        "tools/call",
        json!({"name": tool, "arguments": arguments}),
    )
}

/// Runs git in `root` with a throwaway identity; fails the test if git does. Returns stdout, trimmed.
pub fn git(root: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A running `orchestrator dashboard` (or `serve --dashboard`), killed on drop.
pub struct Dashboard {
    pub child: Child,
    /// `http://ADDR/`.
    pub url: String,
    /// The token printed with the address, when one was made up.
    pub token: Option<String>,
}

impl Dashboard {
    /// Starts `cmd` and waits for the address it prints on stderr; stderr keeps being drained.
    pub fn start(mut cmd: Command) -> Self {
        let mut child = cmd
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let (url, token) = loop {
            let line = lines
                .next()
                .expect("the dashboard printed its address")
                .unwrap();
            if let Some(found) = dashboard_address(&line) {
                break found;
            }
        };
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Self { child, url, token }
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The URL and made-up token in the dashboard's `… dashboard at http://ADDR/[#token=T]` line.
pub fn dashboard_address(line: &str) -> Option<(String, Option<String>)> {
    let at = line.find("dashboard at ")?;
    let address = line[at + "dashboard at ".len()..]
        .split(" (open")
        .next()
        .unwrap_or_default()
        .trim();
    Some(match address.split_once("#token=") {
        Some((url, token)) => (url.to_owned(), Some(token.to_owned())),
        None => (address.to_owned(), None),
    })
}
