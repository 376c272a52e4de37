//! Git worktrees for runs, and the steps of the merge queue: each run works on its own branch
//! (`orchestrator/run-N`) in its own worktree; its work becomes one commit on the base it
//! started from; the queue rebases that commit onto the latest base and fast-forwards the base
//! branch to it. A conflict is left in the worktree for the agent to resolve.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::domain::RunId;
use crate::error::{Error, Result};

/// The result of a git command: success and its trimmed output (stdout, or stderr on failure).
fn git(dir: &Path, args: &[&str]) -> Result<(bool, String)> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_EDITOR", "true")
        .env("GIT_AUTHOR_NAME", "orchestrator")
        .env("GIT_AUTHOR_EMAIL", "orchestrator@localhost")
        .env("GIT_COMMITTER_NAME", "orchestrator")
        .env("GIT_COMMITTER_EMAIL", "orchestrator@localhost")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::Io {
            context: "running git".into(),
            source: e,
        })?;
    let text = if out.status.success() {
        &out.stdout
    } else {
        &out.stderr
    };
    Ok((
        out.status.success(),
        String::from_utf8_lossy(text).trim().to_owned(),
    ))
}

/// A git command that must succeed.
fn must(dir: &Path, args: &[&str]) -> Result<String> {
    match git(dir, args)? {
        (true, out) => Ok(out),
        (false, err) => Err(Error::Invalid(format!(
            "git {} failed in {}: {err}",
            args.join(" "),
            dir.display()
        ))),
    }
}

/// Whether `root` is the top of a git repository with at least one commit.
pub fn is_repo(root: &Path) -> bool {
    matches!(
        git(root, &["rev-parse", "--verify", "--quiet", "HEAD^{commit}"]),
        Ok((true, _))
    ) && matches!(git(root, &["rev-parse", "--show-toplevel"]), Ok((true, top)) if Path::new(&top).canonicalize().ok() == root.canonicalize().ok())
}

/// The branch checked out at `root`: the base runs start from and merge into.
pub fn current_branch(root: &Path) -> Result<String> {
    match git(root, &["symbolic-ref", "--quiet", "--short", "HEAD"])? {
        (true, branch) if !branch.is_empty() => Ok(branch),
        _ => Err(Error::Invalid(format!(
            "{} has no branch checked out (a detached HEAD): check out the branch the work should land on",
            root.display()
        ))),
    }
}

/// The commit a branch points at.
pub fn tip(root: &Path, branch: &str) -> Result<String> {
    must(
        root,
        &[
            "rev-parse",
            "--verify",
            &format!("refs/heads/{branch}^{{commit}}"),
        ],
    )
}

/// The branch of a run.
pub fn branch_of(run: RunId) -> String {
    format!("orchestrator/run-{run}")
}

/// The runs that still have a branch of their own (`orchestrator/run-N`).
pub fn run_branches(root: &Path) -> Vec<RunId> {
    let Ok((true, out)) = git(
        root,
        &[
            "branch",
            "--list",
            "--format=%(refname:short)",
            "orchestrator/run-*",
        ],
    ) else {
        return Vec::new();
    };
    out.lines()
        .filter_map(|b| b.trim().strip_prefix("orchestrator/run-")?.parse().ok())
        .map(RunId)
        .collect()
}

/// Creates (or finds, after a restart) the worktree of a run under `dir`, on its own branch from
/// `base`.
pub fn create(root: &Path, dir: &Path, run: RunId, base: &str) -> Result<PathBuf> {
    let path = dir.join(format!("run-{run}"));
    let branch = branch_of(run);
    if path.join(".git").exists() {
        return Ok(path);
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::Io {
        context: format!("creating {}", dir.display()),
        source: e,
    })?;
    // A branch left by an earlier, removed worktree is started again from the base.
    let _ = git(root, &["worktree", "prune"]);
    let _ = git(root, &["branch", "-D", &branch]);
    must(
        root,
        &[
            "worktree",
            "add",
            "--quiet",
            "-b",
            &branch,
            &path.to_string_lossy(),
            base,
        ],
    )?;
    Ok(path)
}

/// Removes a run's worktree and branch (what is not merged is lost: only for runs that ended).
pub fn remove(root: &Path, worktree: &Path, run: RunId) -> Result<()> {
    if worktree.exists() {
        must(
            root,
            &["worktree", "remove", "--force", &worktree.to_string_lossy()],
        )?;
    }
    let _ = git(root, &["worktree", "prune"]);
    let _ = git(root, &["branch", "-D", &branch_of(run)]);
    Ok(())
}

