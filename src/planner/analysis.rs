//! Project analysis: what the repository already tells us before anyone is asked anything —
//! languages, build system, test, lint, type-check and security tools, CI, and existing docs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Folders never looked into: dependencies, build output, caches and version control.
const SKIPPED_DIRS: &[&str] = &[
    ".git",
    ".hg",
    "target",
    "node_modules",
    ".venv",
    "venv",
    "__pycache__",
    ".tox",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    "dist",
    "build",
    ".tools",
    ".orchestrator",
];
/// How deep and how many entries the walk looks at, so a huge tree cannot stall a session.
const MAX_DEPTH: usize = 8;
const MAX_ENTRIES: usize = 20_000;

/// A tool the project uses, and the file that says so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DetectedTool {
    /// The tool's name (`pytest`, `cargo clippy`).
    pub name: String,
    /// The command that runs it from the project root.
    pub command: String,
    /// Where it was found (`pyproject.toml [tool.pytest.ini_options]`).
    pub evidence: String,
}

/// What the repository shows about itself.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct ProjectAnalysis {
    /// Languages by number of source files, most first.
    pub languages: Vec<String>,
    /// Build systems and package managers.
    pub build_systems: Vec<DetectedTool>,
    /// Test runners.
    pub test_tools: Vec<DetectedTool>,
    /// Linters and formatters.
    pub lint_tools: Vec<DetectedTool>,
    /// Type checkers.
    pub type_checkers: Vec<DetectedTool>,
    /// Security scanners.
    pub security_tools: Vec<DetectedTool>,
    /// CI configuration files.
    pub ci: Vec<String>,
    /// Documentation files (README, docs/…), relative paths.
    pub docs: Vec<String>,
    /// Top-level folders holding source code (`src`, `app`), most files first.
    pub source_dirs: Vec<String>,
    /// Top-level folders holding tests (`tests`), if any.
    pub test_dirs: Vec<String>,
    /// Files looked at.
    pub files_seen: usize,
}

impl ProjectAnalysis {
    /// True when the folder holds nothing to analyse.
    pub fn is_empty(&self) -> bool {
        self.files_seen == 0
    }

    /// One line per finding, for people and prompts.
    pub fn summary(&self) -> Vec<String> {
        if self.is_empty() {
            return vec!["The project folder is empty: nothing to build on yet.".into()];
        }
        let mut lines = Vec::new();
        if !self.languages.is_empty() {
            lines.push(format!("Languages: {}", self.languages.join(", ")));
        }
        let mut tools = |label: &str, list: &[DetectedTool]| {
            if !list.is_empty() {
                let items: Vec<String> = list
                    .iter()
                    .map(|t| format!("{} (`{}`, from {})", t.name, t.command, t.evidence))
                    .collect();
                lines.push(format!("{label}: {}", items.join("; ")));
            }
        };
        tools("Build", &self.build_systems);
        tools("Tests", &self.test_tools);
        tools("Lint", &self.lint_tools);
        tools("Types", &self.type_checkers);
        tools("Security", &self.security_tools);
        if !self.ci.is_empty() {
            lines.push(format!("CI: {}", self.ci.join(", ")));
        }
        if !self.docs.is_empty() {
            lines.push(format!("Docs: {}", self.docs.join(", ")));
        }
        if !self.source_dirs.is_empty() {
            lines.push(format!("Source folders: {}", self.source_dirs.join(", ")));
        }
        lines
    }

    /// The commands the verifier should run, in the order test, lint, types, security.
    pub fn check_commands(&self) -> Vec<String> {
        self.test_tools
            .iter()
            .chain(&self.lint_tools)
            .chain(&self.type_checkers)
            .chain(&self.security_tools)
            .map(|t| t.command.clone())
            .collect()
    }
}

