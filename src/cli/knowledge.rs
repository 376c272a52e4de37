//! `orchestrator kb …`, `orchestrator skills …` and `orchestrator context …`.

use std::io::IsTerminal;
use std::sync::Mutex;

use clap::Subcommand;

use super::{UsageError, print};
use crate::Orchestrator;
use crate::context::{ContextItem, SubagentContext};
use crate::domain::PlanId;
use crate::knowledge::{Hit, IndexProgress, IndexReport};
use crate::orchestrator::ContextFor;
use crate::skills::SkillSet;
use crate::store::KbSource;

#[derive(Debug, Subcommand)]
pub(super) enum KbCommand {
    /// Add a documentation source: a folder (Markdown, reST, text, HTML) or a website's URL
    /// (same host only, 3 links deep, 200 pages at most, robots.txt respected). Then `kb index`.
    Add {
        /// The folder (from the project root, or absolute) or the http(s) URL.
        location: String,
        /// Index it right away.
        #[arg(long)]
        index: bool,
    },
    /// Index the sources: new and changed documents are read, unchanged ones skipped, vanished
    /// ones removed.
    Index {
        /// Only this source.
        #[arg(long, value_name = "ID")]
        source: Option<i64>,
        /// Print JSON (no progress display).
        #[arg(long)]
        json: bool,
    },
    /// Search the documentation: the best chunks with their source, headings and a snippet.
    Search {
        /// What to look for.
        query: String,
        /// How many results.
        #[arg(short, long, default_value_t = 5)]
        k: usize,
        /// Print JSON (with the chunks' whole text).
        #[arg(long)]
        json: bool,
    },
    /// The sources, with what is indexed from them.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove a source and everything indexed from it.
    Remove {
        /// The source's id (from `kb list`).
        id: i64,
    },
}