/// The commit checked out in `dir`.
pub fn head(dir: &Path) -> Result<String> {
    must(dir, &["rev-parse", "HEAD"])
}

/// Whether a rebase is stopped in the worktree (waiting for conflicts to be resolved).
pub fn rebasing(worktree: &Path) -> bool {
    let Ok((true, dir)) = git(worktree, &["rev-parse", "--git-dir"]) else {
        return false;
    };
    let dir = if Path::new(&dir).is_absolute() {
        PathBuf::from(dir)
    } else {
        worktree.join(dir)
    };
    dir.join("rebase-merge").exists() || dir.join("rebase-apply").exists()
}

/// Files still holding conflict markers (or unmerged in the index).
pub fn conflicted(worktree: &Path) -> Result<Vec<String>> {
    let out = must(worktree, &["diff", "--name-only", "--diff-filter=U"])?;
    Ok(out
        .lines()
        .map(str::to_owned)
        .filter(|l| !l.is_empty())
        .collect())
}

/// Makes the run's work one commit on `base`: finishes a rebase the agent resolved, then squashes
/// whatever the agent committed or left in the tree. Returns the commit (the base itself when
/// there is nothing to commit).
pub fn commit_work(worktree: &Path, base: &str, message: &str) -> Result<String> {
    if rebasing(worktree) {
        let markers = |file: &String| {
            std::fs::read_to_string(worktree.join(file)).is_ok_and(|text| {
                text.lines().any(|l| {
                    l.starts_with("<<<<<<< ") || l.starts_with(">>>>>>> ") || l == "======="
                })
            })
        };
        let left: Vec<String> = conflicted(worktree)?.into_iter().filter(markers).collect();
        if !left.is_empty() {
            return Err(Error::Invalid(format!(
                "conflicts are still unresolved in {}",
                left.join(", ")
            )));
        }
        must(worktree, &["add", "-A"])?;
        if let (false, err) = git(
            worktree,
            &["-c", "core.editor=true", "rebase", "--continue"],
        )? {
            // Nothing left to apply (the agent's resolution matched the base): skip it.
            if !matches!(git(worktree, &["rebase", "--skip"])?, (true, _)) {
                return Err(Error::Invalid(format!("the rebase cannot continue: {err}")));
            }
        }
    }
    must(worktree, &["reset", "--soft", base])?;
    must(worktree, &["add", "-A"])?;
    if git(worktree, &["diff", "--cached", "--quiet"])?.0 {
        return must(worktree, &["rev-parse", "HEAD"]);
    }
    must(
        worktree,
        &["commit", "--quiet", "--no-verify", "-m", message],
    )?;
    must(worktree, &["rev-parse", "HEAD"])
}

/// What rebasing a run's commit onto the latest base did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rebase {
    /// The base had not moved: the commit is already on it.
    UpToDate,
    /// Replayed onto the new base cleanly: the new commit and the new base.
    Moved {
        /// The rebased commit.
        commit: String,
        /// The base it now sits on.
        base: String,
    },
    /// Conflicts, left in the worktree (with markers) for the agent to resolve.
    Conflict {
        /// The conflicted files.
        files: Vec<String>,
        /// The base being rebased onto.
        base: String,
    },
}

/// Rebases the worktree's branch onto the tip of `branch`.
pub fn rebase(root: &Path, worktree: &Path, branch: &str, from_base: &str) -> Result<Rebase> {
    let base = tip(root, branch)?;
    if base == from_base {
        return Ok(Rebase::UpToDate);
    }
    match git(worktree, &["rebase", "--quiet", &base])? {
        (true, _) => Ok(Rebase::Moved {
            commit: must(worktree, &["rev-parse", "HEAD"])?,
            base,
        }),
        (false, err) => {
            let files = conflicted(worktree)?;
            if files.is_empty() {
                let _ = git(worktree, &["rebase", "--abort"]);
                return Err(Error::Invalid(format!(
                    "rebasing onto {branch} failed: {err}"
                )));
            }
            Ok(Rebase::Conflict { files, base })
        }
    }
}

