//! The web dashboard: every plan and run, and the approvals queue, from a browser.
//!
//! One axum router: the page (HTML, script and style embedded in the binary; no build step) and a
//! JSON API under `/api`, with server-sent events for a run's events, and for the overview, a plan
//! and the approvals queue (each sent again whenever it changes).
//! The page routes by the URL's fragment (`#/plans/3`), so the back button and reloads work.
//!
//! Security: bound to loopback unless told otherwise; any other address needs a token (given at
//! start, or made up and printed once), kept only as its SHA-256. With a token every API request
//! must carry it (`Authorization: Bearer …`, or `?token=` for event streams, which browsers
//! cannot give headers). The `Host` must be this machine's name on loopback (no DNS rebinding),
//! and a request that changes anything must carry `X-Orchestrator: 1` — which a page of another
//! site cannot send without a preflight this server never grants — and, when it has an `Origin`,
//! come from this server's own. Everything shown comes from the store, where secrets were
//! redacted before they were written.

mod snapshots;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use snapshots::Topic;
use tokio_util::sync::CancellationToken;

use crate::Orchestrator;
use crate::domain::{ApprovalId, ApprovalStatus, PlanId, RunId, RunStatus};
use crate::orchestrator::{PlanRunAction, RunAction};
use crate::policy::HumanAnswer;
use crate::store::ApprovalFilter;

const INDEX: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/app.css");

/// How to serve the dashboard.
#[derive(Debug, Clone)]
pub struct DashboardOptions {
    /// Address to bind (port 0 picks a free one).
    pub addr: SocketAddr,
    /// The token requests must carry; required (made up when not given) off loopback.
    pub token: Option<String>,
}

