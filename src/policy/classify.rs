//! The built-in judgement of shell commands: every simple command a command line runs is looked
//! up by what it is (a reader, a test runner, a deleter, a network client, a wrapper around
//! another command, …) and its file arguments are placed (inside the task's files, elsewhere in
//! the project, outside, secret). Wrappers (`sudo`, `env`, `timeout`, `xargs`, `find -exec`,
//! `bash -c`, `eval`, `uv run`, …) are unwrapped and the command inside is judged too.
//!
//! Each judgement is a [`Subject`]: what it is about, how severe, why, and how firmly — a
//! `Hard` verdict (a destructive or unreadable command) cannot be lowered by any rule.

use std::path::{Path, PathBuf};

use super::paths::{self, Place, Scope};
use super::rules::Severity;
use super::shell::{self, Invocation, Item, RedirectKind, Word};

/// How firmly a built-in verdict holds against an allow rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Firmness {
    /// Any matching allow rule lowers it.
    Soft,
    /// Only an allow rule for the path itself (`Edit(//tmp/**)`) lowers it.
    PathRule,
    /// Nothing lowers it.
    Hard,
}

/// What a subject is, for matching rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matter {
    /// A simple shell command, as text.
    Command(String),
    /// A file read.
    Read(PathBuf),
    /// A file write.
    Edit(PathBuf),
}

/// One judged thing: a simple command, a file it touches, or something unreadable.
#[derive(Debug, Clone)]
pub struct Subject {
    /// What is judged, as shown to people (`rm -rf build`, `> out.txt`).
    pub text: String,
    /// What rules are matched against.
    pub matters: Vec<Matter>,
    /// The built-in verdict.
    pub severity: Severity,
    /// Why.
    pub reason: String,
    /// How firmly.
    pub firmness: Firmness,
}

/// Variables that change which programs run or how; setting them is escalated.
const DANGEROUS_ENV: &[&str] = &[
    "PATH",
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "LD_AUDIT",
    "BASH_ENV",
    "ENV",
    "PROMPT_COMMAND",
    "IFS",
    "PS4",
    "SHELLOPTS",
    "BASHOPTS",
    "GIT_SSH_COMMAND",
    "GIT_SSH",
    "GIT_EXEC_PATH",
    "GIT_CONFIG",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_PARAMETERS",
    "GIT_ASKPASS",
    "NODE_OPTIONS",
    "PYTHONSTARTUP",
    "PERL5OPT",
    "RUSTC_WRAPPER",
    "CARGO_BUILD_RUSTC_WRAPPER",
    "DYLD_INSERT_LIBRARIES",
    "EDITOR",
    "VISUAL",
    "PAGER",
    "GIT_PAGER",
];

/// Programs that only read, print or compute.
const READERS: &[&str] = &[
    "cat",
    "head",
    "tail",
    "less",
    "more",
    "wc",
    "cut",
    "nl",
    "tac",
    "rev",
    "fold",
    "fmt",
    "column",
    "paste",
    "join",
    "comm",
    "diff",
    "cmp",
    "colordiff",
    "file",
    "stat",
    "du",
    "ls",
    "ll",
    "dir",
    "tree",
    "realpath",
    "readlink",
    "md5sum",
    "sha1sum",
    "sha224sum",
    "sha256sum",
    "sha384sum",
    "sha512sum",
    "b2sum",
    "cksum",
    "sum",
    "xxd",
    "hexdump",
    "od",
    "strings",
    "base64",
    "base32",
    "jq",
    "yq",
    "bat",
    "batcat",
    "zcat",
    "zless",
    "bzcat",
    "xzcat",
    "lsattr",
    "expand",
    "unexpand",
    "iconv",
    "look",
    "tsort",
    "numfmt",
    "pr",
    "ptx",
    "split",
    "csplit",
    "shuf",
    "tokei",
    "cloc",
    "sloccount",
    "zipinfo",
    "identify",
    "sort",
    "uniq",
    "json_pp",
    "xmllint",
    "fd",
    "fdfind",
    "locate",
    "plocate",
];

/// Programs that search: their first operand is a pattern, not a file.
const SEARCHERS: &[&str] = &[
    "grep", "egrep", "fgrep", "rg", "ag", "ack", "zgrep", "git-grep",
];

/// Programs and builtins that touch no file.
const HARMLESS: &[&str] = &[
    "echo",
    "printf",
    "true",
    "false",
    ":",
    "test",
    "[",
    "pwd",
    "cd",
    "pushd",
    "popd",
    "dirs",
    "sleep",
    "date",
    "whoami",
    "id",
    "groups",
    "uname",
    "hostname",
    "uptime",
    "ps",
    "pgrep",
    "pidof",
    "free",
    "nproc",
    "seq",
    "yes",
    "expr",
    "bc",
    "dc",
    "cal",
    "tty",
    "locale",
    "getconf",
    "arch",
    "lscpu",
    "lsblk",
    "vmstat",
    "iostat",
    "which",
    "type",
    "whereis",
    "hash",
    "basename",
    "dirname",
    "tr",
    "exit",
    "return",
    "shift",
    "wait",
    "read",
    "local",
    "readonly",
    "let",
    "unset",
    "shopt",
    "jobs",
    "fg",
    "bg",
    "disown",
    "clear",
    "tput",
    "reset",
    "man",
    "help",
    "info",
    "apropos",
    "whatis",
    "history",
    "umask",
    "ulimit",
    "times",
    "getopts",
    "mapfile",
    "readarray",
    "caller",
    "logname",
    "users",
    "who",
    "w",
    "last",
    "env-check",
    "top",
    "htop",
    "df",
    "mktemp",
    "fc-list",
    "column",
    "tput",
    "stty",
    "true",
];

/// Test runners, linters, formatters and type checkers: the everyday checks.
const CHECKERS: &[&str] = &[
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

/// Programs that reach the network.
const NETWORK: &[&str] = &[
    "curl",
    "wget",
    "http",
    "https",
    "xh",
    "httpie",
    "aria2c",
    "nc",
    "ncat",
    "netcat",
    "socat",
    "telnet",
    "ssh",
    "scp",
    "sftp",
    "ftp",
    "lftp",
    "mosh",
    "ping",
    "ping6",
    "dig",
    "nslookup",
    "host",
    "whois",
    "traceroute",
    "tracepath",
    "lynx",
    "w3m",
    "links",
    "elinks",
    "gh",
    "hub",
    "glab",
    "aws",
    "gcloud",
    "az",
    "kubectl",
    "helm",
    "terraform",
    "pulumi",
    "docker",
    "podman",
    "nerdctl",
    "vagrant",
    "ansible",
    "ansible-playbook",
    "rclone",
    "s3cmd",
    "gsutil",
    "openssl",
    "ssh-copy-id",
    "nmap",
    "websocat",
    "grpcurl",
    "twine",
    "heroku",
    "vercel",
    "netlify",
    "fly",
    "flyctl",
];

/// Package managers whose every use installs or removes software.
const INSTALLERS: &[&str] = &[
    "apt",
    "apt-get",
    "aptitude",
    "dpkg",
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

/// Programs that change the machine itself; always refused.
const SYSTEM_DESTROYERS: &[&str] = &[
    "mkfs",
    "mke2fs",
    "mkswap",
    "mkfs.ext4",
    "mkfs.ext3",
    "mkfs.xfs",
    "mkfs.vfat",
    "mkfs.btrfs",
    "fdisk",
    "sfdisk",
    "gdisk",
    "cfdisk",
    "parted",
    "wipefs",
    "shutdown",
    "reboot",
    "halt",
    "poweroff",
    "init",
    "telinit",
    "insmod",
    "rmmod",
    "modprobe",
    "swapoff",
    "useradd",
    "userdel",
    "usermod",
    "groupadd",
    "groupdel",
    "passwd",
    "chpasswd",
    "visudo",
    "kexec",
    "hdparm",
    "blkdiscard",
    "zpool",
    "lvremove",
    "vgremove",
    "pvremove",
    "cryptsetup",
];

/// Programs that manage services, mounts, firewalls, schedules and processes.
const SYSTEM_CHANGERS: &[&str] = &[
    "systemctl",
    "service",
    "launchctl",
    "mount",
    "umount",
    "iptables",
    "ip6tables",
    "nft",
    "ufw",
    "firewall-cmd",
    "crontab",
    "at",
    "batch",
    "kill",
    "pkill",
    "killall",
    "skill",
    "renice",
    "sysctl",
    "chroot",
    "setcap",
    "ldconfig",
    "update-alternatives",
    "ifconfig",
    "ip",
    "route",
    "tc",
    "journalctl",
    "loginctl",
    "timedatectl",
    "hostnamectl",
];

/// Shells and interpreters that read a program from their standard input when given none.
const SHELLS: &[&str] = &[
    "sh", "bash", "zsh", "dash", "ksh", "mksh", "fish", "ash", "csh", "tcsh", "busybox",
];

/// Names of package scripts and make targets that run checks or builds.
const SAFE_TARGETS: &[&str] = &[
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

/// Identifiers a one-line Python or JavaScript program may use and still be judged harmless.
const SAFE_CODE_WORDS: &[&str] = &[
    "print",
    "import",
    "from",
    "as",
    "sys",
    "version",
    "version_info",
    "platform",
    "python_version",
    "json",
    "dumps",
    "loads",
    "load",
    "len",
    "str",
    "int",
    "float",
    "bool",
    "list",
    "dict",
    "tuple",
    "set",
    "range",
    "math",
    "sqrt",
    "executable",
    "prefix",
    "argv",
    "stdin",
    "read",
    "for",
    "in",
    "if",
    "else",
    "elif",
    "and",
    "or",
    "not",
    "is",
    "True",
    "False",
    "None",
    "true",
    "false",
    "null",
    "undefined",
    "__version__",
    "re",
    "match",
    "search",
    "findall",
    "sub",
    "time",
    "datetime",
    "date",
    "now",
    "today",
    "isoformat",
    "sum",
    "max",
    "min",
    "sorted",
    "reversed",
    "format",
    "getdefaultencoding",
    "maxsize",
    "pass",
    "lambda",
    "return",
    "def",
    "join",
    "split",
    "strip",
    "upper",
    "lower",
    "items",
    "keys",
    "values",
    "enumerate",
    "zip",
    "isinstance",
    "type",
    "repr",
    "abs",
    "round",
    "pow",
    "hex",
    "ord",
    "chr",
    "any",
    "all",
    "map",
    "filter",
    "console",
    "log",
    "process",
    "versions",
    "JSON",
    "stringify",
    "parse",
    "Math",
    "floor",
    "ceil",
    "random",
    "Date",
    "toISOString",
    "arch",
    "node",
    "v8",
    "let",
    "const",
    "var",
    "x",
    "i",
    "n",
    "s",
    "k",
    "v",
    "d",
    "e",
    "a",
    "b",
    "line",
    "lines",
    "sep",
    "end",
    "file",
    "stdout",
    "indent",
    "sort_keys",
    "count",
    "startswith",
    "endswith",
    "replace",
    "encode",
    "decode",
    "hexdigest",
    "sha256",
    "md5",
    "hashlib",
    "string",
    "ascii_letters",
    "digits",
    "uuid",
    "uuid4",
    "textwrap",
    "dedent",
    "fill",
    "decimal",
    "Decimal",
    "fractions",
    "Fraction",
    "statistics",
    "mean",
    "median",
    "itertools",
    "functools",
    "collections",
    "Counter",
    "defaultdict",
    "importlib",
    "metadata",
    "util",
    "find_spec",
    "pytest",
    "numpy",
    "np",
    "pandas",
    "pd",
    "__file__",
    "platform",
    "machine",
    "node",
    "release",
    "architecture",
    "length",
    "toString",
    "toFixed",
    "parseInt",
    "parseFloat",
    "Number",
    "String",
    "Array",
    "Object",
    "entries",
    "fromEntries",
    "exit",
    "float_info",
    "implementation",
    "name",
];

/// Whether a variable name suggests a secret value.
fn secret_variable(name: &str, known: &[String]) -> bool {
    let upper = name.to_ascii_uppercase();
    known.iter().any(|k| k.eq_ignore_ascii_case(name))
        || [
            "KEY",
            "TOKEN",
            "SECRET",
            "PASSWORD",
            "PASSWD",
            "CREDENTIAL",
            "AUTH",
            "COOKIE",
            "SESSION",
        ]
        .iter()
        .any(|s| upper.contains(s))
}

/// Judges command lines and the files they touch.
pub struct Classifier<'a> {
    scope: &'a Scope,
    secret_names: &'a [String],
    /// Everything judged so far.
    pub subjects: Vec<Subject>,
}

/// Options of a program that take a value in the next word.
struct Grammar<'a> {
    valued: &'a [&'a str],
}

