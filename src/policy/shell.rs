//! Shell commands as a syntax tree: every simple command a command line would run, with its
//! words, environment prefixes, redirections and working directory.
//!
//! Parsing is done by `brush-parser` (a bash grammar); this module walks the tree and reduces each
//! word to what it is known to expand to. A word whose value is only known at run time (a
//! variable, a command substitution, a brace expansion) is marked dynamic; the commands inside a
//! command substitution, a process substitution or a here-document are collected like any other.
//! What cannot be reduced at all becomes an [`Item::Opaque`], which the policy escalates.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use brush_parser::ast::{
    self, Command, CompoundCommand, CompoundList, IoFileRedirectKind, IoFileRedirectTarget,
    IoRedirect,
};
use brush_parser::word::{Parameter, ParameterExpr, TildeExpr, WordPiece, WordPieceWithSource};
use brush_parser::{Parser, ParserOptions};

/// How deep command lines may nest (`bash -c "eval '…'"`) before the policy stops reading.
pub const MAX_DEPTH: usize = 8;

/// One word of a command after quote removal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// The value the word is known to have; dynamic parts appear as their source text.
    pub value: String,
    /// The word as written.
    pub source: String,
    /// Part of the value is only known when the command runs.
    pub dynamic: bool,
    /// Unquoted `*`, `?` or `[`: the shell expands it into file names.
    pub glob: bool,
    /// Variables the word reads (`$HOME` → `HOME`).
    pub variables: Vec<String>,
}

impl Word {
    /// A literal word (used when the policy builds commands from other commands' arguments).
    pub fn literal(value: &str) -> Self {
        Self {
            value: value.to_owned(),
            source: value.to_owned(),
            dynamic: false,
            glob: false,
            variables: Vec::new(),
        }
    }

    /// The value, if nothing in it is dynamic.
    pub fn known(&self) -> Option<&str> {
        (!self.dynamic).then_some(self.value.as_str())
    }
}

/// Whether a redirection reads or writes its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectKind {
    /// `< file`
    Read,
    /// `>> file`, `<> file`: written, what it held kept
    Write,
    /// `> file`, `>| file`, `&> file`: emptied, then written
    Truncate,
}

/// A redirection to or from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// Read or write.
    pub kind: RedirectKind,
    /// The file.
    pub target: Word,
}

/// One simple command as it would run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The command name and its arguments.
    pub words: Vec<Word>,
    /// `NAME=value` prefixes.
    pub assignments: Vec<(String, Word)>,
    /// File redirections.
    pub redirects: Vec<Redirect>,
    /// The directory it runs in, when known.
    pub cwd: Option<PathBuf>,
    /// The command whose output is piped into this one.
    pub piped_from: Option<String>,
    /// Text given on standard input by a here-document or here-string, when literal.
    pub stdin_text: Option<String>,
}

impl Invocation {
    /// The command as text: its words (quoted where needed), without prefixes or redirections.
    /// This is what rules are matched against.
    pub fn text(&self) -> String {
        join_words(&self.words)
    }

    /// The command name, if known.
    pub fn name(&self) -> Option<&str> {
        self.words.first().and_then(Word::known)
    }
}

