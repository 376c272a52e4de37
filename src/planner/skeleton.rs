//! The deterministic skeleton: a plan built from the answers and the project analysis alone,
//! always available offline. The same answers give the same plan.

use super::analysis::ProjectAnalysis;
use super::questions::TopicState;
use crate::domain::{Decision, Phase, PlanContent, Task};

/// Most feature tasks the skeleton makes; further features are folded into the last one.
const MAX_FEATURES: usize = 8;

struct Answers<'a> {
    topics: &'a [TopicState],
}

impl Answers<'_> {
    /// The user's answer (not an assumption).
    fn get(&self, key: &str) -> Option<&str> {
        self.topics
            .iter()
            .find(|t| t.topic == key)
            .and_then(|t| t.answer.as_deref())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }

    /// The answer, or the assumption that replaced it.
    fn value(&self, key: &str) -> Option<&str> {
        self.topics
            .iter()
            .find(|t| t.topic == key)
            .and_then(TopicState::value)
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }

    /// The answer unless it says "none".
    fn real(&self, key: &str) -> Option<&str> {
        self.value(key).filter(|v| !is_none(v))
    }
}

/// Text to end a sentence with: without its own final full stop.
fn clause(text: &str) -> &str {
    text.trim().trim_end_matches('.')
}

fn is_none(text: &str) -> bool {
    let t = text.trim().trim_end_matches('.').to_lowercase();
    matches!(
        t.as_str(),
        "none" | "no" | "nothing" | "n/a" | "na" | "nope" | "nothing in particular"
    ) || t.starts_with("none:")
        || t.starts_with("none beyond")
}

/// Splits a list answer ("a; b", lines, bullets, "1. a") into its items.
pub fn split_items(text: &str) -> Vec<String> {
    let separator = if text.contains('\n') { '\n' } else { ';' };
    text.split(separator)
        .map(|item| {
            item.trim()
                .trim_start_matches(['-', '*', '•'])
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .trim_start_matches(['.', ')'])
                .trim()
                .to_string()
        })
        .filter(|item| !item.is_empty())
        .collect()
}

/// Words of `text` that look like project paths (`src/auth/`, `app/models.py`).
fn paths_in(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | '(' | ')' | '`' | '"' | '\''))
        .map(|w| w.trim_end_matches(['.', ':']))
        .filter(|w| {
            !w.is_empty()
                && !w.contains("://")
                && !w.starts_with('/')
                && !w.contains("..")
                && (w.contains('/')
                    || w.rsplit_once('.').is_some_and(|(stem, ext)| {
                        !stem.is_empty()
                            && (1..=4).contains(&ext.len())
                            && ext.chars().all(|c| c.is_ascii_alphanumeric())
                    }))
        })
        .map(|w| {
            if w.ends_with('/') {
                format!("{w}**")
            } else {
                w.to_string()
            }
        })
        .collect()
}

/// The stack's language, file extension, manifest and test folder.
struct Layout {
    ext: &'static str,
    manifest: &'static str,
    source: String,
    tests: String,
}

fn layout(analysis: &ProjectAnalysis, stack: Option<&str>) -> Layout {
    let stack = stack.unwrap_or_default().to_lowercase();
    let language = analysis.languages.first().map(|l| l.to_lowercase());
    let says = |word: &str| {
        stack.contains(word) || (stack.is_empty() && language.as_deref() == Some(word))
    };
    let (ext, manifest) = if says("rust") {
        ("rs", "Cargo.toml")
    } else if says("typescript") || stack.contains("node") {
        ("ts", "package.json")
    } else if says("javascript") {
        ("js", "package.json")
    } else if says("go") && !stack.contains("google") {
        ("go", "go.mod")
    } else {
        ("py", "pyproject.toml")
    };
    let source = analysis
        .source_dirs
        .first()
        .cloned()
        .unwrap_or_else(|| "src".into());
    let tests = analysis
        .test_dirs
        .first()
        .cloned()
        .unwrap_or_else(|| "tests".into());
    Layout {
        ext,
        manifest,
        source,
        tests,
    }
}