#[derive(Debug, Subcommand)]
pub(super) enum SkillsCommand {
    /// The skills found (project, user, configured folders) and the files that were skipped.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// One skill: where it is, its front matter and its instructions.
    Show {
        /// Its name.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

pub(super) async fn kb(orchestrator: &Orchestrator, command: KbCommand) -> anyhow::Result<()> {
    match command {
        KbCommand::Add { location, index } => {
            let source = orchestrator.kb_add(&location).await?;
            outln!(
                "source {}: {} ({})",
                source.id,
                source.location,
                source.kind
            );
            if index {
                index_sources(orchestrator, Some(source.id), false).await?;
            } else {
                outln!("Index it with `orchestrator kb index`.");
            }
            Ok(())
        }
        KbCommand::Index { source, json } => index_sources(orchestrator, source, json).await,
        KbCommand::Search { query, k, json } => {
            let hits = orchestrator.kb_search(&query, k).await?;
            print(json, &hits, |hits| hits_text(&query, hits))
        }
        KbCommand::List { json } => {
            let sources = orchestrator.kb_sources().await?;
            print(json, &sources, |s| sources_text(s))
        }
        KbCommand::Remove { id } => {
            orchestrator.kb_remove(id).await?;
            outln!("Removed source {id} and what was indexed from it.");
            Ok(())
        }
    }
}

async fn index_sources(
    orchestrator: &Orchestrator,
    only: Option<i64>,
    json: bool,
) -> anyhow::Result<()> {
    let bar = IndexBar::new(!json);
    let reports = orchestrator
        .kb_index(only, &|event| bar.show(&event))
        .await?;
    bar.clear();
    if reports.is_empty() {
        outln!("No source to index: add one with `orchestrator kb add PATH|URL`.");
        return Ok(());
    }
    let value: Vec<serde_json::Value> = reports
        .iter()
        .map(|(source, report)| serde_json::json!({"source": source, "report": report}))
        .collect();
    print(json, &value, |_| {
        reports.iter().map(|(s, r)| report_text(s, r)).collect()
    })
}

fn report_text(source: &KbSource, report: &IndexReport) -> String {
    let mut text = format!(
        "✓ {} — {} indexed ({} chunks), {} unchanged, {} removed; {} documents and {} chunks in all\n",
        source.location,
        report.indexed,
        report.chunks,
        report.unchanged,
        report.removed,
        source.documents,
        source.chunks
    );
    if report.embedded > 0 {
        text.push_str(&format!(
            "  {} chunks embedded for semantic search\n",
            report.embedded
        ));
    }
    for warning in &report.warnings {
        text.push_str(&format!("  warning: {warning}\n"));
    }
    if !report.skipped.is_empty() {
        text.push_str(&format!("  skipped {}:\n", report.skipped.len()));
        for skipped in report.skipped.iter().take(20) {
            text.push_str(&format!("    {skipped}\n"));
        }
        if report.skipped.len() > 20 {
            text.push_str(&format!(
                "    … and {} more (see --json)\n",
                report.skipped.len() - 20
            ));
        }
    }
    text
}

/// The progress of `kb index` on stderr: a bar redrawn in a terminal, a line per source otherwise.
struct IndexBar {
    enabled: bool,
    terminal: bool,
    current: Mutex<String>,
}

impl IndexBar {
    fn new(enabled: bool) -> Self {
        Self {
            enabled,
            terminal: std::io::stderr().is_terminal(),
            current: Mutex::new(String::new()),
        }
    }

    fn show(&self, event: &IndexProgress) {
        if !self.enabled {
            return;
        }
        let Ok(mut current) = self.current.lock() else {
            return;
        };
        match event {
            IndexProgress::Source {
                index,
                total,
                location,
            } => {
                *current = format!("[{}/{total}] {location}", index + 1);
                if self.terminal {
                    err!("\r\x1b[2K{current} …");
                } else {
                    errln!("{current} …");
                }
            }
            IndexProgress::Fetched(pages) if self.terminal => {
                err!("\r\x1b[2K{current} — {pages} pages fetched")
            }
            IndexProgress::Documents { done, total } if self.terminal => {
                let width = 30;
                let filled = if *total == 0 {
                    width
                } else {
                    done * width / total
                };
                err!(
                    "\r\x1b[2K{current} [{}{}] {done}/{total} documents",
                    "█".repeat(filled),
                    "·".repeat(width - filled)
                );
            }
            IndexProgress::Embedding { done, total } if self.terminal => {
                err!("\r\x1b[2K{current} — embedding {done}/{total} chunks")
            }
            _ => {}
        }
    }

    fn clear(&self) {
        if self.enabled && self.terminal {
            err!("\r\x1b[2K");
        }
    }
}

fn sources_text(sources: &[KbSource]) -> String {
    if sources.is_empty() {
        return "No documentation sources. Add one with `orchestrator kb add PATH|URL`.\n".into();
    }
    let mut text = format!(
        "{:>4}  {:<7} {:>9} {:>7}  {:<20} {}\n",
        "ID", "KIND", "DOCUMENTS", "CHUNKS", "INDEXED", "LOCATION"
    );
    for s in sources {
        let indexed = s
            .indexed_at
            .map_or_else(|| "never".to_owned(), |t| t.to_string());
        text.push_str(&format!(
            "{:>4}  {:<7} {:>9} {:>7}  {:<20} {}\n",
            s.id, s.kind, s.documents, s.chunks, indexed, s.location
        ));
    }
    text
}

fn hits_text(query: &str, hits: &[Hit]) -> String {
    if hits.is_empty() {
        return format!(
            "Nothing found for “{query}”. (Are the sources indexed? `orchestrator kb list`)\n"
        );
    }
    let mut text = String::new();
    for (i, hit) in hits.iter().enumerate() {
        let place = if hit.chunk.heading_path.is_empty() {
            String::new()
        } else {
            format!(" › {}", hit.chunk.heading_path.join(" › "))
        };
        text.push_str(&format!(
            "{}. {}{place}  ({:.2})\n   {}\n\n",
            i + 1,
            hit.chunk.source,
            hit.score,
            hit.snippet.replace('\n', " ")
        ));
    }
    text
}

pub(super) fn skills(
    orchestrator: &Orchestrator,
    command: Option<SkillsCommand>,
) -> anyhow::Result<()> {
    let set = orchestrator.skills();
    match command.unwrap_or(SkillsCommand::List { json: false }) {
        SkillsCommand::List { json } => print(json, &set, skills_text),
        SkillsCommand::Show { name, json } => {
            let Some(skill) = set.skills.iter().find(|s| s.name == name) else {
                let names: Vec<&str> = set.skills.iter().map(|s| s.name.as_str()).collect();
                let known = if names.is_empty() {
                    "there are none".to_owned()
                } else {
                    format!("the skills: {}", names.join(", "))
                };
                return Err(UsageError(format!("no skill is named `{name}` ({known})")).into());
            };
            print(json, skill, |s| {
                let mut text = format!(
                    "{} ({}, {})\n{}\n",
                    s.name,
                    s.origin,
                    s.path.display(),
                    s.description
                );
                if !s.allowed_tools.is_empty() {
                    text.push_str(&format!("allowed tools: {}\n", s.allowed_tools.join(", ")));
                }
                for (key, value) in &s.extra {
                    text.push_str(&format!("{key}: {value}\n"));
                }
                text.push_str(&format!("\n{}\n", s.body.trim_end()));
                text
            })
        }
    }
}

fn skills_text(set: &SkillSet) -> String {
    let mut text = String::new();
    if set.skills.is_empty() {
        text.push_str("No skills found (looked in .claude/skills/*/SKILL.md, ~/.claude/skills/*/SKILL.md and [context] skill_dirs).\n");
    }
    for skill in &set.skills {
        text.push_str(&format!(
            "{:<24} {:<8} {}\n",
            skill.name,
            skill.origin,
            skill.description.lines().next().unwrap_or_default()
        ));
    }
    for problem in &set.problems {
        text.push_str(&format!(
            "skipped {}: {}\n",
            problem.path.display(),
            problem.problem
        ));
    }
    text
}

pub(super) async fn context(
    orchestrator: &Orchestrator,
    plan: PlanId,
    task: &str,
    version: Option<u32>,
    budget: Option<u32>,
    json: bool,
) -> anyhow::Result<()> {
    let options = ContextFor {
        version,
        budget,
        ..ContextFor::default()
    };
    let context = orchestrator.context_for_task(plan, task, options).await?;
    if json {
        return print(true, &context, |_| String::new());
    }
    out!("{}", context.prompt);
    err!("{}", account(&context));
    Ok(())
}

/// What the prompt holds and what was left out: on stderr, under the prompt.
fn account(context: &SubagentContext) -> String {
    let line = |i: &ContextItem| {
        let reason = i
            .reason
            .as_ref()
            .map(|r| format!(" — {r}"))
            .unwrap_or_default();
        format!(
            "  {:<9} {:<40} {:>7} tokens  score {:>7.3}{reason}\n",
            i.section, i.label, i.tokens, i.score
        )
    };
    let mut text = format!(
        "\n— {} of {} tokens{} · {} included, {} dropped\n",
        context.estimated_tokens,
        context.budget,
        if context.fits {
            ""
        } else {
            " (OVER BUDGET: the task alone does not fit)"
        },
        context.included.len(),
        context.dropped.len()
    );
    text.extend(context.included.iter().map(line));
    if !context.dropped.is_empty() {
        text.push_str("dropped:\n");
        text.extend(context.dropped.iter().map(line));
    }
    text
}
