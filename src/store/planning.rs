//! Projects, planning sessions, their questions and answers.

use std::path::Path;

use rusqlite::{OptionalExtension, Row, params};

use super::{Store, found, json_col, parse_col, to_json, ts_col};
use crate::domain::{
    Answer, AnswerId, PlanId, PlanningSession, Project, ProjectId, Question, QuestionCategory,
    QuestionId, SessionId, SessionStatus, Timestamp, Transition,
};
use crate::error::{Error, Result};

/// A question to add to a session.
#[derive(Debug, Clone)]
pub struct NewQuestion {
    /// The session asking.
    pub session_id: SessionId,
    /// Its area.
    pub category: QuestionCategory,
    /// The question.
    pub text: String,
    /// Why it is asked.
    pub why: String,
    /// Suggested answers.
    pub suggestions: Vec<String>,
    /// An answer already known from the project analysis.
    pub prefilled: Option<String>,
    /// The question this one narrows.
    pub follow_up_of: Option<QuestionId>,
}

const PROJECT_COLS: &str = "id, root, name, created_at";
const SESSION_COLS: &str = "id, project_id, goal, status, plan_id, created_at, updated_at";
const QUESTION_COLS: &str = "id, session_id, category, text, why, suggestions, prefilled, follow_up_of, ordinal, created_at";

fn project_row(row: &Row<'_>) -> rusqlite::Result<Project> {
    Ok(Project {
        id: ProjectId(row.get(0)?),
        root: row.get::<_, String>(1)?.into(),
        name: row.get(2)?,
        created_at: ts_col(row, 3)?,
    })
}

fn session_row(row: &Row<'_>) -> rusqlite::Result<PlanningSession> {
    Ok(PlanningSession {
        id: SessionId(row.get(0)?),
        project_id: ProjectId(row.get(1)?),
        goal: row.get(2)?,
        status: parse_col(row, 3)?,
        plan_id: row.get::<_, Option<i64>>(4)?.map(PlanId),
        created_at: ts_col(row, 5)?,
        updated_at: ts_col(row, 6)?,
    })
}

fn question_row(row: &Row<'_>) -> rusqlite::Result<Question> {
    Ok(Question {
        id: QuestionId(row.get(0)?),
        session_id: SessionId(row.get(1)?),
        category: parse_col(row, 2)?,
        text: row.get(3)?,
        why: row.get(4)?,
        suggestions: json_col(row, 5)?,
        prefilled: row.get(6)?,
        follow_up_of: row.get::<_, Option<i64>>(7)?.map(QuestionId),
        ordinal: row.get(8)?,
        created_at: ts_col(row, 9)?,
    })
}

fn root_text(root: &Path) -> Result<&str> {
    root.to_str().ok_or_else(|| {
        Error::Invalid(format!(
            "the project path {} is not valid UTF-8",
            root.display()
        ))
    })
}

impl Store {
    /// The project rooted at `root`, registering it (with `name`) if it is new.
    pub fn ensure_project(&self, root: &Path, name: &str) -> Result<Project> {
        let root_str = root_text(root)?;
        self.write(|tx| {
            tx.execute(
                "INSERT INTO projects (root, name, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (root) DO NOTHING",
                params![root_str, name, Timestamp::now().as_millis()],
            )?;
            Ok(tx.query_row(&format!("SELECT {PROJECT_COLS} FROM projects WHERE root = ?1"), [root_str], project_row)?)
        })
    }

    /// The project with this id.
    pub fn project(&self, id: ProjectId) -> Result<Project> {
        self.read(|tx| {
            found(
                tx.query_row(
                    &format!("SELECT {PROJECT_COLS} FROM projects WHERE id = ?1"),
                    [id.0],
                    project_row,
                ),
                "project",
                id,
            )
        })
    }

    /// The project rooted at `root`, if registered.
    pub fn project_by_root(&self, root: &Path) -> Result<Option<Project>> {
        let root_str = root_text(root)?;
        self.read(|tx| {
            Ok(tx
                .query_row(
                    &format!("SELECT {PROJECT_COLS} FROM projects WHERE root = ?1"),
                    [root_str],
                    project_row,
                )
                .optional()?)
        })
    }

