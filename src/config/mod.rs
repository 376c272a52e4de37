//! Configuration: built-in defaults, then `orchestrator.toml` at the project root, then
//! `ORCHESTRATOR_*` environment variables, then command-line flags — each layer overriding the last.
//!
//! A malformed file is an error naming the file, line, column and key. Secrets come from
//! `.secrets.json` beside it (see [`Secrets`]) and never enter [`Config`].

mod secrets;

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use secrets::{SecretValue, Secrets};

/// The config file's name at the project root.
pub const CONFIG_FILE: &str = "orchestrator.toml";

/// The secrets file's name at the project root.
pub const SECRETS_FILE: &str = ".secrets.json";

/// Environment variables that override config keys, with the key each one sets.
pub const ENV_VARS: &[(&str, &str)] = &[
    ("ORCHESTRATOR_DATA_DIR", "store.data_dir"),
    ("ORCHESTRATOR_AGENT_COMMAND", "agent.command"),
    ("ORCHESTRATOR_AGENT_MODEL", "agent.model"),
    ("ORCHESTRATOR_MAX_PARALLEL", "delegator.max_parallel"),
    ("ORCHESTRATOR_TOKEN_BUDGET", "context.token_budget"),
    ("ORCHESTRATOR_MAX_RETRIES", "supervisor.max_retries"),
    (
        "ORCHESTRATOR_STALL_TIMEOUT_SECS",
        "supervisor.stall_timeout_secs",
    ),
    ("ORCHESTRATOR_TOOLS", "mcp.tools"),
];

/// Everything configurable, with the defaults of DESIGN.md.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// About the project itself.
    pub project: ProjectConfig,
    /// Where data is kept.
    pub store: StoreConfig,
    /// The coding agent to run.
    pub agent: AgentConfig,
    /// How tasks become runs.
    pub delegator: DelegatorConfig,
    /// What each agent is given.
    pub context: ContextConfig,
    /// How documentation is gathered for the knowledge base.
    pub knowledge: KnowledgeConfig,
    /// How runs are watched.
    pub supervisor: SupervisorConfig,
    /// The MCP server.
    pub mcp: McpConfig,
    /// The permission policy and the approvals queue.
    pub policy: PolicyConfig,
    /// The checks the verifier runs.
    pub verifier: VerifierConfig,
}

/// `[project]`
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ProjectConfig {
    /// Display name; the root folder's name when unset.
    pub name: Option<String>,
}

/// `[store]`
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// The data directory (database, indexes, logs, worktrees); relative paths are taken from the
    /// project root. Unset: the platform data dir (`~/.local/share/orchestrator` on Linux).
    pub data_dir: Option<PathBuf>,
}

/// `[agent]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AgentConfig {
    /// The agent program (`claude`, or any command for the `command` adapter).
    pub command: String,
    /// The model to ask for; the agent's default when unset.
    pub model: Option<String>,
    /// Turns per run before the agent stops.
    pub max_turns: Option<u32>,
    /// Spending limit per run, in US dollars.
    pub max_budget_usd: Option<f64>,
    /// How to talk to it: `claude` (Claude Code's stream-json protocol) or `command` (any
    /// program: the prompt on stdin, or as an argument where `args` has `{prompt}`). Default:
    /// `claude` when the command's file name is `claude`, else `command`.
    pub kind: Option<AgentKind>,
    /// Extra arguments for the agent.
    pub args: Vec<String>,
    /// Extra environment variables for the agent (e.g. `ANTHROPIC_BASE_URL`). Secrets belong in
    /// `.secrets.json`, which is passed too.
    pub env: std::collections::BTreeMap<String, String>,
}

/// The adapter that runs the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AgentKind {
    /// Claude Code, headless, over stream-json with permission requests on stdio.
    Claude,
    /// Any other program: prompt in, lines out, exit code as the outcome.
    Command,
}

