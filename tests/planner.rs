//! The planner as a library: project analysis on fixture projects, every validation rule, a
//! restart and an interrupted step in the middle of a session, answer revisions, versions and
//! decisions.

mod support;

use std::path::Path;

use orchestrator::domain::{
    Decision, DraftSource, Phase, PlanContent, PlanStatus, QuestionId, RejectedAlternative,
    SessionStatus, Task,
};
use orchestrator::planner::analysis::analyze;
use orchestrator::planner::validate::validate;
use orchestrator::planner::{NewDecision, Planner, SessionView};
use orchestrator::store::Store;
use support::{PYTHON_PROJECT, Project, RUST_PROJECT, write_files};

fn commands(tools: &[orchestrator::planner::analysis::DetectedTool]) -> Vec<&str> {
    tools.iter().map(|t| t.command.as_str()).collect()
}

#[test]
fn analysis_finds_languages_tools_ci_and_docs_in_fixture_projects() {
    let python = tempfile::tempdir().unwrap();
    write_files(python.path(), PYTHON_PROJECT);
    write_files(
        python.path(),
        &[(".bandit", "[bandit]\n"), ("docs/usage.md", "# Usage\n")],
    );
    let a = analyze(python.path());
    assert_eq!(a.languages, ["Python"]);
    assert_eq!(commands(&a.test_tools), ["pytest"]);
    assert_eq!(
        a.test_tools[0].evidence,
        "pyproject.toml [tool.pytest.ini_options]"
    );
    assert_eq!(commands(&a.lint_tools), ["ruff check ."]);
    assert_eq!(commands(&a.type_checkers), ["mypy ."]);
    assert_eq!(commands(&a.security_tools), ["bandit -r ."]);
    assert_eq!(a.ci, [".github/workflows/ci.yml"]);
    assert_eq!(a.docs, ["README.md", "docs/usage.md"]);
    assert_eq!(
        (a.source_dirs.as_slice(), a.test_dirs.as_slice()),
        (&["src".to_string()][..], &["tests".to_string()][..])
    );

    let rust = tempfile::tempdir().unwrap();
    write_files(rust.path(), RUST_PROJECT);
    write_files(
        rust.path(),
        &[("target/debug/build.rs", "ignored"), ("deny.toml", "")],
    );
    let a = analyze(rust.path());
    assert_eq!(a.languages, ["Rust"]);
    assert_eq!(commands(&a.build_systems), ["cargo build"]);
    assert_eq!(commands(&a.test_tools), ["cargo test"]);
    assert_eq!(
        commands(&a.lint_tools),
        [
            "cargo clippy --all-targets -- -D warnings",
            "cargo fmt --check"
        ]
    );
    assert_eq!(a.lint_tools[1].evidence, "rustfmt.toml");
    assert_eq!(commands(&a.security_tools), ["cargo deny check"]);
    assert_eq!(a.files_seen, 5, "target/ is skipped");

    let node = tempfile::tempdir().unwrap();
    write_files(
        node.path(),
        &[
            (
                "package.json",
                r#"{"scripts": {"test": "vitest run"}, "devDependencies": {"eslint": "9"}}"#,
            ),
            ("tsconfig.json", "{}"),
            ("pnpm-lock.yaml", ""),
            ("src/index.ts", "export {}"),
            ("node_modules/x/index.js", "ignored"),
            ("go.mod", "module x"),
            ("cmd/main.go", "package main"),
        ],
    );
    let a = analyze(node.path());
    assert_eq!(a.languages, ["Go", "TypeScript"]);
    assert_eq!(commands(&a.test_tools), ["pnpm test", "go test ./..."]);
    assert_eq!(commands(&a.lint_tools), ["npx eslint .", "go vet ./..."]);
    assert_eq!(commands(&a.type_checkers), ["npx tsc --noEmit"]);

    let empty = tempfile::tempdir().unwrap();
    let a = analyze(empty.path());
    assert!(a.is_empty() && a.languages.is_empty() && a.test_tools.is_empty());
    assert_eq!(
        a.summary(),
        ["The project folder is empty: nothing to build on yet."]
    );
}

fn task(key: &str, files: &[&str], depends_on: &[&str]) -> Task {
    Task {
        reads: Vec::new(),
        key: key.into(),
        title: format!("Task {key}"),
        description: "Do it.".into(),
        files: files.iter().map(|f| f.to_string()).collect(),
        depends_on: depends_on.iter().map(|d| d.to_string()).collect(),
        verification: vec!["pytest".into()],
        rules: Default::default(),
    }
}

