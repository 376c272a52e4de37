//! Tampering: what an agent could do to make a failing project look passing, found by comparing
//! the tree with its base commit — test files deleted, tests newly skipped, fewer tests than
//! before, check configuration edited. Files the task declared are its to change.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::domain::{CheckResult, Finding, Severity};

/// How many files the test count reads on each side before it gives up counting.
const MAX_FILES: usize = 5000;

/// Files the checks read even when git ignores them (pathspecs).
const LOADED_WHEN_IGNORED: &[&str] = &[
    ":(glob)**/conftest.py",
    ":(glob)**/pytest.ini",
    ":(glob)**/.pytest.ini",
    "tox.ini",
    "setup.cfg",
    "mypy.ini",
    ".mypy.ini",
    "ruff.toml",
    ".ruff.toml",
    ".bandit",
    ".flake8",
];

/// Folders pytest does not collect from (its `norecursedirs` and virtualenvs), where an ignored
/// conftest.py is nobody's concern.
fn in_skipped_folder(path: &str) -> bool {
    let mut parts: Vec<&str> = path.split('/').collect();
    parts.pop();
    parts.iter().any(|part| {
        part.starts_with('.')
            || part.ends_with(".egg")
            || matches!(
                *part,
                "venv" | "node_modules" | "build" | "dist" | "site-packages" | "__pycache__"
            )
    })
}

/// git, run on the verified tree with the checks' environment.
pub struct Git {
    dir: PathBuf,
    env: Vec<(String, String)>,
}

/// One changed path.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Change {
    status: char,
    path: String,
    old_path: Option<String>,
}

impl Git {
    /// git for `dir`.
    pub fn new(dir: &Path, env: &[(String, String)]) -> Self {
        Self {
            dir: dir.to_path_buf(),
            env: env
                .iter()
                .filter(|(k, _)| k == "PATH" || k == "HOME")
                .cloned()
                .collect(),
        }
    }

