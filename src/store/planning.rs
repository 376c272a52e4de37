//! Projects, planning sessions, their questions and answers.

use std::path::Path;

use rusqlite::{OptionalExtension, Row, Transaction, params};

use super::{Store, found, json_col, parse_col, to_json, ts_col};
use crate::domain::{
    Answer, AnswerId, Draft, DraftSource, PlanContent, PlanId, PlanningSession, Problem, Project,
    ProjectId, Question, QuestionCategory, QuestionId, SessionId, SessionLogEntry, SessionStatus,
    Timestamp, Transition,
};
use crate::error::{Error, Result};

/// A question to add to a session.
#[derive(Debug, Clone)]
pub struct NewQuestion {
    /// The session asking.
    pub session_id: SessionId,
    /// Its stable topic.
    pub topic: String,
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
const QUESTION_COLS: &str = "id, session_id, category, text, why, suggestions, prefilled, follow_up_of, ordinal, created_at, topic";

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
        topic: row.get(10)?,
    })
}

/// Writes a checked status change and logs it.
pub(super) fn update_session_status(
    tx: &Transaction<'_>,
    id: SessionId,
    from: SessionStatus,
    to: SessionStatus,
    plan_id: Option<PlanId>,
) -> Result<()> {
    tx.execute(
        "UPDATE planning_sessions SET status = ?2, plan_id = COALESCE(?3, plan_id), updated_at = ?4 WHERE id = ?1",
        params![id.0, to.as_str(), plan_id.map(|p| p.0), Timestamp::now().as_millis()],
    )?;
    append_log(
        tx,
        id,
        "status",
        &serde_json::json!({ "from": from.as_str(), "to": to.as_str() }),
    )
}

fn append_log(
    tx: &Transaction<'_>,
    id: SessionId,
    kind: &str,
    payload: &serde_json::Value,
) -> Result<()> {
    tx.execute(
        "INSERT INTO session_log (session_id, seq, kind, payload, at)
         SELECT ?1, COALESCE(MAX(seq), 0) + 1, ?2, ?3, ?4 FROM session_log WHERE session_id = ?1",
        params![id.0, kind, to_json(payload)?, Timestamp::now().as_millis()],
    )?;
    Ok(())
}

pub(super) fn load_session(tx: &Transaction<'_>, id: SessionId) -> Result<PlanningSession> {
    match found(
        tx.query_row(
            &format!("SELECT {SESSION_COLS} FROM planning_sessions WHERE id = ?1"),
            [id.0],
            session_row,
        ),
        "planning session",
        id,
    ) {
        Err(Error::NotFound { what, id, .. }) => Err(Error::NotFound {
            what,
            id,
            hint: ": `orchestrator plan sessions` (or the plan_get tool without arguments) lists the open sessions".into(),
        }),
        other => other,
    }
}

fn draft_row(row: &Row<'_>) -> rusqlite::Result<Draft> {
    Ok(Draft {
        number: row.get(0)?,
        source: parse_col(row, 1)?,
        content: json_col(row, 2)?,
        problems: json_col(row, 3)?,
        note: row.get(4)?,
        created_at: ts_col(row, 5)?,
    })
}

const DRAFT_COLS: &str = "number, source, content, problems, note, created_at";

pub(super) fn latest_draft(tx: &Transaction<'_>, id: SessionId) -> Result<Option<Draft>> {
    Ok(tx
        .query_row(
            &format!("SELECT {DRAFT_COLS} FROM session_drafts WHERE session_id = ?1 ORDER BY number DESC LIMIT 1"),
            [id.0],
            draft_row,
        )
        .optional()?)
}

fn insert_session(tx: &Transaction<'_>, project_id: ProjectId, goal: &str) -> Result<SessionId> {
    let now = Timestamp::now().as_millis();
    tx.execute(
        "INSERT INTO planning_sessions (project_id, goal, status, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
        params![project_id.0, goal, SessionStatus::GatheringRequirements.as_str(), now],
    )?;
    Ok(SessionId(tx.last_insert_rowid()))
}