/// The `files` a project's mypy configuration names, read from the file mypy itself would use
/// (mypy.ini, .mypy.ini, pyproject.toml `[tool.mypy]`, setup.cfg `[mypy]`, in that order).
/// None: no configuration, or one that does not say what to check.
pub fn mypy_files(root: &Path) -> Option<Vec<String>> {
    let list = |value: &str| -> Vec<String> {
        value
            .split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_owned)
            .collect()
    };
    for name in ["mypy.ini", ".mypy.ini", "pyproject.toml", "setup.cfg"] {
        let Ok(text) = std::fs::read_to_string(root.join(name)) else {
            continue;
        };
        let files = if name == "pyproject.toml" {
            let Ok(doc) = text.parse::<toml::Table>() else {
                continue;
            };
            let Some(mypy) = doc
                .get("tool")
                .and_then(|t| t.get("mypy"))
                .and_then(|m| m.as_table())
            else {
                continue;
            };
            match mypy.get("files") {
                Some(toml::Value::String(value)) => list(value),
                Some(toml::Value::Array(items)) => items
                    .iter()
                    .filter_map(|i| i.as_str())
                    .flat_map(list)
                    .collect(),
                _ => Vec::new(),
            }
        } else {
            let Some(value) = ini_value(&text, "mypy", "files") else {
                if name == "setup.cfg" && !text.contains("[mypy") {
                    continue;
                }
                return None;
            };
            list(&value)
        };
        return (!files.is_empty()).then_some(files);
    }
    None
}

/// `key` in `[section]` of an INI file, continuation lines (indented) joined.
fn ini_value(text: &str, section: &str, key: &str) -> Option<String> {
    let mut in_section = false;
    let mut value: Option<String> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            if value.is_some() {
                break;
            }
            in_section = trimmed == format!("[{section}]");
            continue;
        }
        if !in_section || trimmed.starts_with(['#', ';']) {
            continue;
        }
        if let Some(found) = value.as_mut() {
            if line.starts_with([' ', '\t']) && !trimmed.is_empty() {
                found.push(',');
                found.push_str(trimmed);
                continue;
            }
            break;
        }
        if let Some((k, v)) = trimmed.split_once(['=', ':'])
            && k.trim() == key
        {
            value = Some(v.trim().to_owned());
        }
    }
    value
}

