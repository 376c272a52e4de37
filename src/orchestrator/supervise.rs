//! The supervision loop: owns a run from start to end. It claims the run (a lease renewed by a
//! heartbeat), starts the agent, appends every event to the run's log before acting on it,
//! answers permission requests through the policy (an escalation waits for a person while the
//! agent waits), watches for stalls, checkpoints (at the first edit, periodically, before and
//! after verification, on failure), verifies the work, and on failure retries with exponential
//! backoff — telling the next attempt what failed and resuming the agent's session where that
//! helps — until the retries run out and the run is escalated to a person with a summary.
//!
//! Every store call runs on the blocking pool (`Orchestrator::blocking`), never on an async
//! worker. The judgement it acts on — failures, an attempt's end, backoff, lease identity,
//! checkpoints — is `supervisor/`, free of I/O. The agent is the configured adapter, or the one a
//! library user or test gave the engine (`Orchestrator::with_agent`).
//!
//! A run is recovered after the orchestrator dies: [`orphans`] finds runs whose owner is gone and
//! they are supervised again from their stored session.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{ContextFor, Landing, Orchestrator, VerifyOptions};
use crate::agent::{self, AgentEvent, Control, Session, StartSpec};
use crate::config::Settings;
use crate::domain::{
    CheckpointMark, ContextEntry, Run, RunEvent, RunEventData, RunEventKind, RunId, RunStatus,
    Timestamp, Transition,
};
use crate::error::{Error, Result};
use crate::policy::ToolRequest;
use crate::store::{NewCheckpoint, RunUpdate};
use crate::supervisor::{
    AgentEnd, AgentReport, Ending, Failure, backoff, engine_id, finished_cleanly, owner_is_dead,
};

/// Supervises a run until it is completed, escalated, cancelled or stopped (`stop` fired:
/// the agent is stopped cleanly and the run left to be resumed). `on_event` sees every event as
/// it is logged.
pub(super) async fn supervise(
    engine: &Orchestrator,
    run_id: RunId,
    stop: CancellationToken,
    on_event: &(dyn Fn(&RunEvent) + Send + Sync),
) -> Result<Run> {
    let _slot = engine.agent_slot().await;
    let owner = engine_id();
    let settings = engine
        .settings()
        .cloned()
        .unwrap_or_else(|| Settings::for_root(&engine.project().root));
    let lease = Duration::from_secs(settings.config.supervisor.lease_secs.max(5));
    let claimed = {
        let owner = owner.clone();
        engine
            .blocking(move |s| s.claim_run(run_id, &owner, Timestamp::now().plus(lease)))
            .await?
    };
    if !claimed {
        let run = run_of(engine, run_id).await?;
        let holder = run.lease_owner.clone().unwrap_or_default();
        if !owner_is_dead(&holder) {
            return Err(Error::Busy(format!(
                "run {run_id} is being supervised by {holder}; it can be taken over when that lease runs out"
            )));
        }
        let owner2 = owner.clone();
        engine
            .blocking(move |s| {
                s.release_run(run_id, &holder)?;
                s.claim_run(run_id, &owner2, Timestamp::now().plus(lease))
            })
            .await?;
    }
    let result = attempts(engine, &settings, run_id, &owner, &stop, on_event).await;
    let owner2 = owner.clone();
    let _ = engine
        .blocking(move |s| s.release_run(run_id, &owner2))
        .await;
    result
}

