//! The planner: a requirements interview that ends in an approved, versioned plan.
//!
//! A session analyses the project ([`analysis`]), asks the questions of [`questions::TOPICS`]
//! with what the analysis knows pre-filled, follows up vague answers (at most
//! [`questions::MAX_FOLLOW_UPS`] times, then records an assumption), researches
//! (`RESEARCHING`: the analysis, the project's docs, and the knowledge base through
//! [`Knowledge`]), and in `DESIGNING` takes a draft from the MCP client's model, the configured
//! agent ([`agent_draft`]) or the offline [`skeleton`]. A draft is [`validate`]d before review;
//! approval makes it version 1 of a plan.
//!
//! Everything a session does is stored as it happens, so it can be resumed after a restart:
//! [`Planner`] is stateless and works straight on the [`Store`].

pub mod agent_draft;
pub mod analysis;
pub mod questions;
pub mod skeleton;
pub mod validate;

use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::domain::{
    Answer, Draft, DraftSource, PlanningSession, Problem, Question, QuestionCategory, SessionStatus,
};
use crate::domain::{
    Decision, PlanContent, PlanId, PlanVersion, Project, QuestionId, RejectedAlternative, SessionId,
};
use crate::error::{Error, Result};
use crate::store::Store;
pub use analysis::ProjectAnalysis;
pub use questions::TopicState;

/// Questions handed out at once; the rest follow as these are answered.
pub const QUESTION_BATCH: usize = 5;

/// Longest goal accepted, in characters.
const MAX_GOAL_CHARS: usize = 2_000;

/// Longest answer accepted, in characters.
const MAX_ANSWER_CHARS: usize = 10_000;

/// A search over documentation, for the research phase. The knowledge base implements it; a
/// session without one researches from the project alone.
pub trait Knowledge: Send + Sync {
    /// Up to `k` passages relevant to `query`.
    fn lookup(&self, query: &str, k: usize) -> Vec<ResearchNote>;
}

/// A passage found while researching.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ResearchNote {
    /// Where it comes from (a path in the project, a URL).
    pub source: String,
    /// Its title or heading.
    pub title: String,
    /// The passage, shortened.
    pub excerpt: String,
}

/// What the research phase gathered.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Research {
    /// The project analysis, one finding per line.
    pub findings: Vec<String>,
    /// The project's own documentation, first heading and opening paragraph of each file.
    pub project_docs: Vec<ResearchNote>,
    /// Passages from the knowledge base (empty until one is configured).
    pub knowledge: Vec<ResearchNote>,
}

/// A session as front ends show it: where it stands and what to do next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SessionView {
    /// The session.
    pub session: PlanningSession,
    /// Every topic of the interview and its answer (or assumption) so far.
    pub topics: Vec<TopicState>,
    /// The questions to answer now (at most five; more follow).
    pub next_questions: Vec<Question>,
    /// How many questions are waiting for an answer in all.
    pub open_questions: usize,
    /// What the project analysis found.
    pub analysis: ProjectAnalysis,
    /// What the research phase gathered, once it ran.
    pub research: Option<Research>,
    /// The newest draft, with its validation problems.
    pub draft: Option<Draft>,
    /// The newest draft's tasks in the order they can run (each inner list can run together).
    pub dependency_order: Vec<Vec<String>>,
    /// Everything a plan author needs, as Markdown, once the session is designing.
    pub brief: Option<String>,
    /// What to do next.
    pub next_step: String,
}

/// One answer as it was recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RecordedAnswer {
    /// The question answered.
    pub question_id: QuestionId,
    /// The answer as understood (a suggestion number or "yes" to a pre-filled answer resolved).
    pub answer: String,
    /// Why it was too vague to plan from, when it was.
    pub vague: Option<String>,
}

/// What answering did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AnswerReport {
    /// The answers recorded.
    pub recorded: Vec<RecordedAnswer>,
    /// Follow-up questions asked because an answer was vague.
    pub follow_ups: Vec<Question>,
    /// The session after the answers.
    pub session: SessionView,
}

