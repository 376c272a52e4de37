//! Runs, their append-only event log and their checkpoints.

use std::path::PathBuf;

use rusqlite::{OptionalExtension, Row, Transaction, params};

use super::{Store, found, json_col, opt_ts_col, parse_col, to_json, ts_col};
use crate::domain::{
    Checkpoint, CheckpointId, PlanId, PlanStatus, Run, RunEvent, RunEventData, RunEventKind, RunId,
    RunStatus, Timestamp, Transition,
};
use crate::error::{Error, Result};

/// A run to create, in `PENDING`.
#[derive(Debug, Clone)]
pub struct NewRun {
    /// The plan.
    pub plan_id: PlanId,
    /// The task's key; it must exist in the plan's current version.
    pub task_key: String,
    /// The agent adapter to use.
    pub agent: String,
}

/// Facts about a run learnt while it runs; `None` fields are left as they are.
#[derive(Debug, Clone, Default)]
pub struct RunUpdate {
    /// The agent's session id.
    pub agent_session_id: Option<String>,
    /// The worktree made for it.
    pub worktree: Option<PathBuf>,
    /// The commit the worktree started from.
    pub base_commit: Option<String>,
    /// The engine that owns the run and until when.
    pub lease: Option<(String, Timestamp)>,
}

/// A checkpoint to record.
#[derive(Debug, Clone)]
pub struct NewCheckpoint {
    /// The run.
    pub run_id: RunId,
    /// Why it is taken.
    pub reason: String,
    /// The agent session to resume.
    pub agent_session_id: Option<String>,
    /// The commit holding the worktree's state.
    pub commit: Option<String>,
    /// Files changed since the base commit.
    pub files_changed: Vec<String>,
    /// Money spent so far.
    pub cost_usd: f64,
    /// Input tokens so far.
    pub input_tokens: u64,
    /// Output tokens so far.
    pub output_tokens: u64,
    /// The agent's last output.
    pub last_output: String,
}

const RUN_COLS: &str = "id, plan_id, task_key, plan_version, status, attempt, agent, agent_session_id, worktree, \
                        base_commit, last_error, lease_owner, lease_expires_at, created_at, updated_at";
const CHECKPOINT_COLS: &str = "id, run_id, reason, agent_session_id, commit_sha, files_changed, cost_usd, \
                               input_tokens, output_tokens, last_output, at";

fn run_row(row: &Row<'_>) -> rusqlite::Result<Run> {
    Ok(Run {
        id: RunId(row.get(0)?),
        plan_id: PlanId(row.get(1)?),
        task_key: row.get(2)?,
        plan_version: row.get(3)?,
        status: parse_col(row, 4)?,
        attempt: row.get(5)?,
        agent: row.get(6)?,
        agent_session_id: row.get(7)?,
        worktree: row.get::<_, Option<String>>(8)?.map(PathBuf::from),
        base_commit: row.get(9)?,
        last_error: row.get(10)?,
        lease_owner: row.get(11)?,
        lease_expires_at: opt_ts_col(row, 12)?,
        created_at: ts_col(row, 13)?,
        updated_at: ts_col(row, 14)?,
    })
}

fn checkpoint_row(row: &Row<'_>) -> rusqlite::Result<Checkpoint> {
    Ok(Checkpoint {
        id: CheckpointId(row.get(0)?),
        run_id: RunId(row.get(1)?),
        reason: row.get(2)?,
        agent_session_id: row.get(3)?,
        commit: row.get(4)?,
        files_changed: json_col(row, 5)?,
        cost_usd: row.get(6)?,
        input_tokens: row.get::<_, i64>(7)? as u64,
        output_tokens: row.get::<_, i64>(8)? as u64,
        last_output: row.get(9)?,
        at: ts_col(row, 10)?,
    })
}

fn load_run(tx: &Transaction<'_>, id: RunId) -> Result<Run> {
    found(
        tx.query_row(
            &format!("SELECT {RUN_COLS} FROM runs WHERE id = ?1"),
            [id.0],
            run_row,
        ),
        "run",
        id,
    )
}

fn next_seq(tx: &Transaction<'_>, run_id: RunId) -> Result<u64> {
    Ok(tx.query_row(
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM run_events WHERE run_id = ?1",
        [run_id.0],
        |r| r.get::<_, i64>(0),
    )? as u64)
}

