//! Agent adapters: start a coding agent in a working directory and turn what it does into typed
//! [`AgentEvent`]s; answer its permission requests; interrupt or stop it.
//!
//! Every adapter implements [`Agent`]: `start` spawns the program and returns an
//! [`AgentHandle`], whose events arrive on a channel (read by the supervisor) and whose controls
//! (answer, interrupt, stop) go back to the process. [`claude`] speaks Claude Code's
//! stream-json protocol; [`command`] runs any other program.

pub mod claude;
pub mod command;

use std::path::PathBuf;

use tokio::sync::mpsc;

use crate::config::{AgentConfig, AgentKind};
use crate::error::Result;

/// Something a running agent did or said: one of the run log's agent kinds (`init`,
/// `assistant_text`, `tool_use`, `tool_result`, `permission_request`, `permission_cancelled`,
/// `api_retry`, `output`, `result`, `exited`, `unknown`), logged as it comes. Adapters produce only
/// those; the supervisor's own kinds (`status`, `verification`, …) are never an agent's.
pub type AgentEvent = crate::domain::RunEventData;

/// How an agent starts.
#[derive(Debug, Clone)]
pub struct StartSpec {
    /// The program.
    pub program: String,
    /// Extra arguments.
    pub args: Vec<String>,
    /// Where it works (the run's worktree).
    pub cwd: PathBuf,
    /// The task.
    pub prompt: String,
    /// A new session with this id, or a session to resume.
    pub session: Session,
    /// The model to ask for.
    pub model: Option<String>,
    /// Turn limit.
    pub max_turns: Option<u32>,
    /// Spending limit in US dollars.
    pub max_budget_usd: Option<f64>,
    /// Variables added to the agent's environment (configured ones and secrets).
    pub env: Vec<(String, String)>,
    /// Settings for the agent (Claude Code's `--settings` JSON: the policy's hook).
    pub settings: Option<String>,
}

/// Which agent session a start uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Session {
    /// A fresh session with this id.
    New(String),
    /// Continue this session.
    Resume(String),
}

impl Session {
    /// The session's id.
    pub fn id(&self) -> &str {
        match self {
            Self::New(id) | Self::Resume(id) => id,
        }
    }
}

/// Something sent to a running agent.
#[derive(Debug, Clone, PartialEq)]
pub enum Control {
    /// Answer a permission request.
    Answer {
        /// The request.
        request_id: String,
        /// Let the tool run.
        allow: bool,
        /// What the agent is told (a denial's reason).
        message: String,
        /// The tool's input, as the agent sent it (an allow must echo it).
        input: serde_json::Value,
    },
    /// Stop the current turn (the agent stays up).
    Interrupt,
}

/// A running agent: its events, and a way to talk back.
#[derive(Debug)]
pub struct AgentHandle {
    events: mpsc::Receiver<AgentEvent>,
    control: mpsc::Sender<Control>,
    pid: Option<u32>,
}

impl AgentHandle {
    /// A handle on an agent that runs in this process (no process of its own): it sends its
    /// events on `events` and reads what the supervisor sends it from `control`.
    pub fn in_process(events: mpsc::Receiver<AgentEvent>, control: mpsc::Sender<Control>) -> Self {
        Self {
            events,
            control,
            pid: None,
        }
    }

    /// The next event; `None` once the agent has exited and every event was read.
    pub async fn next_event(&mut self) -> Option<AgentEvent> {
        self.events.recv().await
    }

    /// Sends a control message (ignored if the agent is gone).
    pub async fn send(&self, control: Control) {
        let _ = self.control.send(control).await;
    }

    /// The agent's process id.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Kills the agent and everything it started (its process group).
    pub fn kill(&self) {
        kill_group(self.pid);
    }
}

/// Kills a process group led by `pid`.
pub fn kill_group(pid: Option<u32>) {
    signal_group(pid, libc::SIGKILL);
}

/// Sends `signal` to the process group led by `pid`.
pub(crate) fn signal_group(pid: Option<u32>, signal: libc::c_int) {
    if let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()).filter(|p| *p > 1) {
        // SAFETY: kill(2) on the process group the agent leads (started with process_group(0)).
        unsafe {
            libc::kill(-pid, signal);
        }
    }
}

