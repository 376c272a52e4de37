//! The MCP server over a real stdio pipe to the built binary.

mod support;

use serde_json::{Value, json};
use support::{Project, StdioPeer, structured, tool_error_text};

const CORE_TOOLS: [&str; 14] = [
    "approvals",
    "context_preview",
    "kb_search",
    "plan_answer",
    "plan_approve",
    "plan_decide",
    "plan_get",
    "plan_start",
    "plan_submit",
    "run_control",
    "run_start",
    "run_status",
    "skills",
    "verify",
];

fn tool_names(reply: &Value) -> Vec<String> {
    let mut names: Vec<String> = reply["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

fn serve(project: &Project, tools: &str) -> StdioPeer {
    let mut cmd = project.command();
    cmd.args(["serve", "--tools", tools]);
    StdioPeer::spawn(cmd)
}

#[test]
fn requests_before_initialize_get_an_error_not_silence() {
    let project = Project::new();
    let mut peer = serve(&project, "core");

    // A legacy request without the 2026 per-request metadata, before initialize.
    let reply = peer.request(1, "tools/list", json!({}));
    assert!(
        reply["error"]["code"].is_i64(),
        "expected a JSON-RPC error: {reply}"
    );

    // What the Python `mcp` 2.x client sends first.
    let discover = peer.request(
        2,
        "server/discover",
        json!({"_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": {"name": "mcp", "version": "0.1.0"},
            "io.modelcontextprotocol/clientCapabilities": {}
        }}),
    );
    assert!(
        discover.get("result").is_some() || discover.get("error").is_some(),
        "{discover}"
    );

    let init = peer.initialize();
    assert_eq!(init["result"]["serverInfo"]["name"], "orchestrator");
    assert!(
        init["result"]["capabilities"]["tools"].is_object(),
        "{init}"
    );
    assert!(peer.finish().success());
}

/// Every `format` in a schema, wherever it sits.
fn formats(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if k == "format" {
                    out.push(v.to_string());
                }
                formats(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| formats(v, out)),
        _ => {}
    }
}

