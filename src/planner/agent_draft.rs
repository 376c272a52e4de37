//! Drafting with the configured agent: on the command line, `claude -p --json-schema …` is asked
//! for the plan, with the session's brief as the prompt, in the project folder.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::AsyncWriteExt;

use crate::config::{AgentKind, Settings};
use crate::domain::PlanContent;

/// How long the agent may take to write a draft.
pub const DRAFT_TIMEOUT: Duration = Duration::from_secs(600);

/// The JSON schema a draft must follow (the same one the MCP tool publishes), without its
/// `$schema` line: Claude Code's validator does not know the 2020-12 meta-schema and refuses
/// the whole schema for it ("--json-schema is not a valid JSON Schema").
pub fn draft_schema() -> serde_json::Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(PlanContent)).unwrap_or_default();
    if let Some(object) = schema.as_object_mut() {
        object.remove("$schema");
    }
    schema
}

/// Asks the configured agent for a draft — the same agent configuration runs use: its program
/// (a path may hold spaces), `args`, `[agent.env]`, the secrets, and its kind (Claude Code is
/// asked with `-p --output-format json --json-schema …`; any other program gets the prompt on
/// stdin, or where its `args` say `{prompt}`, and prints the plan). The error says why no draft
/// could be had, so the caller can fall back to the skeleton and tell the user.
pub async fn agent_draft(settings: &Settings, brief: &str) -> Result<PlanContent, String> {
    let agent = &settings.config.agent;
    let program = agent.command.trim();
    if program.is_empty() {
        return Err("no agent is configured ([agent] command is empty)".into());
    }
    let prompt = format!(
        "{brief}\n\nWrite the plan for this brief. You may read the project's files to ground it. \
Reply with the plan only, as JSON that follows the given schema."
    );
    let mut args: Vec<String> = Vec::new();
    let prompt_in_args = agent.args.iter().any(|a| a.contains("{prompt}"));
    if agent.kind() == AgentKind::Claude {
        args.extend(
            [
                "-p",
                "--output-format",
                "json",
                "--setting-sources",
                "",
                "--json-schema",
            ]
            .map(str::to_owned),
        );
        args.push(draft_schema().to_string());
        args.extend(crate::agent::claude::limit_arguments(
            agent.model.as_deref(),
            agent.max_turns,
            agent.max_budget_usd,
        ));
        args.extend(agent.args.iter().cloned());
    } else {
        args.extend(agent.args.iter().map(|a| a.replace("{prompt}", &prompt)));
    }
    let env = crate::agent::configured_env(settings);
    let mut command = tokio::process::Command::new(program);
    command
        .args(&args)
        .current_dir(&settings.root)
        .stdin(if prompt_in_args {
            Stdio::null()
        } else {
            Stdio::piped()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    crate::agent::agent_env(&mut command, &env);
    let mut child = command
        .spawn()
        .map_err(|e| format!("could not start the agent `{program}`: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(prompt.as_bytes())
            .await
            .map_err(|e| format!("could not send the prompt to the agent: {e}"))?;
    }
    let output = tokio::time::timeout(DRAFT_TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| {
            format!(
                "the agent did not answer within {} s",
                DRAFT_TIMEOUT.as_secs()
            )
        })?
        .map_err(|e| format!("the agent failed: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let redact = |text: &str| settings.secrets.redact(text);
    if !output.status.success() && stdout.trim().is_empty() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(redact(&format!(
            "the agent exited with {}: {}",
            output.status,
            last_line(&stderr)
        )));
    }
    parse_agent_output(&stdout).map_err(|e| redact(&e))
}

fn last_line(text: &str) -> &str {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no output")
}

/// Reads a draft from what the agent printed: Claude Code's JSON result (its
/// `structured_output`, or JSON in its `result` text), or a plan printed as is.
pub fn parse_agent_output(stdout: &str) -> Result<PlanContent, String> {
    let value = match serde_json::from_str::<serde_json::Value>(stdout.trim()) {
        Ok(envelope) if envelope.get("type").and_then(|t| t.as_str()) == Some("result") => {
            if envelope["is_error"].as_bool() == Some(true) {
                return Err(format!(
                    "the agent reported an error: {}",
                    envelope["result"].as_str().unwrap_or("no detail")
                ));
            }
            match envelope.get("structured_output") {
                Some(structured) if structured.is_object() => structured.clone(),
                _ => json_in_text(envelope["result"].as_str().unwrap_or_default())?,
            }
        }
        Ok(plan) => plan,
        Err(_) => json_in_text(stdout)?,
    };
    let mut track = serde_path_to_error::Track::new();
    let deserializer = serde_path_to_error::Deserializer::new(&value, &mut track);
    serde::Deserialize::deserialize(deserializer).map_err(|e: serde_json::Error| {
        format!(
            "the agent's plan does not fit the schema at `{}`: {e}",
            track.path()
        )
    })
}

/// The JSON object inside a text (a reply may wrap it in prose or a code fence).
fn json_in_text(text: &str) -> Result<serde_json::Value, String> {
    let (start, end) = match (text.find('{'), text.rfind('}')) {
        (Some(start), Some(end)) if start < end => (start, end),
        _ => return Err("the agent's reply holds no JSON plan".into()),
    };
    serde_json::from_str(&text[start..=end])
        .map_err(|e| format!("the agent's reply is not valid JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drafts_are_read_from_claude_results_and_plain_json() {
        let plan = r#"{"goal":"g","phases":[]}"#;
        let structured = format!(
            r#"{{"type":"result","subtype":"success","is_error":false,"result":"","structured_output":{plan}}}"#
        );
        assert_eq!(parse_agent_output(&structured).unwrap().goal, "g");
        let in_text = serde_json::json!({"type":"result","is_error":false,"result":format!("Here it is:\n```json\n{plan}\n```")});
        assert_eq!(parse_agent_output(&in_text.to_string()).unwrap().goal, "g");
        assert_eq!(parse_agent_output(plan).unwrap().goal, "g");
        let failed = r#"{"type":"result","is_error":true,"result":"API Error: 529"}"#;
        assert!(parse_agent_output(failed).unwrap_err().contains("529"));
        let wrong = r#"{"goal":"g","phases":[{"key":"p","name":"n","tasks":[{"key":"T1"}]}]}"#;
        let err = parse_agent_output(wrong).unwrap_err();
        assert!(err.contains("phases[0].tasks[0]"), "{err}");
        assert!(parse_agent_output("no plan here").is_err());
    }
}
