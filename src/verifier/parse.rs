//! Reading what each tool printed into findings (file, line, column, rule, severity, message)
//! and test counts. Paths are made relative to the tree verified.

use std::path::Path;

use quick_xml::events::Event;

use crate::domain::{Finding, Severity, TestCounts};

/// What a tool's output said.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    /// Problems, located.
    pub findings: Vec<Finding>,
    /// Test counts, for test suites.
    pub tests: Option<TestCounts>,
}

/// A path as the report shows it: relative to the tree when inside it.
fn relative(path: &str, dir: &Path) -> String {
    let trimmed = path.trim();
    let p = Path::new(trimmed);
    let rel = p.strip_prefix(dir).ok().map(Path::to_path_buf).or_else(|| {
        dir.canonicalize()
            .ok()
            .and_then(|d| p.strip_prefix(&d).ok().map(Path::to_path_buf))
    });
    let text = rel.map_or_else(|| trimmed.to_owned(), |r| r.to_string_lossy().into_owned());
    text.strip_prefix("./").map(str::to_owned).unwrap_or(text)
}

fn finding(
    file: Option<String>,
    line: Option<u32>,
    column: Option<u32>,
    rule: Option<String>,
    severity: Severity,
    message: String,
) -> Finding {
    Finding {
        file,
        line,
        column,
        rule,
        severity,
        message: message.trim().to_owned(),
    }
}