async fn attempts(
    engine: &Orchestrator,
    settings: &Settings,
    run_id: RunId,
    owner: &str,
    stop: &CancellationToken,
    on_event: &(dyn Fn(&RunEvent) + Send + Sync),
) -> Result<Run> {
    let max_attempts = settings.config.supervisor.max_retries + 1;
    let mut previous: Option<Failure> = None;
    loop {
        let run = run_of(engine, run_id).await?;
        match run.status {
            RunStatus::Completed | RunStatus::Cancelled | RunStatus::Escalated => return Ok(run),
            RunStatus::Failed => {
                // A failure an earlier engine left: retry it now (the backoff is behind it).
                set_status(engine, run_id, RunStatus::Pending, None).await?;
                continue;
            }
            _ => {}
        }
        let previous_error = previous
            .as_ref()
            .map(Failure::describe)
            .or_else(|| run.last_error.clone());
        let ending = attempt(
            engine,
            settings,
            &run,
            owner,
            previous.as_ref(),
            previous_error.as_deref(),
            stop,
            on_event,
        )
        .await?;
        match ending {
            Ending::Completed | Ending::Stopped => return run_of(engine, run_id).await,
            Ending::Escalate(why) => {
                let run = run_of(engine, run_id).await?;
                return escalate(engine, settings, &run, &why, on_event).await;
            }
            Ending::Failed(failure) => {
                let why = failure.describe();
                let run = run_of(engine, run_id).await?;
                let run = if run.status == RunStatus::Failed {
                    run
                } else {
                    set_status(engine, run_id, RunStatus::Failed, Some(why.clone())).await?
                };
                log(
                    engine,
                    run_id,
                    RunEventData::AttemptFailed {
                        attempt: run.attempt,
                        error: why.clone(),
                    },
                    on_event,
                )
                .await;
                if run.attempt >= max_attempts {
                    return escalate(engine, settings, &run, &why, on_event).await;
                }
                let backoff = backoff(settings.config.supervisor.retry_backoff_secs, run.attempt);
                log(
                    engine,
                    run_id,
                    RunEventData::RetryScheduled {
                        attempt: run.attempt + 1,
                        in_secs: backoff.as_secs_f64(),
                    },
                    on_event,
                )
                .await;
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = stop.cancelled() => return run_of(engine, run_id).await,
                }
                set_status(engine, run_id, RunStatus::Pending, None).await?;
                previous = Some(failure);
            }
        }
    }
}

async fn log(
    engine: &Orchestrator,
    run_id: RunId,
    data: RunEventData,
    on_event: &(dyn Fn(&RunEvent) + Send + Sync),
) {
    // Secrets are masked wherever they sit in the entry's data.
    let data = RunEventData::from_stored(data.kind_text(), engine.redact_value(&data.payload()));
    if let Ok(event) = engine
        .blocking(move |s| s.append_event(run_id, &data))
        .await
    {
        on_event(&event);
    }
}

async fn escalate(
    engine: &Orchestrator,
    settings: &Settings,
    run: &Run,
    why: &str,
    on_event: &(dyn Fn(&RunEvent) + Send + Sync),
) -> Result<Run> {
    let id = run.id;
    let checkpoints = engine.blocking(move |s| s.checkpoints(id)).await?;
    let last = checkpoints.last();
    let summary = RunEventData::Escalated {
        task: run.task_key.clone(),
        attempts: run.attempt,
        last_error: why.to_owned(),
        last_checkpoint: last.map(|c| CheckpointMark {
            reason: c.reason.clone(),
            commit: c.commit.clone(),
            at: c.at,
        }),
        files_changed: last.map(|c| c.files_changed.clone()).unwrap_or_default(),
        cost_usd: last.map_or(0.0, |c| c.cost_usd),
    };
    let escalated = set_status(engine, run.id, RunStatus::Escalated, Some(why.to_owned())).await?;
    let summary_json = summary.payload();
    log(engine, run.id, summary, on_event).await;
    crate::policy::notify::notify_event(
        &settings.config.policy,
        "run_escalated",
        &json!({"run": escalated, "summary": summary_json}),
    )
    .await;
    Ok(escalated)
}

