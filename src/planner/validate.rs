//! Draft validation: a draft can be reviewed only when every later stage can work from it.
//! Each problem says where it is and how to fix it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path};

use crate::domain::{PlanContent, Problem, blank};

/// Every problem with `content`, for a project rooted at `root` (an empty list means valid).
pub fn validate(content: &PlanContent, root: &Path) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut problem = |location: String, message: String, fix: &str| {
        problems.push(Problem {
            location,
            message,
            fix: fix.into(),
        })
    };

    if blank(&content.goal) {
        problem(
            "goal".into(),
            "the goal is empty".into(),
            "state in one sentence what the work achieves",
        );
    }
    if content.success_criteria.iter().all(|c| blank(c)) {
        problem(
            "success_criteria".into(),
            "there are no success criteria".into(),
            "list how the user will check that the goal is met, one criterion per entry",
        );
    }
    if content.constraints.iter().all(|c| blank(c)) {
        problem(
            "constraints".into(),
            "there are no constraints".into(),
            "list the limits the work must respect (stack, protected files, dependencies); say \"none beyond the project's conventions\" if there are none",
        );
    }
    if content.phases.is_empty() {
        problem(
            "phases".into(),
            "the plan has no phases".into(),
            "add at least one phase with tasks",
        );
    }

    // Where each task is, for dependency checks.
    let mut task_phase: BTreeMap<&str, usize> = BTreeMap::new();
    let mut seen_phase_keys = BTreeSet::new();
    for (p, phase) in content.phases.iter().enumerate() {
        let at = format!("phases[{p}] ({})", phase.key);
        if blank(&phase.key) {
            problem(
                at.clone(),
                "the phase has no key".into(),
                "give it a short unique key such as \"p1\"",
            );
        } else if !seen_phase_keys.insert(phase.key.as_str()) {
            problem(
                at.clone(),
                format!("the phase key `{}` is used twice", phase.key),
                "give each phase its own key",
            );
        }
        if blank(&phase.name) {
            problem(
                at.clone(),
                "the phase has no name".into(),
                "name what the phase delivers",
            );
        }
        if phase.tasks.is_empty() {
            problem(
                at.clone(),
                "the phase has no tasks".into(),
                "add its tasks, or remove the phase",
            );
        }
        for task in &phase.tasks {
            task_phase.entry(task.key.as_str()).or_insert(p);
        }
    }

    let mut seen_task_keys = BTreeSet::new();
    for (p, phase) in content.phases.iter().enumerate() {
        for (t, task) in phase.tasks.iter().enumerate() {
            let at = format!("phases[{p}] ({}).tasks[{t}] ({})", phase.key, task.key);
            if blank(&task.key) {
                problem(
                    at.clone(),
                    "the task has no key".into(),
                    "give it a short unique key such as \"T3\"",
                );
            } else if !seen_task_keys.insert(task.key.as_str()) {
                problem(
                    at.clone(),
                    format!("the task key `{}` is used twice", task.key),
                    "give each task its own key, unique across all phases",
                );
            }
            if blank(&task.title) {
                problem(
                    at.clone(),
                    "the task has no title".into(),
                    "give it a short title",
                );
            }
            if blank(&task.description) {
                problem(
                    at.clone(),
                    "the task has no description".into(),
                    "describe what the agent is to do, and what done looks like",
                );
            }
            if task.files.is_empty() {
                problem(
                    format!("{at}.files"),
                    "the task names no files".into(),
                    "list the files it touches, as paths or globs relative to the project root (e.g. \"src/auth/**\")",
                );
            }
            for (f, file) in task.files.iter().enumerate() {
                if let Some((message, fix)) = path_problem(file, root) {
                    problem(format!("{at}.files[{f}]"), message, fix);
                }
            }
            for (f, file) in task.reads.iter().enumerate() {
                if let Some((message, fix)) = path_problem(file, root) {
                    problem(format!("{at}.reads[{f}]"), message, fix);
                }
            }
            for (key, error) in crate::policy::rules::problems(&task.rules) {
                problem(
                    format!("{at}.rules.{key}"),
                    error.to_string(),
                    "write rules in Claude Code's syntax: `Bash(npm run test:*)`, `Edit(src/**)`, `WebFetch(domain:docs.rs)`",
                );
            }
            if task.verification.iter().all(|v| blank(v)) {
                problem(
                    format!("{at}.verification"),
                    "the task has no verification steps".into(),
                    "list the checks that prove it done (e.g. \"pytest tests/test_auth.py\", \"ruff check .\")",
                );
            }
            for (d, dep) in task.depends_on.iter().enumerate() {
                let here = format!("{at}.depends_on[{d}]");
                match task_phase.get(dep.as_str()) {
                    None => {
                        let known: Vec<&str> = task_phase.keys().copied().collect();
                        problem(
                            here,
                            format!("`{dep}` is not a task of this plan"),
                            &format!("depend on one of: {}", known.join(", ")),
                        );
                    }
                    Some(_) if dep == &task.key => {
                        problem(
                            here,
                            "the task depends on itself".into(),
                            "remove this dependency",
                        );
                    }
                    Some(&dep_phase) if dep_phase > p => {
                        let later = &content.phases[dep_phase];
                        problem(
                            here,
                            format!(
                                "`{dep}` is in a later phase (`{}`), and phases run in order",
                                later.key
                            ),
                            &format!(
                                "move `{dep}` to this phase or an earlier one, or move `{}` later",
                                task.key
                            ),
                        );
                    }
                    Some(_) => {}
                }
            }
        }
    }

    for cycle in cycles(content) {
        problem(
            format!("task {}", cycle[0]),
            format!(
                "tasks depend on each other in a cycle: {}",
                cycle.join(" → ")
            ),
            "remove one dependency of the cycle so the tasks can run in order",
        );
    }

    let mut seen_decisions = BTreeSet::new();
    for (d, decision) in content.decisions.iter().enumerate() {
        let at = format!("decisions[{d}] ({})", decision.key);
        if blank(&decision.key) {
            problem(
                at.clone(),
                "the decision has no key".into(),
                "give it a short unique key such as \"D2\"",
            );
        } else if !seen_decisions.insert(decision.key.as_str()) {
            problem(
                at.clone(),
                format!("the decision key `{}` is used twice", decision.key),
                "give each decision its own key",
            );
        }
        if blank(&decision.what) {
            problem(
                at.clone(),
                "the decision does not say what was decided".into(),
                "state the decision in one sentence",
            );
        }
        if blank(&decision.why) {
            problem(
                at.clone(),
                "the decision gives no reason".into(),
                "say why it was decided",
            );
        }
        for (r, alt) in decision.rejected_alternatives.iter().enumerate() {
            if blank(&alt.option) || blank(&alt.reason) {
                problem(
                    format!("{at}.rejected_alternatives[{r}]"),
                    "a rejected alternative needs both the option and the reason".into(),
                    "name the option and why it was not taken",
                );
            }
        }
    }
    problems
}

