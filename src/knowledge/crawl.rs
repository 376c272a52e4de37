//! Gathering documents: a local folder (Markdown, reST, text, HTML; `.gitignore` respected), or
//! a documentation website (same host, depth and page limits, two requests at a time,
//! `robots.txt` respected, timeouts, only text content types).

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::path::Path;
use std::time::Duration;

use super::chunk::{Format, format_of};

/// A document to index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Its address: a path relative to the folder, or a URL.
    pub uri: String,
    /// Its text (HTML converted to Markdown-like text).
    pub text: String,
    /// How its headings look.
    pub format: Format,
}

/// Something a crawl skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The file or URL.
    pub uri: String,
    /// Why.
    pub reason: String,
    /// It could not be read this time (a timeout, a server error, an unreadable file), which
    /// says nothing of whether it is gone: what was indexed from it is kept.
    pub transient: bool,
}

/// The largest document read.
const MAX_BYTES: u64 = 5 * 1024 * 1024;

/// HTML as text with `#` headings.
pub fn html_to_text(html: &str) -> String {
    html2text::from_read(html.as_bytes(), 100).unwrap_or_default()
}

/// Every document in a folder.
pub fn folder(root: &Path) -> (Vec<Document>, Vec<Skipped>) {
    let mut documents = Vec::new();
    let mut skipped = Vec::new();
    let walk = ignore::WalkBuilder::new(root)
        .hidden(true)
        .follow_links(false)
        .build();
    let mut paths: Vec<std::path::PathBuf> = Vec::new();
    for entry in walk.flatten() {
        match entry.file_type() {
            Some(t) if t.is_file() => paths.push(entry.into_path()),
            // Said, not silently dropped: a link could lead anywhere, so it is not followed.
            Some(t) if t.is_symlink() => {
                let uri = entry
                    .path()
                    .strip_prefix(root)
                    .unwrap_or(entry.path())
                    .to_string_lossy()
                    .into_owned();
                if format_of(&uri).is_some() || entry.path().is_dir() {
                    skipped.push(Skipped {
                        uri,
                        reason: "a symbolic link: not followed (add what it points to as a source of its own)".into(),
                        transient: false,
                    });
                }
            }
            _ => {}
        }
    }
    paths.sort();
    for path in paths {
        let uri = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .to_string_lossy()
            .into_owned();
        let Some(format) = format_of(&uri) else {
            continue;
        };
        match std::fs::metadata(&path) {
            Ok(m) if m.len() > MAX_BYTES => {
                skipped.push(Skipped {
                    uri,
                    reason: format!("larger than {} MB", MAX_BYTES / 1024 / 1024),
                    transient: false,
                });
                continue;
            }
            Err(e) => {
                skipped.push(Skipped {
                    uri,
                    reason: e.to_string(),
                    transient: true,
                });
                continue;
            }
            _ => {}
        }
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let is_html = uri.ends_with(".html") || uri.ends_with(".htm");
                documents.push(Document {
                    text: if is_html { html_to_text(&text) } else { text },
                    uri,
                    format,
                });
            }
            Err(e) => skipped.push(Skipped {
                uri,
                reason: format!("not readable as UTF-8 text: {e}"),
                transient: false,
            }),
        }
    }
    (documents, skipped)
}

/// Limits of a web crawl.
#[derive(Debug, Clone, Copy)]
pub struct WebLimits {
    /// Links followed from the start page.
    pub max_depth: u32,
    /// Pages fetched at most.
    pub max_pages: usize,
    /// Time for one request.
    pub timeout: Duration,
}

impl Default for WebLimits {
    fn default() -> Self {
        Self {
            max_depth: 3,
            max_pages: 200,
            timeout: Duration::from_secs(15),
        }
    }
}

/// What a site's `robots.txt` says to this crawler (RFC 9309): the rules of the groups naming
/// `orchestrator`, else of the `*` groups; a group may name several agents; `*` in a rule
/// matches any characters and a final `$` anchors it; the longest matching rule wins, and on a
/// tie `Allow` does.
#[derive(Debug, Default)]
struct Robots {
    rules: Vec<Rule>,
}

