//! The approvals queue (escalated tool calls and a person's answers), the rules a person granted
//! for a run, and the audit log of every permission decision.

use rusqlite::{Row, Transaction, params};

use super::{Store, found, json_col, opt_ts_col, parse_col, to_json, ts_col};
use crate::domain::{
    ApprovalId, ApprovalRequest, ApprovalStatus, AuditEntry, PlanId, ProjectId, RunId, Timestamp,
    Transition,
};
use crate::error::{Error, Result};

/// A tool call to put before a person.
#[derive(Debug, Clone)]
pub struct NewApproval {
    /// The run whose agent asked.
    pub run_id: RunId,
    /// The tool.
    pub tool_name: String,
    /// Its input (already redacted).
    pub input: serde_json::Value,
    /// Why the policy escalated.
    pub reason: String,
    /// The exact rules "always for this run" would remember.
    pub grants: Vec<String>,
    /// When an unanswered request is denied.
    pub expires_at: Timestamp,
}

/// A permission decision for the audit log.
#[derive(Debug, Clone)]
pub struct NewAuditEntry {
    /// The run whose agent asked, if any.
    pub run_id: Option<RunId>,
    /// The request a person answered, if any.
    pub approval_id: Option<ApprovalId>,
    /// The tool.
    pub tool_name: String,
    /// Its input (already redacted).
    pub input: serde_json::Value,
    /// `allow`, `deny`, `escalate`, `approved`, `denied` or `expired`.
    pub verdict: String,
    /// Why.
    pub reason: String,
    /// Who or what decided.
    pub decided_by: String,
}

/// A person's answer to a request.
#[derive(Debug, Clone)]
pub struct ApprovalAnswer<'a> {
    /// `APPROVED` or `DENIED`.
    pub decision: ApprovalStatus,
    /// Who answers.
    pub decided_by: &'a str,
    /// The reason given.
    pub reason: Option<&'a str>,
    /// Approve this and the same calls for the rest of the run.
    pub always_for_run: bool,
}

/// Which requests to list.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApprovalFilter {
    /// Only this status (all statuses when `None`).
    pub status: Option<ApprovalStatus>,
    /// Only this run's.
    pub run_id: Option<RunId>,
    /// At most this many, newest first when listing answered ones.
    pub limit: Option<u32>,
    /// Only this project's runs' (the engine always sets it).
    pub project_id: Option<ProjectId>,
    /// Only this plan's runs'.
    pub plan_id: Option<PlanId>,
}

const APPROVAL_COLS: &str = "a.id, a.run_id, r.task_key, a.tool_name, a.input, a.reason, a.status, a.grants, \
                             a.applies_to_run, a.decided_by, a.decision_reason, a.created_at, a.decided_at, a.expires_at, \
                             r.plan_id, (SELECT t.title FROM tasks t WHERE t.plan_id = r.plan_id AND t.version = r.plan_version AND t.key = r.task_key)";

fn approval_row(row: &Row<'_>) -> rusqlite::Result<ApprovalRequest> {
    Ok(ApprovalRequest {
        id: ApprovalId(row.get(0)?),
        run_id: RunId(row.get(1)?),
        task_key: row.get(2)?,
        tool_name: row.get(3)?,
        input: json_col(row, 4)?,
        reason: row.get(5)?,
        status: parse_col(row, 6)?,
        grants: json_col(row, 7)?,
        applies_to_run: row.get(8)?,
        decided_by: row.get(9)?,
        decision_reason: row.get(10)?,
        created_at: ts_col(row, 11)?,
        decided_at: opt_ts_col(row, 12)?,
        expires_at: ts_col(row, 13)?,
        plan_id: PlanId(row.get(14)?),
        task_title: row.get(15)?,
    })
}

fn load_approval(tx: &Transaction<'_>, id: ApprovalId) -> Result<ApprovalRequest> {
    found(
        tx.query_row(
            &format!("SELECT {APPROVAL_COLS} FROM approval_requests a JOIN runs r ON r.id = a.run_id WHERE a.id = ?1"),
            [id.0],
            approval_row,
        ),
        "approval request",
        id,
    )
}

fn insert_audit(tx: &Transaction<'_>, entry: &NewAuditEntry) -> Result<()> {
    tx.execute(
        "INSERT INTO policy_audit (run_id, approval_id, tool_name, input, verdict, reason, decided_by, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            entry.run_id.map(|r| r.0),
            entry.approval_id.map(|a| a.0),
            entry.tool_name,
            to_json(&entry.input)?,
            entry.verdict,
            entry.reason,
            entry.decided_by,
            Timestamp::now().as_millis()
        ],
    )?;
    Ok(())
}

