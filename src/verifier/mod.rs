//! The verifier: the independent quality gate that alone completes a task. It runs the project's
//! checks itself — each in a fresh process in the tree being verified, with a clean environment,
//! a time limit and an output cap — reads their output into findings, compares the tree with its
//! base commit for tampering, and records which commit it verified.
//!
//! ```no_run
//! # async fn demo() -> orchestrator::Result<()> {
//! use orchestrator::verifier::{VerifyRequest, checks, verify};
//! let dir = std::path::Path::new("/work/project");
//! let config = orchestrator::config::VerifierConfig::default();
//! let request = VerifyRequest::new(dir, checks::resolve(dir, &config, None)?, &config);
//! let done = verify(&request, &|_| {}).await;
//! assert!(done.checks.iter().all(|c| c.passed));
//! # Ok(()) }
//! ```

pub mod checks;
pub mod parse;
pub mod run;
pub mod tamper;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use self::checks::{CheckSpec, OutputFormat};
use self::parse::{LineStyle, Parsed};
use crate::config::VerifierConfig;
use crate::domain::Timestamp;
pub use crate::domain::{CheckResult, Finding, Severity, TestCounts, VerificationReport};

/// What to verify and how.
#[derive(Debug, Clone)]
pub struct VerifyRequest {
    /// The tree: a run's worktree, or the project root.
    pub dir: PathBuf,
    /// The checks, in order.
    pub checks: Vec<CheckSpec>,
    /// The files the work changed (relative to `dir`); checks that take file lists get these.
    pub files_changed: Option<Vec<String>>,
    /// The commit to compare with for tampering (a run's base commit); none: no comparison.
    pub base: Option<String>,
    /// The task's declared files: changing check configuration or tests there is not tampering.
    pub declared_files: Vec<String>,
    /// The environment every check gets, and nothing else.
    pub env: Vec<(String, String)>,
    /// The default time limit per check.
    pub timeout: Duration,
    /// Bytes kept per output stream.
    pub max_output: usize,
    /// Give test suites only the changed test files.
    pub scope_tests: bool,
}

impl VerifyRequest {
    /// A request for `dir` with the configuration's limits and the allowed variables of this
    /// process's environment.
    pub fn new(dir: &Path, checks: Vec<CheckSpec>, config: &VerifierConfig) -> Self {
        let env = config
            .pass_env
            .iter()
            .filter_map(|name| std::env::var(name).ok().map(|value| (name.clone(), value)))
            .collect();
        Self {
            dir: dir.to_path_buf(),
            checks,
            files_changed: None,
            base: None,
            declared_files: Vec::new(),
            env,
            timeout: Duration::from_secs(config.timeout_secs.max(1)),
            max_output: usize::try_from(config.max_output_bytes)
                .unwrap_or(usize::MAX)
                .max(1024),
            scope_tests: config.scope_tests,
        }
    }
}

/// Where a verification stands, for live displays.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Progress {
    /// A check started.
    Started {
        /// Its position, from 0.
        index: usize,
        /// How many checks there are (tampering included).
        total: usize,
        /// Its name.
        name: String,
    },
    /// A check ended.
    Finished {
        /// Its position, from 0.
        index: usize,
        /// How many checks there are.
        total: usize,
        /// What it found.
        result: Box<CheckResult>,
    },
}

/// What verifying produced (the engine stores it as a [`VerificationReport`]).
#[derive(Debug, Clone)]
pub struct Verification {
    /// The commit verified (`HEAD` of the tree), if it is a git repository.
    pub commit: Option<String>,
    /// The tree had changes not in that commit.
    pub dirty: bool,
    /// The base commit the tampering check compared with.
    pub base_commit: Option<String>,
    /// When it started.
    pub started_at: Timestamp,
    /// When it ended.
    pub finished_at: Timestamp,
    /// One result per check, then `tampering` when there was a base to compare with.
    pub checks: Vec<CheckResult>,
}