impl AgentConfig {
    /// The adapter this configuration calls for.
    pub fn kind(&self) -> AgentKind {
        self.kind.unwrap_or_else(|| {
            let name = std::path::Path::new(&self.command)
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if name == "claude" {
                AgentKind::Claude
            } else {
                AgentKind::Command
            }
        })
    }
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            command: "claude".into(),
            model: None,
            max_turns: None,
            max_budget_usd: None,
            kind: None,
            args: Vec::new(),
            env: std::collections::BTreeMap::new(),
        }
    }
}

/// `[delegator]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DelegatorConfig {
    /// Runs at once.
    pub max_parallel: u32,
    /// A task with more files than this is split into parts before it is delegated.
    pub max_files_per_task: u32,
}

impl Default for DelegatorConfig {
    fn default() -> Self {
        Self {
            max_parallel: 3,
            max_files_per_task: 20,
        }
    }
}

/// `[context]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ContextConfig {
    /// Tokens an agent's context may use.
    pub token_budget: u32,
    /// How much the token estimate is raised above the BPE count, so it errs high (0.1 = 10%).
    pub token_margin: f64,
    /// Documentation chunks looked up in the knowledge base for each task.
    pub docs_per_task: u32,
    /// More folders holding skill folders (`<dir>/<skill>/SKILL.md`), besides the project's
    /// `.claude/skills` and the user's `~/.claude/skills`.
    pub skill_dirs: Vec<PathBuf>,
}

impl Default for ContextConfig {
    fn default() -> Self {
        Self {
            token_budget: 150_000,
            token_margin: 0.10,
            docs_per_task: 8,
            skill_dirs: Vec::new(),
        }
    }
}

/// `[knowledge]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct KnowledgeConfig {
    /// Links followed from a website's start page.
    pub web_max_depth: u32,
    /// Pages fetched from a website at most.
    pub web_max_pages: u32,
    /// Seconds one page may take.
    pub web_timeout_secs: u64,
    /// An OpenAI-compatible embeddings API (`http://127.0.0.1:11434/v1` for a local Ollama):
    /// when set, chunks are embedded as they are indexed and searches fuse meaning with words.
    pub embeddings_url: Option<String>,
    /// The embedding model to ask for.
    pub embeddings_model: String,
    /// The name of the secret in `.secrets.json` holding the API key, if the API needs one.
    pub embeddings_key: Option<String>,
}

impl Default for KnowledgeConfig {
    fn default() -> Self {
        Self {
            web_max_depth: 3,
            web_max_pages: 200,
            web_timeout_secs: 15,
            embeddings_url: None,
            embeddings_model: "nomic-embed-text".into(),
            embeddings_key: None,
        }
    }
}

/// `[supervisor]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SupervisorConfig {
    /// Seconds between health checks of a run.
    pub monitor_interval_secs: u64,
    /// Seconds without an event before a run counts as stalled.
    pub stall_timeout_secs: u64,
    /// Seconds between periodic checkpoints.
    pub checkpoint_interval_secs: u64,
    /// Retries of a failed run before it is escalated to a person.
    pub max_retries: u32,
    /// Seconds before the first retry; each next retry waits twice as long (at most 10 minutes).
    pub retry_backoff_secs: u64,
    /// Seconds an engine's claim on a run lasts without a heartbeat; after that another engine
    /// may take the run over.
    pub lease_secs: u64,
}

impl Default for SupervisorConfig {
    fn default() -> Self {
        Self {
            monitor_interval_secs: 60,
            stall_timeout_secs: 600,
            checkpoint_interval_secs: 7200,
            max_retries: 5,
            retry_backoff_secs: 30,
            lease_secs: 120,
        }
    }
}

/// `[mcp]`
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct McpConfig {
    /// Which tools the MCP server lists.
    pub tools: ToolProfile,
}