#[allow(clippy::too_many_arguments, clippy::too_many_lines)]
async fn attempt(
    engine: &Orchestrator,
    settings: &Settings,
    run: &Run,
    owner: &str,
    previous: Option<&Failure>,
    previous_error: Option<&str>,
    stop: &CancellationToken,
    on_event: &(dyn Fn(&RunEvent) + Send + Sync),
) -> Result<Ending> {
    let run_id = run.id;
    let config = &settings.config;
    // A run already in flight when this engine took it was cut off (its engine died).
    let recovering = matches!(run.status, RunStatus::InProgress | RunStatus::Delegated);
    // Walk the status to IN_PROGRESS (a recovered run may already be there).
    let mut current = run_of(engine, run_id).await?.status;
    for next in [RunStatus::Delegated, RunStatus::InProgress] {
        if current.next().contains(&next) && current != RunStatus::InProgress {
            current = set_status(engine, run_id, next, None).await?.status;
        }
    }
    if recovering || current == RunStatus::Verifying {
        // What the dead engine's agent started may still be at work in the tree: not any more.
        end_marked(
            engine,
            run_id,
            engine.agent_mark_prefix(run_id),
            "left running by the engine that died",
            on_event,
        )
        .await;
    }
    if current == RunStatus::Verifying {
        // Recovered during verification: verify again.
        return verify(engine, run_id, on_event).await;
    }
    if recovering
        && finished_cleanly(
            &engine
                .blocking(move |s| s.events(run_id, 0, u32::MAX))
                .await?,
        )
    {
        // The engine died after the agent's clean end was logged and before verification:
        // the work is done, so it is verified, not started again.
        log(
            engine,
            run_id,
            RunEventData::Recovered {
                from: "the agent's logged clean exit".into(),
                next: "verification".into(),
            },
            on_event,
        )
        .await;
        set_status(engine, run_id, RunStatus::Verifying, None).await?;
        return verify(engine, run_id, on_event).await;
    }
    let dir: PathBuf = run
        .worktree
        .clone()
        .unwrap_or_else(|| engine.project().root.clone());
    if run.base_commit.is_none()
        && let Some(head) = crate::supervisor::checkpoint::head(&dir).await
    {
        update_run(
            engine,
            run_id,
            RunUpdate {
                base_commit: Some(head),
                ..RunUpdate::default()
            },
        )
        .await?;
    }
    let adapter = engine.agent_adapter(&config.agent);
    let stored_session = run_of(engine, run_id).await?.agent_session_id;
    let resume = previous.map_or(recovering, Failure::resume_session);
    // A resume that got nowhere (the agent died before its transcript was written, say) is not
    // tried again: the next attempt starts a fresh session.
    let answered = {
        engine
            .blocking(move |s| {
                let events = s.events(run_id, 0, u32::MAX)?;
                let spoke = |e: &RunEvent| {
                    matches!(
                        e.kind(),
                        Some(RunEventKind::AssistantText | RunEventKind::ToolUse)
                    )
                };
                let last_start = events
                    .iter()
                    .rposition(|e| e.kind() == Some(RunEventKind::AttemptStarted));
                Ok(!last_start.is_some_and(|at| {
                    matches!(
                        events[at].data,
                        RunEventData::AttemptStarted { resumed: true, .. }
                    ) && !events[at..].iter().any(spoke)
                }))
            })
            .await?
    };
    let resume = resume && answered;
    let session = match stored_session {
        Some(id) if adapter.resumes() && resume => Session::Resume(id),
        _ => Session::New(uuid::Uuid::new_v4().to_string()),
    };
    if let Session::New(id) = &session {
        update_run(
            engine,
            run_id,
            RunUpdate {
                agent_session_id: Some(id.clone()),
                ..RunUpdate::default()
            },
        )
        .await?;
    }
    let mut env = agent::configured_env(settings);
    // Everything this attempt's agent starts carries its mark, to end it all with the agent.
    let mark = format!(
        "{}{}",
        engine.agent_mark_prefix(run_id),
        uuid::Uuid::new_v4().simple()
    );
    env.push((agent::MARK_VAR.to_owned(), mark.clone()));
    // The prompt: built by the context builder, within the budget.
    let for_run = ContextFor {
        version: Some(run.plan_version),
        run: Some(run.id),
        previous_error,
        budget: None,
    };
    let context = match engine
        .context_for_task(run.plan_id, &run.task_key, for_run)
        .await
    {
        Ok(context) => context,
        Err(e) => {
            return Ok(Ending::Failed(Failure::Start(format!(
                "building its context: {e}"
            ))));
        }
    };
    let items = |items: &[crate::context::ContextItem]| -> Vec<ContextEntry> {
        items
            .iter()
            .map(|i| ContextEntry {
                section: i.section.clone(),
                label: i.label.clone(),
                tokens: i.tokens,
                reason: i.reason.clone(),
            })
            .collect()
    };
    log(
        engine,
        run_id,
        RunEventData::Context {
            estimated_tokens: context.estimated_tokens,
            budget: context.budget,
            included: items(&context.included),
            dropped: items(&context.dropped),
        },
        on_event,
    )
    .await;
    if !context.fits {
        return Ok(Ending::Escalate(format!(
            "the task alone makes a prompt of {} tokens, over the context budget of {}: shorten its description or split it",
            context.estimated_tokens, context.budget
        )));
    }
    let spec = StartSpec {
        program: config.agent.command.clone(),
        args: config.agent.args.clone(),
        cwd: dir.clone(),
        prompt: context.prompt,
        session: session.clone(),
        model: config.agent.model.clone(),
        max_turns: config.agent.max_turns,
        max_budget_usd: config.agent.max_budget_usd,
        env,
        // Claude Code lets read-only calls (Read, `cat`) through without asking: a hook puts
        // every call to the policy first, so a secret file is never read into the model.
        settings: engine.pre_tool_use_hook(run_id).map(|command| {
            json!({"hooks": {"PreToolUse": [{"matcher": "*", "hooks": [{"type": "command", "command": command}]}]}})
                .to_string()
        }),
    };
    log(
        engine,
        run_id,
        RunEventData::AttemptStarted {
            attempt: run.attempt,
            session: session.id().to_owned(),
            resumed: matches!(session, Session::Resume(_)),
            agent: adapter.name().to_owned(),
        },
        on_event,
    )
    .await;
    let mut handle = match adapter.start(spec) {
        Ok(handle) => handle,
        Err(e) => return Ok(Ending::Failed(Failure::Start(e.to_string()))),
    };
    log(
        engine,
        run_id,
        RunEventData::AgentStarted { pid: handle.pid() },
        on_event,
    )
    .await;

    let stall = Duration::from_secs(config.supervisor.stall_timeout_secs.max(1));
    let monitor_every =
        Duration::from_secs(config.supervisor.monitor_interval_secs.max(1)).min(stall);
    let checkpoint_every = Duration::from_secs(config.supervisor.checkpoint_interval_secs.max(1));
    let lease = Duration::from_secs(config.supervisor.lease_secs.max(5));
    let mut monitor = tokio::time::interval(monitor_every);
    monitor.tick().await;
    let mut last_event = Instant::now();
    let mut last_checkpoint = Instant::now();
    let (answer_tx, mut answer_rx) =
        mpsc::channel::<(String, crate::PermissionAnswer, serde_json::Value)>(16);
    let (waiting_tx, mut waiting_rx) = mpsc::channel::<crate::domain::ApprovalRequest>(16);
    let mut waiting: HashSet<String> = HashSet::new();
    let mut usage = (0.0_f64, 0_u64, 0_u64);
    let mut last_output = String::new();
    let mut edited = false;
    let mut result: Option<(bool, String)> = None;
    let mut exit: Option<(Option<i32>, Option<i32>, String)> = None;
    let mut stalled = false;
    let mut stopped = false;
    let mut lost = false;
    // Fired by `stop`, or by the heartbeat seeing the run cancelled elsewhere.
    let halt = stop.child_token();
    loop {
        tokio::select! {
            event = handle.next_event() => {
                let Some(event) = event else { break };
                last_event = Instant::now();
                // Written before it is acted on.
                log(engine, run_id, event.clone(), on_event).await;
                match event {
                    AgentEvent::Init { session_id, .. } if !session_id.is_empty() => {
                        update_run(engine, run_id, RunUpdate { agent_session_id: Some(session_id), ..RunUpdate::default() }).await?;
                    }
                    AgentEvent::PermissionRequest { request_id, tool_name, input } => {
                        waiting.insert(request_id.clone());
                        let engine = engine.clone();
                        let tx = answer_tx.clone();
                        let waiting_tx = waiting_tx.clone();
                        tokio::spawn(async move {
                            let request = ToolRequest { tool_name, input: input.clone() };
                            let failed = |e: Error| crate::PermissionAnswer {
                                allowed: false,
                                message: format!("the permission could not be decided: {e}"),
                                decided_by: "error".into(),
                                approval_id: None,
                            };
                            let answer = match engine.submit_permission(run_id, request).await {
                                Ok((_, Some(queued))) => {
                                    let _ = waiting_tx.send(queued.clone()).await;
                                    engine.wait_for_approval(queued.id).await.unwrap_or_else(failed)
                                }
                                Ok((decision, None)) => crate::PermissionAnswer {
                                    allowed: decision.verdict == crate::policy::Severity::Allow,
                                    message: decision.reason,
                                    decided_by: decision.rule.map_or_else(|| "policy".to_owned(), |r| format!("policy: {r}")),
                                    approval_id: None,
                                },
                                Err(e) => failed(e),
                            };
                            let _ = tx.send((request_id, answer, input)).await;
                        });
                    }
                    AgentEvent::PermissionCancelled { request_id } => {
                        waiting.remove(&request_id);
                    }
                    AgentEvent::ToolUse { name, .. } if !edited && matches!(name.as_str(), "Edit" | "Write" | "MultiEdit" | "NotebookEdit") => {
                        edited = true;
                        save_checkpoint(engine, run_id, &dir, "first edit", usage, &last_output).await;
                        last_checkpoint = Instant::now();
                    }
                    AgentEvent::AssistantText { text } | AgentEvent::Output { text } => last_output = crate::verifier::run::last_chars(&text, 2000),
                    AgentEvent::Result { is_error, subtype, text, cost_usd, input_tokens, output_tokens, .. } => {
                        usage = (cost_usd, input_tokens, output_tokens);
                        if let Some(t) = &text {
                            last_output = crate::verifier::run::last_chars(t, 2000);
                        }
                        result = Some((is_error, format!("{subtype}: {}", text.unwrap_or_default())));
                    }
                    AgentEvent::Exited { code, signal, stderr_tail } => {
                        exit = Some((code, signal, stderr_tail));
                        break;
                    }
                    _ => {}
                }
            }
            Some((request_id, answer, input)) = answer_rx.recv() => {
                if waiting.remove(&request_id) {
                    log(engine, run_id, RunEventData::PermissionAnswer { request_id: request_id.clone(), allowed: answer.allowed, message: answer.message.clone(), decided_by: answer.decided_by, approval_id: answer.approval_id }, on_event).await;
                    handle.send(Control::Answer { request_id, allow: answer.allowed, message: answer.message, input }).await;
                }
                // The wait for a person is not the agent's silence.
                last_event = Instant::now();
            }
            Some(queued) = waiting_rx.recv() => {
                log(engine, run_id, RunEventData::ApprovalWaiting { approval_id: queued.id, tool_name: queued.tool_name, reason: queued.reason, expires_at: queued.expires_at }, on_event).await;
            }
            _ = monitor.tick() => {
                let owner2 = owner.to_owned();
                // The heartbeat: the run's lease and its file locks, while the run is still ours.
                let held = engine
                    .blocking(move |s| s.heartbeat(run_id, &owner2, Timestamp::now().plus(lease)))
                    .await;
                if matches!(held, Ok(Some(RunStatus::Cancelled))) && !stopped {
                    // Cancelled by a person from another process: stop as for any stop.
                    halt.cancel();
                }
                if matches!(held, Ok(None)) {
                    // Another engine took the run over (this one was thought dead): two agents
                    // must never work on one task, so this one stops and leaves it all to that one.
                    log(engine, run_id, RunEventData::LeaseLost { owner: None }, on_event).await;
                    handle.send(Control::Interrupt).await;
                    handle.kill();
                    lost = true;
                    break;
                }
                if waiting.is_empty() && last_event.elapsed() >= stall {
                    stalled = true;
                    log(engine, run_id, RunEventData::Stalled { silent_secs: last_event.elapsed().as_secs() }, on_event).await;
                    handle.send(Control::Interrupt).await;
                    handle.kill();
                }
                if last_checkpoint.elapsed() >= checkpoint_every {
                    save_checkpoint(engine, run_id, &dir, "periodic", usage, &last_output).await;
                    last_checkpoint = Instant::now();
                }
            }
            () = halt.cancelled(), if !stopped => {
                stopped = true;
                let why = if engine.stop_token().is_cancelled() {
                    "the orchestrator is shutting down"
                } else {
                    "a person paused or cancelled the run or its plan run"
                };
                log(engine, run_id, RunEventData::Stopping { why: why.to_owned() }, on_event).await;
                handle.send(Control::Interrupt).await;
                // Give the agent a moment to stop on its own, then end it.
                let pid = handle.pid();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    agent::kill_group(pid);
                });
            }
        }
    }
    handle.kill();
    // Commands the agent started in sessions of their own (Claude Code's Bash does) outlive its
    // process group: they end now, before anything else touches the tree.
    end_marked(
        engine,
        run_id,
        mark.clone(),
        "the agent had ended",
        on_event,
    )
    .await;
    if lost {
        // Nothing here is this engine's any more: not the status, the requests, the checkpoints.
        return Ok(Ending::Stopped);
    }
    // What this agent asked and nobody answered is moot: its process is gone.
    if let Err(e) = engine
        .withdraw_approvals(run_id, "the agent stopped before anyone answered")
        .await
    {
        tracing::warn!(run = %run_id, error = %e, "its waiting requests could not be withdrawn");
    }
    let end = AgentEnd::judge(AgentReport {
        stopped,
        stalled,
        result,
        exit,
        plain: adapter.name() == "command",
    });
    if let Some(reason) = end.checkpoint_reason() {
        save_checkpoint(engine, run_id, &dir, reason, usage, &last_output).await;
    }
    match end {
        AgentEnd::Stopped => Ok(Ending::Stopped),
        AgentEnd::Stalled => Ok(Ending::Failed(Failure::Stall(stall.as_secs()))),
        AgentEnd::Error(what) => Ok(Ending::Failed(Failure::Agent(what))),
        AgentEnd::Crashed(what) => Ok(Ending::Failed(Failure::Crash(what))),
        AgentEnd::Finished => {
            if run_of(engine, run_id).await?.status == RunStatus::InProgress {
                set_status(engine, run_id, RunStatus::Verifying, None).await?;
            }
            verify(engine, run_id, on_event).await
        }
    }
}

