//! The knowledge base and the skills, as the engine offers them: sources added and removed,
//! incremental indexing, search; skills discovered.

use std::collections::HashMap;
use std::path::PathBuf;

use super::Orchestrator;
use crate::error::{Error, Result};
use crate::knowledge::{Hit, IndexReport, KnowledgeBase, chunk, content_hash, crawl};
use crate::skills::SkillSet;
use crate::store::KbSource;

impl Orchestrator {
    fn kb_dir(&self) -> PathBuf {
        let data = self.store.path().parent().map(std::path::Path::to_path_buf).unwrap_or_default();
        KnowledgeBase::dir_for(&data, self.project.id.0)
    }

    /// Adds a documentation source: a folder (relative to the project, or absolute) or an
    /// `http(s)` URL. Index it with [`kb_index`](Self::kb_index).
    pub async fn kb_add(&self, location: &str) -> Result<KbSource> {
        let location = location.trim();
        let (location, kind) = if location.starts_with("http://") || location.starts_with("https://") {
            reqwest::Url::parse(location).map_err(|e| Error::Invalid(format!("`{location}` is not a URL: {e}")))?;
            (location.to_owned(), "web")
        } else {
            let path = PathBuf::from(location);
            let path = if path.is_absolute() { path } else { self.project.root.join(path) };
            let path = path.canonicalize().map_err(|e| Error::Invalid(format!("the folder {location} cannot be opened: {e}")))?;
            if !path.is_dir() {
                return Err(Error::Invalid(format!("{} is not a folder (give a folder of documents, or a URL)", path.display())));
            }
            (path.to_string_lossy().into_owned(), "folder")
        };
        let project = self.project.id;
        self.blocking(move |s| s.add_kb_source(project, &location, kind)).await
    }

    /// The documentation sources.
    pub async fn kb_sources(&self) -> Result<Vec<KbSource>> {
        let project = self.project.id;
        self.blocking(move |s| s.kb_sources(project)).await
    }

    /// Removes a source and everything indexed from it.
    pub async fn kb_remove(&self, id: i64) -> Result<()> {
        let project = self.project.id;
        self.blocking(move |s| s.remove_kb_source(project, id)).await?;
        let dir = self.kb_dir();
        tokio::task::spawn_blocking(move || {
            let kb = KnowledgeBase::open(&dir)?;
            let mut indexing = kb.indexing()?;
            indexing.remove_source(id);
            indexing.commit()
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
    }

    /// Indexes every source (or one), skipping unchanged documents. `progress` hears each
    /// source as it starts: (index, total, location).
    pub async fn kb_index(&self, only: Option<i64>, progress: &(dyn Fn(usize, usize, &str) + Send + Sync)) -> Result<Vec<(KbSource, IndexReport)>> {
        let sources: Vec<KbSource> = self.kb_sources().await?.into_iter().filter(|s| only.is_none_or(|id| id == s.id)).collect();
        if let Some(id) = only
            && sources.is_empty()
        {
            return Err(Error::NotFound { what: "knowledge source".into(), id: id.to_string(), hint: " (see `orchestrator kb list`)".into() });
        }
        let dir = self.kb_dir();
        let kb = tokio::task::spawn_blocking(move || KnowledgeBase::open(&dir)).await.map_err(|e| Error::Internal(e.to_string()))??;
        let mut reports = Vec::new();
        let total = sources.len();
        for (i, source) in sources.into_iter().enumerate() {
            progress(i, total, &source.location);
            let (documents, skipped) = if source.kind == "web" {
                crawl::web(&source.location, crawl::WebLimits::default()).await.map_err(Error::Invalid)?
            } else {
                let root = PathBuf::from(&source.location);
                tokio::task::spawn_blocking(move || crawl::folder(&root)).await.map_err(|e| Error::Internal(e.to_string()))?
            };
            let store = self.store.clone();
            let id = source.id;
            let known: HashMap<String, String> = self.blocking(move |s| s.kb_documents(id)).await?.into_iter().collect();
            let mut report = IndexReport { skipped: skipped.iter().map(|s| format!("{}: {}", s.uri, s.reason)).collect(), ..IndexReport::default() };
            let mut indexing = kb.indexing()?;
            let mut records = Vec::new();
            for document in &documents {
                let hash = content_hash(&document.text);
                if known.get(&document.uri) == Some(&hash) {
                    report.unchanged += 1;
                    continue;
                }
                let pieces = chunk::chunk(&document.text, document.format);
                indexing.put(id, &document.uri, &pieces)?;
                report.indexed += 1;
                report.chunks += u32::try_from(pieces.len()).unwrap_or(u32::MAX);
                records.push((document.uri.clone(), hash, u32::try_from(pieces.len()).unwrap_or(u32::MAX)));
            }
            let present: std::collections::HashSet<&str> = documents.iter().map(|d| d.uri.as_str()).collect();
            let gone: Vec<String> = known.keys().filter(|uri| !present.contains(uri.as_str())).cloned().collect();
            for uri in &gone {
                indexing.put(id, uri, &[])?;
                report.removed += 1;
            }
            indexing.commit()?;
            tokio::task::spawn_blocking(move || -> Result<()> {
                for (uri, hash, chunks) in records {
                    store.set_kb_document(id, &uri, &hash, chunks)?;
                }
                for uri in gone {
                    store.remove_kb_document(id, &uri)?;
                }
                store.mark_kb_indexed(id)
            })
            .await
            .map_err(|e| Error::Internal(e.to_string()))??;
            let refreshed = self.kb_sources().await?.into_iter().find(|s| s.id == id).unwrap_or(source);
            reports.push((refreshed, report));
        }
        Ok(reports)
    }

    /// The `k` chunks most relevant to `query`.
    pub async fn kb_search(&self, query: &str, k: usize) -> Result<Vec<Hit>> {
        let sources: HashMap<i64, String> = self.kb_sources().await?.into_iter().map(|s| (s.id, s.location)).collect();
        if sources.is_empty() {
            return Ok(Vec::new());
        }
        let dir = self.kb_dir();
        let query = query.to_owned();
        tokio::task::spawn_blocking(move || KnowledgeBase::open(&dir)?.search(&query, k, &sources))
            .await
            .map_err(|e| Error::Internal(e.to_string()))?
    }

    /// The skills of the project, the user and the configured folders.
    pub fn skills(&self) -> SkillSet {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let extra: Vec<PathBuf> = self.settings().map(|s| s.config.context.skill_dirs.clone()).unwrap_or_default();
        crate::skills::discover(&self.project.root, home.as_deref(), &extra)
    }
}
