//! The context builder: the prompt a subagent starts from, within a token budget.
//!
//! A prompt has a mandatory part that is never cut — the task and its files, the project's goal,
//! success criteria and constraints, the verification the work must pass, the rules of the run
//! and, on a retry, why the previous attempt failed — and four ranked sections: decisions, prior
//! work, documentation and skills. Each candidate is ranked by BM25 against the task's words
//! plus what text cannot say (the task's files named, shared files, dependencies); ties keep
//! their input order, so the same inputs give the same prompt byte for byte.
//!
//! The budget is filled in priority order — decisions, then prior work, then skills, then
//! documentation — each section best first. The first candidate that does not fit is truncated
//! with a marker when a useful amount of room is left (at least [`MIN_TRUNCATED`] tokens), and
//! everything ranked after it is dropped: over budget, the lowest-ranked documentation goes
//! first, then skills, then prior work, then decisions. The result's estimate is checked whole
//! and never exceeds the budget, unless the mandatory part alone does (`fits` is then false).

pub mod rank;
pub mod tokens;

use std::collections::BTreeSet;

use serde::Serialize;

use crate::domain::{PlanContent, Task};
use crate::knowledge::Chunk;
use crate::skills::Skill;
use tokens::TokenEstimator;

/// Below this many tokens of room, a candidate that does not fit is dropped rather than cut.
pub const MIN_TRUNCATED: u32 = 100;
/// Skills offered at most (the most relevant).
pub const MAX_SKILLS: usize = 12;

/// The prompt built for one task, with an account of what it holds.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct SubagentContext {
    /// The rendered prompt (Markdown).
    pub prompt: String,
    /// Estimated tokens of `prompt`, erring high.
    pub estimated_tokens: u32,
    /// The budget it was built for.
    pub budget: u32,
    /// Whether it fits the budget (false only when the mandatory part alone is over it).
    pub fits: bool,
    /// Items included, in the order they appear.
    pub included: Vec<ContextItem>,
    /// Items left out, with the reason.
    pub dropped: Vec<ContextItem>,
}

/// One piece of context considered for a prompt.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ContextItem {
    /// The section it belongs to (`task`, `decisions`, `history`, `docs`, `skills`).
    pub section: String,
    /// What it is (a decision key, a task key, a document and heading, a skill name).
    pub label: String,
    /// Its estimated size (as included, when it was truncated).
    pub tokens: u32,
    /// Its relevance to the task (higher is more relevant; 0 for the mandatory part).
    pub score: f64,
    /// Why it was dropped or truncated, if it was.
    pub reason: Option<String>,
}

/// What is known of earlier work on a task: its latest run.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct PriorWork {
    /// The task's key.
    pub task_key: String,
    /// The task's title.
    pub title: String,
    /// The plan's title when the task belongs to another plan of the project.
    pub other_plan: Option<String>,
    /// The files the task was declared to touch.
    pub files: Vec<String>,
    /// The run's state (`COMPLETED`, `FAILED`, …).
    pub status: String,
    /// Runs and attempts it took.
    pub attempts: u32,
    /// Files it changed, from its last checkpoint.
    pub files_changed: Vec<String>,
    /// The agent's last words, shortened.
    pub summary: String,
    /// Why it last failed, if it did.
    pub error: Option<String>,
}

/// Everything the builder may draw from.
#[derive(Debug, Clone, Copy)]
pub struct ContextRequest<'a> {
    /// The approved plan the task is in.
    pub plan: &'a PlanContent,
    /// The task.
    pub task: &'a Task,
    /// Earlier work on tasks of the project (the builder ranks it; unrelated work of other plans
    /// is left out).
    pub history: &'a [PriorWork],
    /// Documentation excerpts (usually the knowledge base's best matches for the task).
    pub docs: &'a [Chunk],
    /// The skills available.
    pub skills: &'a [Skill],
    /// Why the previous attempt failed, on a retry.
    pub previous_error: Option<&'a str>,
    /// The most tokens the prompt may take.
    pub budget: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Section {
    Decisions,
    History,
    Docs,
    Skills,
}

impl Section {
    /// Fill order: what is cut last comes first.
    const PRIORITY: [Section; 4] = [
        Section::Decisions,
        Section::History,
        Section::Skills,
        Section::Docs,
    ];

