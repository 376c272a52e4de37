//! The knowledge base and the skills: a local docs tree, a website served on loopback (links,
//! depth limit, a non-HTML file, a 404, a page that never answers, robots.txt), incremental
//! re-indexing, search quality on a fixture corpus with known answers, the CLI and MCP tools,
//! SKILL.md discovery.

mod support;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use orchestrator::Orchestrator;
use orchestrator::config::{Overrides, Settings};
use orchestrator::knowledge::crawl::{self, WebLimits};
use serde_json::{Value, json};
use support::{Project, StdioPeer, call, structured, tool_error_text};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kb")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

async fn engine(project: &Project) -> Orchestrator {
    let overrides = Overrides {
        data_dir: Some(project.data_dir.clone()),
        tools: None,
    };
    let settings = Settings::load(&project.root, &|_| None, &overrides).unwrap();
    Orchestrator::open(settings).await.unwrap()
}

/// Search quality: each question has one right section; it must come first.
const QUESTIONS: &[(&str, &str)] = &[
    (
        "how do I revoke an API token",
        "auth.md › Authentication › API tokens",
    ),
    (
        "rate limit exceeded, too many requests",
        "api.html › HTTP API › Rate limits",
    ),
    (
        "run it in a docker container",
        "deploy.rst › Deployment › Docker",
    ),
    (
        "where is the config file located",
        "config.md › Configuration › Config file",
    ),
    (
        "install from source with make",
        "install.md › Installation › From source",
    ),
    (
        "paginate through results with a cursor",
        "api.html › HTTP API › Pagination",
    ),
    (
        "back up the database every night",
        "deploy.rst › Deployment › Backups",
    ),
    ("log files rotation", "config.md › Configuration › Logging"),
    (
        "account locked after failed sign-in attempts",
        "auth.md › Authentication › Password policy",
    ),
    ("share a tally with someone", "faq.txt"),
];

fn place(source: &str, headings: &[String]) -> String {
    let name = source.rsplit('/').next().unwrap();
    if headings.is_empty() {
        name.to_owned()
    } else {
        format!("{name} › {}", headings.join(" › "))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_docs_folder_is_indexed_and_searched_with_known_answers() {
    let project = Project::new();
    copy_dir(&fixture(), &project.root.join("docs"));
    let engine = engine(&project).await;
    let source = engine.kb_add("docs").await.unwrap();
    assert_eq!(source.kind, "folder");
    assert_eq!(source.location, project.root.join("docs").to_string_lossy());
    let heard = Mutex::new(Vec::new());
    let reports = engine
        .kb_index(None, &|event| heard.lock().unwrap().push(event))
        .await
        .unwrap();
    let (source, report) = &reports[0];
    // Markdown, reST, plain text and HTML; not the PNG, not the hidden folder.
    assert_eq!(
        (report.indexed, report.unchanged, report.removed),
        (6, 0, 0),
        "{report:?}"
    );
    assert_eq!(source.documents, 6);
    assert!(source.chunks >= 16, "{source:?}");
    assert!(source.indexed_at.is_some());
    let heard = heard.into_inner().unwrap();
    assert!(matches!(
        &heard[0],
        orchestrator::knowledge::IndexProgress::Source {
            index: 0,
            total: 1,
            ..
        }
    ));
    assert!(
        heard.contains(&orchestrator::knowledge::IndexProgress::Documents { done: 6, total: 6 })
    );

    let mut right = 0;
    for (question, answer) in QUESTIONS {
        let hits = engine.kb_search(question, 3).await.unwrap();
        assert!(!hits.is_empty(), "{question}");
        let first = place(&hits[0].chunk.source, &hits[0].chunk.heading_path);
        if first == *answer {
            right += 1;
        } else {
            eprintln!("{question:?}: got {first}, wanted {answer}");
        }
        // Spread over documents, but each document's chunks in the order of their scores.
        for (i, hit) in hits.iter().enumerate() {
            for later in hits[i + 1..]
                .iter()
                .filter(|h| h.chunk.source == hit.chunk.source)
            {
                assert!(hit.score >= later.score, "ranked: {question}");
            }
        }
    }
    assert_eq!(right, QUESTIONS.len(), "every known answer comes first");

    // Sources are named from the project root; snippets highlight the words that matched.
    let hits = engine.kb_search("revoke token", 1).await.unwrap();
    assert_eq!(hits[0].chunk.source, "docs/auth.md");
    assert!(
        hits[0].snippet.contains("**revoked**") || hits[0].snippet.contains("**revoking**"),
        "{}",
        hits[0].snippet
    );
    assert!(hits[0].chunk.text.contains("Settings → Tokens"));
    // Words that match nothing, or query syntax, find nothing rather than failing.
    assert!(engine.kb_search("xylophone", 5).await.unwrap().is_empty());
    assert!(engine.kb_search("title:(( AND \"", 5).await.is_ok());
    assert!(
        engine
            .kb_search("never indexed", 5)
            .await
            .unwrap()
            .iter()
            .all(|h| !h.chunk.source.contains(".hidden"))
    );

    // A folder that does not exist, or a file, is refused with the reason.
    let err = engine
        .kb_add("no/such/folder")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("no/such/folder"), "{err}");
    let err = engine.kb_add("docs/auth.md").await.unwrap_err().to_string();
    assert!(err.contains("is not a folder"), "{err}");
    let err = engine
        .kb_index(Some(99), &|_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("99"), "{err}");
}

/// One long document that says the words many times does not fill the top of the list when
/// another document answers too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_long_document_does_not_fill_the_top_of_the_list() {
    let project = Project::new();
    let section = |n: u32| {
        format!(
            "## Part {n}\n\nThe throttle quota applies here too: throttle quota, throttle quota.\n\n"
        )
    };
    let long: String = (1..=5).map(section).collect();
    support::write_files(
        &project.root.join("docs"),
        &[
            ("long.md", &format!("# Everything\n\n{long}")),
            (
                "limits.md",
                "# Limits\n\nEach key has a throttle quota of 100 calls a minute.\n",
            ),
        ],
    );
    let engine = engine(&project).await;
    engine.kb_add("docs").await.unwrap();
    engine.kb_index(None, &|_| {}).await.unwrap();
    let hits = engine.kb_search("throttle quota", 3).await.unwrap();
    let sources: Vec<&str> = hits.iter().map(|h| h.chunk.source.as_str()).collect();
    assert_eq!(sources.len(), 3);
    assert!(
        sources[..2].contains(&"docs/limits.md"),
        "the other document is among the first two: {sources:?}"
    );
}

