//! The knowledge base and the skills, as the engine offers them: sources added and removed,
//! incremental indexing, search; skills discovered.

use std::collections::HashMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Serialize;

use super::Orchestrator;
use crate::error::{Error, Result};
use crate::knowledge::embed::{Embedder, VectorSet, fuse};
use crate::knowledge::{
    ChunkKey, Hit, IndexProgress, IndexReport, KnowledgeBase, chunk, content_hash, crawl,
};
use crate::skills::SkillSet;
use crate::store::{IndexedDocument, KbSource};

/// Where the indexing of a source stands (for clients that cannot wait for it).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct KbIndexing {
    /// The source, as it stands.
    pub source: KbSource,
    /// `indexing` (still going in the background), `indexed` or `failed`.
    pub state: String,
    /// What the indexing did, once it is done.
    pub report: Option<IndexReport>,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

/// A document indexed, with the texts of its chunks (for embedding).
struct Indexed {
    record: IndexedDocument,
    texts: Vec<String>,
}

type IndexOutcome = Option<std::result::Result<IndexReport, String>>;

/// Indexing started in the background, by source.
#[derive(Debug, Default)]
pub(super) struct KbJobs {
    running: std::sync::Mutex<HashMap<i64, tokio::sync::watch::Receiver<IndexOutcome>>>,
    /// The chunk embeddings of the configured model, loaded on the first semantic search and
    /// dropped whenever the index changes.
    vectors: tokio::sync::Mutex<Option<(String, std::sync::Arc<VectorSet>)>>,
}

impl Orchestrator {
    /// Indexes a source in the background (or joins the indexing already going) and waits for
    /// it at most `wait`; the indexing goes on after that.
    pub async fn kb_index_in_background(
        &self,
        source: i64,
        wait: std::time::Duration,
    ) -> Result<KbIndexing> {
        let find = |sources: Vec<KbSource>| {
            sources
                .into_iter()
                .find(|s| s.id == source)
                .ok_or_else(|| Error::NotFound {
                    what: "knowledge source".into(),
                    id: source.to_string(),
                    hint: " (see `orchestrator kb list`)".into(),
                })
        };
        find(self.kb_sources().await?)?;
        let mut outcome = {
            let mut running = self
                .kb_jobs
                .running
                .lock()
                .map_err(|_| Error::Internal("the indexing jobs' lock is poisoned".into()))?;
            match running.get(&source).filter(|r| r.borrow().is_none()) {
                Some(receiver) => receiver.clone(),
                None => {
                    let (sender, receiver) = tokio::sync::watch::channel(None);
                    running.insert(source, receiver.clone());
                    let engine = self.clone();
                    tokio::spawn(async move {
                        let result = engine.kb_index(Some(source), &|_| {}).await;
                        let _ = sender.send(Some(
                            result.map(|mut r| r.remove(0).1).map_err(|e| e.to_string()),
                        ));
                    });
                    receiver
                }
            }
        };
        let done = tokio::time::timeout(wait, outcome.wait_for(Option::is_some))
            .await
            .is_ok();
        let result = if done { outcome.borrow().clone() } else { None };
        let source = find(self.kb_sources().await?)?;
        Ok(match result {
            None => KbIndexing {
                source,
                state: "indexing".into(),
                report: None,
                error: None,
            },
            Some(Ok(report)) => KbIndexing {
                source,
                state: "indexed".into(),
                report: Some(report),
                error: None,
            },
            Some(Err(error)) => KbIndexing {
                source,
                state: "failed".into(),
                report: None,
                error: Some(error),
            },
        })
    }

    fn web_limits(&self) -> crate::knowledge::crawl::WebLimits {
        let config = self
            .settings()
            .map(|s| s.config.knowledge.clone())
            .unwrap_or_default();
        crate::knowledge::crawl::WebLimits {
            max_depth: config.web_max_depth,
            max_pages: config.web_max_pages as usize,
            timeout: std::time::Duration::from_secs(config.web_timeout_secs.max(1)),
        }
    }

