//! The built-in judgement of shell commands: every simple command a command line runs is looked
//! up by what it is (a reader, a test runner, a deleter, a network client, a wrapper around
//! another command, …) and its file arguments are placed (inside the task's files, elsewhere in
//! the project, outside, secret). Wrappers (`sudo`, `env`, `timeout`, `xargs`, `find -exec`,
//! `bash -c`, `eval`, `uv run`, …) are unwrapped and the command inside is judged too.
//!
//! Each judgement is a [`Subject`]: what it is about, how severe, why, and how firmly — a
//! `Hard` verdict (a destructive or unreadable command) cannot be lowered by any rule.
//!
//! This module holds the dispatch from a program's name to its family and what every family
//! shares (placing file arguments, options, verdicts); each family lives in its own module, its
//! tables of programs first: [`system`] (builtins, environment, network, the machine),
//! [`files`] (readers, searchers, writers, deleters, archives), [`code`] (shells and
//! interpreters), [`git`], [`builds`] (checks, build tools, package managers) and [`wrappers`]
//! (programs that run another program).

mod builds;
mod code;
mod files;
mod git;
mod system;
mod wrappers;

use std::path::{Path, PathBuf};

use self::builds::{CHECKERS, INSTALLERS};
use self::code::SHELLS;
use self::files::{READERS, SEARCHERS};
use self::system::{
    DANGEROUS_ENV, HARMLESS, NETWORK, SYSTEM_CHANGERS, SYSTEM_DESTROYERS, secret_variable,
};
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
                self.as_another_user(name, args, inv, v, depth, from_input)
            }
            "nice" | "ionice" | "nohup" | "time" | "stdbuf" | "timeout" | "chrt" | "taskset"
            | "unbuffer" | "setsid" | "flock" | "caffeinate" | "systemd-run" | "chronic"
            | "ifne" => self.modifier(name, args, inv, v, depth, from_input),
            "watch" => self.watch(args, inv, v, depth),
            "xargs" => self.xargs(args, inv, v, depth),
            _ if SHELLS.contains(&name) => self.shell(name, args, inv, v, depth),
            "find" => self.find(args, inv, v, depth),
            "git" => self.git(args, inv, v),
            "rm" | "rmdir" | "unlink" | "shred" | "srm" | "trash" | "trash-put" | "gio" => {
                self.delete(name, args, inv, v, from_input)
            }
            "mv" | "cp" | "install" | "ln" | "rsync" | "scp-local" => {
                self.copy(name, args, inv, v, from_input)
            }
            "touch" | "mkdir" | "tee" | "truncate" | "mkfifo" | "mknod" | "chmod" | "chown"
            | "chgrp" | "setfacl" | "chattr" | "patch" | "dd" | "sed" | "perl" | "awk" | "gawk"
            | "mawk" | "nawk" | "tar" | "unzip" | "zip" | "gzip" | "gunzip" | "bzip2"
            | "bunzip2" | "xz" | "unxz" | "7z" => self.writer(name, args, inv, v, from_input),
            _ if NETWORK.contains(&name) => self.network(name, args, inv, v),
            _ if INSTALLERS.contains(&name) => {
                self.installer(name, args, inv, v, depth, from_input)
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
            "rustup" => self.rustup(args, inv, v, depth, from_input),
            "go" => self.go(args, v),
            "npm" | "pnpm" | "yarn" | "bun" => self.node_package_manager(name, args, v),
            "npx" | "pnpx" | "bunx" => self.npx(args, v),
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
                self.task_runner(name, args, v)
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
            | "lein" | "sbt" => self.build_tool(name, args, v),
            _ => v.escalate(format!(
                "`{name}` is not a command the policy knows: add a rule to allow it"
            )),
        }
    }
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

/// How many leading `/`-separated parts of a glob hold no wildcard.
fn dir_prefix_len(value: &str) -> usize {
    value
        .split('/')
        .take_while(|p| !p.contains(['*', '?', '[']))
        .count()
}

/// What the families' table-driven tests share: a small project to judge commands in.
#[cfg(test)]
mod testing {
    use super::*;

    /// Judges every case — a line `verdict: command => reason fragment`, the worst verdict among
    /// the command's subjects and a fragment of the reason given for it — in a project with
    /// `src/`, `tests/` (the task's declared files), a README, a `.env` secret and a home directory
    /// beside it; lists every case that differs.
    pub(super) fn check(table: &str) {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().canonicalize().unwrap();
        let (root, home) = (base.join("project"), base.join("home"));
        for d in ["src", "tests", ".git"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::create_dir_all(&home).unwrap();
        for (file, text) in [
            ("src/main.py", "print(1)\n"),
            ("tests/test_main.py", "def test_ok():\n    pass\n"),
            ("README.md", "# demo\n"),
            (".env", "API_KEY=x\n"),
        ] {
            std::fs::write(root.join(file), text).unwrap();
        }
        let declared = vec!["src/**".to_owned(), "tests/**".to_owned()];
        let scope = Scope::new(&root, None, Some(&declared), Some(home));
        let secrets = vec!["ANTHROPIC_API_KEY".to_owned()];
        let mut wrong = Vec::new();
        let cases = table.lines().map(str::trim).filter(|l| !l.is_empty());
        for case in cases {
            let (verdict, rest) = case.split_once(": ").expect("verdict: command => reason");
            let (command, fragment) = rest.rsplit_once(" => ").expect("command => reason");
            let expected: Severity = match verdict {
                "allow" => Severity::Allow,
                "escalate" => Severity::Escalate,
                "deny" => Severity::Deny,
                other => panic!("unknown verdict {other:?} in {case:?}"),
            };
            let mut classifier = Classifier::new(&scope, &secrets);
            classifier.command_line(command, Some(scope.cwd.clone()), 0);
            let worst = classifier
                .subjects
                .iter()
                .map(|s| s.severity)
                .max()
                .unwrap_or(Severity::Allow);
            let reasons: Vec<&str> = classifier
                .subjects
                .iter()
                .filter(|s| s.severity == worst)
                .map(|s| s.reason.as_str())
                .collect();
            if worst != expected || !reasons.iter().any(|r| r.contains(fragment)) {
                wrong.push(format!(
                    "{command:?}: expected {expected} ({fragment:?}), got {worst}: {reasons:?}"
                ));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}