/// `[policy]`: rules in Claude Code's syntax on top of the built-in defaults, and how a person
/// is asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyConfig {
    /// Calls to let through without asking (`Bash(npm run test:*)`, `WebFetch(domain:docs.rs)`).
    pub allow: Vec<String>,
    /// Calls to put before a person even where the defaults would allow them.
    pub escalate: Vec<String>,
    /// Calls to refuse.
    pub deny: Vec<String>,
    /// Seconds an escalated call waits for a person before it is denied.
    pub approval_timeout_secs: u64,
    /// A command run when a request starts waiting (program and arguments); it gets the request
    /// as JSON on stdin and `ORCHESTRATOR_APPROVAL_ID` in its environment.
    pub notify_command: Vec<String>,
    /// A URL that gets the request as a JSON POST when it starts waiting.
    pub notify_webhook: Option<String>,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self {
            allow: Vec::new(),
            escalate: Vec::new(),
            deny: Vec::new(),
            approval_timeout_secs: 1800,
            notify_command: Vec::new(),
            notify_webhook: None,
        }
    }
}

impl PolicyConfig {
    /// The three rule lists.
    pub fn rules(&self) -> crate::domain::RuleLists {
        crate::domain::RuleLists {
            allow: self.allow.clone(),
            escalate: self.escalate.clone(),
            deny: self.deny.clone(),
        }
    }
}

/// `[verifier]`: which checks decide that a task is done, and how they run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct VerifierConfig {
    /// The checks to run, in order: presets (`pytest`, `ruff`, `flake8`, `mypy`, `bandit`,
    /// `cargo-test`, `clippy`, `rustfmt`, `npm-test`, `eslint`, `tsc`, `go-test`, `go-vet`) or
    /// names defined under `[verifier.check.NAME]`. Empty: detected from the project.
    pub checks: Vec<String>,
    /// Seconds a check may run before it is killed and fails.
    pub timeout_secs: u64,
    /// Bytes of each output stream kept for reading findings; the rest is dropped (and said so).
    pub max_output_bytes: u64,
    /// Environment variables checks get; nothing else of the orchestrator's environment (and
    /// never a secret) reaches them.
    pub pass_env: Vec<String>,
    /// Run test suites only on the changed test files, instead of whole.
    pub scope_tests: bool,
    /// Checks defined here, or presets changed, by name.
    pub check: std::collections::BTreeMap<String, CheckConfig>,
}

impl Default for VerifierConfig {
    fn default() -> Self {
        Self {
            checks: Vec::new(),
            timeout_secs: 600,
            max_output_bytes: 8 * 1024 * 1024,
            pass_env: [
                "PATH",
                "HOME",
                "USER",
                "LANG",
                "LC_ALL",
                "TMPDIR",
                "CARGO_HOME",
                "RUSTUP_HOME",
                "CARGO_TARGET_DIR",
                "GOPATH",
                "GOCACHE",
                "GOMODCACHE",
                "VIRTUAL_ENV",
                "NODE_PATH",
            ]
            .map(str::to_owned)
            .to_vec(),
            scope_tests: false,
            check: std::collections::BTreeMap::new(),
        }
    }
}

/// `[verifier.check.NAME]`: a custom check, or a preset changed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CheckConfig {
    /// The program and its arguments (`["make", "check"]`). Empty: the preset's.
    pub command: Vec<String>,
    /// How to read its output (a preset's format, e.g. `ruff`); default: the preset's, else
    /// none (the exit code decides).
    pub format: Option<crate::verifier::checks::OutputFormat>,
    /// File extensions it may be given instead of its whole-tree targets when the changed files
    /// are known (`["py"]`).
    pub accepts: Option<Vec<String>>,
    /// Its own time limit in seconds.
    pub timeout_secs: Option<u64>,
}

/// Which MCP tools are exposed: tool lists cost the client's context on every turn.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum ToolProfile {
    /// The dozen tools of DESIGN.md's default profile.
    #[default]
    Core,
    /// Every tool, including the fine-grained ones.
    All,
}

