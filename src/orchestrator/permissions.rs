//! Permission requests: the policy's decisions, the approvals queue and the audit log.

use std::sync::Arc;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Orchestrator, run_blocking};
use crate::domain::{ApprovalId, ApprovalRequest, ApprovalStatus, AuditEntry, RunId, Timestamp};
use crate::error::{Error, Result};
use crate::policy::{Decision, Gate, HumanAnswer, PolicyContext, Severity, ToolRequest, notify};
use crate::store::ApprovalFilter;

/// How often a waiting agent looks for an answer given by another process.
const ANSWER_POLL: Duration = Duration::from_millis(300);

/// What Claude Code's PreToolUse hook answers for a call (`orchestrator hook pre-tool-use`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookAnswer {
    /// Nothing: the call goes on as Claude Code would have it (within a run, to the
    /// supervisor's own permission prompt if it asks).
    Pass,
    /// Let it run without asking.
    Allow(String),
    /// Put it to a person — within a run, to the supervisor's prompt, which decides it again,
    /// logs, audits and queues it.
    Ask(String),
    /// Refuse it, with why.
    Deny(String),
}

/// The answer an agent gets for a tool call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PermissionAnswer {
    /// Whether the call may run.
    pub allowed: bool,
    /// What the agent is told: the reason, and who decided.
    pub message: String,
    /// `policy` (with its rule), a person's name, or `timeout`.
    pub decided_by: String,
    /// The approval request, when a person was asked.
    pub approval_id: Option<ApprovalId>,
}

impl PermissionAnswer {
    fn from_request(request: &ApprovalRequest) -> Option<Self> {
        let who = request.decided_by.clone().unwrap_or_default();
        let why = request.decision_reason.clone().unwrap_or_default();
        let (allowed, message) = match request.status {
            ApprovalStatus::Pending => return None,
            ApprovalStatus::Approved => (
                true,
                format!(
                    "approved by {who}{}",
                    if why.is_empty() {
                        String::new()
                    } else {
                        format!(": {why}")
                    }
                ),
            ),
            ApprovalStatus::Denied => (false, format!("denied by {who}: {why}")),
            ApprovalStatus::Expired => (false, format!("denied: {why}")),
        };
        Some(Self {
            allowed,
            message,
            decided_by: who,
            approval_id: Some(request.id),
        })
    }
}

