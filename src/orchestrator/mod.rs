//! The [`Orchestrator`]: the one API every front end (MCP, CLI, dashboard) and library user calls.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use schemars::JsonSchema;
use serde::Serialize;

use crate::config::Settings;
use crate::domain::{
    DraftSource, Plan, PlanContent, PlanDiff, PlanId, PlanStatus, PlanVersion, PlanView,
    PlanningSession, Project, QuestionId, Run, SessionId, diff_content,
};
use crate::error::{Error, Result};
use crate::planner::{self, AnswerReport, NewDecision, Planner, SessionView, SubmitReport};
use crate::store::{Store, StoreCounts};

mod context;
mod delegation;
mod knowledge;
mod permissions;
mod plan_run;
mod runs;
mod supervise;
mod verification;

pub use context::ContextFor;
pub use delegation::Landing;
pub use knowledge::KbIndexing;
pub use permissions::{HookAnswer, PermissionAnswer};
pub use plan_run::{
    PlanEvent, PlanRunAction, PlanRunReport, PlanRunStatus, TaskOutcome, VerificationOutcome,
};
pub use runs::{RunAction, RunView};
pub use verification::{JobStatus, VerifyJob, VerifyOptions};

/// The engine for one project over one store. Cheap to clone; clones share the store.
#[derive(Debug, Clone)]
pub struct Orchestrator {
    store: Arc<Store>,
    project: Project,
    settings: Option<Arc<Settings>>,
    /// Woken when a person answers an approval request in this process, so a waiting agent
    /// goes on at once (answers from other processes are seen by polling the store).
    approvals_changed: Arc<tokio::sync::Notify>,
    /// Verifications running in the background (for MCP clients that must not wait).
    jobs: Arc<verification::Jobs>,
    /// Agents allowed to run at once (`delegator.max_parallel`).
    agent_slots: Arc<tokio::sync::Semaphore>,
    /// Runs supervised in this process.
    live: runs::LiveRuns,
    /// Fired when the engine shuts down: supervisors stop their agents cleanly.
    stop: tokio_util::sync::CancellationToken,
    /// Plan runs started in the background.
    plan_runs: Arc<plan_run::PlanRuns>,
    /// The merge queue: one run lands at a time.
    merge_queue: Arc<tokio::sync::Mutex<()>>,
    /// Knowledge sources being indexed in the background.
    kb_jobs: Arc<knowledge::KbJobs>,
    /// Counts the tokens of contexts (see [`Orchestrator::with_estimator`]).
    estimator: Arc<dyn crate::context::tokens::TokenEstimator>,
    /// The orchestrator program Claude Code's PreToolUse hook calls (see
    /// [`Orchestrator::with_hook_program`]).
    hook_program: Option<PathBuf>,
    /// The agent runs use instead of the configured adapter (see [`Orchestrator::with_agent`]).
    agent: Option<Arc<dyn crate::agent::Agent>>,
}

/// Where a decision is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecisionTarget {
    /// The newest draft of a planning session.
    Session(SessionId),
    /// An approved plan (a new version).
    Plan(PlanId),
}

/// What recording a decision produced.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionRecorded {
    /// The session's new draft.
    Draft(Box<SubmitReport>),
    /// The plan's new version.
    Plan(PlanVersion),
}

/// What `orchestrator status` reports.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StatusReport {
    /// The project this engine works for.
    pub project: Project,
    /// The config file in force, if any.
    pub config_file: Option<PathBuf>,
    /// The database file.
    pub database: PathBuf,
    /// Its schema version.
    pub schema_version: u32,
    /// Names of the secrets loaded from `.secrets.json` (never their values).
    pub secret_names: Vec<String>,
    /// Counts of what the store holds.
    pub counts: StoreCounts,
    /// Problems worth fixing that did not stop the program.
    pub warnings: Vec<String>,
}

