//! Which tasks of a plan may start now, and how a task too big for one agent is split.
//!
//! A task may start when it has no run yet, every task it depends on has completed, and — unless
//! its phase may overlap — every task of the earlier phases has settled — completed, or stopped for a
//! person (failed for good, escalated, cancelled) or blocked behind one: a failed or escalated
//! task holds back its dependants and nothing else. File locks decide the rest.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::domain::{PlanContent, RunStatus, Task};

/// Where a task stands, from its latest run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    /// No run yet.
    NotStarted,
    /// A run is on its way (pending, delegated, in progress, verifying, or failed and retrying).
    Running,
    /// Completed.
    Done,
    /// Escalated: a person must decide.
    Stopped,
    /// Cancelled by a person: not run again by the plan run.
    Cancelled,
    /// A dependency stopped or was cancelled: it cannot start.
    Blocked,
}

/// The state of every task from the status of its latest run (tasks without one are absent).
pub fn states(
    content: &PlanContent,
    latest: &HashMap<String, RunStatus>,
) -> BTreeMap<String, TaskState> {
    let mut out: BTreeMap<String, TaskState> = content
        .tasks()
        .map(|t| {
            let state = match latest.get(&t.key) {
                None => TaskState::NotStarted,
                Some(RunStatus::Completed) => TaskState::Done,
                Some(RunStatus::Escalated) => TaskState::Stopped,
                Some(RunStatus::Cancelled) => TaskState::Cancelled,
                Some(_) => TaskState::Running,
            };
            (t.key.clone(), state)
        })
        .collect();
    // Blocked spreads from stopped and cancelled tasks to everything depending on them.
    loop {
        let mut changed = false;
        for task in content.tasks() {
            if out[&task.key] == TaskState::NotStarted
                && task.depends_on.iter().any(|d| {
                    matches!(
                        out.get(d),
                        Some(TaskState::Stopped | TaskState::Cancelled | TaskState::Blocked)
                    )
                })
            {
                out.insert(task.key.clone(), TaskState::Blocked);
                changed = true;
            }
        }
        if !changed {
            return out;
        }
    }
}

/// The tasks that may start now, in plan order.
pub fn ready<'a>(content: &'a PlanContent, states: &BTreeMap<String, TaskState>) -> Vec<&'a Task> {
    let settled = |key: &str| {
        !matches!(
            states.get(key),
            Some(TaskState::NotStarted | TaskState::Running) | None
        )
    };
    let mut out = Vec::new();
    let mut earlier_settled = true;
    for phase in &content.phases {
        // A phase marked `overlap` need not wait for the earlier ones (its dependencies still hold).
        if earlier_settled || phase.overlap {
            for task in &phase.tasks {
                if states.get(&task.key) == Some(&TaskState::NotStarted)
                    && task
                        .depends_on
                        .iter()
                        .all(|d| states.get(d) == Some(&TaskState::Done))
                {
                    out.push(task);
                }
            }
        }
        earlier_settled &= phase.tasks.iter().all(|t| settled(&t.key));
    }
    out
}

/// Whether nothing is left to do: no task running, none that could start.
pub fn finished(content: &PlanContent, states: &BTreeMap<String, TaskState>) -> bool {
    !states.values().any(|s| *s == TaskState::Running) && ready(content, states).is_empty()
}