fn valid() -> PlanContent {
    PlanContent {
        goal: "A thing".into(),
        success_criteria: vec!["It works".into()],
        constraints: vec!["Python".into()],
        phases: vec![
            Phase {
                overlap: false,
                key: "p1".into(),
                name: "One".into(),
                description: String::new(),
                tasks: vec![task("T1", &["src/a.py"], &[])],
            },
            Phase {
                overlap: false,
                key: "p2".into(),
                name: "Two".into(),
                description: String::new(),
                tasks: vec![
                    task("T2", &["src/b/**/*.py"], &["T1"]),
                    task("T3", &["src/c.py"], &["T1"]),
                ],
            },
        ],
        decisions: vec![Decision {
            key: "D1".into(),
            what: "Use Python".into(),
            why: "It is there".into(),
            rejected_alternatives: vec![RejectedAlternative {
                option: "Go".into(),
                reason: "Nobody knows it".into(),
            }],
        }],
    }
}

#[test]
fn every_validation_rule_reports_where_and_how_to_fix() {
    let project = tempfile::tempdir().unwrap();
    let root = project.path().canonicalize().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), root.join("link")).unwrap();
    std::fs::create_dir(root.join("inside")).unwrap();
    std::os::unix::fs::symlink(root.join("inside"), root.join("local")).unwrap();
    assert_eq!(
        validate(&valid(), &root),
        vec![],
        "the valid draft is valid"
    );
    let mut ok = valid();
    ok.phases[1].tasks[0].files = vec!["local/x.py".into(), "src/{a,b}/*.py".into()];
    assert_eq!(
        validate(&ok, &root),
        vec![],
        "a symlink inside the project is fine"
    );

    type Break = fn(&mut PlanContent);
    let cases: Vec<(&str, Break, &str, &str)> = vec![
        (
            "empty goal",
            |c| c.goal = " ".into(),
            "goal",
            "the goal is empty",
        ),
        (
            "no criteria",
            |c| c.success_criteria.clear(),
            "success_criteria",
            "no success criteria",
        ),
        (
            "no constraints",
            |c| c.constraints = vec!["".into()],
            "constraints",
            "no constraints",
        ),
        ("no phases", |c| c.phases.clear(), "phases", "no phases"),
        (
            "empty phase",
            |c| c.phases[1].tasks.clear(),
            "phases[1] (p2)",
            "the phase has no tasks",
        ),
        (
            "phase key twice",
            |c| c.phases[1].key = "p1".into(),
            "phases[1] (p1)",
            "`p1` is used twice",
        ),
        (
            "phase without name",
            |c| c.phases[0].name.clear(),
            "phases[0] (p1)",
            "no name",
        ),
        (
            "task key twice",
            |c| c.phases[1].tasks[1].key = "T1".into(),
            "phases[1] (p2).tasks[1] (T1)",
            "`T1` is used twice",
        ),
        (
            "task without title",
            |c| c.phases[0].tasks[0].title.clear(),
            "phases[0] (p1).tasks[0] (T1)",
            "no title",
        ),
        (
            "task without description",
            |c| c.phases[0].tasks[0].description.clear(),
            "phases[0] (p1).tasks[0] (T1)",
            "no description",
        ),
        (
            "task without files",
            |c| c.phases[0].tasks[0].files.clear(),
            "phases[0] (p1).tasks[0] (T1).files",
            "names no files",
        ),
        (
            "task without verification",
            |c| c.phases[0].tasks[0].verification.clear(),
            "(T1).verification",
            "no verification steps",
        ),
        (
            "bad task rule",
            |c| {
                c.phases[0].tasks[0].rules.deny =
                    vec!["Bash(git push:*)".into(), "Edit(../x)".into()]
            },
            "(T1).rules.deny[1]",
            "bad rule `Edit(../x)`",
        ),
        (
            "absolute path",
            |c| c.phases[0].tasks[0].files = vec!["/etc/passwd".into()],
            "(T1).files[0]",
            "not relative to the project",
        ),
        (
            "home path",
            |c| c.phases[0].tasks[0].files = vec!["~/.ssh/id_rsa".into()],
            "(T1).files[0]",
            "not relative",
        ),
        (
            "escaping path",
            |c| c.phases[0].tasks[0].files = vec!["src/../../x.py".into()],
            "(T1).files[0]",
            "leads outside the project",
        ),
        (
            "escaping choice",
            |c| c.phases[0].tasks[0].files = vec!["{../../etc/passwd,src/a.py}".into()],
            "(T1).files[0]",
            "has `..` among its choices",
        ),
        (
            "escaping nested choice",
            |c| c.phases[0].tasks[0].files = vec!["src/{a,../../../etc}/passwd".into()],
            "(T1).files[0]",
            "has `..` among its choices",
        ),
        (
            "huge glob",
            |c| c.phases[0].tasks[0].files = vec!["a/".repeat(20_000)],
            "(T1).files[0]",
            "a file glob of 40000 characters is too long (at most 1024)",
        ),
        (
            "into .git",
            |c| c.phases[0].tasks[0].files = vec![".git/config".into()],
            "(T1).files[0]",
            "inside .git",
        ),
        (
            "bad glob",
            |c| c.phases[0].tasks[0].files = vec!["src/[a.py".into()],
            "(T1).files[0]",
            "not a valid glob",
        ),
        (
            "symlink out",
            |c| c.phases[0].tasks[0].files = vec!["link/x.py".into()],
            "(T1).files[0]",
            "through the symlink link",
        ),
        (
            "unknown dependency",
            |c| c.phases[1].tasks[0].depends_on = vec!["T9".into()],
            "(T2).depends_on[0]",
            "`T9` is not a task of this plan",
        ),
        (
            "self dependency",
            |c| c.phases[1].tasks[0].depends_on = vec!["T2".into()],
            "(T2).depends_on[0]",
            "depends on itself",
        ),
        (
            "later phase",
            |c| c.phases[0].tasks[0].depends_on = vec!["T3".into()],
            "(T1).depends_on[0]",
            "`T3` is in a later phase (`p2`)",
        ),
        (
            "decision without why",
            |c| c.decisions[0].why.clear(),
            "decisions[0] (D1)",
            "gives no reason",
        ),
        (
            "alternative without reason",
            |c| c.decisions[0].rejected_alternatives[0].reason.clear(),
            "decisions[0] (D1).rejected_alternatives[0]",
            "both the option and the reason",
        ),
    ];
    for (name, breaks, location, message) in cases {
        let mut draft = valid();
        breaks(&mut draft);
        let problems = validate(&draft, &root);
        assert!(
            problems.iter().any(|p| p.location.contains(location)
                && p.message.contains(message)
                && !p.fix.is_empty()),
            "{name}: expected `{location}`: {message}; got {problems:#?}"
        );
    }
}