    fn name(self) -> &'static str {
        match self {
            Section::Decisions => "decisions",
            Section::History => "history",
            Section::Docs => "docs",
            Section::Skills => "skills",
        }
    }

    fn heading(self) -> &'static str {
        match self {
            Section::Decisions => {
                "\n## Decisions that stand\n\nMade while planning; follow them, and say so if one proves wrong.\n"
            }
            Section::History => {
                "\n## Work done before\n\nEarlier runs of tasks related to this one.\n"
            }
            Section::Docs => {
                "\n## Documentation\n\nExcerpts from the project's documentation, most relevant first.\n"
            }
            Section::Skills => {
                "\n## Skills you can use\n\nSkills installed for Claude Code that fit this task (use them by name):\n\n"
            }
        }
    }
}

struct Candidate {
    section: Section,
    label: String,
    text: String,
    score: f64,
}

/// Builds the prompt for `request.task`, estimating with `estimator`.
pub fn build_context(
    request: &ContextRequest<'_>,
    estimator: &dyn TokenEstimator,
) -> SubagentContext {
    let task = request.task;
    let head = render_head(request);
    let tail = render_tail(request);
    let fixed = estimator.estimate(&head) + estimator.estimate(&tail);
    let mut candidates = rank(request);
    let mut dropped = Vec::new();
    // Documentation sharing no word or file with the task is noise, whatever the room.
    candidates.retain(|c| {
        if c.section == Section::Docs && c.score <= 0.0 {
            dropped.push(item(
                c,
                estimator.estimate(&c.text),
                Some("not relevant to the task: no words or files in common".into()),
            ));
            return false;
        }
        true
    });
    let skills_seen = candidates
        .iter()
        .filter(|c| c.section == Section::Skills)
        .count();
    if skills_seen > MAX_SKILLS {
        let mut kept = 0;
        candidates.retain(|c| {
            if c.section != Section::Skills {
                return true;
            }
            kept += 1;
            if kept <= MAX_SKILLS {
                return true;
            }
            dropped.push(ContextItem {
                section: c.section.name().into(),
                label: c.label.clone(),
                tokens: estimator.estimate(&c.text),
                score: c.score,
                reason: Some(format!("not among the {MAX_SKILLS} most relevant skills")),
            });
            false
        });
    }

    // Fill in priority order; the first that does not fit ends the filling.
    let mut chosen: Vec<(Candidate, u32, Option<String>)> = Vec::new();
    let mut used = fixed;
    let mut full = fixed > request.budget;
    let mut opened: BTreeSet<Section> = BTreeSet::new();
    for section in Section::PRIORITY {
        for candidate in candidates.iter().filter(|c| c.section == section) {
            let tokens = estimator.estimate(&candidate.text);
            if full {
                let reason = if fixed > request.budget {
                    "the task's own part is already over the token budget"
                } else {
                    "over the token budget: ranked below what filled it"
                };
                dropped.push(item(candidate, tokens, Some(reason.into())));
                continue;
            }
            let heading = if opened.contains(&section) {
                0
            } else {
                estimator.estimate(section.heading()) + 1
            };
            let left = request.budget.saturating_sub(used + heading);
            if tokens < left {
                used += heading + tokens + 1;
                opened.insert(section);
                chosen.push((
                    Candidate {
                        section,
                        label: candidate.label.clone(),
                        text: candidate.text.clone(),
                        score: candidate.score,
                    },
                    tokens,
                    None,
                ));
                continue;
            }
            full = true;
            if left >= MIN_TRUNCATED
                && let Some(cut) = truncate(&candidate.text, tokens, left - 1, estimator)
            {
                let cut_tokens = estimator.estimate(&cut);
                used += heading + cut_tokens + 1;
                opened.insert(section);
                let reason =
                    format!("truncated to {cut_tokens} of {tokens} tokens to fit the budget");
                chosen.push((
                    Candidate {
                        section,
                        label: candidate.label.clone(),
                        text: cut,
                        score: candidate.score,
                    },
                    cut_tokens,
                    Some(reason),
                ));
            } else {
                dropped.push(item(
                    candidate,
                    tokens,
                    Some(format!(
                        "over the token budget ({}): needs {tokens} tokens, {left} left",
                        request.budget
                    )),
                ));
            }
        }
    }

    // The estimate of the whole is what must fit: give back the last-chosen until it does.
    loop {
        let prompt = assemble(&head, &tail, &chosen);
        let estimated = estimator.estimate(&prompt);
        if estimated <= request.budget || chosen.is_empty() {
            let mut included = vec![ContextItem {
                section: "task".into(),
                label: task.key.clone(),
                tokens: fixed,
                score: 0.0,
                reason: None,
            }];
            let mut order: Vec<&(Candidate, u32, Option<String>)> = chosen.iter().collect();
            order.sort_by_key(|(c, _, _)| c.section);
            included.extend(
                order
                    .into_iter()
                    .map(|(c, tokens, reason)| item(c, *tokens, reason.clone())),
            );
            return SubagentContext {
                prompt,
                estimated_tokens: estimated,
                budget: request.budget,
                fits: estimated <= request.budget,
                included,
                dropped,
            };
        }
        if let Some((candidate, tokens, _)) = chosen.pop() {
            dropped.insert(
                0,
                item(
                    &candidate,
                    tokens,
                    Some(format!(
                        "over the token budget ({}) once the prompt was put together",
                        request.budget
                    )),
                ),
            );
        }
    }
}