    fn kb_dir(&self) -> PathBuf {
        let data = self
            .store
            .path()
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default();
        KnowledgeBase::dir_for(&data, self.project.id.0)
    }

    /// Adds a documentation source: a folder (relative to the project, or absolute) or an
    /// `http(s)` URL. Index it with [`kb_index`](Self::kb_index).
    pub async fn kb_add(&self, location: &str) -> Result<KbSource> {
        self.add_source(location, false).await
    }

    /// [`kb_add`](Self::kb_add) on an agent's behalf (MCP): only folders inside the project, and
    /// only websites on public addresses — what is indexed is shown back to the agent, so it must
    /// not reach private files or the machine's own services.
    pub async fn kb_add_for_agent(&self, location: &str) -> Result<KbSource> {
        self.add_source(location, true).await
    }

    async fn add_source(&self, location: &str, confined: bool) -> Result<KbSource> {
        let location = location.trim();
        if crate::domain::blank(location) {
            return Err(Error::Invalid(
                "the location is empty: give a folder (\"docs\") or a website (\"https://…\")"
                    .into(),
            ));
        }
        let (location, kind) = if let Some(scheme) = url_scheme(location) {
            if !matches!(scheme.as_str(), "http" | "https") {
                return Err(Error::Invalid(format!(
                    "unsupported URL scheme `{scheme}:` in `{location}`: give a folder path, or a website over http or https"
                )));
            }
            let url = reqwest::Url::parse(location)
                .map_err(|e| Error::Invalid(format!("`{location}` is not a URL: {e}")))?;
            if confined {
                public_host(&url).await?;
            }
            // `HTTPS://Docs.Example` is kept as parsed: `https://docs.example/`.
            let kept = if location.starts_with("http") {
                location.to_owned()
            } else {
                url.to_string()
            };
            (kept, "web")
        } else {
            let path = PathBuf::from(location);
            let path = if path.is_absolute() {
                path
            } else {
                self.project.root.join(path)
            };
            let path = path.canonicalize().map_err(|e| {
                Error::Invalid(format!("the folder {location} cannot be opened: {e}"))
            })?;
            if !path.is_dir() {
                return Err(Error::Invalid(format!(
                    "{} is not a folder (give a folder of documents, or a URL)",
                    path.display()
                )));
            }
            if confined && !path.starts_with(&self.project.root) {
                return Err(Error::Invalid(format!(
                    "{} is outside the project: an agent may add only the project's own folders (a person can add any folder with `orchestrator kb add`)",
                    path.display()
                )));
            }
            (path.to_string_lossy().into_owned(), "folder")
        };
        let project = self.project.id;
        self.blocking(move |s| s.add_kb_source(project, &location, kind))
            .await
    }

    /// The documentation sources.
    pub async fn kb_sources(&self) -> Result<Vec<KbSource>> {
        let project = self.project.id;
        self.blocking(move |s| s.kb_sources(project)).await
    }

