//! The verifier with the real tools — pytest, ruff, mypy and bandit from the venv `scripts/test`
//! installs, cargo from the machine — on the fixture projects in tests/fixtures/verifier, each
//! with known defects; plus tampering against a base commit, failures of the checks themselves,
//! and the CLI and MCP faces.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use orchestrator::config::{CheckConfig, VerifierConfig};
use orchestrator::domain::{CheckResult, Severity, TestCounts};
use orchestrator::verifier::{VerifyRequest, checks, verify};
use serde_json::{Value, json};
use support::{Project, StdioPeer, call, git, structured};

fn fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join(name);
    copy(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/verifier")
            .join(name),
        &root,
    );
    (dir, root)
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// PATH with the test venv first, as a project's own tools would be.
fn tool_path() -> String {
    let venv = support::tool("venv/bin");
    format!(
        "{}:{}",
        venv.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn request(root: &Path, names: &[&str], config: &VerifierConfig) -> VerifyRequest {
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    let specs = checks::resolve(root, config, Some(&names)).unwrap();
    let mut request = VerifyRequest::new(root, specs, config);
    request.env.retain(|(k, _)| k != "PATH");
    request.env.push(("PATH".into(), tool_path()));
    request
}

fn by_name<'a>(checks: &'a [CheckResult], name: &str) -> &'a CheckResult {
    checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no {name} in {checks:#?}"))
}

/// Where a finding is: file, line, column, rule.
type Place<'a> = (Option<&'a str>, Option<u32>, Option<u32>, Option<&'a str>);

/// (file, line, column, rule) of every finding.
fn located(check: &CheckResult) -> Vec<Place<'_>> {
    check
        .findings
        .iter()
        .map(|f| (f.file.as_deref(), f.line, f.column, f.rule.as_deref()))
        .collect()
}

#[tokio::test]
async fn python_defects_are_reported_exactly_as_the_tools_see_them() {
    let (_dir, root) = fixture("python-defects");
    let before = contents(&root);
    let done = verify(
        &request(
            &root,
            &["pytest", "ruff", "mypy", "bandit"],
            &VerifierConfig::default(),
        ),
        &|_| {},
    )
    .await;
    assert!(done.checks.iter().all(|c| !c.passed), "{:#?}", done.checks);

    let pytest = by_name(&done.checks, "pytest");
    assert_eq!(pytest.exit_code, Some(1));
    assert_eq!(
        pytest.tests,
        Some(TestCounts {
            total: 2,
            passed: 1,
            failed: 1,
            errors: 0,
            skipped: 0
        })
    );
    assert_eq!(
        located(pytest),
        [(
            Some("tests/test_ops.py"),
            Some(10),
            None,
            Some("tests.test_ops::test_add_wrong")
        )]
    );
    assert!(
        pytest.findings[0].message.contains("assert 4 == 5"),
        "{:?}",
        pytest.findings[0]
    );

    let ruff = by_name(&done.checks, "ruff");
    assert_eq!(
        located(ruff),
        [(Some("src/calc/ops.py"), Some(3), Some(8), Some("F401"))]
    );
    assert!(
        ruff.findings[0]
            .message
            .contains("`os` imported but unused")
    );

    let mypy = by_name(&done.checks, "mypy");
    assert_eq!(
        located(mypy),
        [(
            Some("src/calc/ops.py"),
            Some(12),
            Some(12),
            Some("return-value")
        )]
    );
    assert_eq!(mypy.findings[0].severity, Severity::Error);

    let bandit = by_name(&done.checks, "bandit");
    assert_eq!(
        located(bandit),
        [
            (Some("src/calc/ops.py"), Some(4), Some(1), Some("B404")),
            (Some("src/calc/ops.py"), Some(16), Some(12), Some("B602")),
        ]
    );
    assert_eq!(
        (bandit.findings[0].severity, bandit.findings[1].severity),
        (Severity::Warning, Severity::Error)
    );
    assert!(
        bandit.findings[1]
            .message
            .contains("severity high, confidence high")
    );
    assert!(done.commit.is_none(), "not a git repository");
    // The checks leave the tree byte for byte as they found it — ruff too, though the
    // project's configuration says `fix = true`.
    assert_eq!(contents(&root), before);
}