impl Orchestrator {
    /// Opens the store the settings name and registers their project in it.
    pub async fn open(settings: Settings) -> Result<Self> {
        let slots = usize::try_from(settings.config.delegator.max_parallel.max(1)).unwrap_or(1);
        let margin = settings.config.context.token_margin;
        let db = settings.database_path()?;
        let root = settings.root.clone();
        let name = settings.project_name();
        let (store, project) = tokio::task::spawn_blocking(move || -> Result<_> {
            let store = Store::open(&db)?;
            let project = store.ensure_project(&root, &name)?;
            Ok((store, project))
        })
        .await
        .map_err(|e| Error::Internal(format!("opening the store: {e}")))??;
        Ok(Self {
            store: Arc::new(store),
            project,
            settings: Some(Arc::new(settings)),
            approvals_changed: Arc::default(),
            jobs: Arc::default(),
            agent_slots: Arc::new(tokio::sync::Semaphore::new(slots)),
            live: Arc::default(),
            stop: tokio_util::sync::CancellationToken::new(),
            kb_jobs: Arc::default(),
            merge_queue: Arc::default(),
            plan_runs: Arc::default(),
            estimator: Arc::new(crate::context::tokens::BpeEstimator::new(margin)),
            hook_program: this_program(),
            agent: None,
        })
    }

    /// An engine over an already open store, for the project at `root` (registered if new).
    pub async fn with_store(store: Store, root: &Path, name: &str) -> Result<Self> {
        let slots = 3;
        let margin = crate::config::ContextConfig::default().token_margin;
        let store = Arc::new(store);
        let (root, name) = (root.to_path_buf(), name.to_string());
        let project = {
            let store = store.clone();
            run_blocking(move || store.ensure_project(&root, &name)).await?
        };
        Ok(Self {
            store,
            project,
            settings: None,
            approvals_changed: Arc::default(),
            jobs: Arc::default(),
            agent_slots: Arc::new(tokio::sync::Semaphore::new(slots)),
            live: Arc::default(),
            stop: tokio_util::sync::CancellationToken::new(),
            kb_jobs: Arc::default(),
            merge_queue: Arc::default(),
            plan_runs: Arc::default(),
            estimator: Arc::new(crate::context::tokens::BpeEstimator::new(margin)),
            hook_program: this_program(),
            agent: None,
        })
    }

    /// The same engine with Claude Code's PreToolUse hook calling `program` (the orchestrator
    /// binary): a library user's process is not it, so this engine only knows it when it runs
    /// as the `orchestrator` binary itself.
    #[must_use]
    pub fn with_hook_program(mut self, program: Option<PathBuf>) -> Self {
        self.hook_program = program;
        self
    }

    /// Runs every task's agent with `agent` instead of the configured adapter: an agent in this
    /// process (a library user's own, or a test's scripted one) supervised exactly as a real one
    /// is — logged, answered, watched, checkpointed, verified, retried.
    #[must_use]
    pub fn with_agent(mut self, agent: Arc<dyn crate::agent::Agent>) -> Self {
        self.agent = Some(agent);
        self
    }

    /// The adapter that runs agents of `config`: the one given with
    /// [`with_agent`](Self::with_agent), else the configured kind's.
    pub(crate) fn agent_adapter(
        &self,
        config: &crate::config::AgentConfig,
    ) -> Arc<dyn crate::agent::Agent> {
        self.agent
            .clone()
            .unwrap_or_else(|| Arc::from(crate::agent::for_config(config)))
    }