/// A question's own words ("how do I") do not make an FAQ heading that shares them outrank the
/// page that answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_questions_own_words_do_not_decide_the_answer() {
    let project = Project::new();
    support::write_files(
        &project.root.join("docs"),
        &[
            (
                "faq.md",
                "# FAQ\n\n## How do I get started, and what do I do first?\n\nRead the guide, then ask us.\n",
            ),
            (
                "network.md",
                "# Network\n\n## Proxies\n\nSet a proxy with the --proxy flag or HTTPS_PROXY.\n",
            ),
        ],
    );
    let engine = engine(&project).await;
    engine.kb_add("docs").await.unwrap();
    engine.kb_index(None, &|_| {}).await.unwrap();
    let hits = engine.kb_search("How do I set a proxy?", 3).await.unwrap();
    assert_eq!(hits[0].chunk.source, "docs/network.md", "{hits:#?}");
    // A query of nothing but such words still finds what says them.
    let hits = engine.kb_search("how do I", 3).await.unwrap();
    assert_eq!(hits[0].chunk.source, "docs/faq.md");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reindexing_reads_only_what_changed() {
    let project = Project::new();
    let docs = project.root.join("docs");
    support::write_files(
        &docs,
        &[
            ("a.md", "# Alpha\n\nThe aardvark digs burrows.\n"),
            ("b.md", "# Beta\n\nThe bison grazes the prairie.\n"),
            ("c/c.md", "# Gamma\n\nThe caracal hunts at night.\n"),
        ],
    );
    let engine = engine(&project).await;
    engine.kb_add("docs").await.unwrap();
    let first = engine.kb_index(None, &|_| {}).await.unwrap();
    assert_eq!((first[0].1.indexed, first[0].1.unchanged), (3, 0));

    let again = engine.kb_index(None, &|_| {}).await.unwrap();
    assert_eq!(
        (
            again[0].1.indexed,
            again[0].1.unchanged,
            again[0].1.removed,
            again[0].1.chunks
        ),
        (0, 3, 0, 0)
    );

    // A symlinked document is reported, not silently passed over.
    std::os::unix::fs::symlink(docs.join("a.md"), docs.join("link.md")).unwrap();
    let linked = engine.kb_index(None, &|_| {}).await.unwrap();
    assert!(
        linked[0]
            .1
            .skipped
            .iter()
            .any(|s| s.starts_with("link.md: a symbolic link")),
        "{:?}",
        linked[0].1
    );
    std::fs::remove_file(docs.join("link.md")).unwrap();

    std::fs::write(docs.join("a.md"), "# Alpha\n\nThe axolotl regrows limbs.\n").unwrap();
    std::fs::remove_file(docs.join("b.md")).unwrap();
    std::fs::write(docs.join("d.md"), "# Delta\n\nThe dugong eats seagrass.\n").unwrap();
    let changed = engine.kb_index(None, &|_| {}).await.unwrap();
    let report = &changed[0].1;
    assert_eq!(
        (report.indexed, report.unchanged, report.removed),
        (2, 1, 1),
        "{report:?}"
    );
    assert_eq!(changed[0].0.documents, 3);
    assert!(
        engine.kb_search("aardvark", 5).await.unwrap().is_empty(),
        "the old text of a.md is gone"
    );
    assert!(
        engine.kb_search("bison", 5).await.unwrap().is_empty(),
        "b.md is gone"
    );
    assert_eq!(engine.kb_search("axolotl", 5).await.unwrap().len(), 1);
    assert_eq!(
        engine.kb_search("dugong", 5).await.unwrap()[0].chunk.source,
        "docs/d.md"
    );
    assert_eq!(
        engine.kb_search("caracal", 5).await.unwrap().len(),
        1,
        "unchanged documents stay"
    );

    // A folder renamed away keeps what was indexed from it, with a warning.
    std::fs::rename(&docs, project.root.join("docs-old")).unwrap();
    let missing = engine.kb_index(None, &|_| {}).await.unwrap();
    assert!(
        missing[0].1.warnings[0].contains("cannot be found: its 3 indexed document(s) are kept"),
        "{:?}",
        missing[0].1
    );
    assert_eq!(engine.kb_search("caracal", 5).await.unwrap().len(), 1);
    std::fs::rename(project.root.join("docs-old"), &docs).unwrap();

    // An index lost from the data dir is rebuilt from the documents, not trusted to the hashes.
    std::fs::remove_dir_all(project.data_dir.join("knowledge")).unwrap();
    let rebuilt = engine.kb_index(None, &|_| {}).await.unwrap();
    assert_eq!(rebuilt[0].1.indexed, 3);
    assert_eq!(engine.kb_search("caracal", 5).await.unwrap().len(), 1);

    // Removing the source removes what was indexed from it.
    let id = rebuilt[0].0.id;
    engine.kb_remove(id).await.unwrap();
    assert!(engine.kb_sources().await.unwrap().is_empty());
    assert!(engine.kb_search("caracal", 5).await.unwrap().is_empty());
    assert!(
        engine.kb_remove(id).await.is_err(),
        "an unknown source is an error"
    );
}

/// A small documentation site on loopback. Every request is recorded; `down` makes it answer
/// 503 to everything; `elsewhere` counts requests to another port of the same host.
struct Site {
    url: String,
    requested: Arc<Mutex<Vec<String>>>,
    down: Arc<std::sync::atomic::AtomicBool>,
    elsewhere: Arc<std::sync::atomic::AtomicUsize>,
}