/// A configuration that could not be read; the message names where and what to change.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file is not valid TOML or has a wrong key or value.
    #[error("{file}:{line}:{column}: {}{message}", key.as_ref().map(|k| format!("`{k}`: ")).unwrap_or_default())]
    File {
        /// The file.
        file: PathBuf,
        /// Line, from 1.
        line: usize,
        /// Column, from 1.
        column: usize,
        /// The dotted key at fault, when known.
        key: Option<String>,
        /// What is wrong and what is expected.
        message: String,
    },
    /// An `ORCHESTRATOR_*` variable has a value the key does not accept.
    #[error("environment variable {var} (sets `{key}`): {message}")]
    Env {
        /// The variable.
        var: String,
        /// The key it sets.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// `.secrets.json` is malformed; the message never quotes the file's content.
    #[error("{file}:{line}:{column}: {message}")]
    Secrets {
        /// The file.
        file: PathBuf,
        /// Line, from 1.
        line: usize,
        /// Column, from 1.
        column: usize,
        /// What is wrong, without the file's content.
        message: String,
    },
    /// A file exists but cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// No data directory was configured and the platform has none.
    #[error(
        "no data directory: set ORCHESTRATOR_DATA_DIR or `store.data_dir` in orchestrator.toml"
    )]
    NoDataDir,
}

/// Overrides given on the command line, applied last.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--tools`.
    pub tools: Option<ToolProfile>,
}

/// The configuration in force for one project, with where it came from.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The project root.
    pub root: PathBuf,
    /// The merged configuration.
    pub config: Config,
    /// The config file read, if there was one.
    pub source: Option<PathBuf>,
    /// Secrets from `.secrets.json` (empty when there is none).
    pub secrets: Secrets,
    /// Things the user should fix that do not stop the program (a world-readable secrets file, …).
    pub warnings: Vec<String>,
}

impl Settings {
    /// The defaults for a project root, with no config file and no secrets (an engine opened
    /// over a bare store).
    pub fn for_root(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            config: Config::default(),
            source: None,
            secrets: Secrets::default(),
            warnings: Vec::new(),
        }
    }

    /// Reads the configuration of the project at `root`, with `env` as the environment.
    pub fn load(
        root: &Path,
        env: &dyn Fn(&str) -> Option<String>,
        overrides: &Overrides,
    ) -> Result<Self, ConfigError> {
        let file = root.join(CONFIG_FILE);
        let (mut config, source) = match std::fs::read_to_string(&file) {
            Ok(text) => (parse_config(&text, &file)?, Some(file)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Config::default(), None),
            Err(source) => return Err(ConfigError::Read { path: file, source }),
        };
        apply_env(&mut config, env)?;
        if let Some(dir) = &overrides.data_dir {
            config.store.data_dir = Some(dir.clone());
        }
        if let Some(tools) = overrides.tools {
            config.mcp.tools = tools;
        }
        let (secrets, warnings) = Secrets::load(root)?;
        Ok(Self {
            root: root.to_path_buf(),
            config,
            source,
            secrets,
            warnings,
        })
    }

    /// The data directory: configured (relative to the root), else the platform's.
    pub fn data_dir(&self) -> Result<PathBuf, ConfigError> {
        match &self.config.store.data_dir {
            Some(dir) => Ok(self.root.join(dir)),
            None => dirs::data_dir()
                .map(|d| d.join("orchestrator"))
                .ok_or(ConfigError::NoDataDir),
        }
    }

    /// The database file inside the data directory.
    pub fn database_path(&self) -> Result<PathBuf, ConfigError> {
        Ok(self.data_dir()?.join("orchestrator.db"))
    }

    /// The project's display name.
    pub fn project_name(&self) -> String {
        self.config.project.name.clone().unwrap_or_else(|| {
            self.root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "project".into())
        })
    }
}