/// Looks at the project under `root`. Unreadable files and folders are skipped, never fatal.
pub fn analyze(root: &Path) -> ProjectAnalysis {
    let files = walk(root);
    let mut analysis = ProjectAnalysis {
        files_seen: files.len(),
        ..ProjectAnalysis::default()
    };
    let has = |name: &str| files.iter().any(|f| f == Path::new(name));
    let read = |name: &str| std::fs::read_to_string(root.join(name)).unwrap_or_default();
    let tool = |name: &str, command: &str, evidence: &str| DetectedTool {
        name: name.into(),
        command: command.into(),
        evidence: evidence.into(),
    };

    // Languages, by file count.
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut dirs: BTreeMap<String, usize> = BTreeMap::new();
    for file in &files {
        let language = match file.extension().and_then(|e| e.to_str()) {
            Some("py") => "Python",
            Some("rs") => "Rust",
            Some("ts" | "tsx") => "TypeScript",
            Some("js" | "jsx" | "mjs" | "cjs") => "JavaScript",
            Some("go") => "Go",
            Some("java") => "Java",
            Some("rb") => "Ruby",
            Some("c" | "h") => "C",
            Some("cpp" | "cc" | "hpp") => "C++",
            _ => continue,
        };
        *counts.entry(language).or_default() += 1;
        let mut parts = file.components();
        if let (Some(first), Some(_)) = (parts.next(), parts.next()) {
            *dirs
                .entry(first.as_os_str().to_string_lossy().into_owned())
                .or_default() += 1;
        }
    }
    let mut languages: Vec<(&str, usize)> = counts.into_iter().collect();
    languages.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    analysis.languages = languages.into_iter().map(|(l, _)| l.to_string()).collect();
    let mut dirs: Vec<(String, usize)> = dirs.into_iter().collect();
    dirs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    for (dir, _) in dirs {
        let lower = dir.to_lowercase();
        if lower == "tests" || lower == "test" || lower == "spec" {
            analysis.test_dirs.push(dir);
        } else if !lower.starts_with('.') && lower != "docs" && lower != "examples" {
            analysis.source_dirs.push(dir);
        }
    }

    // Python.
    let pyproject = read("pyproject.toml");
    let setup_cfg = read("setup.cfg");
    let tox_ini = read("tox.ini");
    let requirements = read("requirements.txt") + &read("requirements-dev.txt");
    if has("pyproject.toml") {
        let backend = if pyproject.contains("[tool.poetry") {
            "poetry"
        } else if pyproject.contains("hatchling") {
            "hatch"
        } else if pyproject.contains("[tool.uv") {
            "uv"
        } else {
            "pip"
        };
        analysis
            .build_systems
            .push(tool(backend, "pip install -e .", "pyproject.toml"));
    } else if has("setup.py") {
        analysis
            .build_systems
            .push(tool("setuptools", "pip install -e .", "setup.py"));
    } else if has("requirements.txt") {
        analysis.build_systems.push(tool(
            "pip",
            "pip install -r requirements.txt",
            "requirements.txt",
        ));
    }
    let python_test_files = files.iter().any(|f| {
        f.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("test_") && n.ends_with(".py"))
    });
    if let Some(evidence) = first_evidence(&[
        (
            pyproject.contains("[tool.pytest"),
            "pyproject.toml [tool.pytest.ini_options]",
        ),
        (has("pytest.ini"), "pytest.ini"),
        (
            setup_cfg.contains("[tool:pytest]"),
            "setup.cfg [tool:pytest]",
        ),
        (tox_ini.contains("[pytest]"), "tox.ini [pytest]"),
        (has("conftest.py"), "conftest.py"),
        (
            python_test_files && (pyproject.contains("pytest") || requirements.contains("pytest")),
            "test_*.py files and a pytest dependency",
        ),
    ]) {
        analysis.test_tools.push(tool("pytest", "pytest", evidence));
    }
    if let Some(evidence) = first_evidence(&[
        (
            pyproject.contains("[tool.ruff"),
            "pyproject.toml [tool.ruff]",
        ),
        (has("ruff.toml"), "ruff.toml"),
        (has(".ruff.toml"), ".ruff.toml"),
    ]) {
        analysis
            .lint_tools
            .push(tool("ruff", "ruff check .", evidence));
    }
    if let Some(evidence) = first_evidence(&[
        (has(".flake8"), ".flake8"),
        (setup_cfg.contains("[flake8]"), "setup.cfg [flake8]"),
    ]) {
        analysis.lint_tools.push(tool("flake8", "flake8", evidence));
    }
    if pyproject.contains("[tool.black") {
        analysis.lint_tools.push(tool(
            "black",
            "black --check .",
            "pyproject.toml [tool.black]",
        ));
    }
    if let Some(evidence) = first_evidence(&[
        (
            pyproject.contains("[tool.mypy"),
            "pyproject.toml [tool.mypy]",
        ),
        (has("mypy.ini"), "mypy.ini"),
        (has(".mypy.ini"), ".mypy.ini"),
        (setup_cfg.contains("[mypy"), "setup.cfg [mypy]"),
    ]) {
        // With `files` configured, plain `mypy` checks what the project asks for; `mypy .`
        // would take in what it leaves out.
        let command = if mypy_files(root).is_some() {
            "mypy"
        } else {
            "mypy ."
        };
        analysis.type_checkers.push(tool("mypy", command, evidence));
    }
    if let Some(evidence) = first_evidence(&[
        (
            pyproject.contains("[tool.bandit"),
            "pyproject.toml [tool.bandit]",
        ),
        (has(".bandit"), ".bandit"),
    ]) {
        analysis
            .security_tools
            .push(tool("bandit", "bandit -r .", evidence));
    }

    // Rust.
    if has("Cargo.toml") {
        if !analysis.languages.iter().any(|l| l == "Rust") {
            analysis.languages.push("Rust".into());
        }
        analysis
            .build_systems
            .push(tool("cargo", "cargo build", "Cargo.toml"));
        analysis
            .test_tools
            .push(tool("cargo test", "cargo test", "Cargo.toml"));
        let clippy = if has("clippy.toml") || has(".clippy.toml") {
            "clippy.toml"
        } else {
            "Cargo.toml"
        };
        analysis.lint_tools.push(tool(
            "cargo clippy",
            "cargo clippy --all-targets -- -D warnings",
            clippy,
        ));
        let fmt = if has("rustfmt.toml") || has(".rustfmt.toml") {
            "rustfmt.toml"
        } else {
            "Cargo.toml"
        };
        analysis
            .lint_tools
            .push(tool("cargo fmt", "cargo fmt --check", fmt));
        if has("deny.toml") {
            analysis
                .security_tools
                .push(tool("cargo deny", "cargo deny check", "deny.toml"));
        }
    }

    // Node.
    if has("package.json") {
        let manifest: serde_json::Value =
            serde_json::from_str(&read("package.json")).unwrap_or_default();
        let manager = if has("pnpm-lock.yaml") {
            "pnpm"
        } else if has("yarn.lock") {
            "yarn"
        } else {
            "npm"
        };
        analysis
            .build_systems
            .push(tool(manager, &format!("{manager} install"), "package.json"));
        let test_script = manifest["scripts"]["test"].as_str().unwrap_or("");
        if !test_script.is_empty() && !test_script.contains("no test specified") {
            analysis.test_tools.push(tool(
                "npm test",
                &format!("{manager} test"),
                "package.json scripts.test",
            ));
        }
        let dev_dep = |name: &str| {
            manifest["devDependencies"].get(name).is_some()
                || manifest["dependencies"].get(name).is_some()
        };
        let eslint_config = files.iter().find(|f| {
            f.components().count() == 1
                && f.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("eslint.config.") || n.starts_with(".eslintrc"))
        });
        if let Some(config) = eslint_config {
            analysis.lint_tools.push(tool(
                "eslint",
                "npx eslint .",
                &config.display().to_string(),
            ));
        } else if dev_dep("eslint") {
            analysis
                .lint_tools
                .push(tool("eslint", "npx eslint .", "package.json"));
        }
        if has("tsconfig.json") {
            analysis
                .type_checkers
                .push(tool("tsc", "npx tsc --noEmit", "tsconfig.json"));
        }
    }

    // Go.
    if has("go.mod") {
        analysis
            .build_systems
            .push(tool("go", "go build ./...", "go.mod"));
        analysis
            .test_tools
            .push(tool("go test", "go test ./...", "go.mod"));
        analysis
            .lint_tools
            .push(tool("go vet", "go vet ./...", "go.mod"));
    }
    if has("Makefile") {
        analysis
            .build_systems
            .push(tool("make", "make", "Makefile"));
    }

    // CI and docs.
    for file in &files {
        let text = file.to_string_lossy().replace('\\', "/");
        let is_ci = (text.starts_with(".github/workflows/")
            && (text.ends_with(".yml") || text.ends_with(".yaml")))
            || text.starts_with(".ci/")
            || text.starts_with(".circleci/")
            || matches!(
                text.as_str(),
                ".gitlab-ci.yml" | "Jenkinsfile" | "azure-pipelines.yml" | ".travis.yml"
            );
        if is_ci {
            analysis.ci.push(text);
            continue;
        }
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let doc_ext = [".md", ".rst", ".txt", ".adoc"]
            .iter()
            .any(|e| name.to_lowercase().ends_with(e));
        let top_level = file.components().count() == 1;
        let is_doc = (top_level
            && (name.to_uppercase().starts_with("README")
                || (doc_ext && !name.starts_with("requirements") && name != "CMakeLists.txt")))
            || (text.starts_with("docs/") && doc_ext);
        if is_doc {
            analysis.docs.push(text);
        }
    }
    analysis.ci.sort();
    analysis
        .docs
        .sort_by_key(|d| (!d.to_uppercase().starts_with("README"), d.clone()));
    analysis.docs.truncate(30);
    analysis
}