#[test]
fn a_dependency_cycle_is_reported_once_with_its_path() {
    let mut draft = valid();
    draft.phases[1].tasks[0].depends_on = vec!["T3".into()];
    draft.phases[1].tasks[1].depends_on = vec!["T4".into()];
    draft.phases[1]
        .tasks
        .push(task("T4", &["src/d.py"], &["T2"]));
    let problems = validate(&draft, Path::new("/nonexistent"));
    let cycles: Vec<_> = problems
        .iter()
        .filter(|p| p.message.contains("cycle"))
        .collect();
    assert_eq!(cycles.len(), 1, "{problems:#?}");
    assert!(
        cycles[0].message.ends_with("T2 → T3 → T4 → T2"),
        "{}",
        cycles[0].message
    );
    assert_eq!(
        orchestrator::planner::validate::dependency_waves(&draft),
        vec![vec!["T1".to_string()]]
    );
}

fn planner_store(project: &Project) -> (Store, orchestrator::domain::Project) {
    let store = project.store();
    let registered = store.ensure_project(&project.root, "project").unwrap();
    (store, registered)
}

/// Answers every open question clearly ("1" picks the first suggestion).
fn answer_all(planner: &Planner<'_>, mut view: SessionView) -> SessionView {
    while view.session.status == SessionStatus::GatheringRequirements {
        let answers: Vec<(QuestionId, String)> = view
            .next_questions
            .iter()
            .map(|q| {
                let text = match q.topic.as_str() {
                    "requirements.features" => "Import a CSV; Export a report",
                    "architecture.shape" => "src/report/",
                    "verification.success" => "The report matches the sample",
                    _ => "1",
                };
                (q.id, text.to_string())
            })
            .collect();
        view = planner.answer(view.session.id, &answers).unwrap().session;
    }
    view
}

