//! The gate between an agent's tool call and its execution: the policy decides, every decision
//! is audited, and an escalation becomes an [`ApprovalRequest`] in the queue until a person (or
//! the timeout) answers it.
//!
//! Everything here is synchronous over the store; waiting for a person and calling the
//! notification hook are the async parts, in [`crate::Orchestrator`] and [`super::notify`].

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Decision, Policy, PolicyContext, RuleSet, Severity, ToolRequest, remembered_rules};
use crate::config::{Secrets, Settings};
use crate::domain::{ApprovalId, ApprovalRequest, ApprovalStatus, Project, RunId, Timestamp};
use crate::error::{Error, Result};
use crate::store::{ApprovalAnswer, ApprovalFilter, NewApproval, NewAuditEntry, Store};

/// A person's answer, as front ends pass it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HumanAnswer {
    /// Let the call run.
    Approve,
    /// Let it run, and the same calls for the rest of the run without asking.
    ApproveAlways,
    /// Refuse it; the agent is told why.
    Deny,
}

/// The policy with the project's settings, over one store.
pub struct Gate<'a> {
    store: &'a Store,
    project: &'a Project,
    settings: Option<&'a Settings>,
}

impl<'a> Gate<'a> {
    /// A gate for a project.
    pub fn new(store: &'a Store, project: &'a Project, settings: Option<&'a Settings>) -> Self {
        Self {
            store,
            project,
            settings,
        }
    }

    /// The project's policy (its rules from `orchestrator.toml`).
    pub fn policy(&self) -> Result<Policy> {
        match self.settings {
            Some(settings) => Policy::from_lists(&settings.config.policy.rules())
                .map_err(|e| Error::Invalid(format!("orchestrator.toml, [policy]: {e}"))),
            None => Ok(Policy::default()),
        }
    }

    fn secrets(&self) -> Option<&Secrets> {
        self.settings.map(|s| &s.secrets)
    }

