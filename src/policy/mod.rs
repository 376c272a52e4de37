//! The permission policy: answers each tool call an agent wants to make with allow, deny or
//! escalate, so that a person is asked only when it matters.
//!
//! ```
//! use orchestrator::policy::{Policy, PolicyContext, ToolRequest, Verdict};
//! let policy = Policy::default();
//! let context = PolicyContext::new("/work/project");
//! let request = ToolRequest::bash("cargo test && rm -rf /");
//! assert!(matches!(policy.decide(&request, &context).verdict(), Verdict::Deny(_)));
//! ```
//!
//! Shell commands are parsed ([`shell`]) into the simple commands they run, each judged by the
//! built-in defaults ([`classify`]) and then by the rules ([`rules`]); the most severe verdict
//! wins. A rule can lower a default escalation, never a default denial, and never anything the
//! policy could not analyse. Escalations become [`ApprovalRequest`]s in the approvals queue.

pub mod classify;
pub mod gate;
pub mod notify;
pub mod paths;
pub mod rules;
pub mod shell;

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use self::classify::{Classifier, Firmness, Matter, Subject};
pub use self::gate::{Gate, HumanAnswer};
use self::paths::Scope;
use self::rules::{Anchors, Target};
pub use self::rules::{Rule, RuleError, RuleLists, RuleSet, Severity};
pub use crate::domain::{ApprovalRequest, ApprovalStatus};

/// A tool call as the agent sends it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ToolRequest {
    /// The tool (`Bash`, `Edit`, `WebFetch`, `mcp__server__tool`, …).
    pub tool_name: String,
    /// Its input.
    pub input: serde_json::Value,
}

impl ToolRequest {
    /// A `Bash` call.
    pub fn bash(command: &str) -> Self {
        Self {
            tool_name: "Bash".into(),
            input: serde_json::json!({ "command": command }),
        }
    }
}

/// The policy's answer to a tool call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", content = "reason", rename_all = "snake_case")]
pub enum Verdict {
    /// Let it run.
    Allow,
    /// Refuse it, with the reason the agent is told.
    Deny(String),
    /// Ask a person, with the reason they are shown.
    Escalate(String),
}

/// Where a call happens: the run's project, worktree and task.
#[derive(Debug, Clone, Default)]
pub struct PolicyContext {
    /// The project root.
    pub project_root: PathBuf,
    /// The run's worktree, where commands start; the project root when `None`.
    pub worktree: Option<PathBuf>,
    /// The task's declared files (paths or globs relative to the root); `None` when no task
    /// limits edits (a call judged outside any run).
    pub declared_files: Option<Vec<String>>,
    /// The home directory (`$HOME` by default).
    pub home: Option<PathBuf>,
    /// The task's own rules from the plan.
    pub task_rules: RuleSet,
    /// Rules a person granted for this run ("always for this run").
    pub run_rules: RuleSet,
    /// Names of the secrets in `.secrets.json`, so commands that print them are caught.
    pub secret_names: Vec<String>,
}

impl PolicyContext {
    /// A context for a project root, with the home directory from the environment.
    pub fn new(project_root: impl Into<PathBuf>) -> Self {
        Self {
            project_root: project_root.into(),
            home: std::env::var_os("HOME").map(PathBuf::from),
            ..Self::default()
        }
    }
}

/// One part of a decision: a simple command, a file it touches, or the tool call itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    /// What was judged (`rm -rf build`, `> out.txt`, `Edit src/a.rs`).
    pub subject: String,
    /// Its verdict.
    pub verdict: Severity,
    /// Why.
    pub reason: String,
    /// What decided it: `default`, or the rule and where it came from.
    pub decided_by: String,
    /// The exact rule that would allow this part, as "always for this run" remembers it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant: Option<String>,
}

/// The policy's answer with its working: every part judged and what decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Decision {
    /// The most severe verdict of all parts.
    pub verdict: Severity,
    /// Why, in one sentence (the reasons of the parts that decided it).
    pub reason: String,
    /// The rule that decided the verdict, if a rule did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Every part judged, in order.
    pub findings: Vec<Finding>,
}

impl Decision {
    /// The verdict with its reason.
    pub fn verdict(&self) -> Verdict {
        match self.verdict {
            Severity::Allow => Verdict::Allow,
            Severity::Escalate => Verdict::Escalate(self.reason.clone()),
            Severity::Deny => Verdict::Deny(self.reason.clone()),
        }
    }
}

