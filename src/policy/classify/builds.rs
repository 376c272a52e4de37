//! Test runners, linters, build tools and package managers: checks and builds are allowed,
//! installing, publishing and unknown tasks are escalated.

use super::*;

/// Test runners, linters, formatters and type checkers: the everyday checks.
pub(super) const CHECKERS: &[&str] = &[
    "pytest",
    "py.test",
    "ruff",
    "black",
    "isort",
    "flake8",
    "pylint",
    "mypy",
    "pyright",
    "bandit",
    "pyflakes",
    "pycodestyle",
    "pydocstyle",
    "coverage",
    "autopep8",
    "yapf",
    "tsc",
    "eslint",
    "prettier",
    "jest",
    "vitest",
    "mocha",
    "ava",
    "jasmine",
    "karma",
    "biome",
    "stylelint",
    "rustfmt",
    "gofmt",
    "goimports",
    "golangci-lint",
    "staticcheck",
    "shellcheck",
    "shfmt",
    "hadolint",
    "yamllint",
    "markdownlint",
    "codespell",
    "cppcheck",
    "clang-format",
    "clang-tidy",
    "ctest",
    "phpunit",
    "rspec",
    "rubocop",
    "pre-commit",
    "nextest",
    "cargo-nextest",
    "ninja",
    "vulture",
    "interrogate",
    "pip-audit",
    "safety",
    "semgrep",
    "typos",
    "taplo",
    "actionlint",
    "ktlint",
    "swiftlint",
    "dotnet-format",
];

/// Package managers whose every use installs or removes software.
pub(super) const INSTALLERS: &[&str] = &[
    "apt",
    "apt-get",
    "apt-cache",
    "aptitude",
    "dpkg",
    "dpkg-query",
    "rpm",
    "yum",
    "dnf",
    "zypper",
    "pacman",
    "apk",
    "brew",
    "port",
    "snap",
    "flatpak",
    "nix-env",
    "nix",
    "gem",
    "composer",
    "cpan",
    "cpanm",
    "luarocks",
    "opam",
    "cabal",
    "stack",
    "pipx",
    "conda",
    "mamba",
    "micromamba",
    "sdk",
    "asdf",
    "mise",
    "nvm",
    "volta",
    "fnm",
    "pyenv",
    "rbenv",
    "corepack",
    "tox",
    "nox",
    "install-tool",
];

/// Names of package scripts and make targets that run checks or builds.
pub(super) const SAFE_TARGETS: &[&str] = &[
    "test",
    "tests",
    "check",
    "checks",
    "lint",
    "lint:fix",
    "typecheck",
    "type-check",
    "types",
    "tsc",
    "build",
    "fmt",
    "format",
    "format:check",
    "fmt-check",
    "coverage",
    "all",
    "ci",
    "verify",
    "unit",
    "test:unit",
    "compile",
    "vet",
    "style",
    "mypy",
    "ruff",
    "pytest",
    "clippy",
    "doc",
    "docs",
    "e2e",
    "integration",
    "bench",
    "clean-pyc",
];