    async fn output(&self, args: &[&str]) -> Option<String> {
        let out = tokio::process::Command::new("git")
            .arg("-C")
            .arg(&self.dir)
            .args(args)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .env("GIT_TERMINAL_PROMPT", "0")
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The commit checked out, if the tree is a git repository with one.
    pub async fn head(&self) -> Option<String> {
        self.resolve("HEAD").await
    }

    /// A revision's commit id.
    pub async fn resolve(&self, rev: &str) -> Option<String> {
        if rev.starts_with('-') {
            return None;
        }
        let out = self
            .output(&[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("{rev}^{{commit}}"),
            ])
            .await?;
        Some(out.trim().to_owned()).filter(|s| !s.is_empty())
    }

    /// Whether the tree has changes (tracked or untracked) not in its commit.
    pub async fn dirty(&self) -> bool {
        self.output(&["status", "--porcelain", "--untracked-files=normal"])
            .await
            .is_some_and(|s| !s.trim().is_empty())
    }

    async fn changes(&self, base: &str) -> Vec<Change> {
        let mut changes = Vec::new();
        if let Some(out) = self
            .output(&["diff", "--name-status", "-M", "-z", base])
            .await
        {
            let mut parts = out.split('\0').filter(|p| !p.is_empty());
            while let Some(status) = parts.next() {
                let kind = status.chars().next().unwrap_or('M');
                if kind == 'R' || kind == 'C' {
                    let (Some(old), Some(new)) = (parts.next(), parts.next()) else {
                        break;
                    };
                    changes.push(Change {
                        status: kind,
                        path: new.to_owned(),
                        old_path: Some(old.to_owned()),
                    });
                } else if let Some(path) = parts.next() {
                    changes.push(Change {
                        status: kind,
                        path: path.to_owned(),
                        old_path: None,
                    });
                }
            }
        }
        if let Some(out) = self
            .output(&["ls-files", "--others", "--exclude-standard", "-z"])
            .await
        {
            changes.extend(out.split('\0').filter(|p| !p.is_empty()).map(|p| Change {
                status: 'A',
                path: p.to_owned(),
                old_path: None,
            }));
        }
        // git-ignored, but read by the tools all the same: a conftest.py with `collect_ignore`
        // or a pytest.ini nobody commits changes what runs.
        let mut args = vec![
            "ls-files",
            "--others",
            "--ignored",
            "--exclude-standard",
            "-z",
            "--",
        ];
        args.extend(LOADED_WHEN_IGNORED);
        if let Some(out) = self.output(&args).await {
            changes.extend(
                out.split('\0')
                    .filter(|p| !p.is_empty() && !in_skipped_folder(p))
                    .map(|p| Change {
                        status: 'A',
                        path: p.to_owned(),
                        old_path: None,
                    }),
            );
        }
        changes
    }

    async fn show(&self, base: &str, path: &str) -> Option<String> {
        self.output(&["show", &format!("{base}:{path}")]).await
    }

    async fn files_at(&self, base: &str) -> Vec<String> {
        self.output(&["ls-tree", "-r", "--name-only", "-z", base])
            .await
            .map(|out| {
                out.split('\0')
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    async fn files_now(&self) -> Vec<String> {
        self.output(&[
            "ls-files",
            "--cached",
            "--others",
            "--exclude-standard",
            "-z",
        ])
        .await
        .map(|out| {
            out.split('\0')
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
    }

    fn read_now(&self, path: &str) -> Option<String> {
        std::fs::read_to_string(self.dir.join(path)).ok()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    Python,
    Rust,
    Js,
    Go,
}

fn lang(path: &str) -> Option<Lang> {
    let ext = Path::new(path).extension()?.to_str()?;
    Some(match ext {
        "py" => Lang::Python,
        "rs" => Lang::Rust,
        "js" | "jsx" | "ts" | "tsx" | "mjs" | "cjs" => Lang::Js,
        "go" => Lang::Go,
        _ => return None,
    })
}

/// Whether a path is a test file by the usual conventions.
pub fn is_test_file(path: &str) -> bool {
    let name = Path::new(path)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let in_tests = path
        .split('/')
        .any(|part| matches!(part, "tests" | "test" | "__tests__" | "spec"));
    match lang(path) {
        Some(Lang::Python) => {
            name.starts_with("test_")
                || name.ends_with("_test.py")
                || (in_tests && name != "__init__.py")
        }
        Some(Lang::Rust) => path.starts_with("tests/") || path.contains("/tests/"),
        Some(Lang::Js) => name.contains(".test.") || name.contains(".spec.") || in_tests,
        Some(Lang::Go) => name.ends_with("_test.go"),
        None => false,
    }
}

/// Files that can define tests: test files, and Rust sources (unit tests live beside the code).
fn holds_tests(path: &str) -> bool {
    is_test_file(path) || lang(path) == Some(Lang::Rust)
}

/// How many tests a file defines.
pub fn count_tests(path: &str, text: &str) -> usize {
    let lines = text.lines().map(str::trim_start);
    match lang(path) {
        Some(Lang::Python) => lines
            .filter(|l| {
                let l = l.strip_prefix("async ").unwrap_or(l);
                l.starts_with("def test")
            })
            .count(),
        Some(Lang::Rust) => lines
            .filter(|l| {
                l.starts_with("#[test]")
                    || l.starts_with("#[tokio::test")
                    || l.starts_with("#[rstest")
            })
            .count(),
        Some(Lang::Js) => lines
            .filter(|l| {
                [
                    "it(",
                    "test(",
                    "it.only(",
                    "test.only(",
                    "it.each",
                    "test.each",
                ]
                .iter()
                .any(|p| l.starts_with(p))
            })
            .count(),
        Some(Lang::Go) => lines.filter(|l| l.starts_with("func Test")).count(),
        None => 0,
    }
}

/// The lines of a file that skip or disable tests.
fn skip_markers(path: &str, text: &str) -> Vec<(usize, String)> {
    let markers: &[&str] = match lang(path) {
        // Not only decorators: `pytestmark = pytest.mark.skip(...)` skips a whole module,
        // `pytest.importorskip("missing")` at its top skips it at collection.
        Some(Lang::Python) => &[
            "mark.skip",
            "mark.xfail",
            "pytest.skip(",
            "pytest.importorskip(",
            "pytest.xfail(",
            "unittest.skip",
            "SkipTest",
            "collect_ignore",
            "__test__ = False",
            "__test__=False",
        ],
        Some(Lang::Rust) => &["#[ignore"],
        Some(Lang::Js) => &[".skip(", "xit(", "xdescribe(", "xtest(", ".todo("],
        Some(Lang::Go) => &["t.Skip(", "t.SkipNow(", "t.Skipf("],
        None => &[],
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            let t = l.trim_start();
            !t.starts_with('#') || t.starts_with("#[") // a Python comment mentioning a marker is no marker
        })
        .filter(|(_, l)| markers.iter().any(|m| l.contains(m)))
        .map(|(i, l)| (i + 1, l.trim().to_owned()))
        .collect()
}

/// Check configuration in a file, as (what, value) pairs to compare; `None` when the file is
/// not check configuration at all.
fn config_sections(path: &str, text: Option<&str>) -> Option<Vec<(String, String)>> {
    let name = Path::new(path)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let whole = |what: &str| Some(vec![(what.to_owned(), text.unwrap_or_default().to_owned())]);
    let toml_parts = |keys: &[&str]| {
        let table: toml::Table = text.and_then(|t| t.parse().ok()).unwrap_or_default();
        let parts = keys
            .iter()
            .map(|k| {
                let mut value = Some(toml::Value::Table(table.clone()));
                for part in k.split('.') {
                    value = value.and_then(|v| v.get(part).cloned());
                }
                (
                    (*k).to_owned(),
                    value.map(|v| v.to_string()).unwrap_or_default(),
                )
            })
            .collect();
        Some(parts)
    };
    match name {
        "pyproject.toml" => toml_parts(&[
            "tool.pytest",
            "tool.ruff",
            "tool.mypy",
            "tool.bandit",
            "tool.coverage",
            "tool.pylint",
            "tool.flake8",
            "tool.black",
            "tool.isort",
            "tool.pyright",
        ]),
        "Cargo.toml" => toml_parts(&[
            "lints",
            "workspace.lints",
            "badges.maintenance",
            "profile.test",
        ]),
        "package.json" => {
            let json: serde_json::Value = text
                .and_then(|t| serde_json::from_str(t).ok())
                .unwrap_or_default();
            Some(
                [
                    "/scripts/test",
                    "/scripts/lint",
                    "/scripts/typecheck",
                    "/eslintConfig",
                    "/jest",
                    "/mocha",
                ]
                .iter()
                .map(|p| {
                    (
                        (*p).to_owned(),
                        json.pointer(p).map(ToString::to_string).unwrap_or_default(),
                    )
                })
                .collect(),
            )
        }
        "setup.cfg" => {
            let mut sections: HashMap<String, String> = HashMap::new();
            let mut current = String::new();
            for line in text.unwrap_or_default().lines() {
                if let Some(s) = line
                    .trim()
                    .strip_prefix('[')
                    .and_then(|s| s.strip_suffix(']'))
                {
                    current = s.to_owned();
                } else if ["tool:pytest", "flake8", "pycodestyle", "coverage"]
                    .iter()
                    .any(|p| current.starts_with(p))
                    || current.starts_with("mypy")
                {
                    sections.entry(current.clone()).or_default().push_str(line);
                }
            }
            let mut parts: Vec<(String, String)> = sections.into_iter().collect();
            parts.sort();
            Some(parts)
        }
        "pytest.ini"
        | "tox.ini"
        | "conftest.py"
        | ".ruff.toml"
        | "ruff.toml"
        | "mypy.ini"
        | ".mypy.ini"
        | ".bandit"
        | ".flake8"
        | ".pylintrc"
        | "pylintrc"
        | "clippy.toml"
        | ".clippy.toml"
        | "rustfmt.toml"
        | ".rustfmt.toml"
        | "deny.toml"
        | "orchestrator.toml"
        | ".pre-commit-config.yaml"
        | ".golangci.yml"
        | ".golangci.yaml"
        | "rust-toolchain.toml"
        | "rust-toolchain" => whole(name),
        _ if path == ".cargo/config.toml" || path == ".cargo/config" => whole(path),
        _ if name.starts_with(".eslintrc")
            || name.starts_with("eslint.config.")
            || name.starts_with("jest.config.")
            || name.starts_with("vitest.config.")
            || (name.starts_with("tsconfig") && name.ends_with(".json")) =>
        {
            whole(name)
        }
        _ if crate::policy::paths::ci(path) => whole("CI configuration"),
        _ => None,
    }
}

fn declared_set(declared: &[String]) -> GlobSet {
    let mut builder = GlobSetBuilder::new();
    for glob in declared {
        let glob = glob.trim_start_matches("./");
        for pattern in [
            glob.to_owned(),
            format!("{}/**", glob.trim_end_matches('/')),
        ] {
            if let Ok(g) = Glob::new(&pattern) {
                builder.add(g);
            }
        }
    }
    builder.build().unwrap_or_else(|_| GlobSet::empty())
}

/// A sign of tampering about the whole tree.
pub(crate) fn finding(rule: &str, message: String) -> Finding {
    tamper(None, None, rule, message)
}

fn tamper(file: Option<&str>, line: Option<usize>, rule: &str, message: String) -> Finding {
    Finding {
        file: file.map(str::to_owned),
        line: line.and_then(|l| u32::try_from(l).ok()),
        column: None,
        rule: Some(rule.to_owned()),
        severity: Severity::Error,
        message,
    }
}

/// Compares the tree with `base` and reports every sign of tampering as a failing check.
pub async fn check(git: &Git, base: &str, declared: &[String]) -> CheckResult {
    let start = Instant::now();
    let declared = declared_set(declared);
    let mine = |path: &str| declared.is_match(path);
    let mut findings = Vec::new();
    for change in git.changes(base).await {
        let old = change.old_path.as_deref().unwrap_or(&change.path);
        if mine(&change.path) || mine(old) {
            continue;
        }
        if change.status == 'D' && is_test_file(old) {
            findings.push(tamper(
                Some(old),
                None,
                "test-deleted",
                format!("the test file {old} was deleted"),
            ));
            continue;
        }
        if change.status == 'R' && is_test_file(old) && !is_test_file(&change.path) {
            findings.push(tamper(
                Some(&change.path),
                None,
                "test-moved-out",
                format!(
                    "the test file {old} was renamed to {}, where tests are not collected",
                    change.path
                ),
            ));
        }
        let before = git.show(base, old).await;
        let now = git.read_now(&change.path);
        if let Some(after) = config_sections(&change.path, now.as_deref()) {
            let earlier = config_sections(old, before.as_deref()).unwrap_or_default();
            for (what, value) in &after {
                let was = earlier
                    .iter()
                    .find(|(w, _)| w == what)
                    .map(|(_, v)| v.as_str())
                    .unwrap_or_default();
                if was != value {
                    findings.push(tamper(
                        Some(&change.path),
                        None,
                        "check-config-changed",
                        format!("check configuration changed: {what} in {}", change.path),
                    ));
                }
            }
        }
        if holds_tests(&change.path)
            && let Some(now) = &now
        {
            let mut earlier: HashMap<String, usize> = HashMap::new();
            for (_, line) in skip_markers(old, before.as_deref().unwrap_or_default()) {
                *earlier.entry(line).or_default() += 1;
            }
            for (number, line) in skip_markers(&change.path, now) {
                match earlier.get_mut(&line) {
                    Some(n) if *n > 0 => *n -= 1,
                    _ => findings.push(tamper(
                        Some(&change.path),
                        Some(number),
                        "test-skipped",
                        format!("a test is newly skipped: `{line}`"),
                    )),
                }
            }
        }
    }
    // Fewer tests than at the base (files the task declared are left out on both sides).
    let mut before = 0;
    for path in git
        .files_at(base)
        .await
        .into_iter()
        .filter(|p| holds_tests(p) && !mine(p))
        .take(MAX_FILES)
    {
        before += git
            .show(base, &path)
            .await
            .map_or(0, |t| count_tests(&path, &t));
    }
    let mut after = 0;
    for path in git
        .files_now()
        .await
        .into_iter()
        .filter(|p| holds_tests(p) && !mine(p))
        .take(MAX_FILES)
    {
        after += git.read_now(&path).map_or(0, |t| count_tests(&path, &t));
    }
    if after < before {
        findings.push(tamper(
            None,
            None,
            "tests-dropped",
            format!("{before} tests were defined at the base commit, {after} now"),
        ));
    }
    let summary = if findings.is_empty() {
        format!(
            "compared with {}: no test removed or skipped, no check configuration changed ({after} tests defined)",
            &base[..base.len().min(12)]
        )
    } else {
        format!(
            "compared with {}: {} sign(s) of tampering",
            &base[..base.len().min(12)],
            findings.len()
        )
    };
    CheckResult {
        name: "tampering".into(),
        passed: findings.is_empty(),
        exit_code: None,
        duration_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
        error: None,
        findings,
        tests: None,
        output_tail: summary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tests_and_skips_are_counted_by_language() {
        assert_eq!(
            count_tests(
                "tests/test_a.py",
                "def test_a():\n    pass\nasync def test_b():\n    pass\ndef helper():\n    pass\n"
            ),
            2
        );
        assert_eq!(
            count_tests(
                "src/lib.rs",
                "#[test]\nfn a() {}\n#[tokio::test]\nasync fn b() {}\n"
            ),
            2
        );
        assert_eq!(
            count_tests("a.test.ts", "it('a', () => {});\ntest('b', () => {});\n"),
            2
        );
        assert_eq!(
            count_tests(
                "a_test.go",
                "func TestA(t *testing.T) {}\nfunc helper() {}\n"
            ),
            1
        );
        let skips = skip_markers(
            "tests/test_a.py",
            "# @pytest.mark.skip is not used\n@pytest.mark.skip(reason='x')\ndef test_a():\n    pass\n",
        );
        assert_eq!(skips, [(2, "@pytest.mark.skip(reason='x')".to_owned())]);
        assert!(
            is_test_file("tests/test_a.py")
                && is_test_file("pkg/a_test.go")
                && is_test_file("src/a.spec.ts")
        );
        assert!(!is_test_file("src/app.py") && !is_test_file("src/lib.rs"));
    }

    #[test]
    fn only_check_sections_of_shared_files_count_as_configuration() {
        let before = "[project]\nname = 'a'\n[tool.ruff]\nline-length = 88\n";
        let after = "[project]\nname = 'b'\n[tool.ruff]\nline-length = 88\n";
        assert_eq!(
            config_sections("pyproject.toml", Some(before)),
            config_sections("pyproject.toml", Some(after))
        );
        let ignored =
            "[project]\nname = 'a'\n[tool.ruff]\nline-length = 88\nlint.ignore = ['F401']\n";
        assert_ne!(
            config_sections("pyproject.toml", Some(before)),
            config_sections("pyproject.toml", Some(ignored))
        );
        assert!(config_sections("src/app.py", Some("x")).is_none());
        assert!(config_sections(".github/workflows/ci.yml", Some("on: push")).is_some());
    }
}
