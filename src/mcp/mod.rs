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
mod engine;
mod gate;
mod http;
mod knowledge;
mod resources;
mod runs;
mod schema;
mod tools;
mod verify;

pub use http::{HttpOptions, serve_http};
pub use tools::OrchestratorMcp;

use rmcp::ServiceExt;

use crate::Orchestrator;
use crate::config::ToolProfile;
use engine::Engine;
use tokio_util::sync::CancellationToken;

/// Serves MCP on stdin/stdout until the client closes the connection.
pub async fn serve_stdio(orchestrator: Orchestrator, profile: ToolProfile) -> anyhow::Result<()> {
    tokio::spawn(start_in_background(orchestrator.clone()));
    serve_engine_stdio(
        Engine::ready(orchestrator),
        profile,
        CancellationToken::new(),
    )
    .await
}

/// Serves MCP on stdin/stdout with the engine `open` makes.
///
/// A client starts a server per session and waits for its answer to `initialize`, which needs
/// neither the store nor the tool list; on two cores, building them beside the handshake only
/// slows it. So both start once the server has answered its first message (the client reads
/// that answer while they build): every request that needs them comes after it.
pub async fn serve_stdio_opening(
    open: impl Future<Output = crate::Result<Orchestrator>> + Send + 'static,
    profile: ToolProfile,
) -> anyhow::Result<()> {
    let answered = CancellationToken::new();
    let after = answered.clone();
    let engine = Engine::opening(
        async move {
            after.cancelled().await;
            open.await
        },
        start_in_background,
    );
    serve_engine_stdio(engine, profile, answered).await
}

/// Serves `engine` on stdin/stdout; `answered` is cancelled once the server has written its
/// first message (and when the client has gone).
async fn serve_engine_stdio(
    engine: Engine,
    profile: ToolProfile,
    answered: CancellationToken,
) -> anyhow::Result<()> {
    let after = answered.clone();
    tokio::spawn(async move {
        after.cancelled().await;
        let _ = tokio::task::spawn_blocking(move || tools::router(profile)).await;
    });
    let server = OrchestratorMcp::with_engine(engine.clone(), profile);
    // The SDK reads what the gate lets through; both write whole lines to stdout.
    let (ours, sdk) = tokio::io::duplex(1 << 20);
    let (sdk_read, sdk_write) = tokio::io::split(sdk);
    let stdout = std::sync::Arc::new(tokio::sync::Mutex::new(tokio::io::stdout()));
    let (from_sdk, to_sdk) = tokio::io::split(ours);
    let gate = tokio::spawn(stdio_gate(to_sdk, stdout.clone(), profile));
    let out = tokio::spawn(stdio_out(from_sdk, stdout, answered.clone()));
    let running = server.serve((sdk_read, sdk_write)).await?;
    running.waiting().await?;
    gate.abort();
    let _ = out.await;
    answered.cancel();
    if let Ok(orchestrator) = engine.get().await {
        orchestrator.shutdown().await;
    }
    Ok(())
}

type SharedStdout = std::sync::Arc<tokio::sync::Mutex<tokio::io::Stdout>>;

/// Reads the client's lines from stdin: what the gate passes goes on to the SDK, what it does
/// not is answered here. The end of stdin ends the SDK's input.
async fn stdio_gate(
    mut to_sdk: tokio::io::WriteHalf<tokio::io::DuplexStream>,
    stdout: SharedStdout,
    profile: ToolProfile,
) {
    use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _};
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if line.trim().is_empty() {
            continue;
        }
        match gate::check(&line, |tool| tools::input_schema(profile, tool)) {
            gate::Verdict::Pass => {
                if to_sdk
                    .write_all(format!("{line}\n").as_bytes())
                    .await
                    .is_err()
                {
                    break;
                }
            }
            gate::Verdict::Answer(answer) => {
                let mut out = stdout.lock().await;
                let _ = out.write_all(format!("{answer}\n").as_bytes()).await;
                let _ = out.flush().await;
            }
        }
    }
    let _ = to_sdk.shutdown().await;
}

/// Copies the SDK's messages to stdout, a line at a time; `answered` is cancelled after the first.
async fn stdio_out(
    from_sdk: tokio::io::ReadHalf<tokio::io::DuplexStream>,
    stdout: SharedStdout,
    answered: CancellationToken,
) {
    use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _};
    let mut lines = tokio::io::BufReader::new(from_sdk).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let mut out = stdout.lock().await;
        if out.write_all(format!("{line}\n").as_bytes()).await.is_err() {
            break;
        }
        let _ = out.flush().await;
        drop(out);
        answered.cancel();
    }
}

/// What a starting server does without keeping its client waiting: supervises again the runs a
/// dead orchestrator left in flight, then builds what the first tool calls would otherwise pay
/// for (the tokenizer's tables, the store's pages).
pub(crate) async fn start_in_background(orchestrator: Orchestrator) {
    recover(&orchestrator).await;
    orchestrator.warm_up().await;
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