/// Runs every check in turn (never in parallel: they may share build caches), then the
/// tampering comparison; reports progress as it goes.
pub async fn verify(
    request: &VerifyRequest,
    on_progress: &(dyn Fn(Progress) + Send + Sync),
) -> Verification {
    let started_at = Timestamp::now();
    let git = tamper::Git::new(&request.dir, &request.env);
    // Read before any check runs: checks may leave files behind.
    let commit = git.head().await;
    let dirty = commit.is_some() && git.dirty().await;
    let base_commit = match &request.base {
        Some(base) => git.resolve(base).await,
        None => None,
    };
    let total = request.checks.len() + usize::from(request.base.is_some());
    let mut results = Vec::new();
    for (index, spec) in request.checks.iter().enumerate() {
        on_progress(Progress::Started {
            index,
            total,
            name: spec.name.clone(),
        });
        let result = run_check(spec, request).await;
        on_progress(Progress::Finished {
            index,
            total,
            result: Box::new(result.clone()),
        });
        results.push(result);
    }
    if let Some(base) = &request.base {
        let index = request.checks.len();
        on_progress(Progress::Started {
            index,
            total,
            name: "tampering".into(),
        });
        let result = match &base_commit {
            Some(base) => {
                let mut result = tamper::check(&git, base, &request.declared_files).await;
                runner_counts(request, base, &results, &mut result).await;
                result
            }
            None => CheckResult {
                name: "tampering".into(),
                passed: false,
                exit_code: None,
                duration_ms: 0,
                error: Some(format!(
                    "the base commit `{base}` cannot be found in {}",
                    request.dir.display()
                )),
                findings: Vec::new(),
                tests: None,
                output_tail: String::new(),
            },
        };
        on_progress(Progress::Finished {
            index,
            total,
            result: Box::new(result.clone()),
        });
        results.push(result);
    }
    Verification {
        commit,
        dirty,
        base_commit,
        started_at,
        finished_at: Timestamp::now(),
        checks: results,
    }
}

fn failed(name: &str, error: String, duration: Duration, tail: String) -> CheckResult {
    CheckResult {
        name: name.to_owned(),
        passed: false,
        exit_code: None,
        duration_ms: u64::try_from(duration.as_millis()).unwrap_or(u64::MAX),
        error: Some(error),
        findings: Vec::new(),
        tests: None,
        output_tail: tail,
    }
}

/// The arguments a check gets for this request: its whole-tree targets, or the changed files
/// it can take (none of them changed: nothing to check).
fn targets(spec: &CheckSpec, request: &VerifyRequest) -> Option<Vec<String>> {
    let Some(changed) = &request.files_changed else {
        return Some(spec.whole_tree.clone());
    };
    let is_test = |f: &str| {
        let name = Path::new(f)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        name.starts_with("test_") || name.ends_with("_test.py")
    };
    if spec.format == OutputFormat::Pytest && request.scope_tests {
        let tests: Vec<String> = changed
            .iter()
            .filter(|f| is_test(f) && request.dir.join(f).exists())
            .cloned()
            .collect();
        return if tests.is_empty() { None } else { Some(tests) };
    }
    if spec.accepts.is_empty() {
        return Some(spec.whole_tree.clone());
    }
    let files: Vec<String> = changed
        .iter()
        .filter(|f| {
            Path::new(f)
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| spec.accepts.iter().any(|a| a == e))
                && request.dir.join(f).is_file()
                && spec
                    .within
                    .as_ref()
                    .is_none_or(|within| within.iter().any(|w| inside(f, w)))
        })
        .cloned()
        .collect();
    if files.is_empty() { None } else { Some(files) }
}