    /// Builds what the first calls would otherwise pay for: the token estimator's tables (a
    /// context preview's first count took 150 ms), and what the reading tools read — the latest
    /// plan, open sessions, runs, waiting requests, knowledge sources — so that their statements
    /// are prepared and their pages and code loaded. These are the tools' own reads (listing the
    /// waiting requests marks expired ones, as the `approvals` tool would).
    pub async fn warm_up(&self) {
        let estimator = self.estimator.clone();
        let _ = tokio::task::spawn_blocking(move || estimator.estimate("warm up")).await;
        if let Ok(plans) = self.list_plans(false).await
            && let Some(latest) = plans.iter().max_by_key(|plan| plan.id.0)
        {
            let _ = self.plan(latest.id, None).await;
        }
        let _ = self.open_planning_sessions().await;
        let _ = self.runs(Vec::new()).await;
        let waiting = crate::store::ApprovalFilter {
            status: Some(crate::domain::ApprovalStatus::Pending),
            ..Default::default()
        };
        let _ = self.approvals(waiting).await;
        let _ = self.kb_sources().await;
    }

    /// The shell command Claude Code runs before each tool call of `run` — read-only ones too,
    /// which never reach the permission prompt — to put it to the policy
    /// (`orchestrator hook pre-tool-use --run N`).
    pub fn pre_tool_use_hook(&self, run: crate::domain::RunId) -> Option<String> {
        let program = self.hook_program.as_ref()?;
        let data = self.store.path().parent()?;
        let quote = |p: &Path| crate::agent::shell_quote(&p.to_string_lossy());
        Some(format!(
            "{} --project {} --data-dir {} hook pre-tool-use --run {run}",
            quote(program),
            quote(&self.project.root),
            quote(data)
        ))
    }

    /// The start of [`crate::agent::MARK_VAR`] for a run's agents: the store and the run, so that
    /// runs of other stores on this machine are never mistaken for it.
    pub fn agent_mark_prefix(&self, run: crate::domain::RunId) -> String {
        use std::hash::{Hash as _, Hasher as _};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.store.path().hash(&mut hasher);
        format!("{:016x}/{run}/", hasher.finish())
    }

    /// The same engine counting context tokens with `estimator` (a closer tokenizer, say).
    #[must_use]
    pub fn with_estimator(
        mut self,
        estimator: Arc<dyn crate::context::tokens::TokenEstimator>,
    ) -> Self {
        self.estimator = estimator;
        self
    }

    /// The project this engine works for.
    pub fn project(&self) -> &Project {
        &self.project
    }

    /// The settings it was opened with, if it was opened from settings.
    pub fn settings(&self) -> Option<&Settings> {
        self.settings.as_deref()
    }

    /// The engine's shutdown signal; background supervisors stop when it fires.
    pub fn stop_token(&self) -> tokio_util::sync::CancellationToken {
        self.stop.clone()
    }

