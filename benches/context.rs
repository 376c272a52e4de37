//! The context builder and the knowledge base at size: a plan of 1,000 decisions, a knowledge base
//! of more than 10,000 chunks.
//!
//! Reports: indexing throughput (MB/s and chunks/s, through the engine: crawl, chunk, index,
//! record), query latency (median and p99, on the index directly and through the engine), and
//! the time to build a task's context (the whole engine path: plan, history, knowledge-base
//! lookup, skills, ranking and budget; and the builder alone given all 10,000 chunks as
//! candidates, the worst case).
//!
//! Run with `cargo bench --bench context` (a release build). Without `--bench` it runs a small
//! version quickly.

use std::time::{Duration, Instant};

use orchestrator::config::{Overrides, Settings};
use orchestrator::context::tokens::BpeEstimator;
use orchestrator::context::{ContextRequest, PriorWork, build_context};
use orchestrator::domain::{Decision, Phase, PlanContent, PlanStatus, RuleLists, Task};
use orchestrator::knowledge::{Chunk, KnowledgeBase};
use orchestrator::{ContextFor, Orchestrator};

/// Deterministic words: a small linear congruential generator over made-up syllables, with a
/// skewed choice so that some words are common and most are rare, as in prose.
struct Words(u64);

impl Words {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn word(&mut self) -> String {
        const SYLLABLES: [&str; 24] = [
            "ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "zen", "dor", "pel", "quo", "bri",
            "tan", "gus", "hel", "jor", "wex", "fin", "cal", "mon", "ter", "pix", "dal",
        ];
        let rank = (self.next() % 3000) as f64;
        let index = (rank * rank / 3000.0) as u64; // skewed towards small indexes
        let (a, b, c) = (index % 24, (index / 24) % 24, (index / 576) % 24);
        format!(
            "{}{}{}",
            SYLLABLES[a as usize],
            SYLLABLES[b as usize],
            if c > 0 { SYLLABLES[c as usize] } else { "" }
        )
    }