fn audit_answer(tx: &Transaction<'_>, request: &ApprovalRequest) -> Result<()> {
    insert_audit(
        tx,
        &NewAuditEntry {
            run_id: Some(request.run_id),
            approval_id: Some(request.id),
            tool_name: request.tool_name.clone(),
            input: request.input.clone(),
            verdict: request.status.as_str().to_ascii_lowercase(),
            reason: request.decision_reason.clone().unwrap_or_else(|| {
                format!(
                    "{} by {}",
                    request.status.as_str().to_ascii_lowercase(),
                    request.decided_by.as_deref().unwrap_or("?")
                )
            }),
            decided_by: request.decided_by.clone().unwrap_or_default(),
        },
    )
}

fn expire_overdue(tx: &Transaction<'_>, now: Timestamp) -> Result<Vec<ApprovalRequest>> {
    expire_pending(
        tx,
        "expires_at <= ?1",
        now.as_millis(),
        now,
        "timeout",
        "nobody answered before the timeout, so the call is denied",
    )
}

/// Marks the pending requests matching `condition` (on `?1` = `value`) `EXPIRED` — a denial
/// nobody gave — audited with who and why. Returns them.
fn expire_pending(
    tx: &Transaction<'_>,
    condition: &'static str,
    value: i64,
    now: Timestamp,
    by: &str,
    reason: &str,
) -> Result<Vec<ApprovalRequest>> {
    let ids: Vec<i64> = {
        let mut stmt = tx.prepare(&format!(
            "SELECT id FROM approval_requests WHERE status = 'PENDING' AND {condition} ORDER BY id"
        ))?;
        stmt.query_map([value], |row| row.get(0))?
            .collect::<rusqlite::Result<_>>()?
    };
    let mut expired = Vec::new();
    for id in ids {
        tx.execute(
            "UPDATE approval_requests SET status = 'EXPIRED', decided_by = ?3, decision_reason = ?4, decided_at = ?2
             WHERE id = ?1",
            params![id, now.as_millis(), by, reason],
        )?;
        let request = load_approval(tx, ApprovalId(id))?;
        audit_answer(tx, &request)?;
        expired.push(request);
    }
    Ok(expired)
}

impl Store {
    /// Queues a request in `PENDING`.
    pub fn create_approval(&self, new: &NewApproval) -> Result<ApprovalRequest> {
        self.write(|tx| {
            found(tx.query_row("SELECT id FROM runs WHERE id = ?1", [new.run_id.0], |_| Ok(())), "run", new.run_id)?;
            tx.execute(
                "INSERT INTO approval_requests (run_id, tool_name, input, reason, status, grants, applies_to_run, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?8)",
                params![
                    new.run_id.0,
                    new.tool_name,
                    to_json(&new.input)?,
                    new.reason,
                    ApprovalStatus::Pending.as_str(),
                    to_json(&new.grants)?,
                    Timestamp::now().as_millis(),
                    new.expires_at.as_millis()
                ],
            )?;
            load_approval(tx, ApprovalId(tx.last_insert_rowid()))
        })
    }

    /// The request with this id.
    pub fn approval(&self, id: ApprovalId) -> Result<ApprovalRequest> {
        self.read(|tx| load_approval(tx, id))
    }

    /// Requests waiting for a person, oldest first.
    pub fn pending_approvals(&self) -> Result<Vec<ApprovalRequest>> {
        self.approvals(ApprovalFilter {
            status: Some(ApprovalStatus::Pending),
            ..ApprovalFilter::default()
        })
    }

