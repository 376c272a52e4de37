//! git: reading history is allowed, changing it locally is judged by what it touches, and
//! anything that rewrites or publishes history is escalated or refused.

use super::*;

impl Classifier<'_> {
    pub(super) fn git(&mut self, args: &[Word], inv: &Invocation, v: &mut Verdicts) {
        let mut i = 0;
        let mut cwd = inv.cwd.clone();
        while i < args.len() && args[i].value.starts_with('-') {
            match args[i].value.as_str() {
                "-C" => {
                    cwd = args
                        .get(i + 1)
                        .and_then(|w| self.path_of(w, cwd.as_deref()));
                    if let Some(dir) = &cwd
                        && self.scope.place(dir) == Place::Outside
                    {
                        v.escalate(format!(
                            "git works on {}, outside the project",
                            self.scope.show(dir)
                        ));
                    }
                    i += 1;
                }
                "-c" => {
                    v.escalate("git -c changes configuration for the call (aliases, pagers and hooks can run commands)");
                    i += 1;
                }
                a if a.starts_with("--git-dir")
                    || a.starts_with("--work-tree")
                    || a.starts_with("--exec-path=")
                    || a.starts_with("--config-env") =>
                {
                    v.escalate("git is pointed at another repository or program");
                    if !a.contains('=') {
                        i += 1;
                    }
                }
                "--namespace" | "--super-prefix" => i += 1,
                _ => {}
            }
            i += 1;
        }
        let Some(sub) = args.get(i) else {
            return v.allow("git prints its help");
        };
        let Some(sub) = sub.known() else {
            return v.escalate_hard("git runs a subcommand only known at run time");
        };
        let rest = &args[i + 1..];
        let has = |names: &[&str]| {
            rest.iter().any(|a| {
                names.contains(&a.value.as_str())
                    || names
                        .iter()
                        .any(|n| n.starts_with("--") && a.value.starts_with(&format!("{n}=")))
            })
        };
        let operands = || {
            Grammar {
                valued: &[
                    "-m", "-F", "-C", "-c", "-b", "-B", "-n", "-U", "--author", "--format",
                    "--pretty", "--since", "--until",
                ],
            }
            .operands(rest)
        };
        let read_only = [
            "status",
            "diff",
            "log",
            "show",
            "blame",
            "annotate",
            "shortlog",
            "describe",
            "rev-parse",
            "rev-list",
            "ls-files",
            "ls-tree",
            "cat-file",
            "grep",
            "whatchanged",
            "show-ref",
            "for-each-ref",
            "name-rev",
            "merge-base",
            "cherry",
            "range-diff",
            "diff-tree",
            "diff-files",
            "diff-index",
            "count-objects",
            "fsck",
            "verify-commit",
            "verify-tag",
            "version",
            "help",
            "check-ignore",
            "check-attr",
            "var",
            "--version",
            "--help",
            "show-branch",
            "describe",
            "log-tree",
            "difftool-check",
            "check-ref-format",
            "get-tar-commit-id",
            "hash-object",
            "ls-remote-local",
        ];
        for out in Grammar::option(rest, &["--output"]) {
            self.touch(inv, &out, Access::Write);
        }
        if matches!(sub, "show" | "cat-file" | "archive" | "grep" | "diff") {
            // `git show HEAD:.env` reads a file from history.
            for arg in rest.iter().filter(|a| !a.value.starts_with('-')) {
                if let Some((_, file)) = arg.value.split_once(':')
                    && paths::secret(Path::new(file)).is_some()
                {
                    let mut w = arg.clone();
                    w.value = file.to_owned();
                    self.touch(inv, &w, Access::Read);
                }
            }
        }
        match sub {
            _ if read_only.contains(&sub) => {
                v.allow(format!("git {sub} only reads"));
            }
            "reflog" if !has(&["expire", "delete"]) => v.allow("git reflog only reads"),
            "add" | "commit" | "mv" | "switch" | "init" | "notes" | "bisect" | "revert"
            | "apply" | "format-patch" | "archive" | "citool" | "stage" | "merge-file"
            | "sparse-checkout" | "request-pull" => {
                if sub == "commit" && has(&["--no-verify", "-n"]) {
                    v.escalate("git commit --no-verify skips the project's hooks");
                } else if sub == "switch" && has(&["--discard-changes", "-f", "--force"]) {
                    v.escalate("git switch --force discards uncommitted changes");
                } else {
                    v.allow(format!("git {sub} changes only the local repository"));
                }
                if sub == "mv" {
                    for op in operands() {
                        self.touch(inv, op, Access::Write);
                    }
                }
            }
            "branch" => {
                if has(&["-d", "-D", "--delete"]) {
                    v.escalate("git branch -d deletes a branch");
                } else if has(&["-f", "--force", "-M", "-C"]) {
                    v.escalate("git branch --force overwrites a branch");
                } else {
                    v.allow("git branch lists or creates branches");
                }
            }
            "tag" => {
                if has(&["-d", "--delete", "-f", "--force"]) {
                    v.escalate("git tag -d/-f deletes or moves a tag");
                } else {
                    v.allow("git tag lists or creates tags");
                }
            }
            "stash" => {
                if has(&["drop", "clear"]) {
                    v.escalate("git stash drop/clear discards stashed work");
                } else {
                    v.allow("git stash keeps work aside");
                }
            }
            "remote" => {
                if rest.is_empty()
                    || has(&["-v", "--verbose", "get-url", "show"])
                        && !has(&[
                            "add",
                            "remove",
                            "rm",
                            "rename",
                            "set-url",
                            "prune",
                            "set-head",
                            "set-branches",
                        ])
                {
                    v.allow("git remote lists remotes");
                } else {
                    v.escalate("git remote changes where the repository pushes and fetches");
                }
            }
            "config" => {
                let getting = has(&[
                    "--get",
                    "--get-all",
                    "--get-regexp",
                    "--list",
                    "-l",
                    "get",
                    "list",
                    "--show-origin",
                    "--name-only",
                ]);
                if getting
                    || operands().len() <= 1
                        && !has(&[
                            "--unset",
                            "--unset-all",
                            "--add",
                            "--replace-all",
                            "--edit",
                            "-e",
                            "unset",
                            "set",
                            "edit",
                            "--remove-section",
                            "--rename-section",
                        ])
                {
                    v.allow("git config only reads");
                } else {
                    v.escalate(
                        "git config changes configuration (aliases and hooks can run commands)",
                    );
                }
            }
            "checkout" => {
                if has(&[
                    "-f", "--force", "--", ".", "--ours", "--theirs", "-p", "--patch",
                ]) {
                    v.escalate("git checkout of paths discards uncommitted changes");
                } else if has(&["-b", "-B", "--orphan", "--detach"]) {
                    v.allow("git checkout creates and switches to a branch");
                } else if operands().iter().any(|o| {
                    self.path_of(o, cwd.as_deref())
                        .is_some_and(|p| p.exists() && p != self.scope.cwd)
                }) {
                    // A name that is a file or folder here is taken as a path by git.
                    v.escalate("git checkout of paths discards uncommitted changes");
                } else if operands().len() <= 1 {
                    v.allow("git checkout switches branches");
                } else {
                    v.escalate("git checkout of paths discards uncommitted changes");
                }
            }
            "restore" => {
                if has(&["--staged", "-S"]) && !has(&["--worktree", "-W"]) {
                    v.allow("git restore --staged only unstages");
                } else {
                    v.escalate("git restore discards uncommitted changes");
                }
            }
            "reset" => {
                if has(&["--hard", "--keep", "--merge"]) {
                    v.escalate("git reset --hard discards uncommitted work");
                } else {
                    v.allow("git reset moves only the index or branch");
                }
            }
            "clean" => {
                if has(&["-n", "--dry-run"]) {
                    v.allow("git clean -n only lists");
                } else {
                    v.escalate("git clean deletes untracked files");
                }
            }
            "rm" => {
                if has(&["--cached"]) {
                    v.allow("git rm --cached only untracks");
                } else {
                    v.escalate("git rm deletes files");
                    for op in operands() {
                        self.touch(inv, op, Access::Delete);
                    }
                }
            }
            "merge" | "rebase" | "cherry-pick" | "am" | "pull" => {
                if has(&["--abort", "--quit"]) {
                    v.allow(format!("git {sub} --abort returns to the previous state"));
                } else if sub == "pull" {
                    v.escalate("git pull reaches the network and merges");
                } else {
                    v.escalate(format!("git {sub} rewrites or merges branches (the orchestrator's merge queue does this)"));
                }
            }
            "push" => {
                let forced = rest.iter().any(|a| {
                    let x = a.value.as_str();
                    ["-f", "--force", "--mirror", "--delete", "-d", "--prune"].contains(&x)
                        || x.starts_with("--force")
                        || (x.starts_with('+') && x.len() > 1)
                        || (x.starts_with(':') && x.len() > 1)
                });
                if forced {
                    v.escalate("git push --force/--delete can destroy work on the remote");
                } else {
                    v.escalate("git push publishes to a remote");
                }
            }
            "fetch" | "clone" | "ls-remote" | "submodule" | "send-email" | "svn" | "p4"
            | "fetch-pack" | "remote-update" => {
                if sub == "submodule"
                    && (rest.is_empty() || has(&["status", "summary", "foreach-list"]))
                {
                    v.allow("git submodule status only reads");
                } else {
                    v.escalate(format!("git {sub} reaches the network"));
                    if sub == "clone" {
                        let ops = operands();
                        if let Some(dest) = ops.get(1) {
                            self.touch(inv, dest, Access::Write);
                        }
                    }
                }
            }
            "worktree" => {
                if has(&["list"]) {
                    v.allow("git worktree list only reads");
                } else {
                    v.escalate("git worktree changes worktrees, which the orchestrator manages");
                }
            }
            "gc" | "prune" | "repack" | "filter-branch" | "filter-repo" | "replace"
            | "update-ref" | "symbolic-ref" | "update-index" | "hook" | "maintenance"
            | "credential" | "daemon" | "instaweb" | "fast-import" => {
                v.escalate(format!(
                    "git {sub} rewrites the repository's history or internals"
                ));
            }
            _ => v.escalate(format!(
                "git {sub} is an alias or a subcommand the policy does not know"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::check;

    #[test]
    fn verdicts_and_reasons() {
        check(
            r#"
            allow: git status => only reads
            allow: git log --oneline -5 => only reads
            allow: git diff HEAD~1 => only reads
            allow: git add src/main.py => only the local repository
            allow: git commit -m wip => only the local repository
            escalate: git push => publishes to a remote
            escalate: git push --force origin main => can destroy work on the remote
            escalate: git reset --hard HEAD~3 => discards uncommitted work
            escalate: git clean -fdx => deletes untracked files
            escalate: git checkout -- src/main.py => discards uncommitted changes
            escalate: git config --global user.name x => changes configuration
            deny: git show HEAD:.env => reads .env
            "#,
        );
    }
}