    /// Every registered project, oldest first.
    pub fn list_projects(&self) -> Result<Vec<Project>> {
        self.read(|tx| {
            let mut stmt =
                tx.prepare(&format!("SELECT {PROJECT_COLS} FROM projects ORDER BY id"))?;
            Ok(stmt
                .query_map([], project_row)?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Starts a planning session in `GATHERING_REQUIREMENTS`.
    pub fn create_session(&self, project_id: ProjectId, goal: &str) -> Result<PlanningSession> {
        self.write(|tx| {
            let now = Timestamp::now().as_millis();
            tx.execute(
                "INSERT INTO planning_sessions (project_id, goal, status, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
                params![project_id.0, goal, SessionStatus::GatheringRequirements.as_str(), now],
            )?;
            Ok(tx.query_row(
                &format!("SELECT {SESSION_COLS} FROM planning_sessions WHERE id = ?1"),
                [tx.last_insert_rowid()],
                session_row,
            )?)
        })
    }

    /// The planning session with this id.
    pub fn session(&self, id: SessionId) -> Result<PlanningSession> {
        self.read(|tx| {
            found(
                tx.query_row(
                    &format!("SELECT {SESSION_COLS} FROM planning_sessions WHERE id = ?1"),
                    [id.0],
                    session_row,
                ),
                "planning session",
                id,
            )
        })
    }

    /// Moves a session to `to`, refusing a transition its state machine does not allow; records the
    /// plan it produced when given.
    pub fn set_session_status(
        &self,
        id: SessionId,
        to: SessionStatus,
        plan_id: Option<PlanId>,
    ) -> Result<PlanningSession> {
        self.write(|tx| {
            let sql = format!("SELECT {SESSION_COLS} FROM planning_sessions WHERE id = ?1");
            let current = found(tx.query_row(&sql, [id.0], session_row), "planning session", id)?;
            current.status.check(to)?;
            tx.execute(
                "UPDATE planning_sessions SET status = ?2, plan_id = COALESCE(?3, plan_id), updated_at = ?4 WHERE id = ?1",
                params![id.0, to.as_str(), plan_id.map(|p| p.0), Timestamp::now().as_millis()],
            )?;
            Ok(tx.query_row(&sql, [id.0], session_row)?)
        })
    }

    /// Adds a question at the end of its session.
    pub fn add_question(&self, new: &NewQuestion) -> Result<Question> {
        self.write(|tx| {
            let ordinal: u32 = tx.query_row(
                "SELECT COALESCE(MAX(ordinal), 0) + 1 FROM questions WHERE session_id = ?1",
                [new.session_id.0],
                |r| r.get(0),
            )?;
            tx.execute(
                "INSERT INTO questions (session_id, category, text, why, suggestions, prefilled, follow_up_of, ordinal, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    new.session_id.0,
                    new.category.as_str(),
                    new.text,
                    new.why,
                    to_json(&new.suggestions)?,
                    new.prefilled,
                    new.follow_up_of.map(|q| q.0),
                    ordinal,
                    Timestamp::now().as_millis()
                ],
            )?;
            Ok(tx.query_row(
                &format!("SELECT {QUESTION_COLS} FROM questions WHERE id = ?1"),
                [tx.last_insert_rowid()],
                question_row,
            )?)
        })
    }

    /// A session's questions in the order they were asked.
    pub fn questions(&self, session_id: SessionId) -> Result<Vec<Question>> {
        self.read(|tx| {
            let mut stmt = tx.prepare(&format!(
                "SELECT {QUESTION_COLS} FROM questions WHERE session_id = ?1 ORDER BY ordinal"
            ))?;
            Ok(stmt
                .query_map([session_id.0], question_row)?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Records an answer; an earlier answer to the same question stays as history.
    pub fn add_answer(&self, question_id: QuestionId, text: &str) -> Result<Answer> {
        self.write(|tx| {
            let exists = tx
                .query_row(
                    "SELECT 1 FROM questions WHERE id = ?1",
                    [question_id.0],
                    |_| Ok(()),
                )
                .optional()?;
            if exists.is_none() {
                return Err(Error::not_found("question", question_id));
            }
            let now = Timestamp::now();
            tx.execute(
                "INSERT INTO answers (question_id, text, created_at) VALUES (?1, ?2, ?3)",
                params![question_id.0, text, now.as_millis()],
            )?;
            Ok(Answer {
                id: AnswerId(tx.last_insert_rowid()),
                question_id,
                text: text.to_string(),
                created_at: now,
            })
        })
    }

    /// Every answer given in a session, revisions included, oldest first.
    pub fn answers(&self, session_id: SessionId) -> Result<Vec<Answer>> {
        self.read(|tx| {
            let mut stmt = tx.prepare(
                "SELECT a.id, a.question_id, a.text, a.created_at FROM answers a
                 JOIN questions q ON q.id = a.question_id WHERE q.session_id = ?1 ORDER BY a.id",
            )?;
            let rows = stmt.query_map([session_id.0], |row| {
                Ok(Answer {
                    id: AnswerId(row.get(0)?),
                    question_id: QuestionId(row.get(1)?),
                    text: row.get(2)?,
                    created_at: ts_col(row, 3)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }
}
