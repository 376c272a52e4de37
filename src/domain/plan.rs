//! Plans: versioned content (goal, criteria, constraints, phases of tasks, decisions) and the diff
//! between two versions.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{PlanId, PlanStatus, ProjectId, RunStatus, SessionId, Timestamp};

/// A plan: its identity and status. Its content lives in [`PlanVersion`]s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Plan {
    /// The plan's id.
    pub id: PlanId,
    /// The project the plan belongs to.
    pub project_id: ProjectId,
    /// The planning session that produced it, if any.
    pub session_id: Option<SessionId>,
    /// A short human title.
    pub title: String,
    /// Where the plan stands.
    pub status: PlanStatus,
    /// The newest version number (versions start at 1).
    pub current_version: u32,
    /// When the plan was created.
    pub created_at: Timestamp,
    /// When the plan last changed (content or status).
    pub updated_at: Timestamp,
}

/// What a plan says: the unit that is versioned, diffed and rolled back.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanContent {
    /// What the project is to achieve.
    pub goal: String,
    /// How the user will judge that the goal is met.
    #[serde(default)]
    pub success_criteria: Vec<String>,
    /// Limits the work must respect (tools, budgets, compatibility, …).
    #[serde(default)]
    pub constraints: Vec<String>,
    /// Ordered phases, each an ordered list of tasks.
    #[serde(default)]
    pub phases: Vec<Phase>,
    /// Decisions with their rationale.
    #[serde(default)]
    pub decisions: Vec<Decision>,
}

impl PlanContent {
    /// Every task of every phase, in plan order.
    pub fn tasks(&self) -> impl Iterator<Item = &Task> {
        self.phases.iter().flat_map(|phase| phase.tasks.iter())
    }

    /// The task with this key, if the plan has one.
    pub fn task(&self, key: &str) -> Option<&Task> {
        self.tasks().find(|task| task.key == key)
    }

    /// Keys that are empty or used twice: versions are matched by key, so these must be unique
    /// among phases, among tasks (across all phases) and among decisions.
    pub fn key_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut check = |what: &str, keys: Vec<&str>| {
            let mut seen = std::collections::BTreeSet::new();
            for (index, key) in keys.into_iter().enumerate() {
                if key.trim().is_empty() {
                    problems.push(format!(
                        "{what} #{} has an empty key: give it a short unique key",
                        index + 1
                    ));
                } else if !seen.insert(key) {
                    problems.push(format!(
                        "{what} key `{key}` is used twice: keys must be unique"
                    ));
                }
            }
        };
        check(
            "phase",
            self.phases.iter().map(|p| p.key.as_str()).collect(),
        );
        check("task", self.tasks().map(|t| t.key.as_str()).collect());
        check(
            "decision",
            self.decisions.iter().map(|d| d.key.as_str()).collect(),
        );
        problems
    }
}

/// A group of tasks that belong together, done in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    /// Stable key (`p1`), kept across versions.
    pub key: String,
    /// Human name of the phase.
    pub name: String,
    /// What the phase is for.
    #[serde(default)]
    pub description: String,
    /// Its tasks may start before earlier phases settle (dependencies still hold).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub overlap: bool,
    /// The phase's tasks, in order.
    #[serde(default)]
    pub tasks: Vec<Task>,
}

/// One unit of work given to one agent run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// Stable key (`T3`), kept across versions.
    pub key: String,
    /// Short human title.
    pub title: String,
    /// What the agent is to do.
    pub description: String,
    /// Files the task touches: paths or globs relative to the project root.
    #[serde(default)]
    pub files: Vec<String>,
    /// Files it only reads and needs unchanged (shared locks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reads: Vec<String>,
    /// Keys of the tasks that must complete first.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// Steps the verifier runs or checks to accept the work.
    #[serde(default)]
    pub verification: Vec<String>,
    /// Permission rules for its runs (Claude Code syntax), over the project's.
    #[serde(default, skip_serializing_if = "RuleLists::is_empty")]
    pub rules: RuleLists,
}

/// Permission rules in Claude Code's syntax (`Bash(npm run test:*)`, `Edit(src/**)`), in three
/// lists; deny beats escalate beats allow.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleLists {
    /// Calls to let through without asking.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
    /// Calls to put before a person.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalate: Vec<String>,
    /// Calls to refuse.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deny: Vec<String>,
}

impl RuleLists {
    /// Whether no rule is set.
    pub fn is_empty(&self) -> bool {
        self.allow.is_empty() && self.escalate.is_empty() && self.deny.is_empty()
    }
}

/// A decision recorded on a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// Stable key (`D1`), kept across versions.
    pub key: String,
    /// What was decided.
    pub what: String,
    /// Why.
    pub why: String,
    /// Options considered and not taken.
    #[serde(default)]
    pub rejected_alternatives: Vec<RejectedAlternative>,
}