#[derive(Clone)]
struct AppState {
    engine: Orchestrator,
    /// The snapshot topics open tabs follow, each built once for all of them.
    hub: snapshots::Hub,
    token_hash: Option<[u8; 32]>,
    loopback: bool,
}

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Compares in time independent of where the first difference is.
fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Binds, prints the dashboard's URL on stderr (with the token, when there is one), and serves
/// until `shutdown`.
pub async fn serve_dashboard(
    engine: Orchestrator,
    options: DashboardOptions,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let loopback = options.addr.ip().is_loopback();
    let given = options.token.filter(|t| !t.trim().is_empty());
    let made_up = (given.is_none() && !loopback).then(|| {
        format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        )
    });
    let listener = tokio::net::TcpListener::bind(options.addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", options.addr))?;
    let local = listener.local_addr()?;
    let state = AppState {
        hub: snapshots::Hub::default(),
        engine,
        token_hash: given.as_deref().or(made_up.as_deref()).map(hash),
        loopback,
    };
    let app = router(state);
    // The one line scripts and tests wait for. A made-up token is shown once, here; a given one
    // never (the person knows it).
    match (&made_up, &given) {
        (Some(token), _) => eprintln!("orchestrator: dashboard at http://{local}/#token={token}"),
        (None, Some(_)) => eprintln!(
            "orchestrator: dashboard at http://{local}/ (open http://{local}/#token=YOUR-TOKEN)"
        ),
        (None, None) => eprintln!("orchestrator: dashboard at http://{local}/"),
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await?;
    Ok(())
}

fn router(state: AppState) -> axum::Router {
    let api = axum::Router::new()
        .route("/api/overview", get(overview))
        .route("/api/overview/stream", get(overview_stream))
        .route("/api/stream", get(tab_stream))
        .route("/api/plans/{id}", get(plan))
        .route("/api/plans/{id}/diff", get(plan_diff))
        .route("/api/plans/{id}/stream", get(plan_stream))
        .route("/api/plans/{id}/control", post(plan_control))
        .route("/api/runs/{id}", get(run))
        .route("/api/runs/{id}/events", get(run_events))
        .route("/api/runs/{id}/control", post(run_control))
        .route("/api/approvals", get(approvals))
        .route("/api/approvals/stream", get(approvals_stream))
        .route("/api/approvals/{id}", post(answer))
        .route("/api/locks", get(locks))
        .route("/api/knowledge", get(knowledge))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such API endpoint") });
    axum::Router::new()
        .route(
            "/",
            get(|| async { page(INDEX, "text/html; charset=utf-8") }),
        )
        .route(
            "/app.js",
            get(|| async { page(SCRIPT, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/app.css",
            get(|| async { page(STYLE, "text/css; charset=utf-8") }),
        )
        .merge(api)
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

fn page(body: &'static str, kind: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": message}))).into_response()
}

fn engine_error(e: &crate::Error) -> Response {
    let status = match e {
        crate::Error::NotFound { .. } => StatusCode::NOT_FOUND,
        crate::Error::Invalid(_) | crate::Error::IllegalTransition { .. } => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        crate::Error::Busy(_) => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error(status, &e.to_string())
}

/// Host, token and cross-site checks, before any handler.
async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let name = host.rsplit_once(':').map_or(host.as_str(), |(n, port)| {
        if port.chars().all(|c| c.is_ascii_digit()) {
            n
        } else {
            host.as_str()
        }
    });
    if state.loopback && !matches!(name, "localhost" | "127.0.0.1" | "[::1]") {
        return error(
            StatusCode::MISDIRECTED_REQUEST,
            "this dashboard answers only to localhost",
        );
    }
    let path = request.uri().path().to_owned();
    if let Some(expected) = &state.token_hash
        && path.starts_with("/api/")
    {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::to_owned);
        let query = request.uri().query().and_then(|q| {
            q.split('&')
                .find_map(|kv| kv.strip_prefix("token="))
                .map(str::to_owned)
        });
        let given = bearer.or(query);
        if !given.is_some_and(|t| same(&hash(&t), expected)) {
            return error(
                StatusCode::UNAUTHORIZED,
                "a token is needed: open the address printed when the dashboard started",
            );
        }
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        if headers.get("x-orchestrator").and_then(|h| h.to_str().ok()) != Some("1") {
            return error(
                StatusCode::FORBIDDEN,
                "changes come only from the dashboard's own page (X-Orchestrator header missing)",
            );
        }
        if let Some(origin) = headers.get(header::ORIGIN).and_then(|h| h.to_str().ok())
            && origin != format!("http://{host}")
        {
            return error(
                StatusCode::FORBIDDEN,
                "a request from another site is refused",
            );
        }
    }
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'self'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:"));
    response
}

/// Plans with their progress, and what waits for a person.
async fn overview_json(engine: &Orchestrator) -> crate::Result<Value> {
    let plans = engine.list_plans(false).await?;
    let mut rows = Vec::new();
    for plan in plans {
        let report = engine.plan_report(plan.id, Duration::ZERO, false).await?;
        rows.push(json!({"plan": plan, "tasks": report.tasks.len(), "completed": report.completed, "escalated": report.escalated, "blocked": report.blocked, "running": report.running, "cost_usd": report.cost_usd}));
    }
    let waiting = engine
        .approvals(ApprovalFilter {
            status: Some(ApprovalStatus::Pending),
            run_id: None,
            limit: Some(500),
            project_id: None,
            plan_id: None,
        })
        .await?
        .len();
    let active = engine
        .runs(vec![
            RunStatus::Delegated,
            RunStatus::InProgress,
            RunStatus::Verifying,
        ])
        .await?
        .len();
    Ok(
        json!({"project": engine.project(), "plans": rows, "approvals_waiting": waiting, "runs_active": active}),
    )
}

async fn overview(State(state): State<AppState>) -> Response {
    overview_json(&state.engine)
        .await
        .map_or_else(|e| engine_error(&e), |v| Json(v).into_response())
}

/// The overview again whenever it changes.
async fn overview_stream(State(state): State<AppState>) -> Response {
    snapshots(&state, "overview", Topic::Overview)
}

#[derive(Deserialize)]
struct VersionQuery {
    version: Option<u32>,
}

/// A plan as the page shows it: the version asked for (else the current one), its plan run's
/// state and report, and every run of its tasks.
async fn plan_json(
    engine: &Orchestrator,
    id: PlanId,
    version: Option<u32>,
) -> crate::Result<Value> {
    let view = engine.plan(id, version).await?;
    let status = engine.plan_run_status(id, Duration::ZERO).await?;
    let runs = engine.plan_runs(id).await?;
    // Which tasks wait for a person, and on which request.
    let waiting: Vec<Value> = engine
        .approvals(ApprovalFilter {
            status: Some(ApprovalStatus::Pending),
            run_id: None,
            limit: Some(200),
            project_id: None,
            plan_id: Some(id),
        })
        .await?
        .into_iter()
        .map(|a| json!({"task": a.task_key, "run_id": a.run_id, "approval_id": a.id}))
        .collect();
    Ok(json!({"view": view, "run": status, "runs": runs, "waiting": waiting}))
}

async fn plan(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<VersionQuery>,
) -> Response {
    plan_json(&state.engine, PlanId(id), q.version)
        .await
        .map_or_else(|e| engine_error(&e), |v| Json(v).into_response())
}

/// The plan again whenever it changes (task states, runs, a new version).
async fn plan_stream(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<VersionQuery>,
) -> Response {
    let id = PlanId(id);
    if let Err(e) = plan_json(&state.engine, id, q.version).await {
        return engine_error(&e);
    }
    snapshots(&state, "plan", Topic::Plan(id, q.version))
}

#[derive(Deserialize)]
struct DiffQuery {
    from: u32,
    to: u32,
}

async fn plan_diff(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<DiffQuery>,
) -> Response {
    match state.engine.diff_plan(PlanId(id), q.from, q.to).await {
        Ok(diff) => Json(diff).into_response(),
        Err(e) => engine_error(&e),
    }
}

async fn run(State(state): State<AppState>, Path(id): Path<i64>) -> Response {
    let engine = &state.engine;
    let result: crate::Result<Value> = async {
        let view = engine.run_view(RunId(id)).await?;
        let reports = engine.run_reports(RunId(id)).await?;
        Ok(json!({"view": view, "reports": reports}))
    }
    .await;
    result.map_or_else(|e| engine_error(&e), |v| Json(v).into_response())
}

#[derive(Deserialize)]
struct AfterQuery {
    #[serde(default)]
    after: u64,
}

/// A run's events as they are logged: those after `after` (or after the `Last-Event-ID` a
/// reconnecting browser sends) at once, then each new one; an `end` event, and the stream
/// closes, once the run has ended or waits for a person (escalated) and nothing is left.
async fn run_events(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<AfterQuery>,
    headers: axum::http::HeaderMap,
) -> Response {
    let resumed = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let engine = state.engine.clone();
    let id = RunId(id);
    if let Err(e) = engine.own_run(id).await {
        return engine_error(&e);
    }
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Event, Infallible>>(64);
    spawn_run_events(engine, id, q.after.max(resumed), sender);
    Sse::new(Events(receiver))
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// Sends a run's events after `after` to `sender` as `run_event`s, then each new one, then
/// `end` once the run is completed, cancelled or escalated and nothing is left; stops when the
/// receiver goes.
fn spawn_run_events(
    engine: Orchestrator,
    id: RunId,
    after: u64,
    sender: tokio::sync::mpsc::Sender<Result<Event, Infallible>>,
) {
    tokio::spawn(async move {
        let mut after = after;
        loop {
            let events = match engine.run_events(id, after, 200).await {
                Ok(events) => events,
                Err(_) => return,
            };
            for event in &events {
                after = event.seq;
                // With the line a person reads, so the page never restates the event kinds.
                let mut data = serde_json::to_value(event).unwrap_or_default();
                data["summary"] = event.summary().into();
                let data = data.to_string();
                if sender
                    .send(Ok(Event::default()
                        .event("run_event")
                        .id(event.seq.to_string())
                        .data(data)))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            if events.len() == 200 {
                continue;
            }
            match engine.watch_run(id, after, Duration::from_secs(15)).await {
                // Escalated counts as an end: nothing happens until a person acts, and the page
                // opens the stream again when they do.
                Ok(view)
                    if matches!(
                        view.run.status,
                        RunStatus::Completed | RunStatus::Cancelled | RunStatus::Escalated
                    ) && view.recent_events.last().is_none_or(|e| e.seq <= after) =>
                {
                    let _ = sender
                        .send(Ok(Event::default()
                            .event("end")
                            .data(view.run.status.to_string())))
                        .await;
                    return;
                }
                Ok(_) => {}
                Err(_) => return,
            }
            if sender.is_closed() {
                return;
            }
        }
    });
}

/// A channel's receiving end as a stream of server-sent events.
struct Events(tokio::sync::mpsc::Receiver<Result<Event, Infallible>>);

impl futures_core::Stream for Events {
    type Item = Result<Event, Infallible>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

#[derive(Deserialize)]
struct ApprovalsQuery {
    #[serde(default)]
    all: bool,
}

async fn approvals(State(state): State<AppState>, Query(q): Query<ApprovalsQuery>) -> Response {
    let filter = ApprovalFilter {
        status: (!q.all).then_some(ApprovalStatus::Pending),
        run_id: None,
        limit: Some(200),
        project_id: None,
        plan_id: None,
    };
    match state.engine.approvals(filter).await {
        Ok(list) => Json(list).into_response(),
        Err(e) => engine_error(&e),
    }
}

/// The waiting requests, sent again whenever they change (answers from anywhere, new requests).
async fn approvals_stream(State(state): State<AppState>) -> Response {
    snapshots(&state, "approvals", Topic::Approvals)
}

async fn waiting_json(engine: Orchestrator) -> crate::Result<Value> {
    let filter = ApprovalFilter {
        status: Some(ApprovalStatus::Pending),
        run_id: None,
        limit: Some(200),
        project_id: None,
        plan_id: None,
    };
    Ok(json!(engine.approvals(filter).await?))
}

/// What a page follows, as `/api/stream` takes it.
#[derive(Deserialize)]
struct TabQuery {
    #[serde(default)]
    overview: bool,
    #[serde(default)]
    approvals: bool,
    plan: Option<i64>,
    version: Option<u32>,
    run: Option<i64>,
    #[serde(default)]
    after: u64,
}

/// One stream per browser tab, carrying every topic its page follows — `approvals`,
/// `overview`, a `plan` (at a `version`), a `run`'s events (after `after`, or the reconnecting
/// browser's `Last-Event-ID`) — each as its own named events, as the single-topic streams send
/// them. Browsers allow six connections to a host: two or three streams a page used to hang a
/// third tab's clicks and keep a fourth from loading.
async fn tab_stream(
    State(state): State<AppState>,
    Query(q): Query<TabQuery>,
    headers: axum::http::HeaderMap,
) -> Response {
    let engine = state.engine.clone();
    if let Some(id) = q.plan
        && let Err(e) = plan_json(&engine, PlanId(id), q.version).await
    {
        return engine_error(&e);
    }
    if let Some(id) = q.run
        && let Err(e) = engine.own_run(RunId(id)).await
    {
        return engine_error(&e);
    }
    let resumed = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Event, Infallible>>(64);
    if q.approvals {
        spawn_follow(&state, "approvals", Topic::Approvals, sender.clone());
    }
    if q.overview {
        spawn_follow(&state, "overview", Topic::Overview, sender.clone());
    }
    if let Some(id) = q.plan {
        spawn_follow(
            &state,
            "plan",
            Topic::Plan(PlanId(id), q.version),
            sender.clone(),
        );
    }
    if let Some(id) = q.run {
        spawn_run_events(
            engine.clone(),
            RunId(id),
            q.after.max(resumed),
            sender.clone(),
        );
    }
    drop(sender);
    Sse::new(Events(receiver))
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// An event stream of `name` events: the topic's JSON whenever it changes (see
/// [`snapshots::Hub`]). Ends when the client goes or the topic can no longer be built.
fn snapshots(state: &AppState, name: &'static str, topic: Topic) -> Response {
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Event, Infallible>>(8);
    spawn_follow(state, name, topic, sender);
    Sse::new(Events(receiver))
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// Sends `topic`'s JSON to `sender` as `name` events, the latest first, then each new one (one
/// topic of a tab's stream, or a stream alone).
fn spawn_follow(
    state: &AppState,
    name: &'static str,
    topic: Topic,
    sender: tokio::sync::mpsc::Sender<Result<Event, Infallible>>,
) {
    let mut latest = state.hub.follow(&state.engine, topic);
    tokio::spawn(async move {
        loop {
            let data = latest.borrow_and_update().clone();
            if let Some(data) = data
                && sender
                    .send(Ok(Event::default().event(name).data(&*data)))
                    .await
                    .is_err()
            {
                return;
            }
            tokio::select! {
                changed = latest.changed() => if changed.is_err() { return },
                () = sender.closed() => return,
            }
        }
    });
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerBody {
    /// `approve`, `approve_always` or `deny`.
    decision: String,
    reason: Option<String>,
    by: Option<String>,
}

async fn answer(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Response {
    let body: AnswerBody = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!(
                    "the body must be {{\"decision\": \"approve\"|\"approve_always\"|\"deny\", \"reason\": \"…\"}}: {e}"
                ),
            );
        }
    };
    let answer = match body.decision.as_str() {
        "approve" => HumanAnswer::Approve,
        "approve_always" => HumanAnswer::ApproveAlways,
        "deny" => HumanAnswer::Deny,
        other => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("unknown decision `{other}`: approve, approve_always or deny"),
            );
        }
    };
    let reason = body.reason.filter(|r| !crate::domain::blank(r));
    if answer == HumanAnswer::Deny && reason.is_none() {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "say why it is denied: the agent reads the reason",
        );
    }
    // Who answered, as the page says it (a name the person gave), marked as from the dashboard.
    let by = body.by.filter(|b| !crate::domain::blank(b)).map_or_else(
        || "dashboard".to_owned(),
        |name| {
            format!(
                "{} (dashboard)",
                name.trim().chars().take(80).collect::<String>()
            )
        },
    );
    match state
        .engine
        .answer_approval(ApprovalId(id), answer, &by, reason.as_deref())
        .await
    {
        Ok(request) => Json(request).into_response(),
        Err(e) => engine_error(&e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ControlBody {
    action: String,
}

/// Reads a `{"action": …}` body, the action one of `allowed`.
fn control_action(body: &[u8], allowed: &[&'static str]) -> Result<&'static str, String> {
    let shape = || format!("the body must be {{\"action\": {}}}", allowed.join("|"));
    let body: ControlBody =
        serde_json::from_slice(body).map_err(|e| format!("{}: {e}", shape()))?;
    allowed
        .iter()
        .find(|a| **a == body.action)
        .copied()
        .ok_or_else(|| format!("unknown action `{}`: {}", body.action, shape()))
}

/// A person's decision about one run: retry or resume an escalated run (supervised by this
/// process from then on), or cancel a run.
async fn run_control(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Response {
    let action = match control_action(&body, &["retry", "resume", "cancel"]) {
        Ok("retry") => RunAction::Retry,
        Ok("resume") => RunAction::Resume,
        Ok(_) => RunAction::Cancel,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    let engine = &state.engine;
    engine
        .control_run_in_background(RunId(id), action)
        .await
        .map_or_else(|e| engine_error(&e), |run| Json(run).into_response())
}

/// Starts, pauses, resumes or cancels a plan run in this process.
async fn plan_control(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Response {
    let engine = &state.engine;
    let id = PlanId(id);
    if let Err(e) = engine.project_plan(id).await {
        return engine_error(&e);
    }
    let result = match control_action(&body, &["start", "pause", "resume", "cancel"]) {
        Ok("start" | "resume") => engine.start_plan_run(id).await,
        Ok("pause") => engine.control_plan_run(id, PlanRunAction::Pause).await,
        Ok(_) => engine.control_plan_run(id, PlanRunAction::Cancel).await,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    result.map_or_else(|e| engine_error(&e), |v| Json(v).into_response())
}

async fn locks(State(state): State<AppState>) -> Response {
    match state.engine.locks(false, 500).await {
        Ok(list) => Json(list).into_response(),
        Err(e) => engine_error(&e),
    }
}

async fn knowledge(State(state): State<AppState>) -> Response {
    let engine = &state.engine;
    match engine.kb_sources().await {
        Ok(sources) => {
            let skills = engine.skills();
            let brief: Vec<Value> = skills
                .skills
                .iter()
                .map(|s| json!({"name": s.name, "description": s.description, "origin": s.origin}))
                .collect();
            Json(json!({"sources": sources, "skills": brief, "problems": skills.problems}))
                .into_response()
        }
        Err(e) => engine_error(&e),
    }
}

/// The engine's web side, for tests and library users: the router over an engine, on loopback
/// rules, with an optional token.
pub fn app(engine: Orchestrator, token: Option<&str>) -> axum::Router {
    router(AppState {
        hub: snapshots::Hub::default(),
        engine,
        token_hash: token.map(hash),
        loopback: true,
    })
}
