//! File locks: the glob-overlap decision (property tests against globset), and leases in the
//! store — conflicts, shared reads, takeover after expiry, paths escaping the project.

use orchestrator::delegator::glob::overlap;
use proptest::prelude::*;

fn matcher(glob: &str) -> globset::GlobMatcher {
    globset::GlobBuilder::new(glob)
        .literal_separator(true)
        .build()
        .unwrap()
        .compile_matcher()
}

/// A segment of a glob over a small alphabet, so that overlaps are common.
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just("**".to_owned()),
        6 => proptest::collection::vec(prop_oneof![Just("a"), Just("b"), Just("*"), Just("?"), Just("[ab]"), Just("[!a]")], 1..4).prop_map(|parts| {
            let mut s = parts.concat();
            // globset refuses `**` inside a segment.
            while s.contains("**") {
                s = s.replace("**", "*");
            }
            s
        }),
    ]
}

fn glob() -> impl Strategy<Value = String> {
    proptest::collection::vec(segment(), 1..5).prop_map(|segments| {
        let mut joined = segments.join("/");
        while joined.contains("**/**") {
            joined = joined.replace("**/**", "**");
        }
        joined
    })
}

fn path() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        proptest::collection::vec(prop_oneof![Just('a'), Just('b'), Just('x')], 1..4)
            .prop_map(|c| c.into_iter().collect::<String>()),
        1..6,
    )
    .prop_map(|s| s.join("/"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// A claimed overlap comes with a path both globs match; a denied one has no such path among
    /// many tried, and the answer is the same both ways round.
    #[test]
    fn overlap_is_decided_exactly(a in glob(), b in glob(), paths in proptest::collection::vec(path(), 200)) {
        let (ma, mb) = (matcher(&a), matcher(&b));
        match overlap(&a, &b) {
            Some(witness) => {
                prop_assert!(ma.is_match(&witness) && mb.is_match(&witness), "{} vs {}: {} matches not both", a, b, witness);
            }
            None => {
                for p in &paths {
                    prop_assert!(!(ma.is_match(p) && mb.is_match(p)), "{} vs {} said apart, but {} matches both", a, b, p);
                }
            }
        }
        prop_assert_eq!(overlap(&a, &b).is_some(), overlap(&b, &a).is_some());
    }

    /// Whatever path matches a glob, the glob overlaps that path taken literally.
    #[test]
    fn a_glob_overlaps_every_path_it_matches(a in glob(), p in path()) {
        if matcher(&a).is_match(&p) {
            prop_assert!(overlap(&a, &p).is_some(), "{} matches {} but no overlap was found", a, p);
        }
    }
}

mod support;

use std::time::Duration;

use orchestrator::Orchestrator;
use orchestrator::config::{Overrides, Settings};
use orchestrator::domain::{LockMode, PlanStatus, RunEventData, RunEventKind, RunId, Timestamp};
use orchestrator::store::{NewLease, NewRun};
use serde_json::json;
use support::{Project, StdioPeer, call, structured, tool_error_text};

/// A project whose plan has tasks with overlapping, separate and escaping file sets; a run each.
async fn locked_project() -> (Project, Orchestrator, Vec<RunId>) {
    let project = Project::new();
    support::write_files(&project.root, &[("src/auth/mod.rs", ""), ("docs/a.md", "")]);
    let mut content = support::content_v1();
    let files: [&[&str]; 4] = [
        &["src/**/*.rs"],
        &["src/auth/mod.rs"],
        &["docs"],
        &["../escape/x.rs"],
    ];
    content.phases[0].tasks = files
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let mut task = support::task(&format!("T{}", i + 1), "work", &[]);
            task.files = f.iter().map(|s| (*s).to_owned()).collect();
            task
        })
        .collect();
    let store = project.store();
    let registered = store.ensure_project(&project.root, "project").unwrap();
    let plan = store
        .create_plan(registered.id, None, "Locks", &content, "created")
        .unwrap();
    store
        .set_plan_status(plan.id, PlanStatus::Approved)
        .unwrap();
    let runs = (1..=4)
        .map(|i| {
            store
                .create_run(&NewRun {
                    plan_id: plan.id,
                    task_key: format!("T{i}"),
                    agent: "claude".into(),
                })
                .unwrap()
                .id
        })
        .collect();
    drop(store);
    let overrides = Overrides {
        data_dir: Some(project.data_dir.clone()),
        tools: None,
    };
    let engine = Orchestrator::open(Settings::load(&project.root, &|_| None, &overrides).unwrap())
        .await
        .unwrap();
    (project, engine, runs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_locks_exclude_each_other_and_escapes_are_refused() {
    let (_project, engine, runs) = locked_project().await;
    let first = engine
        .lock_run(runs[0])
        .await
        .unwrap()
        .expect("nothing held yet");
    assert_eq!(
        (first[0].pattern.as_str(), first[0].mode),
        ("src/**/*.rs", LockMode::Exclusive)
    );
    // src/auth/mod.rs is inside src/**/*.rs: refused, naming the lease in the way.
    let blocked = engine
        .lock_run(runs[1])
        .await
        .unwrap()
        .expect_err("overlaps T1");
    assert_eq!(
        blocked.iter().map(|l| l.id).collect::<Vec<_>>(),
        [first[0].id]
    );
    // A folder locks what is in it; it does not meet src/.
    let docs = engine
        .lock_run(runs[2])
        .await
        .unwrap()
        .expect("docs/** is apart");
    assert_eq!(docs[0].pattern, "docs/**");
    // Taking a run's own locks again is no conflict.
    assert!(engine.lock_run(runs[0]).await.unwrap().is_ok());
    let err = engine.lock_run(runs[3]).await.unwrap_err().to_string();
    assert!(err.contains("T4") && err.contains("`..`"), "{err}");

    // Released when the run ends: then the other run gets in.
    assert_eq!(engine.unlock_run(runs[0], "run 1 ended").await.unwrap(), 2);
    let second = engine.lock_run(runs[1]).await.unwrap().expect("free now");
    assert_eq!(second[0].pattern, "src/auth/mod.rs");
    let all = engine.locks(true, 100).await.unwrap();
    assert!(
        all.iter()
            .any(|l| l.run_id == Some(runs[0])
                && l.released_reason.as_deref() == Some("run 1 ended"))
    );
    let held: Vec<String> = engine
        .locks(false, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.pattern)
        .collect();
    assert_eq!(held, ["src/auth/mod.rs", "docs/**"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_share_and_a_lapsed_lock_is_taken_over() {
    let (project, engine, runs) = locked_project().await;
    let store = engine.store().clone();
    let lease = |pattern: &str, mode, run: RunId, owner: &str, secs: f64| NewLease {
        project_id: engine.project().id,
        pattern: pattern.into(),
        mode,
        owner: owner.into(),
        run_id: Some(run),
        expires_at: Timestamp::now().plus(Duration::from_secs_f64(secs)),
    };
    let conflicts = orchestrator::delegator::locks::lease_conflicts;
    assert!(
        store
            .acquire_leases(
                &[lease("src/**", LockMode::Shared, runs[0], "a", 60.0)],
                conflicts
            )
            .unwrap()
            .is_ok()
    );
    assert!(
        store
            .acquire_leases(
                &[lease("src/auth/*", LockMode::Shared, runs[1], "b", 60.0)],
                conflicts
            )
            .unwrap()
            .is_ok(),
        "readers share"
    );
    assert!(
        store
            .acquire_leases(
                &[lease(
                    "src/auth/mod.rs",
                    LockMode::Exclusive,
                    runs[2],
                    "c",
                    60.0
                )],
                conflicts
            )
            .unwrap()
            .is_err(),
        "a writer waits for readers"
    );
    // All or none: one conflicting pattern among several writes nothing.
    let before = engine.locks(true, 100).await.unwrap().len();
    assert!(
        store
            .acquire_leases(
                &[
                    lease("docs/**", LockMode::Exclusive, runs[2], "c", 60.0),
                    lease("src/x.rs", LockMode::Exclusive, runs[2], "c", 60.0)
                ],
                conflicts
            )
            .unwrap()
            .is_err()
    );
    assert_eq!(engine.locks(true, 100).await.unwrap().len(), before);
    store.release_run_leases(runs[0], "done").unwrap();
    store.release_run_leases(runs[1], "done").unwrap();

    // An engine that died stops renewing: once its lease has run out, another run takes over.
    let stale = store
        .acquire_leases(
            &[lease(
                "docs/**",
                LockMode::Exclusive,
                runs[0],
                "dead-engine",
                0.3,
            )],
            conflicts,
        )
        .unwrap()
        .unwrap();
    assert!(
        store
            .acquire_leases(
                &[lease("docs/a.md", LockMode::Exclusive, runs[1], "b", 60.0)],
                conflicts
            )
            .unwrap()
            .is_err()
    );
    while Timestamp::now() <= stale[0].expires_at {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        store
            .renew_run_leases(
                runs[0],
                "dead-engine",
                Timestamp::now().plus(Duration::from_secs(60))
            )
            .unwrap(),
        0,
        "a lapsed lease cannot be renewed"
    );
    let taken = store
        .acquire_leases(
            &[lease("docs/a.md", LockMode::Exclusive, runs[1], "b", 60.0)],
            conflicts,
        )
        .unwrap()
        .expect("taken over");
    assert_eq!(taken[0].pattern, "docs/a.md");
    let old = engine
        .locks(true, 100)
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.id == stale[0].id)
        .unwrap();
    assert_eq!(
        old.released_reason.as_deref(),
        Some(
            format!(
                "lapsed (dead-engine stopped renewing it); taken over by run {}",
                runs[1]
            )
            .as_str()
        )
    );
    // A live lease is renewed only by the engine that holds its run.
    assert_eq!(
        store
            .renew_run_leases(
                runs[1],
                "intruder",
                Timestamp::now().plus(Duration::from_secs(120))
            )
            .unwrap(),
        0
    );
    assert!(
        store
            .claim_run(
                runs[1],
                "new-engine",
                Timestamp::now().plus(Duration::from_secs(120))
            )
            .unwrap()
    );
    assert_eq!(
        store
            .renew_run_leases(
                runs[1],
                "new-engine",
                Timestamp::now().plus(Duration::from_secs(120))
            )
            .unwrap(),
        1
    );

    // The CLI lists and releases (a reason is required).
    let out = project.command().args(["locks"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("docs/a.md") && text.contains("held by new-engine"),
        "{text}"
    );
    let out = project
        .command()
        .args(["locks", "release", &taken[0].id.to_string()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "no reason: a usage error");
    let out = project
        .command()
        .args([
            "locks",
            "release",
            &taken[0].id.to_string(),
            "--reason",
            "stuck run",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("released by a person: stuck run"));
    let out = project
        .command()
        .args(["locks", "list", "--all", "--json"])
        .output()
        .unwrap();
    let all: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .any(|l| l["released_reason"] == "released by a person: stuck run")
    );
    let out = project
        .command()
        .args([
            "locks",
            "release",
            &taken[0].id.to_string(),
            "--reason",
            "again",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no longer in force"));

    // MCP (all profile).
    store
        .acquire_leases(
            &[lease("docs/b.md", LockMode::Exclusive, runs[2], "c", 60.0)],
            conflicts,
        )
        .unwrap()
        .unwrap();
    let mut cmd = project.command();
    cmd.args(["serve", "--tools", "all"]);
    let mut peer = StdioPeer::spawn(cmd);
    peer.initialize();
    let listed = call(&mut peer, 2, "locks", json!({}));
    let locks = structured(&listed)["locks"].as_array().unwrap().clone();
    assert_eq!(locks.len(), 1);
    assert_eq!(locks[0]["pattern"], "docs/b.md");
    let no_reason = call(&mut peer, 3, "locks", json!({"release": locks[0]["id"]}));
    assert!(tool_error_text(&no_reason).contains("reason"));
    let released = call(
        &mut peer,
        4,
        "locks",
        json!({"release": locks[0]["id"], "reason": "the user asked"}),
    );
    assert_eq!(
        structured(&released)["released"]["released_reason"],
        "released by a person: the user asked"
    );
    assert!(
        structured(&released)["locks"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let unknown = call(
        &mut peer,
        5,
        "locks",
        json!({"release": 999, "reason": "x"}),
    );
    assert!(tool_error_text(&unknown).contains("999"));
    peer.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_of_a_folder_share_it_and_keep_writers_out() {
    let project = Project::new();
    let mut content = support::content_v1();
    let spec: [(&[&str], &[&str]); 3] = [
        (&["src/a.rs"], &["docs/**"]),
        (&["src/b.rs"], &["docs/**"]),
        (&["docs/x.md"], &[]),
    ];
    content.phases[0].tasks = spec
        .iter()
        .enumerate()
        .map(|(i, (files, reads))| {
            let mut task = support::task(&format!("R{}", i + 1), "work", &[]);
            task.files = files.iter().map(|s| (*s).to_owned()).collect();
            task.reads = reads.iter().map(|s| (*s).to_owned()).collect();
            task
        })
        .collect();
    content.phases[0].overlap = true;
    let store = project.store();
    let registered = store.ensure_project(&project.root, "project").unwrap();
    let plan = store
        .create_plan(registered.id, None, "Readers", &content, "created")
        .unwrap();
    store
        .set_plan_status(plan.id, PlanStatus::Approved)
        .unwrap();
    // Stored and read back with the new fields.
    let stored = store.plan_version(plan.id, None).unwrap().content;
    assert_eq!(stored.task("R1").unwrap().reads, ["docs/**"]);
    assert!(stored.phases[0].overlap);
    let runs: Vec<RunId> = (1..=3)
        .map(|i| {
            store
                .create_run(&NewRun {
                    plan_id: plan.id,
                    task_key: format!("R{i}"),
                    agent: "claude".into(),
                })
                .unwrap()
                .id
        })
        .collect();
    drop(store);
    let overrides = Overrides {
        data_dir: Some(project.data_dir.clone()),
        tools: None,
    };
    let engine = Orchestrator::open(Settings::load(&project.root, &|_| None, &overrides).unwrap())
        .await
        .unwrap();
    let one = engine
        .lock_run(runs[0])
        .await
        .unwrap()
        .expect("first reader");
    assert!(
        one.iter()
            .any(|l| l.pattern == "docs/**" && l.mode == LockMode::Shared)
    );
    assert!(
        engine.lock_run(runs[1]).await.unwrap().is_ok(),
        "readers share docs/**"
    );
    let blocked = engine
        .lock_run(runs[2])
        .await
        .unwrap()
        .expect_err("a writer of docs/x.md waits for the readers");
    assert_eq!(blocked.len(), 2);
    // The prompt says what to read and leave alone.
    let context = engine
        .context_for_task(plan.id, "R1", orchestrator::ContextFor::default())
        .await
        .unwrap();
    assert!(
        context.prompt.contains(
            "Files to read but not change (no other task changes them while you work):\n\n- docs/**"
        ),
        "{}",
        context.prompt
    );
}

/// Another engine takes a run over while this one still supervises it (this one was thought
/// dead): at the next heartbeat this one stops its agent and leaves the run, its locks and its
/// status to the new owner — two agents never work on one task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_that_loses_its_run_stops_its_agent() {
    let project = Project::new();
    support::write_files(
        &project.root,
        &[(
            "orchestrator.toml",
            "[agent]\ncommand = \"sh\"\nkind = \"command\"\nargs = [\"-c\", \"echo started; exec sleep 60\"]\n[supervisor]\nmonitor_interval_secs = 1\nstall_timeout_secs = 120\n",
        )],
    );
    let store = project.store();
    let registered = store.ensure_project(&project.root, "project").unwrap();
    let plan = store
        .create_plan(
            registered.id,
            None,
            "Lease",
            &support::content_v1(),
            "created",
        )
        .unwrap();
    store
        .set_plan_status(plan.id, PlanStatus::Approved)
        .unwrap();
    let run = store
        .create_run(&NewRun {
            plan_id: plan.id,
            task_key: "T1".into(),
            agent: "command".into(),
        })
        .unwrap();
    let overrides = Overrides {
        data_dir: Some(project.data_dir.clone()),
        tools: None,
    };
    let engine = Orchestrator::open(Settings::load(&project.root, &|_| None, &overrides).unwrap())
        .await
        .unwrap();
    let (started_tx, mut started) = tokio::sync::mpsc::unbounded_channel();
    let supervising = {
        let engine = engine.clone();
        tokio::spawn(async move {
            engine
                .supervise_run(
                    run.id,
                    tokio_util::sync::CancellationToken::new(),
                    &move |e| {
                        if let RunEventData::AgentStarted { pid } = e.data {
                            let _ = started_tx.send(pid);
                        }
                    },
                )
                .await
        })
    };
    let pid = tokio::time::timeout(Duration::from_secs(30), started.recv())
        .await
        .unwrap()
        .flatten()
        .expect("the agent's pid") as i32;
    // The take-over, as another engine's claim after this one's lease was thought lapsed.
    let mine = store.run(run.id).unwrap().lease_owner.unwrap();
    store.release_run(run.id, &mine).unwrap();
    assert!(
        store
            .claim_run(
                run.id,
                "elsewhere:1:newowner",
                Timestamp::now().plus(Duration::from_secs(600))
            )
            .unwrap()
    );
    let ended = tokio::time::timeout(Duration::from_secs(30), supervising)
        .await
        .expect("the supervisor let go")
        .unwrap()
        .unwrap();
    assert_eq!(ended.status, orchestrator::domain::RunStatus::InProgress);
    assert_eq!(ended.lease_owner.as_deref(), Some("elsewhere:1:newowner"));
    let kinds: Vec<_> = engine
        .run_events(run.id, 0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| e.kind())
        .collect();
    assert!(kinds.contains(&RunEventKind::LeaseLost), "{kinds:?}");
    // Its agent is gone.
    let alive = std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ");
    assert!(!alive, "the agent {pid} still runs");
}