/// Renders words as a command line, quoting a word only when it needs it.
pub fn join_words(words: &[Word]) -> String {
    words
        .iter()
        .map(|w| {
            if w.dynamic {
                w.source.clone()
            } else {
                quote(&w.value)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn quote(value: &str) -> String {
    if !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,~^*?[]{}".contains(c))
    {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', r"'\''"))
    }
}

/// What a command line contains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A simple command.
    Run(Invocation),
    /// Something the policy cannot reduce to simple commands.
    Opaque {
        /// The text in question.
        text: String,
        /// Why it cannot be analysed.
        reason: String,
    },
}

/// Where a command line runs.
#[derive(Debug, Clone, Default)]
pub struct Env {
    /// The working directory, when known.
    pub cwd: Option<PathBuf>,
    /// The home directory, when known.
    pub home: Option<PathBuf>,
}

/// Splits a command line into the simple commands it runs.
pub fn analyse(command: &str, env: &Env) -> Vec<Item> {
    let mut walker = Walker {
        items: Vec::new(),
        cwd: env.cwd.clone(),
        home: env.home.clone(),
        vars: HashMap::new(),
        source: String::new(),
        options: ParserOptions::default(),
    };
    walker.script(command);
    walker.items
}

struct Walker {
    items: Vec<Item>,
    cwd: Option<PathBuf>,
    home: Option<PathBuf>,
    /// Variables the command line itself set to a known value (`X=build; rm -rf $X`).
    vars: HashMap<String, Word>,
    /// The text being parsed (source positions index into it).
    source: String,
    options: ParserOptions,
}

/// How many values of a `for` loop are walked one by one before the variable counts as unknown.
const MAX_LOOP_VALUES: usize = 8;

impl Walker {
    fn opaque(&mut self, text: &str, reason: impl Into<String>) {
        self.items.push(Item::Opaque {
            text: text.to_owned(),
            reason: reason.into(),
        });
    }

    fn script(&mut self, text: &str) {
        if text.contains('\0') {
            return self.opaque(text, "the command contains a NUL byte");
        }
        let outer = std::mem::replace(&mut self.source, text.to_owned());
        let mut parser = Parser::new(std::io::Cursor::new(text.as_bytes()), &self.options);
        match parser.parse_program() {
            Ok(program) => {
                for complete in &program.complete_commands {
                    self.compound_list(complete);
                }
            }
            Err(err) => self.opaque(
                text,
                format!("it cannot be parsed as a shell command ({err})"),
            ),
        }
        self.source = outer;
    }

    /// A nested command line (a command substitution): its commands run in a subshell.
    fn nested(&mut self, text: &str) {
        let saved = self.cwd.clone();
        self.script(text);
        self.cwd = saved;
    }

    fn compound_list(&mut self, list: &CompoundList) {
        for ast::CompoundListItem(and_or, _) in &list.0 {
            self.pipeline(&and_or.first);
            let before = self.cwd.clone();
            for next in &and_or.additional {
                match next {
                    ast::AndOr::And(p) | ast::AndOr::Or(p) => self.pipeline(p),
                }
            }
            // After `a || cd x`, where the shell ends up depends on which branch ran.
            if !and_or.additional.is_empty() && self.cwd != before {
                self.cwd = None;
            }
        }
    }

    fn pipeline(&mut self, pipeline: &ast::Pipeline) {
        let saved = self.cwd.clone();
        let mut previous: Option<String> = None;
        for command in &pipeline.seq {
            let start = self.items.len();
            self.command(command, previous.take());
            previous = self.items[start..]
                .iter()
                .rev()
                .find_map(|item| match item {
                    Item::Run(inv) => Some(inv.name().unwrap_or("?").to_owned()),
                    Item::Opaque { .. } => None,
                });
        }
        // Every part of a real pipeline runs in a subshell, so `cd` there does not persist.
        if pipeline.seq.len() > 1 {
            self.cwd = saved;
        }
    }

    fn command(&mut self, command: &Command, piped_from: Option<String>) {
        match command {
            Command::Simple(simple) => self.simple(simple, piped_from),
            Command::Compound(compound, redirects) => {
                let start = self.items.len();
                self.compound(compound);
                let mut extra = Vec::new();
                let mut stdin_text = None;
                if let Some(list) = redirects {
                    for redirect in &list.0 {
                        self.redirect(redirect, &mut extra, &mut stdin_text);
                    }
                }
                // A redirection on a compound command applies to every command inside it.
                for item in &mut self.items[start..] {
                    if let Item::Run(inv) = item {
                        inv.redirects.extend(extra.iter().cloned());
                        if inv.piped_from.is_none() {
                            inv.piped_from.clone_from(&piped_from);
                        }
                    }
                }
            }
            Command::Function(def) => {
                // The body runs whenever the function is called; classify it as if it ran here.
                let saved = self.cwd.clone();
                self.compound(&def.body.0);
                self.cwd = saved;
            }
            Command::ExtendedTest(test, _) => self.extended_test(&test.expr),
        }
    }

    fn extended_test(&mut self, expr: &ast::ExtendedTestExpr) {
        use ast::ExtendedTestExpr as E;
        match expr {
            E::And(a, b) | E::Or(a, b) => {
                self.extended_test(a);
                self.extended_test(b);
            }
            E::Not(a) | E::Parenthesized(a) => self.extended_test(a),
            E::UnaryTest(_, w) => {
                self.word(w);
            }
            E::BinaryTest(_, a, b) => {
                self.word(a);
                self.word(b);
            }
        }
    }

    fn compound(&mut self, compound: &CompoundCommand) {
        let before = self.cwd.clone();
        match compound {
            CompoundCommand::Arithmetic(a) => {
                // bash reads `((` only when the parentheses touch; `( (cmd) )` is two subshells,
                // which the parser takes for arithmetic.
                let at = a.loc.start.index;
                if self
                    .source
                    .get(at..)
                    .is_some_and(|rest| rest.starts_with("(("))
                {
                    self.arithmetic(&a.expr.value);
                } else {
                    self.nested(&a.expr.value);
                }
            }
            CompoundCommand::ArithmeticForClause(f) => {
                for expr in [&f.initializer, &f.condition, &f.updater]
                    .into_iter()
                    .flatten()
                {
                    self.arithmetic(&expr.value);
                }
                self.compound_list(&f.body.list);
            }
            CompoundCommand::BraceGroup(group) => {
                self.compound_list(&group.list);
                return; // a brace group runs in this shell: `cd` inside persists
            }
            CompoundCommand::Subshell(sub) => {
                self.compound_list(&sub.list);
                self.cwd = before;
                return;
            }
            CompoundCommand::ForClause(f) => {
                let values: Vec<Word> = f.values.iter().flatten().map(|w| self.word(w)).collect();
                if !values.is_empty()
                    && values.len() <= MAX_LOOP_VALUES
                    && values.iter().all(|w| !w.dynamic)
                {
                    // Walk the body once per value, so `for d in / ~; do rm -rf $d; done` is judged
                    // for each directory it names.
                    for value in values {
                        self.vars.insert(f.variable_name.clone(), value);
                        self.compound_list(&f.body.list);
                    }
                } else {
                    self.vars.remove(&f.variable_name);
                    self.compound_list(&f.body.list);
                }
                self.vars.remove(&f.variable_name);
            }
            CompoundCommand::CaseClause(c) => {
                self.word(&c.value);
                for case in &c.cases {
                    for pattern in &case.patterns {
                        self.word(pattern);
                    }
                    if let Some(list) = &case.cmd {
                        self.compound_list(list);
                    }
                }
            }
            CompoundCommand::IfClause(i) => {
                self.compound_list(&i.condition);
                self.compound_list(&i.then);
                for clause in i.elses.iter().flatten() {
                    if let Some(condition) = &clause.condition {
                        self.compound_list(condition);
                    }
                    self.compound_list(&clause.body);
                }
            }
            CompoundCommand::WhileClause(w) | CompoundCommand::UntilClause(w) => {
                self.compound_list(&w.0);
                self.compound_list(&w.1.list);
            }
            CompoundCommand::Coprocess(c) => self.command(&c.body, None),
        }
        // Branches and loops may or may not have run: a `cd` inside leaves the directory unknown.
        if self.cwd != before {
            self.cwd = None;
        }
    }

    fn arithmetic(&mut self, text: &str) {
        if brush_parser::arithmetic::parse(text).is_err() {
            // Not arithmetic after all: bash reads `( (cmd) )` and `$((cmd) )` as nested
            // subshells, so judge the text as commands (the parser took it for arithmetic).
            return self.nested(text);
        }
        if text.contains("$(") || text.contains('`') {
            self.opaque(text, "a command substitution inside arithmetic");
        } else if text.contains('[') {
            // Array subscripts are expanded again when evaluated: `a[$(cmd)]` hidden in a
            // variable runs `cmd`.
            self.opaque(
                text,
                "an array subscript inside arithmetic can run commands",
            );
        }
    }

    fn simple(&mut self, simple: &ast::SimpleCommand, piped_from: Option<String>) {
        let mut inv = Invocation {
            words: Vec::new(),
            assignments: Vec::new(),
            redirects: Vec::new(),
            cwd: self.cwd.clone(),
            piped_from,
            stdin_text: None,
        };
        let mut items = Vec::new();
        if let Some(prefix) = &simple.prefix {
            items.extend(prefix.0.iter());
        }
        let name = simple.word_or_name.as_ref();
        let mut suffix_items = Vec::new();
        if let Some(suffix) = &simple.suffix {
            suffix_items.extend(suffix.0.iter());
        }
        let mut stdin_text = None;
        for item in items {
            self.prefix_or_suffix(item, &mut inv, &mut stdin_text, true);
        }
        if let Some(name) = name {
            let word = self.word(name);
            inv.words.push(word);
        }
        for item in suffix_items {
            self.prefix_or_suffix(item, &mut inv, &mut stdin_text, false);
        }
        inv.stdin_text = stdin_text;
        self.track_variables(&inv);
        if inv.words.is_empty() {
            // Only assignments and redirections: `X=1`, `> file`. Still an invocation, so the
            // redirections and assignments are checked.
            if inv.assignments.is_empty() && inv.redirects.is_empty() {
                return;
            }
        }
        self.track_cd(&inv);
        self.items.push(Item::Run(inv));
    }

    /// Remembers `X=value` (alone, or after `export`, `local`, `declare`, `readonly`) for later
    /// words; a value only known at run time forgets the variable.
    fn track_variables(&mut self, inv: &Invocation) {
        let mut bind = |name: &str, value: &Word| {
            if value.dynamic {
                self.vars.remove(name);
            } else {
                self.vars.insert(name.to_owned(), value.clone());
            }
        };
        if inv.words.is_empty() {
            for (name, value) in &inv.assignments {
                bind(name, value);
            }
        } else if matches!(
            inv.name(),
            Some("export" | "local" | "declare" | "readonly" | "typeset")
        ) {
            for word in &inv.words[1..] {
                if let Some((name, value)) = word.value.split_once('=') {
                    let mut value_word = word.clone();
                    value_word.value = value.to_owned();
                    bind(name, &value_word);
                }
            }
        }
    }

    fn track_cd(&mut self, inv: &Invocation) {
        let Some(name) = inv.name() else { return };
        if !matches!(name, "cd" | "pushd" | "popd") {
            return;
        }
        let args: Vec<&Word> = inv.words[1..]
            .iter()
            .filter(|w| !w.value.starts_with('-') || w.value == "-")
            .collect();
        self.cwd = match (name, args.first()) {
            ("popd", _) => None,
            (_, None) => self.home.clone(),
            (_, Some(target)) => match target.known() {
                Some("-") | None => None,
                Some(_) if target.glob => None,
                Some(path) => self.cwd.as_ref().map(|cwd| normalize(&cwd.join(path))),
            },
        };
    }

    fn prefix_or_suffix(
        &mut self,
        item: &ast::CommandPrefixOrSuffixItem,
        inv: &mut Invocation,
        stdin_text: &mut Option<String>,
        in_prefix: bool,
    ) {
        use ast::CommandPrefixOrSuffixItem as I;
        match item {
            I::IoRedirect(redirect) => self.redirect(redirect, &mut inv.redirects, stdin_text),
            I::Word(word) => {
                let word = self.word(word);
                inv.words.push(word);
            }
            I::AssignmentWord(assignment, raw) => {
                let value = match &assignment.value {
                    ast::AssignmentValue::Scalar(w) => self.word(w),
                    ast::AssignmentValue::Array(values) => {
                        let mut all = Word::literal("");
                        for (key, value) in values {
                            if let Some(key) = key {
                                self.word(key);
                            }
                            let w = self.word(value);
                            all.dynamic |= w.dynamic;
                            all.variables.extend(w.variables);
                        }
                        all.source = raw.value.clone();
                        all
                    }
                };
                let name = match &assignment.name {
                    ast::AssignmentName::VariableName(n)
                    | ast::AssignmentName::ArrayElementName(n, _) => n.clone(),
                };
                if in_prefix || inv.words.is_empty() {
                    inv.assignments.push((name, value));
                } else {
                    // `export X=1` or `declare X=$(…)`: an argument that looks like an assignment.
                    let mut word = value;
                    word.value = format!("{name}={}", word.value);
                    word.source = raw.value.clone();
                    inv.words.push(word);
                }
            }
            I::ProcessSubstitution(_, subshell) => {
                let saved = self.cwd.clone();
                self.compound_list(&subshell.list);
                self.cwd = saved;
                let mut word = Word::literal("/dev/fd/63");
                word.dynamic = true;
                word.source = format!("<({})", subshell.list);
                inv.words.push(word);
            }
        }
    }

    fn redirect(
        &mut self,
        redirect: &IoRedirect,
        out: &mut Vec<Redirect>,
        stdin_text: &mut Option<String>,
    ) {
        match redirect {
            IoRedirect::File(_, kind, target) => {
                let kind = match kind {
                    IoFileRedirectKind::Read => RedirectKind::Read,
                    IoFileRedirectKind::Write | IoFileRedirectKind::Clobber => {
                        RedirectKind::Truncate
                    }
                    IoFileRedirectKind::Append | IoFileRedirectKind::ReadAndWrite => {
                        RedirectKind::Write
                    }
                    IoFileRedirectKind::DuplicateInput | IoFileRedirectKind::DuplicateOutput => {
                        if let IoFileRedirectTarget::Duplicate(word)
                        | IoFileRedirectTarget::Filename(word) = target
                        {
                            let w = self.word(word);
                            // `>&file` (a word that is not a descriptor) writes to a file.
                            let fd_like = w.value.chars().all(|c| c.is_ascii_digit() || c == '-');
                            if !fd_like && matches!(kind, IoFileRedirectKind::DuplicateOutput) {
                                out.push(Redirect {
                                    kind: RedirectKind::Write,
                                    target: w,
                                });
                            }
                        }
                        return;
                    }
                };
                match target {
                    IoFileRedirectTarget::Filename(word)
                    | IoFileRedirectTarget::Duplicate(word) => {
                        let target = self.word(word);
                        out.push(Redirect { kind, target });
                    }
                    IoFileRedirectTarget::Fd(_) => {}
                    IoFileRedirectTarget::ProcessSubstitution(_, subshell) => {
                        let saved = self.cwd.clone();
                        self.compound_list(&subshell.list);
                        self.cwd = saved;
                    }
                }
            }
            IoRedirect::OutputAndError(word, append) => {
                let target = self.word(word);
                out.push(Redirect {
                    kind: if *append {
                        RedirectKind::Write
                    } else {
                        RedirectKind::Truncate
                    },
                    target,
                });
            }
            IoRedirect::HereString(_, word) => {
                let w = self.word(word);
                *stdin_text = w.known().map(str::to_owned);
            }
            IoRedirect::HereDocument(_, doc) => {
                if doc.requires_expansion {
                    match brush_parser::word::parse_heredoc(&doc.doc.value, &self.options) {
                        Ok(pieces) => {
                            let mut w = Word::literal("");
                            self.pieces(&doc.doc.value, &pieces, &mut w, true);
                            *stdin_text = w.known().map(str::to_owned);
                        }
                        Err(_) => {
                            self.opaque(&doc.doc.value, "a here-document that cannot be parsed")
                        }
                    }
                } else {
                    *stdin_text = Some(doc.doc.value.clone());
                }
            }
        }
    }

    /// Reduces a word to its known value, collecting the commands its substitutions run.
    fn word(&mut self, raw: &ast::Word) -> Word {
        let mut word = Word {
            value: String::new(),
            source: raw.value.clone(),
            dynamic: false,
            glob: false,
            variables: Vec::new(),
        };
        match brush_parser::word::parse(&raw.value, &self.options) {
            Ok(pieces) => self.pieces(&raw.value, &pieces, &mut word, false),
            Err(_) => {
                word.dynamic = true;
                word.value.clone_from(&raw.value);
                if raw.value.contains("$(") || raw.value.contains('`') {
                    self.opaque(
                        &raw.value,
                        "a word that cannot be parsed contains a command substitution",
                    );
                }
            }
        }
        word
    }

    fn pieces(
        &mut self,
        source: &str,
        pieces: &[WordPieceWithSource],
        word: &mut Word,
        quoted: bool,
    ) {
        for piece in pieces {
            let text = source
                .get(piece.start_index..piece.end_index)
                .unwrap_or_default();
            match &piece.piece {
                WordPiece::Text(s) => {
                    if !quoted {
                        if s.contains(['*', '?', '[']) {
                            word.glob = true;
                        }
                        if s.contains('{')
                            && s.contains('}')
                            && (s.contains(',') || s.contains(".."))
                        {
                            // Brace expansion makes several words out of one.
                            word.dynamic = true;
                        }
                    }
                    word.value.push_str(s);
                }
                WordPiece::SingleQuotedText(s) => word.value.push_str(s),
                WordPiece::AnsiCQuotedText(s) => {
                    if s.contains('\\') {
                        word.dynamic = true;
                    }
                    word.value.push_str(s);
                }
                WordPiece::DoubleQuotedSequence(inner)
                | WordPiece::GettextDoubleQuotedSequence(inner) => {
                    self.pieces(source, inner, word, true);
                }
                WordPiece::TildeExpansion(tilde) => match (tilde, &self.home, &self.cwd) {
                    (TildeExpr::Home, Some(home), _) => {
                        word.value.push_str(&home.to_string_lossy())
                    }
                    (TildeExpr::WorkingDir, _, Some(cwd)) => {
                        word.value.push_str(&cwd.to_string_lossy())
                    }
                    _ => {
                        word.dynamic = true;
                        word.value.push_str(text);
                    }
                },
                WordPiece::ParameterExpansion(expr) => {
                    if text.contains("$(") || text.contains('`') {
                        self.opaque(text, "a command substitution inside a parameter expansion");
                    }
                    let name = match expr {
                        ParameterExpr::Parameter {
                            parameter: Parameter::Named(name),
                            indirect: false,
                        } => Some(name.as_str()),
                        _ => None,
                    };
                    if let Some(name) = parameter_name(text) {
                        word.variables.push(name);
                    }
                    if let Some(bound) = name.and_then(|n| self.vars.get(n)) {
                        word.glob |= bound.glob;
                        word.value.push_str(&bound.value);
                        continue;
                    }
                    match (name, &self.home, &self.cwd) {
                        (Some("HOME"), Some(home), _) => {
                            word.value.push_str(&home.to_string_lossy())
                        }
                        (Some("PWD"), _, Some(cwd)) => word.value.push_str(&cwd.to_string_lossy()),
                        _ => {
                            word.dynamic = true;
                            word.value.push_str(text);
                        }
                    }
                }
                WordPiece::CommandSubstitution(inner)
                | WordPiece::BackquotedCommandSubstitution(inner) => {
                    self.nested(inner);
                    word.dynamic = true;
                    word.value.push_str(text);
                }
                WordPiece::EscapeSequence(s) => {
                    word.value.push_str(s.strip_prefix('\\').unwrap_or(s))
                }
                WordPiece::ArithmeticExpression(expr) => {
                    self.arithmetic(&expr.value);
                    word.dynamic = true;
                    word.value.push_str(text);
                }
            }
        }
    }
}

/// The variable a parameter expansion reads, from its text (`$X`, `${X:-d}`, `${#X}`, `${!X}`).
fn parameter_name(text: &str) -> Option<String> {
    let rest = text.strip_prefix('$')?;
    let rest = rest.strip_prefix('{').unwrap_or(rest);
    let rest = rest.trim_start_matches(['#', '!']);
    let name: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty() && !name.starts_with(|c: char| c.is_ascii_digit())).then_some(name)
}

/// Makes a path absolute against `base` and removes `.` and `..` without touching the disk.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push("/");
                }
            }
            std::path::Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    if out.as_os_str().is_empty() {
        out.push("/");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Env {
        Env {
            cwd: Some(PathBuf::from("/p")),
            home: Some(PathBuf::from("/home/u")),
        }
    }

    fn runs(command: &str) -> Vec<Invocation> {
        analyse(command, &env())
            .into_iter()
            .filter_map(|item| match item {
                Item::Run(inv) => Some(inv),
                Item::Opaque { .. } => None,
            })
            .collect()
    }

    fn texts(command: &str) -> Vec<String> {
        runs(command).iter().map(Invocation::text).collect()
    }

    #[test]
    fn lists_pipelines_and_substitutions_are_split() {
        assert_eq!(
            texts("ls -la && grep -rn foo src | head -5; echo done"),
            ["ls -la", "grep -rn foo src", "head -5", "echo done"]
        );
        assert_eq!(
            texts("echo $(whoami) `date`"),
            ["whoami", "date", "echo $(whoami) `date`"]
        );
        assert_eq!(
            texts("(cd sub && make) || true"),
            ["cd sub", "make", "true"]
        );
        assert_eq!(texts("r''m -rf x"), ["rm -rf x"]);
        assert_eq!(texts("\\rm x"), ["rm x"]);
        assert_eq!(texts("diff <(ls a) <(ls b)")[..2], ["ls a", "ls b"]);
    }

    #[test]
    fn words_know_what_they_expand_to() {
        let inv = &runs("rm -rf ~ $HOME \"$X\" *.py {a,b}")[0];
        assert_eq!(inv.words[2].known(), Some("/home/u"));
        assert_eq!(inv.words[3].known(), Some("/home/u"));
        assert!(inv.words[4].dynamic);
        assert_eq!(inv.words[4].variables, ["X"]);
        assert!(inv.words[5].glob && !inv.words[5].dynamic);
        assert!(inv.words[6].dynamic);
    }

    #[test]
    fn cd_moves_later_commands_and_subshells_restore() {
        let all = runs("cd /tmp && rm x; (cd /etc; cat passwd); ls");
        assert_eq!(all[1].cwd.as_deref(), Some(Path::new("/tmp")));
        assert_eq!(all[3].cwd.as_deref(), Some(Path::new("/etc")));
        assert_eq!(all[4].cwd.as_deref(), Some(Path::new("/tmp")));
        let all = runs("cd \"$D\" && rm x");
        assert_eq!(all[1].cwd, None);
        let all = runs("cd .. && ls");
        assert_eq!(all[1].cwd.as_deref(), Some(Path::new("/")));
    }

    #[test]
    fn redirections_heredocs_and_pipes_are_recorded() {
        let all = runs("cat <<EOF > out.txt\nhello $(id)\nEOF\ncurl x | sh");
        assert_eq!(all[0].text(), "id");
        assert_eq!(
            all[1].redirects,
            [Redirect {
                kind: RedirectKind::Truncate,
                target: Word::literal("out.txt")
            }]
        );
        assert_eq!(
            all[1].stdin_text, None,
            "the heredoc has a substitution, so its text is not known"
        );
        assert_eq!(all[3].piped_from.as_deref(), Some("curl"));
        let all = runs("bash <<'EOF'\nrm -rf /\nEOF");
        assert_eq!(all[0].stdin_text.as_deref(), Some("rm -rf /\n"));
        let all = runs("FOO=1 PATH=/x env >&log 2>&1");
        assert_eq!(all[0].assignments.len(), 2);
        assert_eq!(all[0].redirects[0].target.value, "log");
    }

    #[test]
    fn unparseable_input_is_opaque() {
        assert!(matches!(
            analyse("echo 'unterminated", &env())[0],
            Item::Opaque { .. }
        ));
        assert!(matches!(
            analyse("if then fi (", &env())[0],
            Item::Opaque { .. }
        ));
    }

    #[test]
    fn what_only_looks_like_arithmetic_is_read_as_commands() {
        assert_eq!(texts("ls; ( ( rm -rf / ) )"), ["ls", "rm -rf /"]);
        assert_eq!(texts("( ( kill -9 -1 ) )"), ["kill -9 -1"]);
        assert_eq!(
            texts("(( i = i + 1 )); echo $((2 * 3))"),
            ["echo $((2 * 3))"]
        );
        assert_eq!(texts("echo $((echo hi) )")[0], "echo hi");
    }
}