/// Verifies the run's work; in a worktree, commits it first and, once verified, lands it through
/// the merge queue (a rebase onto a moved base is verified again before it lands).
async fn verify(
    engine: &Orchestrator,
    run_id: RunId,
    on_event: &(dyn Fn(&RunEvent) + Send + Sync),
) -> Result<Ending> {
    let run = run_of(engine, run_id).await?;
    if let (Some(worktree), Some(base)) = (run.worktree.clone(), run.base_commit.clone()) {
        let message = format!("{}: work of run {run_id}", run.task_key);
        let committed = tokio::task::spawn_blocking(move || {
            crate::delegator::worktree::commit_work(&worktree, &base, &message)
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))?;
        if let Err(e) = committed {
            return Ok(Ending::Failed(Failure::Conflict(e.to_string())));
        }
    }
    // Every task declares files it changes: work that changed nothing is no completion (an
    // agent resumed into "done", say), whatever the checks say of the old tree.
    if let Some(base) = &run.base_commit {
        let dir = run
            .worktree
            .clone()
            .unwrap_or_else(|| engine.project().root.clone());
        if crate::supervisor::checkpoint::unchanged_since(&dir, base).await {
            return Ok(Ending::Escalate(format!(
                "the agent finished without changing anything: the tree is as it was at {}; see what it said in the run's events, then retry it with guidance or cancel the run",
                &base[..base.len().min(12)]
            )));
        }
    }
    loop {
        if let Err(ending) = verify_once(engine, run_id, on_event).await? {
            return Ok(ending);
        }
        if run.worktree.is_none() {
            set_status(engine, run_id, RunStatus::Completed, None).await?;
            return Ok(Ending::Completed);
        }
        match engine.land_run(run_id).await {
            Ok(Landing::Landed { commit, branch }) => {
                log(
                    engine,
                    run_id,
                    RunEventData::Merged { commit, branch },
                    on_event,
                )
                .await;
                set_status(engine, run_id, RunStatus::Completed, None).await?;
                engine.remove_worktree(run_id).await;
                return Ok(Ending::Completed);
            }
            Ok(Landing::Rebased { commit, base }) => {
                log(
                    engine,
                    run_id,
                    RunEventData::Rebased { commit, base },
                    on_event,
                )
                .await;
            }
            Ok(Landing::Conflict { files, branch }) => {
                log(
                    engine,
                    run_id,
                    RunEventData::MergeConflict {
                        files: files.clone(),
                        branch: branch.clone(),
                    },
                    on_event,
                )
                .await;
                let conflicts = engine
                    .blocking(move |s| s.count_events(run_id, RunEventKind::MergeConflict))
                    .await?;
                let what = format!(
                    "merging the work onto the latest {branch} conflicts in {}: those files now hold conflict markers (<<<<<<< … =======  … >>>>>>>); resolve them so that both changes survive, and stop — the orchestrator finishes the merge",
                    files.join(", ")
                );
                if conflicts >= 2 {
                    return Ok(Ending::Escalate(format!(
                        "{what} (a second time: a person must look)"
                    )));
                }
                return Ok(Ending::Failed(Failure::Conflict(what)));
            }
            Err(e) => {
                return Ok(Ending::Escalate(format!(
                    "the verified work could not land: {e}"
                )));
            }
        }
    }
}