/// pytest's JUnit XML (`-o junit_family=xunit1`, which records each test's file and line): the
/// counts, and one finding per failed or errored test at the line that failed.
pub fn pytest_junit(xml: &str, dir: &Path) -> Result<Parsed, String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut parsed = Parsed::default();
    let mut counts = TestCounts::default();
    let mut suites = 0;
    // The test case being read, and the failure inside it.
    let mut case: Option<(String, Option<String>, Option<u32>)> = None;
    let mut failure: Option<(String, String, String)> = None; // kind, message, text
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("the JUnit XML is malformed: {e}"))?;
        match event {
            Event::Start(e) | Event::Empty(e) => {
                let name = e.name();
                let attr = |key: &str| {
                    e.attributes()
                        .flatten()
                        .find(|a| a.key.as_ref() == key)
                        .and_then(|a| a.normalized_value(quick_xml::XmlVersion::Implicit1_0).ok())
                        .map(|v| v.into_owned())
                };
                let number = |key: &str| attr(key).and_then(|v| v.parse::<u32>().ok()).unwrap_or(0);
                match name.as_ref() {
                    "testsuite" => {
                        suites += 1;
                        counts.total += number("tests");
                        counts.failed += number("failures");
                        counts.errors += number("errors");
                        counts.skipped += number("skipped");
                    }
                    "testcase" => {
                        let id = match (attr("classname"), attr("name")) {
                            (Some(class), Some(name)) if !class.is_empty() => {
                                format!("{class}::{name}")
                            }
                            (_, Some(name)) => name,
                            _ => "?".into(),
                        };
                        let line = attr("line")
                            .and_then(|l| l.parse::<u32>().ok())
                            .map(|l| l + 1);
                        case = Some((id, attr("file").map(|f| relative(&f, dir)), line));
                    }
                    kind @ ("failure" | "error") if case.is_some() => {
                        failure = Some((
                            kind.to_owned(),
                            attr("message").unwrap_or_default(),
                            String::new(),
                        ));
                    }
                    _ => {}
                }
            }
            Event::Text(t) => {
                if let Some((_, _, text)) = failure.as_mut() {
                    text.push_str(&t.into_inner());
                }
            }
            Event::CData(t) => {
                if let Some((_, _, text)) = failure.as_mut() {
                    text.push_str(&t.into_inner());
                }
            }
            Event::GeneralRef(r) => {
                if let Some((_, _, text)) = failure.as_mut() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => text.push(c),
                        _ => text.push_str(
                            quick_xml::escape::resolve_predefined_entity(&r.into_inner())
                                .unwrap_or(""),
                        ),
                    }
                }
            }
            Event::End(e) if e.name().as_ref() == "testcase" => {
                if let (Some((id, file, line)), Some((kind, message, text))) =
                    (case.take(), failure.take())
                {
                    parsed
                        .findings
                        .push(failed_test(&id, file, line, &kind, &message, &text, dir));
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if suites == 0 {
        return Err("the JUnit XML has no test suite".into());
    }
    counts.passed = counts
        .total
        .saturating_sub(counts.failed + counts.errors + counts.skipped);
    parsed.tests = Some(counts);
    Ok(parsed)
}

/// A failed test as a finding: at the line of the traceback inside the test's file (the assert
/// that failed), else at the test itself.
fn failed_test(
    id: &str,
    file: Option<String>,
    line: Option<u32>,
    kind: &str,
    message: &str,
    text: &str,
    dir: &Path,
) -> Finding {
    let mut at = (file.clone(), line);
    for l in text.lines().rev() {
        // pytest ends a traceback with `path/to/test.py:12: AssertionError`.
        if let Some((path, rest)) = l.split_once(".py:") {
            let number: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if let Ok(n) = number.parse::<u32>() {
                let path = relative(&format!("{path}.py"), dir);
                if file.as_deref().is_none_or(|f| f == path) {
                    at = (Some(path), Some(n));
                    break;
                }
            }
        }
    }
    let first = message.lines().next().unwrap_or_default().trim();
    let summary = if first.is_empty() {
        text.lines()
            .rev()
            .find(|l| l.starts_with("E "))
            .map(|l| l[1..].trim().to_owned())
            .unwrap_or_else(|| kind.to_owned())
    } else {
        first.to_owned()
    };
    let what = if kind == "error" { "errored" } else { "failed" };
    finding(
        at.0,
        at.1,
        None,
        Some(id.to_owned()),
        Severity::Error,
        format!("test {what}: {summary}"),
    )
}

/// ruff's `--output-format json`.
pub fn ruff_json(out: &str, dir: &Path) -> Result<Parsed, String> {
    let items: Vec<serde_json::Value> = serde_json::from_str(out.trim())
        .map_err(|e| format!("ruff's JSON output cannot be read: {e}"))?;
    let findings = items
        .iter()
        .map(|item| {
            let n = |a: &str, b: &str| item[a][b].as_u64().and_then(|v| u32::try_from(v).ok());
            finding(
                item["filename"].as_str().map(|f| relative(f, dir)),
                n("location", "row"),
                n("location", "column"),
                item["code"].as_str().map(str::to_owned),
                Severity::Error,
                item["message"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    Ok(Parsed {
        findings,
        tests: None,
    })
}

/// Lines of the form `file:line[:column]: severity: message  [code]` (mypy) or
/// `file:line:column: CODE message` (flake8, go vet).
pub fn located_lines(out: &str, dir: &Path, style: LineStyle) -> Parsed {
    let mut findings = Vec::new();
    for line in out.lines() {
        let Some((file, rest)) = line.split_once(':') else {
            continue;
        };
        if file.is_empty() || file.contains(' ') || file.starts_with('#') {
            continue;
        }
        let mut parts = rest.splitn(3, ':');
        let Some(line_no) = parts.next().and_then(|p| p.trim().parse::<u32>().ok()) else {
            continue;
        };
        let (column, message) = match (parts.next(), parts.next()) {
            (Some(c), Some(m)) if c.trim().parse::<u32>().is_ok() => {
                (c.trim().parse::<u32>().ok(), m.trim().to_owned())
            }
            (Some(c), Some(m)) => (None, format!("{c}:{m}").trim().to_owned()),
            (Some(m), None) => (None, m.trim().to_owned()),
            _ => continue,
        };
        let file = relative(file, dir);
        match style {
            LineStyle::Mypy => {
                let (severity, text) = if let Some(t) = message.strip_prefix("error:") {
                    (Severity::Error, t)
                } else if let Some(t) = message.strip_prefix("warning:") {
                    (Severity::Warning, t)
                } else if let Some(t) = message.strip_prefix("note:") {
                    (Severity::Info, t)
                } else {
                    continue;
                };
                let text = text.trim();
                let (text, code) = match text.rsplit_once("  [") {
                    Some((t, c)) if c.ends_with(']') => {
                        (t.to_owned(), Some(c.trim_end_matches(']').to_owned()))
                    }
                    _ => (text.to_owned(), None),
                };
                findings.push(finding(
                    Some(file),
                    Some(line_no),
                    column,
                    code,
                    severity,
                    text,
                ));
            }
            LineStyle::CodeFirst => {
                let (code, text) = match message.split_once(' ') {
                    Some((c, t))
                        if c.chars().next().is_some_and(|ch| ch.is_ascii_uppercase())
                            && c.chars().any(|ch| ch.is_ascii_digit()) =>
                    {
                        (Some(c.to_owned()), t.to_owned())
                    }
                    _ => (None, message.clone()),
                };
                findings.push(finding(
                    Some(file),
                    Some(line_no),
                    column,
                    code,
                    Severity::Error,
                    text,
                ));
            }
            LineStyle::Plain => findings.push(finding(
                Some(file),
                Some(line_no),
                column,
                None,
                Severity::Error,
                message,
            )),
        }
    }
    Parsed {
        findings,
        tests: None,
    }
}

/// How [`located_lines`] reads the message part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineStyle {
    /// `error: message  [code]` (mypy).
    Mypy,
    /// `CODE message` (flake8).
    CodeFirst,
    /// The message as it is (go vet).
    Plain,
}

/// bandit's `-f json`.
pub fn bandit_json(out: &str, dir: &Path) -> Result<Parsed, String> {
    // bandit may print a progress line before the JSON.
    let start = out.find('{').ok_or("bandit printed no JSON")?;
    let doc: serde_json::Value = serde_json::from_str(&out[start..])
        .map_err(|e| format!("bandit's JSON output cannot be read: {e}"))?;
    let findings = doc["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let severity = match r["issue_severity"].as_str() {
                Some("HIGH" | "MEDIUM") => Severity::Error,
                Some("LOW") => Severity::Warning,
                _ => Severity::Info,
            };
            let n = |k: &str| r[k].as_u64().and_then(|v| u32::try_from(v).ok());
            finding(
                r["filename"].as_str().map(|f| relative(f, dir)),
                n("line_number"),
                n("col_offset").map(|c| c + 1),
                r["test_id"].as_str().map(str::to_owned),
                severity,
                format!(
                    "{} (severity {}, confidence {})",
                    r["issue_text"].as_str().unwrap_or_default(),
                    r["issue_severity"]
                        .as_str()
                        .unwrap_or("?")
                        .to_ascii_lowercase(),
                    r["issue_confidence"]
                        .as_str()
                        .unwrap_or("?")
                        .to_ascii_lowercase()
                ),
            )
        })
        .collect();
    Ok(Parsed {
        findings,
        tests: None,
    })
}

/// cargo's `--message-format json` lines: compiler errors and warnings (clippy's included), at
/// their primary span. Other lines (a test harness's text) are ignored here.
pub fn cargo_messages(out: &str, dir: &Path) -> Vec<Finding> {
    let mut findings = Vec::new();
    for line in out.lines().filter(|l| l.starts_with('{')) {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-message" {
            continue;
        }
        let m = &msg["message"];
        let severity = match m["level"].as_str() {
            Some("error" | "error: internal compiler error") => Severity::Error,
            Some("warning") => Severity::Warning,
            _ => continue,
        };
        let text = m["message"].as_str().unwrap_or_default();
        if text.starts_with("aborting due to")
            || text.ends_with("warnings emitted")
            || text.ends_with("warning emitted")
        {
            continue;
        }
        let span = m["spans"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["is_primary"] == true));
        let n = |k: &str| {
            span.and_then(|s| s[k].as_u64())
                .and_then(|v| u32::try_from(v).ok())
        };
        findings.push(finding(
            span.and_then(|s| s["file_name"].as_str())
                .map(|f| relative(f, dir)),
            n("line_start"),
            n("column_start"),
            m["code"]["code"].as_str().map(str::to_owned),
            severity,
            text.to_owned(),
        ));
    }
    findings
}