impl Grammar<'_> {
    const NONE: Grammar<'static> = Grammar { valued: &[] };

    /// Splits arguments into operands (options and their values removed); `--` ends options.
    fn operands<'w>(&self, args: &'w [Word]) -> Vec<&'w Word> {
        let mut out = Vec::new();
        let mut iter = args.iter();
        let mut options_done = false;
        while let Some(arg) = iter.next() {
            let v = arg.value.as_str();
            if options_done || !v.starts_with('-') || v == "-" || arg.dynamic && !v.starts_with('-')
            {
                out.push(arg);
            } else if v == "--" {
                options_done = true;
            } else if self.valued.contains(&v) {
                iter.next();
            }
        }
        out
    }

    /// The value of an option (`-o FILE`, `-oFILE`, `--output=FILE`, `--output FILE`).
    fn option(args: &[Word], names: &[&str]) -> Vec<Word> {
        let mut out = Vec::new();
        for (i, arg) in args.iter().enumerate() {
            if arg.value == "--" {
                break;
            }
            for name in names {
                if arg.value == *name {
                    if let Some(next) = args.get(i + 1) {
                        out.push(next.clone());
                    }
                } else if let Some(rest) = arg.value.strip_prefix(name) {
                    let rest = if name.starts_with("--") {
                        rest.strip_prefix('=')
                    } else {
                        Some(rest)
                    };
                    if let Some(rest) = rest.filter(|r| !r.is_empty()) {
                        let mut w = arg.clone();
                        w.value = rest.to_owned();
                        out.push(w);
                    }
                }
            }
        }
        out
    }
}

fn has_flag(args: &[Word], short: char, long: &[&str]) -> bool {
    args.iter().take_while(|a| a.value != "--").any(|a| {
        let v = a.value.as_str();
        long.contains(&v)
            || (v.starts_with('-')
                && !v.starts_with("--")
                && v[1..].chars().all(|c| c.is_ascii_alphanumeric())
                && v[1..].contains(short))
    })
}

/// What the command is judged to do, before its file arguments.
struct Verdicts {
    list: Vec<(Severity, String, Firmness)>,
}

impl Verdicts {
    fn add(&mut self, severity: Severity, reason: impl Into<String>, firmness: Firmness) {
        self.list.push((severity, reason.into(), firmness));
    }
    fn allow(&mut self, reason: impl Into<String>) {
        self.add(Severity::Allow, reason, Firmness::Soft);
    }
    fn escalate(&mut self, reason: impl Into<String>) {
        self.add(Severity::Escalate, reason, Firmness::Soft);
    }
    fn escalate_hard(&mut self, reason: impl Into<String>) {
        self.add(Severity::Escalate, reason, Firmness::Hard);
    }
    fn deny(&mut self, reason: impl Into<String>) {
        self.add(Severity::Deny, reason, Firmness::Hard);
    }
}

/// How a command treats a file argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Write,
    /// Replaces what a file holds (`> f`, `truncate`, `cp x f`, `dd of=f`): a write that
    /// destroys the old content.
    Overwrite,
    Delete,
}

impl<'a> Classifier<'a> {
    /// A classifier for one tool call.
    pub fn new(scope: &'a Scope, secret_names: &'a [String]) -> Self {
        Self {
            scope,
            secret_names,
            subjects: Vec::new(),
        }
    }

    /// Judges a whole command line run in `cwd`.
    pub fn command_line(&mut self, text: &str, cwd: Option<PathBuf>, depth: usize) {
        if depth > shell::MAX_DEPTH {
            self.subjects.push(Subject {
                text: text.to_owned(),
                matters: Vec::new(),
                severity: Severity::Escalate,
                reason: "commands are nested too deeply to analyse".into(),
                firmness: Firmness::Hard,
            });
            return;
        }
        let env = shell::Env {
            cwd,
            home: self.scope.home.clone(),
        };
        for item in shell::analyse(text, &env) {
            match item {
                Item::Run(inv) => self.invocation(&inv, depth, false),
                Item::Opaque { text, reason } => self.subjects.push(Subject {
                    text,
                    matters: Vec::new(),
                    severity: Severity::Escalate,
                    reason: format!("cannot be analysed: {reason}"),
                    firmness: Firmness::Hard,
                }),
            }
        }
    }

    /// Judges a command given as words (no shell parsing), as a tool runs it.
    pub fn literal_command(&mut self, words: &[String], cwd: Option<PathBuf>) {
        let inv = Invocation {
            words: words.iter().map(|w| Word::literal(w)).collect(),
            assignments: Vec::new(),
            redirects: Vec::new(),
            cwd,
            piped_from: None,
            stdin_text: None,
        };
        self.invocation(&inv, 0, false);
    }

    /// Judges a file access by a tool or a command.
    pub fn file(
        &mut self,
        text: &str,
        access_path: Option<&Path>,
        write: bool,
        command: Option<&str>,
    ) {
        let access = if write { Access::Write } else { Access::Read };
        let subject = self.access_subject(text, access_path, access, command, false);
        self.subjects.push(subject);
    }

    /// Judges one file access. `contents`: the command touches what lies under `path` (a glob,
    /// `find`'s results), not `path` itself.
    fn access_subject(
        &self,
        text: &str,
        path: Option<&Path>,
        access: Access,
        command: Option<&str>,
        contents: bool,
    ) -> Subject {
        let mut matters: Vec<Matter> = command
            .map(|c| Matter::Command(c.to_owned()))
            .into_iter()
            .collect();
        let Some(path) = path else {
            let (severity, what) = match access {
                Access::Read => (Severity::Escalate, "reads"),
                Access::Write | Access::Overwrite => (Severity::Escalate, "writes"),
                Access::Delete => (Severity::Escalate, "deletes"),
            };
            return Subject {
                text: text.to_owned(),
                matters,
                severity,
                reason: format!("{what} a path only known at run time"),
                firmness: Firmness::Hard,
            };
        };
        matters.push(match access {
            Access::Read => Matter::Read(path.to_path_buf()),
            Access::Write | Access::Overwrite | Access::Delete => Matter::Edit(path.to_path_buf()),
        });
        let shown = if contents {
            format!("files in {}", self.scope.show(path))
        } else {
            self.scope.show(path)
        };
        let place = self.scope.place(path);
        let access = if access == Access::Overwrite {
            // With no task files to hold the agent to, the one line is what git can bring
            // back: destroying what an untracked or ignored file holds is like deleting it.
            if let Place::Inside(rel) = &place
                && !self.scope.has_declared_files()
                && paths::secret(path).is_none()
                && !paths::ci(rel)
                && self.scope.unrestorable(path)
            {
                return Subject {
                    text: text.to_owned(),
                    matters,
                    severity: Severity::Escalate,
                    reason: format!(
                        "overwrites {shown}, which git cannot restore (untracked or ignored): as good as deleting it"
                    ),
                    firmness: Firmness::Soft,
                };
            }
            Access::Write
        } else {
            access
        };
        let (severity, reason, firmness) = match (access, &place) {
            (Access::Read, _) if paths::secret(path).is_some() => (
                Severity::Deny,
                format!(
                    "reads {shown}, {}",
                    paths::secret(path).unwrap_or("a secret")
                ),
                Firmness::Hard,
            ),
            (Access::Read, Place::Inside(_)) => (
                Severity::Allow,
                format!("reads {shown} in the project"),
                Firmness::Soft,
            ),
            (Access::Read, Place::Outside) if self.scope.in_home(path) => (
                Severity::Escalate,
                format!("reads {shown}, in the home directory outside the project"),
                Firmness::Soft,
            ),
            (Access::Read, Place::Outside) => (
                Severity::Allow,
                format!("reads {shown}, a system file"),
                Firmness::Soft,
            ),
            (Access::Write | Access::Overwrite, _) if paths::harmless_sink(path) => (
                Severity::Allow,
                format!("writes to {shown}"),
                Firmness::Soft,
            ),
            (Access::Delete, _)
                if self.scope.catastrophic(path)
                    && !(contents && matches!(place, Place::Inside(_))) =>
            {
                (
                    Severity::Deny,
                    format!(
                        "deletes {shown}, which would destroy the system, the home directory or the whole project"
                    ),
                    Firmness::Hard,
                )
            }
            (Access::Write | Access::Overwrite | Access::Delete, Place::Outside)
                if path.starts_with("/dev/") =>
            {
                (
                    Severity::Deny,
                    format!("writes to the device {shown}"),
                    Firmness::Hard,
                )
            }
            (Access::Write | Access::Overwrite | Access::Delete, Place::Outside) => (
                Severity::Deny,
                format!(
                    "{} {shown}, outside the project",
                    if access == Access::Write {
                        "writes"
                    } else {
                        "deletes"
                    }
                ),
                Firmness::PathRule,
            ),
            (Access::Write | Access::Overwrite | Access::Delete, Place::Inside(_))
                if paths::secret(path).is_some() =>
            {
                (
                    Severity::Escalate,
                    format!(
                        "touches {shown}, {}",
                        paths::secret(path).unwrap_or("a secret")
                    ),
                    Firmness::Soft,
                )
            }
            (Access::Write | Access::Overwrite | Access::Delete, Place::Inside(rel))
                if paths::ci(rel) =>
            {
                (
                    Severity::Escalate,
                    format!("changes CI configuration ({shown})"),
                    Firmness::Soft,
                )
            }
            (Access::Delete, Place::Inside(_)) => (
                Severity::Escalate,
                format!("deletes {shown}"),
                Firmness::Soft,
            ),
            (Access::Write | Access::Overwrite, Place::Inside(rel)) if self.scope.declared(rel) => {
                (
                    Severity::Allow,
                    if self.scope.has_declared_files() {
                        format!("writes {shown}, one of the task's files")
                    } else {
                        format!("writes {shown} in the project")
                    },
                    Firmness::Soft,
                )
            }
            (Access::Write | Access::Overwrite, Place::Inside(_)) => (
                Severity::Escalate,
                format!("writes {shown}, which is not among the task's files"),
                Firmness::Soft,
            ),
        };
        Subject {
            text: text.to_owned(),
            matters,
            severity,
            reason,
            firmness,
        }
    }

