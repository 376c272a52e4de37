//! The context builder: budgets and the order of dropping, truncation, determinism, relevance,
//! and the engine gathering decisions, history, docs and skills for a task (library and CLI).

mod support;

use std::path::PathBuf;

use orchestrator::context::tokens::{BpeEstimator, TokenEstimator};
use orchestrator::context::{
    ContextRequest, MIN_TRUNCATED, PriorWork, SubagentContext, build_context,
};
use orchestrator::domain::{Decision, Phase, PlanContent, RejectedAlternative, RuleLists, Task};
use orchestrator::knowledge::Chunk;
use orchestrator::skills::Skill;
use support::Project;

fn task(key: &str, title: &str, description: &str, files: &[&str], depends_on: &[&str]) -> Task {
    Task {
        reads: Vec::new(),
        key: key.into(),
        title: title.into(),
        description: description.into(),
        files: files.iter().map(|f| (*f).to_owned()).collect(),
        depends_on: depends_on.iter().map(|d| (*d).to_owned()).collect(),
        verification: vec!["pytest tests/test_auth.py".into(), "ruff check src".into()],
        rules: RuleLists {
            allow: vec!["Bash(pytest:*)".into()],
            escalate: vec![],
            deny: vec!["Bash(git push:*)".into()],
        },
    }
}

fn decision(key: &str, what: &str, why: &str) -> Decision {
    Decision {
        key: key.into(),
        what: what.into(),
        why: why.into(),
        rejected_alternatives: vec![],
    }
}

/// A plan where T3 (password login in src/auth/) depends on T2, which depends on T1.
fn plan() -> PlanContent {
    let mut decisions = vec![
        Decision {
            key: "D-hash".into(),
            what: "Hash passwords in src/auth/passwords.py with argon2id".into(),
            why: "bcrypt truncates long passwords".into(),
            rejected_alternatives: vec![RejectedAlternative {
                option: "bcrypt".into(),
                reason: "72-byte limit".into(),
            }],
        },
        decision("D-logo", "The logo is dark blue", "brand guide"),
        decision(
            "D-db",
            "Store users in SQLite through src/db/users.py",
            "one file, no server",
        ),
    ];
    // Filler decisions of varied relevance, so budgets bite.
    for i in 0..40 {
        let topic = if i % 4 == 0 {
            "login sessions expire after idle time"
        } else {
            "the marketing pages use static HTML"
        };
        decisions.push(decision(
            &format!("D{i:02}"),
            &format!("Rule {i}: {topic}"),
            &"Because it keeps things simple and predictable. ".repeat(6),
        ));
    }
    PlanContent {
        goal: "A small web app with user accounts".into(),
        success_criteria: vec!["users can sign up and log in".into()],
        constraints: vec![
            "Python 3.12 only".into(),
            "no new runtime dependencies without a decision".into(),
        ],
        phases: vec![Phase {
            overlap: false,
            key: "p1".into(),
            name: "Accounts".into(),
            description: "users and login".into(),
            tasks: vec![
                task(
                    "T1",
                    "User table",
                    "Create the users table.",
                    &["src/db/**"],
                    &[],
                ),
                task(
                    "T2",
                    "Password hashing",
                    "Hash and check passwords.",
                    &["src/auth/passwords.py"],
                    &["T1"],
                ),
                task(
                    "T3",
                    "Password login",
                    "Add a login form that checks the user's password and opens a session.",
                    &["src/auth/login.py", "templates/login.html"],
                    &["T2"],
                ),
                task(
                    "T4",
                    "Landing page",
                    "Marketing landing page.",
                    &["templates/index.html"],
                    &[],
                ),
            ],
        }],
        decisions,
    }
}

