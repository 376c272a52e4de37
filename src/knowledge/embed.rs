//! Semantic search, when an embeddings API is configured: chunks embedded at index time (an
//! OpenAI-compatible `POST …/embeddings`, such as a local Ollama), the query embedded at search
//! time, the nearest chunks by cosine similarity, fused with the full-text ranking by reciprocal
//! rank fusion.

use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;

use super::ChunkKey;
use crate::config::SecretValue;

/// Texts sent in one request.
const BATCH: usize = 32;
/// The constant of reciprocal rank fusion (the usual 60).
const RRF_K: f64 = 60.0;

/// A client of an embeddings API.
#[derive(Debug, Clone)]
pub struct Embedder {
    client: reqwest::Client,
    url: String,
    model: String,
    key: Option<SecretValue>,
}

#[derive(Deserialize)]
struct Response {
    data: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    embedding: Vec<f32>,
    #[serde(default)]
    index: Option<usize>,
}

impl Embedder {
    /// A client for `url` (the API's base, `…/v1`, or its `…/embeddings` endpoint).
    pub fn new(url: &str, model: &str, key: Option<SecretValue>) -> Result<Self, String> {
        crate::install_tls_provider();
        let base = url.trim_end_matches('/');
        let url = if base.ends_with("/embeddings") {
            base.to_owned()
        } else {
            format!("{base}/embeddings")
        };
        reqwest::Url::parse(&url)
            .map_err(|e| format!("embeddings_url `{url}` is not a URL: {e}"))?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            client,
            url,
            model: model.to_owned(),
            key,
        })
    }

    /// The model's name (vectors of different models are never compared).
    pub fn model(&self) -> &str {
        &self.model
    }

    /// Unit-length embeddings of `texts`, in order.
    pub async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, String> {
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(BATCH) {
            let mut request = self
                .client
                .post(&self.url)
                .json(&serde_json::json!({"model": self.model, "input": batch}));
            if let Some(key) = &self.key {
                request = request.bearer_auth(key.expose());
            }
            // Errors never carry the URL's query or the key: only what went wrong.
            let response = request.send().await.map_err(|e| {
                format!("the embeddings API cannot be reached: {}", e.without_url())
            })?;
            let status = response.status();
            if !status.is_success() {
                return Err(format!("the embeddings API answered {status}"));
            }
            let mut parsed: Response = response.json().await.map_err(|e| {
                format!(
                    "the embeddings API's answer is not understood: {}",
                    e.without_url()
                )
            })?;
            if parsed.data.len() != batch.len() {
                return Err(format!(
                    "the embeddings API returned {} vectors for {} texts",
                    parsed.data.len(),
                    batch.len()
                ));
            }
            parsed.data.sort_by_key(|item| item.index.unwrap_or(0));
            for item in parsed.data {
                out.push(unit(item.embedding)?);
            }
        }
        Ok(out)
    }
}

fn unit(mut v: Vec<f32>) -> Result<Vec<f32>, String> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if v.is_empty() || !norm.is_finite() || norm == 0.0 {
        return Err("the embeddings API returned an empty or zero vector".into());
    }
    for x in &mut v {
        *x /= norm;
    }
    Ok(v)
}

/// Every chunk embedding of a project, for one model, in memory.
#[derive(Debug, Default)]
pub struct VectorSet {
    keys: Vec<ChunkKey>,
    dims: usize,
    data: Vec<f32>,
}

impl VectorSet {
    /// The set of these vectors (those of another length than the first are left out).
    pub fn new(vectors: Vec<(ChunkKey, Vec<f32>)>) -> Self {
        let dims = vectors.first().map_or(0, |(_, v)| v.len());
        let mut set = Self {
            dims,
            ..Self::default()
        };
        for (key, vector) in vectors.into_iter().filter(|(_, v)| v.len() == dims) {
            set.keys.push(key);
            set.data.extend(vector);
        }
        set
    }

    /// How many chunks it holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The `n` chunks nearest to `query` (unit length), nearest first; ties in key order.
    pub fn nearest(&self, query: &[f32], n: usize) -> Vec<(ChunkKey, f32)> {
        if query.len() != self.dims || self.dims == 0 {
            return Vec::new();
        }
        let mut scored: Vec<(usize, f32)> = self
            .data
            .chunks_exact(self.dims)
            .map(|v| v.iter().zip(query).map(|(a, b)| a * b).sum::<f32>())
            .enumerate()
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        scored
            .into_iter()
            .take(n)
            .map(|(i, score)| (self.keys[i].clone(), score))
            .collect()
    }
}

/// Reciprocal rank fusion of ranked lists: each key scores Σ 1/(60 + rank); best first, ties in
/// the order first seen.
pub fn fuse(lists: &[Vec<ChunkKey>]) -> Vec<(ChunkKey, f64)> {
    let mut scores: HashMap<&ChunkKey, (f64, usize)> = HashMap::new();
    let mut order = 0;
    for list in lists {
        for (rank, key) in list.iter().enumerate() {
            let entry = scores.entry(key).or_insert_with(|| {
                order += 1;
                (0.0, order)
            });
            entry.0 += 1.0 / (RRF_K + rank as f64 + 1.0);
        }
    }
    let mut fused: Vec<(ChunkKey, f64, usize)> = scores
        .into_iter()
        .map(|(k, (s, o))| (k.clone(), s, o))
        .collect();
    fused.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
    fused.into_iter().map(|(k, s, _)| (k, s)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u32) -> ChunkKey {
        ChunkKey {
            source: 1,
            uri: "a.md".into(),
            ordinal: n,
        }
    }

    #[test]
    fn fusion_rewards_agreement() {
        let fused = fuse(&[vec![key(1), key(2), key(3)], vec![key(3), key(4), key(1)]]);
        let order: Vec<u32> = fused.iter().map(|(k, _)| k.ordinal).collect();
        // 1 is 1st and 3rd, 3 is 3rd and 1st: equal, 1 seen first; then 2 and 4.
        assert_eq!(order, [1, 3, 2, 4]);
    }

    #[test]
    fn nearest_by_cosine() {
        let set = VectorSet::new(vec![
            (key(1), unit(vec![1.0, 0.0]).unwrap()),
            (key(2), unit(vec![0.6, 0.8]).unwrap()),
            (key(3), vec![1.0, 0.0, 0.0]),
        ]);
        assert_eq!(set.len(), 2, "a vector of another length is left out");
        let near = set.nearest(&unit(vec![0.0, 1.0]).unwrap(), 5);
        assert_eq!(
            near.iter().map(|(k, _)| k.ordinal).collect::<Vec<_>>(),
            [2, 1]
        );
        assert!(set.nearest(&[1.0], 5).is_empty());
        assert!(unit(vec![0.0, 0.0]).is_err());
    }
}
