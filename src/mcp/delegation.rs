//! Locks over MCP: `locks` (all profile) lists the file locks and releases one with a reason.

use super::tools::structured_response;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::CallToolResponse;
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::tools::{OrchestratorMcp, tool_error};
use crate::domain::{LeaseId, LockLease};

/// Arguments of `locks`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LocksArgs {
    /// Every lease ever taken (newest first) instead of those in force.
    #[serde(default)]
    pub all: bool,
    /// Release this lease (give `reason` too).
    pub release: Option<LeaseId>,
    /// Why it is released: kept with the lease.
    pub reason: Option<String>,
}

/// What `locks` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct LocksResult {
    /// The leases (after the release, if one was asked for).
    pub locks: Vec<LockLease>,
    /// The lease released, if one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub released: Option<LockLease>,
}

#[tool_router(router = locks_router, vis = "pub(super)")]
impl OrchestratorMcp {
    /// The file locks runs hold (pattern, shared or exclusive, run, owner, expiry), or with
    /// `release` and a `reason`, releases one that is stuck. Releasing a lock a live run holds
    /// lets another run touch its files: do it only when the user says so.
    #[tool(
        name = "locks",
        annotations(
            title = "File locks",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = false,
            open_world_hint = false
        )
    )]
    async fn locks(
        &self,
        Parameters(args): Parameters<LocksArgs>,
    ) -> Result<CallToolResponse, String> {
        let released = match args.release {
            Some(id) => {
                let reason = args
                    .reason
                    .filter(|r| !crate::domain::blank(r))
                    .ok_or("give a `reason` with `release`: it is kept with the lease")?;
                Some(
                    self.engine()
                        .await?
                        .release_lock(id, &reason)
                        .await
                        .map_err(tool_error)?,
                )
            }
            None if args.reason.is_some() => {
                return Err("`reason` goes with `release` (the lease id)".into());
            }
            None => None,
        };
        let locks = self
            .engine()
            .await?
            .locks(args.all, 200)
            .await
            .map_err(tool_error)?;
        structured_response(&(LocksResult { locks, released }))
    }
}