/// What submitting a draft did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SubmitReport {
    /// Whether the draft passed validation and is up for review.
    pub accepted: bool,
    /// The stored draft (its problems, if any, say where and how to fix them).
    pub draft: Draft,
    /// The session after the submission.
    pub session: SessionView,
}

/// A decision to record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDecision {
    /// What was decided.
    pub what: String,
    /// Why.
    pub why: String,
    /// Options considered and not taken.
    #[serde(default)]
    pub rejected_alternatives: Vec<RejectedAlternative>,
}

impl NewDecision {
    fn into_decision(self, existing: &[Decision]) -> Result<Decision> {
        if crate::domain::blank(&self.what) || crate::domain::blank(&self.why) {
            return Err(Error::Invalid(
                "a decision needs both `what` was decided and `why`".into(),
            ));
        }
        let mut n = existing.len() + 1;
        while existing.iter().any(|d| d.key == format!("D{n}")) {
            n += 1;
        }
        Ok(Decision {
            key: format!("D{n}"),
            what: self.what.trim().into(),
            why: self.why.trim().into(),
            rejected_alternatives: self.rejected_alternatives,
        })
    }
}

/// The planner for one project, over a store. Every method is one step of a session, stored
/// before it returns.
pub struct Planner<'a> {
    store: &'a Store,
    project: &'a Project,
    knowledge: Option<&'a dyn Knowledge>,
}

impl<'a> Planner<'a> {
    /// A planner for `project`.
    pub fn new(store: &'a Store, project: &'a Project) -> Self {
        Self {
            store,
            project,
            knowledge: None,
        }
    }

    /// Uses `knowledge` in the research phase.
    pub fn with_knowledge(mut self, knowledge: &'a dyn Knowledge) -> Self {
        self.knowledge = Some(knowledge);
        self
    }

    /// The store it works on.
    pub fn store(&self) -> &Store {
        self.store
    }

    fn root(&self) -> &Path {
        &self.project.root
    }

    /// Starts a session for `goal`: analyses the project and asks the opening questions.
    pub fn start(&self, goal: &str) -> Result<SessionView> {
        let goal = goal.trim();
        if crate::domain::blank(goal) {
            return Err(Error::Invalid(
                "the goal is empty: say in a sentence what you want built".into(),
            ));
        }
        if goal.chars().count() > MAX_GOAL_CHARS {
            return Err(Error::Invalid(format!(
                "the goal is longer than {MAX_GOAL_CHARS} characters: state it in a sentence or two; details come in the questions"
            )));
        }
        let analysis = analysis::analyze(self.root());
        let opening = questions::opening_questions(SessionId(0), &analysis);
        let session =
            self.store
                .start_session(self.project.id, goal, &to_value(&analysis)?, &opening)?;
        self.view(session.id)
    }

    /// The session as it stands, after completing any step a crash interrupted.
    pub fn view(&self, id: SessionId) -> Result<SessionView> {
        let session = self.owned_session(id)?;
        if is_open(session.status) {
            self.reconcile(id)?;
        }
        self.build_view(id)
    }

    /// Every session of the project, newest first.
    pub fn sessions(&self) -> Result<Vec<PlanningSession>> {
        self.store.list_sessions(self.project.id)
    }

