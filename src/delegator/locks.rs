//! File locks of tasks: which patterns a task locks and how, whether two locks conflict, and
//! which paths may be locked at all (inside the project: no `..` escape, no symlink out).

use std::path::{Component, Path};

use super::glob::overlap;
use crate::domain::{LockLease, LockMode, Task};
use crate::error::{Error, Result};
use crate::store::NewLease;

/// Whether two locks may not be held at once: they can name a common file and one of them writes.
pub fn conflicts(a: &str, a_mode: LockMode, b: &str, b_mode: LockMode) -> bool {
    (a_mode == LockMode::Exclusive || b_mode == LockMode::Exclusive) && overlap(a, b).is_some()
}

/// [`conflicts`] between a lease to take and one in force.
pub fn lease_conflicts(new: &NewLease, held: &LockLease) -> bool {
    conflicts(&new.pattern, new.mode, &held.pattern, held.mode)
}

fn has_glob(text: &str) -> bool {
    text.contains(['*', '?', '[', '{'])
}

/// A task's file entry as a lock pattern: relative to the project root, `/`-separated, with a
/// folder standing for everything in it (`src/auth` → `src/auth/**`). Refused: empty patterns,
/// absolute paths outside the project, `..` anywhere, and paths whose existing part leads out of
/// the project through a symlink.
pub fn normalise(root: &Path, pattern: &str) -> Result<String> {
    let trimmed = pattern.trim();
    if trimmed.is_empty() {
        return Err(Error::Invalid("an empty path cannot be locked".into()));
    }
    let canonical_root = root.canonicalize().map_err(|e| Error::Io {
        context: format!("reading the project root {}", root.display()),
        source: e,
    })?;
    let relative = if Path::new(trimmed).is_absolute() {
        let path = Path::new(trimmed);
        let inside = path
            .strip_prefix(root)
            .or_else(|_| path.strip_prefix(&canonical_root))
            .map_err(|_| {
                Error::Invalid(format!(
                    "`{pattern}` is outside the project ({})",
                    root.display()
                ))
            })?;
        inside.to_string_lossy().into_owned()
    } else {
        trimmed.trim_start_matches("./").to_owned()
    };
    let folder = relative.ends_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in relative.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                return Err(Error::Invalid(format!(
                    "`{pattern}` climbs out with `..`: lock paths must stay inside the project"
                )));
            }
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        return Ok("**".into());
    }
    // The part before any glob character exists on disk only as far as it exists; follow it.
    let literal: Vec<&str> = parts.iter().take_while(|p| !has_glob(p)).copied().collect();
    let mut on_disk = root.to_path_buf();
    for part in &literal {
        on_disk.push(part);
        match std::fs::symlink_metadata(&on_disk) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = on_disk.canonicalize().map_err(|_| {
                    Error::Invalid(format!(
                        "`{pattern}` goes through a broken symlink ({})",
                        on_disk.display()
                    ))
                })?;
                if !target.starts_with(&canonical_root) {
                    return Err(Error::Invalid(format!(
                        "`{pattern}` leads out of the project through the symlink {} → {}",
                        on_disk.display(),
                        target.display()
                    )));
                }
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    debug_assert!(
        Path::new(&parts.join("/"))
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
    );
    let joined = parts.join("/");
    let whole_literal = literal.len() == parts.len();
    if folder || (whole_literal && root.join(&joined).is_dir()) {
        return Ok(format!("{joined}/**"));
    }
    Ok(joined)
}

/// The locks a task takes: the files it writes (exclusive) and those it only reads (shared),
/// normalised; a file both read and written is locked once, exclusively.
pub fn task_locks(root: &Path, task: &Task) -> Result<Vec<(String, LockMode)>> {
    let mut out: Vec<(String, LockMode)> = Vec::new();
    for (files, mode) in [
        (&task.files, LockMode::Exclusive),
        (&task.reads, LockMode::Shared),
    ] {
        for file in files {
            let pattern = normalise(root, file)
                .map_err(|e| Error::Invalid(format!("task {}: {e}", task.key)))?;
            if !out.iter().any(|(p, _)| *p == pattern) {
                out.push((pattern, mode));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised_inside_the_project() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::create_dir_all(root.join("src/auth")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("etc-link")).unwrap();
        std::os::unix::fs::symlink(root.join("src"), root.join("src-link")).unwrap();
        assert_eq!(normalise(&root, "./src/auth").unwrap(), "src/auth/**");
        assert_eq!(normalise(&root, "src/auth/").unwrap(), "src/auth/**");
        assert_eq!(normalise(&root, "src/new.rs").unwrap(), "src/new.rs");
        assert_eq!(normalise(&root, "src//**/*.rs").unwrap(), "src/**/*.rs");
        assert_eq!(
            normalise(&root, &format!("{}/src/lib.rs", root.display())).unwrap(),
            "src/lib.rs"
        );
        assert_eq!(normalise(&root, "src-link/x.rs").unwrap(), "src-link/x.rs");
        for bad in [
            "../other/x.rs",
            "src/../../x",
            "/etc/passwd",
            "etc-link/passwd",
            "etc-link/**",
            "",
        ] {
            assert!(normalise(&root, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn readers_share_writers_exclude() {
        use LockMode::{Exclusive, Shared};
        assert!(!conflicts("src/**", Shared, "src/a.rs", Shared));
        assert!(conflicts("src/**", Shared, "src/a.rs", Exclusive));
        assert!(conflicts(
            "src/**/*.rs",
            Exclusive,
            "src/auth/mod.rs",
            Exclusive
        ));
        assert!(!conflicts("src/a/**", Exclusive, "src/b/**", Exclusive));
    }
}
