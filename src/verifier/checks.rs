//! Which checks run, and how: presets for Python, Rust, Node and Go, detected from the project
//! and overridable (or extended with custom checks) in `orchestrator.toml`.

use std::path::Path;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::config::VerifierConfig;
use crate::error::{Error, Result};

/// How a check's output is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OutputFormat {
    /// pytest with `--junitxml`.
    Pytest,
    /// ruff `--output-format json`.
    Ruff,
    /// mypy's `file:line:col: error: … [code]` lines.
    Mypy,
    /// flake8's `file:line:col: CODE message` lines.
    Flake8,
    /// bandit `-f json`.
    Bandit,
    /// `cargo test --message-format json` and the test harness's text.
    CargoTest,
    /// `cargo clippy --message-format json`.
    Clippy,
    /// `cargo fmt --check` diffs.
    Rustfmt,
    /// eslint `-f json`.
    Eslint,
    /// `tsc --pretty false` lines.
    Tsc,
    /// `go test -json`.
    GoTest,
    /// `go vet` lines.
    GoVet,
    /// Nothing to read: the exit code decides, the output is kept.
    None,
}

/// One check, ready to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CheckSpec {
    /// Its name in reports and on the command line.
    pub name: String,
    /// The program and its arguments. `{junit}` stands for a report file the verifier provides.
    pub command: Vec<String>,
    /// How its output is read.
    pub format: OutputFormat,
    /// Targets appended when it runs on the whole tree (`.`).
    pub whole_tree: Vec<String>,
    /// File extensions it can be given instead of `whole_tree`, when the changed files are
    /// known; empty: it always runs whole.
    pub accepts: Vec<String>,
    /// Its own time limit, if not the default.
    pub timeout: Option<Duration>,
    /// The paths the project's own configuration gives the tool (mypy's `files`): it then runs
    /// on those, and of the changed files it is given only the ones inside them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<Vec<String>>,
}

/// The preset checks, by name.
pub const PRESETS: &[&str] = &[
    "pytest",
    "ruff",
    "flake8",
    "mypy",
    "bandit",
    "cargo-test",
    "clippy",
    "rustfmt",
    "npm-test",
    "eslint",
    "tsc",
    "go-test",
    "go-vet",
];

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|w| (*w).to_owned()).collect()
}

/// A preset by name.
pub fn preset(name: &str) -> Option<CheckSpec> {
    let spec = |command: &[&str], format, whole: &[&str], accepts: &[&str]| CheckSpec {
        name: name.to_owned(),
        command: words(command),
        format,
        whole_tree: words(whole),
        accepts: words(accepts),
        timeout: None,
        within: None,
    };
    Some(match name {
        "pytest" => spec(
            &[
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "-o",
                "junit_family=xunit1",
                "--junitxml={junit}",
            ],
            OutputFormat::Pytest,
            &[],
            &[],
        ),
        "ruff" => spec(
            // --no-fix: `fix = true` in the project's ruff configuration must not rewrite the
            // tree being verified (and hide what it fixed).
            &[
                "ruff",
                "check",
                "--no-fix",
                "--output-format",
                "json",
                "--no-cache",
            ],
            OutputFormat::Ruff,
            &["."],
            &["py", "pyi"],
        ),
        "flake8" => spec(&["flake8"], OutputFormat::Flake8, &["."], &["py"]),
        "mypy" => spec(
            &[
                "mypy",
                "--show-column-numbers",
                "--show-error-codes",
                "--no-error-summary",
                "--no-color-output",
                "--no-pretty",
                "--cache-dir=/dev/null",
            ],
            OutputFormat::Mypy,
            &["."],
            &["py", "pyi"],
        ),
        "bandit" => spec(
            &["bandit", "-f", "json", "-q"],
            OutputFormat::Bandit,
            &[
                "-r",
                ".",
                "-x",
                "./tests,./test,./.venv,./venv,./node_modules,./.git,./build,./dist,./.tox",
            ],
            &["py"],
        ),
        "cargo-test" => spec(
            &[
                "cargo",
                "test",
                "--no-fail-fast",
                "--color",
                "never",
                "--message-format",
                "json",
            ],
            OutputFormat::CargoTest,
            &[],
            &[],
        ),
        "clippy" => spec(
            &[
                "cargo",
                "clippy",
                "--all-targets",
                "--color",
                "never",
                "--message-format",
                "json",
                "--",
                "-D",
                "warnings",
            ],
            OutputFormat::Clippy,
            &[],
            &[],
        ),
        "rustfmt" => spec(
            &["cargo", "fmt", "--all", "--check"],
            OutputFormat::Rustfmt,
            &[],
            &[],
        ),
        "npm-test" => spec(&["npm", "test"], OutputFormat::None, &[], &[]),
        "eslint" => spec(
            &["npx", "--no-install", "eslint", "-f", "json"],
            OutputFormat::Eslint,
            &["."],
            &["js", "jsx", "ts", "tsx", "mjs", "cjs"],
        ),
        "tsc" => spec(
            &[
                "npx",
                "--no-install",
                "tsc",
                "--noEmit",
                "--pretty",
                "false",
            ],
            OutputFormat::Tsc,
            &[],
            &[],
        ),
        "go-test" => spec(
            &["go", "test", "-json", "./..."],
            OutputFormat::GoTest,
            &[],
            &[],
        ),
        "go-vet" => spec(&["go", "vet", "./..."], OutputFormat::GoVet, &[], &[]),
        _ => return None,
    })
}

