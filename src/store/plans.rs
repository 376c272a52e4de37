//! Plans and their versions. A version's content is spread over `plan_versions`, `phases`, `tasks`
//! and `decisions`, every row keyed by (plan, version): versions are never updated, only added.

use std::collections::BTreeMap;

use rusqlite::{Row, Transaction, params};

use super::planning::{latest_draft, load_session, update_session_status};
use super::{Store, found, json_col, parse_col, to_json, ts_col};
use crate::domain::{
    Decision, Phase, Plan, PlanContent, PlanId, PlanStatus, PlanVersion, PlanVersionInfo, PlanView,
    ProjectId, RunStatus, SessionId, SessionStatus, Task, Timestamp, Transition,
};
use crate::error::{Error, Result};

const PLAN_COLS: &str =
    "id, project_id, session_id, title, status, current_version, created_at, updated_at";

fn plan_row(row: &Row<'_>) -> rusqlite::Result<Plan> {
    Ok(Plan {
        id: PlanId(row.get(0)?),
        project_id: ProjectId(row.get(1)?),
        session_id: row.get::<_, Option<i64>>(2)?.map(SessionId),
        title: row.get(3)?,
        status: parse_col(row, 4)?,
        current_version: row.get(5)?,
        created_at: ts_col(row, 6)?,
        updated_at: ts_col(row, 7)?,
    })
}

fn load_plan(tx: &Transaction<'_>, id: PlanId) -> Result<Plan> {
    let sql = format!("SELECT {PLAN_COLS} FROM plans WHERE id = ?1");
    match found(tx.query_row(&sql, [id.0], plan_row), "plan", id) {
        Err(Error::NotFound { what, id, .. }) => Err(Error::NotFound {
            what,
            id,
            hint: ": `orchestrator plan list` (or the plan_get tool without an id) lists the plans"
                .into(),
        }),
        other => other,
    }
}

fn version_info_row(row: &Row<'_>) -> rusqlite::Result<PlanVersionInfo> {
    Ok(PlanVersionInfo {
        version: row.get(0)?,
        note: row.get(1)?,
        restored_from: row.get(2)?,
        created_at: ts_col(row, 3)?,
    })
}

fn history(tx: &Transaction<'_>, id: PlanId) -> Result<Vec<PlanVersionInfo>> {
    let mut stmt = tx.prepare(
        "SELECT version, note, restored_from, created_at FROM plan_versions WHERE plan_id = ?1 ORDER BY version",
    )?;
    Ok(stmt
        .query_map([id.0], version_info_row)?
        .collect::<rusqlite::Result<_>>()?)
}