fn commands(text: Option<&str>) -> Vec<String> {
    text.filter(|t| !is_none(t))
        .map(|t| {
            t.split([',', ';', '\n'])
                .map(|c| c.trim().trim_matches('`').to_string())
                .filter(|c| !c.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// What the interview assumed where the answers stayed vague, as decisions (what, why): every
/// plan of the session records them, whoever drafted it.
pub fn assumptions(topics: &[TopicState]) -> Vec<(String, String)> {
    topics
        .iter()
        .filter_map(|topic| {
            let assumed = topic.assumed.as_deref()?;
            Some((
                format!("Assumed: {assumed}"),
                format!(
                    "The answers to \"{}\" stayed vague after two follow-ups; revise the answer to change this.",
                    topic.question
                ),
            ))
        })
        .collect()
}

/// Builds the plan for `goal` from the topic answers and the analysis.
pub fn skeleton(goal: &str, topics: &[TopicState], analysis: &ProjectAnalysis) -> PlanContent {
    let answers = Answers { topics };
    let stack = answers.get("constraints.stack");
    let lay = layout(analysis, stack);
    let shape_paths = answers
        .get("architecture.shape")
        .map(paths_in)
        .unwrap_or_default();
    let code_glob = format!("{}/**/*.{}", lay.source, lay.ext);
    let test_glob = format!("{}/**/*.{}", lay.tests, lay.ext);
    let code_files = if shape_paths.is_empty() {
        vec![code_glob.clone()]
    } else {
        shape_paths.clone()
    };

    let mut verification = commands(answers.get("verification.tests"));
    if verification.is_empty() {
        verification.push(match lay.ext {
            "rs" => "cargo test".into(),
            "ts" | "js" => "npm test".into(),
            "go" => "go test ./...".into(),
            _ => "pytest".into(),
        });
    }
    verification.extend(commands(answers.get("verification.checks")));

    let features: Vec<String> = {
        let mut items = answers
            .get("requirements.features")
            .map(split_items)
            .unwrap_or_default();
        if items.is_empty() {
            items.push(goal.trim().to_string());
        }
        if items.len() > MAX_FEATURES {
            let rest = items.split_off(MAX_FEATURES - 1).join("; ");
            items.push(rest);
        }
        items
    };
    let users = answers.get("requirements.users").unwrap_or("its users");
    let errors = answers.value("requirements.errors");

    let mut context = Vec::new();
    if let Some(stack) = stack {
        context.push(format!("Stack: {}.", clause(stack)));
    }
    if let Some(data) = answers.real("architecture.data") {
        context.push(format!("Data: {}.", clause(data)));
    }
    if let Some(deps) = answers.real("architecture.dependencies") {
        context.push(format!("External services and packages: {}.", clause(deps)));
    }
    let shape = answers
        .get("architecture.shape")
        .map(|s| format!("Structure: {}. ", clause(s)))
        .unwrap_or_default();

    let mut foundation_files = code_files.clone();
    foundation_files.push(lay.manifest.into());
    let foundation = Task { reads: Vec::new(),
        key: "T1".into(),
        title: "Lay out the structure the features build on".into(),
        description: format!(
            "Create the modules, entry points and test setup the features need, for the goal: {}. {shape}{} Keep the project's existing conventions; add no feature logic yet beyond what the layout needs.",
            goal.trim().trim_end_matches('.'),
            context.join(" ")
        )
        .trim()
        .to_string(),
        files: foundation_files,
        depends_on: vec![],
        verification: verification.clone(),
        rules: Default::default(),
    };

    let feature_tasks: Vec<Task> = features
        .iter()
        .enumerate()
        .map(|(i, feature)| {
            let mut files = paths_in(feature);
            if files.is_empty() {
                files = code_files.clone();
            }
            let tests_prefix = format!("{}/", lay.tests);
            if !files.iter().any(|f| f.starts_with(&tests_prefix)) {
                files.push(test_glob.clone());
            }
            let mut description = format!(
                "Build: {feature}. It is for {}. Write tests for it under {}/ that fail without the feature.",
                clause(users),
                lay.tests
            );
            if let Some(errors) = errors {
                description.push_str(&format!(" When something goes wrong: {}.", clause(errors)));
            }
            Task { reads: Vec::new(),
                key: format!("T{}", i + 2),
                title: title_of(feature),
                description,
                files,
                depends_on: vec!["T1".into()],
                verification: verification.clone(),
                rules: Default::default(),
            }
        })
        .collect();

    let mut success_criteria: Vec<String> = answers
        .get("verification.success")
        .map(split_items)
        .unwrap_or_default();
    success_criteria.push(format!("Every check passes: {}", verification.join(", ")));

    let mut acceptance_verification = verification.clone();
    acceptance_verification.extend(
        success_criteria
            .iter()
            .map(|c| format!("Criterion holds: {c}")),
    );
    acceptance_verification.pop(); // the last criterion is the checks themselves
    let acceptance = Task {
        reads: Vec::new(),
        key: format!("T{}", feature_tasks.len() + 2),
        title: "Prove the success criteria end to end".into(),
        description: format!(
            "Write end-to-end tests under {}/ showing each success criterion holds, and fix what they reveal: {}",
            lay.tests,
            success_criteria.join("; ")
        ),
        files: vec![test_glob.clone()],
        depends_on: feature_tasks.iter().map(|t| t.key.clone()).collect(),
        verification: acceptance_verification,
        rules: Default::default(),
    };

    let mut constraints = Vec::new();
    if let Some(stack) = stack {
        constraints.push(format!("Use {stack}; no second language or framework"));
    }
    if let Some(limits) = answers.real("constraints.limits") {
        constraints.push(limits.to_string());
    }
    if let Some(protected) = answers.real("constraints.protected") {
        constraints.push(format!("Do not change: {protected}"));
    }
    if let Some(out) = answers.real("scope.out") {
        constraints.push(format!("Out of scope: {out}"));
    }
    match answers.get("architecture.dependencies") {
        Some(deps) if !is_none(deps) => {
            constraints.push(format!("New services or packages allowed: {deps}"))
        }
        _ => constraints.push("No new services or packages without a recorded decision".into()),
    }

    let mut decisions = Vec::new();
    let mut decide = |what: String, why: String| {
        decisions.push(Decision {
            key: format!("D{}", decisions.len() + 1),
            what,
            why,
            rejected_alternatives: vec![],
        })
    };
    if let Some(stack) = stack {
        let known = analysis
            .languages
            .first()
            .is_some_and(|l| stack.to_lowercase().contains(&l.to_lowercase()));
        decide(
            format!("Build with {stack}"),
            if known {
                "The project already uses it; a second stack would split the code base.".into()
            } else {
                "Chosen in the planning interview.".into()
            },
        );
    }
    if let Some(first) = answers.value("scope.first_delivery") {
        decide(
            format!("First delivery: {first}"),
            "Agreed in planning so something works end to end early.".into(),
        );
    }
    decide(
        format!("Every task must pass: {}", verification.join(", ")),
        "The verifier runs these itself; an agent cannot mark its own work as done.".into(),
    );
    for (what, why) in assumptions(topics) {
        decide(what, why);
    }

    PlanContent {
        goal: goal.trim().to_string(),
        success_criteria,
        constraints,
        phases: vec![
            Phase {
                overlap: false,
                key: "foundation".into(),
                name: "Foundation".into(),
                description: "The structure every feature builds on.".into(),
                tasks: vec![foundation],
            },
            Phase {
                overlap: false,
                key: "features".into(),
                name: "Must-have features".into(),
                description: "One task per must-have feature, each with its tests.".into(),
                tasks: feature_tasks,
            },
            Phase {
                overlap: false,
                key: "acceptance".into(),
                name: "Acceptance".into(),
                description: "Proof that the success criteria hold.".into(),
                tasks: vec![acceptance],
            },
        ],
        decisions,
    }
}

/// A short title from a feature sentence: its first clause, at most 60 characters.
fn title_of(feature: &str) -> String {
    let clause = feature.split(['.', ':']).next().unwrap_or(feature).trim();
    let mut title: String = clause.chars().take(60).collect();
    if clause.chars().count() > 60 {
        title.push('…');
    }
    let mut chars = title.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => "Feature".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_answers_split_on_lines_semicolons_and_bullets() {
        assert_eq!(split_items("log in; log out"), ["log in", "log out"]);
        assert_eq!(split_items("- a\n* b\n1. c\n\n"), ["a", "b", "c"]);
        assert_eq!(
            split_items("one thing, with a comma"),
            ["one thing, with a comma"]
        );
    }

    #[test]
    fn path_like_words_are_found() {
        assert_eq!(
            paths_in("touch src/auth/ and app/models.py, not https://x.io/a or ../up"),
            ["src/auth/**", "app/models.py"]
        );
    }
}