    /// Records answers (a revision replaces an earlier answer), asks follow-ups for vague ones,
    /// and moves the session on once every topic has an answer. Revising an answer after the
    /// interview sends the session back to gathering requirements, so the plan is redrafted.
    pub fn answer(&self, id: SessionId, answers: &[(QuestionId, String)]) -> Result<AnswerReport> {
        let session = self.open_session(id)?;
        if answers.is_empty() {
            return Err(Error::Invalid(
                "no answers given: pass at least one {question_id, answer}".into(),
            ));
        }
        let questions = self.store.questions(id)?;
        let mut interpreted = Vec::with_capacity(answers.len());
        let mut recorded = Vec::with_capacity(answers.len());
        for (question_id, raw) in answers {
            let question = questions.iter().find(|q| q.id == *question_id).ok_or_else(|| {
                Error::Invalid(format!(
                    "question {question_id} is not part of planning session {id}; its questions are {}",
                    id_range(&questions)
                ))
            })?;
            if raw.chars().count() > MAX_ANSWER_CHARS {
                return Err(Error::Invalid(format!(
                    "the answer to question {question_id} is longer than {MAX_ANSWER_CHARS} characters: summarise it; details belong in the draft"
                )));
            }
            let text = questions::interpret(question, raw);
            recorded.push(RecordedAnswer {
                question_id: *question_id,
                vague: questions::vagueness(question, &text).map(String::from),
                answer: text.clone(),
            });
            interpreted.push((*question_id, text));
        }
        self.store.add_answers(id, &interpreted)?;
        if session.status != SessionStatus::GatheringRequirements {
            self.store.advance_session(
                id,
                session.status,
                SessionStatus::GatheringRequirements,
                None,
            )?;
        }
        let follow_ups = self.reconcile(id)?;
        Ok(AnswerReport {
            recorded,
            follow_ups,
            session: self.build_view(id)?,
        })
    }

    /// Validates a draft and stores it; a valid draft moves the session to `REVIEWING`.
    pub fn submit(
        &self,
        id: SessionId,
        source: DraftSource,
        content: PlanContent,
        note: &str,
    ) -> Result<SubmitReport> {
        let session = self.open_session(id)?;
        match session.status {
            SessionStatus::Designing => {}
            SessionStatus::Reviewing => {
                self.store.advance_session(
                    id,
                    SessionStatus::Reviewing,
                    SessionStatus::Designing,
                    None,
                )?;
            }
            _ => {
                let open = self.build_view(id)?.open_questions;
                return Err(Error::Invalid(format!(
                    "planning session {id} is still gathering requirements ({open} question(s) open): answer them before submitting a draft"
                )));
            }
        }
        // The assumptions the interview announced hold whoever drafted the plan.
        let mut content = content;
        let topics = self.build_view(id)?.topics;
        for (what, why) in skeleton::assumptions(&topics) {
            if content.decisions.iter().any(|d| d.what == what) {
                continue;
            }
            let mut key = format!("assumed-{}", content.decisions.len() + 1);
            while content.decisions.iter().any(|d| d.key == key) {
                key.push('-');
                key.push('1');
            }
            content.decisions.push(crate::domain::Decision {
                key,
                what,
                why,
                rejected_alternatives: Vec::new(),
            });
        }
        let problems = validate::validate(&content, self.root());
        let draft = self
            .store
            .add_draft(id, source, &content, &problems, note)?;
        let accepted = problems.is_empty();
        if accepted {
            self.store.advance_session(
                id,
                SessionStatus::Designing,
                SessionStatus::Reviewing,
                None,
            )?;
        }
        Ok(SubmitReport {
            accepted,
            draft,
            session: self.build_view(id)?,
        })
    }

    /// The deterministic skeleton for the session's answers (not stored).
    pub fn skeleton(&self, id: SessionId) -> Result<PlanContent> {
        let view = self.view(id)?;
        Ok(skeleton::skeleton(
            &view.session.goal,
            &view.topics,
            &view.analysis,
        ))
    }

    /// Approves the reviewed draft: it becomes version 1 of a new plan in `APPROVED`.
    pub fn approve(&self, id: SessionId, title: Option<&str>) -> Result<PlanVersion> {
        let session = self.owned_session(id)?;
        if session.status != SessionStatus::Reviewing {
            return Err(Error::Invalid(format!(
                "planning session {id} is {}, not REVIEWING: {}",
                session.status,
                match session.status {
                    SessionStatus::Approved => format!(
                        "it was approved already as plan {}",
                        session.plan_id.map(|p| p.to_string()).unwrap_or_default()
                    ),
                    SessionStatus::Abandoned => "it was abandoned".into(),
                    _ => "submit a valid draft first".into(),
                }
            )));
        }
        let title = title
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(String::from)
            .unwrap_or_else(|| short_title(&session.goal));
        self.store.approve_session(id, &title)
    }

