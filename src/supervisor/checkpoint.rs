//! Checkpoints in git: the working tree's state committed on a ref of its own
//! (`refs/orchestrator/runs/N`) through a scratch index, so the branch, the index and the agent's
//! files are left exactly as they are.

use std::path::Path;

use crate::domain::RunId;

async fn git(dir: &Path, args: &[&str], index: Option<&Path>) -> Option<String> {
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
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
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
    git(
        dir,
        &["status", "--porcelain", "--untracked-files=all", "-z"],
        None,
    )
    .await
    .map(|out| {
        out.split('\0')
            .filter(|e| e.len() > 3)
            .map(|e| e[3..].to_owned())
            .collect()
    })
    .unwrap_or_default()
}