/// The checks a project calls for, from its files (the planner's project analysis). Python
/// sources always get bandit, configured or not: a security scan is part of the default gate.
pub fn detect(dir: &Path) -> Vec<String> {
    let analysis = crate::planner::analysis::analyze(dir);
    let mut names = Vec::new();
    for tool in analysis
        .test_tools
        .iter()
        .chain(&analysis.lint_tools)
        .chain(&analysis.type_checkers)
        .chain(&analysis.security_tools)
    {
        let name = match tool.name.as_str() {
            "cargo test" => "cargo-test",
            "cargo clippy" => "clippy",
            "cargo fmt" => "rustfmt",
            "npm test" => "npm-test",
            "go test" => "go-test",
            "go vet" => "go-vet",
            other => other,
        };
        if PRESETS.contains(&name) && !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    }
    if analysis.languages.iter().any(|l| l == "Python") && !names.iter().any(|n| n == "bandit") {
        names.push("bandit".to_owned());
    }
    names
}

/// A preset fitted to the project's own configuration of its tool: mypy checks the `files` the
/// project configures (not `.`, which would take in what it leaves out); bandit reads
/// `[tool.bandit]` from pyproject.toml (which it does only when told); cargo refuses to rewrite
/// a Cargo.lock that is out of date (`--locked`) rather than change the tree it verifies.
fn fitted(mut spec: CheckSpec, dir: &Path) -> CheckSpec {
    match spec.name.as_str() {
        "mypy" => {
            if let Some(files) = crate::planner::analysis::mypy_files(dir) {
                spec.whole_tree.clear();
                if files.iter().any(|f| f.contains(['*', '?', '['])) {
                    // Globs: which changed file they take is mypy's business; run it whole.
                    spec.accepts.clear();
                } else {
                    spec.within = Some(files);
                }
            }
        }
        "bandit" => {
            let pyproject = std::fs::read_to_string(dir.join("pyproject.toml")).unwrap_or_default();
            if pyproject.contains("[tool.bandit") {
                spec.command
                    .extend(["-c".to_owned(), "pyproject.toml".to_owned()]);
            }
        }
        "cargo-test" | "clippy" if dir.join("Cargo.lock").is_file() => {
            spec.command.insert(2, "--locked".to_owned());
        }
        _ => {}
    }
    spec
}

/// The checks to run: `requested` names (else the configured list, else the detected one),
/// each a preset or a check defined in `[verifier.check.NAME]` (which also overrides a preset).
pub fn resolve(
    dir: &Path,
    config: &VerifierConfig,
    requested: Option<&[String]>,
) -> Result<Vec<CheckSpec>> {
    let names: Vec<String> = match requested {
        Some(list) if !list.is_empty() => list.to_vec(),
        _ if !config.checks.is_empty() => config.checks.clone(),
        _ => detect(dir),
    };
    if names.is_empty() {
        return Err(Error::Invalid(format!(
            "no checks to run: nothing was detected in {} — name them with --checks or `checks = [...]` under [verifier] in orchestrator.toml (presets: {})",
            dir.display(),
            PRESETS.join(", ")
        )));
    }
    let mut specs = Vec::new();
    for name in names {
        let name = name.trim().to_owned();
        let spec = match (config.check.get(&name), preset(&name)) {
            (Some(custom), base) => {
                let format = custom
                    .format
                    .or(base.as_ref().map(|b| b.format))
                    .unwrap_or(OutputFormat::None);
                CheckSpec {
                    name: name.clone(),
                    command: if custom.command.is_empty() {
                        base.as_ref().map(|b| b.command.clone()).unwrap_or_default()
                    } else {
                        custom.command.clone()
                    },
                    format,
                    whole_tree: if custom.command.is_empty() {
                        base.as_ref()
                            .map(|b| b.whole_tree.clone())
                            .unwrap_or_default()
                    } else {
                        Vec::new()
                    },
                    accepts: custom.accepts.clone().unwrap_or_else(|| {
                        base.as_ref().map(|b| b.accepts.clone()).unwrap_or_default()
                    }),
                    timeout: custom.timeout_secs.map(Duration::from_secs),
                    within: None,
                }
            }
            (None, Some(spec)) => fitted(spec, dir),
            (None, None) => {
                return Err(Error::Invalid(format!(
                    "unknown check `{name}`: use a preset ({}) or define it as [verifier.check.{name}] with command = [...] in orchestrator.toml",
                    PRESETS.join(", ")
                )));
            }
        };
        if spec.command.is_empty() {
            return Err(Error::Invalid(format!(
                "check `{name}` has an empty command"
            )));
        }
        specs.push(spec);
    }
    Ok(specs)
}
