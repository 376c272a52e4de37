//! The knowledge base: documentation from local folders and websites, cut into chunks by
//! heading, in a full-text index (tantivy, in the data dir), searched by relevance with the
//! matching words highlighted. Indexing is incremental: a document whose content hash did not
//! change is skipped; one that is gone is removed.

pub mod chunk;
pub mod crawl;
pub mod embed;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Serialize;
use tantivy::collector::TopDocs;
use tantivy::query::QueryParser;
use tantivy::schema::{
    Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
    Value,
};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
};
use tantivy::{Index, IndexReader, IndexWriter, TantivyDocument, Term, doc};

use crate::error::{Error, Result};

/// A piece of a document, returned by a search with its source.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Chunk {
    /// Where it came from (a path or URL).
    pub source: String,
    /// The headings above it, outermost first.
    pub heading_path: Vec<String>,
    /// Its text.
    pub text: String,
}

/// Which chunk: its source, document and position in the document.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChunkKey {
    /// The source's id.
    pub source: i64,
    /// The document (path in the source, or URL).
    pub uri: String,
    /// The chunk's position in the document, from 0.
    pub ordinal: u32,
}

/// A search result.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Hit {
    /// The chunk.
    pub chunk: Chunk,
    /// The part that matched, with the matching words in `**bold**`.
    pub snippet: String,
    /// The relevance score, higher is better: BM25, or the reciprocal-rank-fusion score when
    /// semantic search is on.
    pub score: f32,
}

/// What indexing a source did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct IndexReport {
    /// Documents indexed (new or changed).
    pub indexed: u32,
    /// Documents skipped because nothing changed.
    pub unchanged: u32,
    /// Documents removed because they are gone.
    pub removed: u32,
    /// Chunks written.
    pub chunks: u32,
    /// Files or pages that could not be read, with why.
    pub skipped: Vec<String>,
    /// Chunks embedded for semantic search (0 without an embeddings API).
    pub embedded: u32,
    /// Problems that did not stop the indexing (the embeddings API failing, say).
    pub warnings: Vec<String>,
}

/// What indexing reports as it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexProgress {
    /// A source is being read (`index` from 0).
    Source {
        /// Its position.
        index: usize,
        /// Sources in all.
        total: usize,
        /// Its folder or URL.
        location: String,
    },
    /// Pages fetched so far from a website.
    Fetched(usize),
    /// Chunks embedded so far, of `total`.
    Embedding {
        /// Done.
        done: usize,
        /// In all.
        total: usize,
    },
    /// Documents of the source looked at so far, of `total`.
    Documents {
        /// Done.
        done: usize,
        /// In all.
        total: usize,
    },
}

struct Fields {
    source: Field,
    uri: Field,
    heading: Field,
    text: Field,
    ordinal: Field,
    /// The document's name as words (`routing/route_service.md` → `routing route service`):
    /// guide pages are named for what they answer, and many start without a heading.
    title: Field,
}

/// The index of one project's documentation.
pub struct KnowledgeBase {
    index: Index,
    reader: IndexReader,
    fields: Fields,
}

/// Changes to the index, made visible by [`Indexing::commit`]. Only one process can hold it.
pub struct Indexing<'a> {
    writer: IndexWriter,
    kb: &'a KnowledgeBase,
}

/// The name the English analyzer is registered under in the index.
const ENGLISH: &str = "en_stem";

/// How much a word of the document's name counts against one of its text. Measured on axum's
/// guide pages (`tests/knowledge.rs`, 20 questions): 2 answered 17 first, 4 answered 19, 6 let
/// names outweigh the text (18).
const TITLE_BOOST: f32 = 4.0;

/// English words: split on non-alphanumerics, lower-cased, stop words removed, stemmed. The
/// index and the context builder's ranking share it.
pub fn english() -> TextAnalyzer {
    let builder = TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser);
    match StopWordFilter::new(Language::English) {
        Some(stop) => builder
            .filter(stop)
            .filter(Stemmer::new(Language::English))
            .build(),
        None => builder.filter(Stemmer::new(Language::English)).build(),
    }
}