/// The libtest harness's text (`cargo test`): counts from every `test result:` line, and each
/// failed test with the place it panicked.
pub fn cargo_test(out: &str, dir: &Path) -> Parsed {
    let mut counts = TestCounts::default();
    let mut seen_result = false;
    let mut findings = Vec::new();
    let lines: Vec<&str> = out.lines().collect();
    for line in &lines {
        if let Some(rest) = line.strip_prefix("test result: ") {
            seen_result = true;
            for part in rest.split(['.', ';']) {
                let mut words = part.split_whitespace();
                let (Some(n), Some(what)) = (
                    words.next().and_then(|n| n.parse::<u32>().ok()),
                    words.next(),
                ) else {
                    continue;
                };
                match what {
                    "passed" => counts.passed += n,
                    "failed" => counts.failed += n,
                    "ignored" => counts.skipped += n,
                    _ => {}
                }
            }
        }
    }
    counts.total = counts.passed + counts.failed + counts.skipped;
    // ---- name stdout ----, then `thread '…' panicked at src/lib.rs:10:5:` and the message.
    let mut i = 0;
    while i < lines.len() {
        if let Some(name) = lines[i]
            .strip_prefix("---- ")
            .and_then(|l| l.strip_suffix(" stdout ----"))
        {
            let mut at = (None, None, None);
            let mut message = Vec::new();
            let mut j = i + 1;
            while j < lines.len()
                && !lines[j].starts_with("---- ")
                && !lines[j].starts_with("failures:")
            {
                let l = lines[j];
                if let Some(pos) = l.find("panicked at ") {
                    let location = l[pos + 12..].trim_end_matches(':').trim();
                    let mut parts = location.rsplitn(3, ':');
                    let column = parts.next().and_then(|c| c.parse::<u32>().ok());
                    let line = parts.next().and_then(|c| c.parse::<u32>().ok());
                    let file = parts.next().map(|f| relative(f, dir));
                    at = (file, line, column);
                } else if at.0.is_some()
                    && !l.starts_with("note:")
                    && !l.starts_with("stack backtrace")
                    && !l.trim().is_empty()
                {
                    message.push(l.trim());
                }
                j += 1;
            }
            let text = if message.is_empty() {
                "the test failed".to_owned()
            } else {
                message.join(" ")
            };
            findings.push(finding(
                at.0,
                at.1,
                at.2,
                Some(name.to_owned()),
                Severity::Error,
                format!("test failed: {text}"),
            ));
            i = j;
            continue;
        }
        i += 1;
    }
    Parsed {
        findings,
        tests: seen_result.then_some(counts),
    }
}

