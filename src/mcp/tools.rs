//! The tools, in two routers: `core` (DESIGN.md's default profile) and the fine-grained ones that
//! `--tools all` adds.

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{Implementation, ServerCapabilities, ServerConfig};
use rmcp::{Json, ServerHandler, tool, tool_handler, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Orchestrator;
use crate::config::ToolProfile;
use crate::domain::{Plan, PlanDiff, PlanId, PlanVersion, PlanView};

/// The MCP face of an [`Orchestrator`].
#[derive(Debug, Clone)]
pub struct OrchestratorMcp {
    orchestrator: Orchestrator,
    tool_router: ToolRouter<Self>,
}

const INSTRUCTIONS: &str = "orchestrator keeps this project's plans: phases of tasks (each with the files it touches, \
its dependencies and its verification steps) and decisions with their rationale, in versions that can be read, \
diffed and rolled back. Call plan_get without arguments to list the plans, then with a plan_id to read one.";

/// Arguments of `plan_get`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanGetArgs {
    /// The plan to read. Leave out to list the plans instead.
    pub plan_id: Option<PlanId>,
    /// The version to read (from 1). Leave out for the current version.
    pub version: Option<u32>,
    /// When listing: include every project's plans, not only this project's.
    #[serde(default)]
    pub all_projects: bool,
}

/// Result of `plan_get`: `plans` when listing, `plan` when reading one.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PlanGetResult {
    /// The plans, newest first (when no plan_id was given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plans: Option<Vec<Plan>>,
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

/// An engine error as a tool error: the model sees the message and can correct its call.
fn tool_error(error: crate::Error) -> String {
    error.to_string()
}

#[tool_router(router = core_router)]
impl OrchestratorMcp {
    /// Reads one plan (any version) with its phases, tasks, decisions, task statuses and version
    /// history; without plan_id, lists the plans.
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
    ) -> Result<Json<PlanGetResult>, String> {
        match args.plan_id {
            Some(id) => {
                let view = self
                    .orchestrator
                    .plan(id, args.version)
                    .await
                    .map_err(tool_error)?;
                Ok(Json(PlanGetResult {
                    plans: None,
                    plan: Some(Box::new(view)),
                }))
            }
            None if args.version.is_some() => Err(
                "`version` needs a `plan_id`: call plan_get without arguments to list the plans"
                    .into(),
            ),
            None => {
                let plans = self
                    .orchestrator
                    .list_plans(args.all_projects)
                    .await
                    .map_err(tool_error)?;
                Ok(Json(PlanGetResult {
                    plans: Some(plans),
                    plan: None,
                }))
            }
        }
    }
}

#[tool_router(router = extra_router)]
impl OrchestratorMcp {
    /// Lists the plans, newest first, with status and current version.
    #[tool(
        name = "plan_list",
        annotations(title = "List plans", read_only_hint = true, open_world_hint = false)
    )]
    async fn plan_list(
        &self,
        Parameters(args): Parameters<PlanListArgs>,
    ) -> Result<Json<PlanListResult>, String> {
        let plans = self
            .orchestrator
            .list_plans(args.all_projects)
            .await
            .map_err(tool_error)?;
        Ok(Json(PlanListResult { plans }))
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
    ) -> Result<Json<PlanDiff>, String> {
        let diff = self
            .orchestrator
            .diff_plan(args.plan_id, args.from_version, args.to_version)
            .await
            .map_err(tool_error)?;
        Ok(Json(diff))
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
    ) -> Result<Json<PlanVersion>, String> {
        let version = self
            .orchestrator
            .rollback_plan(args.plan_id, args.to_version)
            .await
            .map_err(tool_error)?;
        Ok(Json(version))
    }
}

impl OrchestratorMcp {
    /// The server for `orchestrator`, exposing the tools of `profile`.
    pub fn new(orchestrator: Orchestrator, profile: ToolProfile) -> Self {
        let mut tool_router = Self::core_router();
        if profile == ToolProfile::All {
            tool_router += Self::extra_router();
        }
        Self {
            orchestrator,
            tool_router,
        }
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for OrchestratorMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(
                "orchestrator",
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(INSTRUCTIONS)
    }
}
