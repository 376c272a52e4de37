//! The [`Orchestrator`]: the one API every front end (MCP, CLI, dashboard) and library user calls.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use schemars::JsonSchema;
use serde::Serialize;

use crate::config::Settings;
use crate::domain::{
    Plan, PlanContent, PlanDiff, PlanId, PlanStatus, PlanVersion, PlanView, Project, diff_content,
};
use crate::error::{Error, Result};
use crate::store::{Store, StoreCounts};

/// The engine for one project over one store. Cheap to clone; clones share the store.
#[derive(Debug, Clone)]
pub struct Orchestrator {
    store: Arc<Store>,
    project: Project,
    settings: Option<Arc<Settings>>,
}

/// What `orchestrator status` reports.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StatusReport {
    /// The project this engine works for.
    pub project: Project,
    /// The config file in force, if any.
    pub config_file: Option<PathBuf>,
    /// The database file.
    pub database: PathBuf,
    /// Its schema version.
    pub schema_version: u32,
    /// Names of the secrets loaded from `.secrets.json` (never their values).
    pub secret_names: Vec<String>,
    /// Counts of what the store holds.
    pub counts: StoreCounts,
    /// Problems worth fixing that did not stop the program.
    pub warnings: Vec<String>,
}

impl Orchestrator {
    /// Opens the store the settings name and registers their project in it.
    pub async fn open(settings: Settings) -> Result<Self> {
        let db = settings.database_path()?;
        let root = settings.root.clone();
        let name = settings.project_name();
        let (store, project) = tokio::task::spawn_blocking(move || -> Result<_> {
            let store = Store::open(&db)?;
            let project = store.ensure_project(&root, &name)?;
            Ok((store, project))
        })
        .await
        .map_err(|e| Error::Internal(format!("opening the store: {e}")))??;
        Ok(Self {
            store: Arc::new(store),
            project,
            settings: Some(Arc::new(settings)),
        })
    }

    /// An engine over an already open store, for the project at `root` (registered if new).
    pub async fn with_store(store: Store, root: &Path, name: &str) -> Result<Self> {
        let store = Arc::new(store);
        let (root, name) = (root.to_path_buf(), name.to_string());
        let project = {
            let store = store.clone();
            run_blocking(move || store.ensure_project(&root, &name)).await?
        };
        Ok(Self {
            store,
            project,
            settings: None,
        })
    }

    /// The project this engine works for.
    pub fn project(&self) -> &Project {
        &self.project
    }

    /// The settings it was opened with, if it was opened from settings.
    pub fn settings(&self) -> Option<&Settings> {
        self.settings.as_deref()
    }

    /// The underlying store, for engine modules. Front ends call the methods below instead.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Runs a store call on tokio's blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = self.store.clone();
        run_blocking(move || f(&store)).await
    }

    /// Creates a plan in this project, in `DRAFT`, with `content` as version 1.
    pub async fn create_plan(&self, title: &str, content: PlanContent) -> Result<Plan> {
        let (project, title) = (self.project.id, title.to_string());
        self.blocking(move |s| s.create_plan(project, None, &title, &content, "created"))
            .await
    }

    /// This project's plans (every project's when `all_projects`), newest first.
    pub async fn list_plans(&self, all_projects: bool) -> Result<Vec<Plan>> {
        let project = (!all_projects).then_some(self.project.id);
        self.blocking(move |s| s.list_plans(project)).await
    }

    /// A plan with one version (the current one when `version` is `None`), its task statuses and
    /// its history.
    pub async fn plan(&self, id: PlanId, version: Option<u32>) -> Result<PlanView> {
        self.blocking(move |s| s.plan_view(id, version)).await
    }

    /// What changed from version `from` to version `to` of a plan.
    pub async fn diff_plan(&self, id: PlanId, from: u32, to: u32) -> Result<PlanDiff> {
        self.blocking(move |s| {
            let old = s.plan_version(id, Some(from))?;
            let new = s.plan_version(id, Some(to))?;
            Ok(diff_content(from, &old.content, to, &new.content))
        })
        .await
    }

    /// Writes `content` as the plan's next version (nothing when it equals the current one).
    pub async fn update_plan(
        &self,
        id: PlanId,
        content: PlanContent,
        note: &str,
    ) -> Result<PlanVersion> {
        let note = note.to_string();
        self.blocking(move |s| s.save_plan_version(id, &content, &note))
            .await
    }

    /// Writes a new version equal to version `to`; nothing is lost, the history grows.
    pub async fn rollback_plan(&self, id: PlanId, to: u32) -> Result<PlanVersion> {
        self.blocking(move |s| s.rollback_plan(id, to)).await
    }

    /// Moves a plan to another status, if its state machine allows it.
    pub async fn set_plan_status(&self, id: PlanId, to: PlanStatus) -> Result<Plan> {
        self.blocking(move |s| s.set_plan_status(id, to)).await
    }

    /// Where things stand: store, project, counts, warnings.
    pub async fn status(&self) -> Result<StatusReport> {
        let (schema_version, counts) = self
            .blocking(|s| Ok((s.schema_version()?, s.counts()?)))
            .await?;
        let settings = self.settings.as_deref();
        Ok(StatusReport {
            project: self.project.clone(),
            config_file: settings.and_then(|s| s.source.clone()),
            database: self.store.path().to_path_buf(),
            schema_version,
            secret_names: settings
                .map(|s| s.secrets.names().map(str::to_string).collect())
                .unwrap_or_default(),
            counts,
            warnings: settings.map(|s| s.warnings.clone()).unwrap_or_default(),
        })
    }
}

async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("a store call died: {e}")))?
}
