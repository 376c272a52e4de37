//! Lock leases. Deciding whether two patterns conflict is the delegator's job; the store keeps the
//! leases and answers which are in force.

use rusqlite::{Row, Transaction, params};

use super::{Store, found, opt_ts_col, parse_col, ts_col};
use crate::domain::{LeaseId, LockLease, LockMode, ProjectId, RunId, Timestamp};
use crate::error::{Error, Result};

/// A lease to take.
#[derive(Debug, Clone)]
pub struct NewLease {
    /// The project whose files are locked.
    pub project_id: ProjectId,
    /// A path or glob relative to the project root.
    pub pattern: String,
    /// Shared or exclusive.
    pub mode: LockMode,
    /// Who takes it.
    pub owner: String,
    /// The run it is taken for.
    pub run_id: Option<RunId>,
    /// When it lapses unless renewed.
    pub expires_at: Timestamp,
}

const LEASE_COLS: &str = "id, project_id, pattern, mode, owner, run_id, acquired_at, heartbeat_at, expires_at, released_at, released_reason";

fn lease_row(row: &Row<'_>) -> rusqlite::Result<LockLease> {
    Ok(LockLease {
        id: LeaseId(row.get(0)?),
        project_id: ProjectId(row.get(1)?),
        pattern: row.get(2)?,
        mode: parse_col(row, 3)?,
        owner: row.get(4)?,
        run_id: row.get::<_, Option<i64>>(5)?.map(RunId),
        acquired_at: ts_col(row, 6)?,
        heartbeat_at: ts_col(row, 7)?,
        expires_at: ts_col(row, 8)?,
        released_at: opt_ts_col(row, 9)?,
        released_reason: row.get(10)?,
    })
}

fn load_lease(tx: &Transaction<'_>, id: LeaseId) -> Result<LockLease> {
    found(
        tx.query_row(
            &format!("SELECT {LEASE_COLS} FROM lock_leases WHERE id = ?1"),
            [id.0],
            lease_row,
        ),
        "lock lease",
        id,
    )
}

/// The leases of a project in force at `now`.
fn held(tx: &Transaction<'_>, project_id: ProjectId, now: Timestamp) -> Result<Vec<LockLease>> {
    let mut stmt = tx.prepare(&format!(
        "SELECT {LEASE_COLS} FROM lock_leases WHERE project_id = ?1 AND released_at IS NULL AND expires_at > ?2 ORDER BY id"
    ))?;
    Ok(stmt
        .query_map(params![project_id.0, now.as_millis()], lease_row)?
        .collect::<rusqlite::Result<_>>()?)
}

impl Store {
    /// Takes a lease if `conflicts(new, held)` finds no conflict with the leases in force, all in
    /// one transaction so two engines cannot both take overlapping locks. On conflict, returns the
    /// leases that conflict and writes nothing.
    pub fn acquire_lease(
        &self,
        new: &NewLease,
        conflicts: impl Fn(&NewLease, &LockLease) -> bool,
    ) -> Result<Result<LockLease, Vec<LockLease>>> {
        if new.expires_at <= Timestamp::now() {
            return Err(Error::Invalid("a lease must expire in the future".into()));
        }
        self.write(|tx| {
            let now = Timestamp::now();
            let blocking: Vec<LockLease> =
                held(tx, new.project_id, now)?.into_iter().filter(|lease| conflicts(new, lease)).collect();
            if !blocking.is_empty() {
                return Ok(Err(blocking));
            }
            tx.execute(
                "INSERT INTO lock_leases (project_id, pattern, mode, owner, run_id, acquired_at, heartbeat_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)",
                params![
                    new.project_id.0,
                    new.pattern,
                    new.mode.as_str(),
                    new.owner,
                    new.run_id.map(|r| r.0),
                    now.as_millis(),
                    new.expires_at.as_millis()
                ],
            )?;
            Ok(Ok(load_lease(tx, LeaseId(tx.last_insert_rowid()))?))
        })
    }