    /// Removes a source and everything indexed from it.
    pub async fn kb_remove(&self, id: i64) -> Result<()> {
        let project = self.project.id;
        self.blocking(move |s| s.remove_kb_source(project, id))
            .await?;
        *self.kb_jobs.vectors.lock().await = None;
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

    /// Indexes every source (or one), skipping unchanged documents; `progress` hears how it goes.
    pub async fn kb_index(
        &self,
        only: Option<i64>,
        progress: &(dyn Fn(IndexProgress) + Send + Sync),
    ) -> Result<Vec<(KbSource, IndexReport)>> {
        let sources: Vec<KbSource> = self
            .kb_sources()
            .await?
            .into_iter()
            .filter(|s| only.is_none_or(|id| id == s.id))
            .collect();
        if let Some(id) = only
            && sources.is_empty()
        {
            return Err(Error::NotFound {
                what: "knowledge source".into(),
                id: id.to_string(),
                hint: " (see `orchestrator kb list`)".into(),
            });
        }
        let dir = self.kb_dir();
        let kb = std::sync::Arc::new(
            tokio::task::spawn_blocking(move || KnowledgeBase::open(&dir))
                .await
                .map_err(|e| Error::Internal(e.to_string()))??,
        );
        let embedder = self.embedder()?;
        let mut reports = Vec::new();
        let total = sources.len();
        for (i, source) in sources.into_iter().enumerate() {
            progress(IndexProgress::Source {
                index: i,
                total,
                location: source.location.clone(),
            });
            let id = source.id;
            let mut known: HashMap<String, (String, Option<String>)> = self
                .blocking(move |s| s.kb_documents(id))
                .await?
                .into_iter()
                .collect();
            let root = PathBuf::from(&source.location);
            if source.kind != "web" && !root.is_dir() {
                // Renamed or unmounted: what was indexed from it stays until someone decides.
                let report = IndexReport {
                    unchanged: u32::try_from(known.len()).unwrap_or(u32::MAX),
                    warnings: vec![format!(
                        "the folder {} cannot be found: its {} indexed document(s) are kept; restore it, or remove the source with `orchestrator kb remove {id}`",
                        source.location,
                        known.len()
                    )],
                    ..IndexReport::default()
                };
                reports.push((source, report));
                continue;
            }
            let (documents, skipped) = if source.kind == "web" {
                crawl::web(&source.location, self.web_limits(), &|pages| {
                    progress(IndexProgress::Fetched(pages))
                })
                .await
                .map_err(Error::Invalid)?
            } else {
                tokio::task::spawn_blocking(move || crawl::folder(&root))
                    .await
                    .map_err(|e| Error::Internal(e.to_string()))?
            };
            if source.kind == "web" && documents.is_empty() && !known.is_empty() {
                // The site is down (or answers nothing): keep what it said last time.
                let why = skipped
                    .first()
                    .map(|s| format!(" ({}: {})", s.uri, s.reason))
                    .unwrap_or_default();
                let report = IndexReport {
                    unchanged: u32::try_from(known.len()).unwrap_or(u32::MAX),
                    skipped: skipped
                        .iter()
                        .map(|s| format!("{}: {}", s.uri, s.reason))
                        .collect(),
                    warnings: vec![format!(
                        "no page of {} could be read{why}: its {} indexed document(s) are kept",
                        source.location,
                        known.len()
                    )],
                    ..IndexReport::default()
                };
                reports.push((source, report));
                continue;
            }
            // A page or file that could not be read this time is not gone: keep what it held.
            let unreadable: std::collections::HashSet<String> = skipped
                .iter()
                .filter(|s| s.transient)
                .map(|s| s.uri.clone())
                .collect();
            if !known.is_empty() && !kb.has_source(id)? {
                // The index lost them (rebuilt, or deleted by hand): read everything again.
                known.clear();
            }
            let secrets = self
                .settings()
                .map(|s| s.secrets.clone())
                .unwrap_or_default();
            let model = embedder.as_ref().map(|e| e.model().to_owned());
            // Chunking and index writes are CPU work: off the async workers, progress by channel.
            let (sender, mut heard) = tokio::sync::mpsc::unbounded_channel();
            let index = kb.clone();
            let work = tokio::task::spawn_blocking(
                move || -> Result<(IndexReport, Vec<Indexed>, Vec<String>)> {
                    let mut report = IndexReport {
                        skipped: skipped
                            .iter()
                            .map(|s| format!("{}: {}", s.uri, s.reason))
                            .collect(),
                        ..IndexReport::default()
                    };
                    let mut indexing = index.indexing()?;
                    let mut indexed = Vec::new();
                    for (done, document) in documents.iter().enumerate() {
                        let _ = sender.send(IndexProgress::Documents {
                            done,
                            total: documents.len(),
                        });
                        let hash = content_hash(&document.text);
                        // Unchanged, and embedded with the model in use (if any).
                        if known.get(&document.uri).is_some_and(|(h, with)| {
                            *h == hash && (model.is_none() || *with == model)
                        }) {
                            report.unchanged += 1;
                            continue;
                        }
                        // Secrets found in documents are not copied into the index.
                        let pieces: Vec<chunk::Piece> =
                            chunk::chunk(&document.text, document.format)
                                .into_iter()
                                .map(|p| chunk::Piece {
                                    heading_path: p
                                        .heading_path
                                        .iter()
                                        .map(|h| secrets.redact(h))
                                        .collect(),
                                    text: secrets.redact(&p.text),
                                })
                                .collect();
                        indexing.put(id, &document.uri, &pieces)?;
                        let count = u32::try_from(pieces.len()).unwrap_or(u32::MAX);
                        report.indexed += 1;
                        report.chunks = report.chunks.saturating_add(count);
                        let texts = if model.is_some() {
                            pieces
                                .iter()
                                .map(|p| format!("{}\n{}", p.heading_path.join(" › "), p.text))
                                .collect()
                        } else {
                            Vec::new()
                        };
                        indexed.push(Indexed {
                            record: IndexedDocument {
                                uri: document.uri.clone(),
                                hash,
                                chunks: count,
                                embedded_with: None,
                                vectors: Vec::new(),
                            },
                            texts,
                        });
                    }
                    let present: std::collections::HashSet<&str> =
                        documents.iter().map(|d| d.uri.as_str()).collect();
                    let gone: Vec<String> = known
                        .keys()
                        .filter(|uri| {
                            !present.contains(uri.as_str()) && !unreadable.contains(uri.as_str())
                        })
                        .cloned()
                        .collect();
                    for uri in &gone {
                        indexing.put(id, uri, &[])?;
                        report.removed += 1;
                    }
                    let _ = sender.send(IndexProgress::Documents {
                        done: documents.len(),
                        total: documents.len(),
                    });
                    // The index first: a crash before the store records it means indexing again.
                    indexing.commit()?;
                    Ok((report, indexed, gone))
                },
            );
            while let Some(event) = heard.recv().await {
                progress(event);
            }
            let (mut report, mut indexed, gone) =
                work.await.map_err(|e| Error::Internal(e.to_string()))??;
            if let Some(embedder) = &embedder {
                self.embed_documents(embedder, &mut indexed, &mut report, progress)
                    .await;
            }
            let records: Vec<IndexedDocument> = indexed.into_iter().map(|i| i.record).collect();
            self.blocking(move |s| s.record_kb_index(id, &records, &gone))
                .await?;
            *self.kb_jobs.vectors.lock().await = None;
            let refreshed = self
                .kb_sources()
                .await?
                .into_iter()
                .find(|s| s.id == id)
                .unwrap_or(source);
            reports.push((refreshed, report));
        }
        Ok(reports)
    }

    /// The `k` chunks most relevant to `query`: by full text, fused with the nearest chunks by
    /// meaning when an embeddings API is configured (full text alone if it cannot answer).
    pub async fn kb_search(&self, query: &str, k: usize) -> Result<Vec<Hit>> {
        let sources: HashMap<i64, String> = self
            .kb_sources()
            .await?
            .into_iter()
            .map(|s| (s.id, s.location))
            .collect();
        if sources.is_empty() || k == 0 {
            return Ok(Vec::new());
        }
        let embedder = self.embedder().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "semantic search is off");
            None
        });
        // Deeper than asked: the answer is spread over documents before it is cut to `k`.
        let depth = k.saturating_mul(4).max(50);
        let dir = self.kb_dir();
        let kb = std::sync::Arc::new(
            tokio::task::spawn_blocking(move || KnowledgeBase::open(&dir))
                .await
                .map_err(|e| Error::Internal(e.to_string()))??,
        );
        let (index, text, known) = (kb.clone(), query.to_owned(), sources.clone());
        let fulltext =
            tokio::task::spawn_blocking(move || index.search_keyed(&text, depth, &known))
                .await
                .map_err(|e| Error::Internal(e.to_string()))??;
        let hits: Vec<Hit> = match &embedder {
            Some(embedder) => match self
                .semantic(
                    embedder,
                    &kb,
                    query,
                    depth,
                    depth,
                    fulltext.clone(),
                    &sources,
                )
                .await
            {
                Ok(fused) => fused,
                Err(e) => {
                    tracing::warn!(error = %e, "semantic search failed; full text alone");
                    fulltext.into_iter().map(|(_, hit)| hit).collect()
                }
            },
            None => fulltext.into_iter().map(|(_, hit)| hit).collect(),
        };
        let mut hits = spread_over_documents(hits, k);
        // Documents of the project are named from its root; no secret is ever shown.
        let root = format!("{}/", self.project.root.display());
        for hit in &mut hits {
            hit.chunk.text = self.redact(&hit.chunk.text);
            hit.snippet = self.redact(&hit.snippet);
            if let Some(relative) = hit.chunk.source.strip_prefix(&root) {
                hit.chunk.source = relative.to_owned();
            }
        }
        Ok(hits)
    }

    /// The embeddings client, when `[knowledge] embeddings_url` is set.
    fn embedder(&self) -> Result<Option<Embedder>> {
        let Some(settings) = self.settings() else {
            return Ok(None);
        };
        let config = &settings.config.knowledge;
        let Some(url) = config
            .embeddings_url
            .as_deref()
            .filter(|u| !u.trim().is_empty())
        else {
            return Ok(None);
        };
        let key = match &config.embeddings_key {
            Some(name) => Some(settings.secrets.get(name).cloned().ok_or_else(|| Error::Invalid(format!("knowledge.embeddings_key names the secret `{name}`, which .secrets.json does not hold")))?),
            None => None,
        };
        Embedder::new(url, &config.embeddings_model, key)
            .map(Some)
            .map_err(Error::Invalid)
    }

    /// Embeds the chunks of the documents indexed; on failure they stay full-text only (and are
    /// embedded on the next indexing), with a warning in the report.
    async fn embed_documents(
        &self,
        embedder: &Embedder,
        indexed: &mut [Indexed],
        report: &mut IndexReport,
        progress: &(dyn Fn(IndexProgress) + Send + Sync),
    ) {
        let total: usize = indexed.iter().map(|i| i.texts.len()).sum();
        let mut done = 0;
        for document in indexed.iter_mut() {
            if document.texts.is_empty() {
                document.record.embedded_with = Some(embedder.model().to_owned());
                continue;
            }
            progress(IndexProgress::Embedding { done, total });
            match embedder.embed(&document.texts).await {
                Ok(vectors) => {
                    done += vectors.len();
                    report.embedded = report
                        .embedded
                        .saturating_add(u32::try_from(vectors.len()).unwrap_or(u32::MAX));
                    document.record.vectors = vectors;
                    document.record.embedded_with = Some(embedder.model().to_owned());
                }
                Err(e) => {
                    report.warnings.push(format!("{e}; the documents not embedded are searched by full text, and embedded on the next indexing"));
                    return;
                }
            }
        }
        progress(IndexProgress::Embedding { done, total });
    }

    /// Full-text hits fused with the nearest chunks by meaning.
    #[allow(clippy::too_many_arguments)]
    async fn semantic(
        &self,
        embedder: &Embedder,
        kb: &std::sync::Arc<KnowledgeBase>,
        query: &str,
        k: usize,
        depth: usize,
        fulltext: Vec<(ChunkKey, Hit)>,
        sources: &HashMap<i64, String>,
    ) -> std::result::Result<Vec<Hit>, String> {
        let vectors = {
            let mut cached = self.kb_jobs.vectors.lock().await;
            match cached
                .as_ref()
                .filter(|(model, _)| model == embedder.model())
            {
                Some((_, set)) => set.clone(),
                None => {
                    let (project, model) = (self.project.id, embedder.model().to_owned());
                    let rows = self
                        .blocking(move |s| s.kb_vectors(project, &model))
                        .await
                        .map_err(|e| e.to_string())?;
                    let set = std::sync::Arc::new(VectorSet::new(
                        rows.into_iter()
                            .map(|v| {
                                (
                                    ChunkKey {
                                        source: v.source,
                                        uri: v.uri,
                                        ordinal: v.ordinal,
                                    },
                                    v.vector,
                                )
                            })
                            .collect(),
                    ));
                    *cached = Some((embedder.model().to_owned(), set.clone()));
                    set
                }
            }
        };
        if vectors.is_empty() {
            return Ok(fulltext.into_iter().take(k).map(|(_, hit)| hit).collect());
        }
        let query_vector = embedder.embed(&[query.to_owned()]).await?.remove(0);
        let nearest: Vec<ChunkKey> = vectors
            .nearest(&query_vector, depth)
            .into_iter()
            .map(|(key, _)| key)
            .collect();
        let fused: Vec<(ChunkKey, f64)> = fuse(&[
            fulltext.iter().map(|(key, _)| key.clone()).collect(),
            nearest,
        ])
        .into_iter()
        .take(k)
        .collect();
        let mut known: HashMap<ChunkKey, Hit> = fulltext.into_iter().collect();
        let missing: Vec<ChunkKey> = fused
            .iter()
            .map(|(key, _)| key.clone())
            .filter(|key| !known.contains_key(key))
            .collect();
        if !missing.is_empty() {
            let (index, text, sources) = (kb.clone(), query.to_owned(), sources.clone());
            let fetched =
                tokio::task::spawn_blocking(move || index.fetch(&missing, &text, &sources))
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| e.to_string())?;
            known.extend(fetched);
        }
        Ok(fused
            .into_iter()
            .filter_map(|(key, score)| {
                known.remove(&key).map(|mut hit| {
                    hit.score = score as f32;
                    hit
                })
            })
            .collect())
    }

    /// The skills of the project, the user and the configured folders.
    pub fn skills(&self) -> SkillSet {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        let extra: Vec<PathBuf> = self
            .settings()
            .map(|s| s.config.context.skill_dirs.clone())
            .unwrap_or_default();
        crate::skills::discover(&self.project.root, home.as_deref(), &extra)
    }
}