#[test]
fn a_session_survives_a_restart_and_completes_an_interrupted_step() {
    let project = Project::new();
    write_files(&project.root, PYTHON_PROJECT);
    let (id, first_question) = {
        let (store, registered) = planner_store(&project);
        let planner = Planner::new(&store, &registered);
        let view = planner.start("A report generator").unwrap();
        let q = view.next_questions[0].clone();
        planner
            .answer(view.session.id, &[(q.id, "2".into())])
            .unwrap();
        (view.session.id, q)
    }; // the store is closed here, as when the process ends

    let (store, registered) = planner_store(&project);
    let planner = Planner::new(&store, &registered);
    let view = planner.view(id).unwrap();
    assert_eq!(
        view.topics[0].answer.as_deref(),
        Some(first_question.suggestions[1].as_str())
    );
    assert_eq!(
        view.analysis.languages,
        ["Python"],
        "the analysis is kept with the session"
    );

    // The process died after storing a vague answer but before asking its follow-up.
    let features = view
        .topics
        .iter()
        .find(|t| t.topic == "requirements.features")
        .unwrap();
    store
        .add_answers(id, &[(features.question_id, "idk".into())])
        .unwrap();
    let view = planner.view(id).unwrap();
    let follow_up = view
        .next_questions
        .iter()
        .find(|q| q.follow_up_of == Some(features.question_id));
    assert!(
        follow_up.is_some(),
        "the follow-up is asked on resume: {:?}",
        view.next_questions
    );
    let again = planner.view(id).unwrap();
    assert_eq!(again.next_questions, view.next_questions, "and only once");

    // Revising an answer keeps the earlier one as history; the newest counts.
    planner
        .answer(
            id,
            &[(first_question.id, "Analysts, from a notebook".into())],
        )
        .unwrap();
    let history: Vec<String> = store
        .answers(id)
        .unwrap()
        .into_iter()
        .filter(|a| a.question_id == first_question.id)
        .map(|a| a.text)
        .collect();
    assert_eq!(
        history,
        [
            first_question.suggestions[1].clone(),
            "Analysts, from a notebook".into()
        ]
    );
    assert_eq!(
        planner.view(id).unwrap().topics[0].answer.as_deref(),
        Some("Analysts, from a notebook")
    );

    let view = answer_all(&planner, planner.view(id).unwrap());
    assert_eq!(view.session.status, SessionStatus::Designing);
    assert!(view.research.is_some() && view.brief.is_some());

    // The process died between RESEARCHING and DESIGNING: resuming finishes the research.
    let other = planner.start("Another report").unwrap();
    let other = answer_all(&planner, other);
    let log = store.session_log(other.session.id, Some("status")).unwrap();
    let steps: Vec<&str> = log
        .iter()
        .map(|e| e.payload["to"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        ["RESEARCHING", "DESIGNING"],
        "each phase change is logged"
    );
    let stuck = planner.start("A third report").unwrap();
    store
        .set_session_status(stuck.session.id, SessionStatus::Researching, None)
        .unwrap();
    let resumed = planner.view(stuck.session.id).unwrap();
    assert_eq!(resumed.session.status, SessionStatus::Designing);
    assert!(resumed.research.is_some());

    // Oversized answers are refused with nothing stored.
    let before = store.answers(id).unwrap().len();
    let huge = "x".repeat(10_001);
    let err = planner
        .answer(id, &[(first_question.id, huge)])
        .unwrap_err();
    assert!(
        err.to_string().contains("longer than 10000 characters"),
        "{err}"
    );
    assert_eq!(store.answers(id).unwrap().len(), before);

    // Sessions are this project's own.
    let elsewhere = store
        .ensure_project(Path::new("/somewhere/else"), "else")
        .unwrap();
    let foreign = Planner::new(&store, &elsewhere);
    assert!(
        foreign
            .view(id)
            .unwrap_err()
            .to_string()
            .contains("belongs to another project")
    );
}

#[test]
fn approval_freezes_version_one_and_decisions_make_new_versions() {
    let project = Project::new();
    let (store, registered) = planner_store(&project);
    let planner = Planner::new(&store, &registered);
    let view = answer_all(
        &planner,
        planner.start("A report generator. It reads CSV.").unwrap(),
    );
    let id = view.session.id;

    let skeleton = planner.skeleton(id).unwrap();
    assert_eq!(
        skeleton,
        planner.skeleton(id).unwrap(),
        "the skeleton is deterministic"
    );
    let mut broken = skeleton.clone();
    broken.phases[0].tasks[0].files = vec!["../x".into()];
    let rejected = planner
        .submit(id, DraftSource::McpClient, broken, "first try")
        .unwrap();
    assert!(!rejected.accepted);
    assert!(
        planner
            .approve(id, None)
            .unwrap_err()
            .to_string()
            .contains("not REVIEWING")
    );
    let accepted = planner
        .submit(id, DraftSource::Skeleton, skeleton, "skeleton")
        .unwrap();
    assert!(accepted.accepted);
    assert_eq!(accepted.draft.number, 2);

    let decided = planner
        .decide(
            id,
            NewDecision {
                what: "Use the csv module".into(),
                why: "Standard library".into(),
                rejected_alternatives: vec![],
            },
        )
        .unwrap();
    let key = decided.draft.content.decisions.last().unwrap().key.clone();
    assert_eq!(decided.draft.number, 3);
    assert!(
        planner
            .decide(
                id,
                NewDecision {
                    what: "".into(),
                    why: "x".into(),
                    rejected_alternatives: vec![]
                }
            )
            .is_err()
    );

    let v1 = planner.approve(id, None).unwrap();
    assert_eq!(v1.version, 1);
    assert_eq!(v1.note, "approved (draft 3, skeleton)");
    assert_eq!(v1.content, decided.draft.content);
    let plan = store.plan(v1.plan_id).unwrap();
    assert_eq!(plan.status, PlanStatus::Approved);
    assert_eq!(
        plan.title, "A report generator",
        "the goal's first sentence"
    );
    assert_eq!(plan.session_id, Some(id));
    let session = store.session(id).unwrap();
    assert_eq!(
        (session.status, session.plan_id),
        (SessionStatus::Approved, Some(v1.plan_id))
    );
    assert!(
        planner
            .answer(id, &[(view.topics[0].question_id, "x".into())])
            .is_err(),
        "approved sessions are frozen"
    );

    let v2 = planner
        .decide_on_plan(
            v1.plan_id,
            NewDecision {
                what: "Write the report as HTML".into(),
                why: "It opens anywhere".into(),
                rejected_alternatives: vec![RejectedAlternative {
                    option: "PDF".into(),
                    reason: "Needs a renderer".into(),
                }],
            },
        )
        .unwrap();
    assert_eq!(v2.version, 2);
    let new_key = &v2.content.decisions.last().unwrap().key;
    assert_ne!(new_key, &key, "decision keys stay unique");
    let diff = orchestrator::domain::diff_content(1, &v1.content, 2, &v2.content);
    assert_eq!(diff.decisions.len(), 1);
    assert_eq!(&diff.decisions[0].key, new_key);
    assert_eq!(store.plan_history(v1.plan_id).unwrap().len(), 2);
}

#[test]
fn writers_answering_one_session_at_once_ask_each_follow_up_once() {
    let project = Project::new();
    let (store, registered) = planner_store(&project);
    let planner = Planner::new(&store, &registered);
    let view = planner.start("A report generator").unwrap();
    let id = view.session.id;
    let features = view
        .topics
        .iter()
        .find(|t| t.topic == "requirements.features")
        .unwrap()
        .question_id;
    // Each thread has its own connection, as separate processes would.
    let start = std::sync::Barrier::new(6);
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6)
            .map(|_| {
                let (db, root, start) = (project.db(), project.root.clone(), &start);
                scope.spawn(move || {
                    let store = Store::open(&db).unwrap();
                    let registered = store.ensure_project(&root, "project").unwrap();
                    start.wait();
                    Planner::new(&store, &registered)
                        .answer(id, &[(features, "idk".into())])
                        .map(|_| ())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let follow_ups: Vec<_> = store
        .questions(id)
        .unwrap()
        .into_iter()
        .filter(|q| q.follow_up_of == Some(features))
        .collect();
    assert_eq!(follow_ups.len(), 1, "{follow_ups:#?}");
    assert_eq!(store.answers(id).unwrap().len(), 6, "every answer is kept");

    // The guard itself: a follow-up still waiting is not asked again, whoever asks.
    let again = orchestrator::planner::questions::follow_up(
        &store.questions(id).unwrap()[1],
        0,
        "it leaves the decision open",
    )
    .unwrap();
    assert_eq!(
        store.add_follow_ups(std::slice::from_ref(&again)).unwrap(),
        vec![]
    );
    store
        .add_answers(id, &[(follow_ups[0].id, "dunno".into())])
        .unwrap();
    assert_eq!(
        store.add_follow_ups(&[again]).unwrap(),
        vec![],
        "nor one with the same text"
    );
    let second =
        orchestrator::planner::questions::follow_up(&store.questions(id).unwrap()[1], 1, "x")
            .unwrap();
    assert_eq!(store.add_follow_ups(&[second]).unwrap().len(), 1);
}