    /// The leases of a project in force now.
    pub fn held_leases(&self, project_id: ProjectId) -> Result<Vec<LockLease>> {
        self.read(|tx| held(tx, project_id, Timestamp::now()))
    }

    /// Extends a lease the owner still holds; an expired or released lease cannot be renewed.
    pub fn renew_lease(&self, id: LeaseId, owner: &str, until: Timestamp) -> Result<LockLease> {
        self.write(|tx| {
            let lease = load_lease(tx, id)?;
            let now = Timestamp::now();
            if lease.owner != owner {
                return Err(Error::Invalid(format!(
                    "lock lease {id} belongs to {}, not {owner}",
                    lease.owner
                )));
            }
            if !lease.is_held_at(now) {
                return Err(Error::Invalid(format!(
                    "lock lease {id} has lapsed or was released: take a new one"
                )));
            }
            tx.execute(
                "UPDATE lock_leases SET heartbeat_at = ?2, expires_at = ?3 WHERE id = ?1",
                params![id.0, now.as_millis(), until.as_millis()],
            )?;
            load_lease(tx, id)
        })
    }

    /// Gives a lease back; releasing twice is harmless.
    pub fn release_lease(&self, id: LeaseId) -> Result<LockLease> {
        self.write(|tx| {
            load_lease(tx, id)?;
            tx.execute(
                "UPDATE lock_leases SET released_at = COALESCE(released_at, ?2) WHERE id = ?1",
                params![id.0, Timestamp::now().as_millis()],
            )?;
            load_lease(tx, id)
        })
    }

    /// Takes all of `new` or none: if `conflicts(new, held)` finds a conflict with any lease in
    /// force (other than the same run's), nothing is written and the conflicting leases are
    /// returned. Leases that lapsed without being released and would have conflicted are marked
    /// as taken over, with the run that took them.
    pub fn acquire_leases(
        &self,
        new: &[NewLease],
        conflicts: impl Fn(&NewLease, &LockLease) -> bool,
    ) -> Result<Result<Vec<LockLease>, Vec<LockLease>>> {
        let now = Timestamp::now();
        if new.iter().any(|n| n.expires_at <= now) {
            return Err(Error::Invalid("a lease must expire in the future".into()));
        }
        let Some(first) = new.first() else {
            return Ok(Ok(Vec::new()));
        };
        self.write(|tx| {
            let now = Timestamp::now();
            let mut blocking: Vec<LockLease> = Vec::new();
            for lease in held(tx, first.project_id, now)? {
                let ours = lease.run_id.is_some() && lease.run_id == first.run_id;
                if !ours && new.iter().any(|n| conflicts(n, &lease)) && !blocking.iter().any(|b| b.id == lease.id) {
                    blocking.push(lease);
                }
            }
            if !blocking.is_empty() {
                return Ok(Err(blocking));
            }
            let mut stmt = tx.prepare(&format!(
                "SELECT {LEASE_COLS} FROM lock_leases WHERE project_id = ?1 AND released_at IS NULL AND expires_at <= ?2 ORDER BY id"
            ))?;
            let lapsed: Vec<LockLease> = stmt.query_map(params![first.project_id.0, now.as_millis()], lease_row)?.collect::<rusqlite::Result<_>>()?;
            let taker = first.run_id.map_or_else(|| first.owner.clone(), |r| format!("run {r}"));
            for lease in lapsed.iter().filter(|l| new.iter().any(|n| conflicts(n, l))) {
                tx.execute(
                    "UPDATE lock_leases SET released_at = ?2, released_reason = ?3 WHERE id = ?1",
                    params![lease.id.0, now.as_millis(), format!("lapsed ({} stopped renewing it); taken over by {taker}", lease.owner)],
                )?;
            }
            let mut taken = Vec::new();
            for n in new {
                tx.execute(
                    "INSERT INTO lock_leases (project_id, pattern, mode, owner, run_id, acquired_at, heartbeat_at, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)",
                    params![n.project_id.0, n.pattern, n.mode.as_str(), n.owner, n.run_id.map(|r| r.0), now.as_millis(), n.expires_at.as_millis()],
                )?;
                taken.push(load_lease(tx, LeaseId(tx.last_insert_rowid()))?);
            }
            Ok(Ok(taken))
        })
    }