fn first_evidence<'a>(candidates: &[(bool, &'a str)]) -> Option<&'a str> {
    candidates.iter().find(|(hit, _)| *hit).map(|(_, e)| *e)
}

/// Relative paths of the project's files, skipping [`SKIPPED_DIRS`] and symlinks, sorted.
fn walk(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![(root.to_path_buf(), 0usize)];
    let mut seen = 0usize;
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            seen += 1;
            if seen > MAX_ENTRIES {
                break;
            }
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            if kind.is_dir() {
                let name = entry.file_name();
                if depth < MAX_DEPTH && !SKIPPED_DIRS.iter().any(|s| name == *s) {
                    stack.push((path, depth + 1));
                }
            } else if kind.is_file()
                && let Ok(relative) = path.strip_prefix(root)
            {
                files.push(relative.to_path_buf());
            }
        }
    }
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mypy_files_come_from_the_configuration_mypy_reads() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        assert_eq!(mypy_files(dir.path()), None);
        write(
            "setup.cfg",
            "[mypy]\nfiles =\n    src,\n    tools/gen.py\nstrict = true\n",
        );
        assert_eq!(
            mypy_files(dir.path()),
            Some(vec!["src".into(), "tools/gen.py".into()])
        );
        write(
            "pyproject.toml",
            "[tool.mypy]\nfiles = [\"lib\", \"app.py\"]\n",
        );
        assert_eq!(
            mypy_files(dir.path()),
            Some(vec!["lib".into(), "app.py".into()])
        );
        write("mypy.ini", "[mypy]\nstrict = True\n");
        assert_eq!(
            mypy_files(dir.path()),
            None,
            "mypy.ini wins and names no files"
        );
    }
}