/// Lands a commit on the base branch by fast-forward: in the checkout at `root` when it has the
/// branch checked out (its working tree updated; refused if local changes would be overwritten),
/// else by moving the branch.
pub fn land(root: &Path, branch: &str, commit: &str) -> Result<()> {
    if current_branch(root).ok().as_deref() == Some(branch) {
        return match git(root, &["merge", "--ff-only", "--quiet", commit])? {
            (true, _) => Ok(()),
            (false, err) => Err(Error::Invalid(format!(
                "the work cannot land on {branch} in {}: {err}",
                root.display()
            ))),
        };
    }
    let old = tip(root, branch)?;
    must(root, &["merge-base", "--is-ancestor", &old, commit]).map_err(|_| {
        Error::Invalid(format!(
            "{branch} moved while the work was merged; it will be rebased again"
        ))
    })?;
    must(
        root,
        &["update-ref", &format!("refs/heads/{branch}"), commit, &old],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("p");
        std::fs::create_dir(&root).unwrap();
        let root = root.canonicalize().unwrap();
        must(&root, &["init", "-q", "-b", "main"]).unwrap();
        std::fs::write(root.join("a.txt"), "one\ntwo\nthree\n").unwrap();
        must(&root, &["add", "-A"]).unwrap();
        must(&root, &["commit", "-qm", "start"]).unwrap();
        (dir, root)
    }

    #[test]
    fn two_runs_land_in_turn_and_a_conflict_waits_for_resolution() {
        let (dir, root) = repo();
        assert!(is_repo(&root));
        let base = tip(&root, "main").unwrap();
        let trees = dir.path().join("trees");
        let one = create(&root, &trees, RunId(1), &base).unwrap();
        let two = create(&root, &trees, RunId(2), &base).unwrap();
        assert_eq!(
            create(&root, &trees, RunId(1), &base).unwrap(),
            one,
            "found again after a restart"
        );

        std::fs::write(one.join("a.txt"), "ONE\ntwo\nthree\n").unwrap();
        std::fs::write(one.join("b.txt"), "new\n").unwrap();
        let c1 = commit_work(&one, &base, "T1").unwrap();
        assert_eq!(
            rebase(&root, &one, "main", &base).unwrap(),
            Rebase::UpToDate
        );
        land(&root, "main", &c1).unwrap();
        assert_eq!(
            std::fs::read_to_string(root.join("b.txt")).unwrap(),
            "new\n",
            "the checkout is updated"
        );

        // Run 2 changed the same line: its rebase stops with markers for the agent.
        std::fs::write(two.join("a.txt"), "uno\ntwo\nthree\n").unwrap();
        must(&two, &["commit", "-qam", "agent's own commit"]).unwrap();
        std::fs::write(two.join("c.txt"), "more\n").unwrap();
        commit_work(&two, &base, "T2").unwrap();
        assert_eq!(
            must(&two, &["rev-list", "--count", &format!("{base}..HEAD")]).unwrap(),
            "1",
            "squashed to one commit"
        );
        let Rebase::Conflict {
            files,
            base: new_base,
        } = rebase(&root, &two, "main", &base).unwrap()
        else {
            panic!("expected a conflict")
        };
        assert_eq!(
            (files, new_base.clone()),
            (vec!["a.txt".to_owned()], c1.clone())
        );
        assert!(rebasing(&two));
        assert!(
            commit_work(&two, &new_base, "T2")
                .unwrap_err()
                .to_string()
                .contains("a.txt"),
            "markers left: refused"
        );
        // The agent resolves; the rebase is finished when it stops.
        std::fs::write(two.join("a.txt"), "ONE uno\ntwo\nthree\n").unwrap();
        let c2 = commit_work(&two, &new_base, "T2").unwrap();
        assert!(!rebasing(&two));
        assert_eq!(
            rebase(&root, &two, "main", &new_base).unwrap(),
            Rebase::UpToDate
        );
        land(&root, "main", &c2).unwrap();
        assert_eq!(
            std::fs::read_to_string(root.join("a.txt")).unwrap(),
            "ONE uno\ntwo\nthree\n"
        );
        assert!(root.join("c.txt").exists());

        remove(&root, &one, RunId(1)).unwrap();
        remove(&root, &two, RunId(2)).unwrap();
        assert!(!one.exists() && !two.exists());
        assert!(
            !must(&root, &["branch", "--list", "orchestrator/*"])
                .unwrap()
                .contains("run-"),
            "branches removed"
        );
    }
}