fn prior(key: &str, title: &str, files: &[&str], summary: &str) -> PriorWork {
    PriorWork {
        task_key: key.into(),
        title: title.into(),
        other_plan: None,
        files: files.iter().map(|f| (*f).to_owned()).collect(),
        status: "COMPLETED".into(),
        attempts: 1,
        files_changed: files.iter().map(|f| (*f).to_owned()).collect(),
        summary: summary.into(),
        error: None,
    }
}

fn history() -> Vec<PriorWork> {
    vec![
        prior(
            "T4",
            "Landing page",
            &["templates/index.html"],
            &"Built the landing page with a hero banner. ".repeat(10),
        ),
        prior(
            "T2",
            "Password hashing",
            &["src/auth/passwords.py"],
            &"Added hash_password and check_password using argon2id. ".repeat(10),
        ),
        prior(
            "T1",
            "User table",
            &["src/db/users.py"],
            &"Created the users table with email and password hash. ".repeat(10),
        ),
    ]
}

fn docs() -> Vec<Chunk> {
    let mut docs = vec![
        Chunk {
            source: "docs/flask.md".into(),
            heading_path: vec!["Sessions".into()],
            text: "Flask sessions store the logged-in user id; call session.clear() on logout. "
                .repeat(12),
        },
        Chunk {
            source: "docs/css.md".into(),
            heading_path: vec!["Colours".into()],
            text: "Colours and fonts of the marketing site. ".repeat(12),
        },
    ];
    for i in 0..20 {
        docs.push(Chunk {
            source: format!("docs/ref{i}.md"),
            heading_path: vec![format!("Part {i}")],
            text: format!("Reference {i}: login form fields and password checks. ").repeat(15),
        });
    }
    docs
}

fn skill(name: &str, description: &str) -> Skill {
    Skill {
        name: name.into(),
        description: description.into(),
        allowed_tools: vec![],
        path: PathBuf::from(format!(".claude/skills/{name}/SKILL.md")),
        origin: "project".into(),
        extra: Default::default(),
        body: "Do the thing.".into(),
    }
}

fn skills() -> Vec<Skill> {
    (0..16)
        .map(|i| {
            skill(
                &format!("skill-{i:02}"),
                if i == 7 {
                    "Write login forms with password checks"
                } else {
                    "Optimise images for the web"
                },
            )
        })
        .collect()
}

fn build(
    plan: &PlanContent,
    key: &str,
    history: &[PriorWork],
    docs: &[Chunk],
    skills: &[Skill],
    budget: u32,
) -> SubagentContext {
    let task = plan.task(key).unwrap();
    let request = ContextRequest {
        plan,
        task,
        history,
        docs,
        skills,
        previous_error: None,
        budget,
    };
    build_context(&request, &BpeEstimator::default())
}

fn labels(context: &SubagentContext, section: &str, included: bool) -> Vec<String> {
    let items = if included {
        &context.included
    } else {
        &context.dropped
    };
    items
        .iter()
        .filter(|i| i.section == section)
        .map(|i| i.label.clone())
        .collect()
}

/// Everything the task itself says, which must survive any budget.
fn assert_mandatory(prompt: &str) {
    for needle in [
        "# Task T3: Password login",
        "Add a login form that checks the user's password",
        "src/auth/login.py",
        "Python 3.12 only",
        "pytest tests/test_auth.py",
        "ruff check src",
        "## Rules of this run",
        "`Bash(git push:*)`",
    ] {
        assert!(prompt.contains(needle), "missing {needle:?} in:\n{prompt}");
    }
}

