//! The MCP server over real streamable HTTP on loopback.

mod support;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{HttpServer, Project, structured, tool_error_text};

struct Client {
    http: reqwest::Client,
    url: String,
    session: Option<String>,
}

struct Reply {
    status: StatusCode,
    messages: Vec<Value>,
    text: String,
}

impl Client {
    fn new(url: &str) -> Self {
        orchestrator::install_tls_provider();
        Self {
            http: reqwest::Client::new(),
            url: url.to_string(),
            session: None,
        }
    }

    async fn post(&mut self, body: String, origin: Option<&str>) -> Reply {
        let mut request = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .timeout(support::REPLY_TIMEOUT)
            .body(body);
        if let Some(session) = &self.session {
            request = request
                .header("mcp-session-id", session)
                .header("mcp-protocol-version", "2025-11-25");
        }
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        let response = request.send().await.expect("HTTP request");
        let status = response.status();
        if let Some(session) = response.headers().get("mcp-session-id") {
            self.session = Some(session.to_str().unwrap().to_string());
        }
        let text = response.text().await.unwrap();
        // SSE: each `data:` line holds one JSON-RPC message; a plain JSON body is one message.
        let messages = if text.trim_start().starts_with('{') {
            vec![serde_json::from_str(&text).unwrap()]
        } else {
            text.lines()
                .filter_map(|line| line.strip_prefix("data:"))
                .map(str::trim)
                .filter(|data| !data.is_empty())
                .map(|data| serde_json::from_str(data).unwrap())
                .collect()
        };
        Reply {
            status,
            messages,
            text,
        }
    }

    async fn request(&mut self, id: u64, method: &str, params: Value) -> Value {
        let body =
            json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string();
        let reply = self.post(body, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply
            .messages
            .into_iter()
            .find(|m| m["id"] == json!(id))
            .expect("a response with the request's id")
    }

    async fn initialize(&mut self) -> Value {
        let init = self
            .request(
                0,
                "initialize",
                json!({"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "tests", "version": "1"}}),
            )
            .await;
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string();
        assert_eq!(self.post(note, None).await.status, StatusCode::ACCEPTED);
        init
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_serves_initialize_list_and_every_tool() {
    let project = Project::new();
    let plan = project.seed_plan().0;
    let mut cmd = project.command();
    cmd.env("ORCHESTRATOR_TOOLS", "all");
    let server = HttpServer::spawn(cmd);
    assert!(
        server.url.starts_with("http://127.0.0.1:") && server.url.ends_with("/mcp"),
        "{}",
        server.url
    );

    let mut client = Client::new(&server.url);
    let init = client.initialize().await;
    assert_eq!(init["result"]["serverInfo"]["name"], "orchestrator");
    assert!(client.session.is_some(), "a session id is issued");

    let tools = client.request(1, "tools/list", json!({})).await;
    assert_eq!(
        tools["result"]["tools"].as_array().unwrap().len(),
        23,
        "ORCHESTRATOR_TOOLS=all is honoured"
    );

    let got = client
        .request(
            2,
            "tools/call",
            json!({"name": "plan_get", "arguments": {"plan_id": plan}}),
        )
        .await;
    assert_eq!(structured(&got)["plan"]["version"]["version"], 2);
    let listed = client
        .request(
            3,
            "tools/call",
            json!({"name": "plan_list", "arguments": {}}),
        )
        .await;
    assert_eq!(structured(&listed)["plans"][0]["id"], plan);
    let diff = client
        .request(4, "tools/call", json!({"name": "plan_diff", "arguments": {"plan_id": plan, "from_version": 2, "to_version": 1}}))
        .await;
    assert_eq!(structured(&diff)["decisions"][0]["kind"], "added");
    let rolled = client
        .request(
            5,
            "tools/call",
            json!({"name": "plan_rollback", "arguments": {"plan_id": plan, "to_version": 1}}),
        )
        .await;
    assert_eq!(structured(&rolled)["version"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_refuses_bad_input_and_foreign_origins_and_keeps_serving() {
    let project = Project::new();
    project.seed_plan();
    let server = HttpServer::spawn(project.command());
    let mut client = Client::new(&server.url);
    client.initialize().await;

    let wrong = client
        .request(
            1,
            "tools/call",
            json!({"name": "plan_get", "arguments": {"plan_id": [1]}}),
        )
        .await;
    let text = tool_error_text(&wrong);
    assert!(
        text.contains("`plan_id`")
            && text.contains("expected integer")
            && text.contains("got array"),
        "the argument is named: {text}"
    );
    let unknown = client
        .request(2, "tools/call", json!({"name": "nope", "arguments": {}}))
        .await;
    assert_eq!(unknown["error"]["code"], -32602, "{unknown}");

    let malformed = client
        .post("{\"jsonrpc\": \"2.0\", \"id\": 3,".into(), None)
        .await;
    assert!(
        malformed.status.is_client_error(),
        "{} {}",
        malformed.status,
        malformed.text
    );
    let answer: Value = serde_json::from_str(&malformed.text).unwrap();
    assert_eq!(
        answer["error"]["code"], -32700,
        "a JSON-RPC parse error: {answer}"
    );
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not JSON"),
        "the error says what went wrong: {answer}"
    );
    let batch = client
        .post(
            json!([{"jsonrpc": "2.0", "id": 6, "method": "ping"}]).to_string(),
            None,
        )
        .await;
    let answer: Value = serde_json::from_str(&batch.text).unwrap();
    assert_eq!(answer["error"]["code"], -32600, "{answer}");
    let nameless = client
        .request(7, "tools/call", json!({"name": 5, "arguments": {}}))
        .await;
    assert_eq!(nameless["error"]["code"], -32602, "{nameless}");
    assert_eq!(nameless["id"], 7, "{nameless}");

    let body = json!({"jsonrpc": "2.0", "id": 4, "method": "tools/list", "params": {}}).to_string();
    let foreign = client.post(body.clone(), Some("http://evil.example")).await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN, "{}", foreign.text);
    let local = client.post(body, Some("http://localhost:3000")).await;
    assert_eq!(local.status, StatusCode::OK, "{}", local.text);

    let still = client
        .request(
            5,
            "tools/call",
            json!({"name": "plan_get", "arguments": {}}),
        )
        .await;
    assert_eq!(structured(&still)["plans"].as_array().unwrap().len(), 1);
}

#[test]
fn http_refuses_a_non_loopback_address_unless_allowed() {
    let project = Project::new();
    let output = project
        .command()
        .args(["serve", "--http", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("not a loopback address") && stderr.contains("--allow-remote"),
        "{stderr}"
    );
}