/// `cargo fmt --check`: one finding per place that is not formatted.
pub fn rustfmt_check(out: &str, dir: &Path) -> Parsed {
    let findings = out
        .lines()
        .filter_map(|l| l.strip_prefix("Diff in "))
        .map(|rest| {
            // `Diff in /abs/src/lib.rs:3:` (or older: `Diff in /abs/src/lib.rs at line 3:`).
            let rest = rest.trim_end_matches(':');
            let (file, line) = match rest.rsplit_once(" at line ") {
                Some((f, l)) => (f.to_owned(), l.parse::<u32>().ok()),
                None => match rest.rsplit_once(':') {
                    Some((f, l)) if l.parse::<u32>().is_ok() => {
                        (f.to_owned(), l.parse::<u32>().ok())
                    }
                    _ => (rest.to_owned(), None),
                },
            };
            finding(
                Some(relative(&file, dir)),
                line,
                None,
                Some("rustfmt".into()),
                Severity::Error,
                "not formatted as rustfmt would".into(),
            )
        })
        .collect();
    Parsed {
        findings,
        tests: None,
    }
}

/// eslint's `-f json`.
pub fn eslint_json(out: &str, dir: &Path) -> Result<Parsed, String> {
    let files: Vec<serde_json::Value> = serde_json::from_str(out.trim())
        .map_err(|e| format!("eslint's JSON output cannot be read: {e}"))?;
    let mut findings = Vec::new();
    for file in &files {
        let path = file["filePath"].as_str().map(|f| relative(f, dir));
        for m in file["messages"].as_array().into_iter().flatten() {
            let n = |k: &str| m[k].as_u64().and_then(|v| u32::try_from(v).ok());
            findings.push(finding(
                path.clone(),
                n("line"),
                n("column"),
                m["ruleId"].as_str().map(str::to_owned),
                if m["severity"] == 2 {
                    Severity::Error
                } else {
                    Severity::Warning
                },
                m["message"].as_str().unwrap_or_default().to_owned(),
            ));
        }
    }
    Ok(Parsed {
        findings,
        tests: None,
    })
}