fn item(candidate: &Candidate, tokens: u32, reason: Option<String>) -> ContextItem {
    ContextItem {
        section: candidate.section.name().into(),
        label: candidate.label.clone(),
        tokens,
        score: candidate.score,
        reason,
    }
}

/// The longest prefix of `text`, cut at a line or word, that fits `room` tokens with its marker.
fn truncate(text: &str, tokens: u32, room: u32, estimator: &dyn TokenEstimator) -> Option<String> {
    let marker = |shown: usize| {
        format!(
            "\n\n[… cut by the orchestrator to fit the context budget: {shown} of {} characters shown]\n",
            text.len()
        )
    };
    let mut length = (text.len() as f64 * f64::from(room) / f64::from(tokens.max(1))) as usize;
    for _ in 0..64 {
        let mut end = length.min(text.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let cut_at = text[..end]
            .rfind('\n')
            .filter(|&at| at > end / 2)
            .or_else(|| text[..end].rfind(' ').filter(|&at| at > end / 2))
            .unwrap_or(end);
        let candidate = format!("{}{}", &text[..cut_at], marker(cut_at));
        if estimator.estimate(&candidate) <= room {
            return (cut_at > 0).then_some(candidate);
        }
        if end == 0 {
            return None;
        }
        length = end * 9 / 10;
    }
    None
}

fn assemble(head: &str, tail: &str, chosen: &[(Candidate, u32, Option<String>)]) -> String {
    let mut prompt = head.to_owned();
    for section in [
        Section::Decisions,
        Section::History,
        Section::Docs,
        Section::Skills,
    ] {
        let mut first = true;
        for (candidate, _, _) in chosen.iter().filter(|(c, _, _)| c.section == section) {
            if first {
                prompt.push_str(section.heading());
            }
            first = false;
            // Skills are a list; the rest are sub-sections.
            if section != Section::Skills {
                prompt.push('\n');
            }
            prompt.push_str(&candidate.text);
        }
    }
    prompt.push_str(tail);
    prompt
}

fn bullets(items: &[String]) -> String {
    items.iter().map(|i| format!("- {}\n", i.trim())).collect()
}

fn render_head(request: &ContextRequest<'_>) -> String {
    let (plan, task) = (request.plan, request.task);
    let mut text = format!(
        "# Task {}: {}\n\n{}\n",
        task.key,
        task.title.trim(),
        task.description.trim()
    );
    if !task.files.is_empty() {
        text.push_str(&format!("\n## Files\n\nThe files this task changes (paths or globs from the project root):\n\n{}", bullets(&task.files)));
    }
    if !task.reads.is_empty() {
        text.push_str(&format!(
            "\nFiles to read but not change (no other task changes them while you work):\n\n{}",
            bullets(&task.reads)
        ));
    }
    if !task.depends_on.is_empty() {
        let names: Vec<String> = task
            .depends_on
            .iter()
            .map(|key| {
                plan.task(key)
                    .map_or_else(|| key.clone(), |t| format!("{key}: {}", t.title))
            })
            .collect();
        text.push_str(&format!(
            "\n## Builds on\n\nThese tasks were completed before this one:\n\n{}",
            bullets(&names)
        ));
    }
    text.push_str(&format!(
        "\n## Goal of the project\n\n{}\n",
        plan.goal.trim()
    ));
    if !plan.success_criteria.is_empty() {
        text.push_str(&format!(
            "\n## Success criteria of the project\n\n{}",
            bullets(&plan.success_criteria)
        ));
    }
    if !plan.constraints.is_empty() {
        text.push_str(&format!(
            "\n## Constraints\n\n{}",
            bullets(&plan.constraints)
        ));
    }
    text
}

fn render_tail(request: &ContextRequest<'_>) -> String {
    let task = request.task;
    let mut text = String::new();
    if !task.verification.is_empty() {
        text.push_str(&format!(
            "\n## Verification\n\nThe work is accepted when these pass. The orchestrator runs them itself once you stop; running them yourself is fine, changing them is not:\n\n{}",
            bullets(&task.verification)
        ));
    }
    let mut rules = vec![
        "Keep to this task. Change the files listed above; changing others needs a person's approval, so do it only when the task cannot be done without it.".to_owned(),
        "Every command and edit passes a permission policy. A refusal is deliberate: find another way, never a way around it.".to_owned(),
        "Do not delete, skip or weaken tests, and do not change the checks' configuration: the verifier compares against the starting point and rejects such work.".to_owned(),
        "Never print, copy or commit secrets (keys, tokens, `.env` files).".to_owned(),
        "When the task is done, stop, and end with a short summary of what you changed and why.".to_owned(),
    ];
    let granted = |what: &str, list: &[String]| {
        (!list.is_empty()).then(|| {
            format!(
                "{what}: {}.",
                list.iter()
                    .map(|r| format!("`{r}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
    };
    rules.extend(granted(
        "Allowed for this task without asking",
        &task.rules.allow,
    ));
    rules.extend(granted(
        "Put before a person for this task",
        &task.rules.escalate,
    ));
    rules.extend(granted("Refused for this task", &task.rules.deny));
    text.push_str(&format!("\n## Rules of this run\n\n{}", bullets(&rules)));
    if let Some(error) = request.previous_error {
        text.push_str(&format!("\n## The previous attempt failed\n\n{}\n\nContinue from where the work stands and fix that.\n", error.trim()));
    }
    text
}

/// The ranked candidates of every section, best first within each.
fn rank(request: &ContextRequest<'_>) -> Vec<Candidate> {
    let (plan, task) = (request.plan, request.task);
    let mut words = rank::Words::default();
    let query = words.of(&format!(
        "{} {} {}",
        task.title,
        task.description,
        task.files.join(" ")
    ));
    let mut all = Vec::new();

    // Decisions: the words, the task's files named, the decision cited by the task.
    let decisions: Vec<(f64, Candidate)> = plan
        .decisions
        .iter()
        .map(|d| {
            let mut text = format!(
                "### {}: {}\n\nWhy: {}\n",
                d.key,
                d.what.trim(),
                d.why.trim()
            );
            for alternative in &d.rejected_alternatives {
                text.push_str(&format!(
                    "Not chosen: {} — {}\n",
                    alternative.option.trim(),
                    alternative.reason.trim()
                ));
            }
            let mut bonus = 5.0 * rank::mentions(&format!("{} {}", d.what, d.why), &task.files);
            if cites(&task.description, &d.key) {
                bonus += 8.0;
            }
            (
                bonus,
                Candidate {
                    section: Section::Decisions,
                    label: d.key.clone(),
                    text,
                    score: 0.0,
                },
            )
        })
        .collect();
    all.extend(scored(&mut words, &query, decisions));

    // Prior work: the same task, its dependencies, tasks sharing files; other plans only when
    // they share files.
    let ancestors = ancestors(plan, task);
    let history: Vec<(f64, Candidate)> = request
        .history
        .iter()
        .filter_map(|h| {
            let shares = h
                .files
                .iter()
                .chain(&h.files_changed)
                .any(|f| task.files.iter().any(|t| rank::paths_meet(f, t)));
            let mut bonus = if shares { 6.0 } else { 0.0 };
            if h.other_plan.is_none() {
                if h.task_key == task.key {
                    bonus += 20.0;
                } else if task.depends_on.contains(&h.task_key) {
                    bonus += 10.0;
                } else if ancestors.contains(h.task_key.as_str()) {
                    bonus += 5.0;
                }
            } else if !shares {
                return None;
            }
            let label = match &h.other_plan {
                Some(plan) => format!("{} ({plan})", h.task_key),
                None if h.task_key == task.key => format!("{} (earlier run)", h.task_key),
                None => h.task_key.clone(),
            };
            Some((
                bonus,
                Candidate {
                    section: Section::History,
                    label,
                    text: render_prior(h),
                    score: 0.0,
                },
            ))
        })
        .collect();
    all.extend(scored(&mut words, &query, history));

    let docs: Vec<(f64, Candidate)> = request
        .docs
        .iter()
        .map(|chunk| {
            let place = if chunk.heading_path.is_empty() {
                chunk.source.clone()
            } else {
                format!("{} › {}", chunk.source, chunk.heading_path.join(" › "))
            };
            let text = format!("### {place}\n\n{}\n", chunk.text.trim());
            (
                3.0 * rank::mentions(&chunk.text, &task.files),
                Candidate {
                    section: Section::Docs,
                    label: place,
                    text,
                    score: 0.0,
                },
            )
        })
        .collect();
    all.extend(scored(&mut words, &query, docs));

    let skills: Vec<(f64, Candidate)> = request
        .skills
        .iter()
        .map(|s| {
            (
                0.0,
                Candidate {
                    section: Section::Skills,
                    label: s.name.clone(),
                    text: format!("- **{}**: {}\n", s.name, s.description.trim()),
                    score: 0.0,
                },
            )
        })
        .collect();
    all.extend(scored(&mut words, &query, skills));
    all
}

/// BM25 of each candidate's text plus its bonus, best first; ties keep their input order.
fn scored(
    words: &mut rank::Words,
    query: &[String],
    candidates: Vec<(f64, Candidate)>,
) -> Vec<Candidate> {
    let documents: Vec<Vec<String>> = candidates.iter().map(|(_, c)| words.of(&c.text)).collect();
    let scores = rank::bm25(query, &documents);
    let mut ranked: Vec<Candidate> = candidates
        .into_iter()
        .zip(scores)
        .map(|((bonus, mut c), score)| {
            // Rounded so that the score shown and the order agree, whatever the platform.
            c.score = ((score + bonus) * 1000.0).round() / 1000.0;
            c
        })
        .collect();
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score));
    ranked
}

fn render_prior(h: &PriorWork) -> String {
    let plan = h
        .other_plan
        .as_ref()
        .map(|p| format!(" (plan “{p}”)"))
        .unwrap_or_default();
    let attempts = if h.attempts > 1 {
        format!(", after {} attempts", h.attempts)
    } else {
        String::new()
    };
    let mut text = format!(
        "### {}: {}{plan} — {}{attempts}\n",
        h.task_key,
        h.title.trim(),
        h.status
    );
    if !h.files_changed.is_empty() {
        text.push_str(&format!(
            "\nFiles changed: {}\n",
            h.files_changed.join(", ")
        ));
    }
    if let Some(error) = &h.error {
        text.push_str(&format!("\nLast error: {}\n", error.trim()));
    }
    if !h.summary.trim().is_empty() {
        let quoted: Vec<String> = h
            .summary
            .trim()
            .lines()
            .map(|l| format!("> {l}").trim_end().to_owned())
            .collect();
        text.push_str(&format!(
            "\nThe agent's last words:\n\n{}\n",
            quoted.join("\n")
        ));
    }
    text
}

/// Whether `text` names `key` as a word (`D3`, not `D30`).
fn cites(text: &str, key: &str) -> bool {
    let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
    !key.is_empty()
        && text.match_indices(key).any(|(at, _)| {
            boundary(text[..at].chars().next_back())
                && boundary(text[at + key.len()..].chars().next())
        })
}

/// Every task the task depends on, directly or not.
fn ancestors<'a>(plan: &'a PlanContent, task: &'a Task) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::new();
    let mut stack: Vec<&str> = task.depends_on.iter().map(String::as_str).collect();
    while let Some(key) = stack.pop() {
        if seen.insert(key)
            && let Some(t) = plan.task(key)
        {
            stack.extend(t.depends_on.iter().map(String::as_str));
        }
    }
    seen
}
