//! The context builder, the knowledge base and the skills over MCP: `context_preview`,
//! `kb_search` and `skills` (core), `kb_add` (all).

use super::tools::structured_response;
use rmcp::model::CallToolResponse;
use std::time::Duration;

use rmcp::handler::server::wrapper::Parameters;
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::tools::{OrchestratorMcp, tool_error};
use crate::context::{ContextItem, SubagentContext};
use crate::domain::PlanId;
use crate::knowledge::Hit;
use crate::orchestrator::{ContextFor, KbIndexing};
use crate::skills::{Skill, SkillProblem};

/// The longest `kb_add` waits for the indexing, well under the ~60 s clients allow a tool call.
const MAX_WAIT_SECS: u64 = 50;
/// The most results `kb_search` returns.
const MAX_RESULTS: usize = 50;

/// Arguments of `context_preview`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContextPreviewArgs {
    /// The approved plan.
    pub plan_id: PlanId,
    /// The task's key in it (`T1`).
    pub task: String,
    /// The plan version (default: the current one).
    pub version: Option<u32>,
    /// A token budget instead of the configured one.
    pub budget: Option<u32>,
    /// Page, from 1: 20,000 prompt characters, 100 items per list.
    pub page: Option<usize>,
}

/// Characters of the prompt on one page of `context_preview` (a whole context can be 150,000
/// tokens, far more than a client takes in one tool result).
const PAGE_CHARS: usize = 20_000;
/// Items of each list on one page of `context_preview`.
const PAGE_ITEMS: usize = 100;

/// What `context_preview` returns: one page of the preview.
#[derive(Debug, Serialize)]
pub struct ContextPreviewPage {
    /// Estimated tokens of the whole prompt, erring high.
    pub estimated_tokens: u32,
    /// The budget it was built for.
    pub budget: u32,
    /// Whether it fits the budget.
    pub fits: bool,
    /// This page (from 1).
    pub page: usize,
    /// How many pages the preview takes.
    pub pages: usize,
    /// The prompt's characters on this page.
    pub prompt: String,
    /// The whole prompt's length in characters.
    pub prompt_chars: usize,
    /// Items included, on this page.
    pub included: Vec<ContextItem>,
    /// How many items are included in all.
    pub included_total: usize,
    /// Items left out with the reason, on this page.
    pub dropped: Vec<ContextItem>,
    /// How many items were left out in all.
    pub dropped_total: usize,
}

/// Page `page` (from 1) of a task's context.
fn preview_page(context: SubagentContext, page: usize) -> Result<ContextPreviewPage, String> {
    let prompt_chars = context.prompt.chars().count();
    let items = context.included.len().max(context.dropped.len());
    let pages = prompt_chars
        .div_ceil(PAGE_CHARS)
        .max(items.div_ceil(PAGE_ITEMS))
        .max(1);
    if page == 0 || page > pages {
        return Err(format!(
            "there is no page {page}: the preview has {pages} (from 1)"
        ));
    }
    let take = |items: Vec<ContextItem>| -> Vec<ContextItem> {
        items
            .into_iter()
            .skip((page - 1) * PAGE_ITEMS)
            .take(PAGE_ITEMS)
            .collect()
    };
    Ok(ContextPreviewPage {
        estimated_tokens: context.estimated_tokens,
        budget: context.budget,
        fits: context.fits,
        page,
        pages,
        prompt: context
            .prompt
            .chars()
            .skip((page - 1) * PAGE_CHARS)
            .take(PAGE_CHARS)
            .collect(),
        prompt_chars,
        included_total: context.included.len(),
        dropped_total: context.dropped.len(),
        included: take(context.included),
        dropped: take(context.dropped),
    })
}

/// Arguments of `kb_search`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KbSearchArgs {
    /// What to look for, in words (not a query language).
    pub query: String,
    /// How many results (default 5, at most 50).
    pub k: Option<usize>,
}

/// What `kb_search` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct KbSearchResult {
    /// The best chunks first, each with its source, heading path, text and a snippet with the
    /// matching words in bold.
    pub hits: Vec<Hit>,
    /// What to do next.
    pub next_step: String,
}

/// Arguments of `kb_add`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KbAddArgs {
    /// A documentation folder of the project (from its root) or a public http(s) URL (the site
    /// is crawled on its host: 3 links deep, 200 pages at most, robots.txt respected).
    pub location: String,
    /// Seconds to wait for the indexing (default 25, at most 50); it goes on in the background.
    pub wait_seconds: Option<u64>,
}

/// What `kb_add` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct KbAddResult {
    /// The source and where its indexing stands.
    pub indexing: KbIndexing,
    /// What to do next.
    pub next_step: String,
}

/// Arguments of `skills`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SkillsArgs {
    /// A skill to show whole; leave out to list them.
    pub name: Option<String>,
}

/// A skill as listed.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SkillBrief {
    /// Its name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// `project`, `user` or `config`.
    pub origin: String,
}