    /// Stops every supervisor this engine started in the background: agents are interrupted,
    /// then ended; their runs stay in flight, to be resumed on the next start.
    pub async fn shutdown(&self) {
        self.stop.cancel();
        for _ in 0..100 {
            if self.live_runs() == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// A slot for one running agent; waits while `delegator.max_parallel` agents run.
    pub async fn agent_slot(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        Arc::clone(&self.agent_slots).acquire_owned().await.ok()
    }

    /// A text with every secret value replaced by its name.
    pub fn redact(&self, text: &str) -> String {
        self.settings
            .as_deref()
            .map_or_else(|| text.to_owned(), |s| s.secrets.redact(text))
    }

    /// A JSON value with every secret value in its strings replaced by its name.
    pub fn redact_value(&self, value: &serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match value {
            Value::String(s) => Value::String(self.redact(s)),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.redact_value(v)).collect())
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.redact_value(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// The underlying store, for engine modules. Front ends call the methods below instead.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Runs a store call on tokio's blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = self.store.clone();
        run_blocking(move || f(&store)).await
    }

    /// Creates a plan in this project, in `DRAFT`, with `content` as version 1.
    pub async fn create_plan(&self, title: &str, content: PlanContent) -> Result<Plan> {
        let (project, title) = (self.project.id, title.to_string());
        self.blocking(move |s| s.create_plan(project, None, &title, &content, "created"))
            .await
    }

    /// This project's plans (every project's when `all_projects`), newest first.
    pub async fn list_plans(&self, all_projects: bool) -> Result<Vec<Plan>> {
        let project = (!all_projects).then_some(self.project.id);
        self.blocking(move |s| s.list_plans(project)).await
    }

    /// A plan of this project; another project's (one store may hold several) is not found.
    pub async fn project_plan(&self, id: PlanId) -> Result<Plan> {
        let plan = self.blocking(move |s| s.plan(id)).await?;
        if plan.project_id == self.project.id {
            Ok(plan)
        } else {
            Err(Error::NotFound {
                what: "plan".into(),
                id: id.to_string(),
                hint: " in this project".into(),
            })
        }
    }

    /// Every run of a plan's tasks, oldest first.
    pub async fn plan_runs(&self, id: PlanId) -> Result<Vec<Run>> {
        self.project_plan(id).await?;
        self.blocking(move |s| s.runs_for_plan(id)).await
    }

    /// A plan with one version (the current one when `version` is `None`), its task statuses and
    /// its history.
    pub async fn plan(&self, id: PlanId, version: Option<u32>) -> Result<PlanView> {
        self.project_plan(id).await?;
        self.blocking(move |s| s.plan_view(id, version)).await
    }

    /// What changed from version `from` to version `to` of a plan.
    pub async fn diff_plan(&self, id: PlanId, from: u32, to: u32) -> Result<PlanDiff> {
        self.project_plan(id).await?;
        self.blocking(move |s| {
            let old = s.plan_version(id, Some(from))?;
            let new = s.plan_version(id, Some(to))?;
            Ok(diff_content(from, &old.content, to, &new.content))
        })
        .await
    }

    /// Writes `content` as the plan's next version (nothing when it equals the current one).
    pub async fn update_plan(
        &self,
        id: PlanId,
        content: PlanContent,
        note: &str,
    ) -> Result<PlanVersion> {
        self.project_plan(id).await?;
        let note = note.to_string();
        self.blocking(move |s| s.save_plan_version(id, &content, &note))
            .await
    }

    /// Writes a new version equal to version `to`; nothing is lost, the history grows.
    pub async fn rollback_plan(&self, id: PlanId, to: u32) -> Result<PlanVersion> {
        self.project_plan(id).await?;
        self.blocking(move |s| s.rollback_plan(id, to)).await
    }

    /// Moves a plan to another status, if its state machine allows it.
    pub async fn set_plan_status(&self, id: PlanId, to: PlanStatus) -> Result<Plan> {
        self.project_plan(id).await?;
        self.blocking(move |s| s.set_plan_status(id, to)).await
    }

    /// Runs a planner step on the blocking pool.
    async fn planning<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Planner<'_>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let project = self.project.clone();
        self.blocking(move |s| f(&Planner::new(s, &project))).await
    }

    /// Starts a planning session for `goal`: analyses the project and returns the first questions.
    pub async fn start_planning_session(&self, goal: &str) -> Result<SessionView> {
        let goal = goal.to_string();
        self.planning(move |p| p.start(&goal)).await
    }

    /// A planning session as it stands (resuming it if a step was cut short).
    pub async fn planning_session(&self, id: SessionId) -> Result<SessionView> {
        self.planning(move |p| p.view(id)).await
    }

    /// This project's planning sessions, newest first.
    pub async fn planning_sessions(&self) -> Result<Vec<PlanningSession>> {
        self.planning(|p| p.sessions()).await
    }

    /// This project's planning sessions still in progress (neither approved nor abandoned),
    /// newest first.
    pub async fn open_planning_sessions(&self) -> Result<Vec<PlanningSession>> {
        let mut sessions = self.planning_sessions().await?;
        sessions.retain(|s| {
            !matches!(
                s.status,
                crate::domain::SessionStatus::Approved | crate::domain::SessionStatus::Abandoned
            )
        });
        Ok(sessions)
    }

    /// Answers questions of a session (a revision replaces an earlier answer).
    pub async fn answer_questions(
        &self,
        id: SessionId,
        answers: Vec<(QuestionId, String)>,
    ) -> Result<AnswerReport> {
        self.planning(move |p| p.answer(id, &answers)).await
    }

    /// Submits a draft for validation and review; without one, the skeleton built from the
    /// answers is submitted.
    pub async fn submit_draft(
        &self,
        id: SessionId,
        draft: Option<(DraftSource, PlanContent)>,
        note: &str,
    ) -> Result<SubmitReport> {
        let note = note.to_string();
        self.planning(move |p| {
            let (source, content) = match draft {
                Some(draft) => draft,
                None => (DraftSource::Skeleton, p.skeleton(id)?),
            };
            p.submit(id, source, content, &note)
        })
        .await
    }

    /// Asks the configured agent for a draft and submits it; when the agent cannot give one, the
    /// skeleton is submitted instead and the note says why.
    pub async fn draft_with_agent(&self, id: SessionId) -> Result<SubmitReport> {
        let view = self.planning_session(id).await?;
        let brief = view.brief.ok_or_else(|| {
            Error::Invalid(format!(
                "planning session {id} is {}: drafting starts once every question is answered",
                view.session.status
            ))
        })?;
        let settings = self.settings.as_deref().ok_or_else(|| {
            Error::Invalid("no settings: the agent is configured in orchestrator.toml".into())
        })?;
        match planner::agent_draft::agent_draft(settings, &brief).await {
            Ok(content) => {
                self.submit_draft(
                    id,
                    Some((DraftSource::Agent, content)),
                    "written by the agent",
                )
                .await
            }
            Err(why) => {
                self.submit_draft(id, None, &format!("skeleton: {why}"))
                    .await
            }
        }
    }

    /// Approves the reviewed draft of a session: it becomes version 1 of a new, approved plan.
    pub async fn approve_plan(&self, id: SessionId, title: Option<&str>) -> Result<PlanView> {
        let title = title.map(String::from);
        self.planning(move |p| {
            let version = p.approve(id, title.as_deref())?;
            p.store().plan_view(version.plan_id, None)
        })
        .await
    }

    /// Gives a planning session up.
    pub async fn abandon_planning_session(&self, id: SessionId) -> Result<PlanningSession> {
        self.planning(move |p| p.abandon(id)).await
    }

    /// Records a decision on a session's draft (a new draft) or on a plan (a new version).
    pub async fn add_decision(
        &self,
        target: DecisionTarget,
        decision: NewDecision,
    ) -> Result<DecisionRecorded> {
        self.planning(move |p| match target {
            DecisionTarget::Session(id) => {
                let report = p.decide(id, decision)?;
                Ok(DecisionRecorded::Draft(Box::new(report)))
            }
            DecisionTarget::Plan(id) => Ok(DecisionRecorded::Plan(p.decide_on_plan(id, decision)?)),
        })
        .await
    }

    /// Where things stand: store, project, counts, warnings.
    pub async fn status(&self) -> Result<StatusReport> {
        let (schema_version, counts) = self
            .blocking(|s| Ok((s.schema_version()?, s.counts()?)))
            .await?;
        let settings = self.settings.as_deref();
        Ok(StatusReport {
            project: self.project.clone(),
            config_file: settings.and_then(|s| s.source.clone()),
            database: self.store.path().to_path_buf(),
            schema_version,
            secret_names: settings
                .map(|s| s.secrets.names().map(str::to_string).collect())
                .unwrap_or_default(),
            counts,
            warnings: settings.map(|s| s.warnings.clone()).unwrap_or_default(),
        })
    }
}

async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("a store call died: {e}")))?
}

/// This process's program when it is the orchestrator binary (not a test or a library user).
fn this_program() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    (exe.file_stem()? == "orchestrator").then_some(exe)
}
