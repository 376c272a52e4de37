//! Any other agent program (codex, aider, a script): the prompt on stdin, or as an argument
//! where the configured arguments say `{prompt}`; each stdout line an [`AgentEvent::Output`];
//! the exit code the outcome. It cannot ask for permissions, so it is for agents that enforce
//! their own, or for work the policy has nothing to say about.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use super::{Agent, AgentEvent, AgentHandle, Control, StartSpec, agent_env, tail_of};
use crate::error::{Error, Result};

/// The generic command adapter.
#[derive(Debug)]
pub struct CommandAgent;

impl Agent for CommandAgent {
    fn name(&self) -> &'static str {
        "command"
    }

    fn resumes(&self) -> bool {
        false
    }

    fn start(&self, spec: StartSpec) -> Result<AgentHandle> {
        let prompt_in_args = spec.args.iter().any(|a| a.contains("{prompt}"));
        let args: Vec<String> = spec
            .args
            .iter()
            .map(|a| a.replace("{prompt}", &spec.prompt))
            .collect();
        let mut cmd = tokio::process::Command::new(&spec.program);
        cmd.args(&args)
            .current_dir(&spec.cwd)
            .env("ORCHESTRATOR_SESSION_ID", spec.session.id())
            .stdin(if prompt_in_args {
                Stdio::null()
            } else {
                Stdio::piped()
            })
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
        if let Some(mut stdin) = child.stdin.take() {
            let prompt = spec.prompt.clone();
            tokio::spawn(async move {
                // Closing stdin after the prompt tells the program it has everything.
                let _ = stdin.write_all(prompt.as_bytes()).await;
                let _ = stdin.shutdown().await;
            });
        }
        let (event_tx, event_rx) = mpsc::channel(256);
        let (control_tx, mut control_rx) = mpsc::channel::<Control>(16);
        // Nothing to answer; an interrupt is SIGTERM to its process group (a program has no
        // other way to hear "stop"). Drained so senders never block.
        tokio::spawn(async move {
            while let Some(control) = control_rx.recv().await {
                if matches!(control, Control::Interrupt) {
                    super::signal_group(pid, libc::SIGTERM);
                }
            }
        });
        let stdout = child.stdout.take();
        let events = event_tx.clone();
        let reader = tokio::spawn(async move {
            let Some(stdout) = stdout else { return };
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if events
                    .send(AgentEvent::Output { text: line })
                    .await
                    .is_err()
                {
                    return;
                }
            }
        });
        let stderr_tail = tokio::spawn(tail_of(child.stderr.take()));
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
