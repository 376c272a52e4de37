//! The command line: parse, call the [`Orchestrator`], render. Exit codes: 0 ok, 1 failure,
//! 2 usage error.

/// `print!` for the command's output. A reader that went away (`orchestrator runs events 1 |
/// head -1`) ends the command cleanly, with exit code 0, instead of a panic.
macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::write_out(format_args!($($arg)*)) };
}

/// `println!` for the command's output; see [`out!`].
macro_rules! outln {
    () => { $crate::cli::write_out(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::cli::write_out(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `eprint!` for progress, warnings and errors: a closed stderr loses them, nothing more.
macro_rules! err {
    ($($arg:tt)*) => { $crate::cli::write_err(format_args!($($arg)*)) };
}

/// `eprintln!`; see [`err!`].
macro_rules! errln {
    ($($arg:tt)*) => { $crate::cli::write_err(format_args!("{}\n", format_args!($($arg)*))) };
}

mod delegation;
mod interview;
mod knowledge;
mod render;

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::Orchestrator;
use crate::agent::shell_quote;
use crate::config::{self, Overrides, Settings, ToolProfile};
use crate::domain::RunStatus;
use crate::domain::{
    ApprovalId, ApprovalStatus, DraftSource, PlanId, RejectedAlternative, RunId, SessionId,
};
use crate::mcp::{self, HttpOptions};
use crate::orchestrator::{DecisionRecorded, DecisionTarget, RunAction, VerifyOptions};
use crate::planner::NewDecision;
use crate::policy::{HumanAnswer, ToolRequest};
use crate::store::ApprovalFilter;
use interview::{DraftChoice, InterviewOptions};

/// Runs AI coding agents through multi-step projects: plan, delegate, supervise, verify.
#[derive(Debug, Parser)]
#[command(name = "orchestrator", version)]
pub struct Cli {
    /// The project root. Default: the nearest folder upward with orchestrator.toml, else with
    /// .git, else the current folder.
    #[arg(long, global = true, value_name = "DIR")]
    project: Option<PathBuf>,
    /// Where the database and other data live (overrides ORCHESTRATOR_DATA_DIR and the config).
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve MCP: on stdin/stdout (what Claude Code starts), or over HTTP with --http.
    Serve {
        /// Serve streamable HTTP at this address instead of stdio, e.g. 127.0.0.1:8765 (the
        /// endpoint is /mcp). Port 0 picks a free port; the URL is printed on stderr.
        #[arg(long, value_name = "ADDR")]
        http: Option<SocketAddr>,
        /// Which tools to list: core (the default dozen) or all (adds fine-grained tools).
        #[arg(long, value_enum)]
        tools: Option<ToolProfile>,
        /// Allow --http on an address other hosts can reach. The server has no authentication yet.
        #[arg(long)]
        allow_remote: bool,
        /// Also serve the web dashboard at this address, e.g. 127.0.0.1:8788 (port 0 picks one;
        /// the URL is printed on stderr).
        #[arg(long, value_name = "ADDR")]
        dashboard: Option<SocketAddr>,
        /// The dashboard's token (required off loopback; made up and printed when not given).
        #[arg(
            long,
            value_name = "TOKEN",
            env = "ORCHESTRATOR_DASHBOARD_TOKEN",
            hide_env_values = true
        )]
        dashboard_token: Option<String>,
    },
    /// Serve the web dashboard: plans, runs with their live events, the approvals queue, locks,
    /// knowledge. Loopback by default; any other address needs a token.
    Dashboard {
        /// Where to listen (port 0 picks a free port; the URL is printed on stderr).
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8788")]
        addr: SocketAddr,
        /// The token every request must carry (required off loopback; made up and printed when
        /// not given).
        #[arg(
            long,
            value_name = "TOKEN",
            env = "ORCHESTRATOR_DASHBOARD_TOKEN",
            hide_env_values = true
        )]
        token: Option<String>,
    },
    /// Write a commented orchestrator.toml here and print how to register the server in Claude Code.
    Init {
        /// Overwrite an existing orchestrator.toml.
        #[arg(long)]
        force: bool,
    },
    /// Plan work (a requirements interview that ends in an approved plan), read plans and their
    /// versions, compare versions, roll back, record decisions.
    Plan {
        #[command(subcommand)]
        command: PlanCommand,
    },
    /// List the tool calls waiting for a person (the approvals queue), or all of them.
    Approvals {
        /// Every request, answered or not (newest first), instead of only the waiting ones.
        #[arg(long)]
        all: bool,
        /// Only this run's requests.
        #[arg(long, value_name = "RUN_ID")]
        run: Option<RunId>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Approve a waiting tool call; the agent goes on.
    Approve {
        /// The request's id (from `orchestrator approvals`).
        id: ApprovalId,
        /// Also approve the same calls (the exact commands, files or domains) for the rest of
        /// this run without asking.
        #[arg(long)]
        always: bool,
        /// A note kept with the answer.
        #[arg(long)]
        reason: Option<String>,
        /// Who answers (default: $USER).
        #[arg(long, value_name = "NAME")]
        by: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Deny a waiting tool call; the agent is told the reason and goes on without it.
    Deny {
        /// The request's id (from `orchestrator approvals`).
        id: ApprovalId,
        /// Why: the agent reads it, so say what to do instead.
        #[arg(long, required = true)]
        reason: String,
        /// Who answers (default: $USER).
        #[arg(long, value_name = "NAME")]
        by: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run the project's checks (tests, lint, types, security) independently and report; exit
    /// code 0 only when every check passed.
    Verify {
        /// Only these checks (comma-separated): presets such as pytest, ruff, mypy, bandit,
        /// cargo-test, clippy, rustfmt, or names from [verifier.check.*]. Default: configured or
        /// detected.
        #[arg(long, value_delimiter = ',', value_name = "NAMES")]
        checks: Option<Vec<String>>,
        /// The changed files: linters and type checkers that take file lists run only on these.
        #[arg(long, num_args = 1.., value_name = "FILE")]
        files: Option<Vec<String>>,
        /// Also compare with this commit for tampering (tests deleted or skipped, fewer tests,
        /// check configuration edited).
        #[arg(long, value_name = "REV")]
        base: Option<String>,
        /// Verify a run's worktree (its base commit is compared with, its task's files exempt).
        #[arg(long, value_name = "RUN_ID")]
        run: Option<RunId>,
        /// Print the report as JSON (no progress display).
        #[arg(long)]
        json: bool,
    },
    /// Run one task of an approved plan with the configured agent, supervised: permission
    /// requests answered by the policy (or a person), stalls restarted, failures retried, the
    /// work verified. Shows what the agent does as it goes; Ctrl-C stops it cleanly (resume
    /// with `orchestrator runs recover`). Exit code 0 when the run completed.
    RunTask {
        /// The plan.
        plan: PlanId,
        /// The task's key in the plan (`T1`).
        task: String,
        /// Print the final run as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run an approved plan: tasks in dependency order, in parallel where their files do not
    /// overlap, each in its own worktree, verified and merged in turn. A live display shows each
    /// running task; Ctrl-C stops cleanly and running the command again resumes. Exit code 0
    /// when every task completed.
    Run {
        /// The plan.
        plan: PlanId,
        /// Print the final report as JSON (no live display).
        #[arg(long)]
        json: bool,
    },
    /// Runs: list, show, read events; retry, resume or cancel an escalated run; recover runs
    /// whose orchestrator died.
    Runs {
        #[command(subcommand)]
        command: RunsCommand,
    },
    /// Answer a Claude Code hook with the orchestrator's policy. Claude Code runs it with the
    /// hook's JSON on stdin; the supervisor installs it for every run, and it can guard your own
    /// interactive session too.
    Hook {
        #[command(subcommand)]
        command: HookCommand,
    },
    /// The permission policy: explain its verdict on a command, or read its audit log.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Show the prompt an agent would get for a task: the context builder's output, with what
    /// it included and dropped (on stderr) under the budget.
    Context {
        /// The plan.
        plan: PlanId,
        /// The task's key in the plan (`T1`).
        task: String,
        /// Use this version of the plan instead of the current one.
        #[arg(long, value_name = "N")]
        version: Option<u32>,
        /// A token budget instead of the configured one (`[context] token_budget`).
        #[arg(long, value_name = "TOKENS")]
        budget: Option<u32>,
        /// Print JSON: the prompt, the estimate and every item included or dropped.
        #[arg(long)]
        json: bool,
    },
    /// The knowledge base: documentation folders and websites, indexed for search; agents get
    /// the best excerpts for their task.
    Kb {
        #[command(subcommand)]
        command: knowledge::KbCommand,
    },
    /// The skills (SKILL.md) found for this project; `skills show NAME` for one.
    Skills {
        #[command(subcommand)]
        command: Option<knowledge::SkillsCommand>,
    },
    /// File locks: the ones in force (who holds them, until when), every lease with --all;
    /// release one by hand with a reason.
    Locks {
        #[command(subcommand)]
        command: Option<delegation::LocksCommand>,
    },
    /// Show the project, the store and what it holds.
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// How an interview runs (`plan new`, `plan resume`).
#[derive(Debug, clap::Args)]
struct InterviewArgs {
    /// Answer from this file instead of the terminal: a JSON (or .toml) object of topic → answer,
    /// or topic → [answer, follow-up answers…]. Pre-filled questions it leaves out are confirmed.
    #[arg(long, value_name = "FILE")]
    answers: Option<PathBuf>,
    /// Where the draft comes from: the configured agent (falls back to the skeleton when it
    /// cannot answer), or the offline skeleton built from the answers.
    #[arg(long, value_enum, default_value = "agent")]
    draft: DraftChoice,
    /// Submit this draft (JSON, the plan_submit schema) instead of drafting one.
    #[arg(long, value_name = "FILE")]
    draft_file: Option<PathBuf>,
    /// Approve the draft once it validates, without asking.
    #[arg(long)]
    approve: bool,
    /// The plan's title (default: the goal's first sentence).
    #[arg(long)]
    title: Option<String>,
}

impl From<InterviewArgs> for InterviewOptions {
    fn from(args: InterviewArgs) -> Self {
        Self {
            answers: args.answers,
            draft: args.draft,
            draft_file: args.draft_file,
            approve: args.approve,
            title: args.title,
        }
    }
}

#[derive(Debug, Subcommand)]
enum RunsCommand {
    /// This project's runs: id, status, task, attempt, agent.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// One run: status, checkpoints, newest events, approvals waiting.
    Show {
        /// The run.
        id: RunId,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// A run's event log.
    Events {
        /// The run.
        id: RunId,
        /// Only events after this sequence number.
        #[arg(long, default_value_t = 0)]
        after: u64,
        /// At most this many.
        #[arg(long, default_value_t = 1000)]
        limit: u32,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Start an escalated (or failed) run again with a fresh count of attempts, and supervise it.
    Retry {
        /// The run.
        id: RunId,
    },
    /// Continue an escalated run's agent session where it stopped, and supervise it.
    Resume {
        /// The run.
        id: RunId,
    },
    /// Stop a run for good.
    Cancel {
        /// The run.
        id: RunId,
    },
    /// Supervise again every run whose orchestrator died while it was in flight (resumed from
    /// its agent session); waits until they end.
    Recover,
}

#[derive(Debug, Subcommand)]
enum HookCommand {
    /// PreToolUse: deny what the policy refuses (reads of secret files included, which Claude
    /// Code never asks about), ask a person where it escalates, allow what it allows. Within
    /// a run (--run) an allowed call goes on to the supervisor's own permission prompt.
    PreToolUse {
        /// Judge as in this run (its worktree, task files and rules).
        #[arg(long, value_name = "RUN_ID")]
        run: Option<RunId>,
    },
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// How the policy answers a call: the verdict, the reason, every simple command found and
    /// the rule or default that decided each. Exit code 0 whatever the verdict.
    ///
    /// Examples: `orchestrator policy check -- rm -rf build`,
    /// `orchestrator policy check --tool Edit --input '{"file_path": "src/a.rs"}'`.
    Check {
        /// The tool (default Bash, with the command after `--`).
        #[arg(long, value_name = "NAME")]
        tool: Option<String>,
        /// The tool's input as JSON (for tools other than Bash).
        #[arg(long, value_name = "JSON")]
        input: Option<String>,
        /// Judge as in this run (its worktree, task files and rules, rules granted for it).
        #[arg(long, value_name = "RUN_ID")]
        run: Option<RunId>,
        /// The task's declared files (globs), to judge edits as a task would; default: the
        /// whole project is editable.
        #[arg(long = "files", value_name = "GLOB", num_args = 1..)]
        files: Vec<String>,
        /// Print JSON: `{"verdict", "reason", "rule", "findings": [...]}`.
        #[arg(long)]
        json: bool,
        /// The shell command: one word is a whole command line (`-- 'ls | wc -l'`), several
        /// are the words of one command, taken as your shell passed them.
        #[arg(last = true, value_name = "COMMAND")]
        command: Vec<String>,
    },
    /// The audit log: every permission decision, automatic or human, newest first.
    Audit {
        /// Only this run's decisions.
        #[arg(long, value_name = "RUN_ID")]
        run: Option<RunId>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum PlanCommand {
    /// Plan a goal: analyse the project, ask the questions one at a time, draft, review, approve.
    New {
        /// What you want built, in a sentence or two.
        goal: String,
        #[command(flatten)]
        interview: InterviewArgs,
    },
    /// Continue a planning session where it stopped.
    Resume {
        /// The session's id (`orchestrator plan sessions` lists them).
        id: SessionId,
        #[command(flatten)]
        interview: InterviewArgs,
    },
    /// List this project's planning sessions, newest first.
    Sessions {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show a planning session: answers, open questions, the newest draft.
    Session {
        /// The session's id.
        id: SessionId,
        /// Print JSON instead of text (the newest draft is under `draft.content`).
        #[arg(long)]
        json: bool,
    },
    /// Submit a draft plan for a session from a JSON file; it is validated and, if valid, reviewed.
    Submit {
        /// The session's id.
        id: SessionId,
        /// The draft (JSON, the plan_submit schema).
        file: PathBuf,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Approve a session's reviewed draft: it becomes version 1 of a plan.
    Approve {
        /// The session's id.
        id: SessionId,
        /// The plan's title (default: the goal's first sentence).
        #[arg(long)]
        title: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Record a decision on a plan (a new version) or on a session's draft.
    Decide {
        /// The approved plan to record it on.
        #[arg(
            long,
            value_name = "ID",
            conflicts_with = "session",
            required_unless_present = "session"
        )]
        plan: Option<PlanId>,
        /// The session whose draft gets it.
        #[arg(long, value_name = "ID")]
        session: Option<SessionId>,
        /// What was decided.
        #[arg(long)]
        what: String,
        /// Why.
        #[arg(long)]
        why: String,
        /// An alternative not taken, as "option: reason" (repeatable).
        #[arg(long, value_name = "OPTION: REASON")]
        rejected: Vec<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Give a planning session up (it stays readable).
    Abandon {
        /// The session's id.
        id: SessionId,
    },
    /// List this project's plans, newest first.
    List {
        /// Include every project's plans.
        #[arg(long)]
        all: bool,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show a plan: goal, phases, tasks with their status, decisions, versions.
    Show {
        /// The plan's id.
        id: PlanId,
        /// Show this version instead of the current one.
        #[arg(long, value_name = "N")]
        version: Option<u32>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show what changed between two versions of a plan.
    Diff {
        /// The plan's id.
        id: PlanId,
        /// The older version.
        from: u32,
        /// The newer version.
        to: u32,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Make version N current again, as a new version (history is kept).
    Rollback {
        /// The plan's id.
        id: PlanId,
        /// The version to restore.
        to: u32,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// The binary's entry point.
pub fn main() -> ExitCode {
    // clap exits with 2 on a usage error and 0 for --help/--version.
    let cli = Cli::parse();
    let serving = matches!(
        cli.command,
        Command::Serve { .. } | Command::Dashboard { .. }
    );
    init_logging(if serving { "info" } else { "warn" });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            errln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<ChecksFailed>().is_some() => ExitCode::FAILURE,
        Err(e) => {
            errln!("error: {e:#}");
            if e.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// Writes the command's output to stdout. When the reader has gone (a closed pipe), the command
/// has nothing left to do: exit 0 at once. Any other write error is reported and exits 1.
fn write_out(args: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_fmt(args) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => {
            write_err(format_args!("error: cannot write the output: {e}\n"));
            std::process::exit(1);
        }
    }
}

/// Writes to stderr, ignoring a failure: diagnostics must never end a command.
fn write_err(args: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let _ = std::io::stderr().lock().write_fmt(args);
}

fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // stderr only: in stdio mode stdout carries the MCP protocol.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let root = project_root(cli.project.as_deref())?;
    if let Command::Init { force } = cli.command {
        return init(&root, force);
    }
    let tools = match &cli.command {
        Command::Serve { tools, .. } => *tools,
        _ => None,
    };
    let overrides = Overrides {
        data_dir: cli.data_dir.clone(),
        tools,
    };
    let settings = Settings::load(&root, &|var| std::env::var(var).ok(), &overrides)?;
    for warning in &settings.warnings {
        errln!("warning: {warning}");
    }
    let profile = settings.config.mcp.tools;
    if let Command::Serve {
        http: None,
        dashboard,
        dashboard_token,
        ..
    } = cli.command
    {
        return serve_stdio(settings, dashboard, dashboard_token).await;
    }
    let orchestrator = Orchestrator::open(settings).await?;

    match cli.command {
        Command::Init { .. } => unreachable!("handled above"),
        Command::Dashboard { addr, token } => {
            let shutdown = CancellationToken::new();
            tokio::spawn(cancel_on_signal(shutdown.clone()));
            crate::web::serve_dashboard(
                orchestrator,
                crate::web::DashboardOptions { addr, token },
                shutdown,
            )
            .await
        }
        Command::Serve { http: None, .. } => unreachable!("served above"),
        Command::Serve {
            http: Some(addr),
            allow_remote,
            dashboard,
            dashboard_token,
            ..
        } => {
            let shutdown = CancellationToken::new();
            tokio::spawn(cancel_on_signal(shutdown.clone()));
            if let Some(addr) = dashboard {
                spawn_dashboard(&orchestrator, addr, dashboard_token, &shutdown);
            }
            mcp::serve_http(
                orchestrator,
                HttpOptions {
                    addr,
                    allow_remote,
                    profile,
                },
                shutdown,
            )
            .await
        }
        Command::Status { json } => {
            let report = orchestrator.status().await?;
            print(json, &report, render::status)
        }
        Command::Plan { command } => plan(&orchestrator, command).await,
        Command::Approvals {
            all,
            run,
            limit,
            json,
        } => {
            let filter = ApprovalFilter {
                status: (!all).then_some(ApprovalStatus::Pending),
                run_id: run,
                limit: Some(limit),
                project_id: None,
                plan_id: None,
            };
            let requests = orchestrator.approvals(filter).await?;
            print(json, &requests, |r| render::approvals(r, all))
        }
        Command::Approve {
            id,
            always,
            reason,
            by,
            json,
        } => {
            let answer = if always {
                HumanAnswer::ApproveAlways
            } else {
                HumanAnswer::Approve
            };
            let request = orchestrator
                .answer_approval(id, answer, &who(by), reason.as_deref())
                .await?;
            print(json, &request, render::approval_answered)
        }
        Command::Deny {
            id,
            reason,
            by,
            json,
        } => {
            let request = orchestrator
                .answer_approval(id, HumanAnswer::Deny, &who(by), Some(&reason))
                .await?;
            print(json, &request, render::approval_answered)
        }
        Command::Policy { command } => policy(&orchestrator, command).await,
        Command::Hook {
            command: HookCommand::PreToolUse { run },
        } => {
            // Unreadable input is no reason to fail: a failing hook lets the call through.
            let mut input = String::new();
            let request = std::io::Read::read_to_string(&mut std::io::stdin(), &mut input)
                .ok()
                .and_then(|_| hook_request(&input));
            if let Some(answer) =
                render::hook_answer(&orchestrator.pre_tool_use(request, run).await)
            {
                outln!("{answer}");
            }
            Ok(())
        }
        Command::RunTask { plan, task, json } => {
            let run = orchestrator.create_task_run(plan, &task).await?;
            errln!("run {} of task {task} (plan {plan})", run.id);
            finish_run(&orchestrator, run.id, json).await
        }
        Command::Runs { command } => runs(&orchestrator, command).await,
        Command::Context {
            plan,
            task,
            version,
            budget,
            json,
        } => knowledge::context(&orchestrator, plan, &task, version, budget, json).await,
        Command::Kb { command } => knowledge::kb(&orchestrator, command).await,
        Command::Locks { command } => delegation::locks(&orchestrator, command).await,
        Command::Run { plan, json } => delegation::run_plan(&orchestrator, plan, json).await,
        Command::Skills { command } => knowledge::skills(&orchestrator, command),
        Command::Verify {
            checks,
            files,
            base,
            run,
            json,
        } => {
            let options = VerifyOptions {
                run,
                checks,
                files,
                base,
            };
            let live = render::VerifyProgress::new(!json);
            let report = orchestrator
                .verify(options, &|event| live.show(&event))
                .await?;
            print(json, &report, render::verification)?;
            if report.passed {
                Ok(())
            } else {
                Err(ChecksFailed.into())
            }
        }
    }
}

/// Serves the dashboard beside the MCP server, until `stop`.
/// MCP on stdin/stdout. A client waits for the answer to `initialize`, which does not need the
/// store: it opens after the handshake — unless the dashboard, which needs it at once, is served
/// beside it.
async fn serve_stdio(
    settings: Settings,
    dashboard: Option<SocketAddr>,
    token: Option<String>,
) -> anyhow::Result<()> {
    let profile = settings.config.mcp.tools;
    let Some(addr) = dashboard else {
        return mcp::serve_stdio_opening(Orchestrator::open(settings), profile).await;
    };
    let orchestrator = Orchestrator::open(settings).await?;
    let shutdown = CancellationToken::new();
    spawn_dashboard(&orchestrator, addr, token, &shutdown);
    let result = mcp::serve_stdio(orchestrator, profile).await;
    shutdown.cancel();
    result
}

fn spawn_dashboard(
    engine: &Orchestrator,
    addr: SocketAddr,
    token: Option<String>,
    stop: &CancellationToken,
) {
    let (engine, stop) = (engine.clone(), stop.clone());
    tokio::spawn(async move {
        if let Err(e) =
            crate::web::serve_dashboard(engine, crate::web::DashboardOptions { addr, token }, stop)
                .await
        {
            errln!("error: the dashboard stopped: {e:#}");
        }
    });
}

/// Supervises a run in the foreground with the live display; Ctrl-C stops it cleanly.
async fn finish_run(orchestrator: &Orchestrator, id: RunId, json: bool) -> anyhow::Result<()> {
    let stop = CancellationToken::new();
    tokio::spawn(cancel_on_signal(stop.clone()));
    let live = render::RunProgress::new(!json);
    let run = orchestrator
        .supervise_run(id, stop, &|event| live.show(event))
        .await?;
    print(json, &run, render::run_line)?;
    if run.status == RunStatus::Completed {
        Ok(())
    } else {
        Err(ChecksFailed.into())
    }
}

async fn runs(orchestrator: &Orchestrator, command: RunsCommand) -> anyhow::Result<()> {
    match command {
        RunsCommand::List { json } => {
            let runs = orchestrator.runs(Vec::new()).await?;
            print(json, &runs, render::run_list)
        }
        RunsCommand::Show { id, json } => {
            let view = orchestrator.run_view(id).await?;
            print(json, &view, render::run_view)
        }
        RunsCommand::Events {
            id,
            after,
            limit,
            json,
        } => {
            let events = orchestrator.run_events(id, after, limit).await?;
            print(json, &events, |events| {
                events.iter().map(render::logged_event).collect()
            })
        }
        RunsCommand::Retry { id } => {
            orchestrator.control_run(id, RunAction::Retry).await?;
            finish_run(orchestrator, id, false).await
        }
        RunsCommand::Resume { id } => {
            orchestrator.control_run(id, RunAction::Resume).await?;
            finish_run(orchestrator, id, false).await
        }
        RunsCommand::Cancel { id } => {
            let run = orchestrator.control_run(id, RunAction::Cancel).await?;
            print(false, &run, render::run_line)
        }
        RunsCommand::Recover => {
            let stop = CancellationToken::new();
            tokio::spawn(cancel_on_signal(stop.clone()));
            for id in orchestrator.tidy_ended_runs().await? {
                errln!("run {id} had ended: its worktree and branch are removed");
            }
            let orphans = orchestrator.orphans().await?;
            if orphans.is_empty() {
                outln!("No run needs recovering.");
                return Ok(());
            }
            let live = render::RunProgress::new(true);
            let mut failed = false;
            for id in orphans {
                errln!("recovering run {id}");
                let run = orchestrator
                    .supervise_run(id, stop.clone(), &|event| live.show(event))
                    .await?;
                out!("{}", render::run_line(&run));
                failed |= run.status != RunStatus::Completed;
            }
            if failed {
                Err(ChecksFailed.into())
            } else {
                Ok(())
            }
        }
    }
}

/// Who answers from this terminal.
fn who(by: Option<String>) -> String {
    by.filter(|b| !b.trim().is_empty())
        .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "cli".into())
}

/// The tool call in a PreToolUse hook's input (`tool_name`, `tool_input`).
fn hook_request(input: &str) -> Option<ToolRequest> {
    let hook: serde_json::Value = serde_json::from_str(input).ok()?;
    Some(ToolRequest {
        tool_name: hook.get("tool_name")?.as_str()?.to_owned(),
        input: hook.get("tool_input").cloned().unwrap_or_default(),
    })
}

async fn policy(orchestrator: &Orchestrator, command: PolicyCommand) -> anyhow::Result<()> {
    match command {
        PolicyCommand::Check {
            tool,
            input,
            run,
            files,
            json,
            command,
        } => {
            let request = match (tool.as_deref(), input, command.is_empty()) {
                (None | Some("Bash"), None, false) => ToolRequest::bash(&command_line(&command)),
                (Some(tool), Some(input), true) => {
                    let input: serde_json::Value = serde_json::from_str(&input)
                        .map_err(|e| UsageError(format!("--input is not valid JSON: {e}")))?;
                    if !input.is_object() {
                        return Err(UsageError(
                            "--input must be a JSON object, such as {\"file_path\": \"src/a.rs\"}"
                                .into(),
                        )
                        .into());
                    }
                    ToolRequest {
                        tool_name: tool.to_owned(),
                        input,
                    }
                }
                (Some(_), None, _) => {
                    return Err(UsageError(
                        "--tool needs --input JSON (or use `-- COMMAND` for Bash)".into(),
                    )
                    .into());
                }
                (_, Some(_), false) => {
                    return Err(UsageError(
                        "give either --tool/--input or `-- COMMAND`, not both".into(),
                    )
                    .into());
                }
                (None, Some(_), true) => {
                    return Err(UsageError("--input needs --tool NAME".into()).into());
                }
                (_, None, true) => {
                    return Err(UsageError(
                        "nothing to check: `orchestrator policy check -- COMMAND`".into(),
                    )
                    .into());
                }
            };
            let declared = (!files.is_empty()).then_some(files);
            let decision = orchestrator
                .check_permission(request, run, declared)
                .await?;
            print(json, &decision, render::decision)
        }
        PolicyCommand::Audit { run, limit, json } => {
            let entries = orchestrator.audit_log(run, limit).await?;
            print(json, &entries, render::audit)
        }
    }
}

/// The work ran and did not succeed (a verification failed, a run did not complete): exit code
/// 1, with no further message — the output said it all.
#[derive(Debug, thiserror::Error)]
#[error("not successful")]
struct ChecksFailed;

/// A mistake in how a command was called (exit code 2), found after clap's own checks.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct UsageError(String);

async fn plan(orchestrator: &Orchestrator, command: PlanCommand) -> anyhow::Result<()> {
    match command {
        PlanCommand::New { goal, interview } => {
            let options: InterviewOptions = interview.into();
            // Files that cannot be used stop the command before a session is made.
            let inputs = interview::read_inputs(&options)?;
            let view = orchestrator.start_planning_session(&goal).await?;
            interview::run(orchestrator, view, options, inputs).await
        }
        PlanCommand::Resume { id, interview } => {
            let options: InterviewOptions = interview.into();
            let inputs = interview::read_inputs(&options)?;
            let view = orchestrator.planning_session(id).await?;
            interview::run(orchestrator, view, options, inputs).await
        }
        PlanCommand::Sessions { json } => {
            let sessions = orchestrator.planning_sessions().await?;
            print(json, &sessions, render::session_list)
        }
        PlanCommand::Session { id, json } => {
            let view = orchestrator.planning_session(id).await?;
            print(json, &view, |v| {
                let mut out = render::session(v);
                if let Some(draft) = &v.draft {
                    out.push('\n');
                    out.push_str(&render::draft(draft, &v.dependency_order));
                }
                out
            })
        }
        PlanCommand::Submit { id, file, json } => {
            let content = interview::draft_from_file(&file)?;
            let note = format!("from {}", file.display());
            let report = orchestrator
                .submit_draft(id, Some((DraftSource::File, content)), &note)
                .await?;
            print(json, &report, |r| {
                let mut out = render::draft(&r.draft, &r.session.dependency_order);
                out.push_str(&if r.accepted {
                    format!("\nValid: approve it with `orchestrator plan approve {id}`.\n")
                } else {
                    "\nNot valid: fix the problems above and submit again.\n".into()
                });
                out
            })?;
            if !report.accepted {
                anyhow::bail!(
                    "draft {} has {} problem(s)",
                    report.draft.number,
                    report.draft.problems.len()
                );
            }
            Ok(())
        }
        PlanCommand::Approve { id, title, json } => {
            let view = orchestrator.approve_plan(id, title.as_deref()).await?;
            print(json, &view, |v| {
                format!(
                    "Approved: plan {} \"{}\", version {}.\n",
                    v.plan.id, v.plan.title, v.version.version
                )
            })
        }
        PlanCommand::Decide {
            plan,
            session,
            what,
            why,
            rejected,
            json,
        } => {
            let rejected_alternatives = rejected
                .iter()
                .map(|r| match r.split_once(':') {
                    Some((option, reason))
                        if !option.trim().is_empty() && !reason.trim().is_empty() =>
                    {
                        Ok(RejectedAlternative {
                            option: option.trim().into(),
                            reason: reason.trim().into(),
                        })
                    }
                    _ => Err(anyhow::anyhow!(
                        "--rejected \"{r}\" needs the form \"option: reason\""
                    )),
                })
                .collect::<anyhow::Result<_>>()?;
            let target = match (plan, session) {
                (Some(plan), _) => DecisionTarget::Plan(plan),
                (None, Some(session)) => DecisionTarget::Session(session),
                (None, None) => anyhow::bail!("give --plan ID or --session ID"),
            };
            let decision = NewDecision {
                what,
                why,
                rejected_alternatives,
            };
            let recorded = orchestrator.add_decision(target, decision).await?;
            print(json, &recorded, |r| match r {
                DecisionRecorded::Plan(version) => format!(
                    "Plan {}: version {} ({}).\n",
                    version.plan_id, version.version, version.note
                ),
                DecisionRecorded::Draft(report) => format!(
                    "Session {}: draft {} ({}).\n",
                    report.session.session.id, report.draft.number, report.draft.note
                ),
            })
        }
        PlanCommand::Abandon { id } => {
            let session = orchestrator.abandon_planning_session(id).await?;
            outln!("Planning session {} is {}.", session.id, session.status);
            Ok(())
        }
        PlanCommand::List { all, json } => {
            let plans = orchestrator.list_plans(all).await?;
            print(json, &plans, render::plan_list)
        }
        PlanCommand::Show { id, version, json } => {
            let view = orchestrator.plan(id, version).await?;
            print(json, &view, render::plan)
        }
        PlanCommand::Diff { id, from, to, json } => {
            let diff = orchestrator.diff_plan(id, from, to).await?;
            print(json, &diff, |d| render::diff(id, d))
        }
        PlanCommand::Rollback { id, to, json } => {
            let version = orchestrator.rollback_plan(id, to).await?;
            print(json, &version, |v| {
                format!(
                    "plan {id}: version {} now has the content of version {to}\n",
                    v.version
                )
            })
        }
    }
}

fn print<T: serde::Serialize>(
    json: bool,
    value: &T,
    text: impl Fn(&T) -> String,
) -> anyhow::Result<()> {
    if json {
        outln!("{}", serde_json::to_string_pretty(value)?);
    } else {
        out!("{}", text(value));
    }
    Ok(())
}

fn project_root(flag: Option<&Path>) -> anyhow::Result<PathBuf> {
    let start = match flag {
        Some(dir) => dir.to_path_buf(),
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    let canonical = start
        .canonicalize()
        .with_context(|| format!("the project directory {} cannot be opened", start.display()))?;
    if !canonical.is_dir() {
        anyhow::bail!(
            "the project path {} is not a directory",
            canonical.display()
        );
    }
    Ok(match flag {
        Some(_) => canonical,
        None => config::find_project_root(&canonical),
    })
}

fn init(root: &Path, force: bool) -> anyhow::Result<()> {
    let file = config::write_template(root, force)?;
    let exe = std::env::current_exe().context("cannot find this program's own path")?;
    outln!("Wrote {}.", file.display());
    outln!();
    outln!("Register the server with Claude Code (run this in the project folder):");
    outln!();
    outln!(
        "  claude mcp add --scope project orchestrator -- {} serve --project {}",
        shell_quote(&exe.to_string_lossy()),
        shell_quote(&root.to_string_lossy())
    );
    outln!();
    outln!("Or, with `orchestrator serve --http 127.0.0.1:8765` running:");
    outln!();
    outln!(
        "  claude mcp add --scope project --transport http orchestrator http://127.0.0.1:8765/mcp"
    );
    Ok(())
}

/// The command line `policy check -- WORDS` judges: one word is a whole command line as typed
/// (`-- 'ls | wc -l'`); several are the words of one command, quoted for the shell so that
/// `-- python3 -c 'print(1)'` reads as the user's shell passed it.
fn command_line(words: &[String]) -> String {
    match words {
        [line] => line.clone(),
        words => words
            .iter()
            .map(|w| shell_quote(w))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

async fn cancel_on_signal(token: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    token.cancel();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_check_words_are_quoted_and_one_word_is_a_command_line() {
        let words = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            command_line(&words(&["python3", "-c", "print(1)"])),
            "python3 -c 'print(1)'"
        );
        assert_eq!(
            command_line(&words(&["rm", "-rf", "build"])),
            "rm -rf build"
        );
        assert_eq!(command_line(&words(&["ls | wc -l"])), "ls | wc -l");
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