/// Kills what carries `mark` (see [`agent::kill_marked`]) and logs how many, and why, if any.
async fn end_marked(
    engine: &Orchestrator,
    run_id: RunId,
    mark: String,
    why: &str,
    on_event: &(dyn Fn(&RunEvent) + Send + Sync),
) {
    let left = tokio::task::spawn_blocking(move || agent::kill_marked(&mark))
        .await
        .unwrap_or(0);
    if left > 0 {
        log(
            engine,
            run_id,
            RunEventData::ProcessesKilled {
                count: left,
                why: why.to_owned(),
            },
            on_event,
        )
        .await;
    }
}

/// Runs the verifier on the run's tree: `Ok(Ok(()))` when the report completes the work.
async fn verify_once(
    engine: &Orchestrator,
    run_id: RunId,
    on_event: &(dyn Fn(&RunEvent) + Send + Sync),
) -> Result<std::result::Result<(), Ending>> {
    let report = match engine
        .verify(
            VerifyOptions {
                run: Some(run_id),
                ..VerifyOptions::default()
            },
            &|_| {},
        )
        .await
    {
        Ok(report) => report,
        Err(e) => return Ok(Err(Ending::Failed(Failure::Verification(e.to_string())))),
    };
    let failed: Vec<String> = report
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| {
            let first = c
                .findings
                .first()
                .map(|f| {
                    format!(
                        " ({}{}: {})",
                        f.file.clone().unwrap_or_default(),
                        f.line.map(|l| format!(":{l}")).unwrap_or_default(),
                        f.message
                    )
                })
                .or_else(|| c.error.as_ref().map(|e| format!(" ({e})")))
                .unwrap_or_default();
            format!("{}{first}", c.name)
        })
        .collect();
    log(
        engine,
        run_id,
        RunEventData::Verification {
            report_id: report.id,
            passed: report.passed,
            failed_checks: failed.clone(),
        },
        on_event,
    )
    .await;
    let run = run_of(engine, run_id).await?;
    let dir = run
        .worktree
        .clone()
        .unwrap_or_else(|| engine.project().root.clone());
    save_checkpoint(
        engine,
        run_id,
        &dir,
        if report.passed {
            "verified"
        } else {
            "verification failed"
        },
        (0.0, 0, 0),
        "",
    )
    .await;
    // In a worktree only a clean commit's report completes; in place the tree is the work.
    let completes = match (&run.worktree, &report.commit) {
        (Some(_), Some(commit)) => report.completes(commit),
        _ => report.passed,
    };
    if completes {
        Ok(Ok(()))
    } else {
        Ok(Err(Ending::Failed(Failure::Verification(
            if failed.is_empty() {
                "the report does not cover a clean commit".into()
            } else {
                failed.join("; ")
            },
        ))))
    }
}