    /// Gives a session up; it stays in the store, read-only.
    pub fn abandon(&self, id: SessionId) -> Result<PlanningSession> {
        self.owned_session(id)?;
        self.store
            .set_session_status(id, SessionStatus::Abandoned, None)
    }

    /// Adds a decision to the session's newest draft (a new draft, validated again).
    pub fn decide(&self, id: SessionId, decision: NewDecision) -> Result<SubmitReport> {
        self.open_session(id)?;
        let draft = self.store.latest_draft(id)?.ok_or_else(|| {
            Error::Invalid(format!(
                "planning session {id} has no draft yet: decisions are added to a draft or to an approved plan"
            ))
        })?;
        let mut content = draft.content;
        let decision = decision.into_decision(&content.decisions)?;
        let note = format!("decision {} added", decision.key);
        content.decisions.push(decision);
        self.submit(id, draft.source, content, &note)
    }

    /// Adds a decision to an approved plan as its next version.
    pub fn decide_on_plan(&self, plan: PlanId, decision: NewDecision) -> Result<PlanVersion> {
        let current = self.store.plan_version(plan, None)?;
        let mut content = current.content;
        let decision = decision.into_decision(&content.decisions)?;
        let note = format!("decision {} added", decision.key);
        content.decisions.push(decision);
        self.store.save_plan_version(plan, &content, &note)
    }

    fn owned_session(&self, id: SessionId) -> Result<PlanningSession> {
        let session = self.store.session(id)?;
        if session.project_id != self.project.id {
            return Err(Error::Invalid(format!(
                "planning session {id} belongs to another project"
            )));
        }
        Ok(session)
    }

    fn open_session(&self, id: SessionId) -> Result<PlanningSession> {
        let session = self.owned_session(id)?;
        if !is_open(session.status) {
            return Err(Error::Invalid(format!(
                "planning session {id} is {} and can no longer change{}",
                session.status,
                session
                    .plan_id
                    .map(|p| format!(
                        ": plan {p} is what it produced; record decisions on the plan"
                    ))
                    .unwrap_or_default()
            )));
        }
        Ok(session)
    }

    /// Asks the follow-ups vague answers call for, and moves a session whose every topic has an
    /// answer through research to design. Idempotent, so a step a crash cut short completes on
    /// the next call. Returns the follow-ups it asked.
    fn reconcile(&self, id: SessionId) -> Result<Vec<Question>> {
        let questions = self.store.questions(id)?;
        let answers = self.store.answers(id)?;
        let states = questions::topic_states(&questions, &answers);
        let mut wanted = Vec::new();
        for state in states
            .iter()
            .filter(|s| s.value().is_none() && s.waiting_on.is_none())
        {
            let Some(root) = questions.iter().find(|q| q.id == state.question_id) else {
                continue;
            };
            let asked = questions
                .iter()
                .filter(|q| q.follow_up_of == Some(root.id))
                .count();
            let last = questions
                .iter()
                .filter(|q| q.id == root.id || q.follow_up_of == Some(root.id))
                .filter_map(|q| {
                    answers
                        .iter()
                        .filter(|a| a.question_id == q.id)
                        .max_by_key(|a| a.id.0)
                        .map(|a| (q, a))
                })
                .max_by_key(|(_, a)| a.id.0);
            let reason = last
                .and_then(|(q, a)| questions::vagueness(q, &a.text))
                .unwrap_or("it was vague");
            if let Some(new) = questions::follow_up(root, asked, reason) {
                wanted.push(new);
            }
        }
        let follow_ups = if wanted.is_empty() {
            Vec::new()
        } else {
            self.store.add_follow_ups(&wanted)?
        };
        let all_known = wanted.is_empty() && states.iter().all(|s| s.value().is_some());
        if all_known {
            self.store.advance_session(
                id,
                SessionStatus::GatheringRequirements,
                SessionStatus::Researching,
                None,
            )?;
        }
        let session = self.store.session(id)?;
        if session.status == SessionStatus::Researching {
            let research = to_value(&self.research(id, &session.goal, &states)?)?;
            self.store.advance_session(
                id,
                SessionStatus::Researching,
                SessionStatus::Designing,
                Some(("research", &research)),
            )?;
        }
        Ok(follow_ups)
    }

