//! The tools, in two routers: `core` (DESIGN.md's default profile) and the fine-grained ones that
//! `--tools all` adds.

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::InputResponses as FormResponses;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResponse, CallToolResult, Implementation, InputRequiredResult, ServerCapabilities,
    ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, ServerHandler, tool, tool_handler, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::OnceLock;

use super::elicit;
use super::engine::Engine;
use crate::Orchestrator;
use crate::config::ToolProfile;
use crate::domain::{
    DraftSource, Plan, PlanContent, PlanId, PlanVersion, PlanView, PlanningSession, QuestionId,
    RejectedAlternative, SessionId, SessionStatus,
};
use crate::orchestrator::{DecisionRecorded, DecisionTarget};
use crate::planner::{AnswerReport, NewDecision, SessionView, SubmitReport};

/// The MCP face of an [`Orchestrator`].
#[derive(Debug, Clone)]
pub struct OrchestratorMcp {
    engine: Engine,
    profile: ToolProfile,
    /// This client's subscriptions to plans, each watched until unsubscribed or the client goes.
    subscriptions: super::resources::Subscriptions,
}

const INSTRUCTIONS: &str = "orchestrator plans this project's work before any code is written, and keeps the plans. \
To plan something new: plan_start with the user's goal, put the returned questions to the user and send their answers \
with plan_answer (follow-ups come back for vague answers), then write a draft from the brief and send it with \
plan_submit (or leave the draft out for an offline skeleton), show the user the reviewed draft, and plan_approve it. \
plan_get with a session_id resumes a session. Plans are phases of tasks (each with the files it touches, its dependencies and its \
verification steps) and decisions with their rationale (plan_decide adds one), in versions that can be read, diffed \
and rolled back. Call plan_get without arguments to list the plans, then with a plan_id to read one. \
Agents' tool calls that the permission policy escalated wait in a queue: `approvals` lists them and answers one \
(approve, approve_always for the rest of the run, or deny with a reason) once the user has decided. \
`verify` runs the project's own checks (tests, lint, types, security) and reports findings by file and line. \
`run_start` runs one task of an approved plan with a supervised agent; follow it with `run_status`. \
`context_preview` shows the exact prompt a task's agent gets (decisions, earlier work, documentation, skills, within \
the token budget); `kb_search` searches the project's documentation; `skills` lists the skills.";

/// Arguments of `plan_start`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanStartArgs {
    /// The user's goal, in their words.
    pub goal: String,
}

/// One answer.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerArg {
    /// The question answered (its `id`).
    pub question_id: QuestionId,
    /// The answer: "yes" confirms a prefilled one, a number picks a suggestion.
    pub answer: String,
}

/// Arguments of `plan_answer`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanAnswerArgs {
    /// The session.
    pub session_id: SessionId,
    /// One or more answers (again, to revise one).
    #[serde(default)]
    pub answers: Vec<AnswerArg>,
    /// Ask the open questions through the client's forms (elicitation), if it declares them.
    #[serde(default)]
    pub ask_user: bool,
}

/// Arguments of `plan_submit`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanSubmitArgs {
    /// The session.
    pub session_id: SessionId,
    /// The draft plan; leave out for the offline skeleton.
    pub draft: Option<PlanContent>,
}

/// Arguments of `plan_approve`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanApproveArgs {
    /// The session whose reviewed draft is approved.
    pub session_id: SessionId,
    /// A short title (default: the goal's first sentence).
    pub title: Option<String>,
}

/// Arguments of `plan_decide`: give `plan_id` or `session_id`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanDecideArgs {
    /// An approved plan: the decision makes its next version.
    pub plan_id: Option<PlanId>,
    /// A session under review: the decision is added to its draft.
    pub session_id: Option<SessionId>,
    /// What was decided.
    pub what: String,
    /// Why.
    pub why: String,
    /// Options not taken, each with why.
    #[serde(default)]
    pub rejected_alternatives: Vec<RejectedAlternative>,
}

/// Result of `plan_decide` on a plan: its new version (on a session: the new draft, as
/// `plan_submit` reports it, under `draft`).
#[derive(Debug, Serialize)]
pub struct PlanDecideResult {
    /// The plan's new version.
    pub version: PlanVersion,
}

