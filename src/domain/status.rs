//! Every status enum of the domain and its legal transitions, in one place.
//!
//! The store changes a status only through [`Transition::check`], so an illegal transition is an
//! error that names both states and what would be accepted, never a write.

use std::fmt;

/// A status reached through a fixed set of transitions.
pub trait Transition: Copy + Eq + fmt::Display + 'static {
    /// What kind of entity carries this status, for error messages ("run", "plan", …).
    const ENTITY: &'static str;

    /// The states reachable from `self` in one step.
    fn next(self) -> &'static [Self];

    /// Whether no transition leaves this state.
    fn is_terminal(self) -> bool {
        self.next().is_empty()
    }

    /// `Ok(to)` when `self → to` is legal, else an error naming the states that are.
    fn check(self, to: Self) -> Result<Self, IllegalTransition> {
        if self.next().contains(&to) {
            Ok(to)
        } else {
            Err(IllegalTransition {
                entity: Self::ENTITY,
                from: self.to_string(),
                to: to.to_string(),
                allowed: self.next().iter().map(ToString::to_string).collect(),
            })
        }
    }
}

/// A status change that the state machine of its entity does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a {entity} cannot go from {from} to {to}: {}",
    if allowed.is_empty() { format!("{from} is final") } else { format!("from {from} it can go to {}", allowed.join(", ")) }
)]
pub struct IllegalTransition {
    /// The kind of entity ("run", "plan", …).
    pub entity: &'static str,
    /// The current state.
    pub from: String,
    /// The requested state.
    pub to: String,
    /// The states that would have been accepted.
    pub allowed: Vec<String>,
}

text_enum! {
    /// Where a planning session stands: DESIGN.md's
    /// `GATHERING_REQUIREMENTS → RESEARCHING → DESIGNING → REVIEWING → APPROVED` (or `ABANDONED`).
    SessionStatus, "planning session status" {
        /// Questions are being asked and answered.
        GatheringRequirements = "GATHERING_REQUIREMENTS",
        /// The knowledge base and project analysis are consulted.
        Researching = "RESEARCHING",
        /// A draft plan is being produced.
        Designing = "DESIGNING",
        /// The draft waits for the user's review.
        Reviewing = "REVIEWING",
        /// The draft became version 1 of a plan.
        Approved = "APPROVED",
        /// The session was given up.
        Abandoned = "ABANDONED",
    }
}

impl Transition for SessionStatus {
    const ENTITY: &'static str = "planning session";
    fn next(self) -> &'static [Self] {
        use SessionStatus::*;
        match self {
            GatheringRequirements => &[Researching, Abandoned],
            Researching => &[Designing, GatheringRequirements, Abandoned],
            Designing => &[Reviewing, GatheringRequirements, Abandoned],
            // Review can send the draft back for another design round or revise answers.
            Reviewing => &[Approved, Designing, GatheringRequirements, Abandoned],
            Approved | Abandoned => &[],
        }
    }
}

text_enum! {
    /// Where a plan stands as a whole.
    PlanStatus, "plan status" {
        /// Written but not yet approved.
        Draft = "DRAFT",
        /// Approved by the user: its tasks may run.
        Approved = "APPROVED",
        /// Tasks are running.
        Active = "ACTIVE",
        /// Every task completed.
        Completed = "COMPLETED",
        /// Given up; kept for history.
        Abandoned = "ABANDONED",
    }
}

impl Transition for PlanStatus {
    const ENTITY: &'static str = "plan";
    fn next(self) -> &'static [Self] {
        use PlanStatus::*;
        match self {
            Draft => &[Approved, Abandoned],
            Approved => &[Active, Abandoned],
            // A completed task may be reopened by a new version, so Completed is not final.
            Active => &[Completed, Approved, Abandoned],
            Completed => &[Active, Abandoned],
            Abandoned => &[],
        }
    }
}

impl PlanStatus {
    /// Whether the plan's content may still change (new versions, rollback).
    pub fn accepts_changes(self) -> bool {
        self != PlanStatus::Abandoned
    }
}