    fn research(&self, id: SessionId, goal: &str, states: &[TopicState]) -> Result<Research> {
        let analysis = self
            .analysis(id)?
            .unwrap_or_else(|| analysis::analyze(self.root()));
        let project_docs = analysis
            .docs
            .iter()
            .take(10)
            .filter_map(|doc| doc_note(self.root(), doc))
            .collect();
        let knowledge = match self.knowledge {
            Some(kb) => {
                let features = states
                    .iter()
                    .find(|s| s.topic == "requirements.features")
                    .and_then(TopicState::value)
                    .unwrap_or_default();
                kb.lookup(&format!("{goal} {features}"), 8)
            }
            None => Vec::new(),
        };
        Ok(Research {
            findings: analysis.summary(),
            project_docs,
            knowledge,
        })
    }

    fn analysis(&self, id: SessionId) -> Result<Option<ProjectAnalysis>> {
        let entry = self.store.session_log(id, Some("analysis"))?.pop();
        Ok(entry.and_then(|e| serde_json::from_value(e.payload).ok()))
    }

    fn build_view(&self, id: SessionId) -> Result<SessionView> {
        let session = self.store.session(id)?;
        let questions = self.store.questions(id)?;
        let answers = self.store.answers(id)?;
        let topics = questions::topic_states(&questions, &answers);
        let waiting: Vec<QuestionId> = topics.iter().filter_map(|t| t.waiting_on).collect();
        let mut open: Vec<Question> = questions
            .iter()
            .filter(|q| waiting.contains(&q.id))
            .cloned()
            .collect();
        // Follow-ups first: they continue a thread the user just answered.
        open.sort_by_key(|q| (q.follow_up_of.is_none(), q.ordinal));
        let open_questions = open.len();
        open.truncate(QUESTION_BATCH);
        let analysis = self.analysis(id)?.unwrap_or_default();
        let research = self
            .store
            .session_log(id, Some("research"))?
            .pop()
            .and_then(|e| serde_json::from_value(e.payload).ok());
        let draft = self.store.latest_draft(id)?;
        let dependency_order = draft
            .as_ref()
            .map(|d| validate::dependency_waves(&d.content))
            .unwrap_or_default();
        let mut view = SessionView {
            next_step: String::new(),
            brief: None,
            session,
            topics,
            next_questions: open,
            open_questions,
            analysis,
            research,
            draft,
            dependency_order,
        };
        view.next_step = next_step(&view);
        if matches!(
            view.session.status,
            SessionStatus::Designing | SessionStatus::Reviewing
        ) {
            view.brief = Some(brief(&view));
        }
        Ok(view)
    }
}

fn is_open(status: SessionStatus) -> bool {
    !matches!(status, SessionStatus::Approved | SessionStatus::Abandoned)
}

fn to_value<T: Serialize>(value: &T) -> Result<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| Error::Internal(format!("encoding JSON: {e}")))
}

fn id_range(questions: &[Question]) -> String {
    match (questions.first(), questions.last()) {
        (Some(first), Some(last)) => format!("{} to {}", first.id, last.id),
        _ => "none".into(),
    }
}

/// The goal cut to a title: its first sentence, at most 80 characters.
fn short_title(goal: &str) -> String {
    let sentence = goal.split(['\n', '.']).next().unwrap_or(goal).trim();
    if sentence.chars().count() <= 80 {
        sentence.to_string()
    } else {
        let cut: String = sentence.chars().take(79).collect();
        format!("{}…", cut.trim_end())
    }
}

