//! Forward-only schema migrations, applied at open and tracked in `PRAGMA user_version`.
//!
//! Each entry is applied once, in order, in its own transaction. Entries are never edited after
//! they ship: a change to the schema is a new entry. Keep the SQL portable (no SQLite-only types)
//! so a PostgreSQL backend can follow the same steps.

use std::path::Path;

use rusqlite::Connection;

use crate::error::{Error, Result};

/// The migrations, oldest first; the schema version is the number applied.
pub(crate) const MIGRATIONS: &[&str] = &[
    V1_INITIAL,
    V2_PLANNER,
    V3_POLICY,
    V4_VERIFIER,
    V5_KNOWLEDGE,
    V6_EMBEDDINGS,
    V7_DELEGATION,
    V8_EVENTS_BY_KIND,
];

/// A run's newest event of a kind, and how many it has, without reading its whole log (the plan
/// page asks for each task's latest verification every time it is drawn).
const V8_EVENTS_BY_KIND: &str = r#"
CREATE INDEX run_events_by_kind ON run_events (run_id, kind, seq);
"#;

/// Delegation: why a lock lease ended (released by a person, lapsed and taken over, the run
/// ended); the files a task only reads (shared locks); phases that may overlap the earlier ones.
const V7_DELEGATION: &str = r#"
ALTER TABLE lock_leases ADD COLUMN released_reason TEXT;
ALTER TABLE tasks ADD COLUMN reads TEXT NOT NULL DEFAULT '[]';
ALTER TABLE phases ADD COLUMN overlap INTEGER NOT NULL DEFAULT 0;
"#;

/// Semantic search: the embedding of every chunk (unit-length f32, little-endian) and, per
/// document, the model that embedded it (a document not embedded with the configured model is
/// indexed again).
const V6_EMBEDDINGS: &str = r#"
ALTER TABLE kb_documents ADD COLUMN embedded_with TEXT;
CREATE TABLE kb_vectors (
    source_id  INTEGER NOT NULL REFERENCES kb_sources (id),
    uri        TEXT NOT NULL,
    ordinal    INTEGER NOT NULL,
    model      TEXT NOT NULL,
    vector     BLOB NOT NULL,
    PRIMARY KEY (source_id, uri, ordinal)
);
"#;

/// The knowledge base: documentation sources of a project and what was indexed from each (a
/// content hash per document, so unchanged ones are skipped on the next index).
const V5_KNOWLEDGE: &str = r#"
CREATE TABLE kb_sources (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects (id),
    location    TEXT NOT NULL,
    kind        TEXT NOT NULL,
    added_at    INTEGER NOT NULL,
    indexed_at  INTEGER,
    UNIQUE (project_id, location)
);
CREATE TABLE kb_documents (
    source_id  INTEGER NOT NULL REFERENCES kb_sources (id),
    uri        TEXT NOT NULL,
    hash       TEXT NOT NULL,
    chunks     INTEGER NOT NULL,
    indexed_at INTEGER NOT NULL,
    PRIMARY KEY (source_id, uri)
);
"#;

/// The verifier: test counts per check, the base commit of the tampering checks, and whether the
/// verified tree had uncommitted changes.
const V4_VERIFIER: &str = r#"
ALTER TABLE check_results ADD COLUMN tests TEXT;
ALTER TABLE verification_reports ADD COLUMN base_commit TEXT;
ALTER TABLE verification_reports ADD COLUMN dirty INTEGER NOT NULL DEFAULT 0;
"#;

/// The permission policy: per-task rules in plans, the rules an approval may remember, the rules
/// a person granted for a run, and the audit log of every decision (append-only).
const V3_POLICY: &str = r#"
ALTER TABLE tasks ADD COLUMN rules TEXT NOT NULL DEFAULT '{}';
ALTER TABLE approval_requests ADD COLUMN grants TEXT NOT NULL DEFAULT '[]';

CREATE TABLE run_rules (
    run_id      INTEGER NOT NULL REFERENCES runs (id),
    rule        TEXT NOT NULL,
    approval_id INTEGER REFERENCES approval_requests (id),
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (run_id, rule)
);