/// Why a task's file entry cannot be used: it is empty, absolute, escapes the project, is not a
/// valid glob, points into `.git`, or reaches outside the project through a symlink.
fn path_problem(path: &str, root: &Path) -> Option<(String, &'static str)> {
    let relative = "write it relative to the project root, e.g. \"src/app.py\" or \"src/**/*.py\"";
    if blank(path) {
        return Some(("the path is empty".into(), relative));
    }
    if let Some(problem) = crate::policy::paths::glob_too_long(path) {
        return Some((
            problem,
            "name the files with a shorter pattern, or as several entries",
        ));
    }
    // `{../../etc/passwd,src/a.py}`: a choice can lead outside where the whole does not seem to.
    if path.contains('{')
        && path
            .split(['/', '{', '}', ','])
            .any(|part| part.trim() == "..")
    {
        return Some((
            format!("`{path}` has `..` among its choices, which can lead outside the project"),
            "tasks may only touch files inside the project; remove the `..`",
        ));
    }
    let p = Path::new(path);
    if p.is_absolute()
        || path.starts_with('\\')
        || path.get(1..2) == Some(":")
        || path.starts_with('~')
    {
        return Some((format!("`{path}` is not relative to the project"), relative));
    }
    let mut depth: i32 = 0;
    let mut first: Option<String> = None;
    for component in p.components() {
        match component {
            Component::ParentDir => depth -= 1,
            Component::Normal(part) => {
                depth += 1;
                first.get_or_insert_with(|| part.to_string_lossy().into_owned());
            }
            _ => {}
        }
        if depth < 0 {
            return Some((
                format!("`{path}` leads outside the project"),
                "tasks may only touch files inside the project; remove the `..`",
            ));
        }
    }
    if first.as_deref() == Some(".git") {
        return Some((
            format!("`{path}` is inside .git"),
            "tasks never edit version control internals; name the project files instead",
        ));
    }
    if let Err(e) = globset::Glob::new(path) {
        return Some((
            format!("`{path}` is not a valid glob: {}", e.kind()),
            "fix the pattern (`*` within a folder, `**` across folders, `{a,b}` for choices)",
        ));
    }
    // Follow the literal part of the path: a symlink on it must stay inside the project.
    let canonical_root = root.canonicalize().ok()?;
    let mut current = root.to_path_buf();
    for component in p.components() {
        let Component::Normal(part) = component else {
            continue;
        };
        if part.to_string_lossy().contains(['*', '?', '[', '{']) {
            break;
        }
        current.push(part);
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let inside = current
                    .canonicalize()
                    .map(|target| target.starts_with(&canonical_root))
                    .unwrap_or(false);
                if !inside {
                    return Some((
                        format!(
                            "`{path}` leads outside the project through the symlink {}",
                            part.to_string_lossy()
                        ),
                        "name files inside the project; symlinks out of it are refused",
                    ));
                }
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    None
}

/// Each dependency cycle once, as task keys with the first repeated at the end.
fn cycles(content: &PlanContent) -> Vec<Vec<String>> {
    let deps: BTreeMap<&str, Vec<&str>> = content
        .tasks()
        .map(|t| {
            (
                t.key.as_str(),
                t.depends_on
                    .iter()
                    .map(String::as_str)
                    .filter(|d| *d != t.key)
                    .collect(),
            )
        })
        .collect();
    let mut found: Vec<Vec<String>> = Vec::new();
    let mut reported: BTreeSet<BTreeSet<&str>> = BTreeSet::new();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    for start in deps.keys() {
        let mut path: Vec<&str> = Vec::new();
        visit(
            start,
            &deps,
            &mut path,
            &mut done,
            &mut |cycle: &[&str]| {
                let members: BTreeSet<&str> = cycle.iter().copied().collect();
                if reported.insert(members.clone()) {
                    let mut keys: Vec<String> = cycle.iter().map(|k| k.to_string()).collect();
                    keys.push(cycle[0].to_string());
                    found.push(keys);
                }
            },
        );
    }
    found
}

fn visit<'a>(
    node: &'a str,
    deps: &BTreeMap<&'a str, Vec<&'a str>>,
    path: &mut Vec<&'a str>,
    done: &mut BTreeSet<&'a str>,
    report: &mut dyn FnMut(&[&'a str]),
) {
    if let Some(pos) = path.iter().position(|n| *n == node) {
        report(&path[pos..]);
        return;
    }
    if done.contains(node) {
        return;
    }
    path.push(node);
    for next in deps.get(node).into_iter().flatten() {
        if deps.contains_key(next) {
            visit(next, deps, path, done, report);
        }
    }
    path.pop();
    done.insert(node);
}

/// The tasks in the order they can run: each wave depends only on earlier waves. Tasks caught in
/// a cycle or depending on unknown tasks are left out.
pub fn dependency_waves(content: &PlanContent) -> Vec<Vec<String>> {
    let mut placed: BTreeSet<&str> = BTreeSet::new();
    let mut waves = Vec::new();
    loop {
        let wave: Vec<&str> = content
            .tasks()
            .filter(|t| !placed.contains(t.key.as_str()))
            .filter(|t| t.depends_on.iter().all(|d| placed.contains(d.as_str())))
            .map(|t| t.key.as_str())
            .collect();
        if wave.is_empty() {
            return waves;
        }
        placed.extend(wave.iter().copied());
        waves.push(wave.into_iter().map(String::from).collect());
    }
}