fn english_text() -> TextOptions {
    TextOptions::default().set_stored().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(ENGLISH)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    )
}

/// Searched, not stored.
fn english_indexed() -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(ENGLISH)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    )
}

/// A document's name as words: the last two parts of its path or URL, without the extension,
/// split at punctuation.
fn title_words(uri: &str) -> String {
    let path = uri.split(['?', '#']).next().unwrap_or_default();
    // A URL's host names the site, not the page.
    let path = match path.split_once("://") {
        Some((_, rest)) => rest.split_once('/').map_or("", |(_, p)| p),
        None => path,
    };
    let mut parts: Vec<&str> = path.rsplit('/').filter(|p| !p.is_empty()).take(2).collect();
    parts.reverse();
    if let Some(last) = parts.last_mut()
        && let Some((stem, _)) = last.rsplit_once('.')
        && !stem.is_empty()
    {
        *last = stem;
    }
    parts
        .join(" ")
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let fields = Fields {
        source: builder.add_i64_field("source", INDEXED | STORED),
        uri: builder.add_text_field("uri", STRING | STORED),
        heading: builder.add_text_field("heading", english_text()),
        text: builder.add_text_field("text", english_text()),
        ordinal: builder.add_u64_field("ordinal", STORED),
        title: builder.add_text_field("title", english_indexed()),
    };
    (builder.build(), fields)
}

fn index_error(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("the knowledge index: {e}"))
}

impl Indexing<'_> {
    /// Replaces a document's chunks (none: removes it).
    pub fn put(&mut self, source: i64, uri: &str, pieces: &[chunk::Piece]) -> Result<()> {
        let f = &self.kb.fields;
        self.writer
            .delete_term(Term::from_field_text(f.uri, &format!("{source}|{uri}")));
        let title = title_words(uri);
        for (ordinal, piece) in pieces.iter().enumerate() {
            self.writer
                .add_document(doc!(
                    f.title => title.clone(),
                    f.source => source,
                    f.uri => format!("{source}|{uri}"),
                    f.heading => piece.heading_path.join(" › "),
                    f.text => piece.text.clone(),
                    f.ordinal => ordinal as u64,
                ))
                .map_err(index_error)?;
        }
        Ok(())
    }

    /// Removes every chunk of a source.
    pub fn remove_source(&mut self, source: i64) {
        self.writer
            .delete_term(Term::from_field_i64(self.kb.fields.source, source));
    }

    /// Makes the changes searchable.
    pub fn commit(mut self) -> Result<()> {
        self.writer.commit().map_err(index_error)?;
        self.kb.reader.reload().map_err(index_error)
    }
}