/// Every file under `root` with its bytes, by relative path.
fn contents(root: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    walk(root)
        .into_iter()
        .map(|file| {
            let bytes = std::fs::read(root.join(&file)).unwrap();
            (file, bytes)
        })
        .collect()
}

fn walk(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                out.push(
                    entry
                        .path()
                        .strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    out
}

#[tokio::test]
async fn a_clean_project_passes_with_the_checks_detected_from_it() {
    let (_dir, root) = fixture("python-clean");
    // Outside the `files` the project gives mypy: mypy must not be pointed at it.
    std::fs::create_dir_all(root.join("scripts")).unwrap();
    std::fs::write(root.join("scripts/loose.py"), "count: int = \"many\"\n").unwrap();
    assert_eq!(checks::detect(&root), ["pytest", "ruff", "mypy", "bandit"]);
    let analysis = orchestrator::planner::analysis::analyze(&root);
    assert_eq!(analysis.type_checkers[0].command, "mypy");
    let config = VerifierConfig::default();
    let mut request = request(&root, &[], &config);
    request.checks = checks::resolve(&root, &config, None).unwrap();
    let done = verify(&request, &|_| {}).await;
    for check in &done.checks {
        assert!(
            check.passed && check.findings.is_empty() && check.error.is_none(),
            "{check:#?}"
        );
    }
    assert_eq!(
        by_name(&done.checks, "pytest")
            .tests
            .map(|t| (t.total, t.passed)),
        Some((2, 2))
    );
}

#[tokio::test]
async fn a_failing_rust_test_and_a_clippy_warning_are_found() {
    let (_dir, root) = fixture("rust-defects");
    let before = contents(&root);
    let done = verify(
        &request(
            &root,
            &["cargo-test", "clippy", "rustfmt"],
            &VerifierConfig::default(),
        ),
        &|_| {},
    )
    .await;
    let tests = by_name(&done.checks, "cargo-test");
    assert!(!tests.passed);
    assert_eq!(
        tests.tests,
        Some(TestCounts {
            total: 2,
            passed: 1,
            failed: 1,
            errors: 0,
            skipped: 0
        })
    );
    assert_eq!(
        located(tests),
        [(
            Some("src/lib.rs"),
            Some(18),
            Some(9),
            Some("tests::adds_wrong")
        )]
    );
    assert!(
        tests.findings[0].message.contains("two and two"),
        "{:?}",
        tests.findings[0]
    );
    let clippy = by_name(&done.checks, "clippy");
    assert!(!clippy.passed);
    assert_eq!(
        located(clippy),
        [(
            Some("src/lib.rs"),
            Some(4),
            Some(5),
            Some("clippy::needless_return")
        )]
    );
    assert!(
        by_name(&done.checks, "rustfmt").passed,
        "{:#?}",
        done.checks
    );
    // cargo built outside the tree (no target/ in it) and left Cargo.lock alone.
    assert_eq!(contents(&root), before);
}

#[tokio::test]
async fn tampering_against_the_base_commit_fails_even_when_the_tools_pass() {
    let (_dir, root) = fixture("python-clean");
    std::fs::write(
        root.join("tests/test_more.py"),
        "from calc.ops import add\n\n\ndef test_zero() -> None:\n    assert add(0, 0) == 0\n",
    )
    .unwrap();
    std::fs::write(root.join(".gitignore"), "__pycache__/\n").unwrap();
    git(&root, &["init", "-q"]);
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-qm", "base"]);
    let base = String::from_utf8(
        Command::new("git")
            .arg("-C")
            .arg(&root)
            .args(["rev-parse", "HEAD"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();

    // The agent's work: a test file removed, a test skipped, a rule switched off.
    std::fs::remove_file(root.join("tests/test_more.py")).unwrap();
    let tests = std::fs::read_to_string(root.join("tests/test_ops.py")).unwrap();
    std::fs::write(
        root.join("tests/test_ops.py"),
        format!(
            "import pytest\n\n{}",
            tests.replace(
                "def test_label",
                "@pytest.mark.skip(reason=\"flaky\")\ndef test_label"
            )
        ),
    )
    .unwrap();
    let pyproject = std::fs::read_to_string(root.join("pyproject.toml")).unwrap();
    std::fs::write(
        root.join("pyproject.toml"),
        pyproject.replace(
            "line-length = 100",
            "line-length = 100\nlint.ignore = [\"F401\"]",
        ),
    )
    .unwrap();

    let config = VerifierConfig::default();
    let mut request = request(&root, &["pytest", "ruff"], &config);
    request.base = Some(base.trim().to_owned());
    let done = verify(&request, &|_| {}).await;
    assert!(
        by_name(&done.checks, "pytest").passed && by_name(&done.checks, "ruff").passed,
        "the tools alone are fooled: {:#?}",
        done.checks
    );
    assert_eq!(done.base_commit.as_deref(), Some(base.trim()));
    assert!(done.dirty, "the work is not committed");
    let tampering = by_name(&done.checks, "tampering");
    assert!(!tampering.passed);
    let mut found: Vec<(Option<&str>, Option<u32>, Option<&str>)> = tampering
        .findings
        .iter()
        .map(|f| (f.file.as_deref(), f.line, f.rule.as_deref()))
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            (None, None, Some("tests-dropped")),
            (None, None, Some("tests-not-collected")),
            (None, None, Some("tests-skipped-by-runner")),
            (Some("pyproject.toml"), None, Some("check-config-changed")),
            (Some("tests/test_more.py"), None, Some("test-deleted")),
            (Some("tests/test_ops.py"), Some(10), Some("test-skipped")),
        ]
    );
    assert!(
        tampering.findings.iter().any(|f| f
            .message
            .contains("3 tests were defined at the base commit, 2 now")),
        "{tampering:#?}"
    );

    assert!(
        tampering
            .output_tail
            .contains("pytest: 2 collected and 1 skipped now, 3 and 0 at the base"),
        "{tampering:#?}"
    );

    // Files the task declared are its to change — but what the test runner itself counts
    // still has to add up.
    request.declared_files = vec!["tests/**".into(), "pyproject.toml".into()];
    let done = verify(&request, &|_| {}).await;
    let rules: Vec<_> = by_name(&done.checks, "tampering")
        .findings
        .iter()
        .map(|f| f.rule.as_deref().unwrap())
        .collect();
    assert_eq!(rules, ["tests-not-collected", "tests-skipped-by-runner"]);

    // Committed work is verified as that commit.
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-qm", "work"]);
    let done = verify(&request, &|_| {}).await;
    assert!(!done.dirty && done.commit.is_some() && done.commit.as_deref() != Some(base.trim()));
}

/// The ways to keep tests from running that a static reading misses, each caught by the test
/// runner's own counts against the base commit's (and the first three by the static reading too).
#[tokio::test]
async fn tests_kept_from_running_are_caught_by_the_runners_counts() {
    let (_dir, root) = fixture("python-clean");
    std::fs::write(
        root.join("tests/test_more.py"),
        "from calc.ops import add\n\n\ndef test_zero() -> None:\n    assert add(0, 0) == 0\n",
    )
    .unwrap();
    std::fs::write(root.join(".gitignore"), "__pycache__/\nconftest.py\n").unwrap();
    git(&root, &["init", "-q"]);
    git(&root, &["add", "-A"]);
    git(&root, &["commit", "-qm", "base"]);
    let config = VerifierConfig::default();
    let mut request = request(&root, &["pytest"], &config);
    request.base = Some("HEAD".into());
    let more = std::fs::read_to_string(root.join("tests/test_more.py")).unwrap();
    let cases: [(&str, &str, &str, &[&str]); 4] = [
        (
            "tests/test_more.py",
            "import pytest\n\npytestmark = pytest.mark.skip(reason=\"later\")\n",
            "",
            &["test-skipped", "tests-skipped-by-runner"],
        ),
        (
            "tests/test_more.py",
            "import pytest\n\npytest.importorskip(\"not_installed_anywhere\")\n",
            "",
            &["test-skipped", "tests-skipped-by-runner"],
        ),
        (
            "tests/conftest.py",
            "collect_ignore = [\"test_more.py\"]\n",
            "",
            &[
                "check-config-changed",
                "test-skipped",
                "tests-not-collected",
            ],
        ),
        (
            "tests/test_new.py",
            "import pytest\n\n\n@pytest.mark.skip(reason=\"later\")\ndef test_new() -> None:\n    assert False\n",
            "tests/test_new.py",
            &["tests-skipped-by-runner"],
        ),
    ];
    for (file, prefix, declared, expected) in cases {
        let body = if file == "tests/test_more.py" {
            format!("{prefix}{more}")
        } else {
            prefix.to_owned()
        };
        std::fs::write(root.join(file), body).unwrap();
        request.declared_files = if declared.is_empty() {
            Vec::new()
        } else {
            vec![declared.to_owned()]
        };
        let done = verify(&request, &|_| {}).await;
        assert!(
            by_name(&done.checks, "pytest").passed,
            "{file}: {:#?}",
            done.checks
        );
        let tampering = by_name(&done.checks, "tampering");
        let mut rules: Vec<_> = tampering
            .findings
            .iter()
            .map(|f| f.rule.as_deref().unwrap())
            .collect();
        rules.sort();
        assert_eq!(rules, expected, "{file} with {prefix:?}: {tampering:#?}");
        assert!(!tampering.passed);
        git(&root, &["checkout", "-q", "--", "."]);
        git(&root, &["clean", "-qfdx"]);
    }
    // The base checkouts are gone again.
    let worktrees = Command::new("git")
        .arg("-C")
        .arg(&root)
        .args(["worktree", "list"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&worktrees.stdout).lines().count(),
        1
    );
}

#[tokio::test]
async fn a_check_that_cannot_run_or_misbehaves_fails_clearly() {
    let (_dir, root) = fixture("python-clean");
    let mut config = VerifierConfig::default();
    let custom = |command: &[&str], timeout: Option<u64>| CheckConfig {
        command: command.iter().map(|c| (*c).to_owned()).collect(),
        timeout_secs: timeout,
        ..CheckConfig::default()
    };
    config.check.insert(
        "missing".into(),
        custom(&["definitely-not-installed-tool", "--check"], None),
    );
    config.check.insert(
        "hangs".into(),
        custom(&["sh", "-c", "echo started; sleep 60 & sleep 60"], Some(1)),
    );
    config.check.insert(
        "floods".into(),
        custom(
            &[
                "sh",
                "-c",
                "yes 0123456789 | head -c 3000000; echo; echo the end; exit 3",
            ],
            None,
        ),
    );
    config.check.insert(
        "crashes".into(),
        custom(&["sh", "-c", "echo going down; kill -SEGV $$"], None),
    );
    config
        .check
        .insert("fine".into(), custom(&["sh", "-c", "echo all good"], None));
    config.check.insert(
        "fails".into(),
        custom(&["sh", "-c", "echo broken >&2; exit 2"], None),
    );
    config.max_output_bytes = 1024 * 1024;
    let mut request = request(
        &root,
        &["missing", "hangs", "floods", "crashes", "fine", "fails"],
        &config,
    );
    request.max_output = 1024 * 1024;
    let started = std::time::Instant::now();
    let done = verify(&request, &|_| {}).await;
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "the hung check was killed, its sleeping child too"
    );

    let missing = by_name(&done.checks, "missing");
    assert!(!missing.passed);
    assert!(
        missing
            .error
            .as_deref()
            .unwrap()
            .contains("definitely-not-installed-tool not found: install it or remove the check")
    );
    let hangs = by_name(&done.checks, "hangs");
    assert!(
        !hangs.passed
            && hangs
                .error
                .as_deref()
                .unwrap()
                .contains("timed out after 1 s"),
        "{hangs:#?}"
    );
    assert!(
        hangs.output_tail.contains("started"),
        "what was printed before the timeout is kept"
    );
    let floods = by_name(&done.checks, "floods");
    assert!(!floods.passed && floods.exit_code == Some(3));
    assert!(
        floods.error.as_deref().unwrap().contains("dropped"),
        "{floods:#?}"
    );
    assert!(floods.output_tail.ends_with("the end\n") && floods.output_tail.len() < 5000);
    let crashes = by_name(&done.checks, "crashes");
    assert!(
        !crashes.passed && crashes.error.as_deref().unwrap().contains("signal 11"),
        "{crashes:#?}"
    );
    assert!(by_name(&done.checks, "fine").passed);
    let fails = by_name(&done.checks, "fails");
    assert!(!fails.passed && fails.output_tail.contains("broken"));
    assert_eq!(fails.exit_code, Some(2));

    let unknown = checks::resolve(&root, &config, Some(&["no-such-check".into()])).unwrap_err();
    assert!(
        unknown
            .to_string()
            .contains("unknown check `no-such-check`"),
        "{unknown}"
    );
}

#[tokio::test]
async fn changed_files_scope_the_linters_but_not_the_tests() {
    let (_dir, root) = fixture("python-defects");
    std::fs::write(root.join("src/calc/extra.py"), "import sys\n").unwrap();
    let config = VerifierConfig::default();
    let mut request = request(&root, &["ruff", "mypy", "pytest"], &config);
    request.files_changed = Some(vec!["src/calc/extra.py".into(), "README.md".into()]);
    let done = verify(&request, &|_| {}).await;
    assert_eq!(
        located(by_name(&done.checks, "ruff")),
        [(Some("src/calc/extra.py"), Some(1), Some(8), Some("F401"))]
    );
    assert!(
        by_name(&done.checks, "mypy").passed,
        "mypy looked only at the changed file"
    );
    assert!(
        !by_name(&done.checks, "pytest").passed,
        "the test suite ran whole"
    );
    request.files_changed = Some(vec!["README.md".into()]);
    let done = verify(&request, &|_| {}).await;
    let ruff = by_name(&done.checks, "ruff");
    assert!(
        ruff.passed && ruff.output_tail.contains("nothing to check"),
        "{ruff:#?}"
    );
    // A changed file outside the `files` the project gives mypy is not mypy's to check.
    std::fs::create_dir_all(root.join("scripts")).unwrap();
    std::fs::write(root.join("scripts/loose.py"), "count: int = \"many\"\n").unwrap();
    request.files_changed = Some(vec!["scripts/loose.py".into()]);
    let done = verify(&request, &|_| {}).await;
    let mypy = by_name(&done.checks, "mypy");
    assert!(
        mypy.passed && mypy.output_tail.contains("nothing to check"),
        "{mypy:#?}"
    );
}

#[tokio::test]
async fn python_sources_get_a_security_scan_without_configuring_one() {
    let (_dir, root) = fixture("python-clean");
    let pyproject = std::fs::read_to_string(root.join("pyproject.toml")).unwrap();
    let (kept, _) = pyproject.split_once("[tool.bandit]").unwrap();
    std::fs::write(root.join("pyproject.toml"), kept).unwrap();
    std::fs::write(
        root.join("src/calc/shell.py"),
        "import subprocess  # nosec B404\n\n\ndef run(command: str) -> int:\n    return subprocess.call(command, shell=True)\n",
    )
    .unwrap();
    assert!(
        orchestrator::planner::analysis::analyze(&root)
            .security_tools
            .is_empty()
    );
    assert_eq!(checks::detect(&root), ["pytest", "ruff", "mypy", "bandit"]);
    let config = VerifierConfig::default();
    let mut request = request(&root, &[], &config);
    request.checks = checks::resolve(&root, &config, None).unwrap();
    let done = verify(&request, &|_| {}).await;
    let bandit = by_name(&done.checks, "bandit");
    assert!(!bandit.passed);
    assert_eq!(
        located(bandit),
        [(Some("src/calc/shell.py"), Some(5), Some(12), Some("B602"))]
    );
}

#[test]
fn the_cli_verifies_with_progress_stores_the_report_and_exits_by_the_verdict() {
    let project = Project::new();
    copy(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/verifier/python-defects"),
        &project.root,
    );
    std::fs::write(
        project.root.join("orchestrator.toml"),
        "[verifier]\nchecks = [\"ruff\", \"pytest\"]\n[verifier.check.envdump]\ncommand = [\"env\"]\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        project
            .command()
            .args(args)
            .env("PATH", tool_path())
            .env("DEPLOY_TOKEN", "tok-do-not-leak")
            .output()
            .unwrap()
    };
    let out = run(&["verify"]);
    assert_eq!(out.status.code(), Some(1), "a failing verification exits 1");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("✗ Verification 1: failed"), "{text}");
    assert!(
        text.contains("✗ ruff")
            && text.contains("✗ pytest")
            && text.contains("2 tests: 1 passed, 1 failed"),
        "{text}"
    );
    assert!(
        text.contains("\nsrc/calc/ops.py\n")
            && text.contains("3:8  error   ruff: `os` imported but unused [F401]"),
        "{text}"
    );
    let progress = String::from_utf8_lossy(&out.stderr);
    assert!(
        progress.contains("[1/2] ruff …") && progress.contains("[2/2] ✗ pytest"),
        "{progress}"
    );

    let out = run(&[
        "verify",
        "--json",
        "--checks",
        "ruff",
        "--files",
        "tests/test_ops.py",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["passed"], true);
    assert_eq!(report["id"], 2, "reports are stored");

    let out = run(&["verify", "--json", "--checks", "envdump"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let env = report["checks"][0]["output_tail"].as_str().unwrap();
    assert!(
        env.contains("PATH=") && !env.contains("tok-do-not-leak") && !env.contains("DEPLOY_TOKEN"),
        "only allowed variables reach a check: {env}"
    );

    let out = run(&["verify", "--checks", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown check `nope`"));
    let out = run(&["verify", "--files", "../outside.py"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("outside"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stored = project
        .store()
        .recent_reports(
            project
                .store()
                .ensure_project(&project.root, "project")
                .unwrap()
                .id,
            10,
        )
        .unwrap();
    assert_eq!(stored.len(), 3);
}

#[test]
fn mcp_verify_returns_a_job_and_then_the_report() {
    let project = Project::new();
    copy(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/verifier/python-defects"),
        &project.root,
    );
    let mut cmd = project.command();
    cmd.arg("serve").env("PATH", tool_path());
    let mut peer = StdioPeer::spawn(cmd);
    peer.initialize();

    let started = call(
        &mut peer,
        2,
        "verify",
        json!({"checks": ["pytest", "mypy"], "wait_seconds": 0}),
    );
    let job = &structured(&started)["job"];
    assert_eq!(job["status"], "running", "{started}");
    let id = job["id"].as_u64().unwrap();
    let mut last = Value::Null;
    for attempt in 0..20 {
        last = call(
            &mut peer,
            10 + attempt,
            "verify",
            json!({"job_id": id, "wait_seconds": 10}),
        );
        if structured(&last)["job"]["status"] != "running" {
            break;
        }
    }
    let result = structured(&last);
    assert_eq!(result["job"]["status"], "done", "{last}");
    let report = &result["job"]["report"];
    assert_eq!(report["passed"], false);
    assert_eq!(report["checks"][0]["name"], "pytest");
    assert_eq!(report["checks"][1]["findings"][0]["rule"], "return-value");
    assert!(
        result["next_step"]
            .as_str()
            .unwrap()
            .contains("fix the findings")
    );
    assert_eq!(result["job"]["finished"], json!(["✗ pytest", "✗ mypy"]));

    let bad = call(&mut peer, 40, "verify", json!({"job_id": 999}));
    assert!(support::tool_error_text(&bad).contains("no verification job 999"));
    let mixed = call(
        &mut peer,
        41,
        "verify",
        json!({"job_id": id, "checks": ["ruff"]}),
    );
    assert!(support::tool_error_text(&mixed).contains("job_id"));
    let unknown = call(
        &mut peer,
        42,
        "verify",
        json!({"checks": ["nope"], "wait_seconds": 10}),
    );
    let unknown = structured(&unknown);
    assert_eq!(unknown["job"]["status"], "failed");
    assert!(
        unknown["job"]["error"]
            .as_str()
            .unwrap()
            .contains("unknown check")
    );
    peer.finish();
}
