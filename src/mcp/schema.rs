//! The tool list made lean for a model's context window. What `schemars` derives is exact but
//! long: `$defs` and `$ref`s for every id newtype, `anyOf [X, null]` for every optional field,
//! `oneOf` of described constants for every enum, OpenAPI formats (`int64`, `uint32`) that JSON
//! Schema does not define and clients warn about, and an output schema per tool that Claude Code
//! never shows the model. [`compact`] keeps what a model needs to call a tool right — types,
//! properties, required fields, enums, descriptions — and nothing else; the server still checks
//! every argument in full when it arrives.

use serde_json::{Map, Value};

/// The formats JSON Schema defines (draft 2020-12); any other is dropped.
const STANDARD_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "uuid",
    "regex",
];

/// A tool's input schema with every `$ref` inlined (a recursive one is kept), optional fields
/// as their type alone, enums of constants as `enum`, descriptions on one line, and no
/// `$schema`, `title`, `additionalProperties`, empty defaults, non-standard formats or `minimum:
/// 0` of unsigned integers, nor descriptions of array items (their array's says it).
pub fn compact(schema: &Map<String, Value>) -> Map<String, Value> {
    let defs = schema
        .get("$defs")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut used = Vec::new();
    let mut out = match walk(&Value::Object(schema.clone()), &defs, &mut used) {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    // Only definitions still referenced (by a recursive type) are kept.
    let mut referenced = std::collections::BTreeSet::new();
    out.values().for_each(|v| references(v, &mut referenced));
    let kept: Map<String, Value> = defs
        .iter()
        .filter(|(name, _)| referenced.contains(name.as_str()))
        .map(|(name, def)| (name.clone(), walk(def, &defs, &mut vec![name.clone()])))
        .collect();
    if !kept.is_empty() {
        out.insert("$defs".into(), Value::Object(kept));
    }
    out
}

/// Adds the definitions `value` refers to (their names) to `names`.
fn references<'a>(value: &'a Value, names: &mut std::collections::BTreeSet<&'a str>) {
    match value {
        Value::Object(map) => map.iter().for_each(|(k, v)| {
            if k == "$ref"
                && let Some(name) = v.as_str().and_then(|r| r.strip_prefix("#/$defs/"))
            {
                names.insert(name);
            }
            references(v, names);
        }),
        Value::Array(items) => items.iter().for_each(|v| references(v, names)),
        _ => {}
    }
}

/// `stack`: the definitions being inlined on the way here (a recursive `$ref` stays a `$ref`).
fn walk(value: &Value, defs: &Map<String, Value>, stack: &mut Vec<String>) -> Value {
    let Value::Object(map) = value else {
        return match value {
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| walk(v, defs, stack)).collect())
            }
            other => other.clone(),
        };
    };
    // A reference: the definition itself, with what sits beside the `$ref` (its description).
    if let Some(name) = map
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"))
        && let Some(def) = defs.get(name)
        && !stack.iter().any(|s| s == name)
    {
        stack.push(name.to_owned());
        let inner = walk(def, defs, stack);
        stack.pop();
        let rest: Map<String, Value> = map
            .iter()
            .filter(|(k, _)| *k != "$ref")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        return merge(inner, walk(&Value::Object(rest), defs, stack));
    }
    // `anyOf [X, null]`: an optional X (optional fields are simply not required).
    if let Some(Value::Array(branches)) = map.get("anyOf")
        && branches.len() == 2
        && let Some(other) = branches.iter().find(|b| !is_null_type(b))
        && branches.iter().any(is_null_type)
    {
        let inner = walk(other, defs, stack);
        let rest: Map<String, Value> = map
            .iter()
            .filter(|(k, _)| *k != "anyOf")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        return merge(inner, walk(&Value::Object(rest), defs, stack));
    }
    // `oneOf` of constants: an enum.
    if let Some(Value::Array(branches)) = map.get("oneOf")
        && !branches.is_empty()
        && branches.iter().all(|b| b.get("const").is_some())
    {
        let mut out = Map::new();
        if let Some(description) = map.get("description") {
            out.insert("description".into(), one_line(description));
        }
        let values: Vec<Value> = branches
            .iter()
            .filter_map(|b| b.get("const").cloned())
            .collect();
        if values.iter().all(Value::is_string) {
            out.insert("type".into(), "string".into());
        }
        out.insert("enum".into(), Value::Array(values));
        return Value::Object(out);
    }
    let mut out = Map::new();
    for (key, v) in map {
        match key.as_str() {
            "$schema" | "$defs" | "title" | "additionalProperties" => {}
            "format" if !v.as_str().is_some_and(|f| STANDARD_FORMATS.contains(&f)) => {}
            "minimum"
                if v.as_f64() == Some(0.0)
                    && map.get("type").map(without_null) == Some(Value::from("integer")) => {}
            "default" if is_empty(v) => {}
            "description" => {
                out.insert(key.clone(), one_line(v));
            }
            "type" => {
                out.insert(key.clone(), without_null(v));
            }
            "properties" => {
                let props = v
                    .as_object()
                    .map(|p| {
                        p.iter()
                            .map(|(name, s)| (name.clone(), walk(s, defs, stack)))
                            .collect()
                    })
                    .unwrap_or_default();
                out.insert(key.clone(), Value::Object(props));
            }
            "items" => {
                let mut items = walk(v, defs, stack);
                if let Value::Object(items) = &mut items {
                    items.remove("description");
                }
                out.insert(key.clone(), items);
            }
            _ => {
                out.insert(key.clone(), walk(v, defs, stack));
            }
        }
    }
    Value::Object(out)
}