    /// How long a request waits for a person.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(
            self.settings
                .map_or(1800, |s| s.config.policy.approval_timeout_secs),
        )
    }

    /// The context of a call outside any run: the project root, no task limits.
    pub fn project_context(&self, declared_files: Option<Vec<String>>) -> PolicyContext {
        PolicyContext {
            declared_files,
            secret_names: self.secret_names(),
            ..PolicyContext::new(self.project.root.clone())
        }
    }

    fn secret_names(&self) -> Vec<String> {
        self.secrets()
            .map(|s| s.names().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// The context of a run's calls: its worktree, its task's files and rules, and the rules a
    /// person granted it.
    pub fn run_context(&self, run_id: RunId) -> Result<PolicyContext> {
        let run = self.store.run(run_id)?;
        let version = self
            .store
            .plan_version(run.plan_id, Some(run.plan_version))?;
        let task = version
            .content
            .phases
            .iter()
            .flat_map(|p| &p.tasks)
            .find(|t| t.key == run.task_key)
            .ok_or_else(|| {
                Error::Corrupt(format!(
                    "run {run_id}: task {} is not in plan version {}",
                    run.task_key, run.plan_version
                ))
            })?;
        let task_rules = RuleSet::parse(&task.rules).map_err(|e| {
            Error::Invalid(format!("task {} of plan {}: {e}", task.key, run.plan_id))
        })?;
        let mut run_rules = RuleSet::default();
        for text in self.store.run_rules(run_id)? {
            match super::Rule::parse(&text) {
                Ok(rule) => run_rules.allow(rule),
                Err(e) => {
                    tracing::warn!(run = %run_id, rule = %text, error = %e, "skipping a stored run rule")
                }
            }
        }
        Ok(PolicyContext {
            project_root: self.project.root.clone(),
            worktree: run.worktree.clone(),
            declared_files: Some(task.files.clone()),
            task_rules,
            run_rules,
            secret_names: self.secret_names(),
            ..PolicyContext::new(PathBuf::new())
        })
    }

    /// Decides a call without recording anything (for `policy check`).
    pub fn check(&self, request: &ToolRequest, context: &PolicyContext) -> Result<Decision> {
        Ok(self.redact_decision(self.policy()?.decide(request, context)))
    }

    /// Decides a run's call and audits the decision; an escalation is queued for a person.
    pub fn submit(
        &self,
        run_id: RunId,
        request: &ToolRequest,
    ) -> Result<(Decision, Option<ApprovalRequest>)> {
        let context = self.run_context(run_id)?;
        let decision = self.policy()?.decide(request, &context);
        let input = self.redact_value(&request.input);
        let decision_shown = self.redact_decision(decision.clone());
        self.store.audit(&NewAuditEntry {
            run_id: Some(run_id),
            approval_id: None,
            tool_name: request.tool_name.clone(),
            input: input.clone(),
            verdict: decision.verdict.as_str().into(),
            reason: decision_shown.reason.clone(),
            decided_by: decision
                .rule
                .as_ref()
                .map_or_else(|| "policy".to_owned(), |r| format!("policy: {r}")),
        })?;
        if decision.verdict != Severity::Escalate {
            return Ok((decision_shown, None));
        }
        let request = self.store.create_approval(&NewApproval {
            run_id,
            tool_name: request.tool_name.clone(),
            input,
            reason: decision_shown.reason.clone(),
            grants: remembered_rules(&decision)
                .iter()
                .map(|g| self.redact(g))
                .collect(),
            expires_at: Timestamp::now().plus(self.timeout()),
        })?;
        Ok((decision_shown, Some(request)))
    }

    /// Requests in the queue (overdue ones are expired first, so none shows as waiting after
    /// its time).
    pub fn list(&self, filter: ApprovalFilter) -> Result<Vec<ApprovalRequest>> {
        self.store.expire_approvals(Timestamp::now())?;
        self.store.approvals(filter)
    }

    /// One request (expired first if overdue).
    pub fn get(&self, id: ApprovalId) -> Result<ApprovalRequest> {
        self.store.expire_approvals(Timestamp::now())?;
        self.store.approval(id)
    }

    /// A person's answer to a request.
    pub fn answer(
        &self,
        id: ApprovalId,
        answer: HumanAnswer,
        decided_by: &str,
        reason: Option<&str>,
    ) -> Result<ApprovalRequest> {
        let who = decided_by.trim();
        if who.is_empty() {
            return Err(Error::Invalid(
                "say who answers (a name, `cli`, `mcp`)".into(),
            ));
        }
        if answer == HumanAnswer::Deny && reason.is_none_or(crate::domain::blank) {
            return Err(Error::Invalid(
                "a denial needs a reason: the agent is told it, so it can take another way".into(),
            ));
        }
        let reason = reason.map(|r| self.redact(r.trim()));
        self.store.decide_approval(
            id,
            &ApprovalAnswer {
                decision: if answer == HumanAnswer::Deny {
                    ApprovalStatus::Denied
                } else {
                    ApprovalStatus::Approved
                },
                decided_by: who,
                reason: reason.as_deref(),
                always_for_run: answer == HumanAnswer::ApproveAlways,
            },
        )
    }

    fn redact(&self, text: &str) -> String {
        self.secrets()
            .map_or_else(|| text.to_owned(), |s| s.redact(text))
    }

    /// Replaces every secret value inside a JSON value's strings.
    pub fn redact_value(&self, value: &serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match value {
            Value::String(s) => Value::String(self.redact(s)),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.redact_value(v)).collect())
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (self.redact(k), self.redact_value(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn redact_decision(&self, mut decision: Decision) -> Decision {
        decision.reason = self.redact(&decision.reason);
        for finding in &mut decision.findings {
            finding.subject = self.redact(&finding.subject);
            finding.reason = self.redact(&finding.reason);
            finding.grant = finding.grant.as_deref().map(|g| self.redact(g));
        }
        decision
    }
}