/// The test runners' own counts against the base commit's: each test suite that ran whole is run
/// again on a checkout of the base, and fewer tests collected or more skipped than there is a
/// finding — whatever did it (a marker, a conftest.py, an import that skips a module), even in
/// files the task declared. Adds to the tampering `result`.
async fn runner_counts(
    request: &VerifyRequest,
    base: &str,
    results: &[CheckResult],
    result: &mut CheckResult,
) {
    let counted: Vec<(&CheckSpec, TestCounts)> = request
        .checks
        .iter()
        .zip(results)
        .filter_map(|(spec, done)| Some((spec, done.tests?)))
        .filter(|(spec, _)| targets(spec, request).as_ref() == Some(&spec.whole_tree))
        .collect();
    if counted.is_empty() {
        return;
    }
    let checkout = match BaseCheckout::new(&request.dir, base, &request.env).await {
        Ok(checkout) => checkout,
        Err(e) => {
            result
                .output_tail
                .push_str(&format!("; the test counts were not compared: {e}"));
            return;
        }
    };
    // The same checks' settings, whole, on the base's tree, with nothing to compare against.
    let mut at_base = VerifyRequest {
        dir: checkout.dir.clone(),
        checks: Vec::new(),
        files_changed: None,
        base: None,
        declared_files: Vec::new(),
        scope_tests: false,
        ..request.clone()
    };
    // The project's own tools (a venv is never committed) serve the base too.
    if let Some((_, path)) = at_base.env.iter_mut().find(|(k, _)| k == "PATH") {
        let venvs: Vec<String> = [".venv/bin", "venv/bin"]
            .iter()
            .map(|v| request.dir.join(v))
            .filter(|v| v.is_dir())
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        if !venvs.is_empty() {
            *path = format!("{}:{path}", venvs.join(":"));
        }
    }
    let mut compared = Vec::new();
    for (spec, now) in counted {
        let Some(then) = run_check(spec, &at_base).await.tests else {
            compared.push(format!("{}: no count at the base", spec.name));
            continue;
        };
        compared.push(format!(
            "{}: {} collected and {} skipped now, {} and {} at the base",
            spec.name, now.total, now.skipped, then.total, then.skipped
        ));
        if now.total < then.total {
            result.findings.push(tamper::finding(
                "tests-not-collected",
                format!(
                    "{} collected {} tests at the base commit and {} now",
                    spec.name, then.total, now.total
                ),
            ));
        }
        if now.skipped > then.skipped {
            result.findings.push(tamper::finding(
                "tests-skipped-by-runner",
                format!(
                    "{} skipped {} tests at the base commit and {} now",
                    spec.name, then.skipped, now.skipped
                ),
            ));
        }
    }
    checkout.remove().await;
    result.passed = result.passed && result.findings.is_empty();
    result.output_tail = format!("{}; {}", result.output_tail, compared.join("; "));
}

/// A detached checkout of the base commit beside the repository, removed after use.
struct BaseCheckout {
    repo: PathBuf,
    dir: PathBuf,
    _scratch: tempfile::TempDir,
}

impl BaseCheckout {
    async fn new(repo: &Path, base: &str, env: &[(String, String)]) -> Result<Self, String> {
        let scratch = tempfile::Builder::new()
            .prefix("orchestrator-base-")
            .tempdir()
            .map_err(|e| format!("cannot make a scratch folder: {e}"))?;
        let dir = scratch.path().join("base");
        let out = git_command(repo, env)
            .args(["worktree", "add", "--detach", "--quiet"])
            .arg(&dir)
            .arg(base)
            .output()
            .await
            .map_err(|e| format!("cannot run git: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "cannot check out the base commit: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Self {
            repo: repo.to_path_buf(),
            dir,
            _scratch: scratch,
        })
    }

    async fn remove(self) {
        let _ = git_command(&self.repo, &[])
            .args(["worktree", "remove", "--force"])
            .arg(&self.dir)
            .output()
            .await;
    }
}

fn git_command(repo: &Path, env: &[(String, String)]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new("git");
    command
        .arg("-C")
        .arg(repo)
        .env("GIT_TERMINAL_PROMPT", "0")
        .envs(
            env.iter()
                .filter(|(k, _)| k == "PATH" || k == "HOME")
                .cloned(),
        )
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    command
}

/// Where cargo builds for a check when nobody said: outside the tree being verified (which a
/// check must not write to), one folder per repository — the worktrees of every run of a
/// project share it, so a verification builds only what changed.
async fn cargo_target_dir(dir: &Path) -> PathBuf {
    use std::hash::{Hash as _, Hasher as _};
    let common = tokio::process::Command::new("git")
        .args(["rev-parse", "--path-format=absolute", "--git-common-dir"])
        .current_dir(dir)
        .output()
        .await
        .ok()
        .filter(|out| out.status.success())
        .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    let key = common.unwrap_or_else(|| dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf()));
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut hasher);
    std::env::temp_dir()
        .join("orchestrator-cargo-target")
        .join(format!("{:016x}", hasher.finish()))
}

