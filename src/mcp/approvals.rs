//! The approvals queue and the permission policy over MCP: `approvals` (core) lists waiting
//! requests and answers one; `policy_check` and `policy_audit` (`--tools all`) explain verdicts
//! and show the audit log.

use super::tools::structured_response;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResponse;
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::tools::{OrchestratorMcp, tool_error};
use crate::domain::{ApprovalId, ApprovalRequest, ApprovalStatus, AuditEntry, RunId};
use crate::policy::{HumanAnswer, ToolRequest};
use crate::store::ApprovalFilter;

/// Arguments of `approvals`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ApprovalsArgs {
    /// The request to answer; leave out to list.
    pub id: Option<ApprovalId>,
    /// The user's answer to request `id`.
    pub decision: Option<HumanAnswer>,
    /// Why; required to deny (the agent is told it, so say what to do instead).
    pub reason: Option<String>,
    /// Who decided (default `mcp`).
    pub decided_by: Option<String>,
    /// List only this run's requests.
    pub run_id: Option<RunId>,
    /// Also list answered and expired requests.
    #[serde(default)]
    pub all: bool,
}

/// What `approvals` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ApprovalsResult {
    /// The request just answered, when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered: Option<ApprovalRequest>,
    /// The requests listed (after an answer: those still waiting).
    pub requests: Vec<ApprovalRequest>,
    /// What to do next.
    pub next_step: String,
}

/// Arguments of `policy_check`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyCheckArgs {
    /// A shell command to judge (as the `Bash` tool would run it).
    pub command: Option<String>,
    /// Another tool's name (`Edit`, `Read`, `WebFetch`, `mcp__server__tool`, …), with `input`.
    pub tool_name: Option<String>,
    /// That tool's input, as the agent would send it.
    pub input: Option<serde_json::Map<String, serde_json::Value>>,
    /// Judge as in this run (its worktree, task files and rules, rules granted for it).
    pub run_id: Option<RunId>,
    /// The task's declared files (globs) to judge edits against; default: the whole project.
    pub files: Option<Vec<String>>,
}

/// Arguments of `policy_audit`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyAuditArgs {
    /// Only this run's decisions.
    pub run_id: Option<RunId>,
    /// At most this many (default 50).
    pub limit: Option<u32>,
}

/// What `policy_audit` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PolicyAuditResult {
    /// Decisions, newest first.
    pub entries: Vec<AuditEntry>,
}

#[tool_router(router = approvals_router, vis = "pub(super)")]
impl OrchestratorMcp {
    /// Lists agents' tool calls waiting for a person, or answers one with the user's decision:
    /// approve, approve_always (same calls, rest of the run) or deny with a `reason` the agent
    /// reads.
    #[tool(
        name = "approvals",
        annotations(
            title = "Approvals queue",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn approvals(
        &self,
        Parameters(args): Parameters<ApprovalsArgs>,
    ) -> Result<CallToolResponse, String> {
        let answered = match (args.id, args.decision) {
            (Some(id), Some(decision)) => {
                let by = args.decided_by.as_deref().unwrap_or("mcp");
                Some(
                    self.engine()
                        .await?
                        .answer_approval(id, decision, by, args.reason.as_deref())
                        .await
                        .map_err(tool_error)?,
                )
            }
            (Some(_), None) => {
                return Err(
                    "to answer request `id`, give `decision`: approve, approve_always or deny"
                        .into(),
                );
            }
            (None, Some(_)) => {
                return Err("`decision` needs the `id` of the request it answers".into());
            }
            (None, None) => None,
        };
        let filter = ApprovalFilter {
            status: (!args.all || answered.is_some()).then_some(ApprovalStatus::Pending),
            run_id: args.run_id,
            limit: Some(100),
            project_id: None,
            plan_id: None,
        };
        let requests = self
            .engine()
            .await?
            .approvals(filter)
            .await
            .map_err(tool_error)?;
        let waiting = requests
            .iter()
            .filter(|r| r.status == ApprovalStatus::Pending)
            .count();
        let next_step = match (answered.is_some(), waiting) {
            (_, 0) => "Nothing is waiting for approval.".to_owned(),
            (_, n) => format!(
                "{n} request(s) waiting. Show each to the user (tool, input, reason, task) and call approvals with its id and \
                 the user's decision; never decide for them."
            ),
        };
        structured_response(
            &(ApprovalsResult {
                answered,
                requests,
                next_step,
            }),
        )
    }
}

#[tool_router(router = policy_router, vis = "pub(super)")]
impl OrchestratorMcp {
    /// Explains how the permission policy would answer a tool call: the verdict (allow,
    /// escalate, deny), the reason, and every simple command or file it found with the rule or
    /// default that decided each. Records nothing.
    #[tool(
        name = "policy_check",
        annotations(
            title = "Explain a permission verdict",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn policy_check(
        &self,
        Parameters(args): Parameters<PolicyCheckArgs>,
    ) -> Result<CallToolResponse, String> {
        let request = match (args.command, args.tool_name, args.input) {
            (Some(command), None, None) => ToolRequest::bash(&command),
            (None, Some(tool_name), Some(input)) => ToolRequest {
                tool_name,
                input: serde_json::Value::Object(input),
            },
            _ => {
                return Err(
                    "give either `command` (a shell command) or `tool_name` with `input`".into(),
                );
            }
        };
        let decision = self
            .engine()
            .await?
            .check_permission(request, args.run_id, args.files)
            .await
            .map_err(tool_error)?;
        structured_response(&decision)
    }

    /// The audit log of permission decisions, automatic and human, newest first.
    #[tool(
        name = "policy_audit",
        annotations(
            title = "Permission audit log",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn policy_audit(
        &self,
        Parameters(args): Parameters<PolicyAuditArgs>,
    ) -> Result<CallToolResponse, String> {
        let entries = self
            .engine()
            .await?
            .audit_log(args.run_id, args.limit.unwrap_or(50).min(1000))
            .await
            .map_err(tool_error)?;
        structured_response(&(PolicyAuditResult { entries }))
    }
}