/// The configured policy: the built-in defaults plus the project's rules.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    rules: RuleSet,
}

/// Decides a call with the built-in defaults and the context's task and run rules only.
pub fn decide(request: &ToolRequest, context: &PolicyContext) -> Decision {
    Policy::default().decide(request, context)
}

impl Policy {
    /// A policy with the project's rules (from `orchestrator.toml`).
    pub fn new(rules: RuleSet) -> Self {
        Self { rules }
    }

    /// Parses rule lists into a policy; the error names the bad rule.
    pub fn from_lists(lists: &RuleLists) -> Result<Self, RuleError> {
        RuleSet::parse(lists).map(Self::new)
    }

    /// Answers one tool call.
    pub fn decide(&self, request: &ToolRequest, context: &PolicyContext) -> Decision {
        let scope = Scope::new(
            &context.project_root,
            context.worktree.as_deref(),
            context.declared_files.as_deref(),
            context.home.clone(),
        );
        let mut classifier = Classifier::new(&scope, &context.secret_names);
        let tool = request.tool_name.as_str();
        let input = &request.input;
        let field = |name: &str| input.get(name).and_then(serde_json::Value::as_str);
        let mut unreadable = None;
        match tool {
            "Bash" => match field("command") {
                Some(command) if !command.trim().is_empty() => {
                    classifier.command_line(command, Some(scope.cwd.clone()), 0);
                }
                _ => unreadable = Some("a Bash call needs a non-empty `command` string"),
            },
            "Read" | "NotebookRead" | "Edit" | "MultiEdit" | "Write" | "NotebookEdit" => {
                let write = !matches!(tool, "Read" | "NotebookRead");
                match field("file_path").or_else(|| field("notebook_path")) {
                    Some(path) if !path.is_empty() => {
                        let resolved = scope.resolve(Some(&scope.cwd), path);
                        classifier.file(
                            &format!("{tool} {path}"),
                            resolved.as_deref(),
                            write,
                            None,
                        );
                    }
                    _ => unreadable = Some("the call names no `file_path`"),
                }
            }
            "Grep" | "Glob" | "LS" => {
                let path = field("path").unwrap_or(".");
                let resolved = scope.resolve(Some(&scope.cwd), path);
                if tool == "Grep" {
                    // Claude Code's Grep is ripgrep: judge the search it runs.
                    let mut words = vec!["rg".to_owned()];
                    if let Some(glob) = field("glob") {
                        words.extend(["-g".to_owned(), glob.to_owned()]);
                    }
                    if let Some(kind) = field("type") {
                        words.extend(["-t".to_owned(), kind.to_owned()]);
                    }
                    words.extend([
                        "-e".to_owned(),
                        field("pattern").unwrap_or_default().to_owned(),
                        path.to_owned(),
                    ]);
                    classifier.literal_command(&words, Some(scope.cwd.clone()));
                } else {
                    classifier.subjects.push(Subject {
                        text: format!("{tool} {path}"),
                        matters: resolved.map(Matter::Read).into_iter().collect(),
                        severity: Severity::Allow,
                        reason: format!("{tool} lists file names"),
                        firmness: Firmness::Soft,
                    });
                }
            }
            "WebFetch" => {
                let url = field("url").unwrap_or("");
                let (severity, reason, firmness) = match url_host(url) {
                    Some(_) => (
                        Severity::Escalate,
                        format!("fetches {url} from the network"),
                        Firmness::Soft,
                    ),
                    None => (
                        Severity::Escalate,
                        format!("the URL `{url}` cannot be read"),
                        Firmness::Hard,
                    ),
                };
                classifier.subjects.push(Subject {
                    text: format!("WebFetch {url}"),
                    matters: Vec::new(),
                    severity,
                    reason,
                    firmness,
                });
            }
            _ => {
                let (severity, reason) = match tool {
                    "TodoWrite"
                    | "TodoRead"
                    | "Task"
                    | "Agent"
                    | "ExitPlanMode"
                    | "BashOutput"
                    | "KillShell"
                    | "KillBash"
                    | "ListMcpResourcesTool"
                    | "ReadMcpResourceTool" => (
                        Severity::Allow,
                        format!("{tool} only organises the agent's own work"),
                    ),
                    "WebSearch" => (Severity::Escalate, "searches the web".to_owned()),
                    t if own_mcp_tool(t).is_some() => {
                        let name = own_mcp_tool(t).unwrap_or_default();
                        let decides = request.input.get("decision").is_some_and(|d| !d.is_null())
                            || request.input.get("release").is_some_and(|d| !d.is_null());
                        if OWN_SAFE_TOOLS.contains(&name)
                            || (name == "approvals" || name == "locks") && !decides
                        {
                            (
                                Severity::Allow,
                                format!(
                                    "{name} is the orchestrator's own: planning, reading or checking"
                                ),
                            )
                        } else {
                            (
                                Severity::Escalate,
                                format!(
                                    "{name} acts for the user (approving, running, answering, releasing): their word first"
                                ),
                            )
                        }
                    }
                    t if t.starts_with("mcp__") => (
                        Severity::Escalate,
                        format!("{t} is a tool of another MCP server"),
                    ),
                    t => (
                        Severity::Escalate,
                        format!("{t} is a tool the policy does not know"),
                    ),
                };
                classifier.subjects.push(Subject {
                    text: tool.to_owned(),
                    matters: Vec::new(),
                    severity,
                    reason,
                    firmness: Firmness::Soft,
                });
            }
        }
        if let Some(why) = unreadable {
            classifier.subjects.push(Subject {
                text: tool.to_owned(),
                matters: Vec::new(),
                severity: Severity::Escalate,
                reason: format!("cannot be analysed: {why}"),
                firmness: Firmness::Hard,
            });
        }
        let url = field("url").map(str::to_owned);
        let mut findings: Vec<Finding> = classifier
            .subjects
            .iter()
            .map(|subject| self.judge(subject, tool, url.as_deref(), &scope, context))
            .collect();
        // A loop or a wrapper can judge the same part twice; show it once.
        let mut seen = std::collections::HashSet::new();
        findings.retain(|f| seen.insert((f.subject.clone(), f.reason.clone())));
        summarise(findings)
    }

