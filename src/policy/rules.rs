//! Permission rules in Claude Code's syntax: `Bash(npm run test:*)`, `Bash(git * main)`,
//! `Edit(src/**)`, `Read(./.env)`, `WebFetch(domain:docs.rs)`, `mcp__server__tool`.
//!
//! A rule names a tool and, optionally, what it applies to: a command (exact, a prefix ending in
//! `:*`, or a pattern where `*` matches anything), a path glob (`//abs`, `~/home`, `/root`,
//! `./root` or a bare relative glob; a glob without `/` matches the name at any depth), or a web
//! domain. `Edit` and `Write` rules cover every file-editing tool and shell writes; `Read` rules
//! cover every reading tool and shell reads.

use std::fmt;
use std::path::Path;

use globset::{GlobBuilder, GlobMatcher};
use serde::{Deserialize, Serialize};

pub use crate::domain::RuleLists;

/// How severe a verdict is; ordered so the most severe wins.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Let it run.
    Allow,
    /// Ask a person.
    Escalate,
    /// Refuse.
    Deny,
}

impl Severity {
    /// `allow`, `escalate` or `deny`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Escalate => "escalate",
            Self::Deny => "deny",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rule that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad rule `{rule}`: {message}")]
pub struct RuleError {
    /// The rule as written.
    pub rule: String,
    /// What is wrong with it.
    pub message: String,
}

/// What a tool call or part of one is, for matching rules.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// A simple shell command, as text.
    Command(&'a str),
    /// A file read, by a reading tool or a shell command.
    Read(&'a Path),
    /// A file write, by an editing tool or a shell command.
    Edit(&'a Path),
    /// A web fetch of a URL on this host.
    Fetch(Option<&'a str>),
    /// Any other tool, by name.
    Tool(&'a str),
}

/// Where relative path rules are anchored.
#[derive(Debug, Clone, Copy)]
pub struct Anchors<'a> {
    /// The path relative to the project (or worktree) root, when inside it.
    pub relative: Option<&'a str>,
    /// The home directory.
    pub home: Option<&'a Path>,
}

#[derive(Debug, Clone)]
enum Spec {
    Any,
    Exact(String),
    Prefix(String),
    Pattern(String),
    Path {
        anchor: PathAnchor,
        glob: GlobMatcher,
    },
    Domain(String),
}

#[derive(Debug, Clone, Copy)]
enum PathAnchor {
    Absolute,
    Home,
    Root,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ToolClass {
    Bash,
    Read,
    Edit,
    Fetch,
    Other,
}

/// One parsed rule.
#[derive(Debug, Clone)]
pub struct Rule {
    source: String,
    tool: String,
    class: ToolClass,
    spec: Spec,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl Rule {
    /// Parses a rule, or says what is wrong with it.
    pub fn parse(text: &str) -> Result<Self, RuleError> {
        let bad = |message: &str| RuleError {
            rule: text.to_owned(),
            message: message.to_owned(),
        };
        let source = text.trim();
        let (tool, spec) = match source.find('(') {
            None => (source, None),
            Some(open) => {
                let inner = source[open + 1..]
                    .strip_suffix(')')
                    .ok_or_else(|| bad("a rule with `(` must end with `)`"))?;
                (&source[..open], Some(inner))
            }
        };
        if tool.is_empty()
            || !tool
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '*')
            || !tool.starts_with(|c: char| c.is_ascii_alphabetic())
        {
            return Err(bad(
                "a rule starts with a tool name such as `Bash`, `Edit`, `Read`, `WebFetch` or `mcp__server__tool`",
            ));
        }
        if tool.contains('*') && !tool.starts_with("mcp__") {
            return Err(bad("only MCP tool names may use `*` (`mcp__server__*`)"));
        }
        let class = match tool {
            "Bash" => ToolClass::Bash,
            "Read" | "Grep" | "Glob" | "LS" | "NotebookRead" => ToolClass::Read,
            "Edit" | "Write" | "MultiEdit" | "NotebookEdit" => ToolClass::Edit,
            "WebFetch" => ToolClass::Fetch,
            _ => ToolClass::Other,
        };
        let spec = match (class, spec) {
            (_, None) => Spec::Any,
            (_, Some(inner)) if inner.trim().is_empty() => {
                return Err(bad(
                    "the parentheses are empty: write the tool name alone to match every call",
                ));
            }
            (ToolClass::Bash, Some(inner)) => {
                if inner.contains('(') || inner.contains(')') {
                    return Err(bad("a command pattern may not contain parentheses"));
                }
                if let Some(prefix) = inner.strip_suffix(":*") {
                    if prefix.contains(":*") || prefix.trim().is_empty() {
                        return Err(bad(
                            "`:*` may only end a prefix, as in `Bash(npm run test:*)`",
                        ));
                    }
                    Spec::Prefix(prefix.trim().to_owned())
                } else if inner.contains(":*") {
                    return Err(bad(
                        "`:*` may only end a prefix, as in `Bash(npm run test:*)`",
                    ));
                } else if inner.contains('*') {
                    Spec::Pattern(inner.trim().to_owned())
                } else {
                    Spec::Exact(inner.trim().to_owned())
                }
            }
            (ToolClass::Read | ToolClass::Edit, Some(inner)) => {
                path_spec(inner).map_err(|m| bad(&m))?
            }
            (ToolClass::Fetch, Some(inner)) => {
                let domain = inner
                    .strip_prefix("domain:")
                    .ok_or_else(|| bad("WebFetch rules name a domain: `WebFetch(domain:docs.rs)`"))?
                    .trim()
                    .to_ascii_lowercase();
                let plain = domain.strip_prefix("*.").unwrap_or(&domain);
                if plain.is_empty()
                    || !plain
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
                {
                    return Err(bad(
                        "the domain must be a host name such as `docs.rs` or `*.python.org`",
                    ));
                }
                Spec::Domain(domain)
            }
            (ToolClass::Other, Some(_)) => {
                return Err(bad(
                    "only Bash, Read, Edit, Write and WebFetch rules take an argument in parentheses",
                ));
            }
        };
        Ok(Self {
            source: source.to_owned(),
            tool: tool.to_owned(),
            class,
            spec,
        })
    }

    /// Whether this rule covers the target.
    pub fn matches(&self, target: &Target<'_>, anchors: Anchors<'_>) -> bool {
        match (target, self.class) {
            (Target::Command(text), ToolClass::Bash) => match &self.spec {
                Spec::Any => true,
                Spec::Exact(exact) => text.trim() == exact,
                Spec::Prefix(prefix) => {
                    let text = text.trim();
                    text == prefix
                        || text
                            .strip_prefix(prefix.as_str())
                            .is_some_and(|rest| rest.starts_with(' '))
                }
                // As in Claude Code, a single trailing ` *` also matches nothing: `ls *` covers `ls`.
                Spec::Pattern(pattern) => {
                    wildcard(pattern, text.trim())
                        || (pattern.matches('*').count() == 1
                            && pattern
                                .strip_suffix(" *")
                                .is_some_and(|bare| bare == text.trim()))
                }
                _ => false,
            },
            (Target::Read(path), ToolClass::Read) | (Target::Edit(path), ToolClass::Edit) => {
                self.path_matches(path, anchors)
            }
            (Target::Fetch(host), ToolClass::Fetch) => match (&self.spec, host) {
                (Spec::Any, _) => true,
                (Spec::Domain(domain), Some(host)) => {
                    let host = host.to_ascii_lowercase();
                    match domain.strip_prefix("*.") {
                        Some(base) => host == base || host.ends_with(&format!(".{base}")),
                        None => &host == domain,
                    }
                }
                _ => false,
            },
            (Target::Tool(name), ToolClass::Other) => {
                let rule = self.tool.as_str();
                if let Some(prefix) = rule.strip_suffix('*') {
                    name.starts_with(prefix)
                } else {
                    *name == rule
                        || (rule.starts_with("mcp__")
                            && rule.matches("__").count() == 1
                            && name.starts_with(&format!("{rule}__")))
                }
            }
            _ => false,
        }
    }

    fn path_matches(&self, path: &Path, anchors: Anchors<'_>) -> bool {
        let Spec::Path { anchor, glob } = &self.spec else {
            return matches!(self.spec, Spec::Any);
        };
        match anchor {
            PathAnchor::Absolute => glob.is_match(path),
            PathAnchor::Home => anchors
                .home
                .and_then(|home| path.strip_prefix(home).ok())
                .is_some_and(|rel| glob.is_match(rel)),
            PathAnchor::Root => anchors.relative.is_some_and(|rel| glob.is_match(rel)),
        }
    }
}

fn path_spec(inner: &str) -> Result<Spec, String> {
    let inner = inner.trim();
    let (anchor, pattern) = if let Some(rest) = inner.strip_prefix("//") {
        (PathAnchor::Absolute, format!("/{rest}"))
    } else if let Some(rest) = inner.strip_prefix("~/") {
        (PathAnchor::Home, rest.to_owned())
    } else if let Some(rest) = inner.strip_prefix("./").or_else(|| inner.strip_prefix('/')) {
        (PathAnchor::Root, rest.to_owned())
    } else if inner.contains('/') {
        (PathAnchor::Root, inner.to_owned())
    } else {
        (PathAnchor::Root, format!("**/{inner}"))
    };
    if pattern.split('/').any(|part| part == "..") {
        return Err("a path rule may not use `..`".into());
    }
    let glob = GlobBuilder::new(&pattern)
        .literal_separator(true)
        .build()
        .map_err(|e| format!("the path is not a valid glob: {e}"))?
        .compile_matcher();
    Ok(Spec::Path { anchor, glob })
}

/// `*` matches any run of characters (spaces included); everything else is literal.
fn wildcard(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, rest) = parts.split_first().expect("split yields at least one part");
    let Some(mut remaining) = text.strip_prefix(first) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return remaining.is_empty();
    };
    for part in middle {
        match remaining.find(part) {
            Some(at) => remaining = &remaining[at + part.len()..],
            None => return false,
        }
    }
    remaining.ends_with(last)
}

/// Rules in three lists; deny beats escalate beats allow.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    allow: Vec<Rule>,
    escalate: Vec<Rule>,
    deny: Vec<Rule>,
}

/// Every rule in the lists that cannot be read, with the list and position it is at
/// (`allow[2]`).
pub fn problems(lists: &RuleLists) -> Vec<(String, RuleError)> {
    let mut out = Vec::new();
    for (name, list) in [
        ("allow", &lists.allow),
        ("escalate", &lists.escalate),
        ("deny", &lists.deny),
    ] {
        for (i, rule) in list.iter().enumerate() {
            if let Err(e) = Rule::parse(rule) {
                out.push((format!("{name}[{i}]"), e));
            }
        }
    }
    out
}

impl RuleSet {
    /// Parses the three lists; the first bad rule is the error.
    pub fn parse(lists: &RuleLists) -> Result<Self, RuleError> {
        let parse = |list: &[String]| {
            list.iter()
                .map(|r| Rule::parse(r))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Self {
            allow: parse(&lists.allow)?,
            escalate: parse(&lists.escalate)?,
            deny: parse(&lists.deny)?,
        })
    }

    /// Adds an allow rule (a person's "always for this run").
    pub fn allow(&mut self, rule: Rule) {
        self.allow.push(rule);
    }

    /// The most severe rule that covers the target.
    pub fn verdict(&self, target: &Target<'_>, anchors: Anchors<'_>) -> Option<(Severity, &Rule)> {
        [
            (Severity::Deny, &self.deny),
            (Severity::Escalate, &self.escalate),
            (Severity::Allow, &self.allow),
        ]
        .into_iter()
        .find_map(|(severity, rules)| {
            rules
                .iter()
                .find(|r| r.matches(target, anchors))
                .map(|r| (severity, r))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anchors(rel: Option<&str>) -> Anchors<'_> {
        Anchors {
            relative: rel,
            home: Some(Path::new("/home/u")),
        }
    }

    fn cmd(rule: &str, text: &str) -> bool {
        Rule::parse(rule)
            .unwrap()
            .matches(&Target::Command(text), anchors(None))
    }

    #[test]
    fn command_rules_match_like_claude_code() {
        assert!(cmd("Bash(npm run test:*)", "npm run test"));
        assert!(cmd("Bash(npm run test:*)", "npm run test -- --watch"));
        assert!(!cmd("Bash(npm run test:*)", "npm run tests"));
        assert!(!cmd("Bash(ls:*)", "lsof"));
        assert!(cmd("Bash(git * main)", "git push origin main"));
        assert!(!cmd("Bash(git * main)", "git push origin main2"));
        assert!(cmd("Bash(cargo test)", "cargo test"));
        assert!(!cmd("Bash(cargo test)", "cargo test --all"));
        assert!(cmd("Bash", "anything at all"));
        assert!(cmd("Bash(ls *)", "ls -la") && cmd("Bash(ls *)", "ls"));
        assert!(!cmd("Bash(ls *)", "lsof"));
    }

    #[test]
    fn path_rules_are_anchored() {
        let rule = |r: &str| Rule::parse(r).unwrap();
        let edit = |r: &str, p: &str, rel: Option<&str>| {
            rule(r).matches(&Target::Edit(Path::new(p)), anchors(rel))
        };
        assert!(edit("Edit(src/**)", "/p/src/a/b.rs", Some("src/a/b.rs")));
        assert!(!edit("Edit(src/**)", "/p/tests/a.rs", Some("tests/a.rs")));
        assert!(edit("Edit(*.md)", "/p/docs/x.md", Some("docs/x.md")));
        assert!(edit("Edit(//tmp/**)", "/tmp/x", None));
        assert!(edit("Edit(~/notes/*)", "/home/u/notes/a", None));
        assert!(
            rule("Read(./.env)")
                .matches(&Target::Read(Path::new("/p/.env")), anchors(Some(".env")))
        );
        assert!(
            !rule("Read(./.env)")
                .matches(&Target::Edit(Path::new("/p/.env")), anchors(Some(".env")))
        );
        assert!(
            rule("Write(src/**)")
                .matches(&Target::Edit(Path::new("/p/src/x")), anchors(Some("src/x")))
        );
    }

    #[test]
    fn fetch_and_mcp_rules() {
        let fetch = |r: &str, host: &str| {
            Rule::parse(r)
                .unwrap()
                .matches(&Target::Fetch(Some(host)), anchors(None))
        };
        assert!(fetch("WebFetch(domain:docs.rs)", "docs.rs"));
        assert!(!fetch("WebFetch(domain:docs.rs)", "evil-docs.rs"));
        assert!(fetch("WebFetch(domain:*.python.org)", "docs.python.org"));
        let tool = |r: &str, t: &str| {
            Rule::parse(r)
                .unwrap()
                .matches(&Target::Tool(t), anchors(None))
        };
        assert!(tool("mcp__github__get_issue", "mcp__github__get_issue"));
        assert!(tool("mcp__github", "mcp__github__get_issue"));
        assert!(tool("mcp__github__*", "mcp__github__get_issue"));
        assert!(!tool("mcp__github", "mcp__githubx__a"));
    }

    #[test]
    fn bad_rules_say_what_is_wrong() {
        for bad in [
            "Bash(",
            "Bash()",
            "(ls)",
            "Bash(a:*b:*)",
            "WebFetch(docs.rs)",
            "Edit([)",
            "Edit(../x)",
            "Task(x)",
            "Ba sh",
        ] {
            let err = Rule::parse(bad).unwrap_err();
            assert_eq!(err.rule, bad);
            assert!(!err.message.is_empty());
        }
    }

    #[test]
    fn deny_beats_escalate_beats_allow() {
        let set = RuleSet::parse(&RuleLists {
            allow: vec!["Bash(git:*)".into()],
            escalate: vec!["Bash(git push:*)".into()],
            deny: vec!["Bash(git push --force:*)".into()],
        })
        .unwrap();
        let verdict = |t: &str| {
            set.verdict(&Target::Command(t), anchors(None))
                .map(|(s, _)| s)
        };
        assert_eq!(verdict("git status"), Some(Severity::Allow));
        assert_eq!(verdict("git push origin"), Some(Severity::Escalate));
        assert_eq!(verdict("git push --force origin"), Some(Severity::Deny));
        assert_eq!(verdict("ls"), None);
    }
}
