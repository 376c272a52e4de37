//! Plans as MCP resources, and the main flows as MCP prompts (Claude Code shows a server's
//! prompts as slash commands: `/mcp__orchestrator__plan`, `…__run`, `…__review`).
//!
//! Resources: `orchestrator://plans/{plan_id}` is a plan's current version with its tasks'
//! statuses and history, `orchestrator://plans/{plan_id}/versions/{version}` one version — both
//! the JSON `plan_get` returns. Every plan of the project is listed. A client may subscribe to a
//! plan (`resources/subscribe`): it is told `notifications/resources/updated` whenever the plan's
//! JSON changes (a new version, a task's state), whoever changed it.

use rmcp::ErrorData as McpError;
use rmcp::model::{
    GetPromptResult, ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult, Prompt,
    PromptArgument, PromptMessage, ReadResourceResult, Resource, ResourceContents,
    ResourceTemplate, Role, SubscriptionFilter,
};
use rmcp::service::{SubscriptionContext, SubscriptionSink};
use serde_json::{Map, Value};

use super::engine::Engine;
use crate::Orchestrator;
use crate::domain::PlanId;

const PLANS: &str = "orchestrator://plans/";

/// How often a subscribed plan is looked at for other processes' changes.
const WATCH_EVERY: std::time::Duration = std::time::Duration::from_millis(700);

/// A client's subscriptions (`resources/subscribe`, before protocol 2026-07-28): each plan URI
/// watched by a task of its own.
#[derive(Debug, Clone, Default)]
pub(super) struct Subscriptions {
    watching: std::sync::Arc<
        std::sync::Mutex<std::collections::HashMap<String, tokio_util::sync::CancellationToken>>,
    >,
    /// `subscriptions/listen` requests accepted and not yet listening: the plans as they were
    /// when each was accepted (see [`Subscriptions::accept`]).
    accepted: std::sync::Arc<std::sync::Mutex<Vec<Accepted>>>,
}

/// Watched plans: each URI with its JSON last seen (none while the plan does not exist).
type Watched = Vec<(String, Option<Vec<ResourceContents>>)>;

/// A listen request's plan URIs, and the plans as read from the moment it was accepted.
type Accepted = (Vec<String>, tokio::task::JoinHandle<Watched>);

impl Subscriptions {
    /// Watches the plan `uri` names and tells `peer` when its JSON changes; an unknown plan or
    /// another URI is refused.
    pub(super) async fn subscribe(
        &self,
        engine: &Orchestrator,
        uri: &str,
        peer: rmcp::Peer<rmcp::RoleServer>,
    ) -> Result<(), McpError> {
        let seen = read(engine, uri).await?.contents;
        let stop = tokio_util::sync::CancellationToken::new();
        if let Ok(mut watching) = self.watching.lock()
            && let Some(old) = watching.insert(uri.to_owned(), stop.clone())
        {
            old.cancel();
        }
        let watched = vec![(uri.to_owned(), Some(seen))];
        tokio::spawn(watch(engine.clone(), watched, stop, Listener::Peer(peer)));
        Ok(())
    }

    /// Stops watching `uri`.
    pub(super) fn unsubscribe(&self, uri: &str) {
        if let Ok(mut watching) = self.watching.lock()
            && let Some(stop) = watching.remove(uri)
        {
            stop.cancel();
        }
    }
}

impl Subscriptions {
    /// What a `subscriptions/listen` request (protocol 2026-07-28) may watch: the plan URIs
    /// among those asked for — a plan that does not exist yet is told of once it does.
    ///
    /// The SDK acknowledges the request before [`Subscriptions::listen`] runs, and the client may
    /// change a plan as soon as it has the acknowledgment: the plans are read from here, before
    /// it is sent, so that no change after it goes untold.
    pub(super) fn accept(
        &self,
        engine: &Engine,
        requested: &SubscriptionFilter,
    ) -> SubscriptionFilter {
        let mut accepted = SubscriptionFilter::new();
        let uris: Vec<String> = requested
            .resource_subscriptions
            .iter()
            .flatten()
            .filter(|uri| parse(uri).is_some())
            .cloned()
            .collect();
        if uris.is_empty() {
            return accepted;
        }
        let (engine, to_read) = (engine.clone(), uris.clone());
        let snapshot =
            tokio::spawn(async move { snapshot(engine.get().await.ok(), to_read).await });
        if let Ok(mut pending) = self.accepted.lock() {
            pending.push((uris.clone(), snapshot));
        }
        accepted.resource_subscriptions = Some(uris);
        accepted
    }

