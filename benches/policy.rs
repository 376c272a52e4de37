//! How long the permission policy takes to answer a tool call: every command of the test corpus
//! (`tests/policy/corpus.txt`), parsed and judged with a project's rules, over and over.
//!
//! Run with `cargo bench --bench policy` (a release build); prints min, median, p95 and max per
//! decision, and the slowest command.

use std::time::{Duration, Instant};

use orchestrator::policy::{Policy, PolicyContext, RuleLists, ToolRequest};

const ROUNDS: usize = 200;

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, so run once quickly.
    let quick = !std::env::args().any(|a| a == "--bench");
    let rounds = if quick { 1 } else { ROUNDS };
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().canonicalize().expect("canonical temp dir");
    std::fs::create_dir_all(root.join("src")).expect("src dir");
    let context = PolicyContext {
        declared_files: Some(vec!["src/**".into(), "tests/**".into()]),
        ..PolicyContext::new(root.clone())
    };
    let policy = Policy::from_lists(&RuleLists {
        allow: vec![
            "Bash(npm run seed:*)".into(),
            "Edit(docs/**)".into(),
            "WebFetch(domain:docs.rs)".into(),
        ],
        escalate: vec!["Bash(git commit:*)".into()],
        deny: vec![
            "Bash(git push --force:*)".into(),
            "Read(./private/**)".into(),
        ],
    })
    .expect("valid rules");
    let commands: Vec<String> = include_str!("../tests/policy/corpus.txt")
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .map(|(_, command)| {
            command
                .replace("\\n", "\n")
                .replace("{root}", &root.to_string_lossy())
        })
        .collect();

    let mut samples = Vec::with_capacity(commands.len() * rounds);
    let mut slowest = (Duration::ZERO, String::new());
    for _ in 0..rounds {
        for command in &commands {
            let request = ToolRequest::bash(command);
            let start = Instant::now();
            let decision = policy.decide(&request, &context);
            let took = start.elapsed();
            std::hint::black_box(decision);
            if took > slowest.0 {
                slowest = (took, command.clone());
            }
            samples.push(took);
        }
    }
    samples.sort();
    let pick = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    println!(
        "policy decision (corpus, {} commands × {rounds})  min {:>9.3?}  median {:>9.3?}  p95 {:>9.3?}  max {:>9.3?}",
        commands.len(),
        samples[0],
        pick(0.5),
        pick(0.95),
        samples[samples.len() - 1]
    );
    println!("slowest: {:?} ({:.3?})", slowest.1, slowest.0);
}