fn insert_event(tx: &Transaction<'_>, run_id: RunId, data: &RunEventData) -> Result<RunEvent> {
    let seq = next_seq(tx, run_id)?;
    let at = Timestamp::now();
    tx.execute(
        "INSERT INTO run_events (run_id, seq, kind, payload, at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            run_id.0,
            seq as i64,
            data.kind_text(),
            to_json(&data.payload())?,
            at.as_millis()
        ],
    )?;
    Ok(RunEvent {
        run_id,
        seq,
        data: data.clone(),
        at,
    })
}

impl Store {
    /// Creates a `PENDING` run of a task of the plan's current version.
    pub fn create_run(&self, new: &NewRun) -> Result<Run> {
        self.write(|tx| {
            let (current_version, status): (u32, String) = found(
                tx.query_row("SELECT current_version, status FROM plans WHERE id = ?1", [new.plan_id.0], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                }),
                "plan",
                new.plan_id,
            )?;
            let task_exists = tx
                .query_row(
                    "SELECT COUNT(*) FROM tasks WHERE plan_id = ?1 AND version = ?2 AND key = ?3",
                    params![new.plan_id.0, current_version, new.task_key],
                    |r| r.get::<_, i64>(0),
                )?
                > 0;
            if !task_exists {
                return Err(Error::NotFound {
                    what: format!("task in version {current_version} of plan {}", new.plan_id),
                    id: format!("`{}`", new.task_key),
                    hint: String::new(),
                });
            }
            let status: PlanStatus = status.parse().map_err(Error::Corrupt)?;
            if matches!(status, PlanStatus::Draft | PlanStatus::Abandoned) {
                return Err(Error::Invalid(format!(
                    "plan {} is {status}: only an approved plan's tasks can run",
                    new.plan_id
                )));
            }
            // One run of a task at a time, and none once it is done: checked in the same
            // transaction as the insert, so two engines starting the task at once make one run.
            let latest: Option<(i64, String)> = tx
                .query_row(
                    "SELECT id, status FROM runs WHERE plan_id = ?1 AND task_key = ?2 ORDER BY id DESC LIMIT 1",
                    params![new.plan_id.0, new.task_key],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            if let Some((id, status)) = latest {
                let status: RunStatus = status.parse().map_err(Error::Corrupt)?;
                match status {
                    RunStatus::Cancelled => {}
                    RunStatus::Completed => {
                        return Err(Error::Busy(format!(
                            "task {} is done: run {id} completed it",
                            new.task_key
                        )));
                    }
                    RunStatus::Escalated => {
                        return Err(Error::Busy(format!(
                            "task {} has run {id} waiting for a person (ESCALATED): retry, resume or cancel that run",
                            new.task_key
                        )));
                    }
                    status => {
                        return Err(Error::Busy(format!(
                            "task {} already has run {id} ({status}): one run of a task at a time",
                            new.task_key
                        )));
                    }
                }
            }
            let now = Timestamp::now().as_millis();
            tx.execute(
                "INSERT INTO runs (plan_id, task_key, plan_version, status, attempt, agent, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?6)",
                params![new.plan_id.0, new.task_key, current_version, RunStatus::Pending.as_str(), new.agent, now],
            )?;
            let run = load_run(tx, RunId(tx.last_insert_rowid()))?;
            insert_event(
                tx,
                run.id,
                &RunEventData::Status {
                    from: None,
                    to: run.status,
                    error: None,
                },
            )?;
            Ok(run)
        })
    }

    /// The run with this id.
    pub fn run(&self, id: RunId) -> Result<Run> {
        self.read(|tx| load_run(tx, id))
    }