/// One robots.txt rule: (allowed, pattern).
type Rule = (bool, String);

impl Robots {
    fn parse(text: &str) -> Self {
        // Groups: the agents they name and their rules.
        let mut groups: Vec<(Vec<String>, Vec<Rule>)> = Vec::new();
        let mut in_agents = false;
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or_default().trim();
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            match key.trim().to_ascii_lowercase().as_str() {
                "user-agent" => {
                    if !in_agents {
                        groups.push((Vec::new(), Vec::new()));
                        in_agents = true;
                    }
                    if let Some(group) = groups.last_mut() {
                        group.0.push(value.to_ascii_lowercase());
                    }
                }
                rule @ ("allow" | "disallow") => {
                    in_agents = false;
                    if let Some(group) = groups.last_mut()
                        && !value.is_empty()
                    {
                        group.1.push((rule == "allow", value.to_owned()));
                    }
                }
                _ => {}
            }
        }
        let named: Vec<_> = groups
            .iter()
            .filter(|(agents, _)| agents.iter().any(|a| a == "orchestrator"))
            .collect();
        let chosen = if named.is_empty() {
            groups
                .iter()
                .filter(|(agents, _)| agents.iter().any(|a| a == "*"))
                .collect()
        } else {
            named
        };
        Self {
            rules: chosen
                .into_iter()
                .flat_map(|(_, rules)| rules.iter().cloned())
                .collect(),
        }
    }

    /// Whether the path (with its query) may be fetched.
    fn allows(&self, path: &str) -> bool {
        let mut best: Option<(usize, bool)> = None;
        for (allow, pattern) in &self.rules {
            if robots_match(pattern, path) {
                let length = pattern.len();
                let better = match best {
                    None => true,
                    Some((l, a)) => length > l || (length == l && *allow && !a),
                };
                if better {
                    best = Some((length, *allow));
                }
            }
        }
        best.is_none_or(|(_, allow)| allow)
    }
}