/// The first heading and opening paragraph of a documentation file.
fn doc_note(root: &Path, relative: &str) -> Option<ResearchNote> {
    let text = std::fs::read_to_string(root.join(relative)).ok()?;
    let mut title = String::new();
    let mut paragraph = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if title.is_empty() && trimmed.starts_with('#') {
            title = trimmed.trim_start_matches('#').trim().to_string();
            continue;
        }
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("```") {
            if !paragraph.is_empty() {
                break;
            }
            continue;
        }
        if trimmed.starts_with('=') || trimmed.starts_with('-') && trimmed.chars().all(|c| c == '-')
        {
            continue;
        }
        paragraph.push(trimmed);
    }
    let mut excerpt: String = paragraph.join(" ").chars().take(400).collect();
    if excerpt.is_empty() && title.is_empty() {
        return None;
    }
    if excerpt.chars().count() == 400 {
        excerpt.push('…');
    }
    Some(ResearchNote {
        source: relative.to_string(),
        title: if title.is_empty() {
            relative.to_string()
        } else {
            title
        },
        excerpt,
    })
}

fn next_step(view: &SessionView) -> String {
    let id = view.session.id;
    match view.session.status {
        SessionStatus::GatheringRequirements | SessionStatus::Researching => format!(
            "Ask the user the next questions and send the answers with plan_answer (several in one call). A pre-filled question is confirmed with \"yes\"; a number picks a suggestion; {} question(s) are open.",
            view.open_questions
        ),
        SessionStatus::Designing => match &view.draft {
            Some(draft) if !draft.problems.is_empty() => format!(
                "Draft {} has {} problem(s); fix each where it says and submit again with plan_submit.",
                draft.number,
                draft.problems.len()
            ),
            _ => "Write a draft plan from the brief and submit it with plan_submit; or call plan_submit without a draft to get the offline skeleton built from the answers.".into(),
        },
        SessionStatus::Reviewing => format!(
            "Show the user the draft (phases, tasks, dependency order, decisions). Then approve it with plan_approve (session {id}), submit a changed draft with plan_submit, add a decision with plan_decide, or revise an answer with plan_answer."
        ),
        SessionStatus::Approved => format!(
            "Approved as plan {}; plan_get shows it.",
            view.session.plan_id.map(|p| p.to_string()).unwrap_or_default()
        ),
        SessionStatus::Abandoned => "The session was abandoned; start a new one with plan_start.".into(),
    }
}

/// Everything a plan author needs, as Markdown: goal, answers, assumptions, project findings,
/// research, and the rules a draft must follow.
pub fn brief(view: &SessionView) -> String {
    let mut out = format!("# Planning brief: {}\n\n", view.session.goal);
    out.push_str("## Requirements interview\n\n");
    for topic in &view.topics {
        match (&topic.answer, &topic.assumed) {
            (Some(answer), _) => {
                out.push_str(&format!("- **{}** — {}\n  {}\n", topic.topic, topic.question, answer.replace('\n', "\n  ")))
            }
            (None, Some(assumed)) => out.push_str(&format!(
                "- **{}** — {}\n  (no clear answer; assume: {assumed} Record this as a decision.)\n",
                topic.topic, topic.question
            )),
            _ => out.push_str(&format!("- **{}** — {}\n  (not answered yet)\n", topic.topic, topic.question)),
        }
    }
    out.push_str("\n## The project\n\n");
    for line in view.analysis.summary() {
        out.push_str(&format!("- {line}\n"));
    }
    if let Some(research) = &view.research {
        let notes: Vec<&ResearchNote> = research
            .project_docs
            .iter()
            .chain(&research.knowledge)
            .collect();
        if !notes.is_empty() {
            out.push_str("\n## Research\n\n");
            for note in notes {
                out.push_str(&format!(
                    "- {} ({}): {}\n",
                    note.title, note.source, note.excerpt
                ));
            }
        }
    }
    out.push_str(
        "\n## What the draft must contain\n\n\
- `goal`, `success_criteria` (checkable), `constraints` (at least one).\n\
- `phases` in the order they run, each with a unique `key`, a `name` and `tasks`.\n\
- Every task: a unique `key` (unique across phases), `title`, `description` of the work and what done looks like, \
`files` it touches (paths or globs relative to the project root, inside it), `depends_on` (keys of earlier tasks; no cycles, \
not in later phases) and `verification` (the commands or checks that prove it done).\n\
- Tasks small enough for one agent; tasks that can run in parallel should touch different files.\n\
- `decisions`: what was decided, why, and the alternatives rejected (with reasons), including every assumption above.\n",
    );
    out
}
