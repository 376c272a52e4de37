//! Agent adapters: start a coding agent and turn its output into typed events (issue: Agent
//! runtime and supervisor).
//!
//! Not built yet; this is the event vocabulary the adapters will speak.

use serde::{Deserialize, Serialize};

/// Something a running agent did or said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentEvent {
    /// The agent started; its session id is what a resume needs.
    Init {
        /// The agent's session id.
        session_id: String,
    },
    /// Text the model wrote.
    AssistantText {
        /// The text.
        text: String,
    },
    /// The model called a tool.
    ToolUse {
        /// The call's id.
        id: String,
        /// The tool.
        name: String,
        /// Its input.
        input: serde_json::Value,
    },
    /// A tool's result came back.
    ToolResult {
        /// The call's id.
        tool_use_id: String,
        /// Whether the tool failed.
        is_error: bool,
    },
    /// The agent asks whether it may call a tool.
    PermissionRequest {
        /// The request's id, to answer it.
        request_id: String,
        /// The tool.
        tool_name: String,
        /// Its input.
        input: serde_json::Value,
    },
    /// The model's API failed and the agent is retrying.
    ApiRetry {
        /// The attempt number.
        attempt: u32,
    },
    /// The agent finished a turn sequence.
    Result {
        /// Whether it ended in error.
        is_error: bool,
        /// Money spent.
        cost_usd: f64,
        /// Input tokens.
        input_tokens: u64,
        /// Output tokens.
        output_tokens: u64,
    },
    /// The agent's process ended.
    Exited {
        /// Its exit code, if it exited rather than being killed.
        code: Option<i32>,
    },
    /// Anything the adapter does not know, kept as it came.
    Unknown {
        /// The raw message.
        raw: serde_json::Value,
    },
}