    /// A plan's runs, oldest first.
    pub fn runs_for_plan(&self, plan_id: PlanId) -> Result<Vec<Run>> {
        self.read(|tx| {
            let mut stmt = tx.prepare(&format!(
                "SELECT {RUN_COLS} FROM runs WHERE plan_id = ?1 ORDER BY id"
            ))?;
            Ok(stmt
                .query_map([plan_id.0], run_row)?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Moves a run to `to` (refusing an illegal transition) and logs the change as an event in the
    /// same transaction. `FAILED → PENDING` starts a new attempt; `error` is kept as `last_error`.
    pub fn set_run_status(&self, id: RunId, to: RunStatus, error: Option<&str>) -> Result<Run> {
        self.write(|tx| {
            let run = load_run(tx, id)?;
            run.status.check(to)?;
            let retry = run.status == RunStatus::Failed && to == RunStatus::Pending;
            tx.execute(
                "UPDATE runs SET status = ?2, attempt = attempt + ?3, last_error = COALESCE(?4, last_error), updated_at = ?5
                 WHERE id = ?1",
                params![id.0, to.as_str(), i64::from(retry), error, Timestamp::now().as_millis()],
            )?;
            insert_event(
                tx,
                id,
                &RunEventData::Status {
                    from: Some(run.status),
                    to,
                    error: error.map(str::to_owned),
                },
            )?;
            load_run(tx, id)
        })
    }

    /// Records facts learnt about a run (agent session, worktree, lease).
    pub fn update_run(&self, id: RunId, update: &RunUpdate) -> Result<Run> {
        self.write(|tx| {
            load_run(tx, id)?;
            let worktree = match &update.worktree {
                Some(path) => Some(path.to_str().map(str::to_string).ok_or_else(|| {
                    Error::Invalid(format!("the worktree path {} is not valid UTF-8", path.display()))
                })?),
                None => None,
            };
            tx.execute(
                "UPDATE runs SET agent_session_id = COALESCE(?2, agent_session_id), worktree = COALESCE(?3, worktree),
                 base_commit = COALESCE(?4, base_commit), lease_owner = COALESCE(?5, lease_owner),
                 lease_expires_at = COALESCE(?6, lease_expires_at), updated_at = ?7 WHERE id = ?1",
                params![
                    id.0,
                    update.agent_session_id,
                    worktree,
                    update.base_commit,
                    update.lease.as_ref().map(|(owner, _)| owner),
                    update.lease.as_ref().map(|(_, until)| until.as_millis()),
                    Timestamp::now().as_millis()
                ],
            )?;
            load_run(tx, id)
        })
    }

    /// Appends an event to a run's log and returns it with its sequence number.
    pub fn append_event(&self, run_id: RunId, data: &RunEventData) -> Result<RunEvent> {
        self.write(|tx| {
            load_run(tx, run_id)?;
            insert_event(tx, run_id, data)
        })
    }

    /// A run's events with a sequence number above `after`, oldest first, at most `limit`.
    pub fn events(&self, run_id: RunId, after: u64, limit: u32) -> Result<Vec<RunEvent>> {
        self.read(|tx| {
            load_run(tx, run_id)?;
            let mut stmt = tx.prepare(
                "SELECT seq, kind, payload, at FROM run_events WHERE run_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            )?;
            let rows =
                stmt.query_map(params![run_id.0, after as i64, limit], |row| {
                    event_row(run_id, row)
                })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// A run's newest `n` events, oldest first (without reading the whole log).
    pub fn last_events(&self, run_id: RunId, n: u32) -> Result<Vec<RunEvent>> {
        self.read(|tx| {
            load_run(tx, run_id)?;
            let mut stmt = tx.prepare(
                "SELECT seq, kind, payload, at FROM run_events WHERE run_id = ?1 ORDER BY seq DESC LIMIT ?2",
            )?;
            let mut events = stmt
                .query_map(params![run_id.0, n], |row| event_row(run_id, row))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            events.reverse();
            Ok(events)
        })
    }

    /// A run's newest event of one kind.
    pub fn last_event_of(&self, run_id: RunId, kind: RunEventKind) -> Result<Option<RunEvent>> {
        self.read(|tx| {
            Ok(tx
                .query_row(
                    "SELECT seq, kind, payload, at FROM run_events WHERE run_id = ?1 AND kind = ?2 ORDER BY seq DESC LIMIT 1",
                    params![run_id.0, kind.as_str()],
                    |row| event_row(run_id, row),
                )
                .optional()?)
        })
    }

    /// How many events of one kind a run has logged.
    pub fn count_events(&self, run_id: RunId, kind: RunEventKind) -> Result<u64> {
        self.read(|tx| {
            let n: i64 = tx.query_row(
                "SELECT COUNT(*) FROM run_events WHERE run_id = ?1 AND kind = ?2",
                params![run_id.0, kind.as_str()],
                |r| r.get(0),
            )?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    /// Records a checkpoint.
    pub fn add_checkpoint(&self, new: &NewCheckpoint) -> Result<Checkpoint> {
        self.write(|tx| {
            load_run(tx, new.run_id)?;
            tx.execute(
                "INSERT INTO checkpoints (run_id, reason, agent_session_id, commit_sha, files_changed, cost_usd,
                 input_tokens, output_tokens, last_output, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    new.run_id.0,
                    new.reason,
                    new.agent_session_id,
                    new.commit,
                    to_json(&new.files_changed)?,
                    new.cost_usd,
                    new.input_tokens as i64,
                    new.output_tokens as i64,
                    new.last_output,
                    Timestamp::now().as_millis()
                ],
            )?;
            Ok(tx.query_row(
                &format!("SELECT {CHECKPOINT_COLS} FROM checkpoints WHERE id = ?1"),
                [tx.last_insert_rowid()],
                checkpoint_row,
            )?)
        })
    }

    /// Takes a run for `owner` until `until`, unless another owner holds a lease that has not
    /// run out. Returns whether the run is now this owner's. Two engines racing for a run: one
    /// wins, the other is told no.
    pub fn claim_run(&self, id: RunId, owner: &str, until: Timestamp) -> Result<bool> {
        self.write(|tx| Ok(claim(tx, id, owner, until)?.is_some()))
    }

    /// The supervisor's heartbeat, in one transaction: while `owner` still holds the run, its
    /// lease and its file locks are extended to `until`, and the run's status is returned (a
    /// person may have cancelled it from another process). `None`, and nothing changed, when
    /// another engine holds the run now.
    pub fn heartbeat(&self, id: RunId, owner: &str, until: Timestamp) -> Result<Option<RunStatus>> {
        self.write(|tx| {
            let Some(run) = claim(tx, id, owner, until)? else {
                return Ok(None);
            };
            super::locks::renew_leases(tx, id, owner, until)?;
            Ok(Some(run.status))
        })
    }

    /// Starts a run's count of attempts again (a person's retry of an escalated run).
    pub fn reset_attempts(&self, id: RunId) -> Result<()> {
        self.write(|tx| {
            load_run(tx, id)?;
            tx.execute("UPDATE runs SET attempt = 0 WHERE id = ?1", [id.0])?;
            insert_event(tx, id, &RunEventData::AttemptsReset {})?;
            Ok(())
        })
    }

    /// Gives a run's lease up (only the owner can).
    pub fn release_run(&self, id: RunId, owner: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE runs SET lease_owner = NULL, lease_expires_at = NULL WHERE id = ?1 AND lease_owner = ?2",
                params![id.0, owner],
            )?;
            Ok(())
        })
    }

    /// The project's runs in any of these states, oldest first.
    pub fn runs_in(
        &self,
        project_id: crate::domain::ProjectId,
        states: &[RunStatus],
    ) -> Result<Vec<Run>> {
        self.read(|tx| {
            let mut stmt = tx.prepare(&format!(
                "SELECT {} FROM runs r JOIN plans p ON p.id = r.plan_id WHERE p.project_id = ?1 ORDER BY r.id",
                RUN_COLS.split(", ").map(|c| format!("r.{c}")).collect::<Vec<_>>().join(", ")
            ))?;
            let runs: Vec<Run> = stmt.query_map([project_id.0], run_row)?.collect::<rusqlite::Result<_>>()?;
            Ok(runs.into_iter().filter(|r| states.is_empty() || states.contains(&r.status)).collect())
        })
    }

    /// A run's checkpoints, oldest first.
    pub fn checkpoints(&self, run_id: RunId) -> Result<Vec<Checkpoint>> {
        self.read(|tx| {
            let mut stmt = tx.prepare(&format!(
                "SELECT {CHECKPOINT_COLS} FROM checkpoints WHERE run_id = ?1 ORDER BY id"
            ))?;
            Ok(stmt
                .query_map([run_id.0], checkpoint_row)?
                .collect::<rusqlite::Result<_>>()?)
        })
    }
}

/// A `seq, kind, payload, at` row of `run_events`.
fn event_row(run_id: RunId, row: &Row<'_>) -> rusqlite::Result<RunEvent> {
    Ok(RunEvent {
        run_id,
        seq: row.get::<_, i64>(0)? as u64,
        data: RunEventData::from_stored(&row.get::<_, String>(1)?, json_col(row, 2)?),
        at: ts_col(row, 3)?,
    })
}

/// Takes (or keeps) a run's lease for `owner` until `until`, unless another live owner holds it;
/// the run as it stood, or `None` when it is another's.
fn claim(tx: &Transaction<'_>, id: RunId, owner: &str, until: Timestamp) -> Result<Option<Run>> {
    let run = load_run(tx, id)?;
    let now = Timestamp::now();
    let free = match (&run.lease_owner, run.lease_expires_at) {
        (None, _) | (Some(_), None) => true,
        (Some(holder), _) if holder == owner => true,
        (Some(_), Some(expires)) => expires <= now,
    };
    if !free {
        return Ok(None);
    }
    tx.execute(
        "UPDATE runs SET lease_owner = ?2, lease_expires_at = ?3, updated_at = ?4 WHERE id = ?1",
        params![id.0, owner, until.as_millis(), now.as_millis()],
    )?;
    Ok(Some(run))
}
