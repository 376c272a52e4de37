//! Checkpoints in git: the working tree's state committed on a ref of its own
//! (`refs/orchestrator/runs/N`) through a scratch index, so the branch, the index and the agent's
//! files are left exactly as they are.

use std::path::Path;

use crate::domain::RunId;

async fn git(dir: &Path, args: &[&str], index: Option<&Path>) -> Option<String> {
    git_raw(dir, args, index)
        .await
        .map(|out| out.trim().to_owned())
}

/// git's output as it printed it (porcelain formats start with a meaningful space).
async fn git_raw(dir: &Path, args: &[&str], index: Option<&Path>) -> Option<String> {
    let mut cmd = tokio::process::Command::new("git");
    cmd.arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0");
    for (k, v) in [
        ("GIT_AUTHOR_NAME", "orchestrator"),
        ("GIT_AUTHOR_EMAIL", "orchestrator@localhost"),
        ("GIT_COMMITTER_NAME", "orchestrator"),
        ("GIT_COMMITTER_EMAIL", "orchestrator@localhost"),
    ] {
        cmd.env(k, v);
    }
    if let Some(index) = index {
        cmd.env("GIT_INDEX_FILE", index);
    }
    let out = cmd.stdin(std::process::Stdio::null()).output().await.ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The commit checked out in `dir`, if it is a git repository with one.
pub async fn head(dir: &Path) -> Option<String> {
    git(
        dir,
        &["rev-parse", "--verify", "--quiet", "HEAD^{commit}"],
        None,
    )
    .await
    .filter(|s| !s.is_empty())
}

/// Commits the tree's current state (tracked and untracked, ignored files left out) on the
/// run's checkpoint ref; returns the commit, or `None` outside git.
pub async fn commit_state(dir: &Path, run: RunId, reason: &str) -> Option<String> {
    let parent = head(dir).await?;
    let scratch = tempfile::NamedTempFile::new().ok()?;
    let index = scratch.path().to_path_buf();
    git(dir, &["read-tree", &parent], Some(&index)).await?;
    git(dir, &["add", "-A", "--", "."], Some(&index)).await?;
    let tree = git(dir, &["write-tree"], Some(&index)).await?;
    let reference = format!("refs/orchestrator/runs/{run}");
    let previous = git(dir, &["rev-parse", "--verify", "--quiet", &reference], None).await;
    let mut args = vec!["commit-tree", tree.as_str(), "-p", parent.as_str()];
    if let Some(previous) = previous
        .as_deref()
        .filter(|p| !p.is_empty() && *p != parent)
    {
        args.extend(["-p", previous]);
    }
    let message = format!("orchestrator checkpoint: run {run}, {reason}");
    args.extend(["-m", message.as_str()]);
    let commit = git(dir, &args, Some(&index)).await?;
    git(dir, &["update-ref", &reference, &commit], None).await?;
    Some(commit)
}

/// Files changed in the tree against its commit (tracked changes and untracked files).
pub async fn changed_files(dir: &Path) -> Vec<String> {
    let Some(out) = git_raw(
        dir,
        &["status", "--porcelain", "--untracked-files=all", "-z"],
        None,
    )
    .await
    else {
        return Vec::new();
    };
    // Entries are `XY path`; a rename's or copy's old path follows as an entry of its own.
    let mut files = Vec::new();
    let mut entries = out.split('\0').filter(|e| !e.is_empty());
    while let Some(entry) = entries.next() {
        let (Some(status), Some(path)) = (entry.get(..2), entry.get(3..)) else {
            continue;
        };
        files.push(path.to_owned());
        if status.contains(['R', 'C']) {
            entries.next();
        }
    }
    files
}

/// Whether the tree holds no work since `base`: the same commit checked out, nothing changed.
pub async fn unchanged_since(dir: &Path, base: &str) -> bool {
    head(dir).await.as_deref() == Some(base) && changed_files(dir).await.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn changed_files_are_named_whole_whatever_their_first_character() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let run = |args: &[&str]| {
            let out = std::process::Command::new("git")
                .arg("-C")
                .arg(root)
                .args(args)
                .output()
                .unwrap();
            assert!(out.status.success(), "{args:?}: {out:?}");
        };
        run(&["init", "-q"]);
        std::fs::write(root.join("app.py"), "a\n").unwrap();
        std::fs::write(root.join("old.txt"), "o\n").unwrap();
        run(&["add", "-A"]);
        run(&[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qm",
            "base",
        ]);
        let base = head(root).await.unwrap();
        assert!(unchanged_since(root, &base).await);
        std::fs::write(root.join("app.py"), "b\n").unwrap();
        std::fs::write(root.join("été.txt"), "x\n").unwrap();
        run(&["mv", "old.txt", "new.txt"]);
        let mut files = changed_files(root).await;
        files.sort();
        assert_eq!(files, ["app.py", "new.txt", "été.txt"]);
        assert!(!unchanged_since(root, &base).await);
    }
}