/// Arguments of `plan_abandon`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanAbandonArgs {
    /// The session to give up.
    pub session_id: SessionId,
}

/// Arguments of `plan_get`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanGetArgs {
    /// The plan; leave out to list.
    pub plan_id: Option<PlanId>,
    /// A planning session to resume.
    pub session_id: Option<SessionId>,
    /// A version (default: the current one).
    pub version: Option<u32>,
    /// Also list other projects' plans.
    #[serde(default)]
    pub all_projects: bool,
}

/// Result of `plan_get`: `plans` and `sessions` when listing, `plan` or `session` when reading one.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PlanGetResult {
    /// The plans, newest first (when no plan_id was given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plans: Option<Vec<Plan>>,
    /// The planning sessions not yet approved or abandoned, newest first (when listing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sessions: Option<Vec<PlanningSession>>,
    /// The session asked for: topics, next questions, draft, brief and the next step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<Box<SessionView>>,
    /// The plan read, with the version's content, task statuses and history.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<Box<PlanView>>,
}

/// Arguments of `plan_list`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanListArgs {
    /// Include every project's plans, not only this project's.
    #[serde(default)]
    pub all_projects: bool,
}

/// Result of `plan_list`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PlanListResult {
    /// The plans, newest first.
    pub plans: Vec<Plan>,
}

/// Arguments of `plan_diff`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanDiffArgs {
    /// The plan.
    pub plan_id: PlanId,
    /// The older version.
    pub from_version: u32,
    /// The newer version.
    pub to_version: u32,
}

/// Arguments of `plan_rollback`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanRollbackArgs {
    /// The plan.
    pub plan_id: PlanId,
    /// The version whose content becomes current again, as a new version.
    pub to_version: u32,
}

/// Appends the elicitation offer to a session still asking questions.
fn offer(view: &mut SessionView) {
    if view.session.status == SessionStatus::GatheringRequirements {
        view.next_step.push_str(elicit::OFFER);
    }
}

/// A structured tool result, as `Json` makes it, for tools that may also return input-required.
/// A session after a step (answers recorded, a draft submitted), as a tool result: what the
/// caller needs next, not what it has seen or can ask for — the project analysis, the research,
/// every topic's history, the brief once a draft is in (`plan_get` with the session's id shows it
/// all), and the draft only where it is the news.
fn step_view(view: &SessionView, with_draft: bool) -> Result<serde_json::Value, String> {
    let mut value = serde_json::to_value(view).map_err(|e| format!("encoding the result: {e}"))?;
    if let Some(map) = value.as_object_mut() {
        for seen in ["analysis", "research", "topics"] {
            map.remove(seen);
        }
        if with_draft {
            map.remove("brief");
        } else {
            map.remove("draft");
        }
    }
    Ok(value)
}

/// A submitted draft as a tool result: whether it is up for review, and the session with the
/// draft once (its problems, the order its tasks can run, the next step).
fn submitted(report: &SubmitReport) -> Result<serde_json::Value, String> {
    Ok(serde_json::json!({
        "accepted": report.accepted,
        "session": step_view(&report.session, true)?,
    }))
}

pub(super) fn structured_response<T: Serialize>(value: &T) -> Result<CallToolResponse, String> {
    let value = serde_json::to_value(value).map_err(|e| format!("encoding the result: {e}"))?;
    Ok(CallToolResult::structured(value).into())
}

impl OrchestratorMcp {
    /// Records answers, merging the report into `report`.
    async fn record(
        &self,
        id: SessionId,
        answers: Vec<(QuestionId, String)>,
        report: &mut Option<AnswerReport>,
    ) -> Result<(), String> {
        if answers.is_empty() {
            return Ok(());
        }
        let new = self
            .engine()
            .await?
            .answer_questions(id, answers)
            .await
            .map_err(tool_error)?;
        match report {
            Some(report) => {
                report.recorded.extend(new.recorded);
                report.follow_ups.extend(new.follow_ups);
                report.session = new.session;
            }
            None => *report = Some(new),
        }
        Ok(())
    }