    /// Serves one accepted `subscriptions/listen` request until the client cancels it.
    pub(super) async fn listen(
        &self,
        engine: &Orchestrator,
        subscription: SubscriptionContext,
    ) -> Result<(), McpError> {
        let uris = subscription
            .accepted()
            .resource_subscriptions
            .clone()
            .unwrap_or_default();
        let pending = self.accepted.lock().ok().and_then(|mut pending| {
            let at = pending.iter().position(|(accepted, _)| *accepted == uris)?;
            Some(pending.remove(at).1)
        });
        let watched = match pending {
            Some(snapshot) => snapshot.await.unwrap_or_default(),
            None => snapshot(Some(engine), uris).await,
        };
        let stop = tokio_util::sync::CancellationToken::new();
        let watcher = tokio::spawn(watch(
            engine.clone(),
            watched,
            stop.clone(),
            Listener::Stream(subscription.sink().clone()),
        ));
        subscription.cancelled().await;
        stop.cancel();
        let _ = watcher.await;
        Ok(())
    }
}

/// The plans `uris` name, as they are now.
async fn snapshot(engine: Option<&Orchestrator>, uris: Vec<String>) -> Watched {
    let mut watched = Vec::with_capacity(uris.len());
    for uri in uris {
        let seen = match engine {
            Some(engine) => read(engine, &uri).await.ok().map(|r| r.contents),
            None => None,
        };
        watched.push((uri, seen));
    }
    watched
}

/// Who is told of a watched plan's changes.
enum Listener {
    /// A client that subscribed with `resources/subscribe`.
    Peer(rmcp::Peer<rmcp::RoleServer>),
    /// A `subscriptions/listen` stream.
    Stream(SubscriptionSink),
}

impl Listener {
    /// Tells that `uri` changed; false when nobody is there to tell any more.
    async fn updated(&self, uri: &str) -> bool {
        match self {
            Self::Peer(peer) => {
                let update = rmcp::model::ResourceUpdatedNotificationParam::new(uri.to_owned());
                peer.notify_resource_updated(update).await.is_ok()
            }
            Self::Stream(sink) => sink.notify_resource_updated(uri).await.is_ok(),
        }
    }

    fn gone(&self) -> bool {
        match self {
            Self::Peer(peer) => peer.is_transport_closed(),
            Self::Stream(_) => false,
        }
    }
}

/// Looks at the watched plans (URI, JSON last seen) every [`WATCH_EVERY`] when the store's
/// change stamp moved, and tells `listener` of each whose JSON differs, until `stop` or until
/// the listener has gone.
async fn watch(
    engine: Orchestrator,
    mut watched: Watched,
    stop: tokio_util::sync::CancellationToken,
    listener: Listener,
) {
    let mut stamp = engine.store_stamp().await.ok();
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(WATCH_EVERY) => {}
        }
        if listener.gone() {
            return;
        }
        let now = engine.store_stamp().await.ok();
        if now.is_some() && now == stamp {
            continue;
        }
        stamp = now;
        for (uri, seen) in &mut watched {
            let Ok(current) = read(&engine, uri).await.map(|r| r.contents) else {
                continue;
            };
            if seen.as_ref() != Some(&current) {
                *seen = Some(current);
                if !listener.updated(uri).await {
                    return;
                }
            }
        }
    }
}

/// The project's plans, one resource each.
pub(super) async fn list(engine: &Orchestrator) -> Result<ListResourcesResult, McpError> {
    let plans = engine
        .list_plans(false)
        .await
        .map_err(|e| McpError::internal_error(e.to_string(), None))?;
    let resources = plans
        .into_iter()
        .map(|plan| {
            Resource::new(format!("{PLANS}{}", plan.id), format!("plan-{}", plan.id))
                .with_title(plan.title.clone())
                .with_description(format!(
                    "Plan #{} ({}), version {}: its phases, tasks and their statuses, decisions and history",
                    plan.id, plan.status, plan.current_version
                ))
                .with_mime_type("application/json")
        })
        .collect();
    Ok(ListResourcesResult {
        resources,
        ..ListResourcesResult::default()
    })
}

/// The URI templates: a plan, and one version of it.
pub(super) fn templates() -> ListResourceTemplatesResult {
    let resource_templates = vec![
        ResourceTemplate::new(format!("{PLANS}{{plan_id}}"), "plan")
            .with_description("A plan's current version with its tasks' statuses and history")
            .with_mime_type("application/json"),
        ResourceTemplate::new(
            format!("{PLANS}{{plan_id}}/versions/{{version}}"),
            "plan-version",
        )
        .with_description("One version of a plan")
        .with_mime_type("application/json"),
    ];
    ListResourceTemplatesResult {
        resource_templates,
        ..ListResourceTemplatesResult::default()
    }
}

/// Which plan, and which version, a URI names.
fn parse(uri: &str) -> Option<(PlanId, Option<u32>)> {
    let rest = uri.strip_prefix(PLANS)?;
    let (id, version) = match rest.split_once("/versions/") {
        Some((id, version)) => (id, Some(version.parse().ok()?)),
        None => (rest, None),
    };
    Some((PlanId(id.parse().ok()?), version))
}

