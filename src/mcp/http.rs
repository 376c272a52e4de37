//! Streamable HTTP transport: the MCP endpoint at `/mcp`, bound to loopback unless told otherwise.

use std::net::SocketAddr;

use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use super::OrchestratorMcp;
use crate::Orchestrator;
use crate::config::ToolProfile;

/// How to serve over HTTP.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Address to bind (port 0 picks a free one).
    pub addr: SocketAddr,
    /// Permit a non-loopback address.
    pub allow_remote: bool,
    /// Which tools to expose.
    pub profile: ToolProfile,
}

/// A POST to /mcp whose body the gate refuses is answered with its JSON-RPC error (HTTP 400
/// for what is not a request at all); the rest goes on to the SDK unchanged.
async fn json_rpc_gate(
    profile: crate::config::ToolProfile,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    if request.method() != axum::http::Method::POST {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 16 * 1024 * 1024).await else {
        return (
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            axum::Json(serde_json::json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32600, "message": "Invalid Request: the body is too large"}})),
        )
            .into_response();
    };
    match super::gate::check(&String::from_utf8_lossy(&bytes), |tool| {
        super::tools::input_schema(profile, tool)
    }) {
        super::gate::Verdict::Pass => {
            next.run(axum::extract::Request::from_parts(parts, bytes.into()))
                .await
        }
        super::gate::Verdict::Answer(answer) => {
            let status = match answer["error"]["code"].as_i64() {
                Some(-32602) | None => axum::http::StatusCode::OK,
                _ => axum::http::StatusCode::BAD_REQUEST,
            };
            (status, axum::Json(answer)).into_response()
        }
    }
}

/// Binds, prints the endpoint's URL on stderr, and serves until `shutdown` is cancelled.
pub async fn serve_http(
    orchestrator: Orchestrator,
    options: HttpOptions,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let ip = options.addr.ip();
    if !ip.is_loopback() && !options.allow_remote {
        anyhow::bail!(
            "refusing to serve on {ip}: it is not a loopback address and the server has no authentication yet; \
             use 127.0.0.1, or pass --allow-remote if every host that can reach it is trusted"
        );
    }
    let listener = tokio::net::TcpListener::bind(options.addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", options.addr))?;
    let local = listener.local_addr()?;

    // Host checks stop DNS rebinding; Origin checks stop web pages in a browser from calling us.
    // Both accept only this machine's names unless remote access was asked for.
    let mut config = StreamableHttpServerConfig::default()
        .with_cancellation_token(shutdown.child_token())
        .with_allowed_origins(["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"]);
    if options.allow_remote {
        config = config.disable_allowed_hosts().disable_allowed_origins();
        tracing::warn!(%local, "serving MCP to other hosts without authentication");
    }
    let profile = options.profile;
    tokio::spawn(super::start_in_background(orchestrator.clone()));
    // Built once for every session, before the first one asks.
    tokio::task::spawn_blocking(move || super::tools::router(profile));
    let engine = orchestrator.clone();
    let service = StreamableHttpService::new(
        move || Ok(OrchestratorMcp::new(orchestrator.clone(), profile)),
        LocalSessionManager::default().into(),
        config,
    );
    let router =
        axum::Router::new()
            .nest_service("/mcp", service)
            .layer(axum::middleware::from_fn(move |request, next| {
                json_rpc_gate(profile, request, next)
            }));
    // The one line scripts and tests wait for: where the server listens.
    eprintln!("orchestrator: MCP over HTTP at http://{local}/mcp");
    tracing::info!(%local, "serving MCP over streamable HTTP");
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await?;
    engine.shutdown().await;
    Ok(())
}