/// An option that a decision did not take, and why not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectedAlternative {
    /// The option.
    pub option: String,
    /// Why it was rejected.
    pub reason: String,
}

/// One stored version of a plan's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PlanVersion {
    /// The plan.
    pub plan_id: PlanId,
    /// The version number, from 1.
    pub version: u32,
    /// Why this version was written ("approved", "rollback to version 2", …).
    pub note: String,
    /// When this version is a rollback, the version whose content it restored.
    pub restored_from: Option<u32>,
    /// When it was written.
    pub created_at: Timestamp,
    /// The content.
    pub content: PlanContent,
}

/// A version's metadata without its content, for listings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PlanVersionInfo {
    /// The version number.
    pub version: u32,
    /// Why it was written.
    pub note: String,
    /// The version it restored, for a rollback.
    pub restored_from: Option<u32>,
    /// When it was written.
    pub created_at: Timestamp,
}

/// A plan as front ends show it: the plan, one version of its content, the task statuses and the
/// version history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PlanView {
    /// The plan.
    pub plan: Plan,
    /// The version shown (the current one unless another was asked for).
    pub version: PlanVersion,
    /// Status of each task of the shown version, by task key: the status of its latest run, or
    /// `PENDING` when it has none.
    pub task_status: BTreeMap<String, RunStatus>,
    /// Every version of the plan, oldest first.
    pub history: Vec<PlanVersionInfo>,
}

/// What changed between two versions of a plan.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct PlanDiff {
    /// The older version compared.
    pub from_version: u32,
    /// The newer version compared.
    pub to_version: u32,
    /// Changes to goal, success criteria and constraints.
    pub fields: Vec<FieldChange>,
    /// Phases added, removed or changed.
    pub phases: Vec<ItemChange>,
    /// Tasks added, removed or changed.
    pub tasks: Vec<ItemChange>,
    /// Decisions added, removed or changed.
    pub decisions: Vec<ItemChange>,
}

impl PlanDiff {
    /// Whether the two versions have the same content.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
            && self.phases.is_empty()
            && self.tasks.is_empty()
            && self.decisions.is_empty()
    }
}

/// How an item differs between two versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Only in the newer version.
    Added,
    /// Only in the older version.
    Removed,
    /// In both, with different fields.
    Changed,
}

/// A phase, task or decision that differs between two versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ItemChange {
    /// Added, removed or changed.
    pub kind: ChangeKind,
    /// The item's key.
    pub key: String,
    /// For `changed`: each field that differs.
    pub fields: Vec<FieldChange>,
}

/// One field's value before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FieldChange {
    /// The field's name (`goal`, `files`, `phase`, …).
    pub field: String,
    /// The value in the older version.
    pub before: serde_json::Value,
    /// The value in the newer version.
    pub after: serde_json::Value,
}

/// Compares two versions of a plan's content, matching phases, tasks and decisions by key.
pub fn diff_content(
    from_version: u32,
    old: &PlanContent,
    to_version: u32,
    new: &PlanContent,
) -> PlanDiff {
    let mut fields = Vec::new();
    push_change(&mut fields, "goal", &old.goal, &new.goal);
    push_change(
        &mut fields,
        "success_criteria",
        &old.success_criteria,
        &new.success_criteria,
    );
    push_change(
        &mut fields,
        "constraints",
        &old.constraints,
        &new.constraints,
    );

    // Phases are compared without their tasks; task moves show up as a task's `phase` change.
    let phase_fields = |p: &Phase| {
        let mut v = object_fields(p);
        v.remove("tasks");
        v
    };
    let task_fields = |content: &PlanContent| {
        content
            .phases
            .iter()
            .flat_map(|phase| {
                phase.tasks.iter().map(move |task| {
                    let mut v = object_fields(task);
                    v.insert("phase".into(), serde_json::Value::String(phase.key.clone()));
                    (task.key.clone(), v)
                })
            })
            .collect::<Vec<_>>()
    };
    PlanDiff {
        from_version,
        to_version,
        fields,
        phases: diff_items(
            old.phases
                .iter()
                .map(|p| (p.key.clone(), phase_fields(p)))
                .collect(),
            new.phases
                .iter()
                .map(|p| (p.key.clone(), phase_fields(p)))
                .collect(),
        ),
        tasks: diff_items(task_fields(old), task_fields(new)),
        decisions: diff_items(
            old.decisions
                .iter()
                .map(|d| (d.key.clone(), object_fields(d)))
                .collect(),
            new.decisions
                .iter()
                .map(|d| (d.key.clone(), object_fields(d)))
                .collect(),
        ),
    }
}

type Fields = serde_json::Map<String, serde_json::Value>;

fn object_fields<T: Serialize>(item: &T) -> Fields {
    match serde_json::to_value(item) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => Fields::new(),
    }
}