fn insert_question(tx: &Transaction<'_>, new: &NewQuestion) -> Result<Question> {
    let ordinal: u32 = tx.query_row(
        "SELECT COALESCE(MAX(ordinal), 0) + 1 FROM questions WHERE session_id = ?1",
        [new.session_id.0],
        |r| r.get(0),
    )?;
    tx.execute(
        "INSERT INTO questions (session_id, category, text, why, suggestions, prefilled, follow_up_of, ordinal, created_at, topic)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            new.session_id.0,
            new.category.as_str(),
            new.text,
            new.why,
            to_json(&new.suggestions)?,
            new.prefilled,
            new.follow_up_of.map(|q| q.0),
            ordinal,
            Timestamp::now().as_millis(),
            new.topic
        ],
    )?;
    Ok(tx.query_row(
        &format!("SELECT {QUESTION_COLS} FROM questions WHERE id = ?1"),
        [tx.last_insert_rowid()],
        question_row,
    )?)
}

fn question_session(tx: &Transaction<'_>, question_id: QuestionId) -> Result<SessionId> {
    tx.query_row(
        "SELECT session_id FROM questions WHERE id = ?1",
        [question_id.0],
        |r| r.get(0).map(SessionId),
    )
    .optional()?
    .ok_or_else(|| Error::not_found("question", question_id))
}

