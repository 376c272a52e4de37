//! Shells and interpreters: `bash -c`, `python -c`, `node -e` and scripts are opened and what
//! they run is judged; code the policy cannot see into is escalated.

use super::*;

/// Shells and interpreters that read a program from their standard input when given none.
pub(super) const SHELLS: &[&str] = &[
    "sh", "bash", "zsh", "dash", "ksh", "mksh", "fish", "ash", "csh", "tcsh", "busybox",
];

/// Identifiers a one-line Python or JavaScript program may use and still be judged harmless.
pub(super) const SAFE_CODE_WORDS: &[&str] = &[
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

impl Classifier<'_> {
    pub(super) fn shell(
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
    pub(super) fn stdin_program(
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

    pub(super) fn interpreter(
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

    pub(super) fn python(
        &mut self,
        args: &[Word],
        inv: &Invocation,
        v: &mut Verdicts,
        depth: usize,
    ) {
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

    pub(super) fn python_module(
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
    pub(super) fn inline_code(&mut self, lang: &str, code: &str, v: &mut Verdicts) {
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
}

/// The identifiers and string literals of a short program. With `hash_comments`, `#` outside a
/// string comments out the rest of its line — only that line: the next one is code again.
pub(super) fn code_tokens(code: &str, hash_comments: bool) -> (Vec<String>, Vec<String>) {
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

#[cfg(test)]
mod tests {
    use super::super::testing::check;

    #[test]
    fn verdicts_and_reasons() {
        check(
            r#"
            allow: bash -c 'ls src' => ls only reads
            deny: bash -c 'rm -rf /' => deletes /
            escalate: sh -c "$CMD" => only known at run time
            escalate: bash script.sh => which the policy does not read
            allow: python3 -c 'print(1)' => only prints or computes
            deny: python3 -c "import os; os.system('rm -rf /')" => deletes the root
            deny: python3 -c "print(open('.env').read())" => names the secret file .env
            allow: python3 -m pytest => is a check or a report
            escalate: python3 -m http.server => opens the network
            escalate: python3 src/main.py => runs the program src/main.py
            allow: node -e 'console.log(1)' => only prints or computes
            escalate: node -e "require('child_process').execSync('curl x')" => cannot be judged safe
            escalate: echo 'rm -rf /' | bash => a program read from a pipe
            "#,
        );
    }
}