/// The variable every agent carries — and so everything it starts, in whatever session or
/// process group (Claude Code runs each command in a session of its own) — naming its run and
/// attempt, so that all of it can be found and ended with the agent.
pub const MARK_VAR: &str = "ORCHESTRATOR_AGENT_MARK";

/// Kills (SIGKILL) every process of this user whose environment carries [`MARK_VAR`] with a
/// value starting with `prefix`: what an agent started and left behind, orphans included.
/// Looks again until none is left. Returns how many were killed.
pub fn kill_marked(prefix: &str) -> usize {
    let needle = format!("{MARK_VAR}={prefix}");
    let me = std::process::id();
    let mut killed = 0;
    for _ in 0..50 {
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return killed;
        };
        let mut found = 0;
        for entry in dir.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<i32>().ok())
                .filter(|p| *p > 1 && u32::try_from(*p).ok() != Some(me))
            else {
                continue;
            };
            // A zombie's environment reads empty: it is dead already.
            let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
                continue;
            };
            if environ
                .split(|b| *b == 0)
                .any(|v| v.starts_with(needle.as_bytes()))
            {
                // SAFETY: kill(2) on a process found carrying this run's mark.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                }
                found += 1;
            }
        }
        if found == 0 {
            break;
        }
        killed += found;
        // The signals land asynchronously; look again for what they left or what was forked.
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    killed
}

/// Whether a process is still alive.
pub fn alive(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

/// An agent adapter.
pub trait Agent: Send + Sync + std::fmt::Debug {
    /// The adapter's name (`claude`, `command`).
    fn name(&self) -> &'static str;
    /// Whether it can resume a session.
    fn resumes(&self) -> bool;
    /// Starts the agent.
    fn start(&self, spec: StartSpec) -> Result<AgentHandle>;
}

/// The adapter a configuration calls for.
pub fn for_config(config: &AgentConfig) -> Box<dyn Agent> {
    match config.kind() {
        AgentKind::Claude => Box::new(claude::Claude),
        AgentKind::Command => Box::new(command::CommandAgent),
    }
}

/// The environment an agent gets: the orchestrator's, without `CLAUDECODE` (so Claude Code
/// does not think it runs inside itself) and without `ORCHESTRATOR_*`, plus the extra
/// variables.
pub(crate) fn agent_env(cmd: &mut tokio::process::Command, extra: &[(String, String)]) {
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key == "CLAUDECODE"
            || key.starts_with("ORCHESTRATOR_")
            || key == "CLAUDE_CODE_ENTRYPOINT"
        {
            cmd.env_remove(key.as_ref());
        }
    }
    cmd.envs(extra.iter().map(|(k, v)| (k, v)));
}

/// Makes the agent die with the orchestrator (Linux), so a killed orchestrator leaves no agent
/// working unsupervised; the next start resumes the run from its stored session instead.
fn die_with_parent(cmd: &mut tokio::process::Command) {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

/// Collects the last part of a stream (stderr) for the exit event.
async fn tail_of(stream: Option<impl tokio::io::AsyncRead + Unpin>) -> String {
    use tokio::io::AsyncReadExt;
    let Some(mut stream) = stream else {
        return String::new();
    };
    let mut kept: Vec<u8> = Vec::new();
    let mut buf = [0u8; 8192];
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 {
            break;
        }
        kept.extend_from_slice(&buf[..n]);
        if kept.len() > 16_384 {
            kept.drain(..kept.len() - 8192);
        }
    }
    crate::verifier::run::last_chars(&String::from_utf8_lossy(&kept), 2000)
}

/// The variables an agent gets on top of the orchestrator's own: `[agent.env]`, then the
/// secrets of `.secrets.json`.
pub fn configured_env(settings: &crate::config::Settings) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = settings
        .config
        .agent
        .env
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    env.extend(
        settings
            .secrets
            .env_pairs()
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
    );
    env
}

/// Quotes a word for a POSIX shell when it needs it.
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:=@%,".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn shell_quote_leaves_plain_paths_alone() {
        assert_eq!(
            super::shell_quote("/usr/bin/orchestrator"),
            "/usr/bin/orchestrator"
        );
        assert_eq!(
            super::shell_quote("/my projects/it's"),
            r"'/my projects/it'\''s'"
        );
    }
}
