//! # orchestrator
//!
//! Runs AI coding agents (Claude Code first) through multi-step projects — plan, delegate,
//! supervise, verify — with a person asked only at the decisions that matter. One library, with
//! three front ends over the same [`Orchestrator`] API: an MCP server ([`mcp`]), a command line
//! ([`cli`]) and a web dashboard ([`web`]). `ARCHITECTURE.md` at the repository root is the map.
//!
//! ## Programmatic use
//!
//! ```
//! use orchestrator::domain::{Phase, PlanContent, Task};
//! use orchestrator::{Orchestrator, store::Store};
//!
//! # #[tokio::main] async fn main() -> orchestrator::Result<()> {
//! let dir = tempfile::tempdir().unwrap();
//! let store = Store::open(&dir.path().join("orchestrator.db"))?;
//! let engine = Orchestrator::with_store(store, dir.path(), "demo").await?;
//!
//! let content = PlanContent {
//!     goal: "Add a /health endpoint".into(),
//!     success_criteria: vec!["GET /health answers 200".into()],
//!     phases: vec![Phase {
//!         key: "p1".into(),
//!         name: "Build".into(),
//!         description: String::new(),
//!         overlap: false,
//!         tasks: vec![Task {
//!             key: "T1".into(),
//!             title: "Route".into(),
//!             description: "Add the route and its handler".into(),
//!             files: vec!["src/routes/**".into()],
//!             reads: vec![],
//!             depends_on: vec![],
//!             verification: vec!["cargo test health".into()],
//!             rules: Default::default(),
//!         }],
//!     }],
//!     ..Default::default()
//! };
//! let plan = engine.create_plan("Health check", content).await?;
//!
//! let view = engine.plan(plan.id, None).await?;
//! assert_eq!(view.version.version, 1);
//! assert_eq!(view.version.content.goal, "Add a /health endpoint");
//! assert_eq!(view.task_status["T1"], orchestrator::domain::RunStatus::Pending);
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod agent;
pub mod cli;
pub mod config;
pub mod context;
pub mod delegator;
pub mod domain;
mod error;
pub mod knowledge;
pub mod mcp;
mod orchestrator;
pub mod planner;
pub mod policy;
pub mod skills;
pub mod store;
pub mod supervisor;
pub mod verifier;
pub mod web;

pub use error::{Error, Result};
pub use orchestrator::{
    ContextFor, JobStatus, KbIndexing, Orchestrator, PermissionAnswer, PlanEvent, PlanRunReport,
    RunAction, RunView, StatusReport, TaskOutcome, VerificationOutcome, VerifyJob, VerifyOptions,
};

/// Installs the TLS crypto provider (ring) for the process, once; HTTP clients need it.
pub fn install_tls_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Another provider installed first is as good; ignore the refusal.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
