//! The web dashboard (issue: Dashboard). Not built yet: `orchestrator serve` has no `--dashboard`
//! until it is.