#[test]
fn every_budget_is_respected_and_sections_drop_in_order() {
    let (plan, history, docs, skills) = (plan(), history(), docs(), skills());
    let estimator = BpeEstimator::default();
    let everything = build(&plan, "T3", &history, &docs, &skills, 1_000_000);
    assert!(everything.fits);
    let mandatory = everything.included[0].tokens;
    assert_eq!(everything.included[0].section, "task");
    // Unlimited: all of it, but the skills beyond the most relevant dozen.
    assert_eq!(
        labels(&everything, "decisions", true).len(),
        plan.decisions.len()
    );
    // Documentation sharing no word with the task stays out, whatever the room.
    assert_eq!(labels(&everything, "docs", true).len(), docs.len() - 1);
    let colours = everything
        .dropped
        .iter()
        .find(|i| i.label == "docs/css.md › Colours")
        .unwrap();
    assert_eq!(
        colours.reason.as_deref(),
        Some("not relevant to the task: no words or files in common")
    );
    assert_eq!(
        labels(&everything, "skills", true).len(),
        orchestrator::context::MAX_SKILLS
    );
    let full = everything.estimated_tokens;
    let mut seen_sizes = Vec::new();
    for budget in [
        mandatory + 10,
        mandatory + 150,
        mandatory + 600,
        mandatory + 2_000,
        mandatory + 4_000,
        full - 900,
        full - 150,
        full,
        150_000,
    ] {
        let context = build(&plan, "T3", &history, &docs, &skills, budget);
        assert!(context.fits, "budget {budget}");
        assert!(
            context.estimated_tokens <= budget,
            "{} > {budget}",
            context.estimated_tokens
        );
        assert_eq!(
            context.estimated_tokens,
            estimator.estimate(&context.prompt),
            "the estimate is of the prompt itself"
        );
        assert_mandatory(&context.prompt);
        // Order of dropping: docs first, then skills, then history, then decisions.
        let dropped = |s: &str| !labels(&context, s, false).is_empty();
        let included = |s: &str| !labels(&context, s, true).is_empty();
        if dropped("decisions") {
            assert!(
                !included("history") && !included("skills") && !included("docs"),
                "budget {budget}: {:?}",
                context.included
            );
        }
        if dropped("history") {
            assert!(!included("skills") && !included("docs"), "budget {budget}");
        }
        if labels(&context, "skills", false).len() > 4 {
            assert!(!included("docs"), "budget {budget}");
        }
        // Within a section the dropped rank no higher than the included (a truncated item is
        // the last included).
        for section in ["decisions", "history", "docs"] {
            let worst_in = context
                .included
                .iter()
                .filter(|i| i.section == section)
                .map(|i| i.score)
                .fold(f64::INFINITY, f64::min);
            for out in context.dropped.iter().filter(|i| i.section == section) {
                assert!(
                    out.score <= worst_in,
                    "budget {budget}: {} dropped above an included one",
                    out.label
                );
            }
        }
        // Everything considered is accounted for exactly once.
        let total = context.included.len() + context.dropped.len();
        assert_eq!(
            total,
            1 + plan.decisions.len() + history.len() + docs.len() + skills.len(),
            "budget {budget}"
        );
        seen_sizes.push(context.included.len());
    }
    assert!(
        seen_sizes.windows(2).all(|w| w[0] <= w[1]),
        "a bigger budget never holds less: {seen_sizes:?}"
    );
    assert!(
        seen_sizes[0] == 1 && seen_sizes[seen_sizes.len() - 1] > 60,
        "{seen_sizes:?}"
    );
}

