//! `.secrets.json`: values that only the agent's environment may see.
//!
//! A [`SecretValue`] prints as `[redacted]` in every `Debug`/`Display`, is not `Serialize`, and so
//! cannot reach a log line, the store or MCP output by accident. Errors about the file give its
//! line and column but never quote its content.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::Deserialize;

use super::{ConfigError, SECRETS_FILE};

/// A secret string that never prints itself.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct SecretValue(String);

impl SecretValue {
    /// The value, for the one place that needs it: the agent's environment.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Secrets by name (`ANTHROPIC_API_KEY`, …).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    keys: BTreeMap<String, SecretValue>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretsFile {
    keys: BTreeMap<String, SecretValue>,
}

impl Secrets {
    /// Reads `.secrets.json` at `root` if there is one, with warnings when it is readable by other
    /// users or not ignored by git.
    pub fn load(root: &Path) -> Result<(Self, Vec<String>), ConfigError> {
        let file = root.join(SECRETS_FILE);
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok((Self::default(), Vec::new()));
            }
            Err(source) => return Err(ConfigError::Read { path: file, source }),
        };
        let parsed: SecretsFile = serde_json::from_str(&text).map_err(|e| ConfigError::Secrets {
            file: file.clone(),
            line: e.line(),
            column: e.column(),
            // serde_json's own message can quote a value; say only what kind of problem it is.
            message: match e.classify() {
                serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                    "not valid JSON: expected {\"keys\": {\"NAME\": \"value\", …}}".into()
                }
                _ => "wrong shape: expected {\"keys\": {\"NAME\": \"value\", …}} with string values".into(),
            },
        })?;
        let warnings = exposure_warnings(root, &file);
        Ok((Self { keys: parsed.keys }, warnings))
    }

    /// Secrets from name–value pairs (for tests and programmatic use).
    pub fn from_pairs<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        Self {
            keys: pairs
                .into_iter()
                .map(|(k, v)| (k, SecretValue(v)))
                .collect(),
        }
    }

    /// The names of the secrets, never their values.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    /// The secret named `name`.
    pub fn get(&self, name: &str) -> Option<&SecretValue> {
        self.keys.get(name)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Name–value pairs for a child process's environment.
    pub fn env_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.keys.iter().map(|(k, v)| (k.as_str(), v.expose()))
    }

    /// `text` with every secret value replaced by `[redacted:NAME]`, for anything that is about
    /// to be logged, stored or shown. Longer values are replaced first so one secret containing
    /// another is fully hidden.
    pub fn redact(&self, text: &str) -> String {
        let mut values: Vec<(&str, &str)> = self
            .keys
            .iter()
            .filter(|(_, v)| !v.0.is_empty())
            .map(|(k, v)| (k.as_str(), v.0.as_str()))
            .collect();
        values.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
        let mut out = text.to_string();
        for (name, value) in values {
            if out.contains(value) {
                out = out.replace(value, &format!("[redacted:{name}]"));
            }
        }
        out
    }
}

fn exposure_warnings(root: &Path, file: &Path) -> Vec<String> {
    let mut warnings = Vec::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(file) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o044 != 0 {
                warnings.push(format!(
                    "{} is readable by other users (mode {mode:o}): run `chmod 600 {}`",
                    file.display(),
                    file.display()
                ));
            }
        }
    }
    // Exit 0: ignored; 1: not ignored; anything else (no git, not a repository): nothing to say.
    let ignored = std::process::Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["check-ignore", "-q", "--no-index", SECRETS_FILE])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
    if let Ok(status) = ignored
        && status.code() == Some(1)
    {
        warnings.push(format!(
            "{} is not ignored by git: add `{SECRETS_FILE}` to .gitignore so it is never committed",
            file.display()
        ));
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_secrets(dir: &Path, text: &str, mode: u32) {
        let file = dir.join(SECRETS_FILE);
        std::fs::write(&file, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
        }
    }

    #[test]
    fn values_never_print() {
        let secrets = Secrets::from_pairs([("API_KEY".to_string(), "sk-live-123456".to_string())]);
        let debug = format!("{secrets:?}");
        assert!(!debug.contains("sk-live-123456"), "{debug}");
        assert_eq!(
            secrets.redact("key=sk-live-123456!"),
            "key=[redacted:API_KEY]!"
        );
        assert_eq!(
            secrets.env_pairs().collect::<Vec<_>>(),
            vec![("API_KEY", "sk-live-123456")]
        );
    }

    #[test]
    fn malformed_file_error_does_not_quote_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        write_secrets(dir.path(), "{\"keys\": \"sk-live-123456\"}", 0o600);
        let err = Secrets::load(dir.path()).unwrap_err().to_string();
        assert!(!err.contains("sk-live"), "{err}");
        assert!(err.contains(".secrets.json:1:"), "{err}");
    }

    #[test]
    fn world_readable_file_is_warned_about() {
        let dir = tempfile::tempdir().unwrap();
        write_secrets(dir.path(), "{\"keys\": {\"A\": \"b\"}}", 0o644);
        let (secrets, warnings) = Secrets::load(dir.path()).unwrap();
        assert_eq!(secrets.names().collect::<Vec<_>>(), vec!["A"]);
        assert!(
            warnings.iter().any(|w| w.contains("chmod 600")),
            "{warnings:?}"
        );
    }

    #[test]
    fn git_ignore_status_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            std::process::Command::new("git")
                .arg("-C")
                .arg(dir.path())
                .args(args)
                .output()
                .unwrap()
        };
        git(&["init", "-q"]);
        write_secrets(dir.path(), "{\"keys\": {}}", 0o600);
        let (_, warnings) = Secrets::load(dir.path()).unwrap();
        assert!(
            warnings.iter().any(|w| w.contains("not ignored by git")),
            "{warnings:?}"
        );
        std::fs::write(dir.path().join(".gitignore"), ".secrets.json\n").unwrap();
        let (_, warnings) = Secrets::load(dir.path()).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
    }
}