/// A stable hash of a document's content (FNV-1a, 64 bits), to skip unchanged ones.
pub fn content_hash(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

impl KnowledgeBase {
    /// Opens (or creates) the index in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::Io {
            context: format!("creating {}", dir.display()),
            source: e,
        })?;
        let (schema, fields) = schema();
        let directory = tantivy::directory::MmapDirectory::open(dir).map_err(index_error)?;
        let index = match Index::open_or_create(directory, schema.clone()) {
            Ok(index) => index,
            // An index of an older layout: start it again (documents missing from it are
            // indexed again, see `has_source`).
            Err(tantivy::TantivyError::SchemaError(_)) => {
                std::fs::remove_dir_all(dir).map_err(|e| Error::Io {
                    context: format!("clearing the old index {}", dir.display()),
                    source: e,
                })?;
                std::fs::create_dir_all(dir).map_err(|e| Error::Io {
                    context: format!("creating {}", dir.display()),
                    source: e,
                })?;
                Index::create_in_dir(dir, schema).map_err(index_error)?
            }
            Err(e) => return Err(index_error(e)),
        };
        index.tokenizers().register(ENGLISH, english());
        let reader = index.reader().map_err(index_error)?;
        Ok(Self {
            index,
            reader,
            fields,
        })
    }

    /// Starts changing the index (fails while another process indexes).
    pub fn indexing(&self) -> Result<Indexing<'_>> {
        let writer = self.index.writer(30_000_000).map_err(|e| match e {
            tantivy::TantivyError::LockFailure(..) => Error::Invalid("the knowledge index is being written by another process; try again when it is done".into()),
            other => index_error(other),
        })?;
        Ok(Indexing { writer, kb: self })
    }

    /// The index's folder for a project in a data dir.
    pub fn dir_for(data_dir: &Path, project: i64) -> PathBuf {
        data_dir.join("knowledge").join(project.to_string())
    }

    /// The `k` chunks most relevant to `query` (BM25 over headings, weighted up, and text),
    /// with highlighted snippets. Query syntax errors are forgiven.
    pub fn search(
        &self,
        query: &str,
        k: usize,
        sources: &HashMap<i64, String>,
    ) -> Result<Vec<Hit>> {
        Ok(self
            .search_keyed(query, k, sources)?
            .into_iter()
            .map(|(_, hit)| hit)
            .collect())
    }

    fn parse(&self, query: &str) -> Box<dyn tantivy::query::Query> {
        let f = &self.fields;
        let mut parser = QueryParser::for_index(&self.index, vec![f.title, f.heading, f.text]);
        parser.set_field_boost(f.heading, 2.0);
        parser.set_field_boost(f.title, TITLE_BOOST);
        parser.parse_query_lenient(&plain_words(query)).0
    }

    /// [`search`](Self::search), with each hit's key.
    pub fn search_keyed(
        &self,
        query: &str,
        k: usize,
        sources: &HashMap<i64, String>,
    ) -> Result<Vec<(ChunkKey, Hit)>> {
        if query.trim().is_empty() || k == 0 {
            return Ok(Vec::new());
        }
        let searcher = self.reader.searcher();
        let parsed = self.parse(query);
        let top = searcher
            .search(&parsed, &TopDocs::with_limit(k).order_by_score())
            .map_err(index_error)?;
        let snippets = self.snippets(&searcher, &*parsed)?;
        let mut hits = Vec::new();
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address).map_err(index_error)?;
            hits.push(self.hit(&doc, score, &snippets, sources));
        }
        Ok(hits)
    }

    /// The chunks with these keys (those still indexed), as hits for `query`, in the keys' order.
    pub fn fetch(
        &self,
        keys: &[ChunkKey],
        query: &str,
        sources: &HashMap<i64, String>,
    ) -> Result<Vec<(ChunkKey, Hit)>> {
        let searcher = self.reader.searcher();
        let parsed = self.parse(query);
        let snippets = self.snippets(&searcher, &*parsed)?;
        let mut out = Vec::new();
        for key in keys {
            let term =
                Term::from_field_text(self.fields.uri, &format!("{}|{}", key.source, key.uri));
            let query = tantivy::query::TermQuery::new(term, IndexRecordOption::Basic);
            let docs = searcher
                .search(&query, &TopDocs::with_limit(10_000).order_by_score())
                .map_err(index_error)?;
            for (_, address) in docs {
                let doc: TantivyDocument = searcher.doc(address).map_err(index_error)?;
                if doc.get_first(self.fields.ordinal).and_then(|v| v.as_u64())
                    == Some(u64::from(key.ordinal))
                {
                    out.push(self.hit(&doc, 0.0, &snippets, sources));
                    break;
                }
            }
        }
        Ok(out)
    }

    fn snippets(
        &self,
        searcher: &tantivy::Searcher,
        query: &dyn tantivy::query::Query,
    ) -> Result<tantivy::snippet::SnippetGenerator> {
        let mut snippets =
            tantivy::snippet::SnippetGenerator::create(searcher, query, self.fields.text)
                .map_err(index_error)?;
        snippets.set_max_num_chars(240);
        Ok(snippets)
    }

    fn hit(
        &self,
        doc: &TantivyDocument,
        score: f32,
        snippets: &tantivy::snippet::SnippetGenerator,
        sources: &HashMap<i64, String>,
    ) -> (ChunkKey, Hit) {
        let get = |field: Field| {
            doc.get_first(field)
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        };
        let source_id = doc
            .get_first(self.fields.source)
            .and_then(|v| v.as_i64())
            .unwrap_or_default();
        let ordinal = doc
            .get_first(self.fields.ordinal)
            .and_then(|v| v.as_u64())
            .and_then(|o| u32::try_from(o).ok())
            .unwrap_or_default();
        let stored = get(self.fields.uri);
        let uri = stored
            .split_once('|')
            .map_or(stored.clone(), |(_, u)| u.to_owned());
        let base = sources.get(&source_id).cloned().unwrap_or_default();
        let source = if uri.starts_with("http://") || uri.starts_with("https://") || base.is_empty()
        {
            uri.clone()
        } else {
            format!("{}/{uri}", base.trim_end_matches('/'))
        };
        let text = get(self.fields.text);
        let snippet = snippets.snippet(&text);
        let mut highlighted = String::new();
        let fragment = snippet.fragment();
        let mut at = 0;
        for range in snippet.highlighted() {
            highlighted.push_str(&fragment[at..range.start]);
            highlighted.push_str("**");
            highlighted.push_str(&fragment[range.clone()]);
            highlighted.push_str("**");
            at = range.end;
        }
        highlighted.push_str(&fragment[at..]);
        let snippet = if !highlighted.trim().is_empty() {
            highlighted
        } else {
            // Found by meaning, not by words: the chunk's beginning.
            let mut end = text.len().min(240);
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text[..end].to_owned()
        };
        let heading = get(self.fields.heading);
        let key = ChunkKey {
            source: source_id,
            uri,
            ordinal,
        };
        let hit = Hit {
            chunk: Chunk {
                source,
                heading_path: if heading.is_empty() {
                    Vec::new()
                } else {
                    heading.split(" › ").map(str::to_owned).collect()
                },
                text,
            },
            snippet,
            score,
        };
        (key, hit)
    }

    /// Whether the index holds any chunk of `source`.
    pub fn has_source(&self, source: i64) -> Result<bool> {
        let query = tantivy::query::TermQuery::new(
            Term::from_field_i64(self.fields.source, source),
            IndexRecordOption::Basic,
        );
        let count = self
            .reader
            .searcher()
            .search(&query, &tantivy::collector::Count)
            .map_err(index_error)?;
        Ok(count > 0)
    }

    /// How many chunks the index holds.
    pub fn chunk_count(&self) -> u64 {
        self.reader.searcher().num_docs()
    }
}