/// Loads one version; `None` means the plan's current version.
fn load_version(tx: &Transaction<'_>, plan: &Plan, version: Option<u32>) -> Result<PlanVersion> {
    let version = version.unwrap_or(plan.current_version);
    let info = tx.query_row(
        "SELECT version, note, restored_from, created_at, goal, success_criteria, constraints
         FROM plan_versions WHERE plan_id = ?1 AND version = ?2",
        params![plan.id.0, version],
        |row| {
            Ok((
                version_info_row(row)?,
                row.get::<_, String>(4)?,
                json_col(row, 5)?,
                json_col(row, 6)?,
            ))
        },
    );
    let (info, goal, success_criteria, constraints) = match info {
        Err(rusqlite::Error::QueryReturnedNoRows) => {
            return Err(Error::NotFound {
                what: format!("version {version} of plan"),
                id: plan.id.to_string(),
                hint: format!(": it has versions 1 to {}", plan.current_version),
            });
        }
        other => other?,
    };

    let mut tasks_by_phase: BTreeMap<String, Vec<Task>> = BTreeMap::new();
    let mut stmt = tx.prepare(
        "SELECT phase_key, key, title, description, files, depends_on, verification, rules, reads
         FROM tasks WHERE plan_id = ?1 AND version = ?2 ORDER BY ordinal",
    )?;
    let rows = stmt.query_map(params![plan.id.0, version], |row| {
        Ok((
            row.get::<_, String>(0)?,
            Task {
                reads: json_col(row, 8)?,
                key: row.get(1)?,
                title: row.get(2)?,
                description: row.get(3)?,
                files: json_col(row, 4)?,
                depends_on: json_col(row, 5)?,
                verification: json_col(row, 6)?,
                rules: json_col(row, 7)?,
            },
        ))
    })?;
    for row in rows {
        let (phase_key, task) = row?;
        tasks_by_phase.entry(phase_key).or_default().push(task);
    }

    let mut stmt =
        tx.prepare("SELECT key, name, description, overlap FROM phases WHERE plan_id = ?1 AND version = ?2 ORDER BY ordinal")?;
    let phases = stmt
        .query_map(params![plan.id.0, version], |row| {
            Ok(Phase {
                overlap: row.get::<_, i64>(3)? != 0,
                key: row.get(0)?,
                name: row.get(1)?,
                description: row.get(2)?,
                tasks: Vec::new(),
            })
        })?
        .map(|phase| {
            phase.map(|mut phase| {
                phase.tasks = tasks_by_phase.remove(&phase.key).unwrap_or_default();
                phase
            })
        })
        .collect::<rusqlite::Result<Vec<_>>>()?;

    let mut stmt = tx.prepare(
        "SELECT key, what, why, rejected_alternatives FROM decisions WHERE plan_id = ?1 AND version = ?2 ORDER BY ordinal",
    )?;
    let decisions = stmt
        .query_map(params![plan.id.0, version], |row| {
            Ok(Decision {
                key: row.get(0)?,
                what: row.get(1)?,
                why: row.get(2)?,
                rejected_alternatives: json_col(row, 3)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;

    Ok(PlanVersion {
        plan_id: plan.id,
        version: info.version,
        note: info.note,
        restored_from: info.restored_from,
        created_at: info.created_at,
        content: PlanContent {
            goal,
            success_criteria,
            constraints,
            phases,
            decisions,
        },
    })
}

fn insert_version(
    tx: &Transaction<'_>,
    plan_id: PlanId,
    version: u32,
    content: &PlanContent,
    note: &str,
    restored_from: Option<u32>,
) -> Result<Timestamp> {
    let problems = content.key_problems();
    if !problems.is_empty() {
        return Err(Error::Invalid(format!(
            "the plan cannot be stored: {}",
            problems.join("; ")
        )));
    }
    let now = Timestamp::now();
    tx.execute(
        "INSERT INTO plan_versions (plan_id, version, goal, success_criteria, constraints, note, restored_from, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            plan_id.0,
            version,
            content.goal,
            to_json(&content.success_criteria)?,
            to_json(&content.constraints)?,
            note,
            restored_from,
            now.as_millis()
        ],
    )?;
    let mut task_ordinal = 0u32;
    for (phase_ordinal, phase) in content.phases.iter().enumerate() {
        tx.execute(
            "INSERT INTO phases (plan_id, version, ordinal, key, name, description, overlap) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![plan_id.0, version, phase_ordinal as u32, phase.key, phase.name, phase.description, i64::from(phase.overlap)],
        )?;
        for task in &phase.tasks {
            tx.execute(
                "INSERT INTO tasks (plan_id, version, phase_key, ordinal, key, title, description, files, depends_on, verification, rules, reads)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    plan_id.0,
                    version,
                    phase.key,
                    task_ordinal,
                    task.key,
                    task.title,
                    task.description,
                    to_json(&task.files)?,
                    to_json(&task.depends_on)?,
                    to_json(&task.verification)?,
                    to_json(&task.rules)?,
                    to_json(&task.reads)?
                ],
            )?;
            task_ordinal += 1;
        }
    }
    for (ordinal, decision) in content.decisions.iter().enumerate() {
        tx.execute(
            "INSERT INTO decisions (plan_id, version, ordinal, key, what, why, rejected_alternatives)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                plan_id.0,
                version,
                ordinal as u32,
                decision.key,
                decision.what,
                decision.why,
                to_json(&decision.rejected_alternatives)?
            ],
        )?;
    }
    Ok(now)
}

/// Writes `content` as the next version of `plan`, which must accept changes.
fn append_version(
    tx: &Transaction<'_>,
    plan: &Plan,
    content: &PlanContent,
    note: &str,
    restored_from: Option<u32>,
) -> Result<PlanVersion> {
    if !plan.status.accepts_changes() {
        return Err(Error::Invalid(format!(
            "plan {} is {} and can no longer change; start a new plan instead",
            plan.id, plan.status
        )));
    }
    let version = plan.current_version + 1;
    let now = insert_version(tx, plan.id, version, content, note, restored_from)?;
    tx.execute(
        "UPDATE plans SET current_version = ?2, updated_at = ?3 WHERE id = ?1",
        params![plan.id.0, version, now.as_millis()],
    )?;
    Ok(PlanVersion {
        plan_id: plan.id,
        version,
        note: note.to_string(),
        restored_from,
        created_at: now,
        content: content.clone(),
    })
}

/// Status of each task of `content`: that of its latest run, or `PENDING`.
fn task_status(
    tx: &Transaction<'_>,
    plan_id: PlanId,
    content: &PlanContent,
) -> Result<BTreeMap<String, RunStatus>> {
    let mut stmt = tx.prepare(
        "SELECT task_key, status FROM runs WHERE id IN (SELECT MAX(id) FROM runs WHERE plan_id = ?1 GROUP BY task_key)",
    )?;
    let latest: BTreeMap<String, RunStatus> = stmt
        .query_map([plan_id.0], |row| {
            Ok((row.get::<_, String>(0)?, parse_col(row, 1)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(content
        .tasks()
        .map(|task| {
            (
                task.key.clone(),
                latest.get(&task.key).copied().unwrap_or(RunStatus::Pending),
            )
        })
        .collect())
}

impl Store {
    /// Creates a plan in `DRAFT` whose version 1 is `content`.
    pub fn create_plan(
        &self,
        project_id: ProjectId,
        session_id: Option<SessionId>,
        title: &str,
        content: &PlanContent,
        note: &str,
    ) -> Result<Plan> {
        self.write(|tx| {
            let now = Timestamp::now().as_millis();
            tx.execute(
                "INSERT INTO plans (project_id, session_id, title, status, current_version, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5)",
                params![project_id.0, session_id.map(|s| s.0), title, PlanStatus::Draft.as_str(), now],
            )?;
            let id = PlanId(tx.last_insert_rowid());
            insert_version(tx, id, 1, content, note, None)?;
            load_plan(tx, id)
        })
    }

    /// Approves a session's newest draft in one transaction: the draft becomes version 1 of a new
    /// plan in `APPROVED`, and the session moves to `APPROVED` with that plan. The session must be
    /// in `REVIEWING` and its newest draft free of problems.
    pub fn approve_session(&self, session_id: SessionId, title: &str) -> Result<PlanVersion> {
        self.write(|tx| {
            let session = load_session(tx, session_id)?;
            session.status.check(SessionStatus::Approved)?;
            let draft = latest_draft(tx, session_id)?.ok_or_else(|| {
                Error::Invalid(format!("planning session {session_id} has no draft to approve"))
            })?;
            if !draft.problems.is_empty() {
                return Err(Error::Invalid(format!(
                    "draft {} of planning session {session_id} has {} problem(s); submit a corrected draft first",
                    draft.number,
                    draft.problems.len()
                )));
            }
            let now = Timestamp::now().as_millis();
            tx.execute(
                "INSERT INTO plans (project_id, session_id, title, status, current_version, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5)",
                params![session.project_id.0, session_id.0, title, PlanStatus::Approved.as_str(), now],
            )?;
            let id = PlanId(tx.last_insert_rowid());
            let note = format!("approved (draft {}, {})", draft.number, draft.source);
            insert_version(tx, id, 1, &draft.content, &note, None)?;
            update_session_status(tx, session_id, session.status, SessionStatus::Approved, Some(id))?;
            load_version(tx, &load_plan(tx, id)?, Some(1))
        })
    }

    /// The plan with this id.
    pub fn plan(&self, id: PlanId) -> Result<Plan> {
        self.read(|tx| load_plan(tx, id))
    }

    /// Plans, newest first; only those of `project` when given.
    pub fn list_plans(&self, project: Option<ProjectId>) -> Result<Vec<Plan>> {
        self.read(|tx| {
            let mut stmt = tx.prepare(&format!(
                "SELECT {PLAN_COLS} FROM plans WHERE ?1 IS NULL OR project_id = ?1 ORDER BY id DESC"
            ))?;
            Ok(stmt
                .query_map([project.map(|p| p.0)], plan_row)?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    /// One version of a plan (the current one when `version` is `None`).
    pub fn plan_version(&self, id: PlanId, version: Option<u32>) -> Result<PlanVersion> {
        self.read(|tx| load_version(tx, &load_plan(tx, id)?, version))
    }

    /// Every version of a plan without content, oldest first.
    pub fn plan_history(&self, id: PlanId) -> Result<Vec<PlanVersionInfo>> {
        self.read(|tx| {
            load_plan(tx, id)?;
            history(tx, id)
        })
    }

    /// A plan with one version's content, its task statuses and its history, read consistently.
    pub fn plan_view(&self, id: PlanId, version: Option<u32>) -> Result<PlanView> {
        self.read(|tx| {
            let plan = load_plan(tx, id)?;
            let version = load_version(tx, &plan, version)?;
            Ok(PlanView {
                task_status: task_status(tx, id, &version.content)?,
                history: history(tx, id)?,
                version,
                plan,
            })
        })
    }

    /// Writes `content` as a new version. Content equal to the current version writes nothing and
    /// returns the current version.
    pub fn save_plan_version(
        &self,
        id: PlanId,
        content: &PlanContent,
        note: &str,
    ) -> Result<PlanVersion> {
        self.write(|tx| {
            let plan = load_plan(tx, id)?;
            let current = load_version(tx, &plan, None)?;
            if current.content == *content {
                return Ok(current);
            }
            append_version(tx, &plan, content, note, None)
        })
    }

    /// Writes a new version whose content equals version `to`; history is kept.
    pub fn rollback_plan(&self, id: PlanId, to: u32) -> Result<PlanVersion> {
        self.write(|tx| {
            let plan = load_plan(tx, id)?;
            if to == plan.current_version {
                return Err(Error::Invalid(format!(
                    "version {to} is already the current version of plan {id}; roll back to an earlier one (1 to {})",
                    plan.current_version.saturating_sub(1)
                )));
            }
            let old = load_version(tx, &plan, Some(to))?;
            append_version(tx, &plan, &old.content, &format!("rollback to version {to}"), Some(to))
        })
    }

    /// Moves a plan to `to`, refusing a transition its state machine does not allow.
    pub fn set_plan_status(&self, id: PlanId, to: PlanStatus) -> Result<Plan> {
        self.write(|tx| {
            let plan = load_plan(tx, id)?;
            plan.status.check(to)?;
            tx.execute(
                "UPDATE plans SET status = ?2, updated_at = ?3 WHERE id = ?1",
                params![id.0, to.as_str(), Timestamp::now().as_millis()],
            )?;
            load_plan(tx, id)
        })
    }
}
