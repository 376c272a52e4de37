//! The plan store: SQLite in WAL mode, the only module that speaks SQL.
//!
//! [`Store`] is synchronous: every call blocks on SQLite. Async callers go through
//! [`Orchestrator`](crate::Orchestrator), which runs store calls on tokio's blocking pool so no
//! async worker thread ever waits on the database. Every write happens in an `IMMEDIATE`
//! transaction, so concurrent writers (threads or processes) queue on the busy timeout instead of
//! failing, and a status change is checked against [`Transition`](crate::domain::Transition) in the
//! same transaction that writes it.
//!
//! ```
//! use orchestrator::store::Store;
//! let store = Store::open_in_memory()?;
//! assert_eq!(store.schema_version()?, orchestrator::store::SCHEMA_VERSION);
//! # Ok::<(), orchestrator::Error>(())
//! ```

mod approvals;
mod knowledge;
mod locks;
mod migrations;
mod planning;
mod plans;
mod runs;
mod verification;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::types::Type;
use rusqlite::{Connection, Row, Transaction, TransactionBehavior};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::domain::Timestamp;
use crate::error::{Error, Result};

pub use approvals::{ApprovalAnswer, ApprovalFilter, NewApproval, NewAuditEntry};
pub use knowledge::{IndexedDocument, KbSource, KbVector};
pub use locks::NewLease;
pub use planning::NewQuestion;
pub use runs::{NewCheckpoint, NewRun, RunUpdate};
pub use verification::NewReport;

/// The schema version this build creates and understands.
pub const SCHEMA_VERSION: u32 = migrations::MIGRATIONS.len() as u32;

/// How long a writer waits for another writer before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// The durable store of every entity.
#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
    path: PathBuf,
}

/// How many of each thing the store holds, for `orchestrator status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct StoreCounts {
    /// Registered projects.
    pub projects: u64,
    /// Plans, by status name.
    pub plans: std::collections::BTreeMap<String, u64>,
    /// Runs, by status name.
    pub runs: std::collections::BTreeMap<String, u64>,
    /// Approval requests waiting for a person.
    pub pending_approvals: u64,
    /// Lock leases in force now.
    pub active_locks: u64,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and migrates it to [`SCHEMA_VERSION`].
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                Error::io(
                    format!("cannot create the data directory {}", dir.display()),
                    e,
                )
            })?;
        }
        let conn = Connection::open(path)?;
        Self::prepare(conn, path.to_path_buf())
    }

    /// An empty store in memory, for tests and examples.
    pub fn open_in_memory() -> Result<Self> {
        Self::prepare(Connection::open_in_memory()?, PathBuf::from(":memory:"))
    }

    fn prepare(mut conn: Connection, path: PathBuf) -> Result<Self> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // journal_mode answers with a row, so it cannot go through execute_batch.
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
        if mode != "wal" && path != Path::new(":memory:") {
            tracing::warn!(path = %path.display(), mode, "the store could not switch to WAL mode");
        }
        conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;")?;
        migrations::migrate(&mut conn, &path)?;
        Ok(Self {
            conn: Mutex::new(conn),
            path,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<u32> {
        Ok(self
            .conn()?
            .query_row("PRAGMA user_version", [], |row| row.get(0))?)
    }

    /// How many of each thing the store holds.
    pub fn counts(&self) -> Result<StoreCounts> {
        let conn = self.conn()?;
        let now = Timestamp::now().as_millis();
        let by_status = |sql: &str| -> Result<std::collections::BTreeMap<String, u64>> {
            let mut stmt = conn.prepare(sql)?;
            let rows = stmt.query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)? as u64))
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        };
        Ok(StoreCounts {
            projects: conn.query_row("SELECT COUNT(*) FROM projects", [], |r| r.get::<_, i64>(0))?
                as u64,
            plans: by_status("SELECT status, COUNT(*) FROM plans GROUP BY status")?,
            runs: by_status("SELECT status, COUNT(*) FROM runs GROUP BY status")?,
            pending_approvals: conn.query_row(
                "SELECT COUNT(*) FROM approval_requests WHERE status = 'PENDING'",
                [],
                |r| r.get::<_, i64>(0),
            )? as u64,
            active_locks: conn.query_row(
                "SELECT COUNT(*) FROM lock_leases WHERE released_at IS NULL AND expires_at > ?1",
                [now],
                |r| r.get::<_, i64>(0),
            )? as u64,
        })
    }

    fn conn(&self) -> Result<MutexGuard<'_, Connection>> {
        // A panic while holding the lock leaves SQLite consistent (transactions roll back on
        // drop), so a poisoned lock is safe to reuse.
        Ok(self
            .conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    /// Runs `f` in an IMMEDIATE transaction and commits it if `f` succeeds.
    fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    /// Runs `f` on a consistent snapshot (a deferred read transaction).
    /// A stamp that differs after any commit to the database, by this store or any other
    /// connection (SQLite's `data_version` with this connection's count of changes): whatever was
    /// read under an equal stamp is still current.
    pub fn change_stamp(&self) -> Result<(i64, u64)> {
        let conn = self.conn()?;
        let version: i64 = conn.query_row("PRAGMA data_version", [], |row| row.get(0))?;
        Ok((version, conn.total_changes()))
    }

    fn read<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.conn()?;
        let tx = conn.transaction()?;
        f(&tx)
    }
}

/// Reads a column holding a value's text form (a status, a mode).
fn parse_col<T: FromStr<Err = String>>(row: &Row<'_>, idx: usize) -> rusqlite::Result<T> {
    let text: String = row.get(idx)?;
    text.parse()
        .map_err(|e: String| rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, e.into()))
}

/// Reads a column holding JSON.
fn json_col<T: DeserializeOwned>(row: &Row<'_>, idx: usize) -> rusqlite::Result<T> {
    let text: String = row.get(idx)?;
    serde_json::from_str(&text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, e.into()))
}

/// Reads a column holding a timestamp in milliseconds.
fn ts_col(row: &Row<'_>, idx: usize) -> rusqlite::Result<Timestamp> {
    Ok(Timestamp::from_millis(row.get(idx)?))
}

/// Reads a nullable timestamp column.
fn opt_ts_col(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<Timestamp>> {
    Ok(row.get::<_, Option<i64>>(idx)?.map(Timestamp::from_millis))
}

/// Encodes a value for a JSON column.
fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|e| Error::Internal(format!("cannot encode JSON for the store: {e}")))
}

/// Turns "no row" into a `NotFound` naming the entity and id.
fn found<T>(result: rusqlite::Result<T>, what: &str, id: impl ToString) -> Result<T> {
    match result {
        Err(rusqlite::Error::QueryReturnedNoRows) => Err(Error::not_found(what, id)),
        other => Ok(other?),
    }
}