/// Whether the relative path `file` is `dir` or inside it (both as the project writes them,
/// `./` and trailing slashes aside).
fn inside(file: &str, dir: &str) -> bool {
    let clean = |p: &str| p.trim_start_matches("./").trim_end_matches('/').to_owned();
    let (file, dir) = (clean(file), clean(dir));
    dir.is_empty() || dir == "." || Path::new(&file).starts_with(&dir)
}

async fn run_check(spec: &CheckSpec, request: &VerifyRequest) -> CheckResult {
    let name = spec.name.as_str();
    let Some(targets) = targets(spec, request) else {
        return CheckResult {
            name: name.to_owned(),
            passed: true,
            exit_code: None,
            duration_ms: 0,
            error: None,
            findings: Vec::new(),
            tests: None,
            output_tail: format!("nothing to check: no changed file of the kinds {name} takes"),
        };
    };
    let path_var = request
        .env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.as_str());
    let Some(program) = run::find_program(&spec.command[0], &request.dir, path_var) else {
        return failed(
            name,
            format!(
                "{} not found: install it or remove the check (looked in .venv/bin, venv/bin and PATH)",
                spec.command[0]
            ),
            Duration::ZERO,
            String::new(),
        );
    };
    let scratch = match tempfile::Builder::new()
        .prefix("orchestrator-verify-")
        .tempdir()
    {
        Ok(dir) => dir,
        Err(e) => {
            return failed(
                name,
                format!("cannot make a scratch folder: {e}"),
                Duration::ZERO,
                String::new(),
            );
        }
    };
    let junit = scratch.path().join("junit.xml");
    let mut args: Vec<String> = spec.command[1..]
        .iter()
        .map(|a| a.replace("{junit}", &junit.to_string_lossy()))
        .collect();
    args.extend(targets);
    let mut env = request.env.clone();
    // Keep the tree as the agent left it: no bytecode, no colours to strip.
    env.extend([
        ("PYTHONDONTWRITEBYTECODE".to_owned(), "1".to_owned()),
        ("NO_COLOR".to_owned(), "1".to_owned()),
    ]);
    if spec.command[0] == "cargo" && !env.iter().any(|(k, _)| k == "CARGO_TARGET_DIR") {
        env.push((
            "CARGO_TARGET_DIR".to_owned(),
            cargo_target_dir(&request.dir)
                .await
                .to_string_lossy()
                .into_owned(),
        ));
    }
    let timeout = spec.timeout.unwrap_or(request.timeout);
    let outcome = match run::run(
        &program,
        &args,
        &request.dir,
        &env,
        timeout,
        request.max_output,
    )
    .await
    {
        Ok(outcome) => outcome,
        Err(e) => {
            return failed(
                name,
                format!("{} could not be started: {e}", program.display()),
                Duration::ZERO,
                String::new(),
            );
        }
    };
    judge(spec, &outcome, &junit, &request.dir, timeout)
}