/// Splits `key` into subtasks of at most `max_files` files each — in halves when it has no more
/// than that (its context was too big) — with the files sorted so a folder's stay together:
/// `key.1`, `key.2`, …; each keeps the description, dependencies, verification and
/// rules; what depended on the task depends on every part. Returns `None` when there is nothing
/// to split (one file, or fewer than the limit).
pub fn split(content: &PlanContent, key: &str, max_files: usize) -> Option<PlanContent> {
    let task = content.task(key)?;
    let max_files = max_files.max(1);
    if task.files.len() <= 1 {
        return None;
    }
    let mut files = task.files.clone();
    files.sort();
    files.dedup();
    let per = if task.files.len() > max_files {
        max_files
    } else {
        task.files.len().div_ceil(2)
    };
    let groups: Vec<Vec<String>> = files.chunks(per).map(<[String]>::to_vec).collect();
    if groups.len() < 2 {
        return None;
    }
    let parts = groups.len();
    let keys: Vec<String> = (1..=parts).map(|i| format!("{key}.{i}")).collect();
    let taken: HashSet<&str> = content.tasks().map(|t| t.key.as_str()).collect();
    if keys.iter().any(|k| taken.contains(k.as_str())) {
        return None;
    }
    let mut out = content.clone();
    for phase in &mut out.phases {
        if let Some(at) = phase.tasks.iter().position(|t| t.key == key) {
            let original = phase.tasks.remove(at);
            for (i, group) in groups.iter().enumerate().rev() {
                let mut part = original.clone();
                part.key = keys[i].clone();
                part.title = format!("{} (part {} of {parts})", original.title, i + 1);
                part.description = format!(
                    "{}\n\nThis is part {} of {parts} of task {key}, split so each part fits one agent: change only the files listed for this part; the other parts are done by other agents.",
                    original.description,
                    i + 1
                );
                part.files = group.clone();
                phase.tasks.insert(at, part);
            }
        }
        for task in &mut phase.tasks {
            if let Some(at) = task.depends_on.iter().position(|d| d == key) {
                task.depends_on.remove(at);
                for (i, k) in keys.iter().enumerate() {
                    task.depends_on.insert(at + i, k.clone());
                }
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Phase;

    fn task(key: &str, deps: &[&str], files: &[&str]) -> Task {
        Task {
            reads: Vec::new(),
            key: key.into(),
            title: key.into(),
            description: String::new(),
            files: files.iter().map(|f| (*f).to_owned()).collect(),
            depends_on: deps.iter().map(|d| (*d).to_owned()).collect(),
            verification: vec![],
            rules: Default::default(),
        }
    }

    fn plan() -> PlanContent {
        PlanContent {
            goal: "g".into(),
            phases: vec![
                Phase {
                    overlap: false,
                    key: "p1".into(),
                    name: "one".into(),
                    description: String::new(),
                    tasks: vec![
                        task("A", &[], &["a"]),
                        task("B", &["A"], &["b"]),
                        task("C", &[], &["c"]),
                    ],
                },
                Phase {
                    overlap: false,
                    key: "p2".into(),
                    name: "two".into(),
                    description: String::new(),
                    tasks: vec![task("D", &[], &["d"]), task("E", &["B"], &["e"])],
                },
            ],
            ..PlanContent::default()
        }
    }

    fn keys(tasks: &[&Task]) -> Vec<String> {
        tasks.iter().map(|t| t.key.clone()).collect()
    }

    #[test]
    fn dependencies_phases_and_failures() {
        let plan = plan();
        let mut latest = HashMap::new();
        assert_eq!(keys(&ready(&plan, &states(&plan, &latest))), ["A", "C"]);
        latest.insert("A".to_owned(), RunStatus::InProgress);
        assert_eq!(keys(&ready(&plan, &states(&plan, &latest))), ["C"]);
        latest.insert("A".to_owned(), RunStatus::Completed);
        latest.insert("C".to_owned(), RunStatus::Completed);
        assert_eq!(
            keys(&ready(&plan, &states(&plan, &latest))),
            ["B"],
            "phase 2 waits for phase 1"
        );
        // B escalates: E (depends on B) is blocked, D (phase 2, independent) goes ahead.
        latest.insert("B".to_owned(), RunStatus::Escalated);
        let s = states(&plan, &latest);
        assert_eq!(s["E"], TaskState::Blocked);
        assert_eq!(keys(&ready(&plan, &s)), ["D"]);
        latest.insert("D".to_owned(), RunStatus::Completed);
        assert!(finished(&plan, &states(&plan, &latest)));
        // A phase that may overlap starts with the first.
        let mut overlapping = super::tests::plan();
        overlapping.phases[1].overlap = true;
        assert_eq!(
            keys(&ready(&overlapping, &states(&overlapping, &HashMap::new()))),
            ["A", "C", "D"]
        );
    }

    #[test]
    fn a_big_task_splits_along_its_files() {
        let mut plan = plan();
        plan.phases[0].tasks[1].files = (0..5).map(|i| format!("src/m{i}.rs")).collect();
        let split = split(&plan, "B", 2).unwrap();
        let parts: Vec<(String, Vec<String>)> = split.phases[0]
            .tasks
            .iter()
            .filter(|t| t.key.starts_with("B."))
            .map(|t| (t.key.clone(), t.files.clone()))
            .collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(
            parts[0],
            (
                "B.1".to_owned(),
                vec!["src/m0.rs".to_owned(), "src/m1.rs".to_owned()]
            )
        );
        assert_eq!(split.task("E").unwrap().depends_on, ["B.1", "B.2", "B.3"]);
        assert_eq!(split.task("B.2").unwrap().depends_on, ["A"]);
        assert!(split.key_problems().is_empty());
        assert!(
            super::split(&plan, "A", 2).is_none(),
            "one file: nothing to split"
        );
    }
}