    fn sentence(&mut self, words: usize) -> String {
        let mut out: Vec<String> = (0..words).map(|_| self.word()).collect();
        out[0] = capitalise(&out[0]);
        format!("{}.", out.join(" "))
    }
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn percentile(samples: &mut [Duration], p: f64) -> Duration {
    samples.sort();
    let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[index]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn plan(words: &mut Words, decisions: usize, tasks: usize) -> PlanContent {
    let tasks: Vec<Task> = (0..tasks)
        .map(|i| Task {
            reads: Vec::new(),
            key: format!("T{i}"),
            title: words.sentence(4),
            description: (0..3)
                .map(|_| words.sentence(12))
                .collect::<Vec<_>>()
                .join(" "),
            files: vec![
                format!("src/mod{}/file{i}.py", i % 20),
                format!("tests/test_{i}.py"),
            ],
            depends_on: if i > 0 {
                vec![format!("T{}", i - 1)]
            } else {
                vec![]
            },
            verification: vec!["pytest".into(), "ruff check .".into()],
            rules: RuleLists::default(),
        })
        .collect();
    PlanContent {
        goal: words.sentence(20),
        success_criteria: vec![words.sentence(10), words.sentence(10)],
        constraints: vec![words.sentence(8)],
        phases: vec![Phase {
            overlap: false,
            key: "p1".into(),
            name: "All".into(),
            description: words.sentence(6),
            tasks,
        }],
        decisions: (0..decisions)
            .map(|i| Decision {
                key: format!("D{i}"),
                what: format!("{} in src/mod{}/", words.sentence(10), i % 20),
                why: words.sentence(25),
                rejected_alternatives: vec![],
            })
            .collect(),
    }
}

/// A docs folder of `documents` Markdown files with `sections` sections each.
fn write_corpus(
    dir: &std::path::Path,
    words: &mut Words,
    documents: usize,
    sections: usize,
) -> u64 {
    let mut bytes = 0;
    for d in 0..documents {
        let mut text = format!(
            "# {}\n\n{}\n",
            capitalise(&words.word()),
            words.sentence(15)
        );
        for s in 0..sections {
            text.push_str(&format!("\n## {} {s}\n\n", capitalise(&words.word())));
            for _ in 0..3 {
                text.push_str(&words.sentence(14));
                text.push(' ');
            }
            text.push('\n');
        }
        let path = dir.join(format!("part{}/doc{d}.md", d % 50));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
        bytes += text.len() as u64;
    }
    bytes
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let (documents, sections, decisions, queries, builds) = if quick {
        (200, 5, 100, 50, 3)
    } else {
        (2_000, 5, 1_000, 1_000, 20)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("project");
    std::fs::create_dir_all(root.join("docs")).unwrap();
    let root = root.canonicalize().unwrap();
    let mut words = Words(7);
    let corpus_bytes = write_corpus(&root.join("docs"), &mut words, documents, sections);

    runtime.block_on(async {
        let overrides = Overrides { data_dir: Some(dir.path().join("data")), tools: None };
        let engine = Orchestrator::open(Settings::load(&root, &|_| None, &overrides).unwrap()).await.unwrap();

        // Indexing.
        engine.kb_add("docs").await.unwrap();
        let start = Instant::now();
        let reports = engine.kb_index(None, &|_| {}).await.unwrap();
        let took = start.elapsed();
        let chunks = reports[0].1.chunks;
        println!(
            "indexing: {documents} documents, {:.1} MB, {chunks} chunks in {:.2} s — {:.2} MB/s, {:.0} chunks/s",
            corpus_bytes as f64 / 1e6,
            took.as_secs_f64(),
            corpus_bytes as f64 / 1e6 / took.as_secs_f64(),
            f64::from(chunks) / took.as_secs_f64()
        );
        let start = Instant::now();
        let again = engine.kb_index(None, &|_| {}).await.unwrap();
        println!("re-indexing unchanged: {} documents skipped in {}", again[0].1.unchanged, ms(start.elapsed()));

        // Queries: three rare-ish words each.
        let kb = KnowledgeBase::open(&dir.path().join("data/knowledge/1")).unwrap();
        let sources = std::collections::HashMap::from([(1_i64, root.join("docs").to_string_lossy().into_owned())]);
        let questions: Vec<String> = (0..queries).map(|_| format!("{} {} {}", words.word(), words.word(), words.word())).collect();
        let mut direct = Vec::new();
        let mut found = 0;
        for q in &questions {
            let start = Instant::now();
            let hits = kb.search(q, 8, &sources).unwrap();
            direct.push(start.elapsed());
            found += usize::from(!hits.is_empty());
        }
        let mut through = Vec::new();
        for q in questions.iter().take(queries / 4) {
            let start = Instant::now();
            std::hint::black_box(engine.kb_search(q, 8).await.unwrap());
            through.push(start.elapsed());
        }
        println!(
            "queries over {} chunks (k = 8, {found} of {queries} with hits): index median {}, p99 {}; engine (opens the index) median {}, p99 {}",
            kb.chunk_count(),
            ms(percentile(&mut direct, 0.5)),
            ms(percentile(&mut direct, 0.99)),
            ms(percentile(&mut through, 0.5)),
            ms(percentile(&mut through, 0.99))
        );

        // The context of a task among 1,000 decisions, with history.
        let content = plan(&mut words, decisions, 100);
        let store = engine.store().clone();
        let project = engine.project().id;
        let plan_row = store.create_plan(project, None, "Bench", &content, "bench").unwrap();
        store.set_plan_status(plan_row.id, PlanStatus::Approved).unwrap();
        for i in 0..50 {
            let run = store.create_run(&orchestrator::store::NewRun { plan_id: plan_row.id, task_key: format!("T{i}"), agent: "claude".into() }).unwrap();
            store.set_run_status(run.id, orchestrator::domain::RunStatus::Delegated, None).unwrap();
        }
        let mut samples = Vec::new();
        let mut last = None;
        for _ in 0..builds {
            let start = Instant::now();
            let context = engine.context_for_task(plan_row.id, "T60", ContextFor::default()).await.unwrap();
            samples.push(start.elapsed());
            last = Some(context);
        }
        let last = last.unwrap();
        println!(
            "context of a task among {decisions} decisions, 100 tasks, 50 runs and {chunks} chunks (engine path): median {}, max {} — {} tokens, {} items in, {} dropped",
            ms(percentile(&mut samples, 0.5)),
            ms(*samples.iter().max().unwrap()),
            last.estimated_tokens,
            last.included.len(),
            last.dropped.len()
        );

        // The builder alone with every chunk as a candidate, at the default budget.
        let all_chunks: Vec<Chunk> = (0..usize::try_from(chunks).unwrap())
            .map(|i| Chunk { source: format!("docs/doc{}.md", i / sections), heading_path: vec![format!("Part {i}")], text: (0..3).map(|_| words.sentence(14)).collect::<Vec<_>>().join(" ") })
            .collect();
        let history: Vec<PriorWork> = (0..50)
            .map(|i| PriorWork {
                task_key: format!("T{i}"),
                title: words.sentence(4),
                other_plan: None,
                files: vec![format!("src/mod{}/file{i}.py", i % 20)],
                status: "COMPLETED".into(),
                attempts: 1,
                files_changed: vec![format!("src/mod{}/file{i}.py", i % 20)],
                summary: words.sentence(40),
                error: None,
            })
            .collect();
        let estimator = BpeEstimator::default();
        estimator.warm();
        let task = content.task("T60").unwrap();
        let request = ContextRequest { plan: &content, task, history: &history, docs: &all_chunks, skills: &[], previous_error: None, budget: 150_000 };
        let mut samples = Vec::new();
        let mut result = None;
        for _ in 0..builds.min(5) {
            let start = Instant::now();
            result = Some(build_context(&request, &estimator));
            samples.push(start.elapsed());
        }
        let result = result.unwrap();
        println!(
            "builder alone, {decisions} decisions + {} chunk candidates, budget 150000: median {} — {} tokens, {} in, {} dropped",
            all_chunks.len(),
            ms(percentile(&mut samples, 0.5)),
            result.estimated_tokens,
            result.included.len(),
            result.dropped.len()
        );
        assert!(result.estimated_tokens <= 150_000);
        engine.shutdown().await;
    });
}