#[test]
fn core_profile_lists_the_whole_flow_lean_and_in_standard_schema() {
    let project = Project::new();
    let mut peer = serve(&project, "core");
    peer.initialize();
    let reply = peer.request(1, "tools/list", json!({}));
    assert_eq!(tool_names(&reply), CORE_TOOLS);
    // What the list costs a client's context, every turn.
    let tools = &reply["result"]["tools"];
    let bytes = serde_json::to_string(tools).unwrap().len();
    assert!(bytes <= 12_000, "the default tool list is {bytes} bytes");
    for tool in tools.as_array().unwrap() {
        assert_eq!(tool["inputSchema"]["type"], "object", "{tool}");
        assert!(tool.get("outputSchema").is_none(), "{tool}");
        let text = tool["inputSchema"].to_string();
        assert!(
            !text.contains("$ref") && !text.contains("$schema"),
            "{tool}"
        );
        // Only JSON Schema's own formats (clients warn about `uint32`, `int64`, …).
        let mut found = Vec::new();
        formats(&tool["inputSchema"], &mut found);
        assert!(found.is_empty(), "{tool}: {found:?}");
        assert!(tool["annotations"]["title"].is_string(), "{tool}");
        assert!(tool["description"].as_str().unwrap().len() > 40, "{tool}");
    }
    let tool = reply["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "plan_get")
        .unwrap();
    assert_eq!(tool["inputSchema"]["type"], "object");
    assert!(
        tool["inputSchema"]["properties"]["plan_id"].is_object(),
        "{tool}"
    );
    assert_eq!(
        tool["inputSchema"]["properties"]["plan_id"]["type"],
        "integer"
    );
    assert_eq!(tool["annotations"]["readOnlyHint"], true);
    assert!(
        tool["description"]
            .as_str()
            .unwrap()
            .contains("lists plans and open sessions")
    );
}

#[test]
fn all_profile_serves_every_plan_tool_end_to_end() {
    let project = Project::new();
    let plan = project.seed_plan().0;
    let mut peer = serve(&project, "all");
    peer.initialize();

    let reply = peer.request(1, "tools/list", json!({}));
    let mut all: Vec<&str> = CORE_TOOLS.to_vec();
    all.extend([
        "kb_add",
        "locks",
        "plan_abandon",
        "plan_diff",
        "plan_list",
        "plan_rollback",
        "policy_audit",
        "policy_check",
        "run_events",
    ]);
    all.sort();
    assert_eq!(tool_names(&reply), all);
    let rollback = reply["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "plan_rollback")
        .unwrap();
    // Only what differs from the specification's defaults: not read-only is the default.
    assert!(rollback["annotations"].get("readOnlyHint").is_none());
    assert_eq!(rollback["annotations"]["destructiveHint"], false);

    let listed = peer.request(
        2,
        "tools/call",
        json!({"name": "plan_get", "arguments": {}}),
    );
    assert_eq!(structured(&listed)["plans"][0]["id"], plan);
    assert_eq!(structured(&listed)["plans"][0]["current_version"], 2);

    let v1 = peer.request(
        3,
        "tools/call",
        json!({"name": "plan_get", "arguments": {"plan_id": plan, "version": 1}}),
    );
    let view = structured(&v1)["plan"].clone();
    assert_eq!(view["version"]["version"], 1);
    assert_eq!(view["version"]["content"]["goal"], "Add a health endpoint");
    assert_eq!(view["task_status"]["T1"], "PENDING");
    assert_eq!(view["history"].as_array().unwrap().len(), 2);
    // The text content mirrors the structured content for clients that read only text.
    let text: Value =
        serde_json::from_str(v1["result"]["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(&text, structured(&v1));

    let list = peer.request(
        4,
        "tools/call",
        json!({"name": "plan_list", "arguments": {}}),
    );
    assert_eq!(structured(&list)["plans"].as_array().unwrap().len(), 1);

    let diff = peer.request(
        5,
        "tools/call",
        json!({"name": "plan_diff", "arguments": {"plan_id": plan, "from_version": 1, "to_version": 2}}),
    );
    let diff = structured(&diff);
    assert_eq!(diff["fields"][0]["field"], "goal");
    assert_eq!(
        diff["tasks"][1],
        json!({"kind": "added", "key": "T3", "fields": []})
    );

    let rolled = peer.request(
        6,
        "tools/call",
        json!({"name": "plan_rollback", "arguments": {"plan_id": plan, "to_version": 1}}),
    );
    assert_eq!(structured(&rolled)["version"], 3);
    assert_eq!(structured(&rolled)["restored_from"], 1);
    let stored = project
        .store()
        .plan_version(orchestrator::domain::PlanId(plan), None)
        .unwrap();
    assert_eq!((stored.version, stored.content), (3, support::content_v1()));
    assert!(peer.finish().success());
}

#[test]
fn bad_calls_get_errors_that_say_what_to_send_and_the_server_keeps_serving() {
    let project = Project::new();
    let plan = project.seed_plan().0;
    let mut peer = serve(&project, "all");
    peer.initialize();

    let wrong_type = peer.request(
        1,
        "tools/call",
        json!({"name": "plan_get", "arguments": {"plan_id": "three"}}),
    );
    let text = tool_error_text(&wrong_type);
    assert!(
        text.contains("invalid type")
            && text.contains("`plan_id`")
            && text.contains("expected integer")
            && text.contains("got string \"three\""),
        "the argument is named: {text}"
    );

    let unknown_field = peer.request(
        2,
        "tools/call",
        json!({"name": "plan_get", "arguments": {"plan": plan}}),
    );
    assert!(tool_error_text(&unknown_field).contains("unknown field `plan`"));

    let missing = peer.request(
        3,
        "tools/call",
        json!({"name": "plan_diff", "arguments": {"plan_id": plan}}),
    );
    assert!(tool_error_text(&missing).contains("missing field"));

    let unknown_plan = peer.request(
        4,
        "tools/call",
        json!({"name": "plan_get", "arguments": {"plan_id": 4242}}),
    );
    assert!(tool_error_text(&unknown_plan).contains("plan 4242 does not exist"));

    let bad_version = peer.request(
        5,
        "tools/call",
        json!({"name": "plan_get", "arguments": {"plan_id": plan, "version": 9}}),
    );
    assert!(tool_error_text(&bad_version).contains("versions 1 to 2"));

    let unknown_tool = peer.request(
        6,
        "tools/call",
        json!({"name": "plan_destroy", "arguments": {}}),
    );
    assert_eq!(unknown_tool["error"]["code"], -32602, "{unknown_tool}");

    // Malformed input gets the JSON-RPC errors the specification names, with the id when
    // there is one, instead of silence.
    for (line, code, id) in [
        (
            "{\"jsonrpc\": \"2.0\", \"id\": 7, \"method\": ",
            -32700,
            Value::Null,
        ),
        ("not json at all", -32700, Value::Null),
        ("{\"jsonrpc\": \"2.0\", \"id\": 70}", -32600, json!(70)),
        (
            "[{\"jsonrpc\": \"2.0\", \"id\": 71, \"method\": \"ping\"}]",
            -32600,
            Value::Null,
        ),
        (
            "{\"jsonrpc\": \"2.0\", \"id\": 72, \"method\": \"tools/call\", \"params\": {\"name\": 5}}",
            -32602,
            json!(72),
        ),
    ] {
        peer.send_raw(line);
        let answer = peer.next();
        assert_eq!(answer["error"]["code"], code, "{line}: {answer}");
        assert_eq!(answer["id"], id, "{line}: {answer}");
    }
    let after = peer.request(
        8,
        "tools/call",
        json!({"name": "plan_get", "arguments": {}}),
    );
    assert_eq!(
        structured(&after)["plans"][0]["id"],
        plan,
        "the server keeps serving after malformed input"
    );
    assert!(peer.finish().success());
}

#[test]
fn plans_are_resources_and_the_main_flows_are_prompts() {
    let project = Project::new();
    let plan = project.seed_plan().0;
    let mut peer = serve(&project, "core");
    let init = peer.initialize();
    let capabilities = &init["result"]["capabilities"];
    assert!(capabilities["resources"].is_object() && capabilities["prompts"].is_object());

    // Every plan is listed, and reads as plan_get's JSON, current or at a version.
    let listed = peer.request(1, "resources/list", json!({}));
    let resources = listed["result"]["resources"].as_array().unwrap();
    let uri = format!("orchestrator://plans/{plan}");
    let ours = resources
        .iter()
        .find(|r| r["uri"] == uri)
        .expect("the plan is a resource");
    assert_eq!(ours["mimeType"], "application/json");
    let read = peer.request(2, "resources/read", json!({"uri": uri}));
    let content = &read["result"]["contents"][0];
    assert_eq!(content["uri"], uri);
    let view: Value = serde_json::from_str(content["text"].as_str().unwrap()).unwrap();
    assert_eq!(view["plan"]["id"], plan);
    assert_eq!(view["version"]["version"], 2);
    let first = peer.request(
        3,
        "resources/read",
        json!({"uri": format!("{uri}/versions/1")}),
    );
    let first: Value =
        serde_json::from_str(first["result"]["contents"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(first["version"]["version"], 1);
    let templates = peer.request(4, "resources/templates/list", json!({}));
    assert_eq!(
        templates["result"]["resourceTemplates"][0]["uriTemplate"],
        "orchestrator://plans/{plan_id}"
    );
    // Unknown plans and other URIs are errors that say what exists.
    for (id, bad) in [
        (5, "orchestrator://plans/999".to_owned()),
        (6, "file:///etc/passwd".to_owned()),
    ] {
        let reply = peer.request(id, "resources/read", json!({"uri": bad}));
        assert!(reply["error"]["message"].is_string(), "{reply}");
    }

    // The prompts: plan (with a goal), run, review.
    let prompts = peer.request(7, "prompts/list", json!({}));
    let names: Vec<&str> = prompts["result"]["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["plan", "run", "review"]);
    let planned = peer.request(
        8,
        "prompts/get",
        json!({"name": "plan", "arguments": {"goal": "A URL shortener"}}),
    );
    let text = planned["result"]["messages"][0]["content"]["text"]
        .as_str()
        .unwrap();
    assert!(
        text.contains("A URL shortener") && text.contains("plan_start"),
        "{text}"
    );
    let run = peer.request(
        9,
        "prompts/get",
        json!({"name": "run", "arguments": {"plan_id": "1"}}),
    );
    let text = run["result"]["messages"][0]["content"]["text"]
        .as_str()
        .unwrap();
    assert!(
        text.contains("Run plan 1") && text.contains("run_start"),
        "{text}"
    );
    let missing = peer.request(10, "prompts/get", json!({"name": "plan", "arguments": {}}));
    assert!(
        missing["error"]["message"]
            .as_str()
            .unwrap()
            .contains("goal"),
        "{missing}"
    );
    let unknown = peer.request(11, "prompts/get", json!({"name": "deploy"}));
    assert!(unknown["error"].is_object(), "{unknown}");
    assert!(peer.finish().success());
}

#[test]
fn a_subscribed_plan_says_when_it_changes() {
    let project = Project::new();
    let plan = project.seed_plan().0;
    let mut peer = serve(&project, "core");
    let init = peer.initialize();
    assert_eq!(
        init["result"]["capabilities"]["resources"]["subscribe"],
        true
    );
    let uri = format!("orchestrator://plans/{plan}");
    let subscribed = peer.request(1, "resources/subscribe", json!({"uri": uri}));
    assert!(subscribed.get("result").is_some(), "{subscribed}");
    let unknown = peer.request(
        2,
        "resources/subscribe",
        json!({"uri": "orchestrator://plans/999"}),
    );
    assert!(unknown["error"].is_object(), "{unknown}");

    // Another process records a new version: the client is told.
    project
        .store()
        .save_plan_version(
            orchestrator::domain::PlanId(plan),
            &support::content_v1(),
            "back to the first content",
        )
        .unwrap();
    let updated = loop {
        let message = peer.next();
        if message["method"] == "notifications/resources/updated" {
            break message;
        }
    };
    assert_eq!(updated["params"]["uri"], uri);

    // Unsubscribing is acknowledged, and the server goes on serving.
    let done = peer.request(3, "resources/unsubscribe", json!({"uri": uri}));
    assert!(done.get("result").is_some(), "{done}");
    let listed = peer.request(4, "resources/list", json!({}));
    assert!(listed["result"]["resources"].is_array());
    assert!(peer.finish().success());
}

#[test]
fn a_server_whose_store_cannot_open_answers_and_says_why() {
    let project = Project::new();
    std::fs::create_dir_all(&project.data_dir).unwrap();
    std::fs::write(
        project.db(),
        "this is not a database, it only has the name of one",
    )
    .unwrap();
    let mut cmd = project.command();
    cmd.arg("serve");
    let (mut peer, stderr) = StdioPeer::spawn_with_stderr(cmd);

    // The handshake does not need the store; the client learns what is wrong from its calls.
    let init = peer.initialize();
    assert_eq!(init["result"]["serverInfo"]["name"], "orchestrator");
    let list = peer.request(1, "tools/list", json!({}));
    assert_eq!(tool_names(&list), CORE_TOOLS);
    let reply = peer.request(
        2,
        "tools/call",
        json!({"name": "plan_get", "arguments": {}}),
    );
    let text = tool_error_text(&reply);
    assert!(
        text.contains("could not open its store") && text.contains("not a database"),
        "{text}"
    );
    let resources = peer.request(3, "resources/list", json!({}));
    let message = resources["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("could not open its store"), "{resources}");
    assert!(peer.finish().success());

    let logged: Vec<String> = stderr.iter().collect();
    assert!(
        logged
            .iter()
            .any(|l| l.contains("could not open its store")),
        "{logged:?}"
    );
    // What was there is left as it was.
    assert_eq!(
        std::fs::read_to_string(project.db()).unwrap(),
        "this is not a database, it only has the name of one"
    );
}

#[test]
fn a_large_context_preview_comes_a_page_at_a_time() {
    let project = Project::new();
    let mut content = support::content_v1();
    // A task whose description alone is 45,000 characters, not all ASCII (pages split between
    // characters, never inside one).
    let long: String = (0..2500)
        .map(|i| format!("step {i:04} — do it\n"))
        .collect();
    content.phases[0].tasks[0].description = long.clone();
    let plan = project.approved_plan("Big", &content);
    let id = plan.to_string();

    // The whole prompt, as the command line prints it.
    let output = project
        .command()
        .args(["context", &id, "T1", "--budget", "100000", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let whole: Value = serde_json::from_slice(&output.stdout).unwrap();
    let prompt = whole["prompt"].as_str().unwrap();
    assert!(
        prompt.contains(&long),
        "the description is whole in the prompt"
    );

    let mut peer = serve(&project, "core");
    peer.initialize();
    let arguments =
        |page: u64| json!({"plan_id": plan.0, "task": "T1", "budget": 100000, "page": page});
    let first = support::call(
        &mut peer,
        1,
        "context_preview",
        json!({"plan_id": plan.0, "task": "T1", "budget": 100000}),
    );
    let first = structured(&first).clone();
    let pages = first["pages"].as_u64().unwrap();
    assert!(pages >= 3, "{pages} pages");
    assert_eq!(first["page"], 1);
    assert_eq!(first["prompt_chars"], prompt.chars().count());
    assert_eq!(first["estimated_tokens"], whole["estimated_tokens"]);
    assert_eq!(
        first["included_total"],
        whole["included"].as_array().unwrap().len()
    );
    let mut joined = first["prompt"].as_str().unwrap().to_string();
    for page in 2..=pages {
        let reply = support::call(&mut peer, 1 + page, "context_preview", arguments(page));
        let part = structured(&reply)["prompt"].as_str().unwrap();
        assert!(part.chars().count() <= 20_000, "page {page}");
        joined.push_str(part);
    }
    assert_eq!(joined, prompt, "the pages put together are the prompt");

    let beyond = support::call(&mut peer, 99, "context_preview", arguments(pages + 1));
    assert!(
        tool_error_text(&beyond).contains(&format!("has {pages}")),
        "{beyond}"
    );
    assert!(peer.finish().success());
}
