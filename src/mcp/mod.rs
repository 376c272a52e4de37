//! The MCP server: the engine's tools for Claude Code and any MCP client, over stdio or streamable
//! HTTP.
//!
//! Thin by rule: each tool parses its arguments, calls one [`Orchestrator`] method and returns its
//! result as structured content. Errors a model can fix (an unknown id, an illegal change) come
//! back as tool results with `isError`, worded so the model knows what to send instead; protocol
//! errors (an unknown tool, a request before `initialize`) are JSON-RPC errors from the SDK.
//! Logs go to stderr only: stdout belongs to the protocol.

mod approvals;
mod delegation;
mod elicit;
mod http;
mod knowledge;
mod runs;
mod tools;
mod verify;

pub use http::{HttpOptions, serve_http};
pub use tools::OrchestratorMcp;

use rmcp::ServiceExt;

use crate::Orchestrator;
use crate::config::ToolProfile;

/// Serves MCP on stdin/stdout until the client closes the connection.
pub async fn serve_stdio(orchestrator: Orchestrator, profile: ToolProfile) -> anyhow::Result<()> {
    recover(&orchestrator).await;
    let server = OrchestratorMcp::new(orchestrator.clone(), profile);
    let running = server.serve(rmcp::transport::stdio()).await?;
    running.waiting().await?;
    orchestrator.shutdown().await;
    Ok(())
}

/// Supervises again the runs a dead orchestrator left in flight.
pub(crate) async fn recover(orchestrator: &Orchestrator) {
    match orchestrator.recover_runs(orchestrator.stop_token()).await {
        Ok(runs) if !runs.is_empty() => {
            tracing::info!(runs = ?runs, "recovering runs left in flight")
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "could not look for runs to recover"),
    }
}