    /// Extends every lease of a run still in force, for `owner` — only while `owner` holds the
    /// run itself (it may be a new engine that took the run over). Returns how many were renewed.
    pub fn renew_run_leases(&self, run: RunId, owner: &str, until: Timestamp) -> Result<usize> {
        self.write(|tx| renew_leases(tx, run, owner, until))
    }

    /// Gives back the leases runs of the project still hold after they ended (an engine killed
    /// between a run's end and its cleanup), saying why. Returns how many were released.
    pub fn release_leases_of_ended_runs(&self, project: ProjectId, reason: &str) -> Result<usize> {
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE lock_leases SET released_at = ?2, released_reason = ?3
                 WHERE released_at IS NULL AND project_id = ?1
                   AND run_id IN (SELECT id FROM runs WHERE status IN ('COMPLETED', 'CANCELLED', 'ESCALATED'))",
                params![project.0, Timestamp::now().as_millis(), reason],
            )?)
        })
    }

    /// Gives back every lease of a run, saying why. Returns how many were released.
    pub fn release_run_leases(&self, run: RunId, reason: &str) -> Result<usize> {
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE lock_leases SET released_at = ?2, released_reason = ?3 WHERE run_id = ?1 AND released_at IS NULL",
                params![run.0, Timestamp::now().as_millis(), reason],
            )?)
        })
    }

    /// A person gives a lease back, saying why (a lease no longer in force is refused).
    pub fn release_lease_because(
        &self,
        project_id: ProjectId,
        id: LeaseId,
        reason: &str,
    ) -> Result<LockLease> {
        self.write(|tx| {
            let lease = load_lease(tx, id)?;
            if lease.project_id != project_id {
                return Err(Error::NotFound {
                    what: "lock lease".into(),
                    id: id.to_string(),
                    hint: " in this project".into(),
                });
            }
            if !lease.is_held_at(Timestamp::now()) {
                return Err(Error::Invalid(format!(
                    "lock lease {id} is no longer in force ({})",
                    lease.released_reason.as_deref().unwrap_or("it lapsed")
                )));
            }
            tx.execute(
                "UPDATE lock_leases SET released_at = ?2, released_reason = ?3 WHERE id = ?1",
                params![id.0, Timestamp::now().as_millis(), reason],
            )?;
            load_lease(tx, id)
        })
    }

    /// The project's leases, newest first: those in force, or (with `all`) every one.
    pub fn leases(&self, project_id: ProjectId, all: bool, limit: u32) -> Result<Vec<LockLease>> {
        self.read(|tx| {
            let sql = if all {
                format!("SELECT {LEASE_COLS} FROM lock_leases WHERE project_id = ?1 ORDER BY id DESC LIMIT ?3")
            } else {
                format!("SELECT {LEASE_COLS} FROM lock_leases WHERE project_id = ?1 AND released_at IS NULL AND expires_at > ?2 ORDER BY id DESC LIMIT ?3")
            };
            let mut stmt = tx.prepare(&sql)?;
            Ok(stmt.query_map(params![project_id.0, Timestamp::now().as_millis(), limit], lease_row)?.collect::<rusqlite::Result<_>>()?)
        })
    }
}

/// [`Store::renew_run_leases`] inside a transaction (the supervisor's heartbeat shares it).
pub(super) fn renew_leases(
    tx: &Transaction<'_>,
    run: RunId,
    owner: &str,
    until: Timestamp,
) -> Result<usize> {
    let now = Timestamp::now();
    Ok(tx.execute(
        "UPDATE lock_leases SET owner = ?2, heartbeat_at = ?3, expires_at = ?4
         WHERE run_id = ?1 AND released_at IS NULL AND expires_at > ?3
           AND EXISTS (SELECT 1 FROM runs WHERE id = ?1 AND lease_owner = ?2)",
        params![run.0, owner, now.as_millis(), until.as_millis()],
    )?)
}