/// Parses the text of a config file; errors carry the file, line, column and key.
pub fn parse_config(text: &str, file: &Path) -> Result<Config, ConfigError> {
    let error = |span: Option<std::ops::Range<usize>>, key: Option<String>, message: String| {
        let (line, column) = span.map(|s| line_column(text, s.start)).unwrap_or((1, 1));
        ConfigError::File {
            file: file.to_path_buf(),
            line,
            column,
            key,
            message,
        }
    };
    let deserializer = toml::Deserializer::parse(text)
        .map_err(|e| error(e.span(), None, e.message().to_string()))?;
    let config: Config = serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.into_inner();
        error(
            inner.span(),
            (key != ".").then_some(key),
            inner.message().to_string(),
        )
    })?;
    check_rules(&config, text, file)?;
    Ok(config)
}

/// A bad permission rule is a config error naming the rule, its key and its line.
fn check_rules(config: &Config, text: &str, file: &Path) -> Result<(), ConfigError> {
    if let Some((key, problem)) = crate::policy::rules::problems(&config.policy.rules())
        .into_iter()
        .next()
    {
        let at = text
            .find(&format!("\"{}\"", problem.rule))
            .or_else(|| text.find(&format!("'{}'", problem.rule)))
            .unwrap_or(0);
        let (line, column) = line_column(text, at);
        return Err(ConfigError::File {
            file: file.to_path_buf(),
            line,
            column,
            key: Some(format!("policy.{key}")),
            message: problem.to_string(),
        });
    }
    if let Some(first) = config.policy.notify_command.first()
        && first.trim().is_empty()
    {
        return Err(ConfigError::File {
            file: file.to_path_buf(),
            line: 1,
            column: 1,
            key: Some("policy.notify_command".into()),
            message: "the first element must name a program".into(),
        });
    }
    Ok(())
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Applies `ORCHESTRATOR_*` overrides by setting each key in the TOML form of `config` and
/// decoding it again, so a variable is checked exactly as the same key in the file would be.
fn apply_env(config: &mut Config, env: &dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
    for (var, key) in ENV_VARS {
        let Some(raw) = env(var) else { continue };
        let env_error = |message: String| ConfigError::Env {
            var: var.to_string(),
            key: key.to_string(),
            message,
        };
        let mut value = toml::Value::try_from(&*config).map_err(|e| env_error(e.to_string()))?;
        let (section, field) = key.split_once('.').unwrap_or(("", key));
        let table = value
            .get_mut(section)
            .and_then(toml::Value::as_table_mut)
            .ok_or_else(|| env_error("unknown section".into()))?;
        table.insert(field.to_string(), scalar(&raw));
        *config = Config::deserialize(value).map_err(|e| env_error(e.message().to_string()))?;
    }
    Ok(())
}

/// A variable's text as the TOML scalar it spells (integer, float, boolean), else a string.
fn scalar(raw: &str) -> toml::Value {
    let raw = raw.trim();
    if let Ok(n) = raw.parse::<i64>() {
        toml::Value::Integer(n)
    } else if let Ok(x) = raw.parse::<f64>() {
        toml::Value::Float(x)
    } else if let Ok(b) = raw.parse::<bool>() {
        toml::Value::Boolean(b)
    } else {
        toml::Value::String(raw.to_string())
    }
}

/// The project root for a working directory: the nearest folder upward holding
/// `orchestrator.toml`, else the nearest holding `.git`, else `cwd` itself.
pub fn find_project_root(cwd: &Path) -> PathBuf {
    let has = |name: &str| {
        cwd.ancestors()
            .find(|dir| dir.join(name).exists())
            .map(Path::to_path_buf)
    };
    has(CONFIG_FILE)
        .or_else(|| has(".git"))
        .unwrap_or_else(|| cwd.to_path_buf())
}

/// The commented `orchestrator.toml` that `orchestrator init` writes.
pub fn template() -> String {
    include_str!("template.toml").to_string()
}

/// Writes the commented default `orchestrator.toml` at `root` and returns its path. An existing
/// file is kept unless `force`.
pub fn write_template(root: &Path, force: bool) -> Result<PathBuf, crate::Error> {
    let file = root.join(CONFIG_FILE);
    if file.exists() && !force {
        return Err(crate::Error::Invalid(format!(
            "{} already exists: edit it, or pass --force to replace it with the defaults",
            file.display()
        )));
    }
    std::fs::write(&file, template())
        .map_err(|e| crate::Error::io(format!("cannot write {}", file.display()), e))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn defaults_follow_design() {
        let config = Config::default();
        assert_eq!(config.delegator.max_parallel, 3);
        assert_eq!(config.context.token_budget, 150_000);
        assert_eq!(config.supervisor.max_retries, 5);
        assert_eq!(config.supervisor.monitor_interval_secs, 60);
        assert_eq!(config.supervisor.checkpoint_interval_secs, 2 * 3600);
        assert_eq!(config.mcp.tools, ToolProfile::Core);
    }

    #[test]
    fn template_parses_to_the_defaults() {
        assert_eq!(
            parse_config(&template(), Path::new("t.toml")).unwrap(),
            Config::default()
        );
    }

    #[test]
    fn wrong_type_names_file_line_and_key() {
        let text = "[delegator]\n# comment\nmax_parallel = \"three\"\n";
        let err = parse_config(text, Path::new("/p/orchestrator.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("/p/orchestrator.toml:3:"), "{err}");
        assert!(err.contains("`delegator.max_parallel`"), "{err}");
        assert!(err.contains("expected u32"), "{err}");
    }

    #[test]
    fn unknown_key_is_named() {
        let text = "[context]\ntoken_budget = 10\ntoken_budgte = 5\n";
        let err = parse_config(text, Path::new("o.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("o.toml:3:"), "{err}");
        assert!(err.contains("token_budgte"), "{err}");
    }

    #[test]
    fn syntax_error_names_the_line() {
        let err = parse_config("[agent]\ncommand = \n", Path::new("o.toml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("o.toml:2:"), "{err}");
    }

    #[test]
    fn env_overrides_file_and_flags_override_env() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "[delegator]\nmax_parallel = 2\n[mcp]\ntools = \"core\"\n",
        )
        .unwrap();
        let env = |var: &str| match var {
            "ORCHESTRATOR_MAX_PARALLEL" => Some("5".to_string()),
            "ORCHESTRATOR_TOOLS" => Some("all".to_string()),
            "ORCHESTRATOR_DATA_DIR" => Some("/from/env".to_string()),
            _ => None,
        };
        let overrides = Overrides {
            data_dir: Some("/from/flag".into()),
            tools: None,
        };
        let settings = Settings::load(dir.path(), &env, &overrides).unwrap();
        assert_eq!(settings.config.delegator.max_parallel, 5);
        assert_eq!(settings.config.mcp.tools, ToolProfile::All);
        assert_eq!(settings.data_dir().unwrap(), PathBuf::from("/from/flag"));
        assert_eq!(settings.source, Some(dir.path().join(CONFIG_FILE)));
    }

    #[test]
    fn bad_env_value_names_the_variable() {
        let dir = tempfile::tempdir().unwrap();
        let env = |var: &str| (var == "ORCHESTRATOR_TOKEN_BUDGET").then(|| "lots".to_string());
        let err = Settings::load(dir.path(), &env, &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("ORCHESTRATOR_TOKEN_BUDGET") && err.contains("context.token_budget"),
            "{err}"
        );
    }

    #[test]
    fn relative_data_dir_is_taken_from_the_root() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(CONFIG_FILE),
            "[store]\ndata_dir = \".orch\"\n",
        )
        .unwrap();
        let settings = Settings::load(dir.path(), &no_env, &Overrides::default()).unwrap();
        assert_eq!(settings.data_dir().unwrap(), dir.path().join(".orch"));
    }

    #[test]
    fn project_root_is_found_upward() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        std::fs::create_dir_all(&nested).unwrap();
        assert_eq!(
            find_project_root(&nested),
            nested,
            "no marker: the folder itself"
        );
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        assert_eq!(find_project_root(&nested), dir.path());
        std::fs::write(dir.path().join("a").join(CONFIG_FILE), "").unwrap();
        assert_eq!(find_project_root(&nested), dir.path().join("a"));
    }
}