/// Whether a robots.txt pattern matches the start of `path`: `*` is any run of characters, a
/// final `$` the end of the path.
fn robots_match(pattern: &str, path: &str) -> bool {
    let (pattern, anchored) = match pattern.strip_suffix('$') {
        Some(p) => (p, true),
        None => (pattern, false),
    };
    let parts: Vec<&str> = pattern.split('*').collect();
    let Some(first) = parts.first() else {
        return true;
    };
    let Some(mut rest) = path.strip_prefix(first) else {
        return false;
    };
    let last = parts.len() - 1;
    for (i, part) in parts.iter().enumerate().skip(1) {
        if i == last && anchored {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    !anchored || rest.is_empty()
}

/// Whether `url` is on the site `origin` is: the same host and port, or the same host moved
/// from http to https with both on their default ports.
fn same_site(origin: &reqwest::Url, url: &reqwest::Url) -> bool {
    let defaults = |u: &reqwest::Url| u.port().is_none() || u.port() == u.port_or_known_default();
    url.host_str() == origin.host_str()
        && matches!(url.scheme(), "http" | "https")
        && (url.port_or_known_default() == origin.port_or_known_default()
            || (origin.scheme() == "http"
                && url.scheme() == "https"
                && defaults(origin)
                && defaults(url)))
}

/// The links of a page, resolved against its URL, on the same host, without fragments.
pub fn links(html: &str, base: &reqwest::Url) -> Vec<reqwest::Url> {
    let mut out = BTreeSet::new();
    let lower = html.to_ascii_lowercase();
    let mut from = 0;
    while let Some(at) = lower[from..].find("href=") {
        let start = from + at + 5;
        from = start;
        let rest = &html[start..];
        let (quote, rest) = match rest.chars().next() {
            Some(q @ ('"' | '\'')) => (Some(q), &rest[1..]),
            _ => (None, rest),
        };
        let end = match quote {
            Some(q) => rest.find(q),
            None => rest.find(|c: char| c.is_whitespace() || c == '>'),
        };
        let Some(end) = end else { continue };
        let href = &rest[..end];
        if let Ok(mut url) = base.join(href) {
            url.set_fragment(None);
            if url.host_str() == base.host_str()
                && url.port_or_known_default() == base.port_or_known_default()
                && matches!(url.scheme(), "http" | "https")
            {
                out.insert(url);
            }
        }
    }
    out.into_iter().collect()
}

/// Crawls a website from `start`: same host only, breadth first, two requests at a time.
/// `on_page` hears the count of pages fetched so far.
pub async fn web(
    start: &str,
    limits: WebLimits,
    on_page: &(dyn Fn(usize) + Send + Sync),
) -> Result<(Vec<Document>, Vec<Skipped>), String> {
    crate::install_tls_provider();
    let start = reqwest::Url::parse(start).map_err(|e| format!("`{start}` is not a URL: {e}"))?;
    if !matches!(start.scheme(), "http" | "https") {
        return Err(format!(
            "only http and https sites can be crawled, not {}",
            start.scheme()
        ));
    }
    let client = reqwest::Client::builder()
        .timeout(limits.timeout)
        .user_agent(concat!(
            "orchestrator/",
            env!("CARGO_PKG_VERSION"),
            " (documentation indexer)"
        ))
        // Redirects are followed only within the site (same host and port; http to https on
        // their default ports is the same site): a crawl never leaves it.
        .redirect(reqwest::redirect::Policy::custom({
            let origin = start.clone();
            move |attempt| {
                if attempt.previous().len() >= 5 || !same_site(&origin, attempt.url()) {
                    attempt.stop()
                } else {
                    attempt.follow()
                }
            }
        }))
        .build()
        .map_err(|e| e.to_string())?;
    let robots = match client
        .get(start.join("/robots.txt").map_err(|e| e.to_string())?)
        .send()
        .await
    {
        Ok(r) if r.status().is_success() => Robots::parse(&r.text().await.unwrap_or_default()),
        _ => Robots::default(),
    };
    let mut queue: VecDeque<(reqwest::Url, u32)> = VecDeque::from([(start.clone(), 0)]);
    let mut seen: HashSet<reqwest::Url> = HashSet::from([start.clone()]);
    let mut documents = Vec::new();
    let mut skipped = Vec::new();
    let mut fetched = 0;
    while !queue.is_empty() && fetched < limits.max_pages {
        let mut batch = Vec::new();
        while batch.len() < 2 && fetched + batch.len() < limits.max_pages {
            let Some((url, depth)) = queue.pop_front() else {
                break;
            };
            let target = match url.query() {
                Some(query) => format!("{}?{query}", url.path()),
                None => url.path().to_owned(),
            };
            if !robots.allows(&target) {
                skipped.push(Skipped {
                    uri: url.to_string(),
                    reason: "robots.txt disallows it".into(),
                    transient: false,
                });
                continue;
            }
            batch.push((url, depth));
        }
        fetched += batch.len();
        let results = futures_join(batch.iter().map(|(url, _)| fetch(&client, url.clone()))).await;
        on_page(fetched);
        for ((url, depth), result) in batch.into_iter().zip(results) {
            match result {
                Ok((text, format, html)) => {
                    if let Some(html) = html
                        && depth < limits.max_depth
                    {
                        for link in links(&html, &url) {
                            if seen.insert(link.clone()) {
                                queue.push_back((link, depth + 1));
                            }
                        }
                    }
                    documents.push(Document {
                        uri: url.to_string(),
                        text,
                        format,
                    });
                }
                Err((reason, transient)) => skipped.push(Skipped {
                    uri: url.to_string(),
                    reason,
                    transient,
                }),
            }
        }
    }
    Ok((documents, skipped))
}

async fn futures_join<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let handles: Vec<_> = futures.collect();
    let mut out = Vec::with_capacity(handles.len());
    // Two at a time is polite enough to run them side by side with a simple join.
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = handles.into_iter().map(Box::pin).collect();
    match pinned.len() {
        0 => {}
        1 => out.push(pinned.remove(0).await),
        _ => {
            let b = pinned.remove(1);
            let a = pinned.remove(0);
            let (x, y) = tokio::join!(a, b);
            out.push(x);
            out.push(y);
        }
    }
    out
}

/// One page: its text and format, and its HTML when it is HTML (for links). An error says why,
/// and whether it may be gone by next time (a timeout, a refused connection, a server error).
async fn fetch(
    client: &reqwest::Client,
    url: reqwest::Url,
) -> Result<(String, Format, Option<String>), (String, bool)> {
    let network = |e: reqwest::Error| {
        if e.is_timeout() {
            ("timed out".to_owned(), true)
        } else {
            (e.without_url().to_string(), true)
        }
    };
    let mut response = client.get(url).send().await.map_err(network)?;
    if !response.status().is_success() {
        return Err((
            format!("the server answered {}", response.status()),
            response.status().is_server_error() || response.status().as_u16() == 429,
        ));
    }
    let kind = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if response.content_length().is_some_and(|n| n > MAX_BYTES) {
        return Err(("too large".into(), false));
    }
    // Read with a limit: a page without a length (chunked) could be endless.
    let mut bytes = Vec::new();
    while let Some(piece) = response.chunk().await.map_err(network)? {
        bytes.extend_from_slice(&piece);
        if bytes.len() as u64 > MAX_BYTES {
            return Err(("too large".into(), false));
        }
    }
    let body = String::from_utf8_lossy(&bytes).into_owned();
    if kind.starts_with("text/html") || kind.starts_with("application/xhtml") {
        Ok((html_to_text(&body), Format::Markdown, Some(body)))
    } else if kind.starts_with("text/markdown") || kind.starts_with("text/x-markdown") {
        Ok((body, Format::Markdown, None))
    } else if kind.starts_with("text/plain") {
        Ok((body, Format::Plain, None))
    } else {
        Err((
            format!(
                "not a text document ({})",
                if kind.is_empty() {
                    "no content type"
                } else {
                    &kind
                }
            ),
            false,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn robots_and_links() {
        let robots =
            Robots::parse("User-agent: *\nDisallow: /private\n\nUser-agent: other\nDisallow: /x\n");
        assert!(!robots.allows("/private/a") && robots.allows("/x") && robots.allows("/"));
        // One group naming two agents; wildcards and the end anchor; the longest rule wins.
        let robots = Robots::parse(
            "User-agent: googlebot\nUser-agent: *\nDisallow: /*.pdf$\nDisallow: /drafts/\nAllow: /drafts/public/\nDisallow: /search*q=\n",
        );
        assert!(!robots.allows("/guide/manual.pdf"));
        assert!(robots.allows("/guide/manual.pdf.html"));
        assert!(!robots.allows("/drafts/x.html"));
        assert!(robots.allows("/drafts/public/x.html"));
        assert!(!robots.allows("/search?q=rust"));
        assert!(robots.allows("/guide/"));
        // A group naming this crawler replaces the `*` rules.
        let robots = Robots::parse(
            "User-agent: *\nDisallow: /\n\nUser-agent: orchestrator\nDisallow: /private\n",
        );
        assert!(robots.allows("/guide") && !robots.allows("/private"));
        let site = reqwest::Url::parse("http://docs.test/").unwrap();
        let url = |u: &str| reqwest::Url::parse(u).unwrap();
        assert!(same_site(&site, &url("http://docs.test/a")));
        assert!(same_site(&site, &url("https://docs.test/a")));
        assert!(!same_site(&site, &url("http://docs.test:8080/a")));
        assert!(!same_site(
            &url("http://docs.test:8000/"),
            &url("http://docs.test:9000/a")
        ));
        assert!(!same_site(&site, &url("http://other.test/a")));
        let base = reqwest::Url::parse("http://docs.test/guide/index.html").unwrap();
        let found = links(
            "<a href=\"install.html#top\">i</a> <a href='/api/'>a</a> <A HREF=http://other.test/x>o</A> <a href=\"mailto:x@y\">m</a>",
            &base,
        );
        let found: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(
            found,
            [
                "http://docs.test/api/",
                "http://docs.test/guide/install.html"
            ]
        );
    }
}