    /// Asks the open questions one form at a time (follow-ups come right after a vague answer)
    /// until the interview is done or the user closes a form. Returns whether the user stopped.
    async fn ask_through_forms(
        &self,
        id: SessionId,
        ctx: &RequestContext<RoleServer>,
        report: &mut Option<AnswerReport>,
    ) -> Result<bool, String> {
        for _ in 0..elicit::MAX_FORMS {
            let view = match report {
                Some(report) => report.session.clone(),
                None => self
                    .engine()
                    .await?
                    .planning_session(id)
                    .await
                    .map_err(tool_error)?,
            };
            let Some(question) = view.next_questions.first() else {
                return Ok(false);
            };
            if view.session.status != SessionStatus::GatheringRequirements {
                return Ok(false);
            }
            let result = ctx
                .peer
                .create_elicitation(elicit::form(question)?)
                .await
                .map_err(|e| format!("the form could not be shown: {e}"))?;
            let result = serde_json::to_value(&result).unwrap_or_default();
            match elicit::accepted(&result) {
                Some(answer) => self.record(id, vec![(question.id, answer)], report).await?,
                None => return Ok(true),
            }
        }
        Ok(false)
    }
}

/// An engine error as a tool error: the model sees the message and can correct its call.
pub(super) fn tool_error(error: crate::Error) -> String {
    error.to_string()
}

