//! Putting planning questions to the user through the MCP client's own forms (elicitation), when
//! the client declares it can. Two protocol eras: before 2026-07-28 the server sends
//! `elicitation/create` requests while the tool call is open; from 2026-07-28 the tool answers
//! with an `InputRequiredResult` holding the forms, and the client calls again with the answers.

use rmcp::RoleServer;
use rmcp::model::{
    ElicitRequest, ElicitRequestParams, ElicitationAction, ElicitationSchema, InputRequest,
    InputRequests, InputResponses,
};
use rmcp::service::RequestContext;
use serde_json::{Value, json};

use crate::domain::{Question, QuestionId};

/// Most forms shown in one legacy tool call, so a confused client cannot loop forever.
pub(super) const MAX_FORMS: usize = 60;

/// How this client can be asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Elicitation {
    /// Server-to-client `elicitation/create` requests (protocols before 2026-07-28).
    Requests,
    /// `InputRequiredResult` rounds (2026-07-28 and later).
    InputRequired,
}

/// Whether, and how, the client of this request can show forms to its user.
pub(super) fn supported(ctx: &RequestContext<RoleServer>) -> Option<Elicitation> {
    let capabilities = ctx
        .meta
        .client_capabilities()
        .or_else(|| ctx.peer.peer_info().map(|info| info.capabilities.clone()))?;
    let elicitation = capabilities.elicitation?;
    // A capability naming neither mode means form mode (the 2025-06-18 shape).
    let form = elicitation.form.is_some() || elicitation.url.is_none();
    if !form {
        return None;
    }
    let modern = ctx
        .protocol_version()
        .is_some_and(|version| !version.has_initialize());
    Some(if modern {
        Elicitation::InputRequired
    } else {
        Elicitation::Requests
    })
}

/// The sentence added to `next_step` for clients that can show forms.
pub(super) const OFFER: &str = " This client can show forms: call plan_answer with `ask_user: true` (and no answers) to have the orchestrator put the open questions to the user directly.";

/// The form for one question: a message with the question, why it is asked and the suggestions,
/// and a single text field (pre-filled answers as its default).
pub(super) fn form(question: &Question) -> Result<ElicitRequestParams, String> {
    let mut message = format!(
        "{} ({})\n\nWhy: {}",
        question.text, question.category, question.why
    );
    if !question.suggestions.is_empty() {
        message.push_str("\n\nSuggestions:");
        for (n, suggestion) in question.suggestions.iter().enumerate() {
            message.push_str(&format!("\n  {}) {suggestion}", n + 1));
        }
        message.push_str("\nA number picks a suggestion.");
    }
    let mut field = json!({
        "type": "string",
        "title": "Answer",
        "description": "Your answer. Say what you want, not 'not sure': a vague answer gets a narrower follow-up.",
    });
    if let Some(prefilled) = &question.prefilled {
        field["default"] = json!(prefilled);
        message.push_str(&format!(
            "\n\nFound in the project: {prefilled}. Keep it, or change it."
        ));
    }
    let schema = json!({
        "type": "object",
        "properties": {"answer": field},
        "required": ["answer"],
    });
    let Value::Object(schema) = schema else {
        return Err("the form schema is not an object".into());
    };
    let requested_schema = ElicitationSchema::from_json_schema(schema)
        .map_err(|e| format!("building the form failed: {e}"))?;
    Ok(ElicitRequestParams::FormElicitationParams {
        meta: None,
        message,
        requested_schema,
    })
}

/// The key a question's form has in an input-required round.
fn key(id: QuestionId) -> String {
    format!("question-{id}")
}

/// The forms for `questions`, keyed for an input-required round.
pub(super) fn input_requests(questions: &[Question]) -> Result<InputRequests, String> {
    questions
        .iter()
        .map(|q| {
            Ok((
                key(q.id),
                InputRequest::Elicitation(ElicitRequest::new(form(q)?)),
            ))
        })
        .collect()
}

/// What the user did with the forms of one round.
#[derive(Debug, Default)]
pub(super) struct Round {
    /// Answers given, in question order.
    pub answers: Vec<(QuestionId, String)>,
    /// The user declined or cancelled a form.
    pub stopped: bool,
}

/// Reads the client's responses to a round of forms, in question order.
pub(super) fn read_round(responses: &InputResponses) -> Round {
    let mut round = Round::default();
    let mut answered: Vec<(QuestionId, &Value)> = responses
        .iter()
        .filter_map(|(key, value)| {
            let id = key.strip_prefix("question-")?.parse().ok()?;
            Some((id, value))
        })
        .collect();
    answered.sort_by_key(|(id, _)| id.0);
    for (id, response) in answered {
        match accepted(response) {
            Some(answer) => round.answers.push((id, answer)),
            None => round.stopped = true,
        }
    }
    round
}

/// The answer in an accepted elicitation result, or `None` when the user declined or cancelled.
pub(super) fn accepted(result: &Value) -> Option<String> {
    let action: ElicitationAction = serde_json::from_value(result.get("action")?.clone()).ok()?;
    if action != ElicitationAction::Accept {
        return None;
    }
    Some(
        result
            .pointer("/content/answer")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
    )
}