/// `tsc --pretty false`: `src/a.ts(3,5): error TS2322: message`.
pub fn tsc_lines(out: &str, dir: &Path) -> Parsed {
    let mut findings = Vec::new();
    for line in out.lines() {
        let Some((file, rest)) = line.split_once('(') else {
            continue;
        };
        let Some((position, rest)) = rest.split_once("): ") else {
            continue;
        };
        let mut pos = position.split(',');
        let (Some(l), Some(c)) = (
            pos.next().and_then(|v| v.parse::<u32>().ok()),
            pos.next().and_then(|v| v.parse::<u32>().ok()),
        ) else {
            continue;
        };
        let (severity, rest) = if let Some(r) = rest.strip_prefix("error ") {
            (Severity::Error, r)
        } else if let Some(r) = rest.strip_prefix("warning ") {
            (Severity::Warning, r)
        } else {
            continue;
        };
        let (code, message) = rest.split_once(": ").unwrap_or(("", rest));
        findings.push(finding(
            Some(relative(file, dir)),
            Some(l),
            Some(c),
            (!code.is_empty()).then(|| code.to_owned()),
            severity,
            message.to_owned(),
        ));
    }
    Parsed {
        findings,
        tests: None,
    }
}

/// `go test -json`: counts from the test events, each failed test with the `file:line:` its
/// output names.
pub fn go_test_json(out: &str, dir: &Path) -> Parsed {
    let mut counts = TestCounts::default();
    let mut output: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    let mut failed = Vec::new();
    for line in out.lines() {
        let Ok(e) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let Some(test) = e["Test"].as_str() else {
            continue;
        };
        let key = format!("{}.{test}", e["Package"].as_str().unwrap_or_default());
        match e["Action"].as_str() {
            Some("output") => output
                .entry(key)
                .or_default()
                .push(e["Output"].as_str().unwrap_or_default().to_owned()),
            Some("pass") => counts.passed += 1,
            Some("skip") => counts.skipped += 1,
            Some("fail") => {
                counts.failed += 1;
                failed.push((key, test.to_owned()));
            }
            _ => {}
        }
    }
    counts.total = counts.passed + counts.failed + counts.skipped;
    let findings = failed
        .into_iter()
        .map(|(key, test)| {
            let lines = output.get(&key).cloned().unwrap_or_default();
            let located = lines.iter().find_map(|l| {
                let l = l.trim();
                let (file, rest) = l.split_once(".go:")?;
                let (n, message) = rest.split_once(':')?;
                Some((
                    format!("{file}.go"),
                    n.parse::<u32>().ok()?,
                    message.trim().to_owned(),
                ))
            });
            match located {
                Some((file, line, message)) => finding(
                    Some(relative(&file, dir)),
                    Some(line),
                    None,
                    Some(test.clone()),
                    Severity::Error,
                    format!("test failed: {message}"),
                ),
                None => finding(
                    None,
                    None,
                    None,
                    Some(test.clone()),
                    Severity::Error,
                    "test failed".into(),
                ),
            }
        })
        .collect();
    Parsed {
        findings,
        tests: Some(counts),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mypy_lines_keep_code_and_column() {
        let out = "src/app/calc.py:8:12: error: Incompatible return value type (got \"int\", expected \"str\")  [return-value]\nsrc/app/calc.py:9: note: see here\nFound 1 error in 1 file";
        let parsed = located_lines(out, Path::new("/p"), LineStyle::Mypy);
        assert_eq!(parsed.findings.len(), 2);
        let f = &parsed.findings[0];
        assert_eq!(
            (f.file.as_deref(), f.line, f.column, f.rule.as_deref()),
            (
                Some("src/app/calc.py"),
                Some(8),
                Some(12),
                Some("return-value")
            )
        );
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(parsed.findings[1].severity, Severity::Info);
    }

    #[test]
    fn tsc_eslint_and_go_formats_are_read() {
        let tsc = tsc_lines(
            "src/a.ts(3,5): error TS2322: Type 'number' is not assignable to type 'string'.\n",
            Path::new("/p"),
        );
        assert_eq!(tsc.findings[0].rule.as_deref(), Some("TS2322"));
        assert_eq!(
            (tsc.findings[0].line, tsc.findings[0].column),
            (Some(3), Some(5))
        );
        let eslint = eslint_json(r#"[{"filePath":"/p/src/a.js","messages":[{"ruleId":"no-unused-vars","severity":2,"message":"'x' is assigned a value but never used.","line":1,"column":7}]}]"#, Path::new("/p")).unwrap();
        assert_eq!(eslint.findings[0].file.as_deref(), Some("src/a.js"));
        assert_eq!(eslint.findings[0].rule.as_deref(), Some("no-unused-vars"));
        let go = go_test_json(
            "{\"Action\":\"run\",\"Package\":\"m\",\"Test\":\"TestAdd\"}\n{\"Action\":\"output\",\"Package\":\"m\",\"Test\":\"TestAdd\",\"Output\":\"    add_test.go:9: got 4, want 5\\n\"}\n{\"Action\":\"fail\",\"Package\":\"m\",\"Test\":\"TestAdd\"}\n{\"Action\":\"pass\",\"Package\":\"m\",\"Test\":\"TestSub\"}\n",
            Path::new("/p"),
        );
        assert_eq!(go.tests.map(|t| (t.total, t.failed)), Some((2, 1)));
        assert_eq!(
            (go.findings[0].file.as_deref(), go.findings[0].line),
            (Some("add_test.go"), Some(9))
        );
        let vet = located_lines(
            "# m\n./main.go:10:2: fmt.Printf format %d has arg x of wrong type string\n",
            Path::new("/p"),
            LineStyle::Plain,
        );
        assert_eq!(
            (
                vet.findings[0].file.as_deref(),
                vet.findings[0].line,
                vet.findings[0].column
            ),
            (Some("main.go"), Some(10), Some(2))
        );
    }

    #[test]
    fn rustfmt_diffs_in_both_formats() {
        let out =
            "Diff in /p/src/lib.rs:3:\n-fn a(){}\n+fn a() {}\nDiff in /p/src/main.rs at line 7:\n";
        let parsed = rustfmt_check(out, Path::new("/p"));
        let at: Vec<(Option<&str>, Option<u32>)> = parsed
            .findings
            .iter()
            .map(|f| (f.file.as_deref(), f.line))
            .collect();
        assert_eq!(
            at,
            [
                (Some("src/lib.rs"), Some(3)),
                (Some("src/main.rs"), Some(7))
            ]
        );
    }
}