async fn site() -> Site {
    use axum::http::{StatusCode, Uri, header};
    use axum::response::IntoResponse;
    let requested: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = requested.clone();
    let down: Arc<std::sync::atomic::AtomicBool> = Arc::default();
    let is_down = down.clone();
    // Another server on the same host: a redirect there leaves the site.
    let elsewhere: Arc<std::sync::atomic::AtomicUsize> = Arc::default();
    let count = elsewhere.clone();
    let other = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other_url = format!("http://{}/", other.local_addr().unwrap());
    tokio::spawn(async move {
        let app = axum::Router::new().fallback(move || {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async { "private service" }
        });
        axum::serve(other, app).await
    });
    let page = |title: &str, body: &str| {
        format!(
            "<!doctype html><html><head><title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>"
        )
    };
    let pages: Arc<Vec<(&'static str, &'static str, String)>> = Arc::new(vec![
        (
            "/robots.txt",
            "text/plain",
            // One group for two agents, and a wildcard rule (RFC 9309).
            "User-agent: *\nUser-agent: somebot\nDisallow: /private\nDisallow: /*?print=\n"
                .to_owned(),
        ),
        (
            "/",
            "text/html; charset=utf-8",
            page(
                "Docs home",
                r#"<p>Welcome.</p><a href="/guide/install.html">Install</a> <a href="guide/config.html#top">Config</a>
                <a href="/logo.png">logo</a> <a href="/missing.html">gone</a> <a href="/slow.html">slow</a>
                <a href="/private/secret.html">secret</a> <a href="http://other.invalid/x">elsewhere</a>
                <a href="/notes.txt">notes</a> <a href="/">home again</a>
                <a href="/guide/install.html?print=1">print</a> <a href="/moved.html">moved</a>"#,
            ),
        ),
        (
            "/guide/install.html",
            "text/html",
            page(
                "Install",
                r#"<h2>From source</h2><p>Run cargo build to compile the zebrafish engine.</p><a href="deep1.html">more</a>"#,
            ),
        ),
        (
            "/guide/config.html",
            "text/html",
            page(
                "Config",
                "<h2>Files</h2><p>The settings live in pelican.toml.</p>",
            ),
        ),
        (
            "/guide/deep1.html",
            "text/html",
            page(
                "Deep one",
                r#"<p>Depth two mentions the quokka.</p><a href="deep2.html">deeper</a>"#,
            ),
        ),
        (
            "/guide/deep2.html",
            "text/html",
            page(
                "Deep two",
                r#"<p>Depth three mentions the narwhal.</p><a href="deep3.html">deeper</a>"#,
            ),
        ),
        (
            "/guide/deep3.html",
            "text/html",
            page("Deep three", "<p>Depth four mentions the okapi.</p>"),
        ),
        (
            "/notes.txt",
            "text/plain",
            "Plain notes about the walrus.\n".to_owned(),
        ),
        ("/logo.png", "image/png", "\u{89}PNG".to_owned()),
        (
            "/private/secret.html",
            "text/html",
            page("Secret", "<p>Never fetched.</p>"),
        ),
    ]);
    let app = axum::Router::new().fallback(move |uri: Uri| {
        let (log, pages) = (log.clone(), pages.clone());
        let other_url = other_url.clone();
        let is_down = is_down.clone();
        async move {
            log.lock().unwrap().push(uri.path().to_owned());
            if is_down.load(std::sync::atomic::Ordering::SeqCst) {
                return (StatusCode::SERVICE_UNAVAILABLE, "down").into_response();
            }
            if uri.path() == "/moved.html" {
                return axum::response::Redirect::temporary(&other_url).into_response();
            }
            if uri.path() == "/slow.html" {
                // Never answers: the crawler's timeout must end it.
                std::future::pending::<()>().await;
            }
            match pages.iter().find(|(path, _, _)| *path == uri.path()) {
                Some((_, kind, body)) => {
                    ([(header::CONTENT_TYPE, *kind)], body.clone()).into_response()
                }
                None => (StatusCode::NOT_FOUND, "not here").into_response(),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Site {
        url,
        requested,
        down,
        elsewhere,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_website_is_crawled_politely_within_its_limits() {
    let site = site().await;
    let limits = WebLimits {
        max_depth: 3,
        max_pages: 50,
        timeout: Duration::from_millis(800),
    };
    let pages_heard = Mutex::new(0);
    let (documents, skipped) = crawl::web(&site.url, limits, &|n| *pages_heard.lock().unwrap() = n)
        .await
        .unwrap();
    let mut got: Vec<String> = documents
        .iter()
        .map(|d| d.uri.trim_start_matches(site.url.as_str()).to_owned())
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            "",
            "guide/config.html",
            "guide/deep1.html",
            "guide/deep2.html",
            "guide/install.html",
            "notes.txt"
        ]
    );
    let why = |path: &str| {
        skipped
            .iter()
            .find(|s| s.uri.ends_with(path))
            .map(|s| s.reason.clone())
            .unwrap_or_else(|| panic!("{path} not skipped: {skipped:?}"))
    };
    assert_eq!(why("/logo.png"), "not a text document (image/png)");
    assert_eq!(why("/missing.html"), "the server answered 404 Not Found");
    assert_eq!(why("/slow.html"), "timed out");
    assert_eq!(why("/private/secret.html"), "robots.txt disallows it");
    assert_eq!(why("/install.html?print=1"), "robots.txt disallows it");
    assert_eq!(
        why("/moved.html"),
        "the server answered 307 Temporary Redirect"
    );
    assert_eq!(
        site.elsewhere.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "a redirect to another port of the host is not followed"
    );
    let requested = site.requested.lock().unwrap().clone();
    assert!(
        !requested.iter().any(|p| p.starts_with("/private")),
        "robots.txt is respected: {requested:?}"
    );
    assert!(
        !requested.contains(&"/guide/deep3.html".to_owned()),
        "the depth limit holds: {requested:?}"
    );
    assert_eq!(
        requested.iter().filter(|p| *p == "/").count(),
        1,
        "a page is fetched once: {requested:?}"
    );
    assert_eq!(
        *pages_heard.lock().unwrap(),
        requested.len() - 1,
        "progress counts the pages (robots.txt aside)"
    );
    // HTML becomes text with its headings.
    let install = documents
        .iter()
        .find(|d| d.uri.ends_with("install.html"))
        .unwrap();
    assert!(
        install.text.contains("# Install") && install.text.contains("zebrafish"),
        "{}",
        install.text
    );

    // The page limit holds too.
    let (few, _) = crawl::web(
        &site.url,
        WebLimits {
            max_pages: 2,
            ..limits
        },
        &|_| {},
    )
    .await
    .unwrap();
    assert_eq!(few.len(), 2);
    // A start that is not http(s) is refused.
    assert!(
        crawl::web("ftp://example.org/", limits, &|_| {})
            .await
            .unwrap_err()
            .contains("only http and https")
    );

    // Through the engine: the site is a source; its pages are searchable with their headings.
    let project = Project::new();
    support::write_files(
        &project.root,
        &[(
            "orchestrator.toml",
            "[knowledge]\nweb_timeout_secs = 1\nweb_max_depth = 3\n",
        )],
    );
    let engine = engine(&project).await;
    let source = engine.kb_add(&site.url).await.unwrap();
    assert_eq!(source.kind, "web");
    let indexing = engine
        .kb_index_in_background(source.id, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(indexing.state, "indexed", "{indexing:?}");
    let report = indexing.report.unwrap();
    assert!(
        report.indexed >= 6 && report.skipped.iter().any(|s| s.contains("timed out")),
        "{report:?}"
    );
    let hits = engine.kb_search("zebrafish engine", 3).await.unwrap();
    assert_eq!(
        hits[0].chunk.source,
        format!("{}guide/install.html", site.url)
    );
    assert_eq!(hits[0].chunk.heading_path, ["Install", "From source"]);
    assert!(engine.kb_add("http://").await.is_err());

    // The site goes down: what was indexed from it is kept, with a warning.
    site.down.store(true, std::sync::atomic::Ordering::SeqCst);
    let indexing = engine
        .kb_index_in_background(source.id, Duration::from_secs(30))
        .await
        .unwrap();
    let report = indexing.report.unwrap();
    assert!(
        report.warnings[0].contains("503 Service Unavailable")
            && report.warnings[0].contains("document(s) are kept"),
        "{report:?}"
    );
    assert_eq!(report.removed, 0);
    let hits = engine.kb_search("zebrafish engine", 3).await.unwrap();
    assert_eq!(
        hits[0].chunk.source,
        format!("{}guide/install.html", site.url)
    );
}

fn skill_file(name: &str, description: &str) -> String {
    format!(
        "---\nname: {name}\ndescription: {description}\nallowed-tools: [Read, \"Bash(pytest:*)\"]\nmodel: sonnet\n---\n# {name}\n\nSteps for {name}.\n"
    )
}

/// Skills from the project, the user's home and a configured folder; broken files reported.
fn skills_project() -> (Project, tempfile::TempDir) {
    let project = Project::new();
    let home = tempfile::tempdir().unwrap();
    support::write_files(
        &project.root,
        &[
            (
                "orchestrator.toml",
                "[context]\nskill_dirs = [\"team-skills\"]\n",
            ),
            (
                ".claude/skills/release/SKILL.md",
                &skill_file("release", "Cut a release (changelog, tag, publish)"),
            ),
            (
                ".claude/skills/bad-yaml/SKILL.md",
                "---\nname: [unclosed\n---\nbody\n",
            ),
            (
                ".claude/skills/no-name/SKILL.md",
                "---\ndescription: nameless\n---\nbody\n",
            ),
            (
                ".claude/skills/plain/SKILL.md",
                "Just text, no front matter.\n",
            ),
            (".claude/skills/empty-folder/README.md", "not a skill\n"),
            (
                "team-skills/migrations/SKILL.md",
                &skill_file("migrations", "Write database migrations safely"),
            ),
        ],
    );
    support::write_files(
        home.path(),
        &[
            (
                ".claude/skills/release/SKILL.md",
                &skill_file("release", "The user's own release steps"),
            ),
            (
                ".claude/skills/review/SKILL.md",
                &skill_file("review", "Review a pull request for bugs"),
            ),
        ],
    );
    (project, home)
}

#[test]
fn skills_are_discovered_and_broken_ones_reported() {
    let (project, home) = skills_project();
    let out = project
        .command()
        .env("HOME", home.path())
        .args(["skills", "list", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let set: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<(&str, &str)> = set["skills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap(), s["origin"].as_str().unwrap()))
        .collect();
    assert_eq!(
        names,
        [
            ("release", "project"),
            ("migrations", "config"),
            ("review", "user")
        ],
        "the project's release shadows the user's"
    );
    let release = &set["skills"][0];
    assert_eq!(release["allowed_tools"], json!(["Read", "Bash(pytest:*)"]));
    assert_eq!(release["extra"]["model"], "sonnet");
    assert!(release["body"].as_str().unwrap().starts_with("# release"));
    let problems: Vec<String> = set["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{} {}",
                p["path"].as_str().unwrap(),
                p["problem"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(problems.len(), 4, "{problems:?}");
    assert!(
        problems
            .iter()
            .any(|p| p.contains(".claude/skills/release/SKILL.md")
                && p.contains("taken by a skill found earlier")),
        "the user's shadowed skill is named: {problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("bad-yaml/SKILL.md") && p.contains("not valid YAML")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("no-name/SKILL.md") && p.contains("no `name`")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("plain/SKILL.md") && p.contains("front matter")),
        "{problems:?}"
    );

    // The text forms.
    let out = project
        .command()
        .env("HOME", home.path())
        .arg("skills")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("release") && text.contains("skipped") && text.contains("bad-yaml"),
        "{text}"
    );
    let out = project
        .command()
        .env("HOME", home.path())
        .args(["skills", "show", "migrations"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("Write database migrations safely") && text.contains("Steps for migrations."),
        "{text}"
    );
    let out = project
        .command()
        .env("HOME", home.path())
        .args(["skills", "show", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("release, migrations, review"));
}

#[test]
fn the_kb_commands_add_index_search_list_and_remove() {
    let project = Project::new();
    copy_dir(&fixture(), &project.root.join("docs"));
    let run = |args: &[&str]| {
        let out = project.command().args(args).output().unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (code, out, _) = run(&["kb", "add", "docs"]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains("source 1:") && out.contains("orchestrator kb index"),
        "{out}"
    );
    let (code, out, err) = run(&["kb", "index"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.contains("6 indexed") && out.contains("0 unchanged"),
        "{out}"
    );
    assert!(
        err.contains("[1/1]") && err.contains("docs"),
        "progress on stderr: {err}"
    );
    let (_, out, _) = run(&["kb", "index", "--source", "1"]);
    assert!(
        out.contains("0 indexed") && out.contains("6 unchanged"),
        "{out}"
    );
    let (_, out, _) = run(&["kb", "list"]);
    assert!(out.contains("folder") && out.contains("      6"), "{out}");
    let (_, out, _) = run(&["kb", "search", "revoke an API token", "-k", "2"]);
    assert!(
        out.starts_with("1. docs/auth.md › Authentication › API tokens"),
        "{out}"
    );
    // What a person types is words, not query syntax: a colon, a pasted URL, a dash.
    for typed in [
        "revoke: an API token",
        "https://docs.example.com/auth#revoke an API token",
        "revoke -an API token AND",
    ] {
        let (code, out, err) = run(&["kb", "search", typed, "-k", "2"]);
        assert_eq!(code, Some(0), "{err}");
        assert!(
            out.starts_with("1. docs/auth.md › Authentication › API tokens"),
            "{typed}: {out}"
        );
    }
    let (_, out, _) = run(&["kb", "search", "docker container", "--json"]);
    let hits: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        hits[0]["chunk"]["heading_path"],
        json!(["Deployment", "Docker"])
    );
    // Locations that are no folder and no website are refused for what they are.
    let (code, _, err) = run(&["kb", "add", ""]);
    assert_eq!(code, Some(1));
    assert!(err.contains("the location is empty"), "{err}");
    for url in ["file:///etc", "ftp://example.com/docs"] {
        let (code, _, err) = run(&["kb", "add", url]);
        assert_eq!(code, Some(1));
        assert!(err.contains("unsupported URL scheme"), "{url}: {err}");
    }
    let (code, out, err) = run(&["kb", "add", "HTTPS://Docs.Example.COM/guide"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("https://docs.example.com/guide"), "{out}");
    let (code, _, _) = run(&["kb", "remove", "2"]);
    assert_eq!(code, Some(0));
    let (code, _, err) = run(&["kb", "index", "--source", "7"]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("knowledge source") && err.contains('7'),
        "{err}"
    );
    let (code, out, _) = run(&["kb", "remove", "1"]);
    assert_eq!(code, Some(0), "{out}");
    let (_, out, _) = run(&["kb", "search", "docker"]);
    assert!(out.starts_with("Nothing found"), "{out}");
    let (_, out, _) = run(&["kb", "list"]);
    assert!(out.contains("No documentation sources"), "{out}");
}

#[test]
fn the_mcp_tools_search_add_preview_and_list_skills() {
    let (project, home) = skills_project();
    copy_dir(&fixture(), &project.root.join("docs"));
    let plan = project.seed_plan();
    let mut core = project.command();
    core.env("HOME", home.path()).args(["serve"]);
    let mut peer = StdioPeer::spawn(core);
    peer.initialize();
    // Nothing indexed yet: an empty result that says what to do.
    let empty = call(&mut peer, 2, "kb_search", json!({"query": "docker"}));
    assert!(
        structured(&empty)["next_step"]
            .as_str()
            .unwrap()
            .contains("kb_add")
    );
    // kb_add is in the `all` profile only.
    let refused = call(&mut peer, 3, "kb_add", json!({"location": "docs"}));
    assert!(
        refused.get("error").is_some() || refused["result"]["isError"] == true,
        "{refused}"
    );
    peer.finish();

    let mut all = project.command();
    all.env("HOME", home.path())
        .args(["serve", "--tools", "all"]);
    let mut peer = StdioPeer::spawn(all);
    peer.initialize();
    // An empty location is no location (it used to add the whole project).
    for location in ["", "\u{0}", "  "] {
        let empty = call(&mut peer, 9, "kb_add", json!({"location": location}));
        assert_eq!(empty["result"]["isError"], true, "{empty}");
        assert!(
            empty.to_string().contains("the location is empty"),
            "{empty}"
        );
    }
    let added = call(
        &mut peer,
        2,
        "kb_add",
        json!({"location": "docs", "wait_seconds": 40}),
    );
    let indexing = &structured(&added)["indexing"];
    assert_eq!(indexing["state"], "indexed", "{added}");
    assert_eq!(indexing["report"]["indexed"], 6);
    assert_eq!(indexing["source"]["documents"], 6);
    let found = call(
        &mut peer,
        3,
        "kb_search",
        json!({"query": "rate limit 429", "k": 2}),
    );
    let hits = structured(&found)["hits"].as_array().unwrap().clone();
    assert_eq!(hits[0]["chunk"]["source"], "docs/api.html");
    assert!(
        hits[0]["snippet"].as_str().unwrap().contains("**429**"),
        "{}",
        hits[0]
    );
    let bad = call(
        &mut peer,
        4,
        "kb_add",
        json!({"location": "../../etc/none"}),
    );
    assert!(tool_error_text(&bad).contains("cannot be opened"), "{bad}");
    // An agent may add only the project's folders and public sites.
    let outside = call(
        &mut peer,
        41,
        "kb_add",
        json!({"location": project.data_dir.to_string_lossy()}),
    );
    assert!(
        tool_error_text(&outside).contains("outside the project"),
        "{outside}"
    );
    for private in [
        "http://127.0.0.1:9/",
        "http://localhost:8080/docs",
        "http://169.254.169.254/latest/",
        "http://[::1]/",
    ] {
        let refused = call(&mut peer, 42, "kb_add", json!({"location": private}));
        assert!(
            tool_error_text(&refused).contains("not a public address"),
            "{private}: {refused}"
        );
    }
    let wrong = call(&mut peer, 5, "kb_search", json!({"query": 3}));
    assert!(
        wrong.get("error").is_some() || wrong["result"]["isError"] == true,
        "{wrong}"
    );

    let listed = call(&mut peer, 6, "skills", json!({}));
    let names: Vec<&str> = structured(&listed)["skills"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["release", "migrations", "review"]);
    assert_eq!(structured(&listed)["problems"].as_array().unwrap().len(), 4);
    let one = call(&mut peer, 7, "skills", json!({"name": "review"}));
    assert_eq!(structured(&one)["skill"]["origin"], "user");
    assert!(
        structured(&one)["skill"]["body"]
            .as_str()
            .unwrap()
            .contains("Steps for review.")
    );
    let missing = call(&mut peer, 8, "skills", json!({"name": "nope"}));
    assert!(
        tool_error_text(&missing).contains("release, migrations, review"),
        "{missing}"
    );

    let preview = call(
        &mut peer,
        9,
        "context_preview",
        json!({"plan_id": plan.0, "task": "T3", "budget": 20000}),
    );
    let context = structured(&preview);
    assert_eq!(context["budget"], 20000);
    assert!(context["fits"].as_bool().unwrap());
    let prompt = context["prompt"].as_str().unwrap();
    assert!(
        prompt.starts_with("# Task T3: Task T3\n\nadd readiness"),
        "{prompt}"
    );
    assert!(prompt.contains("## Goal of the project\n\nAdd health and readiness endpoints"));
    assert!(prompt.contains("- cargo test"));
    assert!(context["included"][0]["section"] == "task");
    let v1 = call(
        &mut peer,
        10,
        "context_preview",
        json!({"plan_id": plan.0, "task": "T1", "version": 1}),
    );
    assert!(
        structured(&v1)["prompt"]
            .as_str()
            .unwrap()
            .contains("### D1: use axum"),
        "version 1 still has D1"
    );
    let unknown = call(
        &mut peer,
        11,
        "context_preview",
        json!({"plan_id": plan.0, "task": "T7"}),
    );
    assert!(
        tool_error_text(&unknown).contains("T1, T2, T3"),
        "{unknown}"
    );
    let no_plan = call(
        &mut peer,
        12,
        "context_preview",
        json!({"plan_id": 999, "task": "T1"}),
    );
    assert!(tool_error_text(&no_plan).contains("999"), "{no_plan}");
    peer.finish();
}

/// A stand-in for an embeddings model (the one part that cannot run here): words mapped to
/// concepts, so that "automobile" lands near "car" though they share no letters. It records the
/// Authorization header and can be told to fail.
struct Embeddings {
    url: String,
    failing: Arc<std::sync::atomic::AtomicBool>,
    authorization: Arc<Mutex<Vec<String>>>,
    calls: Arc<std::sync::atomic::AtomicUsize>,
}

const CONCEPTS: &[&[&str]] = &[
    &[
        "car",
        "cars",
        "automobile",
        "truck",
        "trucks",
        "vehicle",
        "park",
        "parking",
        "garage",
    ],
    &[
        "kitten", "cat", "cats", "feline", "pet", "pets", "eats", "feeding", "food",
    ],
    &[
        "invoice", "invoices", "billing", "price", "payment", "accounts", "monthly",
    ],
];

fn concept_vector(text: &str) -> Vec<f32> {
    let mut v = vec![0.0_f32; CONCEPTS.len() + 1];
    for word in text
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        match CONCEPTS.iter().position(|group| group.contains(&word)) {
            Some(i) => v[i] += 1.0,
            None => v[CONCEPTS.len()] += 0.05,
        }
    }
    v
}

async fn embeddings() -> Embeddings {
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    let failing: Arc<std::sync::atomic::AtomicBool> = Arc::default();
    let authorization: Arc<Mutex<Vec<String>>> = Arc::default();
    let calls: Arc<std::sync::atomic::AtomicUsize> = Arc::default();
    let (fail, auth, count) = (failing.clone(), authorization.clone(), calls.clone());
    let app = axum::Router::new().route(
        "/v1/embeddings",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let (fail, auth, count) = (fail.clone(), auth.clone(), count.clone());
            async move {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                auth.lock().unwrap().push(headers.get("authorization").and_then(|h| h.to_str().ok()).unwrap_or_default().to_owned());
                if fail.load(std::sync::atomic::Ordering::SeqCst) {
                    return (StatusCode::SERVICE_UNAVAILABLE, "model loading").into_response();
                }
                let body: Value = serde_json::from_str(&body).unwrap();
                assert_eq!(body["model"], "concepts");
                let data: Vec<Value> = body["input"].as_array().unwrap().iter().enumerate().map(|(i, t)| json!({"index": i, "embedding": concept_vector(t.as_str().unwrap())})).collect();
                ([(axum::http::header::CONTENT_TYPE, "application/json")], json!({"object": "list", "data": data}).to_string()).into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Embeddings {
        url,
        failing,
        authorization,
        calls,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semantic_search_fuses_meaning_with_words_and_falls_back_to_words() {
    let api = embeddings().await;
    let project = Project::new();
    support::write_files(
        &project.root,
        &[
            (
                "orchestrator.toml",
                &format!(
                    "[knowledge]\nembeddings_url = \"{}\"\nembeddings_model = \"concepts\"\nembeddings_key = \"EMBED_KEY\"\n",
                    api.url
                ),
            ),
            (
                ".secrets.json",
                "{\"keys\": {\"EMBED_KEY\": \"sk-test-5f2a9\"}}",
            ),
            (
                "docs/garage.md",
                "# Garage\n\n## Parking\n\nPark the car in bay four; trucks use the yard.\n",
            ),
            (
                "docs/pets.md",
                "# Pets\n\n## Feeding\n\nThe kitten eats twice a day.\n",
            ),
            (
                "docs/accounts.md",
                "# Accounts\n\n## Invoices\n\nInvoices are sent monthly.\n",
            ),
            (
                "docs/staging.md",
                "# Staging\n\nThe staging token is sk-test-5f2a9, do not share it.\n",
            ),
        ],
    );
    let engine = engine(&project).await;
    engine.kb_add("docs").await.unwrap();
    let reports = engine.kb_index(None, &|_| {}).await.unwrap();
    let report = &reports[0].1;
    assert_eq!(
        (report.indexed, report.embedded),
        (4, report.chunks),
        "{report:?}"
    );
    assert!(report.warnings.is_empty(), "{report:?}");
    assert!(
        api.authorization
            .lock()
            .unwrap()
            .iter()
            .all(|a| a == "Bearer sk-test-5f2a9"),
        "the key from .secrets.json is sent"
    );

    // A secret written in a document is in neither the index, the store nor the results.
    let staging = engine.kb_search("staging token", 1).await.unwrap();
    assert!(
        staging[0].chunk.text.contains("[redacted:EMBED_KEY]")
            && !staging[0].chunk.text.contains("sk-test"),
        "{staging:?}"
    );
    for file in walk(&project.data_dir) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !bytes.windows(13).any(|w| w == b"sk-test-5f2a9"),
            "the secret is in {}",
            file.display()
        );
    }

    // Words alone cannot find "automobile"; meaning can.
    let kb = orchestrator::knowledge::KnowledgeBase::open(&project.data_dir.join("knowledge/1"))
        .unwrap();
    assert!(
        kb.search("automobile", 3, &Default::default())
            .unwrap()
            .is_empty()
    );
    let hits = engine.kb_search("automobile", 3).await.unwrap();
    assert_eq!(hits[0].chunk.source, "docs/garage.md", "{hits:?}");
    assert_eq!(hits[0].chunk.heading_path, ["Garage", "Parking"]);
    assert_eq!(
        engine.kb_search("feline", 1).await.unwrap()[0].chunk.source,
        "docs/pets.md"
    );
    // Words and meaning agree: first, with the words highlighted.
    let hits = engine.kb_search("invoices", 2).await.unwrap();
    assert_eq!(hits[0].chunk.source, "docs/accounts.md");
    assert!(
        hits[0].snippet.contains("**Invoices**"),
        "{}",
        hits[0].snippet
    );

    // The API down: searching goes on by words alone.
    api.failing.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(engine.kb_search("automobile", 3).await.unwrap().is_empty());
    assert_eq!(
        engine.kb_search("invoices", 2).await.unwrap()[0]
            .chunk
            .source,
        "docs/accounts.md"
    );
    // …and indexing too, with a warning that never shows the key.
    std::fs::write(
        project.root.join("docs/pets.md"),
        "# Pets\n\n## Feeding\n\nThe cat eats twice a day.\n",
    )
    .unwrap();
    let down = engine.kb_index(None, &|_| {}).await.unwrap();
    let report = &down[0].1;
    assert_eq!((report.indexed, report.embedded), (1, 0), "{report:?}");
    assert!(
        report.warnings[0].contains("503") && !report.warnings[0].contains("sk-test"),
        "{:?}",
        report.warnings
    );
    assert_eq!(
        engine.kb_search("cat", 1).await.unwrap()[0].chunk.source,
        "docs/pets.md",
        "full text has the new text"
    );

    // Back up: the document left without vectors is embedded on the next indexing.
    api.failing
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let up = engine.kb_index(None, &|_| {}).await.unwrap();
    assert_eq!(
        (up[0].1.indexed, up[0].1.unchanged, up[0].1.embedded),
        (1, 3, 1),
        "{:?}",
        up[0].1
    );
    assert_eq!(
        engine.kb_search("kitten", 1).await.unwrap()[0].chunk.source,
        "docs/pets.md",
        "found by meaning again"
    );
    let calls = api.calls.load(std::sync::atomic::Ordering::SeqCst);
    let again = engine.kb_index(None, &|_| {}).await.unwrap();
    assert_eq!((again[0].1.indexed, again[0].1.embedded), (0, 0));
    assert_eq!(
        api.calls.load(std::sync::atomic::Ordering::SeqCst),
        calls,
        "nothing unchanged is embedded again"
    );

    // A key named in the config but missing from .secrets.json is a clear error.
    std::fs::write(project.root.join(".secrets.json"), "{\"keys\": {}}").unwrap();
    let engine = engine_at(&project).await;
    let err = engine
        .kb_index(None, &|_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("EMBED_KEY") && err.contains(".secrets.json"),
        "{err}"
    );
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if entry.file_type().unwrap().is_dir() {
            out.extend(walk(&entry.path()));
        } else {
            out.push(entry.path());
        }
    }
    out
}

/// [`engine`], for where a variable of that name hides it.
async fn engine_at(project: &Project) -> Orchestrator {
    engine(project).await
}

/// Real documentation: axum's own guide pages (21 Markdown files), from the crate's source as
/// cargo fetched it for this build.
fn axum_docs() -> PathBuf {
    let lock =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock")).unwrap();
    let version = lock
        .split("[[package]]")
        .find(|p| p.contains("\nname = \"axum\"\n"))
        .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = ")))
        .expect("axum is in Cargo.lock")
        .trim_matches('"')
        .to_owned();
    let home = std::env::var_os("CARGO_HOME").map_or_else(
        || Path::new(&std::env::var_os("HOME").expect("HOME")).join(".cargo"),
        PathBuf::from,
    );
    std::fs::read_dir(home.join("registry/src"))
        .unwrap()
        .map(|registry| {
            registry
                .unwrap()
                .path()
                .join(format!("axum-{version}/src/docs"))
        })
        .find(|docs| docs.is_dir())
        .expect("the build fetched axum's source")
}

/// Questions a user of axum asks, each with the pages that answer it.
const AXUM_QUESTIONS: &[(&str, &[&str])] = &[
    (
        "How do I add a fallback handler for requests no route matches?",
        &["routing/fallback.md", "method_routing/fallback.md"],
    ),
    (
        "How do I nest a router under a path prefix?",
        &["routing/nest.md"],
    ),
    (
        "What happens to the URI when a router is nested?",
        &["routing/nest.md"],
    ),
    (
        "In what order do middleware layers run?",
        &["middleware.md"],
    ),
    (
        "How can one handler return different response types?",
        &["response.md"],
    ),
    (
        "Why does my async function not implement the Handler trait?",
        &["debugging_handler_type_errors.md"],
    ),
    (
        "How are errors from fallible services handled?",
        &["error_handling.md"],
    ),
    (
        "Which extractor must come last, in what order are extractors run?",
        &["extract.md"],
    ),
    (
        "How do I get the client's socket address with ConnectInfo?",
        &["routing/into_make_service_with_connect_info.md"],
    ),
    (
        "How do I merge two routers into one?",
        &["routing/merge.md", "method_routing/merge.md"],
    ),
    (
        "How do I answer when a route exists but its method is not allowed?",
        &["routing/method_not_allowed_fallback.md"],
    ),
    (
        "How do I capture path segments and use wildcards in routes?",
        &["routing/route.md"],
    ),
    (
        "How do I route a path to a tower Service instead of a handler?",
        &["routing/route_service.md"],
    ),
    (
        "How do I apply a layer that only runs when the request matched a route?",
        &["routing/route_layer.md", "method_routing/route_layer.md"],
    ),
    (
        "Can I still use paths starting with a colon like in 0.7?",
        &["routing/without_v07_checks.md"],
    ),
    (
        "How do I apply several middleware at once with ServiceBuilder?",
        &["middleware.md", "routing/layer.md"],
    ),
    (
        "How do I give handlers shared state such as a database pool?",
        &["routing/with_state.md", "extract.md"],
    ),
    (
        "How do I build a response with a status code and headers?",
        &["response.md"],
    ),
    (
        "Which extractors are common, like Json, Query and Path?",
        &["extract.md"],
    ),
    (
        "How do I write my own middleware with from_fn?",
        &["middleware.md"],
    ),
];

/// A naive ranking of whole files: BM25 (k1 1.2, b 0.75) over lower-cased words.
fn whole_file_bm25(docs: &[(String, String)], question: &str) -> Vec<String> {
    let words = |text: &str| -> Vec<String> {
        text.split(|c: char| !c.is_alphanumeric() && c != '_')
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let tokenized: Vec<Vec<String>> = docs.iter().map(|(_, text)| words(text)).collect();
    let n = tokenized.len() as f64;
    let average = tokenized.iter().map(Vec::len).sum::<usize>() as f64 / n;
    let mut terms = words(question);
    terms.sort();
    terms.dedup();
    let mut scored: Vec<(f64, &String)> = tokenized
        .iter()
        .zip(docs)
        .map(|(tokens, (name, _))| {
            let length = tokens.len() as f64;
            let score = terms
                .iter()
                .map(|t| {
                    let df = tokenized.iter().filter(|d| d.contains(t)).count() as f64;
                    let tf = tokens.iter().filter(|w| *w == t).count() as f64;
                    let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
                    idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / average))
                })
                .sum();
            (score, name)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().map(|(_, name)| name.clone()).collect()
}

/// Top-1 and top-3 hits (by document) of a ranking over the questions.
fn hits(rankings: &[Vec<String>]) -> (usize, usize) {
    rankings
        .iter()
        .zip(AXUM_QUESTIONS)
        .fold((0, 0), |(top1, top3), (ranked, (_, answers))| {
            let right = |doc: &String| answers.contains(&doc.as_str());
            (
                top1 + usize::from(ranked.first().is_some_and(right)),
                top3 + usize::from(ranked.iter().take(3).any(right)),
            )
        })
}

#[tokio::test]
async fn on_real_docs_the_ranking_beats_whole_file_bm25() {
    let project = Project::new();
    let docs_dir = project.root.join("docs");
    copy_dir(&axum_docs(), &docs_dir);
    let mut docs = Vec::new();
    let mut stack = vec![docs_dir.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                let name = path.strip_prefix(&docs_dir).unwrap();
                let text = std::fs::read_to_string(&path).unwrap();
                docs.push((name.to_string_lossy().into_owned(), text));
            }
        }
    }
    assert!(docs.len() >= 20, "{} pages", docs.len());
    let engine = engine(&project).await;
    engine.kb_add("docs").await.unwrap();
    engine.kb_index(None, &|_| {}).await.unwrap();
    let mut ours = Vec::new();
    let mut baseline = Vec::new();
    for (question, answers) in AXUM_QUESTIONS {
        let mut ranked: Vec<String> = Vec::new();
        for hit in engine.kb_search(question, 10).await.unwrap() {
            let doc = hit.chunk.source.trim_start_matches("docs/").to_owned();
            if !ranked.contains(&doc) {
                ranked.push(doc);
            }
        }
        let naive = whole_file_bm25(&docs, question);
        if !ranked
            .first()
            .is_some_and(|d| answers.contains(&d.as_str()))
        {
            eprintln!(
                "{question:?}: ours {:?}, whole-file BM25 {:?}, wanted {answers:?}",
                &ranked[..ranked.len().min(3)],
                &naive[..3]
            );
        }
        ours.push(ranked);
        baseline.push(naive);
    }
    let ((ours1, ours3), (naive1, naive3)) = (hits(&ours), hits(&baseline));
    eprintln!(
        "{} questions on axum's docs: top-1 {ours1} (whole-file BM25 {naive1}), top-3 {ours3} ({naive3})",
        AXUM_QUESTIONS.len()
    );
    assert!(
        ours1 >= naive1 && ours3 >= naive3,
        "top-1 {ours1} vs {naive1}, top-3 {ours3} vs {naive3}"
    );
}