/// The check's verdict from its exit and its output.
fn judge(
    spec: &CheckSpec,
    outcome: &run::Outcome,
    junit: &Path,
    dir: &Path,
    timeout: Duration,
) -> CheckResult {
    let stdout = String::from_utf8_lossy(&outcome.stdout);
    let stderr = String::from_utf8_lossy(&outcome.stderr);
    let parsed: Result<Parsed, String> = match spec.format {
        OutputFormat::Pytest => match std::fs::read_to_string(junit) {
            Ok(xml) => parse::pytest_junit(&xml, dir),
            Err(_) => Err("pytest wrote no JUnit report".into()),
        },
        OutputFormat::Ruff => parse::ruff_json(&stdout, dir),
        OutputFormat::Mypy => Ok(parse::located_lines(&stdout, dir, LineStyle::Mypy)),
        OutputFormat::Flake8 => Ok(parse::located_lines(&stdout, dir, LineStyle::CodeFirst)),
        OutputFormat::Bandit => parse::bandit_json(&stdout, dir),
        OutputFormat::CargoTest => {
            let mut parsed = parse::cargo_test(&stdout, dir);
            let mut compiler = parse::cargo_messages(&stdout, dir);
            compiler.retain(|f| f.severity == Severity::Error);
            parsed.findings.splice(0..0, compiler);
            Ok(parsed)
        }
        OutputFormat::Clippy => Ok(Parsed {
            findings: parse::cargo_messages(&stdout, dir),
            tests: None,
        }),
        OutputFormat::Rustfmt => Ok(parse::rustfmt_check(&stdout, dir)),
        OutputFormat::Eslint => parse::eslint_json(&stdout, dir),
        OutputFormat::Tsc => Ok(parse::tsc_lines(&stdout, dir)),
        OutputFormat::GoTest => Ok(parse::go_test_json(&stdout, dir)),
        OutputFormat::GoVet => Ok(parse::located_lines(&stderr, dir, LineStyle::Plain)),
        OutputFormat::None => Ok(Parsed::default()),
    };
    let exit_ok = outcome.exit_code == Some(0);
    let (mut parsed, parse_problem) = match parsed {
        Ok(p) => (p, None),
        // A tool that failed without its usual output (it crashed, or printed a usage error)
        // is explained by its own words in the tail; a passing tool's silence is fine.
        Err(_) if exit_ok => (Parsed::default(), None),
        Err(e) => (Parsed::default(), Some(e)),
    };
    // The same message from two build targets (clippy's lib and test builds) is one finding.
    let mut seen = std::collections::HashSet::new();
    parsed.findings.retain(|f| {
        seen.insert((
            f.file.clone(),
            f.line,
            f.column,
            f.rule.clone(),
            f.message.clone(),
        ))
    });
    let mut error = None;
    if outcome.timed_out {
        error = Some(format!(
            "timed out after {} s; the output so far is kept",
            timeout.as_secs()
        ));
    } else if let Some(signal) = outcome.signal {
        error = Some(format!(
            "killed by signal {signal} (it crashed or was stopped)"
        ));
    } else if spec.format == OutputFormat::Pytest && outcome.exit_code == Some(5) {
        error = Some("pytest collected no tests".into());
    } else if !exit_ok && parsed.findings.is_empty() {
        error = Some(match parse_problem {
            Some(problem) => format!("exited with {} ({problem})", code(outcome.exit_code)),
            None => format!(
                "exited with {} without saying what failed; see the output",
                code(outcome.exit_code)
            ),
        });
    }
    if outcome.truncated {
        let note = "output beyond the limit was dropped (max_output_bytes)";
        error = Some(error.map_or_else(|| note.to_owned(), |e| format!("{e}; {note}")));
    }
    CheckResult {
        name: spec.name.clone(),
        passed: exit_ok && !outcome.timed_out,
        exit_code: outcome.exit_code,
        duration_ms: u64::try_from(outcome.duration.as_millis()).unwrap_or(u64::MAX),
        error,
        findings: parsed.findings,
        tests: parsed.tests,
        output_tail: outcome.tail.clone(),
    }
}

fn code(exit: Option<i32>) -> String {
    exit.map_or_else(|| "no exit code".into(), |c| format!("code {c}"))
}