/// The best hits, cut to `k`, spread over documents: each further chunk of a document already
/// listed steps back `REPEAT_PENALTY` places, so one long document cannot fill the top of the
/// list when others also answer, and a weak match elsewhere does not jump a strong one.
fn spread_over_documents(hits: Vec<Hit>, k: usize) -> Vec<Hit> {
    const REPEAT_PENALTY: usize = 10;
    let mut listed: HashMap<String, usize> = HashMap::new();
    let mut ranked: Vec<(usize, Hit)> = hits
        .into_iter()
        .enumerate()
        .map(|(rank, hit)| {
            let before = listed.entry(hit.chunk.source.clone()).or_default();
            let place = rank + REPEAT_PENALTY * *before;
            *before += 1;
            (place, hit)
        })
        .collect();
    ranked.sort_by_key(|(place, _)| *place);
    ranked.into_iter().take(k).map(|(_, hit)| hit).collect()
}

/// The scheme of `location` when it is written as a URL (`scheme://…`), lower-cased.
fn url_scheme(location: &str) -> Option<String> {
    let (scheme, _) = location.split_once("://")?;
    let mut chars = scheme.chars();
    (chars.next()?.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then(|| scheme.to_ascii_lowercase())
}

/// Refuses a URL whose host is, or resolves to, a loopback, private, link-local or otherwise
/// non-public address.
async fn public_host(url: &reqwest::Url) -> Result<()> {
    let host = url
        .host_str()
        .unwrap_or_default()
        .trim_matches(['[', ']'])
        .to_owned();
    let port = url.port_or_known_default().unwrap_or(80);
    let refuse = || {
        Error::Invalid(format!(
            "{host} is not a public address: an agent may add only public websites (a person can add any with `orchestrator kb add`)"
        ))
    };
    if host.is_empty()
        || host.eq_ignore_ascii_case("localhost")
        || host.to_ascii_lowercase().ends_with(".localhost")
    {
        return Err(refuse());
    }
    let addresses: Vec<std::net::IpAddr> = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| Error::Invalid(format!("{host} cannot be resolved: {e}")))?
            .map(|a| a.ip())
            .collect(),
    };
    if addresses.is_empty() || addresses.iter().any(|ip| !is_public(*ip)) {
        return Err(refuse());
    }
    Ok(())
}

fn is_public(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || a >= 224)
        }
        std::net::IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(std::net::IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "224.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }
}
