//! `orchestrator locks …` (and, as it lands, the plan run).

use clap::Subcommand;

use super::print;
use crate::Orchestrator;
use crate::domain::{LeaseId, LockLease, Timestamp};

#[derive(Debug, Subcommand)]
pub(super) enum LocksCommand {
    /// The file locks in force (or every lease with --all): pattern, mode, run, owner, expiry.
    List {
        /// Every lease ever taken, newest first, with why it ended.
        #[arg(long)]
        all: bool,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Release a lock by hand (a stuck run, say); the reason is kept.
    Release {
        /// The lease's id (from `orchestrator locks`).
        id: LeaseId,
        /// Why.
        #[arg(long, required = true)]
        reason: String,
    },
}

pub(super) async fn locks(
    orchestrator: &Orchestrator,
    command: Option<LocksCommand>,
) -> anyhow::Result<()> {
    match command.unwrap_or(LocksCommand::List {
        all: false,
        limit: 100,
        json: false,
    }) {
        LocksCommand::List { all, limit, json } => {
            let leases = orchestrator.locks(all, limit).await?;
            print(json, &leases, |l| leases_text(l, all))
        }
        LocksCommand::Release { id, reason } => {
            let lease = orchestrator.release_lock(id, &reason).await?;
            println!(
                "Released lock {} on {} ({}).",
                lease.id,
                lease.pattern,
                lease.released_reason.unwrap_or_default()
            );
            Ok(())
        }
    }
}

fn leases_text(leases: &[LockLease], all: bool) -> String {
    if leases.is_empty() {
        return if all {
            "No lock was ever taken.\n".into()
        } else {
            "No file is locked.\n".into()
        };
    }
    let now = Timestamp::now();
    let mut text = format!(
        "{:>5}  {:<9} {:>5}  {:<32} {}\n",
        "ID", "MODE", "RUN", "PATTERN", "STATE"
    );
    for lease in leases {
        let state = match (&lease.released_at, lease.is_held_at(now)) {
            (Some(at), _) => format!(
                "released {at}: {}",
                lease.released_reason.as_deref().unwrap_or("")
            ),
            (None, true) => format!("held by {} until {}", lease.owner, lease.expires_at),
            (None, false) => format!("lapsed at {} (can be taken over)", lease.expires_at),
        };
        let run = lease
            .run_id
            .map(|r| r.to_string())
            .unwrap_or_else(|| "-".into());
        text.push_str(&format!(
            "{:>5}  {:<9} {:>5}  {:<32} {state}\n",
            lease.id, lease.mode, run, lease.pattern
        ));
    }
    text
}