/// A person's text as plain words for the query parser: `ssl: verify` is no field query, a
/// pasted URL no syntax error, `-x` no exclusion and `AND` no operator. The words of a question
/// ("how do I …") are left out when something else is asked: they say nothing of the answer, and
/// matched FAQ headings ("How do I …?") over the page that answers.
fn plain_words(text: &str) -> String {
    const ASKING: &[&str] = &[
        "how", "what", "why", "when", "where", "which", "who", "whom", "do", "does", "did", "can",
        "could", "should", "would", "shall", "may", "might", "must", "i", "me", "my", "we", "us",
        "our", "you", "your", "am", "have", "has", "had", "get",
    ];
    let lowered = text
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect::<String>()
        .to_lowercase();
    let words: Vec<&str> = lowered.split_whitespace().collect();
    let asked: Vec<&str> = words
        .iter()
        .copied()
        .filter(|w| !ASKING.contains(w))
        .collect();
    if asked.is_empty() {
        words.join(" ")
    } else {
        asked.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::title_words;

    #[test]
    fn a_documents_name_becomes_words() {
        for (uri, words) in [
            ("/p/docs/routing/route_service.md", "routing route service"),
            ("docs/method-not-allowed.md", "docs method not allowed"),
            ("https://www.python-httpx.org/advanced/ssl/", "advanced ssl"),
            (
                "https://example.com/guide/setup.html?x=1#part",
                "guide setup",
            ),
            ("https://example.com/", ""),
            ("README", "README"),
            ("docs/.env.example", "docs env"),
        ] {
            assert_eq!(title_words(uri), words, "{uri}");
        }
    }
}