text_enum! {
    /// Where a run of a task stands: DESIGN.md's
    /// `PENDING → DELEGATED → IN_PROGRESS → VERIFYING → COMPLETED`, or `FAILED` (retryable),
    /// `ESCALATED` (waiting for a person), `CANCELLED`.
    RunStatus, "run status" {
        /// Waiting for its dependencies, a lock or a free slot.
        Pending = "PENDING",
        /// Claimed by an engine: locks held, worktree made.
        Delegated = "DELEGATED",
        /// The agent is working.
        InProgress = "IN_PROGRESS",
        /// The verifier is checking the agent's final commit.
        Verifying = "VERIFYING",
        /// A passing verification completed it.
        Completed = "COMPLETED",
        /// It failed; it may be retried.
        Failed = "FAILED",
        /// It waits for a person.
        Escalated = "ESCALATED",
        /// Stopped by a person; final.
        Cancelled = "CANCELLED",
    }
}

impl Transition for RunStatus {
    const ENTITY: &'static str = "run";
    fn next(self) -> &'static [Self] {
        use RunStatus::*;
        match self {
            Pending => &[Delegated, Failed, Cancelled],
            // A delegated run whose engine lost its lease goes back to the queue.
            Delegated => &[InProgress, Pending, Failed, Cancelled],
            InProgress => &[Verifying, Failed, Escalated, Cancelled],
            // Only the verifier leads to Completed: the agent's own claims never do.
            Verifying => &[Completed, Failed, Escalated, Cancelled],
            Failed => &[Pending, Escalated, Cancelled],
            Escalated => &[Pending, InProgress, Failed, Cancelled],
            Completed | Cancelled => &[],
        }
    }
}

text_enum! {
    /// Where a permission request escalated to a person stands.
    ApprovalStatus, "approval request status" {
        /// Waiting for a person while the agent waits.
        Pending = "PENDING",
        /// A person allowed the call.
        Approved = "APPROVED",
        /// A person denied the call.
        Denied = "DENIED",
        /// Nobody answered in time; treated as a denial.
        Expired = "EXPIRED",
    }
}

impl Transition for ApprovalStatus {
    const ENTITY: &'static str = "approval request";
    fn next(self) -> &'static [Self] {
        use ApprovalStatus::*;
        match self {
            Pending => &[Approved, Denied, Expired],
            Approved | Denied | Expired => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_text_round_trips<T: Transition + fmt::Debug + std::str::FromStr<Err = String>>(
        all: &[T],
    ) {
        for state in all {
            assert_eq!(state.to_string().parse::<T>().ok(), Some(*state));
        }
    }

    #[test]
    fn status_names_round_trip() {
        assert_text_round_trips(SessionStatus::ALL);
        assert_text_round_trips(PlanStatus::ALL);
        assert_text_round_trips(RunStatus::ALL);
        assert_text_round_trips(ApprovalStatus::ALL);
        assert!(
            "DONE"
                .parse::<RunStatus>()
                .unwrap_err()
                .contains("IN_PROGRESS")
        );
    }

    #[test]
    fn run_reaches_completed_only_through_verifying() {
        for state in RunStatus::ALL {
            let reaches = state.next().contains(&RunStatus::Completed);
            assert_eq!(reaches, *state == RunStatus::Verifying, "{state}");
        }
    }

    #[test]
    fn illegal_transition_names_the_states_that_are_allowed() {
        let err = RunStatus::Pending.check(RunStatus::Completed).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("PENDING") && text.contains("COMPLETED"),
            "{text}"
        );
        assert!(text.contains("DELEGATED"), "{text}");
        let err = RunStatus::Completed.check(RunStatus::Pending).unwrap_err();
        assert!(err.to_string().contains("COMPLETED is final"), "{err}");
    }

    #[test]
    fn terminal_states_have_no_exit() {
        assert!(SessionStatus::Approved.is_terminal());
        assert!(PlanStatus::Abandoned.is_terminal());
        assert!(RunStatus::Cancelled.is_terminal());
        assert!(
            !RunStatus::Failed.is_terminal(),
            "a failed run is retryable"
        );
        assert!(ApprovalStatus::Expired.is_terminal());
    }

    #[test]
    fn every_non_terminal_session_can_be_abandoned() {
        for state in SessionStatus::ALL.iter().filter(|s| !s.is_terminal()) {
            assert!(state.check(SessionStatus::Abandoned).is_ok(), "{state}");
        }
    }
}
