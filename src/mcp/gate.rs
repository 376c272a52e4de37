//! What reaches the MCP SDK: each message a client sends is first checked to be JSON-RPC the
//! server can answer, and what is not gets the JSON-RPC error the specification names — instead
//! of silence (an unparseable line), an error without the request's id, or "method not found"
//! for a call whose tool name is not text. Used by both transports.

use serde_json::{Value, json};

/// What to do with one message from a client.
#[derive(Debug, PartialEq)]
pub(crate) enum Verdict {
    /// Hand it to the SDK as it is.
    Pass,
    /// Answer it with this JSON-RPC error response instead.
    Answer(Value),
}

fn error(id: Value, code: i64, message: String) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

/// A tool's input schema.
type Schema = serde_json::Map<String, Value>;

/// Judges one message (a stdio line, an HTTP body). `schema_of` gives the input schema of a tool
/// served: a `tools/call` whose arguments have the wrong JSON type is answered with a tool error
/// naming the argument (the SDK's message does not).
pub(crate) fn check<'s>(text: &str, schema_of: impl Fn(&str) -> Option<&'s Schema>) -> Verdict {
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(e) => {
            return Verdict::Answer(error(
                Value::Null,
                -32700,
                format!("Parse error: the message is not JSON ({e})"),
            ));
        }
    };
    let Value::Object(message) = &value else {
        let what = if value.is_array() {
            "batches are not supported (MCP sends one message at a time)"
        } else {
            "a JSON-RPC message is a JSON object"
        };
        return Verdict::Answer(error(
            Value::Null,
            -32600,
            format!("Invalid Request: {what}"),
        ));
    };
    // The id, when it is one an answer can carry.
    let id = match message.get("id") {
        Some(id @ (Value::String(_) | Value::Number(_))) => id.clone(),
        _ => Value::Null,
    };
    if message.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Verdict::Answer(error(
            id,
            -32600,
            "Invalid Request: `jsonrpc` must be \"2.0\"".into(),
        ));
    }
    let is_response = message.contains_key("result") || message.contains_key("error");
    match message.get("method") {
        None if is_response => Verdict::Pass,
        Some(Value::String(method)) => {
            if let Some(id) = message.get("id")
                && !matches!(id, Value::String(_) | Value::Number(_))
            {
                return Verdict::Answer(error(
                    Value::Null,
                    -32600,
                    format!(
                        "Invalid Request: the id of `{method}` must be a string or a number, not {id}"
                    ),
                ));
            }
            if method == "tools/call" {
                let name = message.get("params").and_then(|p| p.get("name"));
                if let (Some(Value::String(tool)), Some(Value::Object(arguments))) =
                    (name, message.get("params").and_then(|p| p.get("arguments")))
                    && let Some(schema) = schema_of(tool)
                    && let Some(wrong) = wrong_argument(arguments, schema)
                {
                    return Verdict::Answer(json!({
                        "jsonrpc": "2.0",
                        "id": id,
                        // `resultType` for clients of protocol 2026-07-28, which require it; clients of
                        // earlier versions take it as an unknown field and ignore it.
                        "result": {"content": [{"type": "text", "text": wrong}], "isError": true, "resultType": "complete"},
                    }));
                }
                if !matches!(name, Some(Value::String(_))) {
                    return Verdict::Answer(error(
                        id,
                        -32602,
                        format!(
                            "Invalid params: tools/call needs `name`, the tool's name as text{}",
                            name.map(|n| format!(" (got {n})")).unwrap_or_default()
                        ),
                    ));
                }
            }
            Verdict::Pass
        }
        Some(other) => Verdict::Answer(error(
            id,
            -32600,
            format!("Invalid Request: `method` must be text, not {other}"),
        )),
        None => Verdict::Answer(error(
            id,
            -32600,
            "Invalid Request: a request needs a `method`".into(),
        )),
    }
}

/// The first argument whose JSON type its schema does not allow, said with its name.
fn wrong_argument(arguments: &serde_json::Map<String, Value>, schema: &Schema) -> Option<String> {
    let properties = schema.get("properties")?.as_object()?;
    for (name, value) in arguments {
        let Some(property) = properties.get(name) else {
            continue;
        };
        let Some(allowed) = allowed_types(property, schema, 0) else {
            continue;
        };
        let actual = json_type(value);
        let fits = allowed
            .iter()
            .any(|t| *t == actual || (*t == "number" && actual == "integer"));
        if !fits {
            return Some(format!(
                "invalid type for the argument `{name}`: expected {}, got {actual} {value}",
                allowed.join(" or ")
            ));
        }
    }
    None
}

/// The JSON types a schema allows (following `$ref` into `$defs`, and `anyOf`/`oneOf`); `None`
/// when it cannot be told.
fn allowed_types<'a>(schema: &'a Value, root: &'a Schema, depth: u8) -> Option<Vec<&'a str>> {
    if depth > 8 {
        return None;
    }
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.strip_prefix("#/$defs/")?;
        return allowed_types(root.get("$defs")?.get(name)?, root, depth + 1);
    }
    match schema.get("type") {
        Some(Value::String(t)) => return Some(vec![t.as_str()]),
        Some(Value::Array(types)) => return types.iter().map(Value::as_str).collect(),
        _ => {}
    }
    let members = schema
        .get("anyOf")
        .or_else(|| schema.get("oneOf"))?
        .as_array()?;
    let mut all = Vec::new();
    for member in members {
        all.extend(allowed_types(member, root, depth + 1)?);
    }
    Some(all)
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_tools(_: &str) -> Option<&'static Schema> {
        None
    }

    fn answered(text: &str) -> (i64, Value) {
        match check(text, no_tools) {
            Verdict::Answer(v) => (v["error"]["code"].as_i64().unwrap(), v["id"].clone()),
            Verdict::Pass => panic!("{text} passed"),
        }
    }

    #[test]
    fn each_kind_of_bad_message_gets_its_json_rpc_error_with_the_id() {
        assert_eq!(answered("{not json").0, -32700);
        assert_eq!(answered("[]"), (-32600, Value::Null));
        assert_eq!(answered(r#"{"jsonrpc":"2.0","id":7}"#), (-32600, json!(7)));
        assert_eq!(
            answered(r#"{"jsonrpc":"1.0","id":"a","method":"ping"}"#),
            (-32600, json!("a"))
        );
        assert_eq!(
            answered(r#"{"jsonrpc":"2.0","id":3,"method":5}"#),
            (-32600, json!(3))
        );
        assert_eq!(
            answered(r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":5}}"#),
            (-32602, json!(4))
        );
        assert_eq!(
            check(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#, no_tools),
            Verdict::Pass
        );
        assert_eq!(
            check(
                r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
                no_tools
            ),
            Verdict::Pass
        );
        assert_eq!(
            check(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#, no_tools),
            Verdict::Pass
        );
    }
}