async fn save_checkpoint(
    engine: &Orchestrator,
    run_id: RunId,
    dir: &std::path::Path,
    reason: &str,
    usage: (f64, u64, u64),
    last_output: &str,
) {
    let commit = crate::supervisor::checkpoint::commit_state(dir, run_id, reason).await;
    let files_changed = crate::supervisor::checkpoint::changed_files(dir).await;
    let session = run_of(engine, run_id)
        .await
        .ok()
        .and_then(|r| r.agent_session_id);
    // A later checkpoint without usage keeps the last known spend.
    let known = engine
        .blocking(move |s| s.checkpoints(run_id))
        .await
        .ok()
        .and_then(|c| {
            c.last()
                .map(|c| (c.cost_usd, c.input_tokens, c.output_tokens))
        });
    let usage = if usage.0 == 0.0 && usage.1 == 0 {
        known.unwrap_or(usage)
    } else {
        usage
    };
    let new = NewCheckpoint {
        run_id,
        reason: reason.to_owned(),
        agent_session_id: session,
        commit,
        files_changed,
        cost_usd: usage.0,
        input_tokens: usage.1,
        output_tokens: usage.2,
        last_output: engine.redact(last_output),
    };
    let _ = engine.blocking(move |s| s.add_checkpoint(&new)).await;
}