impl Orchestrator {
    async fn gated<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Gate<'_>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = self.store.clone();
        let project = self.project.clone();
        let settings = self.settings.clone();
        run_blocking(move || f(&Gate::new(&store, &project, settings.as_deref()))).await
    }

    /// Explains how the policy would answer a call, without recording anything: in a run's
    /// context when given, else in the project's with the given declared files.
    pub async fn check_permission(
        &self,
        request: ToolRequest,
        run: Option<RunId>,
        declared_files: Option<Vec<String>>,
    ) -> Result<Decision> {
        if let Some(problem) = declared_files
            .iter()
            .flatten()
            .find_map(|glob| crate::policy::paths::glob_too_long(glob))
        {
            return Err(Error::Invalid(problem));
        }
        self.gated(move |gate| {
            let context: PolicyContext = match run {
                Some(run) => gate.run_context(run)?,
                None => gate.project_context(declared_files),
            };
            gate.check(&request, &context)
        })
        .await
    }

    /// The PreToolUse hook's answer for a call Claude Code is about to make — `None` when the
    /// hook's input could not be read. Within a run, whatever the policy does not allow is
    /// "ask" (so the supervisor's prompt decides, logs and audits it) and what it allows passes;
    /// alone (a person's own session), deny / ask / allow. What cannot be judged is put to a
    /// person, never allowed.
    pub async fn pre_tool_use(
        &self,
        request: Option<ToolRequest>,
        run: Option<RunId>,
    ) -> HookAnswer {
        let Some(request) = request else {
            return HookAnswer::Ask(
                "the orchestrator could not read this tool call, so a person decides".into(),
            );
        };
        match self.check_permission(request, run, None).await {
            Ok(decision) => match (decision.verdict, run) {
                (Severity::Allow, Some(_)) => HookAnswer::Pass,
                (_, Some(_)) | (Severity::Escalate, None) => HookAnswer::Ask(decision.reason),
                (Severity::Deny, None) => HookAnswer::Deny(decision.reason),
                (Severity::Allow, None) => HookAnswer::Allow(decision.reason),
            },
            Err(e) => HookAnswer::Ask(format!(
                "the orchestrator could not judge this call ({e}), so a person decides"
            )),
        }
    }

    /// Puts a run's call through the policy and audits the decision. An escalation is queued,
    /// the notification hooks are called, and the request is returned without waiting.
    pub async fn submit_permission(
        &self,
        run: RunId,
        request: ToolRequest,
    ) -> Result<(Decision, Option<ApprovalRequest>)> {
        let (decision, queued) = self.gated(move |gate| gate.submit(run, &request)).await?;
        if let (Some(queued), Some(settings)) = (&queued, self.settings.as_deref()) {
            notify::notify(&settings.config.policy, queued).await;
        }
        Ok((decision, queued))
    }

    /// The whole path of a run's tool call: the policy decides, or a person does (this waits
    /// until they answer or the request times out, which denies it).
    pub async fn request_permission(
        &self,
        run: RunId,
        request: ToolRequest,
    ) -> Result<PermissionAnswer> {
        let (decision, queued) = self.submit_permission(run, request).await?;
        match queued {
            Some(queued) => self.wait_for_approval(queued.id).await,
            None => Ok(PermissionAnswer {
                allowed: decision.verdict == Severity::Allow,
                message: decision.reason,
                decided_by: decision
                    .rule
                    .map_or_else(|| "policy".to_owned(), |r| format!("policy: {r}")),
                approval_id: None,
            }),
        }
    }

    /// Waits until a queued request is answered or expires.
    pub async fn wait_for_approval(&self, id: ApprovalId) -> Result<PermissionAnswer> {
        let changed = Arc::clone(&self.approvals_changed);
        loop {
            let notified = changed.notified();
            let request = self.gated(move |gate| gate.get(id)).await?;
            if let Some(answer) = PermissionAnswer::from_request(&request) {
                return Ok(answer);
            }
            let left = Duration::from_millis(
                request
                    .expires_at
                    .as_millis()
                    .saturating_sub(Timestamp::now().as_millis())
                    .max(0) as u64,
            );
            tokio::select! {
                () = notified => {}
                () = tokio::time::sleep(ANSWER_POLL.min(left + Duration::from_millis(5))) => {}
            }
        }
    }

    /// Requests in the approvals queue (expired ones are marked first).
    pub async fn approvals(&self, filter: ApprovalFilter) -> Result<Vec<ApprovalRequest>> {
        let filter = ApprovalFilter {
            project_id: Some(self.project.id),
            ..filter
        };
        self.gated(move |gate| gate.list(filter)).await
    }

    /// One approval request of this project's runs (another project's is not found).
    pub async fn approval(&self, id: ApprovalId) -> Result<ApprovalRequest> {
        let request = self.gated(move |gate| gate.get(id)).await?;
        match self.own_run(request.run_id).await {
            Ok(_) => Ok(request),
            Err(Error::NotFound { .. }) => Err(Error::not_found("approval request", id)),
            Err(e) => Err(e),
        }
    }

    /// A person answers a request; a waiting agent goes on.
    pub async fn answer_approval(
        &self,
        id: ApprovalId,
        answer: HumanAnswer,
        decided_by: &str,
        reason: Option<&str>,
    ) -> Result<ApprovalRequest> {
        self.approval(id).await?;
        let (who, why) = (decided_by.to_owned(), reason.map(str::to_owned));
        let request = self
            .gated(move |gate| gate.answer(id, answer, &who, why.as_deref()))
            .await?;
        self.approvals_changed.notify_waiters();
        Ok(request)
    }

    /// Withdraws a run's requests still waiting for a person, because nothing will act on the
    /// answer any more (`reason` says why; the person sees it).
    pub async fn withdraw_approvals(&self, run: RunId, reason: &str) -> Result<usize> {
        let reason = reason.to_owned();
        let withdrawn = self
            .blocking(move |s| s.withdraw_run_approvals(run, &reason))
            .await?;
        if !withdrawn.is_empty() {
            self.approvals_changed.notify_waiters();
        }
        Ok(withdrawn.len())
    }

    /// The audit log of permission decisions, newest first.
    pub async fn audit_log(&self, run: Option<RunId>, limit: u32) -> Result<Vec<AuditEntry>> {
        if let Some(run) = run {
            self.own_run(run).await?;
        }
        let project = self.project.id;
        self.blocking(move |s| s.audit_log(project, run, limit))
            .await
    }

    /// Resolves when an approval request is answered or queued in this process (answers from
    /// other processes are seen by polling).
    pub async fn approvals_changed_notified(&self) {
        self.approvals_changed.notified().await;
    }

    /// Waits until this engine changes what a dashboard shows other than by a store write: its
    /// approvals queue's waiters, or the state of a plan run in the background.
    pub async fn shown_state_changed(&self) {
        tokio::select! {
            () = self.approvals_changed.notified() => {}
            () = self.plan_runs_changed() => {}
        }
    }

    /// See [`Store::change_stamp`](crate::store::Store::change_stamp).
    pub async fn store_stamp(&self) -> Result<(i64, u64)> {
        let store = self.store().clone();
        run_blocking(move || store.change_stamp()).await
    }
}