/// `inner` with `outer`'s keys on top; the outer description replaces the inner one.
fn merge(inner: Value, outer: Value) -> Value {
    match (inner, outer) {
        (Value::Object(mut inner), Value::Object(outer)) => {
            for (k, v) in outer {
                inner.insert(k, v);
            }
            Value::Object(inner)
        }
        (inner, _) => inner,
    }
}

fn is_null_type(value: &Value) -> bool {
    value.get("type").and_then(Value::as_str) == Some("null")
}

/// `["string", "null"]` → `"string"`.
fn without_null(value: &Value) -> Value {
    match value {
        Value::Array(types) => {
            let kept: Vec<Value> = types
                .iter()
                .filter(|t| t.as_str() != Some("null"))
                .cloned()
                .collect();
            match kept.as_slice() {
                [one] => one.clone(),
                _ => Value::Array(kept),
            }
        }
        other => other.clone(),
    }
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Number(_) | Value::Bool(true) => false,
    }
}

fn one_line(value: &Value) -> Value {
    match value.as_str() {
        Some(text) => Value::String(text.split_whitespace().collect::<Vec<_>>().join(" ")),
        None => value.clone(),
    }
}

/// Tool annotations with only what differs from the specification's defaults (read-only false,
/// destructive true, idempotent false, open-world true) and the title.
pub fn lean_annotations(mut a: rmcp::model::ToolAnnotations) -> rmcp::model::ToolAnnotations {
    let read_only = a.read_only_hint == Some(true);
    if !read_only {
        a.read_only_hint = None;
    }
    if read_only || a.destructive_hint == Some(true) {
        a.destructive_hint = None;
    }
    if read_only || a.idempotent_hint != Some(true) {
        a.idempotent_hint = None;
    }
    if a.open_world_hint == Some(true) {
        a.open_world_hint = None;
    }
    a
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_derived_schema_keeps_what_a_model_needs_and_nothing_else() {
        let derived = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "Args",
            "type": "object",
            "additionalProperties": false,
            "$defs": {
                "PlanId": {"description": "Identifies a plan.", "type": "integer", "format": "int64"},
                "Action": {"description": "What to do.", "oneOf": [
                    {"const": "pause", "description": "Stop cleanly.", "type": "string"},
                    {"const": "cancel", "description": "Stop for good.", "type": "string"}
                ]},
                "Node": {"type": "object", "properties": {
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}
                }}
            },
            "properties": {
                "plan_id": {"anyOf": [{"$ref": "#/$defs/PlanId"}, {"type": "null"}], "description": "The plan,\n  if any."},
                "action": {"$ref": "#/$defs/Action", "description": "The action."},
                "limit": {"type": ["integer", "null"], "format": "uint32", "minimum": 0, "default": 20},
                "when": {"type": "string", "format": "date-time"},
                "all": {"type": "boolean", "default": false},
                "tags": {"type": "array", "items": {"type": "string", "description": "A tag."}, "default": []},
                "tree": {"$ref": "#/$defs/Node"}
            },
            "required": ["action"]
        });
        let lean = compact(derived.as_object().unwrap());
        assert_eq!(
            Value::Object(lean),
            json!({
                "type": "object",
                "properties": {
                    "plan_id": {"type": "integer", "description": "The plan, if any."},
                    "action": {"description": "The action.", "type": "string", "enum": ["pause", "cancel"]},
                    "limit": {"type": "integer", "default": 20},
                    "when": {"type": "string", "format": "date-time"},
                    "all": {"type": "boolean"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "tree": {"type": "object", "properties": {
                        "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}
                    }}
                },
                "required": ["action"],
                "$defs": {"Node": {"type": "object", "properties": {
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}
                }}}
            })
        );
    }
}