fn push_change<T: Serialize + PartialEq>(
    out: &mut Vec<FieldChange>,
    field: &str,
    before: &T,
    after: &T,
) {
    if before != after {
        out.push(FieldChange {
            field: field.to_string(),
            before: serde_json::to_value(before).unwrap_or_default(),
            after: serde_json::to_value(after).unwrap_or_default(),
        });
    }
}

/// Matches items by key; output follows the newer version's order, then removed items.
fn diff_items(old: Vec<(String, Fields)>, new: Vec<(String, Fields)>) -> Vec<ItemChange> {
    let old_by_key: BTreeMap<&str, &Fields> = old.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let new_keys: std::collections::BTreeSet<&str> = new.iter().map(|(k, _)| k.as_str()).collect();
    let mut changes = Vec::new();
    for (key, after) in &new {
        match old_by_key.get(key.as_str()) {
            None => changes.push(ItemChange {
                kind: ChangeKind::Added,
                key: key.clone(),
                fields: vec![],
            }),
            Some(before) => {
                let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
                names.sort();
                names.dedup();
                let fields: Vec<FieldChange> = names
                    .into_iter()
                    .filter(|name| name.as_str() != "key" && before.get(*name) != after.get(*name))
                    .map(|name| FieldChange {
                        field: name.clone(),
                        before: before.get(name).cloned().unwrap_or_default(),
                        after: after.get(name).cloned().unwrap_or_default(),
                    })
                    .collect();
                if !fields.is_empty() {
                    changes.push(ItemChange {
                        kind: ChangeKind::Changed,
                        key: key.clone(),
                        fields,
                    });
                }
            }
        }
    }
    for (key, _) in &old {
        if !new_keys.contains(key.as_str()) {
            changes.push(ItemChange {
                kind: ChangeKind::Removed,
                key: key.clone(),
                fields: vec![],
            });
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(key: &str, description: &str) -> Task {
        Task {
            reads: Vec::new(),
            key: key.into(),
            title: key.into(),
            description: description.into(),
            files: vec!["src/**".into()],
            depends_on: vec![],
            verification: vec!["cargo test".into()],
            rules: RuleLists::default(),
        }
    }

    fn content() -> PlanContent {
        PlanContent {
            goal: "ship".into(),
            phases: vec![Phase {
                overlap: false,
                key: "p1".into(),
                name: "one".into(),
                description: String::new(),
                tasks: vec![task("a", "do a"), task("b", "do b")],
            }],
            decisions: vec![Decision {
                key: "D1".into(),
                what: "use SQLite".into(),
                why: "embedded".into(),
                rejected_alternatives: vec![],
            }],
            ..Default::default()
        }
    }

    #[test]
    fn identical_content_has_an_empty_diff() {
        assert!(diff_content(1, &content(), 2, &content()).is_empty());
    }

    #[test]
    fn diff_reports_added_removed_and_changed_items() {
        let old = content();
        let mut new = content();
        new.goal = "ship faster".into();
        new.phases[0].tasks.remove(0);
        new.phases[0].tasks[0].description = "do b well".into();
        new.phases[0].tasks.push(task("c", "do c"));
        new.decisions.clear();

        let diff = diff_content(1, &old, 2, &new);
        assert_eq!(diff.fields.len(), 1);
        assert_eq!(diff.fields[0].field, "goal");
        let kinds: Vec<(ChangeKind, &str)> = diff
            .tasks
            .iter()
            .map(|c| (c.kind, c.key.as_str()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (ChangeKind::Changed, "b"),
                (ChangeKind::Added, "c"),
                (ChangeKind::Removed, "a")
            ]
        );
        assert_eq!(diff.tasks[0].fields[0].field, "description");
        assert_eq!(diff.tasks[0].fields[0].after, "do b well");
        assert_eq!(diff.decisions[0].kind, ChangeKind::Removed);
        assert!(
            diff.phases.is_empty(),
            "task changes are not phase changes: {:?}",
            diff.phases
        );
    }

    #[test]
    fn moving_a_task_between_phases_is_a_phase_field_change() {
        let old = content();
        let mut new = content();
        let moved = new.phases[0].tasks.pop().unwrap();
        new.phases.push(Phase {
            overlap: false,
            key: "p2".into(),
            name: "two".into(),
            description: String::new(),
            tasks: vec![moved],
        });
        let diff = diff_content(1, &old, 2, &new);
        assert_eq!(diff.phases.len(), 1);
        assert_eq!(diff.phases[0].kind, ChangeKind::Added);
        assert_eq!(diff.tasks.len(), 1);
        assert_eq!(diff.tasks[0].fields[0].field, "phase");
        assert_eq!(diff.tasks[0].fields[0].before, "p1");
        assert_eq!(diff.tasks[0].fields[0].after, "p2");
    }
}
