//! The permission policy as a library: the command corpus, rules, the other tools, and a
//! property test that nothing containing a refused command is ever allowed.

use std::path::{Path, PathBuf};

use orchestrator::policy::{
    Policy, PolicyContext, RuleLists, RuleSet, Severity, ToolRequest, Verdict,
};
use proptest::prelude::*;
use serde_json::json;

/// A project with secrets, CI configuration, a symlink that leads outside, and a home directory.
struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    home: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().canonicalize().unwrap();
    let root = base.join("project");
    let home = base.join("home");
    for d in [
        "src",
        "tests",
        "docs",
        "keys",
        ".github/workflows",
        ".venv/bin",
    ] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::create_dir_all(home.join(".ssh")).unwrap();
    std::fs::create_dir_all(base.join("elsewhere")).unwrap();
    for (file, text) in [
        ("src/main.py", "print(1)\n"),
        ("tests/test_main.py", "def test_ok():\n    pass\n"),
        ("README.md", "# demo\n"),
        (".env", "API_KEY=x\n"),
        (".env.example", "API_KEY=\n"),
        (".secrets.json", "{\"keys\": {}}\n"),
        ("keys/server.pem", "-----BEGIN-----\n"),
        (".github/workflows/ci.yml", "on: push\n"),
        (".venv/bin/activate", "\n"),
    ] {
        std::fs::write(root.join(file), text).unwrap();
    }
    std::os::unix::fs::symlink(base.join("elsewhere"), root.join("outside-link")).unwrap();
    Fixture {
        _dir: dir,
        root,
        home,
    }
}

impl Fixture {
    fn context(&self) -> PolicyContext {
        PolicyContext {
            project_root: self.root.clone(),
            home: Some(self.home.clone()),
            declared_files: Some(vec!["src/**".into(), "tests/**".into(), "README.md".into()]),
            secret_names: vec!["ANTHROPIC_API_KEY".into()],
            ..PolicyContext::default()
        }
    }
}

fn corpus(fixture: &Fixture) -> Vec<(Severity, String)> {
    let text = include_str!("policy/corpus.txt");
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (verdict, command) = line
                .split_once('\t')
                .unwrap_or_else(|| panic!("no tab in corpus line {line:?}"));
            let verdict = match verdict {
                "allow" => Severity::Allow,
                "escalate" => Severity::Escalate,
                "deny" => Severity::Deny,
                other => panic!("unknown verdict {other:?}"),
            };
            let command = command
                .replace("\\n", "\n")
                .replace("{root}", &fixture.root.to_string_lossy())
                .replace("{home}", &fixture.home.to_string_lossy());
            (verdict, command)
        })
        .collect()
}

#[test]
fn corpus_verdicts_match_and_nothing_dangerous_is_allowed() {
    let fixture = fixture();
    let context = fixture.context();
    let policy = Policy::default();
    let cases = corpus(&fixture);
    let mut wrong = Vec::new();
    let mut false_allows = 0;
    let (mut benign, mut benign_allowed) = (0, 0);
    for (expected, command) in &cases {
        let decision = policy.decide(&ToolRequest::bash(command), &context);
        if *expected == Severity::Allow {
            benign += 1;
            benign_allowed += usize::from(decision.verdict == Severity::Allow);
        } else if decision.verdict == Severity::Allow {
            false_allows += 1;
        }
        if decision.verdict != *expected {
            wrong.push(format!(
                "expected {expected}, got {}: {command:?}\n    {}",
                decision.verdict, decision.reason
            ));
        }
    }
    eprintln!(
        "corpus: {} commands, {benign} benign ({benign_allowed} auto-approved), {} dangerous or doubtful, {false_allows} false allows",
        cases.len(),
        cases.len() - benign
    );
    assert!(
        cases.len() >= 300 && benign >= 100,
        "the corpus must keep its size"
    );
    assert!(
        wrong.is_empty(),
        "{} verdicts differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
