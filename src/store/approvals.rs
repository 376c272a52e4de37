//! The approvals queue: escalated tool calls and a person's answers.

use rusqlite::{Row, Transaction, params};

use super::{Store, found, json_col, opt_ts_col, parse_col, to_json, ts_col};
use crate::domain::{ApprovalId, ApprovalRequest, ApprovalStatus, RunId, Timestamp, Transition};
use crate::error::{Error, Result};

/// A tool call to put before a person.
#[derive(Debug, Clone)]
pub struct NewApproval {
    /// The run whose agent asked.
    pub run_id: RunId,
    /// The tool.
    pub tool_name: String,
    /// Its input.
    pub input: serde_json::Value,
    /// Why the policy escalated.
    pub reason: String,
    /// When an unanswered request is denied.
    pub expires_at: Timestamp,
}

const APPROVAL_COLS: &str = "id, run_id, tool_name, input, reason, status, applies_to_run, decided_by, \
                             decision_reason, created_at, decided_at, expires_at";

fn approval_row(row: &Row<'_>) -> rusqlite::Result<ApprovalRequest> {
    Ok(ApprovalRequest {
        id: ApprovalId(row.get(0)?),
        run_id: RunId(row.get(1)?),
        tool_name: row.get(2)?,
        input: json_col(row, 3)?,
        reason: row.get(4)?,
        status: parse_col(row, 5)?,
        applies_to_run: row.get(6)?,
        decided_by: row.get(7)?,
        decision_reason: row.get(8)?,
        created_at: ts_col(row, 9)?,
        decided_at: opt_ts_col(row, 10)?,
        expires_at: ts_col(row, 11)?,
    })
}

fn load_approval(tx: &Transaction<'_>, id: ApprovalId) -> Result<ApprovalRequest> {
    found(
        tx.query_row(
            &format!("SELECT {APPROVAL_COLS} FROM approval_requests WHERE id = ?1"),
            [id.0],
            approval_row,
        ),
        "approval request",
        id,
    )
}

impl Store {
    /// Queues a request in `PENDING`.
    pub fn create_approval(&self, new: &NewApproval) -> Result<ApprovalRequest> {
        self.write(|tx| {
            found(tx.query_row("SELECT id FROM runs WHERE id = ?1", [new.run_id.0], |_| Ok(())), "run", new.run_id)?;
            tx.execute(
                "INSERT INTO approval_requests (run_id, tool_name, input, reason, status, applies_to_run, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7)",
                params![
                    new.run_id.0,
                    new.tool_name,
                    to_json(&new.input)?,
                    new.reason,
                    ApprovalStatus::Pending.as_str(),
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
        self.read(|tx| {
            let mut stmt = tx.prepare(&format!(
                "SELECT {APPROVAL_COLS} FROM approval_requests WHERE status = 'PENDING' ORDER BY id"
            ))?;
            Ok(stmt
                .query_map([], approval_row)?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Answers a pending request; answering twice is an illegal transition, so two people cannot
    /// both decide the same call.
    pub fn decide_approval(
        &self,
        id: ApprovalId,
        decision: ApprovalStatus,
        decided_by: &str,
        reason: Option<&str>,
        applies_to_run: bool,
    ) -> Result<ApprovalRequest> {
        if decision == ApprovalStatus::Pending {
            return Err(Error::Invalid(
                "a decision must be APPROVED, DENIED or EXPIRED".into(),
            ));
        }
        self.write(|tx| {
            let request = load_approval(tx, id)?;
            request.status.check(decision)?;
            tx.execute(
                "UPDATE approval_requests SET status = ?2, decided_by = ?3, decision_reason = ?4, applies_to_run = ?5,
                 decided_at = ?6 WHERE id = ?1",
                params![id.0, decision.as_str(), decided_by, reason, applies_to_run, Timestamp::now().as_millis()],
            )?;
            load_approval(tx, id)
        })
    }
}