    /// Requests by status and run: pending ones oldest first, the others newest first.
    pub fn approvals(&self, filter: ApprovalFilter) -> Result<Vec<ApprovalRequest>> {
        self.read(|tx| {
            let order = if filter.status == Some(ApprovalStatus::Pending) {
                "a.id"
            } else {
                "a.id DESC"
            };
            let mut stmt = tx.prepare(&format!(
                "SELECT {APPROVAL_COLS} FROM approval_requests a JOIN runs r ON r.id = a.run_id
                 WHERE (?1 IS NULL OR a.status = ?1) AND (?2 IS NULL OR a.run_id = ?2)
                   AND (?4 IS NULL OR r.plan_id IN (SELECT id FROM plans WHERE project_id = ?4))
                   AND (?5 IS NULL OR r.plan_id = ?5)
                 ORDER BY {order} LIMIT ?3"
            ))?;
            let limit = filter.limit.map_or(-1, i64::from);
            Ok(stmt
                .query_map(
                    params![
                        filter.status.map(|s| s.as_str()),
                        filter.run_id.map(|r| r.0),
                        limit,
                        filter.project_id.map(|p| p.0),
                        filter.plan_id.map(|p| p.0)
                    ],
                    approval_row,
                )?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Denies every pending request whose time is up (status `EXPIRED`, decided by `timeout`)
    /// and audits each; returns them.
    pub fn expire_approvals(&self, now: Timestamp) -> Result<Vec<ApprovalRequest>> {
        self.write(|tx| expire_overdue(tx, now))
    }

    /// Withdraws a run's pending requests (its agent is gone, or the run was cancelled): they end
    /// `EXPIRED`, decided by `orchestrator`, with `reason`. Returns them.
    pub fn withdraw_run_approvals(
        &self,
        run_id: RunId,
        reason: &str,
    ) -> Result<Vec<ApprovalRequest>> {
        self.write(|tx| {
            expire_pending(
                tx,
                "run_id = ?1",
                run_id.0,
                Timestamp::now(),
                "orchestrator",
                reason,
            )
        })
    }

    /// Answers a pending request. Answering twice is an illegal transition, so two people cannot
    /// both decide the same call; an overdue request expires instead of being answered. With
    /// `always_for_run`, the request's grants become rules of its run. The answer is audited in
    /// the same transaction.
    pub fn decide_approval(
        &self,
        id: ApprovalId,
        answer: &ApprovalAnswer<'_>,
    ) -> Result<ApprovalRequest> {
        if !matches!(
            answer.decision,
            ApprovalStatus::Approved | ApprovalStatus::Denied
        ) {
            return Err(Error::Invalid(
                "a person's answer is APPROVED or DENIED".into(),
            ));
        }
        if answer.always_for_run && answer.decision != ApprovalStatus::Approved {
            return Err(Error::Invalid(
                "\"always for this run\" goes with an approval, not a denial".into(),
            ));
        }
        let now = Timestamp::now();
        let outcome = self.write(|tx| {
            let request = load_approval(tx, id)?;
            if request.status == ApprovalStatus::Pending && request.expires_at <= now {
                expire_overdue(tx, now)?;
                return Ok(Err(load_approval(tx, id)?));
            }
            request.status.check(answer.decision)?;
            tx.execute(
                "UPDATE approval_requests SET status = ?2, decided_by = ?3, decision_reason = ?4, applies_to_run = ?5,
                 decided_at = ?6 WHERE id = ?1",
                params![id.0, answer.decision.as_str(), answer.decided_by, answer.reason, answer.always_for_run, now.as_millis()],
            )?;
            if answer.always_for_run {
                for rule in &request.grants {
                    tx.execute(
                        "INSERT OR IGNORE INTO run_rules (run_id, rule, approval_id, created_at) VALUES (?1, ?2, ?3, ?4)",
                        params![request.run_id.0, rule, id.0, now.as_millis()],
                    )?;
                }
            }
            let decided = load_approval(tx, id)?;
            audit_answer(tx, &decided)?;
            Ok(Ok(decided))
        })?;
        outcome.map_err(|expired| {
            Error::Invalid(format!(
                "approval request {} expired at {} before it was answered, so the call was denied",
                expired.id, expired.expires_at
            ))
        })
    }

    /// The rules a person granted for a run ("always for this run"), oldest first.
    pub fn run_rules(&self, run_id: RunId) -> Result<Vec<String>> {
        self.read(|tx| {
            let mut stmt = tx.prepare(
                "SELECT rule FROM run_rules WHERE run_id = ?1 ORDER BY created_at, rule",
            )?;
            Ok(stmt
                .query_map([run_id.0], |row| row.get(0))?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Appends a decision to the audit log.
    pub fn audit(&self, entry: &NewAuditEntry) -> Result<()> {
        self.write(|tx| insert_audit(tx, entry))
    }

    /// The project's audit log (decisions about its runs' calls, and those made for no run),
    /// newest first; only one run's with `run_id`.
    pub fn audit_log(
        &self,
        project: ProjectId,
        run_id: Option<RunId>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>> {
        self.read(|tx| {
            let mut stmt = tx.prepare(
                "SELECT id, run_id, approval_id, tool_name, input, verdict, reason, decided_by, at FROM policy_audit
                 WHERE (?1 IS NULL OR run_id = ?1)
                   AND (run_id IS NULL OR run_id IN (SELECT r.id FROM runs r JOIN plans p ON p.id = r.plan_id WHERE p.project_id = ?3))
                 ORDER BY id DESC LIMIT ?2",
            )?;
            Ok(stmt
                .query_map(params![run_id.map(|r| r.0), limit, project.0], |row| {
                    Ok(AuditEntry {
                        id: row.get(0)?,
                        run_id: row.get::<_, Option<i64>>(1)?.map(RunId),
                        approval_id: row.get::<_, Option<i64>>(2)?.map(ApprovalId),
                        tool_name: row.get(3)?,
                        input: json_col(row, 4)?,
                        verdict: row.get(5)?,
                        reason: row.get(6)?,
                        decided_by: row.get(7)?,
                        at: ts_col(row, 8)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?)
        })
    }
}
