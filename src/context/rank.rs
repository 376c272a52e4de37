//! Relevance: BM25 over the words of each candidate against the words of the task, plus what
//! the text cannot say (shared files, dependencies), added by the caller as bonuses.

use std::collections::{BTreeSet, HashMap};

use tantivy::tokenizer::TextAnalyzer;

/// BM25's term-frequency saturation.
const K1: f64 = 1.2;
/// BM25's length normalisation.
const B: f64 = 0.75;

/// Cuts text into stemmed, lower-cased words without stop words (the same analysis the
/// knowledge index uses for English).
pub struct Words {
    analyzer: TextAnalyzer,
}

impl Default for Words {
    fn default() -> Self {
        Self {
            analyzer: crate::knowledge::english(),
        }
    }
}

impl Words {
    /// The words of `text`, in order.
    pub fn of(&mut self, text: &str) -> Vec<String> {
        let mut words = Vec::new();
        let mut stream = self.analyzer.token_stream(text);
        stream.process(&mut |token| words.push(token.text.clone()));
        words
    }
}

/// BM25 scores of `documents` (each a list of words) for the distinct words of `query`, with
/// the document frequencies taken over `documents` themselves.
pub fn bm25(query: &[String], documents: &[Vec<String>]) -> Vec<f64> {
    let n = documents.len();
    if n == 0 {
        return Vec::new();
    }
    let terms: BTreeSet<&str> = query.iter().map(String::as_str).collect();
    let mut frequency: HashMap<&str, usize> = HashMap::new();
    for doc in documents {
        let distinct: BTreeSet<&str> = doc
            .iter()
            .map(String::as_str)
            .filter(|w| terms.contains(w))
            .collect();
        for word in distinct {
            *frequency.entry(word).or_default() += 1;
        }
    }
    let average = documents.iter().map(Vec::len).sum::<usize>() as f64 / n as f64;
    let idf: Vec<(&str, f64)> = terms
        .iter()
        .filter_map(|t| {
            frequency.get(t).map(|&df| {
                (
                    *t,
                    (1.0 + (n as f64 - df as f64 + 0.5) / (df as f64 + 0.5)).ln(),
                )
            })
        })
        .collect();
    documents
        .iter()
        .map(|doc| {
            if idf.is_empty() || doc.is_empty() {
                return 0.0;
            }
            let mut counts: HashMap<&str, usize> = HashMap::new();
            for word in doc {
                *counts.entry(word.as_str()).or_default() += 1;
            }
            let norm = K1 * (1.0 - B + B * doc.len() as f64 / average.max(1.0));
            idf.iter()
                .map(|(term, idf)| {
                    let tf = counts.get(term).copied().unwrap_or(0) as f64;
                    idf * tf * (K1 + 1.0) / (tf + norm)
                })
                .sum()
        })
        .collect()
}

/// `path` without a leading `./` or `/` and without a trailing `/`.
fn normal(path: &str) -> &str {
    path.trim()
        .trim_start_matches("./")
        .trim_start_matches('/')
        .trim_end_matches('/')
}

fn is_glob(path: &str) -> bool {
    path.contains(['*', '?', '[', '{'])
}

/// The part of a path before its first glob character, cut back to a whole folder.
fn literal_prefix(path: &str) -> &str {
    match path.find(['*', '?', '[', '{']) {
        Some(at) => path[..at].rsplit_once('/').map_or("", |(dir, _)| dir),
        None => path,
    }
}

fn within(inner: &str, outer: &str) -> bool {
    outer.is_empty()
        || inner == outer
        || inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Whether two file entries of tasks (paths, folders or globs from the project root) may name a
/// common file. Errs towards "yes" for two globs: this ranks context, it does not lock.
pub fn paths_meet(a: &str, b: &str) -> bool {
    let (a, b) = (normal(a), normal(b));
    if a.is_empty() || b.is_empty() {
        return false;
    }
    match (is_glob(a), is_glob(b)) {
        (false, false) => within(a, b) || within(b, a),
        (true, false) => glob_matches(a, b),
        (false, true) => glob_matches(b, a),
        (true, true) => {
            let (pa, pb) = (literal_prefix(a), literal_prefix(b));
            within(pa, pb) || within(pb, pa)
        }
    }
}

fn glob_matches(glob: &str, path: &str) -> bool {
    globset::GlobBuilder::new(glob).literal_separator(true).build().is_ok_and(|g| g.compile_matcher().is_match(path))
        // A plain path naming a folder above the glob's base holds what the glob matches.
        || within(literal_prefix(glob), path)
}

/// How strongly `text` mentions the files: 1.0 for a full path, 0.6 for a file name or folder
/// (at least 4 characters, so `a.rs` or `src` alone count for nothing), 0 otherwise.
pub fn mentions(text: &str, files: &[String]) -> f64 {
    let mut best: f64 = 0.0;
    for file in files {
        let path = normal(file);
        let literal = literal_prefix(path);
        if !literal.is_empty() && literal.contains('/') && text.contains(literal) {
            return 1.0;
        }
        if !is_glob(path) && !path.is_empty() && text.contains(path) {
            return 1.0;
        }
        let name = path
            .rsplit('/')
            .find(|part| !is_glob(part) && part.len() >= 4);
        if let Some(name) = name
            && contains_word(text, name)
        {
            best = best.max(0.6);
        }
    }
    best
}

/// `needle` in `text`, not inside a longer word.
fn contains_word(text: &str, needle: &str) -> bool {
    let boundary = |c: Option<char>| c.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
    text.match_indices(needle).any(|(at, _)| {
        boundary(text[..at].chars().next_back())
            && boundary(text[at + needle.len()..].chars().next())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bm25_prefers_the_document_about_the_query() {
        let mut words = Words::default();
        let query = words.of("hash the passwords with argon2");
        let docs = vec![
            words.of("Passwords are hashed with argon2id before storage"),
            words.of("The logo is blue"),
            words.of("Use blue buttons"),
        ];
        let scores = bm25(&query, &docs);
        assert!(
            scores[0] > 0.0 && scores[1] == 0.0 && scores[2] == 0.0,
            "{scores:?}"
        );
    }

    #[test]
    fn paths_meet_through_folders_and_globs() {
        assert!(paths_meet("src/auth/mod.rs", "src/auth/mod.rs"));
        assert!(paths_meet("src/auth", "src/auth/mod.rs"));
        assert!(paths_meet("src/**/*.rs", "src/auth/mod.rs"));
        assert!(paths_meet("./src/auth/**", "src/auth/login.rs"));
        assert!(paths_meet("src/**", "src/auth/**"));
        assert!(!paths_meet("src/a/**", "src/b/**"));
        assert!(!paths_meet("src/auth.rs", "src/authz.rs"));
        assert!(!paths_meet("docs/*.md", "src/lib.rs"));
    }

    #[test]
    fn mentions_count_paths_and_names_not_fragments() {
        let files = vec!["src/auth/login.py".to_owned()];
        assert!((mentions("Keep src/auth/login.py small", &files) - 1.0).abs() < 1e-9);
        assert!((mentions("login.py must not import flask", &files) - 0.6).abs() < 1e-9);
        assert!(mentions("the catalogue", &files).abs() < 1e-9);
        assert!(mentions("mylogin.pyc", &files).abs() < 1e-9);
    }
}