fn insert_answer(
    tx: &Transaction<'_>,
    session_id: SessionId,
    question_id: QuestionId,
    text: &str,
) -> Result<Answer> {
    let now = Timestamp::now();
    tx.execute(
        "INSERT INTO answers (question_id, text, created_at) VALUES (?1, ?2, ?3)",
        params![question_id.0, text, now.as_millis()],
    )?;
    let id = AnswerId(tx.last_insert_rowid());
    tx.execute(
        "UPDATE planning_sessions SET updated_at = ?2 WHERE id = ?1",
        params![session_id.0, now.as_millis()],
    )?;
    Ok(Answer {
        id,
        question_id,
        text: text.to_string(),
        created_at: now,
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
            let id = insert_session(tx, project_id, goal)?;
            load_session(tx, id)
        })
    }

    /// The planning session with this id.
    pub fn session(&self, id: SessionId) -> Result<PlanningSession> {
        self.read(|tx| load_session(tx, id))
    }

    /// A project's planning sessions, newest first.
    pub fn list_sessions(&self, project_id: ProjectId) -> Result<Vec<PlanningSession>> {
        self.read(|tx| {
            let mut stmt = tx.prepare(&format!(
                "SELECT {SESSION_COLS} FROM planning_sessions WHERE project_id = ?1 ORDER BY id DESC"
            ))?;
            Ok(stmt
                .query_map([project_id.0], session_row)?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Appends an entry to a session's log.
    pub fn log_session(
        &self,
        id: SessionId,
        kind: &str,
        payload: &serde_json::Value,
    ) -> Result<()> {
        self.write(|tx| {
            load_session(tx, id)?;
            append_log(tx, id, kind, payload)
        })
    }

    /// A session's log, oldest first; only entries of `kind` when given.
    pub fn session_log(&self, id: SessionId, kind: Option<&str>) -> Result<Vec<SessionLogEntry>> {
        self.read(|tx| {
            load_session(tx, id)?;
            let mut stmt = tx.prepare(
                "SELECT seq, kind, payload, at FROM session_log
                 WHERE session_id = ?1 AND (?2 IS NULL OR kind = ?2) ORDER BY seq",
            )?;
            let rows = stmt.query_map(params![id.0, kind], |row| {
                Ok(SessionLogEntry {
                    seq: row.get(0)?,
                    kind: row.get(1)?,
                    payload: json_col(row, 2)?,
                    at: ts_col(row, 3)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Stores a draft as the session's newest.
    pub fn add_draft(
        &self,
        id: SessionId,
        source: DraftSource,
        content: &PlanContent,
        problems: &[Problem],
        note: &str,
    ) -> Result<Draft> {
        self.write(|tx| {
            load_session(tx, id)?;
            tx.execute(
                "INSERT INTO session_drafts (session_id, number, source, content, problems, note, created_at)
                 SELECT ?1, COALESCE(MAX(number), 0) + 1, ?2, ?3, ?4, ?5, ?6 FROM session_drafts WHERE session_id = ?1",
                params![id.0, source.as_str(), to_json(content)?, to_json(problems)?, note, Timestamp::now().as_millis()],
            )?;
            Ok(tx.query_row(
                &format!("SELECT {DRAFT_COLS} FROM session_drafts WHERE session_id = ?1 ORDER BY number DESC LIMIT 1"),
                [id.0],
                draft_row,
            )?)
        })
    }

    /// The session's newest draft, if it has one.
    pub fn latest_draft(&self, id: SessionId) -> Result<Option<Draft>> {
        self.read(|tx| latest_draft(tx, id))
    }

    /// Every draft of a session, oldest first.
    pub fn drafts(&self, id: SessionId) -> Result<Vec<Draft>> {
        self.read(|tx| {
            let mut stmt = tx.prepare(&format!(
                "SELECT {DRAFT_COLS} FROM session_drafts WHERE session_id = ?1 ORDER BY number"
            ))?;
            Ok(stmt
                .query_map([id.0], draft_row)?
                .collect::<rusqlite::Result<_>>()?)
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
            let current = load_session(tx, id)?;
            current.status.check(to)?;
            update_session_status(tx, id, current.status, to, plan_id)?;
            load_session(tx, id)
        })
    }

    /// Adds a question at the end of its session.
    pub fn add_question(&self, new: &NewQuestion) -> Result<Question> {
        self.write(|tx| insert_question(tx, new))
    }

    /// Adds questions at the end of their sessions, all or none.
    pub fn add_questions(&self, new: &[NewQuestion]) -> Result<Vec<Question>> {
        self.write(|tx| new.iter().map(|q| insert_question(tx, q)).collect())
    }

    /// Adds follow-up questions, skipping any whose question already has one waiting for an
    /// answer or one with the same text, so two writers reconciling at once ask each follow-up
    /// once.
    pub fn add_follow_ups(&self, new: &[NewQuestion]) -> Result<Vec<Question>> {
        self.write(|tx| {
            let mut added = Vec::new();
            for question in new {
                let exists = tx
                    .query_row(
                        "SELECT 1 FROM questions q WHERE q.follow_up_of = ?1
                         AND (q.text = ?2 OR NOT EXISTS (SELECT 1 FROM answers a WHERE a.question_id = q.id))",
                        params![question.follow_up_of.map(|q| q.0), question.text],
                        |_| Ok(()),
                    )
                    .optional()?;
                if exists.is_none() {
                    added.push(insert_question(tx, question)?);
                }
            }
            Ok(added)
        })
    }

    /// Moves a session from `from` to `to` (logging `log` with it) if it is still in `from`;
    /// returns whether it moved. Lets two writers race to the same step without an error.
    pub fn advance_session(
        &self,
        id: SessionId,
        from: SessionStatus,
        to: SessionStatus,
        log: Option<(&str, &serde_json::Value)>,
    ) -> Result<bool> {
        self.write(|tx| {
            let current = load_session(tx, id)?;
            if current.status != from {
                return Ok(false);
            }
            from.check(to)?;
            if let Some((kind, payload)) = log {
                append_log(tx, id, kind, payload)?;
            }
            update_session_status(tx, id, from, to, None)?;
            Ok(true)
        })
    }

    /// Starts a session with its analysis logged and its opening questions, in one transaction.
    /// `questions` are given the new session's id.
    pub fn start_session(
        &self,
        project_id: ProjectId,
        goal: &str,
        analysis: &serde_json::Value,
        questions: &[NewQuestion],
    ) -> Result<PlanningSession> {
        self.write(|tx| {
            let id = insert_session(tx, project_id, goal)?;
            append_log(tx, id, "analysis", analysis)?;
            for question in questions {
                insert_question(
                    tx,
                    &NewQuestion {
                        session_id: id,
                        ..question.clone()
                    },
                )?;
            }
            load_session(tx, id)
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
            let session = question_session(tx, question_id)?;
            insert_answer(tx, session, question_id, text)
        })
    }

    /// Records several answers to questions of one session, all or none. A question of another
    /// session is refused.
    pub fn add_answers(
        &self,
        session_id: SessionId,
        answers: &[(QuestionId, String)],
    ) -> Result<Vec<Answer>> {
        self.write(|tx| {
            load_session(tx, session_id)?;
            answers
                .iter()
                .map(|(question, text)| {
                    if question_session(tx, *question)? != session_id {
                        return Err(Error::Invalid(format!(
                            "question {question} is not part of planning session {session_id}"
                        )));
                    }
                    insert_answer(tx, session_id, *question, text)
                })
                .collect()
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
