//! Skills: folders with a `SKILL.md` (YAML front matter — `name`, `description`,
//! `allowed-tools`, anything else kept — then Markdown instructions), found in the project's
//! `.claude/skills/*/`, the user's `~/.claude/skills/*/` and configured folders. A malformed file
//! is reported with its path and the problem, and skipped.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

/// A skill found on disk.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Skill {
    /// Its name.
    pub name: String,
    /// What it is for, and when to use it.
    pub description: String,
    /// Tools it may use, if it restricts them.
    pub allowed_tools: Vec<String>,
    /// Its `SKILL.md`.
    pub path: PathBuf,
    /// Where it was found: `project`, `user` or `config`.
    pub origin: String,
    /// Other front-matter fields, as JSON.
    pub extra: BTreeMap<String, serde_json::Value>,
    /// The instructions after the front matter.
    pub body: String,
}

/// A `SKILL.md` that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct SkillProblem {
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub problem: String,
}

/// What discovery found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, schemars::JsonSchema)]
pub struct SkillSet {
    /// The skills, by name; a project skill shadows a user skill of the same name.
    pub skills: Vec<Skill>,
    /// Files that were skipped, and why.
    pub problems: Vec<SkillProblem>,
}

/// Parses one `SKILL.md`.
pub fn parse(path: &Path, text: &str, origin: &str) -> Result<Skill, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rest = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
        .ok_or("it does not start with a `---` line opening the YAML front matter")?;
    let end = rest
        .find("\n---\n")
        .or_else(|| rest.find("\n---\r\n"))
        .or_else(|| rest.strip_suffix("\n---").map(str::len))
        .ok_or("the front matter has no closing `---` line")?;
    let yaml = &rest[..end];
    let body = rest[end..]
        .trim_start_matches('\n')
        .trim_start_matches("---")
        .trim_start_matches(['\r', '\n']);
    let value: yaml_serde::Value = yaml_serde::from_str(yaml)
        .map_err(|e| format!("the front matter is not valid YAML: {e}"))?;
    let json = serde_json::to_value(&value)
        .map_err(|e| format!("the front matter cannot be read: {e}"))?;
    let map = json
        .as_object()
        .ok_or("the front matter must be a mapping of fields")?;
    let text_field = |key: &str| {
        map.get(key)
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let name = text_field("name").ok_or("the front matter has no `name`")?;
    let description = text_field("description").ok_or("the front matter has no `description`")?;
    let allowed_tools = match map
        .get("allowed-tools")
        .or_else(|| map.get("allowed_tools"))
    {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(serde_json::Value::String(s)) => s
            .split(',')
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect(),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_owned))
            .collect(),
        Some(_) => return Err("`allowed-tools` must be a list or a comma-separated string".into()),
    };
    let extra = map
        .iter()
        .filter(|(k, _)| {
            !["name", "description", "allowed-tools", "allowed_tools"].contains(&k.as_str())
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(Skill {
        name,
        description,
        allowed_tools,
        path: path.to_path_buf(),
        origin: origin.to_owned(),
        extra,
        body: body.to_owned(),
    })
}

/// Finds the skills of a project: its `.claude/skills`, the user's `~/.claude/skills` (when
/// `home` is given) and `extra` folders (each holding skill folders).
pub fn discover(project_root: &Path, home: Option<&Path>, extra: &[PathBuf]) -> SkillSet {
    let mut places: Vec<(PathBuf, &str)> = vec![(project_root.join(".claude/skills"), "project")];
    places.extend(extra.iter().map(|p| {
        (
            if p.is_absolute() {
                p.clone()
            } else {
                project_root.join(p)
            },
            "config",
        )
    }));
    if let Some(home) = home {
        places.push((home.join(".claude/skills"), "user"));
    }
    let mut set = SkillSet::default();
    for (dir, origin) in places {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut folders: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        folders.sort();
        for folder in folders {
            let file = folder.join("SKILL.md");
            let Ok(text) = std::fs::read_to_string(&file) else {
                if folder.join("skill.md").exists() {
                    set.problems.push(SkillProblem {
                        path: folder.join("skill.md"),
                        problem: "the file must be named SKILL.md".into(),
                    });
                }
                continue;
            };
            match parse(&file, &text, origin) {
                Ok(skill) if set.skills.iter().any(|s| s.name == skill.name) => {
                    set.problems.push(SkillProblem {
                        path: file,
                        problem: format!(
                            "the name `{}` is taken by a skill found earlier; this one is skipped",
                            skill.name
                        ),
                    });
                }
                Ok(skill) => set.skills.push(skill),
                Err(problem) => set.problems.push(SkillProblem {
                    path: file,
                    problem,
                }),
            }
        }
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_is_read_and_malformed_files_say_why() {
        let ok = parse(Path::new("s/SKILL.md"), "---\nname: pdf\ndescription: Fill PDF forms\nallowed-tools: Read, Bash(python:*)\nversion: 2\n---\n# Use\nDo it.\n", "project").unwrap();
        assert_eq!(
            (ok.name.as_str(), ok.description.as_str()),
            ("pdf", "Fill PDF forms")
        );
        assert_eq!(ok.allowed_tools, ["Read", "Bash(python:*)"]);
        assert_eq!(ok.extra["version"], 2);
        assert_eq!(ok.body, "# Use\nDo it.\n");
        for (text, says) in [
            ("# no front matter", "does not start"),
            ("---\nname: x\n", "no closing"),
            ("---\nname: [unclosed\n---\n", "not valid YAML"),
            ("---\n- a\n- b\n---\n", "mapping"),
            ("---\ndescription: d\n---\n", "no `name`"),
            ("---\nname: n\n---\n", "no `description`"),
            (
                "---\nname: n\ndescription: d\nallowed-tools: 3\n---\n",
                "allowed-tools",
            ),
        ] {
            let err = parse(Path::new("SKILL.md"), text, "project").unwrap_err();
            assert!(err.contains(says), "{text:?}: {err}");
        }
    }
}