    /// Applies the rules to one subject's built-in verdict.
    fn judge(
        &self,
        subject: &Subject,
        tool: &str,
        url: Option<&str>,
        scope: &Scope,
        context: &PolicyContext,
    ) -> Finding {
        let mut targets: Vec<(Target<'_>, Option<String>)> = Vec::new();
        for matter in &subject.matters {
            match matter {
                Matter::Command(text) => targets.push((Target::Command(text), None)),
                Matter::Read(path) | Matter::Edit(path) => {
                    let rel = match scope.place(path) {
                        paths::Place::Inside(rel) => Some(rel),
                        paths::Place::Outside => None,
                    };
                    let target = if matches!(matter, Matter::Read(_)) {
                        Target::Read(path)
                    } else {
                        Target::Edit(path)
                    };
                    targets.push((target, rel));
                }
            }
        }
        let host = url.and_then(url_host);
        match tool {
            "Bash" | "Read" | "NotebookRead" | "Edit" | "MultiEdit" | "Write" | "NotebookEdit"
            | "Grep" | "Glob" | "LS" => {}
            "WebFetch" => targets.push((Target::Fetch(host.as_deref()), None)),
            other => targets.push((Target::Tool(other), None)),
        }
        let sets = [
            (&self.rules, "orchestrator.toml"),
            (&context.task_rules, "the task's rules"),
            (&context.run_rules, "a person, for this run"),
        ];
        let mut matched: Vec<(Severity, String, bool)> = Vec::new();
        for (target, rel) in &targets {
            let anchors = Anchors {
                relative: rel.as_deref(),
                home: context.home.as_deref(),
            };
            for (set, origin) in sets {
                if let Some((severity, rule)) = set.verdict(target, anchors) {
                    let is_path = matches!(target, Target::Read(_) | Target::Edit(_));
                    matched.push((
                        severity,
                        format!("rule {severity} `{rule}` ({origin})"),
                        is_path,
                    ));
                }
            }
        }
        let default = Finding {
            subject: subject.text.clone(),
            verdict: subject.severity,
            reason: subject.reason.clone(),
            decided_by: "default".into(),
            grant: targets.first().and_then(|(t, _)| grant_for(t)),
        };
        // Deny and escalate rules only ever raise; the first list they appear in names them.
        let raised = matched
            .iter()
            .filter(|(s, _, _)| *s > Severity::Allow && *s > subject.severity)
            .max_by_key(|(s, _, _)| *s);
        if let Some((severity, by, _)) = raised {
            return Finding {
                verdict: *severity,
                reason: format!("{} (by rule)", subject.reason),
                decided_by: by.clone(),
                ..default
            };
        }
        if subject.severity == Severity::Allow
            || matched.iter().any(|(s, _, _)| *s > Severity::Allow)
        {
            return default;
        }
        let lowering = matched.iter().find(|(s, _, is_path)| {
            *s == Severity::Allow
                && match subject.firmness {
                    Firmness::Soft => true,
                    Firmness::PathRule => *is_path,
                    Firmness::Hard => false,
                }
        });
        match lowering {
            Some((_, by, _)) => Finding {
                verdict: Severity::Allow,
                reason: format!("{}, allowed by rule", subject.reason),
                decided_by: by.clone(),
                ..default
            },
            None => default,
        }
    }
}

fn summarise(findings: Vec<Finding>) -> Decision {
    let verdict = findings
        .iter()
        .map(|f| f.verdict)
        .max()
        .unwrap_or(Severity::Escalate);
    if findings.is_empty() {
        return Decision {
            verdict: Severity::Escalate,
            reason: "the call contains nothing the policy could judge".into(),
            rule: None,
            findings,
        };
    }
    let deciding: Vec<&Finding> = findings.iter().filter(|f| f.verdict == verdict).collect();
    let rule = deciding
        .iter()
        .find(|f| f.decided_by != "default")
        .map(|f| f.decided_by.clone());
    let reason = if verdict == Severity::Allow {
        let parts: Vec<String> = deciding
            .iter()
            .take(4)
            .map(|f| format!("`{}` {}", f.subject, f.reason))
            .collect();
        format!("allowed: {}", parts.join("; "))
    } else {
        let parts: Vec<String> = deciding
            .iter()
            .take(3)
            .map(|f| format!("`{}`: {}", f.subject, f.reason))
            .collect();
        parts.join("; ")
    };
    Decision {
        verdict,
        reason,
        rule,
        findings,
    }
}

/// The host of an `http(s)` URL.
pub fn url_host(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    let host = host.split(':').next()?;
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// The exact rule that allows one judged part and nothing more.
fn grant_for(target: &Target<'_>) -> Option<String> {
    let text = match target {
        Target::Command(c) if !c.contains(['(', ')', '*']) => format!("Bash({c})"),
        Target::Edit(p) if !p.to_string_lossy().contains(['*', '?', '[', '{']) => {
            format!("Edit(/{})", p.display())
        }
        Target::Read(p) if !p.to_string_lossy().contains(['*', '?', '[', '{']) => {
            format!("Read(/{})", p.display())
        }
        Target::Fetch(Some(host)) => format!("WebFetch(domain:{host})"),
        Target::Tool(name) => (*name).to_owned(),
        _ => return None,
    };
    Rule::parse(&text).is_ok().then_some(text)
}

/// The rules a person's "always for this run" grants for a decision: the exact commands, files
/// or domains that were escalated, never more.
pub fn remembered_rules(decision: &Decision) -> Vec<String> {
    let mut out: Vec<String> = decision
        .findings
        .iter()
        .filter(|f| f.verdict == Severity::Escalate)
        .filter_map(|f| f.grant.clone())
        .collect();
    out.dedup();
    out
}

/// The orchestrator's own MCP tools that plan, read or check and so need no click in a person's
/// session: the ones that approve, run, answer or release (`plan_approve`, `run_start`,
/// `run_control`, `approvals` and `locks` with a decision, `plan_rollback`, `plan_abandon`,
/// `kb_add`) ask.
const OWN_SAFE_TOOLS: &[&str] = &[
    "plan_start",
    "plan_answer",
    "plan_submit",
    "plan_decide",
    "plan_get",
    "plan_list",
    "plan_diff",
    "run_status",
    "run_events",
    "verify",
    "context_preview",
    "kb_search",
    "skills",
    "policy_check",
    "policy_audit",
];

/// The tool's name when `tool` is one of the orchestrator's own MCP tools, as Claude Code names
/// them: `mcp__orchestrator__X` for a server added as `orchestrator`, and
/// `mcp__plugin_orchestrator_orchestrator__X` for the plugin's.
fn own_mcp_tool(tool: &str) -> Option<&str> {
    [
        "mcp__orchestrator__",
        "mcp__plugin_orchestrator_orchestrator__",
    ]
    .iter()
    .find_map(|prefix| tool.strip_prefix(prefix))
    .filter(|name| !name.is_empty())
}