    /// The path a word names; for a glob, the directory its fixed part names.
    fn path_of(&self, word: &Word, cwd: Option<&Path>) -> Option<PathBuf> {
        let value = word.known()?;
        if word.glob {
            let fixed = dir_prefix_len(value);
            let prefix = value.split('/').take(fixed).collect::<Vec<_>>().join("/");
            let prefix = match (prefix.as_str(), value.starts_with('/')) {
                ("", true) => "/",
                ("", false) => ".",
                (p, _) => p,
            };
            return self.scope.resolve(cwd, prefix);
        }
        self.scope.resolve(cwd, value)
    }

    /// `mkdir` of a folder the task's files will live in is part of writing them.
    fn make_dir(&mut self, inv: &Invocation, word: &Word) {
        if let Some(path) = self.path_of(word, inv.cwd.as_deref())
            && let Place::Inside(rel) = self.scope.place(&path)
            && self.scope.holds_declared(&rel)
            && paths::secret(&path).is_none()
            && !paths::ci(&rel)
        {
            let text = inv.text();
            self.subjects.push(Subject {
                text: text.clone(),
                matters: vec![Matter::Command(text), Matter::Edit(path)],
                severity: Severity::Allow,
                reason: format!(
                    "creates the folder {}, which holds the task's files",
                    word.source
                ),
                firmness: Firmness::Soft,
            });
            return;
        }
        self.touch(inv, word, Access::Write);
    }

    fn touch(&mut self, inv: &Invocation, word: &Word, access: Access) {
        let text = inv.text();
        let cwd = inv.cwd.as_deref();
        let path = self.path_of(word, cwd);
        if access == Access::Read
            && word.glob
            && let Some(dir) = &path
        {
            // A glob reveals a secret only if it matches one that exists.
            let fixed = dir_prefix_len(&word.value);
            let pattern = word
                .value
                .split('/')
                .skip(fixed)
                .collect::<Vec<_>>()
                .join("/");
            for secret in paths::secrets_matching(dir, &pattern) {
                let subject =
                    self.access_subject(&text, Some(&secret), Access::Read, Some(&text), false);
                self.subjects.push(subject);
            }
        }
        let subject = self.access_subject(&text, path.as_deref(), access, Some(&text), word.glob);
        self.subjects.push(subject);
    }

    /// Records the command's own verdict before the file accesses judged while reading it
    /// (from `start` on), so the command reads first.
    fn push(&mut self, inv: &Invocation, verdicts: Verdicts, start: usize) {
        let text = inv.text();
        let shown = if inv.assignments.is_empty() {
            text.clone()
        } else {
            let prefix: Vec<String> = inv
                .assignments
                .iter()
                .map(|(n, v)| format!("{n}={}", v.source))
                .collect();
            format!("{} {text}", prefix.join(" "))
        };
        let Some((severity, _, _)) = verdicts.list.iter().max_by_key(|(s, _, _)| *s) else {
            return;
        };
        let severity = *severity;
        let firmness = verdicts
            .list
            .iter()
            .filter(|(s, _, _)| *s == severity)
            .map(|(_, _, f)| *f)
            .max_by_key(|f| match f {
                Firmness::Soft => 0,
                Firmness::PathRule => 1,
                Firmness::Hard => 2,
            })
            .unwrap_or(Firmness::Soft);
        let reasons: Vec<&str> = verdicts
            .list
            .iter()
            .filter(|(s, _, _)| *s == severity)
            .map(|(_, r, _)| r.as_str())
            .collect();
        let subject = Subject {
            text: shown.trim().to_owned(),
            matters: vec![Matter::Command(text)],
            severity,
            reason: reasons.join("; "),
            firmness,
        };
        self.subjects
            .insert(start.min(self.subjects.len()), subject);
    }

    /// Judges one simple command. `from_input`: extra operands arrive at run time (`xargs`).
    fn invocation(&mut self, inv: &Invocation, depth: usize, from_input: bool) {
        let start = self.subjects.len();
        let mut v = Verdicts { list: Vec::new() };
        for (name, value) in &inv.assignments {
            if DANGEROUS_ENV.contains(&name.as_str()) {
                v.escalate(format!("sets {name}, which changes what programs run"));
            }
            if value
                .variables
                .iter()
                .any(|n| secret_variable(n, self.secret_names))
            {
                v.escalate(format!("copies a secret-looking variable into {name}"));
            }
        }
        for redirect in &inv.redirects {
            let access = match redirect.kind {
                RedirectKind::Read => Access::Read,
                RedirectKind::Write => Access::Write,
                RedirectKind::Truncate => Access::Overwrite,
            };
            let text = format!(
                "{} {}",
                if access == Access::Read { "<" } else { ">" },
                redirect.target.source
            );
            let path = self.path_of(&redirect.target, inv.cwd.as_deref());
            let subject =
                self.access_subject(&text, path.as_deref(), access, None, redirect.target.glob);
            self.subjects.push(subject);
        }
        let Some(first) = inv.words.first() else {
            if !v.list.is_empty() {
                self.push(inv, v, start);
            }
            return;
        };
        for word in &inv.words {
            if let Some(var) = word
                .variables
                .iter()
                .find(|n| secret_variable(n, self.secret_names))
            {
                v.escalate(format!("uses ${var}, which may hold a secret"));
            }
        }
        let Some(program) = first.known() else {
            v.escalate_hard("the command name is only known at run time");
            return self.push(inv, v, start);
        };
        let name = match program.rsplit_once('/') {
            Some((dir, base))
                if ["/bin", "/usr/bin", "/usr/local/bin", "/sbin", "/usr/sbin"].contains(&dir) =>
            {
                base
            }
            Some(_) => {
                v.escalate(format!(
                    "runs the program {program}, whose behaviour the policy does not know"
                ));
                return self.push(inv, v, start);
            }
            None => program,
        };
        let args = &inv.words[1..];
        self.program(name, args, inv, &mut v, depth, from_input);
        self.push(inv, v, start);
    }

