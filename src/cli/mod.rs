//! The command line: parse, call the [`Orchestrator`], render. Exit codes: 0 ok, 1 failure,
//! 2 usage error.

mod render;

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::Orchestrator;
use crate::config::{self, Overrides, Settings, ToolProfile};
use crate::domain::PlanId;
use crate::mcp::{self, HttpOptions};

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
    },
    /// Write a commented orchestrator.toml here and print how to register the server in Claude Code.
    Init {
        /// Overwrite an existing orchestrator.toml.
        #[arg(long)]
        force: bool,
    },
    /// Read plans and their versions, compare versions, roll back.
    Plan {
        #[command(subcommand)]
        command: PlanCommand,
    },
    /// Show the project, the store and what it holds.
    Status {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum PlanCommand {
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
    let serving = matches!(cli.command, Command::Serve { .. });
    init_logging(if serving { "info" } else { "warn" });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
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
        eprintln!("warning: {warning}");
    }
    let profile = settings.config.mcp.tools;
    let orchestrator = Orchestrator::open(settings).await?;

    match cli.command {
        Command::Init { .. } => unreachable!("handled above"),
        Command::Serve { http: None, .. } => mcp::serve_stdio(orchestrator, profile).await,
        Command::Serve {
            http: Some(addr),
            allow_remote,
            ..
        } => {
            let shutdown = CancellationToken::new();
            tokio::spawn(cancel_on_signal(shutdown.clone()));
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
    }
}

async fn plan(orchestrator: &Orchestrator, command: PlanCommand) -> anyhow::Result<()> {
    match command {
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
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        print!("{}", text(value));
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
    println!("Wrote {}.", file.display());
    println!();
    println!("Register the server with Claude Code (run this in the project folder):");
    println!();
    println!(
        "  claude mcp add --scope project orchestrator -- {} serve --project {}",
        shell_quote(&exe.to_string_lossy()),
        shell_quote(&root.to_string_lossy())
    );
    println!();
    println!("Or, with `orchestrator serve --http 127.0.0.1:8765` running:");
    println!();
    println!(
        "  claude mcp add --scope project --transport http orchestrator http://127.0.0.1:8765/mcp"
    );
    Ok(())
}

/// Quotes a word for a POSIX shell when it needs it.
fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:=@%,".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
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
    fn shell_quote_leaves_plain_paths_alone() {
        assert_eq!(
            shell_quote("/usr/bin/orchestrator"),
            "/usr/bin/orchestrator"
        );
        assert_eq!(shell_quote("/my projects/it's"), r"'/my projects/it'\''s'");
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
