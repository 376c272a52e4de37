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
            tx.execute("DELETE FROM kb_documents WHERE source_id = ?1", [id])?;
            tx.execute("DELETE FROM kb_sources WHERE id = ?1", [id])?;
            Ok(())
        })
    }

    /// The documents indexed from a source: uri → content hash.
    pub fn kb_documents(&self, source: i64) -> Result<Vec<(String, String)>> {
        self.read(|tx| {
            let mut stmt =
                tx.prepare("SELECT uri, hash FROM kb_documents WHERE source_id = ?1 ORDER BY uri")?;
            Ok(stmt
                .query_map([source], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Records what indexing a source did, in one transaction: documents indexed (uri, content
    /// hash, chunks), documents gone, and the source marked as indexed now.
    pub fn record_kb_index(
        &self,
        source: i64,
        indexed: &[(String, String, u32)],
        gone: &[String],
    ) -> Result<()> {
        let now = Timestamp::now().as_millis();
        self.write(|tx| {
            let mut put = tx.prepare(
                "INSERT INTO kb_documents (source_id, uri, hash, chunks, indexed_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (source_id, uri) DO UPDATE SET hash = ?3, chunks = ?4, indexed_at = ?5",
            )?;
            for (uri, hash, chunks) in indexed {
                put.execute(params![source, uri, hash, chunks, now])?;
            }
            let mut remove = tx.prepare("DELETE FROM kb_documents WHERE source_id = ?1 AND uri = ?2")?;
            for uri in gone {
                remove.execute(params![source, uri])?;
            }
            tx.execute("UPDATE kb_sources SET indexed_at = ?2 WHERE id = ?1", params![source, now])?;
            Ok(())
        })
    }
}