    #[allow(clippy::too_many_lines)]
    fn program(
        &mut self,
        name: &str,
        args: &[Word],
        inv: &Invocation,
        v: &mut Verdicts,
        depth: usize,
        from_input: bool,
    ) {
        let base = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
        match name {
            _ if HARMLESS.contains(&name) => self.harmless(name, args, inv, v),
            "export" | "declare" | "typeset" | "set" | "alias" | "env" | "printenv" | "trap"
            | "source" | "." | "exec" | "eval" | "command" | "builtin" => {
                self.builtin(name, args, inv, v, depth)
            }
            _ if READERS.contains(&name) => self.reader(name, args, inv, v, from_input),
            _ if SEARCHERS.contains(&name) => self.search(name, args, inv, v),
            _ if CHECKERS.contains(&name) => {
                v.allow(format!("{name} is a test, lint, format or type check"))
            }
            "sudo" | "doas" | "su" | "run0" | "pkexec" => {
                v.escalate(format!("{name} runs the command as another user (root)"));
                let inner = match name {
                    "su" => {
                        let code = Grammar::option(args, &["-c", "--command"]);
                        return match code.first().and_then(Word::known) {
                            Some(code) => self.command_line(code, inv.cwd.clone(), depth + 1),
                            None => v.escalate_hard("su starts a shell the policy cannot see into"),
                        };
                    }
                    _ => skip_options(
                        args,
                        &[
                            "-u", "-g", "-U", "-C", "-D", "-h", "-p", "-r", "-t", "-T", "--user",
                            "--group",
                        ],
                    ),
                };
                self.inner(inner, inv, v, depth, from_input);
            }
            "nice" | "ionice" | "nohup" | "time" | "stdbuf" | "timeout" | "chrt" | "taskset"
            | "unbuffer" | "setsid" | "flock" | "caffeinate" | "systemd-run" | "chronic"
            | "ifne" => {
                let inner = match name {
                    "timeout" => {
                        let rest = skip_options(args, &["-s", "-k", "--signal", "--kill-after"]);
                        rest.get(1..).unwrap_or_default()
                    }
                    "flock" => {
                        let rest = skip_options(args, &["-w", "-E", "--timeout", "-c"]);
                        if let Some(code) = Grammar::option(args, &["-c", "--command"]).first() {
                            return match code.known() {
                                Some(code) => self.command_line(code, inv.cwd.clone(), depth + 1),
                                None => v.escalate_hard(
                                    "flock -c runs a command only known at run time",
                                ),
                            };
                        }
                        rest.get(1..).unwrap_or_default()
                    }
                    "chrt" | "taskset" => {
                        let rest = skip_options(args, &["-p"]);
                        rest.get(1..).unwrap_or_default()
                    }
                    "systemd-run" => {
                        v.escalate("systemd-run starts a system service");
                        skip_options(args, &["-u", "-p", "--unit", "--property"])
                    }
                    _ => skip_options(
                        args,
                        &[
                            "-n",
                            "-c",
                            "-p",
                            "-i",
                            "-o",
                            "-e",
                            "-f",
                            "--adjustment",
                            "--format",
                            "--output",
                        ],
                    ),
                };
                if inner.is_empty() {
                    v.allow(format!("{name} alone does nothing harmful"));
                } else {
                    self.inner(inner, inv, v, depth, from_input);
                }
            }
            "watch" => {
                let rest = skip_options(args, &["-n", "-d", "--interval", "-g"]);
                let code = shell::join_words(rest);
                if rest.iter().any(|w| w.dynamic) {
                    v.escalate_hard("watch runs a command only known at run time");
                } else {
                    self.command_line(&code, inv.cwd.clone(), depth + 1);
                }
            }
            "xargs" => {
                let valued = [
                    "-n",
                    "-I",
                    "-i",
                    "-P",
                    "-L",
                    "-l",
                    "-d",
                    "-s",
                    "-E",
                    "-e",
                    "-a",
                    "--max-args",
                    "--max-procs",
                    "--delimiter",
                    "--arg-file",
                    "--replace",
                ];
                for file in Grammar::option(args, &["-a", "--arg-file"]) {
                    self.touch(inv, &file, Access::Read);
                }
                let inner = skip_options(args, &valued);
                if inner.is_empty() {
                    v.allow("xargs runs echo");
                } else {
                    self.inner(inner, inv, v, depth, true);
                }
            }
            _ if SHELLS.contains(&name) => self.shell(name, args, inv, v, depth),
            "find" => self.find(args, inv, v, depth),
            "git" => self.git(args, inv, v),
            "rm" | "rmdir" | "unlink" | "shred" | "srm" | "trash" | "trash-put" | "gio" => {
                let ops = Grammar::NONE.operands(args);
                if from_input {
                    v.escalate(format!("{name} deletes files named by its input"));
                }
                if ops.is_empty() {
                    v.allow(format!("{name} without operands deletes nothing"));
                }
                for op in ops {
                    self.touch(inv, op, Access::Delete);
                }
                v.escalate(format!("{name} deletes files"));
            }
            "mv" | "cp" | "install" | "ln" | "rsync" | "scp-local" => {
                self.copy(name, args, inv, v, from_input)
            }
            "touch" | "mkdir" | "tee" | "truncate" | "mkfifo" | "mknod" | "chmod" | "chown"
            | "chgrp" | "setfacl" | "chattr" | "patch" | "dd" | "sed" | "perl" | "awk" | "gawk"
            | "mawk" | "nawk" | "tar" | "unzip" | "zip" | "gzip" | "gunzip" | "bzip2"
            | "bunzip2" | "xz" | "unxz" | "7z" => self.writer(name, args, inv, v, from_input),
            _ if NETWORK.contains(&name) => {
                v.escalate(format!("{name} reaches the network"));
                self.network_uploads(name, args, inv);
                for out in Grammar::option(
                    args,
                    &[
                        "-o",
                        "--output",
                        "-O",
                        "--output-document",
                        "-P",
                        "--directory-prefix",
                    ],
                ) {
                    self.touch(inv, &out, Access::Write);
                }
            }
            _ if INSTALLERS.contains(&name) => {
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
            _ if SYSTEM_DESTROYERS.contains(&name)
                || SYSTEM_DESTROYERS.contains(&base)
                || name.starts_with("mkfs.") =>
            {
                v.deny(format!(
                    "{name} changes the machine itself (disks, power, kernel or accounts)"
                ));
            }
            _ if SYSTEM_CHANGERS.contains(&name) => self.system(name, args, v),
            "cargo" => self.cargo(args, inv, v),
            "rustc" | "rustdoc" => v.allow(format!("{name} compiles or reports")),
            "rustup" => {
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
            "go" => self.go(args, v),
            "npm" | "pnpm" | "yarn" | "bun" => self.node_package_manager(name, args, v),
            "npx" | "pnpx" | "bunx" => {
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
            "node" | "deno" | "nodejs" | "ts-node" | "tsx" => {
                self.interpreter(name, args, inv, v, &["-e", "--eval", "-p", "--print"])
            }
            "python" | "python3" | "python2" | "py" | "pypy" | "pypy3" => {
                self.python(args, inv, v, depth)
            }
            _ if base == "python" || base == "pypy" => self.python(args, inv, v, depth),
            "ruby" | "php" | "lua" | "Rscript" | "julia" | "elixir" | "erl" | "ghci" | "scala"
            | "osascript" => {
                self.interpreter(name, args, inv, v, &["-e", "-r", "--eval", "-c"]);
            }
            "pip" | "pip3" | "uv" | "poetry" | "pipenv" | "pdm" | "hatch" | "rye" | "bundle" => {
                self.python_package_manager(name, args, inv, v, depth);
            }
            "make" | "gmake" | "just" | "task" | "invoke" | "rake" | "mage" => {
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
            "cmake" => {
                if args
                    .iter()
                    .any(|a| a.value == "--install" || a.value == "-P")
                {
                    v.escalate("cmake installs or runs a script");
                } else {
                    v.allow("cmake configures or builds");
                }
            }
            "gradle" | "gradlew" | "./gradlew" | "mvn" | "mvnw" | "dotnet" | "swift" | "mix"
            | "lein" | "sbt" => {
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
            _ => v.escalate(format!(
                "`{name}` is not a command the policy knows: add a rule to allow it"
            )),
        }
    }

    /// Local files a network command sends: `scp`/`rsync` sources, `curl -d @file`, `-T file`,
    /// `-F name=@file`. A secret among them is refused like any other read of a secret.
    fn network_uploads(&mut self, name: &str, args: &[Word], inv: &Invocation) {
        for (i, arg) in args.iter().enumerate() {
            let value = arg.value.as_str();
            let named = if let Some((_, file)) = value.split_once("=@") {
                Some(file)
            } else if let Some(file) = value.strip_prefix('@') {
                Some(file)
            } else if i > 0
                && [
                    "-T",
                    "--upload-file",
                    "--data-binary",
                    "-d",
                    "--data",
                    "--post-file",
                    "--body-file",
                    "-i",
                ]
                .contains(&args[i - 1].value.as_str())
            {
                Some(value.trim_start_matches('@'))
            } else if matches!(name, "scp" | "sftp" | "rsync")
                && !value.starts_with('-')
                && !value.contains(':')
            {
                Some(value)
            } else {
                None
            };
            if let Some(file) = named.filter(|f| !f.is_empty()) {
                let mut w = arg.clone();
                w.value = file.to_owned();
                self.touch(inv, &w, Access::Read);
            }
        }
    }

    fn inner(
        &mut self,
        words: &[Word],
        outer: &Invocation,
        v: &mut Verdicts,
        depth: usize,
        from_input: bool,
    ) {
        if words.is_empty() {
            return;
        }
        if depth > shell::MAX_DEPTH {
            v.escalate_hard("commands are nested too deeply to analyse");
            return;
        }
        let mut assignments = Vec::new();
        let mut start = 0;
        for w in words {
            match w.known().and_then(|t| t.split_once('=')) {
                Some((n, value))
                    if !n.is_empty()
                        && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
                {
                    assignments.push((n.to_owned(), Word::literal(value)));
                    start += 1;
                }
                _ => break,
            }
        }
        let inner = Invocation {
            words: words[start..].to_vec(),
            assignments,
            redirects: Vec::new(),
            cwd: outer.cwd.clone(),
            piped_from: outer.piped_from.clone(),
            stdin_text: outer.stdin_text.clone(),
        };
        if inner.words.is_empty() {
            v.allow("sets variables only");
            return;
        }
        self.invocation(&inner, depth + 1, from_input);
    }

    fn harmless(&mut self, name: &str, args: &[Word], inv: &Invocation, v: &mut Verdicts) {
        match name {
            "cd" | "pushd" => {
                if let Some(target) = Grammar::NONE.operands(args).first()
                    && let Some(path) = self.path_of(target, inv.cwd.as_deref())
                    && self.scope.place(&path) == Place::Outside
                {
                    v.allow(format!(
                        "{name} leaves the project (later commands are judged there)"
                    ));
                    return;
                }
                v.allow(format!("{name} changes directory"));
            }
            "history" if has_flag(args, 'c', &[]) => {
                v.escalate("history -c erases the shell history")
            }
            "mktemp" => v.allow("mktemp creates a temporary file"),
            _ => v.allow(format!("{name} only prints or computes")),
        }
    }

    fn builtin(
        &mut self,
        name: &str,
        args: &[Word],
        inv: &Invocation,
        v: &mut Verdicts,
        depth: usize,
    ) {
        match name {
            "export" | "declare" | "typeset" | "set" | "readonly" => {
                let names: Vec<&str> = args
                    .iter()
                    .filter_map(|a| a.value.split_once('=').map(|(n, _)| n))
                    .collect();
                if let Some(n) = names.iter().find(|n| DANGEROUS_ENV.contains(n)) {
                    v.escalate(format!("{name} sets {n}, which changes what programs run"));
                } else if args.is_empty()
                    || args.iter().all(|a| a.value == "-p" || a.value == "-x") && name != "set"
                {
                    v.escalate(format!(
                        "{name} prints the environment, which holds secrets"
                    ));
                } else if name == "set" && args.is_empty() {
                    v.escalate("set prints every variable, secrets included");
                } else {
                    v.allow(format!("{name} sets shell options or variables"));
                }
            }
            "alias" => {
                if args.iter().any(|a| a.value.contains('=')) {
                    v.escalate("alias redefines a command");
                } else {
                    v.allow("alias lists aliases");
                }
            }
            "trap" => v.escalate("trap runs a command later, when a signal arrives"),
            "env" | "printenv" => {
                let rest = skip_options(
                    args,
                    &["-u", "--unset", "-C", "--chdir", "-S", "--split-string"],
                );
                if let Some(split) = Grammar::option(args, &["-S", "--split-string"]).first() {
                    return match split.known() {
                        Some(code) => self.command_line(code, inv.cwd.clone(), depth + 1),
                        None => v.escalate_hard("env -S runs a command only known at run time"),
                    };
                }
                let command_start = rest
                    .iter()
                    .position(|w| !w.value.contains('='))
                    .unwrap_or(rest.len());
                if name == "printenv" || command_start == rest.len() {
                    let only_named = name == "printenv" && !args.is_empty();
                    if only_named
                        && !args
                            .iter()
                            .any(|a| secret_variable(&a.value, self.secret_names))
                    {
                        v.allow("printenv prints named variables");
                    } else {
                        v.escalate(format!(
                            "{name} prints the environment, which holds secrets"
                        ));
                    }
                    return;
                }
                for assignment in &rest[..command_start] {
                    if let Some((n, _)) = assignment.value.split_once('=')
                        && DANGEROUS_ENV.contains(&n)
                    {
                        v.escalate(format!("env sets {n}, which changes what programs run"));
                    }
                }
                if has_flag(args, 'C', &["--chdir"]) {
                    v.escalate("env -C runs the command in another directory");
                }
                self.inner(&rest[command_start..], inv, v, depth, false);
            }
            "source" | "." => {
                if let Some(file) = args.first() {
                    self.touch(inv, file, Access::Read);
                }
                let target = args.first().and_then(Word::known).unwrap_or("");
                let inside = args
                    .first()
                    .and_then(|w| self.path_of(w, inv.cwd.as_deref()))
                    .is_some_and(|p| matches!(self.scope.place(&p), Place::Inside(_)));
                if inside
                    && (target.ends_with("bin/activate") || target.ends_with("bin/activate.fish"))
                {
                    v.allow("activates the project's virtual environment");
                } else {
                    v.escalate(format!(
                        "{name} runs the shell script {target}, which the policy does not read"
                    ));
                }
            }
            "exec" | "command" | "builtin" => {
                let rest = skip_options(args, &["-a"]);
                if name == "command" && (has_flag(args, 'v', &[]) || has_flag(args, 'V', &[])) {
                    v.allow("command -v looks a command up");
                } else if rest.is_empty() {
                    v.allow(format!("{name} alone changes only redirections"));
                } else {
                    self.inner(rest, inv, v, depth, false);
                }
            }
            "eval" => {
                if args.iter().any(|a| a.dynamic) {
                    v.escalate_hard("eval runs a command only known at run time");
                } else {
                    let code: Vec<&str> = args.iter().map(|a| a.value.as_str()).collect();
                    self.command_line(&code.join(" "), inv.cwd.clone(), depth + 1);
                    v.allow("eval runs the commands judged separately");
                }
            }
            _ => v.escalate(format!("{name} is not understood")),
        }
    }

    fn reader(
        &mut self,
        name: &str,
        args: &[Word],
        inv: &Invocation,
        v: &mut Verdicts,
        from_input: bool,
    ) {
        let valued: &[&str] = match name {
            "head" | "tail" => &["-n", "-c", "--lines", "--bytes", "-s", "--pid"],
            "cut" => &["-d", "-f", "-c", "-b", "--delimiter", "--fields"],
            "sort" => &[
                "-k",
                "-t",
                "-o",
                "-S",
                "-T",
                "--key",
                "--output",
                "--field-separator",
            ],
            "jq" | "yq" => &["-f", "--from-file", "--indent", "--tab"],
            "du" | "tree" | "ls" => &[
                "-d",
                "-L",
                "-I",
                "-P",
                "--max-depth",
                "--ignore",
                "-w",
                "--block-size",
                "-T",
            ],
            "diff" | "colordiff" => &["-U", "-C", "-x", "-X", "-I", "--label", "-F"],
            "split" | "csplit" => &["-l", "-b", "-n", "-a", "-C", "-d"],
            "xxd" | "od" | "hexdump" => &["-l", "-s", "-c", "-n", "-j", "-N", "-t", "-A", "-g"],
            "column" | "paste" | "join" | "pr" | "nl" | "fold" | "fmt" => {
                &["-s", "-t", "-d", "-w", "-c", "-n", "-1", "-2", "-o"]
            }
            "iconv" => &["-f", "-t", "-o"],
            _ => &[],
        };
        let mut ops = Grammar { valued }.operands(args);
        if matches!(name, "fd" | "fdfind" | "locate" | "plocate") && !ops.is_empty() {
            ops.remove(0); // the pattern
        }
        if matches!(name, "jq" | "yq") && !has_flag(args, 'f', &["--from-file"]) && !ops.is_empty()
        {
            ops.remove(0); // the filter
        }
        // `--arg NAME VALUE` takes two words; their values are not files.
        if matches!(name, "jq") {
            let skip: Vec<&str> = args
                .windows(3)
                .filter(|w| {
                    ["--arg", "--argjson", "--slurpfile", "--rawfile"]
                        .contains(&w[0].value.as_str())
                })
                .flat_map(|w| [w[1].value.as_str(), w[2].value.as_str()])
                .collect();
            ops.retain(|o| !skip.contains(&o.value.as_str()));
        }
        match name {
            "sort" | "iconv" => {
                for out in Grammar::option(args, &["-o", "--output"]) {
                    self.touch(inv, &out, Access::Write);
                }
            }
            "uniq" if ops.len() >= 2 => {
                let out = ops.pop().cloned();
                if let Some(out) = out {
                    self.touch(inv, &out, Access::Write);
                }
            }
            "split" | "csplit" => {
                v.allow(format!("{name} writes pieces next to its input"));
            }
            _ => {}
        }
        if from_input && !matches!(name, "ls" | "stat" | "file" | "du" | "wc") {
            v.allow(format!("{name} reads files named by its input"));
        }
        v.allow(format!("{name} only reads"));
        let lists_names_only = matches!(
            name,
            "ls" | "ll"
                | "dir"
                | "tree"
                | "du"
                | "stat"
                | "file"
                | "realpath"
                | "readlink"
                | "lsattr"
                | "fd"
                | "fdfind"
                | "locate"
                | "plocate"
        );
        for op in ops {
            if lists_names_only {
                let path = self.path_of(op, inv.cwd.as_deref());
                if path.as_deref().is_some_and(|p| {
                    self.scope.place(p) == Place::Outside && paths::secret(p).is_some()
                }) {
                    self.touch(inv, op, Access::Read);
                }
                continue;
            }
            self.touch(inv, op, Access::Read);
        }
    }

    /// grep, rg and friends: the pattern is not a file; every file named is read; a folder
    /// searched recursively is read as the tool would walk it (ripgrep's skipping hidden and
    /// ignored files included), and a secret inside it is asked about.
    fn search(&mut self, name: &str, args: &[Word], inv: &Invocation, v: &mut Verdicts) {
        let valued: &[&str] = &[
            "-e",
            "-f",
            "-m",
            "-A",
            "-B",
            "-C",
            "-d",
            "-D",
            "-g",
            "-t",
            "-T",
            "-j",
            "-M",
            "--type",
            "--glob",
            "--max-count",
            "--regexp",
            "--file",
            "--include",
            "--exclude",
            "--exclude-dir",
            "--iglob",
        ];
        let explicit = has_flag(args, 'e', &["--regexp"]) || has_flag(args, 'f', &["--file"]);
        let ops = Grammar { valued }.operands(args);
        let files: Vec<&Word> = if explicit {
            ops
        } else {
            ops.get(1..).unwrap_or_default().to_vec()
        };
        for pattern_file in Grammar::option(args, &["-f", "--file"]) {
            self.touch(inv, &pattern_file, Access::Read);
        }
        v.allow(format!("{name} searches files"));
        let ripgrep_like = matches!(name, "rg" | "ag" | "ack");
        let recursive = ripgrep_like
            || has_flag(args, 'r', &["--recursive"])
            || has_flag(args, 'R', &["--dereference-recursive"])
            || args
                .windows(2)
                .any(|w| w[0].value == "-d" && w[1].value == "recurse");
        let everything = args.iter().any(|a| {
            [
                "--hidden",
                "--no-ignore",
                "-u",
                "-uu",
                "-uuu",
                "--unrestricted",
                "-.",
                "--all-types",
            ]
            .contains(&a.value.as_str())
        });
        let globs = Grammar::option(args, &["--include", "-g", "--glob", "--iglob"]);
        let filter = SearchFilter {
            include: globs
                .iter()
                .filter(|g| !g.value.starts_with('!'))
                .map(|g| g.value.clone())
                .collect(),
            exclude: globs
                .iter()
                .filter_map(|g| g.value.strip_prefix('!').map(str::to_owned))
                .chain(
                    Grammar::option(args, &["--exclude"])
                        .into_iter()
                        .map(|g| g.value),
                )
                .collect(),
            typed: has_flag(args, 't', &["--type"]),
        };
        // `--include` for grep is an include; `--exclude` values were taken above.
        let default_root = Word::literal(".");
        let roots: Vec<&Word> = if files.is_empty() && recursive {
            vec![&default_root]
        } else {
            files
        };
        for f in roots {
            self.touch(inv, f, Access::Read);
            if !recursive || filter.typed {
                continue;
            }
            let Some(dir) = self.path_of(f, inv.cwd.as_deref()).filter(|p| p.is_dir()) else {
                continue;
            };
            if let Some(secret) =
                paths::secret_in_tree(&dir, ripgrep_like && !everything, |file| filter.reads(file))
            {
                let shown = self.scope.show(&secret);
                let mut subject = self.access_subject(
                    &inv.text(),
                    Some(&secret),
                    Access::Read,
                    Some(&inv.text()),
                    false,
                );
                subject.severity = Severity::Escalate;
                subject.firmness = Firmness::Soft;
                subject.reason = format!(
                    "searches {}, which holds the secret {shown}: search a narrower folder or exclude it",
                    self.scope.show(&dir)
                );
                self.subjects.push(subject);
            }
        }
    }

    fn shell(
        &mut self,
        name: &str,
        args: &[Word],
        inv: &Invocation,
        v: &mut Verdicts,
        depth: usize,
    ) {
        if args
            .iter()
            .any(|a| ["--version", "--help"].contains(&a.value.as_str()))
        {
            return v.allow(format!("{name} prints its version"));
        }
        let mut iter = args.iter();
        let mut script = None;
        let mut code: Option<&Word> = None;
        while let Some(arg) = iter.next() {
            let value = arg.value.as_str();
            if value.starts_with('-') && !arg.dynamic && value != "-" && value != "--" {
                if value.trim_start_matches('-').contains('c') && !value.starts_with("--") {
                    code = iter.next();
                    break;
                }
                if ["-o", "+o", "-O", "+O", "--rcfile", "--init-file"].contains(&value) {
                    iter.next();
                }
                continue;
            }
            if value == "--" {
                script = iter.next();
            } else {
                script = Some(arg);
            }
            break;
        }
        if let Some(code) = code {
            return match code.known() {
                Some(code) => {
                    v.allow(format!("{name} -c runs the commands judged separately"));
                    self.command_line(code, inv.cwd.clone(), depth + 1);
                }
                None => v.escalate_hard(format!("{name} -c runs a command only known at run time")),
            };
        }
        if let Some(script) = script.filter(|s| s.value != "-") {
            if name == "busybox" {
                let rest: Vec<Word> = args.to_vec();
                return self.inner(&rest, inv, v, depth, false);
            }
            return v.escalate(format!(
                "{name} runs the script {}, which the policy does not read",
                script.source
            ));
        }
        self.stdin_program(name, inv, v, depth, true);
    }

    /// A program read from standard input: a here-document is judged as code; a pipe from the
    /// network is refused; anything else is unknown.
    fn stdin_program(
        &mut self,
        name: &str,
        inv: &Invocation,
        v: &mut Verdicts,
        depth: usize,
        is_shell: bool,
    ) {
        if let Some(from) = inv.piped_from.as_deref()
            && NETWORK.contains(&from)
        {
            return v.deny(format!("runs code downloaded by {from} with {name}"));
        }
        match (&inv.stdin_text, is_shell) {
            (Some(text), true) => {
                v.allow(format!(
                    "{name} runs the here-document's commands, judged separately"
                ));
                self.command_line(text, inv.cwd.clone(), depth + 1);
            }
            (Some(text), false) => self.inline_code(name, text, v),
            (None, _) if inv.piped_from.is_some() => {
                v.escalate_hard(format!("{name} runs a program read from a pipe"))
            }
            (None, _) => v.escalate(format!("{name} starts an interactive session")),
        }
    }

    fn interpreter(
        &mut self,
        name: &str,
        args: &[Word],
        inv: &Invocation,
        v: &mut Verdicts,
        code_flags: &[&str],
    ) {
        if args
            .iter()
            .any(|a| ["--version", "-v", "-V", "--help", "-h"].contains(&a.value.as_str()))
            && args.len() == 1
        {
            return v.allow(format!("{name} prints its version"));
        }
        if let Some(code) = Grammar::option(args, code_flags).first() {
            return match code.known() {
                Some(code) => self.inline_code(name, code, v),
                None => v.escalate_hard(format!("{name} runs code only known at run time")),
            };
        }
        if args
            .iter()
            .any(|a| a.value == "--check" || a.value == "-c" && name == "node")
        {
            return v.allow(format!("{name} checks syntax"));
        }
        match Grammar::NONE.operands(args).first() {
            Some(script) => v.escalate(format!("{name} runs the program {}", script.source)),
            None => self.stdin_program(name, inv, v, 0, false),
        }
    }

    fn python(&mut self, args: &[Word], inv: &Invocation, v: &mut Verdicts, depth: usize) {
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            let value = arg.value.as_str();
            match value {
                "-V" | "--version" | "-h" | "--help" => {
                    return v.allow("python prints its version");
                }
                "-c" => {
                    return match iter.next().and_then(Word::known) {
                        Some(code) => self.inline_code("python", code, v),
                        None => v.escalate_hard("python runs code only known at run time"),
                    };
                }
                "-m" => {
                    let Some(module) = iter.next().and_then(Word::known) else {
                        return v.escalate_hard("python runs a module only known at run time");
                    };
                    let rest: Vec<Word> = iter.cloned().collect();
                    return self.python_module(module, &rest, inv, v, depth);
                }
                "-W" | "-X" | "-Q" => {
                    iter.next();
                }
                _ if value.starts_with('-') && value.len() > 1 => {}
                "-" => break,
                _ => return v.escalate(format!("python runs the program {}", arg.source)),
            }
        }
        self.stdin_program("python", inv, v, depth, false);
    }

    fn python_module(
        &mut self,
        module: &str,
        rest: &[Word],
        inv: &Invocation,
        v: &mut Verdicts,
        depth: usize,
    ) {
        let checkers = [
            "pytest",
            "mypy",
            "ruff",
            "black",
            "isort",
            "flake8",
            "pylint",
            "bandit",
            "unittest",
            "doctest",
            "compileall",
            "py_compile",
            "pyflakes",
            "pydoc",
            "coverage",
            "pycodestyle",
            "pydocstyle",
            "json.tool",
            "tabnanny",
            "pyright",
            "site",
            "sysconfig",
            "platform",
            "this",
            "tokenize",
            "ast",
            "dis",
            "nox-check",
        ];
        match module {
            _ if checkers.contains(&module) => {
                v.allow(format!("python -m {module} is a check or a report"))
            }
            "pip" => {
                let words: Vec<Word> = std::iter::once(Word::literal("pip"))
                    .chain(rest.iter().cloned())
                    .collect();
                let inner = Invocation {
                    words,
                    assignments: Vec::new(),
                    redirects: Vec::new(),
                    cwd: inv.cwd.clone(),
                    piped_from: None,
                    stdin_text: None,
                };
                self.invocation(&inner, depth + 1, false);
            }
            "venv" | "virtualenv" => {
                v.allow("python -m venv creates a virtual environment");
                for dir in Grammar::NONE.operands(rest) {
                    // A virtual environment is tooling, not the task's work: anywhere inside the
                    // project is fine.
                    let inside = self
                        .path_of(dir, inv.cwd.as_deref())
                        .is_some_and(|p| matches!(self.scope.place(&p), Place::Inside(_)));
                    if !inside {
                        self.touch(inv, dir, Access::Write);
                    }
                }
            }
            "http.server" | "smtpd" | "ftplib" | "webbrowser" => {
                v.escalate(format!("python -m {module} opens the network"))
            }
            _ => v.escalate(format!(
                "python -m {module} runs a module the policy does not know"
            )),
        }
    }

    /// A one-line program in Python, JavaScript or another language: harmless only if every
    /// identifier in it is on a short list; deleting the root or the home directory is refused.
    fn inline_code(&mut self, lang: &str, code: &str, v: &mut Verdicts) {
        // `#` starts a comment to the end of its line in these languages; elsewhere it is code
        // (JavaScript's private fields), so nothing after it is passed over.
        let hash_comments = ["python", "python3", "ruby", "perl"]
            .iter()
            .any(|l| lang.starts_with(l));
        let (words, strings) = code_tokens(code, hash_comments);
        let destructive = [
            "rmtree",
            "remove",
            "unlink",
            "rmdir",
            "rmSync",
            "rm",
            "removedirs",
            "system",
            "unlinkSync",
            "rimraf",
            "truncate",
        ];
        let roots: Vec<String> = ["/", "/*", "~", "~/", "."]
            .into_iter()
            .map(str::to_owned)
            .chain(
                self.scope
                    .home
                    .iter()
                    .map(|h| h.to_string_lossy().into_owned()),
            )
            .collect();
        if words.iter().any(|w| destructive.contains(&w.as_str()))
            && strings.iter().any(|s| {
                roots.contains(s) || s.starts_with("rm -rf /") || s.starts_with("rm -rf ~")
            })
        {
            return v.deny(format!(
                "the {lang} program deletes the root, the home directory or the project"
            ));
        }
        if let Some(secret) = strings
            .iter()
            .find(|s| paths::secret(Path::new(s.as_str())).is_some())
        {
            return v.deny(format!("the {lang} program names the secret file {secret}"));
        }
        let unknown: Vec<&String> = words
            .iter()
            .filter(|w| !SAFE_CODE_WORDS.contains(&w.as_str()))
            .collect();
        if unknown.is_empty() {
            v.allow(format!("the {lang} one-liner only prints or computes"));
        } else {
            let mut shown: Vec<&str> = unknown.iter().map(|s| s.as_str()).collect();
            shown.dedup();
            shown.truncate(5);
            v.escalate(format!(
                "the {lang} program uses {} and cannot be judged safe",
                shown.join(", ")
            ));
        }
    }

    fn find(&mut self, args: &[Word], inv: &Invocation, v: &mut Verdicts, depth: usize) {
        let mut roots = Vec::new();
        let mut i = 0;
        while i < args.len()
            && !args[i].value.starts_with('-')
            && args[i].value != "("
            && args[i].value != "!"
        {
            roots.push(args[i].clone());
            i += 1;
        }
        if roots.is_empty() {
            roots.push(Word::literal("."));
        }
        v.allow("find lists files");
        while i < args.len() {
            let value = args[i].value.as_str();
            match value {
                "-exec" | "-execdir" | "-ok" | "-okdir" => {
                    let end = args[i + 1..]
                        .iter()
                        .position(|w| w.value == ";" || w.value == "+")
                        .map_or(args.len(), |p| p + i + 1);
                    let command = &args[i + 1..end];
                    if command.is_empty() {
                        v.escalate_hard("find -exec without a command");
                    }
                    // `{}` stands for every file found under each starting point.
                    for root in roots.iter().take(4) {
                        let inner: Vec<Word> = command
                            .iter()
                            .map(|w| {
                                if w.value.contains("{}") {
                                    let mut found = w.clone();
                                    found.value = w.value.replace(
                                        "{}",
                                        &format!("{}/*", root.value.trim_end_matches('/')),
                                    );
                                    found.glob = true;
                                    found.dynamic |= root.dynamic;
                                    found
                                } else {
                                    w.clone()
                                }
                            })
                            .collect();
                        self.inner(&inner, inv, v, depth, false);
                    }
                    i = end;
                }
                "-delete" => {
                    for root in &roots {
                        let mut found = root.clone();
                        found.value = format!("{}/*", root.value.trim_end_matches('/'));
                        found.glob = true;
                        self.touch(inv, &found, Access::Delete);
                    }
                    v.escalate("find -delete deletes files");
                }
                "-fprint" | "-fprint0" | "-fprintf" | "-fls" => {
                    if let Some(file) = args.get(i + 1) {
                        self.touch(inv, file, Access::Write);
                    }
                    i += 1;
                }
                _ => {}
            }
            i += 1;
        }
    }

    fn copy(
        &mut self,
        name: &str,
        args: &[Word],
        inv: &Invocation,
        v: &mut Verdicts,
        from_input: bool,
    ) {
        let valued: &[&str] = &[
            "-t",
            "-S",
            "--suffix",
            "--target-directory",
            "-m",
            "--mode",
            "-o",
            "-g",
            "--owner",
            "--group",
            "-e",
            "--exclude",
            "--include",
            "--filter",
            "-f",
        ];
        let target = Grammar::option(args, &["-t", "--target-directory"]);
        let ops = Grammar { valued }.operands(args);
        if name == "rsync"
            && ops
                .iter()
                .any(|o| o.value.contains(':') || o.value.starts_with("rsync://"))
        {
            v.escalate("rsync copies to or from another machine");
        }
        if name == "rsync"
            && args
                .iter()
                .any(|a| a.value.starts_with("--delete") || a.value == "--remove-source-files")
        {
            v.escalate("rsync deletes files");
        }
        if from_input {
            v.escalate(format!("{name} changes files named by its input"));
        }
        let (sources, dest): (Vec<&Word>, Option<Word>) = if let Some(t) = target.first() {
            (ops, Some(t.clone()))
        } else if ops.len() >= 2 {
            (
                ops[..ops.len() - 1].to_vec(),
                ops.last().map(|w| (*w).clone()),
            )
        } else {
            (ops, None)
        };
        let source_access = if name == "mv" {
            Access::Write
        } else {
            Access::Read
        };
        v.allow(format!("{name} copies or moves files"));
        for s in sources {
            // A link to a secret reads it as soon as anyone follows the link.
            self.touch(inv, s, source_access);
        }
        if let Some(dest) = dest {
            self.touch(inv, &dest, Access::Overwrite);
        }
    }

    #[allow(clippy::too_many_lines)]
    fn writer(
        &mut self,
        name: &str,
        args: &[Word],
        inv: &Invocation,
        v: &mut Verdicts,
        from_input: bool,
    ) {
        if from_input {
            v.escalate(format!("{name} changes files named by its input"));
        }
        match name {
            "chmod" | "chown" | "chgrp" | "setfacl" | "chattr" => {
                let valued = ["--reference", "-m", "-x", "-M", "-X"];
                let ops = Grammar { valued: &valued }.operands(args);
                let files = if args.iter().any(|a| a.value.starts_with("--reference"))
                    || name == "setfacl"
                {
                    ops
                } else {
                    ops.get(1..).unwrap_or_default().to_vec()
                };
                if name != "chmod" {
                    v.escalate(format!("{name} changes ownership or attributes"));
                } else {
                    v.allow("chmod changes permissions");
                }
                for f in files {
                    let path = self.path_of(f, inv.cwd.as_deref());
                    if path.as_deref().is_some_and(|p| self.scope.catastrophic(p)) {
                        v.deny(format!(
                            "{name} on {} changes the whole system or home directory",
                            f.source
                        ));
                    }
                    self.touch(inv, f, Access::Write);
                }
            }
            "dd" => {
                v.allow("dd copies data");
                for arg in args {
                    if let Some(file) = arg.value.strip_prefix("of=") {
                        let mut w = arg.clone();
                        w.value = file.to_owned();
                        self.touch(inv, &w, Access::Overwrite);
                    } else if let Some(file) = arg.value.strip_prefix("if=") {
                        let mut w = arg.clone();
                        w.value = file.to_owned();
                        self.touch(inv, &w, Access::Read);
                    }
                }
            }
            "patch" => v.escalate("patch changes the files named inside the patch"),
            "sed" => {
                let in_place = args.iter().take_while(|a| a.value != "--").any(|a| {
                    a.value.starts_with("--in-place")
                        || a.value.starts_with("-i")
                        || (a.value.starts_with('-')
                            && !a.value.starts_with("--")
                            && a.value.contains('i')
                            && a.value.len() <= 4)
                });
                let explicit =
                    has_flag(args, 'e', &["--expression"]) || has_flag(args, 'f', &["--file"]);
                let ops = Grammar {
                    valued: &["-e", "-f", "--expression", "--file", "-l"],
                }
                .operands(args);
                let (script, files) = if explicit {
                    (None, ops)
                } else {
                    (
                        ops.first().copied(),
                        ops.get(1..).unwrap_or_default().to_vec(),
                    )
                };
                let scripts: Vec<Word> = script
                    .cloned()
                    .into_iter()
                    .chain(Grammar::option(args, &["-e", "--expression"]))
                    .collect();
                if scripts
                    .iter()
                    .any(|s| s.dynamic || sed_can_escape(&s.value))
                {
                    v.escalate("the sed script can run commands or write other files");
                }
                v.allow(if in_place {
                    "sed edits files in place"
                } else {
                    "sed reads and prints"
                });
                for f in files {
                    self.touch(
                        inv,
                        f,
                        if in_place {
                            Access::Write
                        } else {
                            Access::Read
                        },
                    );
                }
            }
            "perl" => {
                let code = Grammar::option(args, &["-e", "-E"]);
                if code.is_empty() {
                    if Grammar::NONE.operands(args).is_empty() {
                        return self.stdin_program(name, inv, v, 0, false);
                    }
                    return v.escalate("perl runs a program the policy does not read");
                }
                for c in &code {
                    match c.known() {
                        Some(text) => self.inline_code("perl", text, v),
                        None => v.escalate_hard("perl runs code only known at run time"),
                    }
                }
                if args
                    .iter()
                    .any(|a| a.value.starts_with("-i") || a.value.starts_with("-pi"))
                {
                    v.escalate("perl -i edits files in place");
                }
            }
            "awk" | "gawk" | "mawk" | "nawk" => {
                let explicit = has_flag(args, 'f', &["--file"]);
                let ops = Grammar {
                    valued: &["-f", "-v", "-F", "--file", "--assign", "--field-separator"],
                }
                .operands(args);
                let (program, files) = if explicit {
                    (None, ops)
                } else {
                    (
                        ops.first().copied(),
                        ops.get(1..).unwrap_or_default().to_vec(),
                    )
                };
                if explicit {
                    v.escalate("awk runs a program file the policy does not read");
                }
                if let Some(program) = program {
                    let text = program.value.as_str();
                    if program.dynamic
                        || [
                            "system", "getline", "|", "> \"", ">\"", ">> \"", "print >",
                            "printf >", "fflush",
                        ]
                        .iter()
                        .any(|p| text.contains(p))
                    {
                        v.escalate("the awk program can run commands or write files");
                    }
                }
                if args.iter().any(|a| a.value == "inplace" || a.value == "-i") {
                    v.escalate("awk -i inplace edits files");
                }
                v.allow("awk reads and prints");
                for f in files {
                    if !f.value.contains('=') {
                        self.touch(inv, f, Access::Read);
                    }
                }
            }
            "tar" => self.tar(args, inv, v),
            "unzip" | "zip" | "gzip" | "gunzip" | "bzip2" | "bunzip2" | "xz" | "unxz" | "7z" => {
                v.allow(format!("{name} packs or unpacks files"));
                let listing = match name {
                    "unzip" => has_flag(args, 'l', &[]) || has_flag(args, 'Z', &[]),
                    _ => {
                        has_flag(args, 'l', &["--list"])
                            || has_flag(args, 't', &["--test"])
                            || has_flag(args, 'c', &["--stdout"])
                    }
                };
                let dirs = Grammar::option(args, &["-d"]);
                for dir in &dirs {
                    self.touch(inv, dir, Access::Write);
                }
                let ops = Grammar {
                    valued: &["-d", "-x", "-P"],
                }
                .operands(args);
                for (i, f) in ops.iter().enumerate() {
                    // The archive is read; what is packed or unpacked is written.
                    let access =
                        if listing || (name == "unzip" && i == 0) || (name == "zip" && i > 0) {
                            Access::Read
                        } else {
                            Access::Write
                        };
                    self.touch(inv, f, access);
                }
            }
            _ => {
                // touch, mkdir, tee, truncate, mkfifo, mknod: every operand is written.
                let valued = [
                    "-m",
                    "--mode",
                    "-s",
                    "--size",
                    "-r",
                    "--reference",
                    "-d",
                    "-t",
                ];
                v.allow(format!("{name} creates or writes files"));
                let replaces = name == "truncate"
                    || (name == "tee"
                        && !args
                            .iter()
                            .any(|a| a.value == "-a" || a.value == "--append"));
                for f in (Grammar { valued: &valued }).operands(args) {
                    if name == "mkdir" {
                        self.make_dir(inv, f);
                    } else {
                        let access = if replaces {
                            Access::Overwrite
                        } else {
                            Access::Write
                        };
                        self.touch(inv, f, access);
                    }
                }
            }
        }
    }

    /// `tar`: old-style (`czf out.tgz dir`) or dashed flags; the archive is written when
    /// creating, the files unpacked are written (into `-C DIR` or here) when extracting.
    fn tar(&mut self, args: &[Word], inv: &Invocation, v: &mut Verdicts) {
        v.allow("tar packs or unpacks files");
        let mut flags = String::new();
        let mut archive: Option<Word> = None;
        let mut dir: Option<Word> = None;
        let mut operands = Vec::new();
        let mut pending_archive = 0;
        let mut iter = args.iter().enumerate().peekable();
        while let Some((i, arg)) = iter.next() {
            let value = arg.value.as_str();
            if let Some(long) = value.strip_prefix("--") {
                match long.split_once('=') {
                    Some(("file", f)) => archive = Some(Word::literal(f)),
                    Some(("directory", d)) => dir = Some(Word::literal(d)),
                    _ if long == "file" => archive = iter.next().map(|(_, w)| w.clone()),
                    _ if long == "directory" => dir = iter.next().map(|(_, w)| w.clone()),
                    _ => flags.push_str(match long {
                        "create" => "c",
                        "extract" | "get" => "x",
                        "list" => "t",
                        "append" => "r",
                        _ => "",
                    }),
                }
            } else if value.starts_with('-') || i == 0 && !arg.dynamic {
                let bundle = value.trim_start_matches('-');
                if value == "-C" {
                    dir = iter.next().map(|(_, w)| w.clone());
                    continue;
                }
                flags.push_str(bundle);
                pending_archive += bundle.matches('f').count();
            } else if pending_archive > 0 {
                pending_archive -= 1;
                archive = Some(arg.clone());
            } else {
                operands.push(arg.clone());
            }
        }
        let creating = flags.contains(['c', 'r', 'u']);
        let extracting = flags.contains('x');
        if let Some(archive) = &archive
            && archive.value != "-"
        {
            self.touch(
                inv,
                archive,
                if creating {
                    Access::Write
                } else {
                    Access::Read
                },
            );
        }
        if creating {
            for op in &operands {
                self.touch(inv, op, Access::Read);
            }
        } else if extracting {
            let target = dir.unwrap_or_else(|| Word::literal("."));
            let mut contents = target.clone();
            contents.value = format!("{}/*", target.value.trim_end_matches('/'));
            contents.glob = true;
            self.touch(inv, &contents, Access::Write);
        }
    }

    fn system(&mut self, name: &str, args: &[Word], v: &mut Verdicts) {
        match name {
            "kill" | "pkill" | "killall" | "skill" => {
                let ops = Grammar {
                    valued: &["-s", "-n", "--signal"],
                }
                .operands(args);
                let all = args.iter().any(|a| a.value == "-1")
                    && name == "kill"
                    && ops.iter().all(|o| o.value != "-1")
                    || ops.iter().any(|o| o.value == "-1" || o.value == "1");
                if all
                    || name == "killall"
                        && args
                            .iter()
                            .any(|a| a.value == "-u" || a.value.starts_with("--user"))
                {
                    v.deny(format!("{name} would kill every process (or init)"));
                } else {
                    v.escalate(format!(
                        "{name} stops processes, perhaps the orchestrator's own"
                    ));
                }
            }
            "crontab" if has_flag(args, 'l', &[]) => v.allow("crontab -l lists scheduled jobs"),
            "ip" | "journalctl" | "timedatectl" | "hostnamectl" | "loginctl"
                if args.is_empty()
                    || args.iter().any(|a| {
                        [
                            "show",
                            "list",
                            "addr",
                            "a",
                            "route",
                            "status",
                            "-n",
                            "-u",
                            "--no-pager",
                            "link",
                        ]
                        .contains(&a.value.as_str())
                    }) && !args.iter().any(|a| {
                        ["add", "del", "set", "flush", "delete", "change", "replace"]
                            .contains(&a.value.as_str())
                    }) =>
            {
                v.allow(format!("{name} only reports"));
            }
            "systemctl"
                if args.iter().any(|a| {
                    [
                        "status",
                        "list-units",
                        "is-active",
                        "show",
                        "cat",
                        "list-timers",
                    ]
                    .contains(&a.value.as_str())
                }) =>
            {
                v.allow("systemctl only reports");
            }
            _ => v.escalate(format!("{name} changes the system")),
        }
    }

    fn git(&mut self, args: &[Word], inv: &Invocation, v: &mut Verdicts) {
        let mut i = 0;
        let mut cwd = inv.cwd.clone();
        while i < args.len() && args[i].value.starts_with('-') {
            match args[i].value.as_str() {
                "-C" => {
                    cwd = args
                        .get(i + 1)
                        .and_then(|w| self.path_of(w, cwd.as_deref()));
                    if let Some(dir) = &cwd
                        && self.scope.place(dir) == Place::Outside
                    {
                        v.escalate(format!(
                            "git works on {}, outside the project",
                            self.scope.show(dir)
                        ));
                    }
                    i += 1;
                }
                "-c" => {
                    v.escalate("git -c changes configuration for the call (aliases, pagers and hooks can run commands)");
                    i += 1;
                }
                a if a.starts_with("--git-dir")
                    || a.starts_with("--work-tree")
                    || a.starts_with("--exec-path=")
                    || a.starts_with("--config-env") =>
                {
                    v.escalate("git is pointed at another repository or program");
                    if !a.contains('=') {
                        i += 1;
                    }
                }
                "--namespace" | "--super-prefix" => i += 1,
                _ => {}
            }
            i += 1;
        }
        let Some(sub) = args.get(i) else {
            return v.allow("git prints its help");
        };
        let Some(sub) = sub.known() else {
            return v.escalate_hard("git runs a subcommand only known at run time");
        };
        let rest = &args[i + 1..];
        let has = |names: &[&str]| {
            rest.iter().any(|a| {
                names.contains(&a.value.as_str())
                    || names
                        .iter()
                        .any(|n| n.starts_with("--") && a.value.starts_with(&format!("{n}=")))
            })
        };
        let operands = || {
            Grammar {
                valued: &[
                    "-m", "-F", "-C", "-c", "-b", "-B", "-n", "-U", "--author", "--format",
                    "--pretty", "--since", "--until",
                ],
            }
            .operands(rest)
        };
        let read_only = [
            "status",
            "diff",
            "log",
            "show",
            "blame",
            "annotate",
            "shortlog",
            "describe",
            "rev-parse",
            "rev-list",
            "ls-files",
            "ls-tree",
            "cat-file",
            "grep",
            "whatchanged",
            "show-ref",
            "for-each-ref",
            "name-rev",
            "merge-base",
            "cherry",
            "range-diff",
            "diff-tree",
            "diff-files",
            "diff-index",
            "count-objects",
            "fsck",
            "verify-commit",
            "verify-tag",
            "version",
            "help",
            "check-ignore",
            "check-attr",
            "var",
            "--version",
            "--help",
            "show-branch",
            "describe",
            "log-tree",
            "difftool-check",
            "check-ref-format",
            "get-tar-commit-id",
            "hash-object",
            "ls-remote-local",
        ];
        for out in Grammar::option(rest, &["--output"]) {
            self.touch(inv, &out, Access::Write);
        }
        if matches!(sub, "show" | "cat-file" | "archive" | "grep" | "diff") {
            // `git show HEAD:.env` reads a file from history.
            for arg in rest.iter().filter(|a| !a.value.starts_with('-')) {
                if let Some((_, file)) = arg.value.split_once(':')
                    && paths::secret(Path::new(file)).is_some()
                {
                    let mut w = arg.clone();
                    w.value = file.to_owned();
                    self.touch(inv, &w, Access::Read);
                }
            }
        }
        match sub {
            _ if read_only.contains(&sub) => {
                v.allow(format!("git {sub} only reads"));
            }
            "reflog" if !has(&["expire", "delete"]) => v.allow("git reflog only reads"),
            "add" | "commit" | "mv" | "switch" | "init" | "notes" | "bisect" | "revert"
            | "apply" | "format-patch" | "archive" | "citool" | "stage" | "merge-file"
            | "sparse-checkout" | "request-pull" => {
                if sub == "commit" && has(&["--no-verify", "-n"]) {
                    v.escalate("git commit --no-verify skips the project's hooks");
                } else if sub == "switch" && has(&["--discard-changes", "-f", "--force"]) {
                    v.escalate("git switch --force discards uncommitted changes");
                } else {
                    v.allow(format!("git {sub} changes only the local repository"));
                }
                if sub == "mv" {
                    for op in operands() {
                        self.touch(inv, op, Access::Write);
                    }
                }
            }
            "branch" => {
                if has(&["-d", "-D", "--delete"]) {
                    v.escalate("git branch -d deletes a branch");
                } else if has(&["-f", "--force", "-M", "-C"]) {
                    v.escalate("git branch --force overwrites a branch");
                } else {
                    v.allow("git branch lists or creates branches");
                }
            }
            "tag" => {
                if has(&["-d", "--delete", "-f", "--force"]) {
                    v.escalate("git tag -d/-f deletes or moves a tag");
                } else {
                    v.allow("git tag lists or creates tags");
                }
            }
            "stash" => {
                if has(&["drop", "clear"]) {
                    v.escalate("git stash drop/clear discards stashed work");
                } else {
                    v.allow("git stash keeps work aside");
                }
            }
            "remote" => {
                if rest.is_empty()
                    || has(&["-v", "--verbose", "get-url", "show"])
                        && !has(&[
                            "add",
                            "remove",
                            "rm",
                            "rename",
                            "set-url",
                            "prune",
                            "set-head",
                            "set-branches",
                        ])
                {
                    v.allow("git remote lists remotes");
                } else {
                    v.escalate("git remote changes where the repository pushes and fetches");
                }
            }
            "config" => {
                let getting = has(&[
                    "--get",
                    "--get-all",
                    "--get-regexp",
                    "--list",
                    "-l",
                    "get",
                    "list",
                    "--show-origin",
                    "--name-only",
                ]);
                if getting
                    || operands().len() <= 1
                        && !has(&[
                            "--unset",
                            "--unset-all",
                            "--add",
                            "--replace-all",
                            "--edit",
                            "-e",
                            "unset",
                            "set",
                            "edit",
                            "--remove-section",
                            "--rename-section",
                        ])
                {
                    v.allow("git config only reads");
                } else {
                    v.escalate(
                        "git config changes configuration (aliases and hooks can run commands)",
                    );
                }
            }
            "checkout" => {
                if has(&[
                    "-f", "--force", "--", ".", "--ours", "--theirs", "-p", "--patch",
                ]) {
                    v.escalate("git checkout of paths discards uncommitted changes");
                } else if has(&["-b", "-B", "--orphan", "--detach"]) {
                    v.allow("git checkout creates and switches to a branch");
                } else if operands().iter().any(|o| {
                    self.path_of(o, cwd.as_deref())
                        .is_some_and(|p| p.exists() && p != self.scope.cwd)
                }) {
                    // A name that is a file or folder here is taken as a path by git.
                    v.escalate("git checkout of paths discards uncommitted changes");
                } else if operands().len() <= 1 {
                    v.allow("git checkout switches branches");
                } else {
                    v.escalate("git checkout of paths discards uncommitted changes");
                }
            }
            "restore" => {
                if has(&["--staged", "-S"]) && !has(&["--worktree", "-W"]) {
                    v.allow("git restore --staged only unstages");
                } else {
                    v.escalate("git restore discards uncommitted changes");
                }
            }
            "reset" => {
                if has(&["--hard", "--keep", "--merge"]) {
                    v.escalate("git reset --hard discards uncommitted work");
                } else {
                    v.allow("git reset moves only the index or branch");
                }
            }
            "clean" => {
                if has(&["-n", "--dry-run"]) {
                    v.allow("git clean -n only lists");
                } else {
                    v.escalate("git clean deletes untracked files");
                }
            }
            "rm" => {
                if has(&["--cached"]) {
                    v.allow("git rm --cached only untracks");
                } else {
                    v.escalate("git rm deletes files");
                    for op in operands() {
                        self.touch(inv, op, Access::Delete);
                    }
                }
            }
            "merge" | "rebase" | "cherry-pick" | "am" | "pull" => {
                if has(&["--abort", "--quit"]) {
                    v.allow(format!("git {sub} --abort returns to the previous state"));
                } else if sub == "pull" {
                    v.escalate("git pull reaches the network and merges");
                } else {
                    v.escalate(format!("git {sub} rewrites or merges branches (the orchestrator's merge queue does this)"));
                }
            }
            "push" => {
                let forced = rest.iter().any(|a| {
                    let x = a.value.as_str();
                    ["-f", "--force", "--mirror", "--delete", "-d", "--prune"].contains(&x)
                        || x.starts_with("--force")
                        || (x.starts_with('+') && x.len() > 1)
                        || (x.starts_with(':') && x.len() > 1)
                });
                if forced {
                    v.escalate("git push --force/--delete can destroy work on the remote");
                } else {
                    v.escalate("git push publishes to a remote");
                }
            }
            "fetch" | "clone" | "ls-remote" | "submodule" | "send-email" | "svn" | "p4"
            | "fetch-pack" | "remote-update" => {
                if sub == "submodule"
                    && (rest.is_empty() || has(&["status", "summary", "foreach-list"]))
                {
                    v.allow("git submodule status only reads");
                } else {
                    v.escalate(format!("git {sub} reaches the network"));
                    if sub == "clone" {
                        let ops = operands();
                        if let Some(dest) = ops.get(1) {
                            self.touch(inv, dest, Access::Write);
                        }
                    }
                }
            }
            "worktree" => {
                if has(&["list"]) {
                    v.allow("git worktree list only reads");
                } else {
                    v.escalate("git worktree changes worktrees, which the orchestrator manages");
                }
            }
            "gc" | "prune" | "repack" | "filter-branch" | "filter-repo" | "replace"
            | "update-ref" | "symbolic-ref" | "update-index" | "hook" | "maintenance"
            | "credential" | "daemon" | "instaweb" | "fast-import" => {
                v.escalate(format!(
                    "git {sub} rewrites the repository's history or internals"
                ));
            }
            _ => v.escalate(format!(
                "git {sub} is an alias or a subcommand the policy does not know"
            )),
        }
    }

    fn cargo(&mut self, args: &[Word], inv: &Invocation, v: &mut Verdicts) {
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

    fn go(&mut self, args: &[Word], v: &mut Verdicts) {
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

    fn node_package_manager(&mut self, name: &str, args: &[Word], v: &mut Verdicts) {
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

    fn python_package_manager(
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
}

/// The file filters of a search (`--include`, `-g`, `--exclude`, `-t`).
struct SearchFilter {
    include: Vec<String>,
    exclude: Vec<String>,
    typed: bool,
}

impl SearchFilter {
    /// Whether the search reads this file.
    fn reads(&self, file: &Path) -> bool {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let matches = |glob: &String| {
            globset::Glob::new(glob.trim_start_matches("**/"))
                .map(|g| g.compile_matcher().is_match(&name))
                .unwrap_or(true)
        };
        (self.include.is_empty() || self.include.iter().any(matches))
            && !self.exclude.iter().any(matches)
    }
}

/// How many leading `/`-separated parts of a glob hold no wildcard.
fn dir_prefix_len(value: &str) -> usize {
    value
        .split('/')
        .take_while(|p| !p.contains(['*', '?', '[']))
        .count()
}

/// Skips leading options (and the values of `valued` ones) and returns the command after them.
fn skip_options<'w>(args: &'w [Word], valued: &[&str]) -> &'w [Word] {
    let mut i = 0;
    while i < args.len() {
        let v = args[i].value.as_str();
        if v == "--" {
            return &args[i + 1..];
        }
        if !v.starts_with('-') || args[i].dynamic || v == "-" {
            break;
        }
        if valued.contains(&v) {
            i += 1;
        }
        i += 1;
    }
    &args[i.min(args.len())..]
}

/// Whether a sed script uses the commands that execute (`e`) or write files (`w`, `W`).
fn sed_can_escape(script: &str) -> bool {
    script.split(';').any(|part| {
        let part = part.trim();
        let trimmed = part.trim_start_matches(|c: char| {
            c.is_ascii_digit() || c == ',' || c == '$' || c == '/' || c == '!'
        });
        trimmed.starts_with('e')
            || trimmed.starts_with('w')
            || trimmed.starts_with('W')
            || trimmed.starts_with('r') && trimmed.len() > 1
            || (part.starts_with('s') && part.len() > 2 && {
                let sep = part.chars().nth(1).unwrap_or('/');
                let flags = part.rsplit(sep).next().unwrap_or("");
                flags.contains('e') || flags.contains('w')
            })
    })
}

/// The identifiers and string literals of a short program. With `hash_comments`, `#` outside a
/// string comments out the rest of its line — only that line: the next one is code again.
fn code_tokens(code: &str, hash_comments: bool) -> (Vec<String>, Vec<String>) {
    let mut words = Vec::new();
    let mut strings = Vec::new();
    let mut chars = code.chars().peekable();
    let mut current = String::new();
    while let Some(c) = chars.next() {
        if c == '"' || c == '\'' || c == '`' {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            let mut literal = String::new();
            while let Some(d) = chars.next() {
                if d == '\\' {
                    if let Some(e) = chars.next() {
                        literal.push(e);
                    }
                } else if d == c {
                    break;
                } else {
                    literal.push(d);
                }
            }
            if c == '`' && literal.contains("${") {
                words.push("template".into());
            }
            strings.push(literal);
        } else if c.is_alphanumeric() || c == '_' {
            current.push(c);
        } else {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            if c == '#' && hash_comments {
                for d in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
            }
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words.retain(|w| !w.chars().all(|c| c.is_ascii_digit()));
    (words, strings)
}