#[test]
fn a_huge_item_is_cut_with_a_marker_not_dropped() {
    let mut plan = plan();
    plan.decisions = vec![decision(
        "D-big",
        "Login rules",
        &"The login form checks the password and rate-limits attempts per address. ".repeat(3_000),
    )];
    let context = build(&plan, "T3", &[], &[], &[], 20_000);
    assert!(context.fits && context.estimated_tokens <= 20_000);
    let big = context
        .included
        .iter()
        .find(|i| i.label == "D-big")
        .expect("the decision is kept, cut");
    assert!(
        big.reason.as_deref().unwrap().starts_with("truncated to"),
        "{big:?}"
    );
    assert!(big.tokens > 10_000, "it uses the room there is: {big:?}");
    assert!(
        context
            .prompt
            .contains("[… cut by the orchestrator to fit the context budget:")
    );
    assert_mandatory(&context.prompt);

    // With less than MIN_TRUNCATED tokens of room it is dropped, with the reason.
    let tight = build(
        &plan,
        "T3",
        &[],
        &[],
        &[],
        context.included[0].tokens + MIN_TRUNCATED / 2,
    );
    assert!(tight.included.iter().all(|i| i.section == "task"));
    assert!(
        tight.dropped[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("over the token budget"),
        "{:?}",
        tight.dropped
    );
}

#[test]
fn a_task_too_big_for_the_budget_says_so() {
    let plan = plan();
    let context = build(&plan, "T3", &history(), &docs(), &skills(), 200);
    assert!(!context.fits);
    assert!(context.estimated_tokens > 200);
    assert_mandatory(&context.prompt);
    assert!(context.included.iter().all(|i| i.section == "task"));
    let over = "the task's own part is already over the token budget";
    let other = |r: &str| r.starts_with("not among the 12") || r.starts_with("not relevant");
    assert!(
        context
            .dropped
            .iter()
            .all(|i| i.reason.as_deref() == Some(over) || other(i.reason.as_deref().unwrap()))
    );
    assert_eq!(
        context
            .dropped
            .iter()
            .filter(|i| i.reason.as_deref() == Some(over))
            .count(),
        plan.decisions.len() + 3 + 21 + 12
    );
}

#[test]
fn the_same_inputs_give_the_same_prompt_byte_for_byte() {
    let (plan, history, docs, skills) = (plan(), history(), docs(), skills());
    for budget in [3_000, 150_000] {
        let first = build(&plan, "T3", &history, &docs, &skills, budget);
        for _ in 0..3 {
            assert_eq!(build(&plan, "T3", &history, &docs, &skills, budget), first);
        }
    }
    // Equal scores keep the input order: identical filler decisions stay in plan order.
    let mut plan = plan;
    plan.decisions = (0..5)
        .map(|i| decision(&format!("E{i}"), "unrelated filler", "same words"))
        .collect();
    let context = build(&plan, "T3", &[], &[], &[], 150_000);
    assert_eq!(
        labels(&context, "decisions", true),
        ["E0", "E1", "E2", "E3", "E4"]
    );
}

#[test]
fn what_concerns_the_task_ranks_first() {
    let (plan, history, docs, skills) = (plan(), history(), docs(), skills());
    let context = build(&plan, "T3", &history, &docs, &skills, 150_000);
    let decisions = labels(&context, "decisions", true);
    let rank = |key: &str| decisions.iter().position(|d| d == key).unwrap();
    // D-hash names the task's folder and its words (password); D-logo is about nothing here.
    assert_eq!(decisions[0], "D-hash", "{decisions:?}");
    assert!(rank("D-hash") < rank("D-logo"));
    assert!(
        rank("D00") < rank("D01"),
        "a decision on login sessions outranks one on marketing pages"
    );
    // Prior work: the dependency first, then its own dependency, the unrelated task last.
    assert_eq!(labels(&context, "history", true), ["T2", "T1", "T4"]);
    // Docs: the one on sessions first; the colours not at all.
    let docs_in = labels(&context, "docs", true);
    assert_eq!(docs_in[0], "docs/flask.md › Sessions", "{docs_in:?}");
    assert!(!docs_in.iter().any(|d| d.contains("css.md")), "{docs_in:?}");
    assert_eq!(labels(&context, "skills", true)[0], "skill-07");
    // The prompt reads in the documented order, with the sources of docs.
    let at = |needle: &str| {
        context
            .prompt
            .find(needle)
            .unwrap_or_else(|| panic!("{needle} missing"))
    };
    assert!(at("## Goal of the project") < at("## Decisions that stand"));
    assert!(at("## Decisions that stand") < at("## Work done before"));
    assert!(at("## Work done before") < at("## Documentation"));
    assert!(at("## Documentation") < at("## Skills you can use"));
    assert!(at("## Skills you can use") < at("## Verification"));
    assert!(at("## Verification") < at("## Rules of this run"));
    assert!(context.prompt.contains("### D-hash: Hash passwords in src/auth/passwords.py with argon2id\n\nWhy: bcrypt truncates long passwords\nNot chosen: bcrypt — 72-byte limit"));
    assert!(context.prompt.contains("### docs/flask.md › Sessions"));
    assert!(
        context
            .prompt
            .contains("- **skill-07**: Write login forms with password checks")
    );
    assert!(
        context
            .prompt
            .contains("These tasks were completed before this one:\n\n- T2: Password hashing")
    );
}

#[test]
fn other_plans_count_only_when_they_share_files() {
    let plan = plan();
    let mut shared = prior("X1", "Old login", &["src/auth/login.py"], "An older login.");
    shared.other_plan = Some("Prototype".into());
    let mut unrelated = prior("X2", "Old blog", &["blog/**"], "A blog.");
    unrelated.other_plan = Some("Prototype".into());
    let context = build(&plan, "T3", &[shared, unrelated], &[], &[], 150_000);
    assert_eq!(labels(&context, "history", true), ["X1 (Prototype)"]);
    assert!(
        context
            .prompt
            .contains("### X1: Old login (plan “Prototype”) — COMPLETED")
    );
}

/// An estimator that counts characters: the builder works with any.
#[derive(Debug)]
struct Chars;

impl TokenEstimator for Chars {
    fn estimate(&self, text: &str) -> u32 {
        u32::try_from(text.chars().count()).unwrap()
    }
}

#[test]
fn the_estimator_can_be_swapped() {
    let (plan, history, docs) = (plan(), history(), docs());
    let task = plan.task("T3").unwrap();
    let request = ContextRequest {
        plan: &plan,
        task,
        history: &history,
        docs: &docs,
        skills: &[],
        previous_error: Some("2 tests failed"),
        budget: 9_000,
    };
    let context = build_context(&request, &Chars);
    assert!(context.prompt.chars().count() <= 9_000);
    assert_eq!(
        context.estimated_tokens as usize,
        context.prompt.chars().count()
    );
    assert!(
        context
            .prompt
            .contains("## The previous attempt failed\n\n2 tests failed")
    );
}

/// The engine gathers it all: the plan's decisions, the history of runs, the knowledge base and
/// the skills; and the CLI shows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_builds_a_tasks_context_from_the_project() {
    let project = Project::new();
    let store = project.store();
    let registered = store.ensure_project(&project.root, "project").unwrap();
    let plan_row = store
        .create_plan(registered.id, None, "Accounts", &plan(), "created")
        .unwrap();
    store
        .set_plan_status(plan_row.id, orchestrator::domain::PlanStatus::Approved)
        .unwrap();
    drop(store);
    support::write_files(
        &project.root,
        &[
            (
                "docs/guide.md",
                "# Guide\n\n## Sessions\n\nAfter a successful password check, store the user id in the session and rotate the session id.\n\n## Deployment\n\nShip the wheel to the server.\n",
            ),
            (
                ".claude/skills/login-forms/SKILL.md",
                "---\nname: login-forms\ndescription: How this team builds login forms with password checks\n---\nUse the form macro.\n",
            ),
            (".claude/skills/broken/SKILL.md", "no front matter here\n"),
            (
                ".secrets.json",
                "{\"keys\": {\"DB_PASSWORD\": \"hunter2-0f9c\"}}",
            ),
        ],
    );
    // A secret that slipped into the plan never reaches a prompt.
    let store = project.store();
    let mut leaky = plan();
    leaky.decisions[1].why = "the staging password hunter2-0f9c is shared".into();
    store
        .save_plan_version(plan_row.id, &leaky, "a leak")
        .unwrap();
    drop(store);
    let settings = orchestrator::config::Settings::load(
        &project.root,
        &|_| None,
        &orchestrator::config::Overrides {
            data_dir: Some(project.data_dir.clone()),
            tools: None,
        },
    )
    .unwrap();
    let engine = orchestrator::Orchestrator::open(settings).await.unwrap();
    engine.kb_add("docs").await.unwrap();
    engine.kb_index(None, &|_| {}).await.unwrap();

    let context = engine
        .context_for_task(plan_row.id, "T3", orchestrator::ContextFor::default())
        .await
        .unwrap();
    assert!(context.fits && context.budget == 150_000);
    assert_mandatory(&context.prompt);
    assert!(
        context.prompt.contains("rotate the session id"),
        "the guide's best section is in:\n{}",
        context.prompt
    );
    assert!(context.prompt.contains("guide.md › Guide › Sessions"));
    assert!(
        context
            .prompt
            .contains("- **login-forms**: How this team builds login forms")
    );
    assert_eq!(labels(&context, "decisions", true)[0], "D-hash");
    assert!(
        !context.prompt.contains("hunter2") && context.prompt.contains("[redacted:DB_PASSWORD]")
    );

    // A run of T2 becomes history for T3, with its checkpoint's files and last words.
    let store = project.store();
    let run = store
        .create_run(&orchestrator::store::NewRun {
            plan_id: plan_row.id,
            task_key: "T2".into(),
            agent: "claude".into(),
        })
        .unwrap();
    for status in [
        orchestrator::domain::RunStatus::Delegated,
        orchestrator::domain::RunStatus::InProgress,
        orchestrator::domain::RunStatus::Failed,
    ] {
        store
            .set_run_status(run.id, status, Some("ruff found 2 problems"))
            .unwrap();
    }
    store
        .add_checkpoint(&orchestrator::store::NewCheckpoint {
            run_id: run.id,
            reason: "end".into(),
            agent_session_id: None,
            commit: None,
            files_changed: vec!["src/auth/passwords.py".into()],
            cost_usd: 0.1,
            input_tokens: 10,
            output_tokens: 10,
            last_output: "I added hash_password with argon2id.".into(),
        })
        .unwrap();
    let context = engine
        .context_for_task(plan_row.id, "T3", orchestrator::ContextFor::default())
        .await
        .unwrap();
    assert_eq!(labels(&context, "history", true), ["T2"]);
    assert!(context.prompt.contains("### T2: Password hashing — FAILED\n\nFiles changed: src/auth/passwords.py\n\nLast error: ruff found 2 problems\n\nThe agent's last words:\n\n> I added hash_password with argon2id."), "{}", context.prompt);
    // The run itself is not its own history.
    let own = engine
        .context_for_task(
            plan_row.id,
            "T2",
            orchestrator::ContextFor {
                run: Some(run.id),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(labels(&own, "history", true).is_empty());

    // Unknown task: the error names the plan's tasks.
    let err = engine
        .context_for_task(plan_row.id, "T9", orchestrator::ContextFor::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("T9") && err.contains("T1, T2, T3, T4"),
        "{err}"
    );

    // The CLI: the prompt on stdout, the account on stderr; --json whole.
    let out = project
        .command()
        .args([
            "context",
            &plan_row.id.to_string(),
            "T3",
            "--budget",
            "3000",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stdout.starts_with("# Task T3: Password login"));
    assert!(
        stderr.contains("of 3000 tokens") && stderr.contains("dropped:"),
        "{stderr}"
    );
    let out = project
        .command()
        .args(["context", &plan_row.id.to_string(), "T3", "--json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["budget"], 150_000);
    assert!(json["estimated_tokens"].as_u64().unwrap() > 100);
    assert!(
        json["included"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["section"] == "docs")
    );
    let out = project
        .command()
        .args(["context", &plan_row.id.to_string(), "T9"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("T9"));
}