/// Runs whose engine is gone (its lease ran out, or its process on this machine died), left in
/// flight: they are supervised again, from their stored session.
pub(crate) async fn orphans(engine: &Orchestrator) -> Result<Vec<RunId>> {
    let project = engine.project().id;
    let runs = engine
        .blocking(move |s| {
            s.runs_in(
                project,
                &[
                    RunStatus::Delegated,
                    RunStatus::InProgress,
                    RunStatus::Verifying,
                    RunStatus::Failed,
                ],
            )
        })
        .await?;
    let now = Timestamp::now();
    Ok(runs
        .into_iter()
        .filter(|r| match (&r.lease_owner, r.lease_expires_at) {
            (None, _) => true,
            (Some(owner), expires) => owner_is_dead(owner) || expires.is_some_and(|e| e <= now),
        })
        .map(|r| r.id)
        .collect())
}

/// The run as stored, read off the async workers.
async fn run_of(engine: &Orchestrator, id: RunId) -> Result<Run> {
    engine.blocking(move |s| s.run(id)).await
}

/// Moves the run to `to`, off the async workers.
async fn set_status(
    engine: &Orchestrator,
    id: RunId,
    to: RunStatus,
    error: Option<String>,
) -> Result<Run> {
    engine
        .blocking(move |s| s.set_run_status(id, to, error.as_deref()))
        .await
}

/// Changes the run's fields, off the async workers.
async fn update_run(engine: &Orchestrator, id: RunId, update: RunUpdate) -> Result<Run> {
    engine.blocking(move |s| s.update_run(id, &update)).await
}
