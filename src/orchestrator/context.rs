//! The context of a task, as the engine builds it: the plan, the history of the project's runs,
//! the knowledge base's best documentation for the task, and the skills, under the budget.

use std::collections::{BTreeMap, HashMap};

use super::Orchestrator;
use crate::config::ContextConfig;
use crate::context::{ContextRequest, PriorWork, SubagentContext, build_context};
use crate::domain::{PlanContent, PlanId, RunId, RunStatus, Task};
use crate::error::{Error, Result};

/// Which task, and for which run, a context is built.
#[derive(Debug, Clone, Default)]
pub struct ContextFor<'a> {
    /// The plan version (the newest unless given).
    pub version: Option<u32>,
    /// The run it is for, left out of the history.
    pub run: Option<RunId>,
    /// Why the previous attempt failed, on a retry.
    pub previous_error: Option<&'a str>,
    /// The token budget, instead of the configured one.
    pub budget: Option<u32>,
}

impl Orchestrator {
    fn context_config(&self) -> ContextConfig {
        self.settings()
            .map(|s| s.config.context.clone())
            .unwrap_or_default()
    }

    /// Builds the prompt an agent would get for `task_key` of `plan`.
    pub async fn context_for_task(
        &self,
        plan: PlanId,
        task_key: &str,
        options: ContextFor<'_>,
    ) -> Result<SubagentContext> {
        let project = self.project.id;
        let (plan_row, version) = self
            .blocking(move |s| Ok((s.plan(plan)?, s.plan_version(plan, options.version)?)))
            .await?;
        if plan_row.project_id != project {
            return Err(Error::NotFound {
                what: "plan".into(),
                id: plan.to_string(),
                hint: " in this project (see `orchestrator plan list`)".into(),
            });
        }
        let content = version.content;
        let task = content
            .task(task_key)
            .cloned()
            .ok_or_else(|| Error::NotFound {
                what: "task".into(),
                id: task_key.to_owned(),
                hint: format!(
                    " in plan {plan} version {} (its tasks: {})",
                    version.version,
                    content
                        .tasks()
                        .map(|t| t.key.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })?;
        let config = self.context_config();
        let query = format!(
            "{} {} {}",
            task.title,
            task.description,
            task.files.join(" ")
        );
        // Nothing secret reaches a context: every input is redacted first.
        let content: PlanContent = serde_json::from_value(self.redact_value(
            &serde_json::to_value(&content).map_err(|e| Error::Internal(e.to_string()))?,
        ))
        .map_err(|e| Error::Internal(format!("redacting the plan: {e}")))?;
        let task = content.task(task_key).cloned().unwrap_or(task);
        let mut history = self.history(plan, options.run).await?;
        for prior in &mut history {
            prior.summary = self.redact(&prior.summary);
            prior.error = prior.error.as_deref().map(|e| self.redact(e));
        }
        let docs: Vec<_> = self
            .kb_search(&query, config.docs_per_task as usize)
            .await?
            .into_iter()
            .map(|hit| hit.chunk)
            .collect();
        let mut skills = self.skills().skills;
        for skill in &mut skills {
            skill.description = self.redact(&skill.description);
        }
        let estimator = self.estimator.clone();
        let previous_error = options.previous_error.map(str::to_owned);
        tokio::task::spawn_blocking(move || {
            let request = ContextRequest {
                plan: &content,
                task: &task,
                history: &history,
                docs: &docs,
                skills: &skills,
                previous_error: previous_error.as_deref(),
                budget: options.budget.unwrap_or(config.token_budget),
            };
            build_context(&request, estimator.as_ref())
        })
        .await
        .map_err(|e| Error::Internal(format!("building a context: {e}")))
    }

    /// The latest run of every task of the project that has started, but `except`; tasks of
    /// plans other than `plan` are marked with their plan's title.
    async fn history(&self, plan: PlanId, except: Option<RunId>) -> Result<Vec<PriorWork>> {
        let project = self.project.id;
        self.blocking(move |s| {
            let runs = s.runs_in(project, &[])?;
            let mut latest: BTreeMap<(PlanId, String), (crate::domain::Run, u32)> = BTreeMap::new();
            for run in runs
                .into_iter()
                .filter(|r| Some(r.id) != except && r.status != RunStatus::Pending)
            {
                let key = (run.plan_id, run.task_key.clone());
                let attempts = latest.get(&key).map_or(0, |(_, a)| *a) + run.attempt;
                latest.insert(key, (run, attempts));
            }
            let mut plans: HashMap<(PlanId, u32), (String, PlanContent)> = HashMap::new();
            let mut history = Vec::new();
            for ((plan_id, task_key), (run, attempts)) in latest {
                let (title, content) = match plans.entry((plan_id, run.plan_version)) {
                    std::collections::hash_map::Entry::Occupied(known) => known.into_mut(),
                    std::collections::hash_map::Entry::Vacant(slot) => {
                        let title = s.plan(plan_id)?.title;
                        slot.insert((
                            title,
                            s.plan_version(plan_id, Some(run.plan_version))?.content,
                        ))
                    }
                };
                let (title, content) = (&*title, &*content);
                let task: Option<&Task> = content.task(&task_key);
                let last = s.checkpoints(run.id)?.pop();
                history.push(PriorWork {
                    title: task.map(|t| t.title.clone()).unwrap_or_default(),
                    files: task.map(|t| t.files.clone()).unwrap_or_default(),
                    other_plan: (plan_id != plan).then(|| title.clone()),
                    task_key,
                    status: run.status.to_string(),
                    attempts,
                    files_changed: last
                        .as_ref()
                        .map(|c| c.files_changed.clone())
                        .unwrap_or_default(),
                    summary: last.map(|c| c.last_output).unwrap_or_default(),
                    error: run.last_error.clone(),
                });
            }
            Ok(history)
        })
        .await
    }
}
