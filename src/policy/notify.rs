//! Telling a person that a request waits: a configured command (the request as JSON on its
//! stdin) and/or a webhook (the request as a JSON POST). A failing hook is logged and reported,
//! never fatal: the request waits in the queue either way.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;

use crate::config::PolicyConfig;
use crate::domain::ApprovalRequest;

/// How long a hook may take before it is given up.
const HOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// Calls the configured hooks for a waiting request; returns what went wrong, if anything.
pub async fn notify(config: &PolicyConfig, request: &ApprovalRequest) -> Vec<String> {
    let body = match serde_json::to_vec(
        &serde_json::json!({ "event": "approval_waiting", "request": request }),
    ) {
        Ok(body) => body,
        Err(e) => return vec![format!("cannot encode the request: {e}")],
    };
    let vars = [
        ("ORCHESTRATOR_APPROVAL_ID", request.id.to_string()),
        ("ORCHESTRATOR_APPROVAL_TOOL", request.tool_name.clone()),
        ("ORCHESTRATOR_APPROVAL_REASON", request.reason.clone()),
        ("ORCHESTRATOR_RUN_ID", request.run_id.to_string()),
    ];
    call_hooks(config, &body, &vars).await
}

/// Calls the configured hooks for another event (`run_escalated`, …) with its payload.
pub async fn notify_event(
    config: &PolicyConfig,
    event: &str,
    payload: &serde_json::Value,
) -> Vec<String> {
    let mut body = serde_json::json!({ "event": event });
    if let (Some(object), Some(extra)) = (body.as_object_mut(), payload.as_object()) {
        object.extend(extra.clone());
    }
    let vars = [("ORCHESTRATOR_EVENT", event.to_owned())];
    call_hooks(config, body.to_string().as_bytes(), &vars).await
}

async fn call_hooks(config: &PolicyConfig, body: &[u8], vars: &[(&str, String)]) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some((program, args)) = config.notify_command.split_first()
        && let Err(e) = run_command(program, args, vars, body).await
    {
        tracing::warn!(program = %program, error = %e, "notify_command failed");
        problems.push(format!("notify_command `{program}`: {e}"));
    }
    if let Some(url) = &config.notify_webhook
        && let Err(e) = post(url, body.to_vec()).await
    {
        tracing::warn!(error = %e, "notify_webhook failed");
        problems.push(format!("notify_webhook: {e}"));
    }
    problems
}

async fn run_command(
    program: &str,
    args: &[String],
    vars: &[(&str, String)],
    body: &[u8],
) -> Result<(), String> {
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
        .env_remove("ANTHROPIC_API_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start it: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that ignores its stdin may close it early; that is not a failure.
        let _ = stdin.write_all(body).await;
    }
    match tokio::time::timeout(HOOK_TIMEOUT, child.wait_with_output()).await {
        Err(_) => Err(format!("no exit after {} s", HOOK_TIMEOUT.as_secs())),
        Ok(Err(e)) => Err(e.to_string()),
        Ok(Ok(out)) if out.status.success() => Ok(()),
        Ok(Ok(out)) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let tail: String = stderr
                .trim()
                .chars()
                .rev()
                .take(300)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            Err(format!("exited with {}: {tail}", out.status))
        }
    }
}

async fn post(url: &str, body: Vec<u8>) -> Result<(), String> {
    crate::install_tls_provider();
    let client = reqwest::Client::builder()
        .timeout(HOOK_TIMEOUT)
        .build()
        .map_err(|e| e.to_string())?;
    let response = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("the server answered {}", response.status()))
    }
}
