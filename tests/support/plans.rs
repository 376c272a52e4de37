//! A plan on a fixture git project, run by the built binary with the real Claude Code CLI against
//! the fake API (one script per task): shared by the plan-run and dashboard tests.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use orchestrator::domain::{Phase, PlanContent, PlanId, PlanStatus, Task};
use serde_json::Value;

use super::fake_api::{FakeApi, Step};
use super::{Project, git};

pub fn task(key: &str, files: &[&str], depends_on: &[&str]) -> Task {
    Task {
        reads: Vec::new(),
        key: key.into(),
        title: format!("Task {key}"),
        description: format!("Do the work of {key}."),
        files: files.iter().map(|f| (*f).to_owned()).collect(),
        depends_on: depends_on.iter().map(|d| (*d).to_owned()).collect(),
        verification: vec!["the checks pass".into()],
        rules: Default::default(),
    }
}

pub struct Fixture {
    pub project: Project,
    pub api: FakeApi,
    pub plan: PlanId,
    pub markers: PathBuf,
}

/// Waits (in the agent's shell) for the test to say go; prints whether it was met.
pub fn wait_for_go(markers: &Path, name: &str) -> Step {
    Step::bash(&format!(
        "for i in $(seq 1200); do [ -f {}/{name} ] && echo met && exit 0; sleep 0.1; done; echo alone",
        markers.display()
    ))
}

/// Writes `file` with `text` in the agent's own tree (its working directory).
pub fn write(file: &str, text: &str) -> Step {
    let dir = Path::new(file)
        .parent()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    if dir.is_empty() {
        Step::bash(&format!("printf '{text}\\n' > {file}"))
    } else {
        Step::bash(&format!("mkdir -p {dir} && printf '{text}\\n' > {file}"))
    }
}

/// A git project on `main`, a plan of `tasks` (approved), one script per task, and checks: the
/// `bad` check fails when any file under `v/` says "bad".
pub fn fixture(
    tasks: Vec<Task>,
    scripts: impl FnOnce(&Path) -> Vec<(&'static str, Vec<Step>)>,
    extra: &str,
) -> Fixture {
    let project = Project::new();
    let markers = project.dir.path().join("markers");
    std::fs::create_dir_all(&markers).unwrap();
    let api = FakeApi::start_per_task(scripts(&markers));
    let home = project.dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let root = &project.root;
    let claude = super::tool("npm/node_modules/.bin/claude");
    let env = api.toml_env(&home);
    let config = format!(
        "[agent]\ncommand = {claude:?}\nmax_turns = 20\n[agent.env]\n{env}\n[supervisor]\nmonitor_interval_secs = 1\nstall_timeout_secs = 120\nretry_backoff_secs = 0\nmax_retries = 1\n[verifier]\nchecks = [\"bad\"]\n[verifier.check.bad]\ncommand = [\"sh\", \"-c\", \"! grep -rqs bad v\"]\n{extra}"
    );
    std::fs::write(root.join("orchestrator.toml"), config).unwrap();
    std::fs::write(root.join("README.md"), "# demo\n").unwrap();
    std::fs::write(root.join("x.txt"), "base\n").unwrap();
    std::fs::write(root.join(".gitignore"), ".secrets.json\n").unwrap();
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "start"]);
    super::write_secrets(
        root,
        r#"{"keys": {"ANTHROPIC_API_KEY": "sk-fake-plan-run-key"}}"#,
    );
    let store = project.store();
    let registered = store.ensure_project(root, "project").unwrap();
    let content = PlanContent {
        goal: "Build it in parallel".into(),
        phases: vec![Phase {
            overlap: false,
            key: "p1".into(),
            name: "All".into(),
            description: String::new(),
            tasks,
        }],
        ..PlanContent::default()
    };
    let plan = store
        .create_plan(registered.id, None, "Parallel", &content, "created")
        .unwrap();
    store
        .set_plan_status(plan.id, PlanStatus::Approved)
        .unwrap();
    Fixture {
        project,
        api,
        plan: plan.id,
        markers,
    }
}

impl Fixture {
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = self.project.command();
        cmd.args(args);
        cmd
    }

    pub fn start_run(&self) -> Child {
        self.cmd(&["run", &self.plan.to_string(), "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    pub fn runs(&self) -> Vec<Value> {
        let out = self.cmd(&["runs", "list", "--json"]).output().unwrap();
        serde_json::from_slice(&out.stdout).unwrap_or_default()
    }

    pub fn events(&self, run: u64) -> Vec<Value> {
        let out = self
            .cmd(&["runs", "events", &run.to_string(), "--json"])
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Waits until every task in `tasks` has a run in progress at the same time, then says go.
    pub fn go_together(&self, tasks: &[&str], child: &mut Child) {
        wait_runs(self, child, &format!("{tasks:?} ran together"), |runs| {
            tasks.iter().all(|t| {
                runs.iter()
                    .any(|r| r["task_key"] == *t && r["status"] == "IN_PROGRESS")
            })
        });
        for t in tasks {
            std::fs::write(self.markers.join(format!("{t}-go")), "").unwrap();
        }
    }

    pub fn finish(&self, child: Child) -> (Output, Value) {
        let out = child.wait_with_output().unwrap();
        let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out, report)
    }
}

pub fn explain(out: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The interval a run was at work: from its first attempt (its locks taken, its agent started)
/// to its last event.
pub fn span(events: &[Value]) -> (String, String) {
    let at = |e: &Value| e["at"].as_str().unwrap().to_owned();
    let start = events
        .iter()
        .find(|e| e["kind"] == "attempt_started")
        .expect("the run started");
    (at(start), at(events.last().unwrap()))
}

/// Waits until `check` holds on the list of runs, failing if the plan run ends first.
pub fn wait_runs(f: &Fixture, child: &mut Child, what: &str, check: impl Fn(&[Value]) -> bool) {
    let start = Instant::now();
    loop {
        let runs = f.runs();
        if check(&runs) {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the plan run ended ({status}) before {what}: {runs:#?}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "never {what}: {runs:#?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn status_of<'a>(runs: &'a [Value], task: &str) -> Vec<&'a str> {
    runs.iter()
        .filter(|r| r["task_key"] == task)
        .map(|r| r["status"].as_str().unwrap())
        .collect()
}