/// A plan (at a version) as JSON.
pub(super) async fn read(engine: &Orchestrator, uri: &str) -> Result<ReadResourceResult, McpError> {
    let Some((id, version)) = parse(uri) else {
        return Err(McpError::invalid_params(
            format!(
                "no resource `{uri}`: plans are `{PLANS}{{plan_id}}` and `{PLANS}{{plan_id}}/versions/{{version}}`"
            ),
            None,
        ));
    };
    let view = engine
        .plan(id, version)
        .await
        .map_err(|e| McpError::invalid_params(e.to_string(), None))?;
    let text = serde_json::to_string_pretty(&view)
        .map_err(|e| McpError::internal_error(e.to_string(), None))?;
    Ok(ReadResourceResult::new(vec![
        ResourceContents::TextResourceContents {
            uri: uri.to_owned(),
            mime_type: Some("application/json".into()),
            text,
            meta: None,
        },
    ]))
}

/// The main flows, as prompts.
pub(super) fn prompts() -> ListPromptsResult {
    let prompts = vec![
        Prompt::new(
            "plan",
            Some(
                "Plan a goal with the user before any code is written: questions, a draft, an approved plan",
            ),
            Some(vec![
                PromptArgument::new("goal")
                    .with_description("What the user wants built, in their words")
                    .with_required(true),
            ]),
        ),
        Prompt::new(
            "run",
            Some("Run an approved plan with supervised agents, and follow it to the end"),
            Some(vec![
                PromptArgument::new("plan_id")
                    .with_description("The approved plan (leave out to choose among the plans)")
                    .with_required(false),
            ]),
        ),
        Prompt::new(
            "review",
            Some("Review what waits for the user: agents' requests and runs that need a decision"),
            None,
        ),
    ];
    ListPromptsResult {
        prompts,
        ..ListPromptsResult::default()
    }
}

/// A prompt's message, with its arguments filled in.
pub(super) fn prompt(
    name: &str,
    arguments: Option<&Map<String, Value>>,
) -> Result<GetPromptResult, McpError> {
    let argument = |key: &str| {
        arguments
            .and_then(|a| a.get(key))
            .and_then(|v| match v {
                Value::String(s) => Some(s.trim().to_owned()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .filter(|s| !s.is_empty())
    };
    let text = match name {
        "plan" => {
            let Some(goal) = argument("goal") else {
                return Err(McpError::invalid_params(
                    "the `plan` prompt needs a `goal`: what the user wants built",
                    None,
                ));
            };
            format!(
                "Plan this with me before any code is written: {goal}\n\n\
                 Call plan_start with that goal. Put the questions it returns to me as they are \
                 (a prefilled answer only needs my yes) and send my answers with plan_answer until \
                 the interview is done. Then write a draft plan from the brief and send it with \
                 plan_submit; fix every problem it reports. Show me the draft — phases, tasks with \
                 their files and verification, decisions — and call plan_approve only when I agree."
            )
        }
        "run" => {
            let which = argument("plan_id").map_or_else(
                || {
                    "Call plan_get to list the plans and ask me which approved plan to run."
                        .to_owned()
                },
                |id| {
                    format!("Run plan {id}: read it with plan_get first and tell me what will run.")
                },
            );
            format!(
                "{which}\n\nStart it with run_start once I agree, then follow it with run_status \
                 (plan_id) until every task is done. When an agent's request waits (approvals), \
                 put it to me and answer only with my decision. When a run is escalated, show me \
                 its last error and ask whether to retry, resume or cancel it (run_control)."
            )
        }
        "review" => "Show me what waits for me. Call approvals and put each waiting request to me \
             with its task, tool, input and why the policy asked; answer each only with my \
             decision. Then call run_status and list the runs that are escalated or failed, with \
             their last error, and ask me whether to retry, resume or cancel each (run_control)."
            .to_owned(),
        other => {
            return Err(McpError::invalid_params(
                format!("no prompt `{other}`: the prompts are plan, run and review"),
                None,
            ));
        }
    };
    Ok(GetPromptResult::new(vec![PromptMessage::new_text(
        Role::User,
        text,
    )]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_uris_are_read_and_others_are_not() {
        assert_eq!(parse("orchestrator://plans/3"), Some((PlanId(3), None)));
        assert_eq!(
            parse("orchestrator://plans/3/versions/2"),
            Some((PlanId(3), Some(2)))
        );
        for bad in [
            "orchestrator://plans/",
            "orchestrator://plans/x",
            "orchestrator://plans/3/versions/",
            "orchestrator://runs/1",
            "file:///etc/passwd",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
