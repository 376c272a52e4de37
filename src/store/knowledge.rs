//! Knowledge-base sources and the documents indexed from them.

use rusqlite::params;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Store, found, opt_ts_col, ts_col};
use crate::domain::{ProjectId, Timestamp};
use crate::error::{Error, Result};

/// A documentation source: a folder or a website.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct KbSource {
    /// Its id.
    pub id: i64,
    /// The folder (absolute) or the start URL.
    pub location: String,
    /// `folder` or `web`.
    pub kind: String,
    /// When it was added.
    pub added_at: Timestamp,
    /// When it was last indexed.
    pub indexed_at: Option<Timestamp>,
    /// Documents indexed from it.
    pub documents: u32,
    /// Chunks indexed from it.
    pub chunks: u32,
}

impl Store {
    /// Adds a source (adding one twice returns the existing one).
    pub fn add_kb_source(
        &self,
        project: ProjectId,
        location: &str,
        kind: &str,
    ) -> Result<KbSource> {
        self.write(|tx| {
            tx.execute(
                "INSERT OR IGNORE INTO kb_sources (project_id, location, kind, added_at) VALUES (?1, ?2, ?3, ?4)",
                params![project.0, location, kind, Timestamp::now().as_millis()],
            )?;
            Ok(())
        })?;
        self.kb_sources(project)?
            .into_iter()
            .find(|s| s.location == location)
            .ok_or_else(|| Error::Internal("the source vanished".into()))
    }

    /// The project's sources, oldest first.
    pub fn kb_sources(&self, project: ProjectId) -> Result<Vec<KbSource>> {
        self.read(|tx| {
            let mut stmt = tx.prepare(
                "SELECT s.id, s.location, s.kind, s.added_at, s.indexed_at,
                        (SELECT COUNT(*) FROM kb_documents d WHERE d.source_id = s.id),
                        (SELECT COALESCE(SUM(chunks), 0) FROM kb_documents d WHERE d.source_id = s.id)
                 FROM kb_sources s WHERE s.project_id = ?1 ORDER BY s.id",
            )?;
            Ok(stmt
                .query_map([project.0], |row| {
                    Ok(KbSource {
                        id: row.get(0)?,
                        location: row.get(1)?,
                        kind: row.get(2)?,
                        added_at: ts_col(row, 3)?,
                        indexed_at: opt_ts_col(row, 4)?,
                        documents: row.get(5)?,
                        chunks: row.get(6)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Removes a source and its document records.
    pub fn remove_kb_source(&self, project: ProjectId, id: i64) -> Result<()> {
        self.write(|tx| {
            found(
                tx.query_row(
                    "SELECT id FROM kb_sources WHERE id = ?1 AND project_id = ?2",
                    params![id, project.0],
                    |_| Ok(()),
                ),
                "knowledge source",
                id,
            )?;
            tx.execute("DELETE FROM kb_vectors WHERE source_id = ?1", [id])?;
            tx.execute("DELETE FROM kb_documents WHERE source_id = ?1", [id])?;
            tx.execute("DELETE FROM kb_sources WHERE id = ?1", [id])?;
            Ok(())
        })
    }

    /// The documents indexed from a source: uri → (content hash, the embedding model if any).
    pub fn kb_documents(&self, source: i64) -> Result<Vec<(String, DocumentState)>> {
        self.read(|tx| {
            let mut stmt = tx.prepare("SELECT uri, hash, embedded_with FROM kb_documents WHERE source_id = ?1 ORDER BY uri")?;
            Ok(stmt.query_map([source], |row| Ok((row.get(0)?, (row.get(1)?, row.get(2)?))))?.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Every chunk embedding of the project's sources made with `model`.
    pub fn kb_vectors(&self, project: ProjectId, model: &str) -> Result<Vec<KbVector>> {
        self.read(|tx| {
            let mut stmt = tx.prepare(
                "SELECT v.source_id, v.uri, v.ordinal, v.vector FROM kb_vectors v JOIN kb_sources s ON s.id = v.source_id
                 WHERE s.project_id = ?1 AND v.model = ?2 ORDER BY v.source_id, v.uri, v.ordinal",
            )?;
            Ok(stmt
                .query_map(params![project.0, model], |row| {
                    let bytes: Vec<u8> = row.get(3)?;
                    Ok(KbVector {
                        source: row.get(0)?,
                        uri: row.get(1)?,
                        ordinal: row.get(2)?,
                        vector: bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
                    })
                })?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Records what indexing a source did, in one transaction: documents indexed, documents
    /// gone, and the source marked as indexed now.
    pub fn record_kb_index(
        &self,
        source: i64,
        indexed: &[IndexedDocument],
        gone: &[String],
    ) -> Result<()> {
        let now = Timestamp::now().as_millis();
        self.write(|tx| {
            let mut put = tx.prepare(
                "INSERT INTO kb_documents (source_id, uri, hash, chunks, indexed_at, embedded_with) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (source_id, uri) DO UPDATE SET hash = ?3, chunks = ?4, indexed_at = ?5, embedded_with = ?6",
            )?;
            let mut clear = tx.prepare("DELETE FROM kb_vectors WHERE source_id = ?1 AND uri = ?2")?;
            let mut vector = tx.prepare("INSERT INTO kb_vectors (source_id, uri, ordinal, model, vector) VALUES (?1, ?2, ?3, ?4, ?5)")?;
            for doc in indexed {
                put.execute(params![source, doc.uri, doc.hash, doc.chunks, now, doc.embedded_with])?;
                clear.execute(params![source, doc.uri])?;
                if let Some(model) = &doc.embedded_with {
                    for (ordinal, v) in doc.vectors.iter().enumerate() {
                        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                        vector.execute(params![source, doc.uri, ordinal as i64, model, bytes])?;
                    }
                }
            }
            let mut remove = tx.prepare("DELETE FROM kb_documents WHERE source_id = ?1 AND uri = ?2")?;
            for uri in gone {
                clear.execute(params![source, uri])?;
                remove.execute(params![source, uri])?;
            }
            tx.execute("UPDATE kb_sources SET indexed_at = ?2 WHERE id = ?1", params![source, now])?;
            Ok(())
        })
    }
}

/// What the store knows of an indexed document: its content hash, and the embedding model
/// that embedded its chunks, if any.
pub type DocumentState = (String, Option<String>);

/// A document as indexing recorded it.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexedDocument {
    /// Its path in the source, or its URL.
    pub uri: String,
    /// The hash of its content.
    pub hash: String,
    /// Its chunks.
    pub chunks: u32,
    /// The embedding model, when its chunks were embedded.
    pub embedded_with: Option<String>,
    /// The embedding of each chunk, in order (empty when not embedded).
    pub vectors: Vec<Vec<f32>>,
}

/// The embedding of one chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct KbVector {
    /// The source.
    pub source: i64,
    /// The document.
    pub uri: String,
    /// The chunk's position in the document.
    pub ordinal: u32,
    /// Its unit-length embedding.
    pub vector: Vec<f32>,
}