#[tool_router(router = core_router)]
impl OrchestratorMcp {
    /// Starts planning a goal: analyses the project and returns the first questions. Put them to
    /// the user as asked; `prefilled` answers only need confirming.
    #[tool(
        name = "plan_start",
        annotations(
            title = "Start planning",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn plan_start(
        &self,
        Parameters(args): Parameters<PlanStartArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, String> {
        let mut view = self
            .engine()
            .await?
            .start_planning_session(&args.goal)
            .await
            .map_err(tool_error)?;
        if elicit::supported(&ctx).is_some() {
            offer(&mut view);
        }
        structured_response(&view)
    }

    /// Records the user's answers. Vague ones get a narrower follow-up; once every topic is
    /// answered the result carries the brief for the draft.
    #[tool(
        name = "plan_answer",
        annotations(
            title = "Answer planning questions",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn plan_answer(
        &self,
        Parameters(args): Parameters<PlanAnswerArgs>,
        ctx: RequestContext<RoleServer>,
        FormResponses(responses): FormResponses,
    ) -> Result<CallToolResponse, String> {
        let id = args.session_id;
        let how = elicit::supported(&ctx);
        if args.ask_user && how.is_none() {
            return Err("this client did not declare the elicitation capability: put the questions to the user yourself and send their answers in `answers`".into());
        }
        let mut report: Option<AnswerReport> = None;
        let mut stopped = false;
        match &responses {
            // A retry after a round of forms: record what the user filled in.
            Some(responses) => {
                let round = elicit::read_round(responses);
                stopped = round.stopped;
                self.record(id, round.answers, &mut report).await?;
            }
            None if args.answers.is_empty() && !args.ask_user => {
                return Err("no answers given: pass at least one {question_id, answer}, or `ask_user: true` to ask the user through forms".into());
            }
            None => {
                let answers = args
                    .answers
                    .into_iter()
                    .map(|a| (a.question_id, a.answer))
                    .collect();
                self.record(id, answers, &mut report).await?;
            }
        }
        if args.ask_user && !stopped {
            match how {
                Some(elicit::Elicitation::InputRequired) => {
                    let view = match &report {
                        Some(report) => report.session.clone(),
                        None => self
                            .engine()
                            .await?
                            .planning_session(id)
                            .await
                            .map_err(tool_error)?,
                    };
                    if view.session.status == SessionStatus::GatheringRequirements
                        && !view.next_questions.is_empty()
                    {
                        let forms = elicit::input_requests(&view.next_questions)?;
                        return Ok(InputRequiredResult::new(
                            Some(forms),
                            Some("plan_answer".into()),
                        )
                        .into());
                    }
                }
                Some(elicit::Elicitation::Requests) => {
                    stopped = self.ask_through_forms(id, &ctx, &mut report).await?;
                }
                None => {}
            }
        }
        let mut report = match report {
            Some(report) => report,
            None => AnswerReport {
                recorded: vec![],
                follow_ups: vec![],
                session: self
                    .engine()
                    .await?
                    .planning_session(id)
                    .await
                    .map_err(tool_error)?,
            },
        };
        if stopped {
            report.session.next_step.push_str(
                " The user closed a form: ask the remaining questions in the conversation instead.",
            );
        } else if how.is_some() {
            offer(&mut report.session);
        }
        structured_response(&serde_json::json!({
            "recorded": report.recorded,
            "follow_ups": report.follow_ups,
            "session": step_view(&report.session, false)?,
        }))
    }

    /// Submits a draft plan (without `draft`: an offline skeleton from the answers). Problems come
    /// back with where and how to fix them; a valid draft goes up for review.
    #[tool(
        name = "plan_submit",
        annotations(
            title = "Submit a draft plan",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn plan_submit(
        &self,
        Parameters(args): Parameters<PlanSubmitArgs>,
    ) -> Result<CallToolResponse, String> {
        let (draft, note) = match args.draft {
            Some(content) => (
                Some((DraftSource::McpClient, content)),
                "submitted by the MCP client",
            ),
            None => (None, "skeleton requested by the MCP client"),
        };
        let report = self
            .engine()
            .await?
            .submit_draft(args.session_id, draft, note)
            .await
            .map_err(tool_error)?;
        structured_response(&submitted(&report)?)
    }

    /// Approves a reviewed draft once the user agreed: version 1 of a new plan.
    #[tool(
        name = "plan_approve",
        annotations(
            title = "Approve a plan",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn plan_approve(
        &self,
        Parameters(args): Parameters<PlanApproveArgs>,
    ) -> Result<CallToolResponse, String> {
        let view = self
            .engine()
            .await?
            .approve_plan(args.session_id, args.title.as_deref())
            .await
            .map_err(tool_error)?;
        structured_response(&view)
    }

    /// Records a decision (what, why, rejected alternatives) on an approved plan, as its next
    /// version, or on a draft under review.
    #[tool(
        name = "plan_decide",
        annotations(
            title = "Record a decision",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn plan_decide(
        &self,
        Parameters(args): Parameters<PlanDecideArgs>,
    ) -> Result<CallToolResponse, String> {
        let target = match (args.plan_id, args.session_id) {
            (Some(plan), None) => DecisionTarget::Plan(plan),
            (None, Some(session)) => DecisionTarget::Session(session),
            _ => return Err("give exactly one of `plan_id` (an approved plan) or `session_id` (a draft under review)".into()),
        };
        let recorded = self
            .engine()
            .await?
            .add_decision(
                target,
                NewDecision {
                    what: args.what,
                    why: args.why,
                    rejected_alternatives: args.rejected_alternatives,
                },
            )
            .await
            .map_err(tool_error)?;
        match recorded {
            DecisionRecorded::Plan(version) => structured_response(&PlanDecideResult { version }),
            DecisionRecorded::Draft(report) => structured_response(&serde_json::json!({
                "draft": submitted(&report)?,
            })),
        }
    }

    /// Reads a plan (any version) with its tasks' statuses and history, or a planning session
    /// (`session_id`) to resume; without either, lists plans and open sessions.
    #[tool(
        name = "plan_get",
        annotations(
            title = "Read or list plans",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn plan_get(
        &self,
        Parameters(args): Parameters<PlanGetArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, String> {
        let nothing = PlanGetResult {
            plans: None,
            sessions: None,
            session: None,
            plan: None,
        };
        if let Some(id) = args.session_id {
            if args.plan_id.is_some() {
                return Err("give `plan_id` or `session_id`, not both".into());
            }
            let mut view = self
                .engine()
                .await?
                .planning_session(id)
                .await
                .map_err(tool_error)?;
            if elicit::supported(&ctx).is_some() {
                offer(&mut view);
            }
            return structured_response(&PlanGetResult {
                session: Some(Box::new(view)),
                ..nothing
            });
        }
        match args.plan_id {
            Some(id) => {
                let view = self
                    .engine()
                    .await?
                    .plan(id, args.version)
                    .await
                    .map_err(tool_error)?;
                structured_response(&PlanGetResult {
                    plan: Some(Box::new(view)),
                    ..nothing
                })
            }
            None if args.version.is_some() => Err(
                "`version` needs a `plan_id`: call plan_get without arguments to list the plans"
                    .into(),
            ),
            None => {
                let engine = self.engine().await?;
                let plans = engine
                    .list_plans(args.all_projects)
                    .await
                    .map_err(tool_error)?;
                let open = engine.open_planning_sessions().await.map_err(tool_error)?;
                structured_response(&PlanGetResult {
                    plans: Some(plans),
                    sessions: Some(open),
                    ..nothing
                })
            }
        }
    }
}

#[tool_router(router = extra_router)]
impl OrchestratorMcp {
    /// Gives a planning session up; it stays readable but can no longer change.
    #[tool(
        name = "plan_abandon",
        annotations(
            title = "Abandon a planning session",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn plan_abandon(
        &self,
        Parameters(args): Parameters<PlanAbandonArgs>,
    ) -> Result<CallToolResponse, String> {
        let session = self
            .engine()
            .await?
            .abandon_planning_session(args.session_id)
            .await
            .map_err(tool_error)?;
        structured_response(&session)
    }

    /// Lists the plans, newest first, with status and current version.
    #[tool(
        name = "plan_list",
        annotations(title = "List plans", read_only_hint = true, open_world_hint = false)
    )]
    async fn plan_list(
        &self,
        Parameters(args): Parameters<PlanListArgs>,
    ) -> Result<CallToolResponse, String> {
        let plans = self
            .engine()
            .await?
            .list_plans(args.all_projects)
            .await
            .map_err(tool_error)?;
        structured_response(&PlanListResult { plans })
    }

    /// Shows what changed between two versions of a plan: goal, criteria and constraints, and the
    /// phases, tasks and decisions added, removed or changed (field by field).
    #[tool(
        name = "plan_diff",
        annotations(
            title = "Diff two plan versions",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn plan_diff(
        &self,
        Parameters(args): Parameters<PlanDiffArgs>,
    ) -> Result<CallToolResponse, String> {
        let diff = self
            .engine()
            .await?
            .diff_plan(args.plan_id, args.from_version, args.to_version)
            .await
            .map_err(tool_error)?;
        structured_response(&diff)
    }

    /// Makes an earlier version's content current again by writing it as a new version; no
    /// version is deleted, so a rollback can itself be rolled back.
    #[tool(
        name = "plan_rollback",
        annotations(
            title = "Roll a plan back",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn plan_rollback(
        &self,
        Parameters(args): Parameters<PlanRollbackArgs>,
    ) -> Result<CallToolResponse, String> {
        let version = self
            .engine()
            .await?
            .rollback_plan(args.plan_id, args.to_version)
            .await
            .map_err(tool_error)?;
        structured_response(&version)
    }
}

impl OrchestratorMcp {
    /// The server for `orchestrator`, exposing the tools of `profile`.
    pub fn new(orchestrator: Orchestrator, profile: ToolProfile) -> Self {
        Self::with_engine(Engine::ready(orchestrator), profile)
    }

    /// The server for an engine that may still be opening.
    pub(crate) fn with_engine(engine: Engine, profile: ToolProfile) -> Self {
        Self {
            engine,
            profile,
            subscriptions: super::resources::Subscriptions::default(),
        }
    }

    /// The engine, once open (a tool error if it could not be).
    pub(super) async fn engine(&self) -> Result<&Orchestrator, String> {
        self.engine.get().await
    }

    /// The engine for requests that are not tool calls (a protocol error if it could not be
    /// opened).
    async fn engine_for_protocol(&self) -> Result<&Orchestrator, rmcp::ErrorData> {
        self.engine
            .get()
            .await
            .map_err(|e| rmcp::ErrorData::internal_error(e, None))
    }

    /// The tools of this server's profile.
    fn router(&self) -> &'static ToolRouter<Self> {
        router(self.profile)
    }
}

/// The tools of `profile`, built once per process (every HTTP session shares them) by the first
/// caller — a starting server asks in the background, beside the client's handshake.
pub(crate) fn router(profile: ToolProfile) -> &'static ToolRouter<OrchestratorMcp> {
    static CORE: OnceLock<ToolRouter<OrchestratorMcp>> = OnceLock::new();
    static ALL: OnceLock<ToolRouter<OrchestratorMcp>> = OnceLock::new();
    let cell = match profile {
        ToolProfile::Core => &CORE,
        ToolProfile::All => &ALL,
    };
    cell.get_or_init(|| build_router(profile))
}

fn build_router(profile: ToolProfile) -> ToolRouter<OrchestratorMcp> {
    let mut tool_router = OrchestratorMcp::core_router()
        + OrchestratorMcp::approvals_router()
        + OrchestratorMcp::verify_router()
        + OrchestratorMcp::runs_router()
        + OrchestratorMcp::knowledge_router();
    if profile == ToolProfile::All {
        tool_router += OrchestratorMcp::extra_router();
        tool_router += OrchestratorMcp::policy_router();
        tool_router += OrchestratorMcp::run_events_router();
        tool_router += OrchestratorMcp::kb_add_router();
        tool_router += OrchestratorMcp::locks_router();
    }
    // What clients list is lean (see `schema`): input schemas compacted, no output schemas
    // (results still carry structured content), annotations only where they differ from the
    // defaults.
    for route in tool_router.map.values_mut() {
        let tool = &mut route.attr;
        tool.input_schema = std::sync::Arc::new(super::schema::compact(&tool.input_schema));
        tool.output_schema = None;
        tool.annotations = tool.annotations.take().map(super::schema::lean_annotations);
        if let Some(description) = &tool.description {
            tool.description = Some(
                description
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .into(),
            );
        }
    }
    tool_router
}

/// The input schema of `tool` in `profile`, for the gate's argument check.
pub(crate) fn input_schema(
    profile: ToolProfile,
    tool: &str,
) -> Option<&'static Map<String, Value>> {
    router(profile).get(tool).map(|tool| &*tool.input_schema)
}

#[tool_handler(router = self.router())]
impl ServerHandler for OrchestratorMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .enable_resources_subscribe()
                .enable_prompts()
                .build(),
        )
        .with_server_info(Implementation::new(
            "orchestrator",
            env!("CARGO_PKG_VERSION"),
        ))
        .with_instructions(INSTRUCTIONS)
    }

    async fn list_resources(
        &self,
        _request: Option<rmcp::model::PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListResourcesResult, rmcp::ErrorData> {
        super::resources::list(self.engine_for_protocol().await?).await
    }

    async fn list_resource_templates(
        &self,
        _request: Option<rmcp::model::PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListResourceTemplatesResult, rmcp::ErrorData> {
        Ok(super::resources::templates())
    }

    async fn read_resource(
        &self,
        request: rmcp::model::ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ReadResourceResponse, rmcp::ErrorData> {
        Ok(
            super::resources::read(self.engine_for_protocol().await?, &request.uri)
                .await?
                .into(),
        )
    }

    async fn subscribe(
        &self,
        request: rmcp::model::SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), rmcp::ErrorData> {
        self.subscriptions
            .subscribe(
                self.engine_for_protocol().await?,
                &request.uri,
                context.peer,
            )
            .await
    }

    fn accepted_subscription_filter(
        &self,
        requested: &rmcp::model::SubscriptionFilter,
    ) -> Option<rmcp::model::SubscriptionFilter> {
        Some(self.subscriptions.accept(&self.engine, requested))
    }

    async fn listen(
        &self,
        subscription: rmcp::service::SubscriptionContext,
    ) -> Result<(), rmcp::ErrorData> {
        let engine = self.engine_for_protocol().await?;
        self.subscriptions.listen(engine, subscription).await
    }

    async fn unsubscribe(
        &self,
        request: rmcp::model::UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), rmcp::ErrorData> {
        self.subscriptions.unsubscribe(&request.uri);
        Ok(())
    }

    async fn list_prompts(
        &self,
        _request: Option<rmcp::model::PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListPromptsResult, rmcp::ErrorData> {
        Ok(super::resources::prompts())
    }

    async fn get_prompt(
        &self,
        request: rmcp::model::GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::GetPromptResponse, rmcp::ErrorData> {
        Ok(super::resources::prompt(&request.name, request.arguments.as_ref())?.into())
    }
}