CREATE TABLE policy_audit (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER REFERENCES runs (id),
    approval_id INTEGER REFERENCES approval_requests (id),
    tool_name   TEXT NOT NULL,
    input       TEXT NOT NULL,
    verdict     TEXT NOT NULL,
    reason      TEXT NOT NULL,
    decided_by  TEXT NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX policy_audit_by_run ON policy_audit (run_id, id);
CREATE TRIGGER policy_audit_is_append_only_u BEFORE UPDATE ON policy_audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER policy_audit_is_append_only_d BEFORE DELETE ON policy_audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"#;

/// The planner: a stable topic per question, the drafts a session produced, and its log (status
/// changes, project analysis, research), both append-only.
const V2_PLANNER: &str = r#"
ALTER TABLE questions ADD COLUMN topic TEXT NOT NULL DEFAULT '';

CREATE TABLE session_drafts (
    session_id INTEGER NOT NULL REFERENCES planning_sessions (id),
    number     INTEGER NOT NULL,
    source     TEXT NOT NULL,
    content    TEXT NOT NULL,
    problems   TEXT NOT NULL,
    note       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (session_id, number)
);
CREATE TRIGGER session_drafts_are_append_only_u BEFORE UPDATE ON session_drafts
    BEGIN SELECT RAISE(ABORT, 'session drafts are append-only'); END;
CREATE TRIGGER session_drafts_are_append_only_d BEFORE DELETE ON session_drafts
    BEGIN SELECT RAISE(ABORT, 'session drafts are append-only'); END;

CREATE TABLE session_log (
    session_id INTEGER NOT NULL REFERENCES planning_sessions (id),
    seq        INTEGER NOT NULL,
    kind       TEXT NOT NULL,
    payload    TEXT NOT NULL,
    at         INTEGER NOT NULL,
    PRIMARY KEY (session_id, seq)
);
CREATE TRIGGER session_log_is_append_only_u BEFORE UPDATE ON session_log
    BEGIN SELECT RAISE(ABORT, 'the session log is append-only'); END;
CREATE TRIGGER session_log_is_append_only_d BEFORE DELETE ON session_log
    BEGIN SELECT RAISE(ABORT, 'the session log is append-only'); END;
"#;

const V1_INITIAL: &str = r#"
CREATE TABLE projects (
    id          INTEGER PRIMARY KEY,
    root        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE planning_sessions (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects (id),
    goal        TEXT NOT NULL,
    status      TEXT NOT NULL,
    plan_id     INTEGER REFERENCES plans (id),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE questions (
    id           INTEGER PRIMARY KEY,
    session_id   INTEGER NOT NULL REFERENCES planning_sessions (id),
    category     TEXT NOT NULL,
    text         TEXT NOT NULL,
    why          TEXT NOT NULL,
    suggestions  TEXT NOT NULL,
    prefilled    TEXT,
    follow_up_of INTEGER REFERENCES questions (id),
    ordinal      INTEGER NOT NULL,
    created_at   INTEGER NOT NULL
);

CREATE TABLE answers (
    id          INTEGER PRIMARY KEY,
    question_id INTEGER NOT NULL REFERENCES questions (id),
    text        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE plans (
    id              INTEGER PRIMARY KEY,
    project_id      INTEGER NOT NULL REFERENCES projects (id),
    session_id      INTEGER REFERENCES planning_sessions (id),
    title           TEXT NOT NULL,
    status          TEXT NOT NULL,
    current_version INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE plan_versions (
    plan_id          INTEGER NOT NULL REFERENCES plans (id),
    version          INTEGER NOT NULL,
    goal             TEXT NOT NULL,
    success_criteria TEXT NOT NULL,
    constraints      TEXT NOT NULL,
    note             TEXT NOT NULL,
    restored_from    INTEGER,
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (plan_id, version)
);

CREATE TABLE phases (
    plan_id     INTEGER NOT NULL,
    version     INTEGER NOT NULL,
    ordinal     INTEGER NOT NULL,
    key         TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    PRIMARY KEY (plan_id, version, key),
    FOREIGN KEY (plan_id, version) REFERENCES plan_versions (plan_id, version)
);

CREATE TABLE tasks (
    plan_id      INTEGER NOT NULL,
    version      INTEGER NOT NULL,
    phase_key    TEXT NOT NULL,
    ordinal      INTEGER NOT NULL,
    key          TEXT NOT NULL,
    title        TEXT NOT NULL,
    description  TEXT NOT NULL,
    files        TEXT NOT NULL,
    depends_on   TEXT NOT NULL,
    verification TEXT NOT NULL,
    PRIMARY KEY (plan_id, version, key),
    FOREIGN KEY (plan_id, version, phase_key) REFERENCES phases (plan_id, version, key)
);

CREATE TABLE decisions (
    plan_id               INTEGER NOT NULL,
    version               INTEGER NOT NULL,
    ordinal               INTEGER NOT NULL,
    key                   TEXT NOT NULL,
    what                  TEXT NOT NULL,
    why                   TEXT NOT NULL,
    rejected_alternatives TEXT NOT NULL,
    PRIMARY KEY (plan_id, version, key),
    FOREIGN KEY (plan_id, version) REFERENCES plan_versions (plan_id, version)
);

CREATE TABLE runs (
    id               INTEGER PRIMARY KEY,
    plan_id          INTEGER NOT NULL REFERENCES plans (id),
    task_key         TEXT NOT NULL,
    plan_version     INTEGER NOT NULL,
    status           TEXT NOT NULL,
    attempt          INTEGER NOT NULL,
    agent            TEXT NOT NULL,
    agent_session_id TEXT,
    worktree         TEXT,
    base_commit      TEXT,
    last_error       TEXT,
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX runs_by_task ON runs (plan_id, task_key, id);

CREATE TABLE run_events (
    run_id  INTEGER NOT NULL REFERENCES runs (id),
    seq     INTEGER NOT NULL,
    kind    TEXT NOT NULL,
    payload TEXT NOT NULL,
    at      INTEGER NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE TRIGGER run_events_are_append_only_u BEFORE UPDATE ON run_events
    BEGIN SELECT RAISE(ABORT, 'run events are append-only'); END;
CREATE TRIGGER run_events_are_append_only_d BEFORE DELETE ON run_events
    BEGIN SELECT RAISE(ABORT, 'run events are append-only'); END;

CREATE TABLE checkpoints (
    id               INTEGER PRIMARY KEY,
    run_id           INTEGER NOT NULL REFERENCES runs (id),
    reason           TEXT NOT NULL,
    agent_session_id TEXT,
    commit_sha       TEXT,
    files_changed    TEXT NOT NULL,
    cost_usd         REAL NOT NULL,
    input_tokens     INTEGER NOT NULL,
    output_tokens    INTEGER NOT NULL,
    last_output      TEXT NOT NULL,
    at               INTEGER NOT NULL
);
CREATE TRIGGER checkpoints_are_append_only_u BEFORE UPDATE ON checkpoints
    BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
CREATE TRIGGER checkpoints_are_append_only_d BEFORE DELETE ON checkpoints
    BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;

CREATE TABLE lock_leases (
    id           INTEGER PRIMARY KEY,
    project_id   INTEGER NOT NULL REFERENCES projects (id),
    pattern      TEXT NOT NULL,
    mode         TEXT NOT NULL,
    owner        TEXT NOT NULL,
    run_id       INTEGER REFERENCES runs (id),
    acquired_at  INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    released_at  INTEGER
);
CREATE INDEX lock_leases_live ON lock_leases (project_id, released_at, expires_at);

CREATE TABLE approval_requests (
    id              INTEGER PRIMARY KEY,
    run_id          INTEGER NOT NULL REFERENCES runs (id),
    tool_name       TEXT NOT NULL,
    input           TEXT NOT NULL,
    reason          TEXT NOT NULL,
    status          TEXT NOT NULL,
    applies_to_run  INTEGER NOT NULL,
    decided_by      TEXT,
    decision_reason TEXT,
    created_at      INTEGER NOT NULL,
    decided_at      INTEGER,
    expires_at      INTEGER NOT NULL
);
CREATE INDEX approval_requests_by_status ON approval_requests (status, id);

CREATE TABLE verification_reports (
    id          INTEGER PRIMARY KEY,
    project_id  INTEGER NOT NULL REFERENCES projects (id),
    run_id      INTEGER REFERENCES runs (id),
    commit_sha  TEXT,
    passed      INTEGER NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER NOT NULL
);

CREATE TABLE check_results (
    id          INTEGER PRIMARY KEY,
    report_id   INTEGER NOT NULL REFERENCES verification_reports (id),
    ordinal     INTEGER NOT NULL,
    name        TEXT NOT NULL,
    passed      INTEGER NOT NULL,
    exit_code   INTEGER,
    duration_ms INTEGER NOT NULL,
    error       TEXT,
    output_tail TEXT NOT NULL
);

CREATE TABLE findings (
    check_id  INTEGER NOT NULL REFERENCES check_results (id),
    ordinal   INTEGER NOT NULL,
    file      TEXT,
    line      INTEGER,
    column_no INTEGER,
    rule      TEXT,
    severity  TEXT NOT NULL,
    message   TEXT NOT NULL,
    PRIMARY KEY (check_id, ordinal)
);
"#;

/// Brings the database up to the newest schema; refuses one written by a newer build.
pub(crate) fn migrate(conn: &mut Connection, path: &Path) -> Result<u32> {
    let known = MIGRATIONS.len() as u32;
    let found: u32 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if found > known {
        return Err(Error::SchemaTooNew {
            path: path.to_path_buf(),
            found,
            known,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let version = index as u32 + 1;
        // IMMEDIATE: two processes opening a fresh file at once must not both migrate it.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let current: u32 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        if current >= version {
            continue;
        }
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
        tracing::info!(version, path = %path.display(), "applied store migration");
    }
    Ok(known)
}
