//! The official MCP conformance suite (@modelcontextprotocol/conformance, pinned in
//! tests/npm/package.json) against `orchestrator serve --http`. Scenarios that need the suite's own
//! fixture tools, resources or prompts are listed, each with its reason, in
//! tests/conformance/expected-failures.yml; any other failure, or a listed scenario that starts
//! passing, fails this test.

mod support;

use std::process::Command;

use support::{HttpServer, Project, tool};

#[test]
fn official_conformance_suite_passes_every_scenario_without_fixtures() {
    let project = Project::new();
    project.seed_plan();
    let server = HttpServer::spawn(project.command());
    let node_bin = tool("npm/node_modules/.bin");
    let results = project.dir.path().join("conformance-results");
    let baseline = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/conformance/expected-failures.yml"
    );

    let path = format!(
        "{}:{}",
        node_bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new(node_bin.join("node"))
        .arg(node_bin.join("conformance"))
        .args([
            "server",
            "--url",
            &server.url,
            "--expected-failures",
            baseline,
            "-o",
        ])
        .arg(&results)
        .env("PATH", path)
        .output()
        .expect("run the conformance suite");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "conformance suite failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("Baseline check passed"), "{stdout}");
    for scenario in [
        "server-initialize",
        "tools-list",
        "ping",
        "dns-rebinding-protection",
    ] {
        assert!(
            stdout.contains(&format!("✓ {scenario}:")),
            "{scenario} did not pass:\n{stdout}"
        );
    }
}
