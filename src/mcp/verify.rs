//! `verify` over MCP: checks can take minutes, longer than a client waits for a tool call, so the
//! tool starts a background job, waits a bounded time, and returns either the report or the
//! job's progress; calling it again with the `job_id` keeps waiting.

use super::tools::structured_response;
use rmcp::model::CallToolResponse;
use std::time::Duration;

use rmcp::handler::server::wrapper::Parameters;
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::tools::{OrchestratorMcp, tool_error};
use crate::domain::RunId;
use crate::orchestrator::{JobStatus, VerifyJob, VerifyOptions};

/// The longest a call waits, well under the ~60 s clients allow a tool call.
const MAX_WAIT_SECS: u64 = 50;

/// Arguments of `verify`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyArgs {
    /// Keep waiting for this earlier `verify` job.
    pub job_id: Option<u64>,
    /// Verify this run's worktree against its base commit.
    pub run_id: Option<RunId>,
    /// Only these checks (presets such as pytest, ruff, mypy, cargo-test, or configured names);
    /// default: all configured or detected.
    pub checks: Option<Vec<String>>,
    /// Changed files: linters and type checkers that take files check only these.
    pub files: Option<Vec<String>>,
    /// Compare with this commit for tampering.
    pub base: Option<String>,
    /// Seconds to wait for the result (default 25, at most 50).
    pub wait_seconds: Option<u64>,
}

/// What `verify` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct VerifyResult {
    /// The job: its status, progress and, once done, the report.
    pub job: VerifyJob,
    /// What to do next.
    pub next_step: String,
}

#[tool_router(router = verify_router, vis = "pub(super)")]
impl OrchestratorMcp {
    /// Runs the project's checks (tests, lint, types, security), independent of any agent; reports
    /// findings by file and line. A long run returns a `job_id` to poll.
    #[tool(
        name = "verify",
        annotations(
            title = "Verify the project",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn verify(
        &self,
        Parameters(args): Parameters<VerifyArgs>,
    ) -> Result<CallToolResponse, String> {
        let wait = Duration::from_secs(args.wait_seconds.unwrap_or(25).min(MAX_WAIT_SECS));
        let engine = self.engine().await?;
        let id = match args.job_id {
            Some(id) => {
                if args.run_id.is_some()
                    || args.checks.is_some()
                    || args.files.is_some()
                    || args.base.is_some()
                {
                    return Err("with `job_id`, give only `wait_seconds`: the job's options were set when it started".into());
                }
                id
            }
            None => {
                let options = VerifyOptions {
                    run: args.run_id,
                    checks: args.checks,
                    files: args.files,
                    base: args.base,
                };
                engine.start_verification(options).await.id
            }
        };
        let job = engine
            .verification_job(id, wait)
            .await
            .map_err(tool_error)?;
        let next_step = match (job.status, job.report.as_ref()) {
            (JobStatus::Running, _) => format!(
                "Still running ({} of {} checks done{}). Call verify with job_id {} to keep waiting.",
                job.done,
                job.total,
                job.current
                    .as_deref()
                    .map(|c| format!(", now {c}"))
                    .unwrap_or_default(),
                job.id
            ),
            (JobStatus::Done, Some(report)) if report.passed => "Every check passed.".into(),
            (JobStatus::Done, _) => {
                "Some checks failed: fix the findings (file, line, rule) and verify again.".into()
            }
            (JobStatus::Failed, _) => format!(
                "The verification could not run: {}",
                job.error.as_deref().unwrap_or("unknown error")
            ),
        };
        structured_response(&(VerifyResult { job, next_step }))
    }
}