impl Classifier<'_> {
    pub(super) fn cargo(&mut self, args: &[Word], inv: &Invocation, v: &mut Verdicts) {
        for (i, arg) in args.iter().enumerate() {
            let a = arg.value.as_str();
            if a == "--manifest-path" || a.starts_with("--manifest-path=") {
                let value = a
                    .strip_prefix("--manifest-path=")
                    .map(Word::literal)
                    .or_else(|| args.get(i + 1).cloned());
                let inside = value
                    .and_then(|w| self.path_of(&w, inv.cwd.as_deref()))
                    .is_some_and(|p| matches!(self.scope.place(&p), Place::Inside(_)));
                if !inside {
                    v.escalate(
                        "cargo builds a package outside the project (its build scripts run)",
                    );
                }
            }
        }
        let mut i = 0;
        while i < args.len() && (args[i].value.starts_with('-') || args[i].value.starts_with('+')) {
            let a = args[i].value.as_str();
            if a == "--config" || a.starts_with("--config=") {
                v.escalate("cargo --config can replace the compiler or a runner");
            }
            if [
                "--manifest-path",
                "--color",
                "-Z",
                "--config",
                "-C",
                "--target-dir",
            ]
            .contains(&a)
            {
                i += 1;
            }
            if ["-V", "--version", "--list", "-h", "--help"].contains(&a) {
                return v.allow("cargo prints information");
            }
            i += 1;
        }
        let sub = args.get(i).and_then(Word::known).unwrap_or("");
        let rest = args.get(i + 1..).unwrap_or_default();
        match sub {
            "test" | "t" | "build" | "b" | "check" | "c" | "clippy" | "fmt" | "doc" | "d"
            | "bench" | "tree" | "metadata" | "nextest" | "locate-project" | "verify-project"
            | "version" | "help" | "pkgid" | "read-manifest" | "expand" | "llvm-cov" | "udeps"
            | "deny" | "machete" | "hack" | "miri" | "msrv" | "semver-checks" => {
                if sub == "doc" && rest.iter().any(|a| a.value == "--open") {
                    v.escalate("cargo doc --open starts a browser");
                }
                v.allow(format!("cargo {sub} builds, checks or tests"));
            }
            "run" | "r" => v.escalate("cargo run runs the project's program"),
            "install" | "add" | "remove" | "rm" | "update" | "upgrade" | "fetch" | "uninstall"
            | "vendor" | "generate-lockfile" => {
                v.escalate(format!("cargo {sub} installs or changes dependencies"));
            }
            "publish" | "login" | "logout" | "owner" | "yank" => {
                v.escalate(format!("cargo {sub} publishes to a registry"))
            }
            "search" | "info" => v.escalate(format!("cargo {sub} reaches the network")),
            "clean" => v.escalate("cargo clean deletes build output"),
            "new" | "init" => v.allow(format!("cargo {sub} creates a package")),
            "" => v.allow("cargo prints help"),
            _ => {
                v.escalate(format!(
                    "cargo {sub} is a plugin or subcommand the policy does not know"
                ));
            }
        }
    }

    pub(super) fn go(&mut self, args: &[Word], v: &mut Verdicts) {
        let sub = args.first().and_then(Word::known).unwrap_or("");
        match sub {
            "test" | "vet" | "build" | "fmt" | "list" | "version" | "doc" | "help" | "env"
            | "tool" => {
                v.allow(format!("go {sub} builds, checks or reports"));
            }
            "mod"
                if args.get(1).is_some_and(|a| {
                    ["graph", "why", "verify", "edit-check"].contains(&a.value.as_str())
                }) =>
            {
                v.allow("go mod only reports");
            }
            "run" => v.escalate("go run runs a program"),
            "generate" => v.escalate("go generate runs the commands named in the source"),
            "clean" => v.escalate("go clean deletes build output"),
            _ => v.escalate(format!("go {sub} installs or fetches modules")),
        }
    }

    pub(super) fn node_package_manager(&mut self, name: &str, args: &[Word], v: &mut Verdicts) {
        let ops = Grammar {
            valued: &[
                "--prefix",
                "-w",
                "--workspace",
                "--filter",
                "-C",
                "--dir",
                "--cwd",
            ],
        }
        .operands(args);
        let sub = ops.first().and_then(|w| w.known()).unwrap_or("");
        let script = ops.get(1).and_then(|w| w.known());
        let safe_script = |s: &str| {
            SAFE_TARGETS.contains(&s)
                || ["test:", "lint:", "check:", "type", "format:", "fmt:"]
                    .iter()
                    .any(|p| s.starts_with(p))
        };
        match sub {
            "test" | "t" | "tst" => v.allow(format!("{name} test runs the tests")),
            "run" | "run-script" | "rum" | "urn" => match script {
                Some(s) if safe_script(s) => {
                    v.allow(format!("{name} run {s} runs a check or build script"))
                }
                Some(s) => v.escalate(format!(
                    "{name} run {s} runs a package script the policy does not know"
                )),
                None => v.allow(format!("{name} run lists scripts")),
            },
            "ls" | "list" | "ll" | "la" | "why" | "explain" | "help" | "--version" | "-v"
            | "root" | "bin" | "prefix" | "config"
                if !args.iter().any(|a| a.value == "set" || a.value == "delete") =>
            {
                v.allow(format!("{name} {sub} only reports"));
            }
            "exec" | "x" | "dlx" => {
                let tool = ops.get(1).and_then(|w| w.known()).unwrap_or("");
                if ["tsc", "eslint", "prettier", "jest", "vitest", "mocha"].contains(&tool) {
                    v.allow(format!("{name} {sub} runs the project's {tool}"));
                } else {
                    v.escalate(format!("{name} {sub} may download a package and runs it"));
                }
            }
            "install" | "i" | "ci" | "add" | "uninstall" | "remove" | "rm" | "un" | "update"
            | "up" | "upgrade" | "link" | "ln" | "dedupe" | "prune" | "rebuild" | "audit"
            | "outdated" | "view" | "info" | "show" | "create" | "init" | "publish"
            | "unpublish" | "login" | "adduser" | "pack" | "deprecate" | "dist-tag" | "global"
            | "" => {
                if sub.is_empty() && name != "yarn" {
                    v.allow(format!("{name} prints help"));
                } else {
                    v.escalate(format!(
                        "{name} {} installs packages, publishes or reaches the registry",
                        if sub.is_empty() { "(install)" } else { sub }
                    ));
                }
            }
            s if name == "yarn" || name == "pnpm" || name == "bun" => {
                if safe_script(s) {
                    v.allow(format!("{name} {s} runs a check or build script"));
                } else {
                    v.escalate(format!(
                        "{name} {s} runs a package script the policy does not know"
                    ));
                }
            }
            _ => v.escalate(format!(
                "{name} {sub} is a subcommand the policy does not know"
            )),
        }
    }

    pub(super) fn python_package_manager(
        &mut self,
        name: &str,
        args: &[Word],
        inv: &Invocation,
        v: &mut Verdicts,
        depth: usize,
    ) {
        let ops = Grammar {
            valued: &["--directory", "--project", "-p", "--python"],
        }
        .operands(args);
        let sub = ops.first().and_then(|w| w.known()).unwrap_or("");
        let reading = [
            "list",
            "show",
            "freeze",
            "check",
            "--version",
            "-V",
            "help",
            "tree",
            "graph",
            "env",
            "info",
            "version",
            "config",
            "inspect",
            "debug",
        ];
        if name == "bundle" && sub == "exec"
            || ["run", "exec"].contains(&sub) && name != "pip" && name != "pip3"
        {
            let at = args
                .iter()
                .position(|a| a.value == sub)
                .map_or(args.len(), |p| p + 1);
            let inner = skip_options(
                &args[at..],
                &[
                    "--with",
                    "-w",
                    "--python",
                    "-p",
                    "--env",
                    "-e",
                    "--group",
                    "--extra",
                    "--package",
                    "--directory",
                    "--project",
                ],
            );
            if inner.is_empty() {
                return v.allow(format!("{name} {sub} lists scripts"));
            }
            return self.inner(inner, inv, v, depth, false);
        }
        if name == "uv" && sub == "pip" {
            let pip_sub = ops.get(1).and_then(|w| w.known()).unwrap_or("");
            return if reading.contains(&pip_sub) {
                v.allow(format!("uv pip {pip_sub} only reports"))
            } else {
                v.escalate(format!("uv pip {pip_sub} installs or removes packages"))
            };
        }
        if name == "uv" && sub == "venv" {
            return v.allow("uv venv creates a virtual environment");
        }
        if reading.contains(&sub)
            || args
                .iter()
                .any(|a| ["--version", "-V"].contains(&a.value.as_str()))
                && args.len() == 1
        {
            v.allow(format!("{name} {sub} only reports"));
        } else if sub.is_empty() {
            v.allow(format!("{name} prints help"));
        } else {
            v.escalate(format!(
                "{name} {sub} installs, removes or publishes packages"
            ));
        }
    }

    /// A system or language package manager: listing is allowed, installing or removing escalated.
    pub(super) fn installer(
        &mut self,
        name: &str,
        args: &[Word],
        inv: &Invocation,
        v: &mut Verdicts,
        depth: usize,
        from_input: bool,
    ) {
        let listing = args.first().and_then(Word::known).is_some_and(|a| {
            [
                "list",
                "search",
                "show",
                "info",
                "--version",
                "-v",
                "-V",
                "-l",
                "--list",
                "help",
                "policy",
                "env",
            ]
            .contains(&a)
        });
        if listing || matches!(name, "apt-cache" | "dpkg-query") {
            v.allow(format!("{name} only lists packages"));
        } else if matches!(name, "conda" | "mamba")
            && args.first().and_then(Word::known) == Some("run")
        {
            let inner = skip_options(&args[1..], &["-n", "--name", "-p", "--prefix"]);
            self.inner(inner, inv, v, depth, from_input);
        } else {
            v.escalate(format!("{name} installs or removes packages"));
        }
    }

    /// rustup: reports are allowed, toolchain changes escalated, `rustup run` judged by what it runs.
    pub(super) fn rustup(
        &mut self,
        args: &[Word],
        inv: &Invocation,
        v: &mut Verdicts,
        depth: usize,
        from_input: bool,
    ) {
        let first = args.first().and_then(Word::known).unwrap_or("");
        let changes = args.iter().any(|a| {
            [
                "install",
                "add",
                "remove",
                "uninstall",
                "update",
                "self",
                "default",
                "set",
            ]
            .contains(&a.value.as_str())
        });
        let reports = [
            "show",
            "--version",
            "-V",
            "which",
            "toolchain",
            "component",
            "target",
            "help",
        ];
        if first == "run" {
            self.inner(args.get(2..).unwrap_or_default(), inv, v, depth, from_input);
        } else if changes || !reports.contains(&first) {
            v.escalate("rustup installs or removes toolchains");
        } else {
            v.allow("rustup only reports");
        }
    }

    /// npx and friends: the project's known tools are allowed; anything else may be downloaded and is escalated.
    pub(super) fn npx(&mut self, args: &[Word], v: &mut Verdicts) {
        let tool = skip_options(args, &["-p", "--package", "-c", "--call"])
            .first()
            .and_then(Word::known);
        let known = [
            "tsc",
            "eslint",
            "prettier",
            "jest",
            "vitest",
            "mocha",
            "biome",
            "stylelint",
            "playwright",
            "tsx-check",
        ];
        if tool.is_some_and(|t| known.contains(&t)) {
            v.allow(format!("npx runs the project's {}", tool.unwrap_or("tool")));
        } else {
            v.escalate("npx may download a package and runs it");
        }
    }

    /// make, just and other task runners: known check and build targets are allowed.
    pub(super) fn task_runner(&mut self, name: &str, args: &[Word], v: &mut Verdicts) {
        let valued = [
            "-C",
            "-f",
            "-j",
            "-l",
            "-o",
            "-W",
            "--directory",
            "--file",
            "--jobs",
            "--justfile",
        ];
        let targets: Vec<&Word> = Grammar { valued: &valued }
            .operands(args)
            .into_iter()
            .filter(|w| !w.value.contains('='))
            .collect();
        let own_file = args.iter().any(|a| {
            ["-f", "--file", "--makefile", "--justfile"].contains(&a.value.as_str())
                || a.value.starts_with("--file=")
                || a.value.starts_with("--makefile=")
        });
        if own_file {
            v.escalate(format!("{name} runs a build file the policy does not know"));
        } else if has_flag(args, 'n', &["--dry-run", "--just-print", "--list", "-l"])
            && name == "make"
            || args
                .iter()
                .any(|a| ["--list", "-l", "--summary"].contains(&a.value.as_str()))
                && name != "make"
        {
            v.allow(format!("{name} only shows what it would do"));
        } else if targets.is_empty() && name == "make" {
            v.allow("make builds the default target");
        } else if targets
            .iter()
            .all(|t| t.known().is_some_and(|t| SAFE_TARGETS.contains(&t)))
            && !targets.is_empty()
        {
            v.allow(format!("{name} runs check or build targets"));
        } else {
            let names: Vec<&str> = targets.iter().map(|t| t.source.as_str()).collect();
            v.escalate(format!(
                "{name} runs the target {}, which the policy does not know",
                if names.is_empty() {
                    "(default)".into()
                } else {
                    names.join(" ")
                }
            ));
        }
    }

    /// JVM, .NET, Swift and Elixir build tools: known check and build tasks are allowed.
    pub(super) fn build_tool(&mut self, name: &str, args: &[Word], v: &mut Verdicts) {
        let safe = [
            "test",
            "check",
            "build",
            "compile",
            "verify",
            "lint",
            "format",
            "--version",
            "-v",
            "clean-check",
        ];
        if !args.is_empty()
            && args
                .iter()
                .filter(|a| !a.value.starts_with('-'))
                .all(|a| safe.contains(&a.value.as_str()))
        {
            v.allow(format!("{name} runs checks or a build"));
        } else {
            v.escalate(format!("{name} runs a task the policy does not know"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::check;

    #[test]
    fn verdicts_and_reasons() {
        check(
            r#"
            allow: pytest -q => test, lint, format or type check
            allow: ruff check . => test, lint, format or type check
            allow: mypy src => test, lint, format or type check
            allow: cargo test => builds, checks or tests
            allow: cargo build --release => builds, checks or tests
            escalate: cargo publish => publishes to a registry
            escalate: cargo install ripgrep => installs or changes dependencies
            allow: go test ./... => builds, checks or reports
            allow: npm test => runs the tests
            escalate: npm install left-pad => installs packages
            escalate: npm publish => publishes
            allow: npx eslint src => the project's eslint
            escalate: npx some-random-tool => may download a package
            escalate: pip install requests => installs, removes or publishes
            allow: pip list => only reports
            allow: uv run pytest => pytest is a test
            escalate: apt-get install curl => installs or removes packages
            allow: apt-cache search curl => only lists packages
            allow: make => builds the default target
            allow: make test => check or build targets
            escalate: make deploy => runs the target deploy
            escalate: make -f other.mk => a build file the policy does not know
            allow: rustup show => only reports
            escalate: rustup toolchain install nightly => installs or removes toolchains
            allow: mvn test => runs checks or a build
            escalate: gradle publish => a task the policy does not know
            "#,
        );
    }
}