/// What `skills` returns.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SkillsResult {
    /// The skills (without `name`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skills: Vec<SkillBrief>,
    /// The skill asked for (with `name`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skill: Option<Skill>,
    /// SKILL.md files that were skipped, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<SkillProblem>,
}

#[tool_router(router = knowledge_router, vis = "pub(super)")]
impl OrchestratorMcp {
    /// The exact prompt a task's agent would get, with its token estimate and what was dropped and
    /// why; paged.
    #[tool(
        name = "context_preview",
        annotations(
            title = "Preview a task's context",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn context_preview(
        &self,
        Parameters(args): Parameters<ContextPreviewArgs>,
    ) -> Result<CallToolResponse, String> {
        let options = ContextFor {
            version: args.version,
            budget: args.budget,
            ..ContextFor::default()
        };
        let context = self
            .engine()
            .await?
            .context_for_task(args.plan_id, &args.task, options)
            .await
            .map_err(tool_error)?;
        structured_response(&preview_page(context, args.page.unwrap_or(1))?)
    }

    /// Searches the project's documentation: the most relevant passages with source, heading and
    /// snippet.
    #[tool(
        name = "kb_search",
        annotations(
            title = "Search the documentation",
            read_only_hint = true,
            open_world_hint = false
        )
    )]
    async fn kb_search(
        &self,
        Parameters(args): Parameters<KbSearchArgs>,
    ) -> Result<CallToolResponse, String> {
        let k = args.k.unwrap_or(5).clamp(1, MAX_RESULTS);
        let engine = self.engine().await?;
        let hits = engine.kb_search(&args.query, k).await.map_err(tool_error)?;
        let next_step = if hits.is_empty() {
            let sources = engine.kb_sources().await.map_err(tool_error)?;
            if sources.is_empty() {
                "The knowledge base has no sources: add a documentation folder or site with kb_add (the `all` tools), or `orchestrator kb add` on the command line.".into()
            } else {
                "Nothing matched: try other words.".into()
            }
        } else {
            "Cite the source and heading when you use an excerpt.".into()
        };
        structured_response(&(KbSearchResult { hits, next_step }))
    }

    /// Lists the skills (SKILL.md) by name and description, or shows one with its instructions.
    #[tool(
        name = "skills",
        annotations(title = "Skills", read_only_hint = true, open_world_hint = false)
    )]
    async fn skills(
        &self,
        Parameters(args): Parameters<SkillsArgs>,
    ) -> Result<CallToolResponse, String> {
        let set = self.engine().await?.skills();
        match args.name {
            Some(name) => {
                let names: Vec<String> = set.skills.iter().map(|s| s.name.clone()).collect();
                let skill = set
                    .skills
                    .into_iter()
                    .find(|s| s.name == name)
                    .ok_or_else(|| {
                        if names.is_empty() {
                            format!("no skill is named `{name}`: there are no skills")
                        } else {
                            format!(
                                "no skill is named `{name}`; the skills: {}",
                                names.join(", ")
                            )
                        }
                    })?;
                structured_response(
                    &(SkillsResult {
                        skills: Vec::new(),
                        skill: Some(skill),
                        problems: set.problems,
                    }),
                )
            }
            None => structured_response(
                &(SkillsResult {
                    skills: set
                        .skills
                        .into_iter()
                        .map(|s| SkillBrief {
                            name: s.name,
                            description: s.description,
                            origin: s.origin,
                        })
                        .collect(),
                    skill: None,
                    problems: set.problems,
                }),
            ),
        }
    }
}

#[tool_router(router = kb_add_router, vis = "pub(super)")]
impl OrchestratorMcp {
    /// Adds a documentation source — a folder or a website — to the knowledge base and indexes
    /// it (incrementally: calling it again for the same location re-indexes only what changed).
    /// Agents then get its most relevant excerpts in their context; kb_search searches it.
    #[tool(
        name = "kb_add",
        annotations(
            title = "Add documentation",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn kb_add(
        &self,
        Parameters(args): Parameters<KbAddArgs>,
    ) -> Result<CallToolResponse, String> {
        let engine = self.engine().await?;
        let source = engine
            .kb_add_for_agent(&args.location)
            .await
            .map_err(tool_error)?;
        let wait = Duration::from_secs(args.wait_seconds.unwrap_or(25).min(MAX_WAIT_SECS));
        let indexing = engine
            .kb_index_in_background(source.id, wait)
            .await
            .map_err(tool_error)?;
        let next_step = match indexing.state.as_str() {
            "indexing" => format!(
                "Still indexing in the background: call kb_add with the same location to wait again (source {}).",
                indexing.source.id
            ),
            "indexed" => {
                "Indexed: kb_search finds its content, and agents get it in their context.".into()
            }
            _ => format!(
                "The indexing failed: {}",
                indexing.error.as_deref().unwrap_or("unknown error")
            ),
        };
        structured_response(
            &(KbAddResult {
                indexing,
                next_step,
            }),
        )
    }
}
