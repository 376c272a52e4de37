//! Where a path lies for the policy: inside the project or worktree (and then inside the task's
//! declared files or not), a secrets or key file, CI configuration, a sensitive place outside,
//! or a directory whose deletion is catastrophic.
//!
//! Paths are made absolute against the command's working directory and normalised lexically; the
//! nearest existing ancestor is then resolved on disk, so a symlink inside the project that points
//! outside is treated as outside.

use std::path::{Component, Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

use super::shell::normalize;

/// The longest file glob accepted anywhere (task files, `policy check --files`): a real one is a
/// few dozen characters, and compiling and matching a huge one grows with the square of its
/// length.
pub const MAX_GLOB_CHARS: usize = 1024;

/// Why a file glob is refused for its size, if it is.
pub fn glob_too_long(glob: &str) -> Option<String> {
    (glob.len() > MAX_GLOB_CHARS).then(|| {
        format!(
            "a file glob of {} characters is too long (at most {MAX_GLOB_CHARS})",
            glob.len()
        )
    })
}

/// What the policy knows about the run's files.
#[derive(Debug, Clone)]
pub struct Scope {
    /// The project root and the worktree (when the run has one), as given and as resolved.
    roots: Vec<PathBuf>,
    /// The directory commands start in: the worktree, else the project root.
    pub cwd: PathBuf,
    /// The home directory, when known.
    pub home: Option<PathBuf>,
    /// The task's declared files (globs relative to a root), or `None` when no task limits them.
    declared: Option<GlobSet>,
    /// The same, as written.
    declared_patterns: Vec<String>,
}

/// Where an absolute path lies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// Inside the project or worktree, with the path relative to that root (`""` is the root).
    Inside(String),
    /// Anywhere else.
    Outside,
}

impl Scope {
    /// A scope for a project root, an optional worktree and the task's declared files.
    pub fn new(
        project_root: &Path,
        worktree: Option<&Path>,
        declared: Option<&[String]>,
        home: Option<PathBuf>,
    ) -> Self {
        let mut roots = Vec::new();
        for root in std::iter::once(project_root).chain(worktree) {
            let lexical = normalize(root);
            if let Ok(real) = lexical.canonicalize()
                && real != lexical
            {
                roots.push(real);
            }
            roots.push(lexical);
        }
        let declared_patterns: Vec<String> = declared
            .unwrap_or_default()
            .iter()
            .map(|g| g.trim_start_matches("./").to_owned())
            .collect();
        let declared = declared.map(|globs| {
            let mut builder = GlobSetBuilder::new();
            // One too long to judge quickly grants nothing.
            for glob in globs.iter().filter(|g| glob_too_long(g).is_none()) {
                let glob = glob.trim_start_matches("./");
                for pattern in [
                    glob.to_owned(),
                    format!("{}/**", glob.trim_end_matches('/')),
                ] {
                    if let Ok(g) = Glob::new(&pattern) {
                        builder.add(g);
                    }
                }
            }
            builder.build().unwrap_or_else(|_| GlobSet::empty())
        });
        Self {
            cwd: normalize(worktree.unwrap_or(project_root)),
            roots,
            home,
            declared,
            declared_patterns,
        }
    }

    /// The absolute path a command argument names, from the command's working directory
    /// (`None` when that directory is unknown and the path is relative).
    pub fn resolve(&self, cwd: Option<&Path>, value: &str) -> Option<PathBuf> {
        let path = Path::new(value);
        if path.is_absolute() {
            return Some(normalize(path));
        }
        cwd.map(|cwd| normalize(&cwd.join(path)))
    }

    /// Where an absolute path lies, following symlinks of the part that exists.
    pub fn place(&self, path: &Path) -> Place {
        let lexical = self.inside(path);
        let real = resolve_existing(path);
        let resolved = self.inside(&real);
        match (lexical, resolved) {
            (Some(_), Some(rel)) => Place::Inside(rel),
            _ => Place::Outside,
        }
    }

    fn inside(&self, path: &Path) -> Option<String> {
        self.roots.iter().find_map(|root| {
            path.strip_prefix(root)
                .ok()
                .map(|rel| rel.to_string_lossy().into_owned())
        })
    }

    /// Whether a path relative to the root is one of the task's declared files.
    pub fn declared(&self, rel: &str) -> bool {
        self.declared.as_ref().is_none_or(|set| set.is_match(rel))
    }

    /// Whether a folder (relative to the root) lies on the way to some of the task's declared
    /// files: creating it is part of writing them (`a` for `a/**`, `src/new` for `src/new/x.rs`).
    pub fn holds_declared(&self, rel: &str) -> bool {
        let rel = rel.trim_end_matches('/');
        !rel.is_empty()
            && self
                .declared_patterns
                .iter()
                .any(|p| p.starts_with(&format!("{rel}/")))
    }

    /// Whether an existing file's content would be lost for good if it were overwritten: git
    /// does not track it (untracked, ignored, or no repository at all). Folders and files that
    /// do not exist yet lose nothing.
    pub fn unrestorable(&self, path: &Path) -> bool {
        if !path.is_file() {
            return false;
        }
        let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
            return true;
        };
        let tracked = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["ls-files", "--error-unmatch", "--"])
            .arg(name)
            .env("GIT_TERMINAL_PROMPT", "0")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        !tracked
    }

    /// Whether the task limits which files it may edit.
    pub fn has_declared_files(&self) -> bool {
        self.declared.is_some()
    }

    /// Whether deleting this path would destroy something far beyond a project's files: `/`,
    /// a top-level system directory, the home directory, or the project root or one of its
    /// ancestors.
    pub fn catastrophic(&self, path: &Path) -> bool {
        let depth = path
            .components()
            .filter(|c| matches!(c, Component::Normal(_)))
            .count();
        if depth <= 1 {
            return true;
        }
        if self
            .home
            .as_deref()
            .is_some_and(|home| home.starts_with(path))
        {
            return true;
        }
        self.roots.iter().any(|root| root.starts_with(path))
    }

    /// A short form of a path for reasons: relative inside the project, `~/…` in the home.
    pub fn show(&self, path: &Path) -> String {
        if let Some(rel) = self.inside(path) {
            return if rel.is_empty() { ".".into() } else { rel };
        }
        if let Some(home) = &self.home
            && let Ok(rel) = path.strip_prefix(home)
        {
            return format!("~/{}", rel.display());
        }
        path.display().to_string()
    }

    /// Whether a path outside the project lies in the home directory.
    pub fn in_home(&self, path: &Path) -> bool {
        self.home
            .as_deref()
            .is_some_and(|home| path.starts_with(home))
    }
}

/// Why reading a path reveals a secret: by its name, or by what it links to on disk.
pub fn secret_read(path: &Path) -> Option<&'static str> {
    secret(path).or_else(|| secret(&resolve_existing(path)))
}

/// Resolves symlinks in the longest existing prefix of `path` and appends the rest.
pub fn resolve_existing(path: &Path) -> PathBuf {
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            let mut out = real;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return out;
        }
        match (
            existing.file_name().map(ToOwned::to_owned),
            existing.parent(),
        ) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_path_buf();
            }
            _ => return path.to_path_buf(),
        }
    }
}

/// Why a path is a secret the agent may not read, if it is one: the orchestrator's secrets file,
/// dotenv files (not their `.example` templates), private keys and certificates, credential
/// stores.
pub fn secret(path: &Path) -> Option<&'static str> {
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    let templates = [".example", ".sample", ".template", ".dist", ".defaults"];
    if name == ".secrets.json" {
        return Some("the orchestrator's secrets file");
    }
    if (name == ".env" || name.starts_with(".env.")) && !templates.iter().any(|t| name.ends_with(t))
    {
        return Some("an environment file with secrets");
    }
    let key_names = [
        "id_rsa",
        "id_dsa",
        "id_ecdsa",
        "id_ed25519",
        "id_ecdsa_sk",
        "id_ed25519_sk",
    ];
    if key_names.contains(&name.as_str()) {
        return Some("a private SSH key");
    }
    let key_exts = [
        ".pem",
        ".key",
        ".p12",
        ".pfx",
        ".jks",
        ".keystore",
        ".asc",
        ".gpg",
        ".ppk",
    ];
    if key_exts.iter().any(|ext| name.ends_with(ext)) {
        return Some("a key or certificate file");
    }
    if [
        ".netrc",
        ".pgpass",
        ".git-credentials",
        ".npmrc",
        ".pypirc",
        "credentials.json",
        "secrets.json",
        ".htpasswd",
    ]
    .contains(&name.as_str())
    {
        return Some("a credentials file");
    }
    let text = path.to_string_lossy();
    let places = [
        ("/.ssh", "the SSH directory"),
        ("/.aws", "AWS credentials"),
        ("/.gnupg", "the GnuPG keyring"),
        ("/.config/gcloud", "Google Cloud credentials"),
        ("/.kube", "Kubernetes credentials"),
        ("/.docker/config.json", "Docker credentials"),
        ("/.config/gh", "GitHub CLI credentials"),
        ("/.password-store", "the password store"),
    ];
    // The directory itself (`cp -r ~/.ssh .`) or anything under it.
    if let Some((_, why)) = places
        .iter()
        .find(|(p, _)| text.ends_with(p) || text.contains(&format!("{p}/")))
    {
        return Some(why);
    }
    if ["/etc/shadow", "/etc/gshadow", "/etc/sudoers"]
        .iter()
        .any(|p| text.starts_with(p))
    {
        return Some("a system credentials file");
    }
    if text.starts_with("/proc/") && (text.ends_with("/environ") || text.ends_with("/mem")) {
        return Some("another process's environment or memory");
    }
    None
}

/// The first secret file a recursive search of `dir` would read, if any: like ripgrep
/// (`respect_ignores`: hidden files and what `.gitignore` ignores are skipped) or like `grep -r`
/// (everything). Dependency and build folders are not walked, and the walk is bounded.
pub fn secret_in_tree(
    dir: &Path,
    respect_ignores: bool,
    reads: impl Fn(&Path) -> bool,
) -> Option<PathBuf> {
    let mut walk = ignore::WalkBuilder::new(dir);
    walk.standard_filters(respect_ignores)
        .follow_links(false)
        .max_depth(Some(8))
        .filter_entry(|e| {
            !matches!(
                e.file_name().to_str(),
                Some(
                    "node_modules"
                        | "target"
                        | ".git"
                        | ".venv"
                        | "venv"
                        | "__pycache__"
                        | ".tox"
                        | "dist"
                        | "build"
                )
            )
        });
    walk.build()
        .take(20_000)
        .flatten()
        .filter(|e| e.file_type().is_some_and(|t| t.is_file()))
        .map(ignore::DirEntry::into_path)
        .find(|p| secret(p).is_some() && reads(p))
}

/// Whether a path relative to the root is CI configuration.
pub fn ci(rel: &str) -> bool {
    let rel = rel.trim_start_matches("./");
    [
        ".github/workflows/",
        ".gitlab-ci",
        ".circleci/",
        ".ci/",
        ".buildkite/",
        ".drone",
        "azure-pipelines",
        ".travis.yml",
        "Jenkinsfile",
        "bitbucket-pipelines.yml",
        ".woodpecker",
    ]
    .iter()
    .any(|p| rel.starts_with(p))
}

/// Whether writing to this absolute path is harmless anywhere (`/dev/null` and friends).
pub fn harmless_sink(path: &Path) -> bool {
    [
        "/dev/null",
        "/dev/stdout",
        "/dev/stderr",
        "/dev/tty",
        "/dev/fd/1",
        "/dev/fd/2",
    ]
    .iter()
    .any(|p| path == Path::new(p))
}

/// Secret files a glob relative to `dir` would match on disk (as deep as the glob has parts;
/// `**` looks three deep).
pub fn secrets_matching(dir: &Path, pattern: &str) -> Vec<PathBuf> {
    let Ok(glob) = Glob::new(pattern).map(|g| g.compile_matcher()) else {
        return Vec::new();
    };
    let dotfiles = pattern.starts_with('.') || pattern.contains("/.");
    let mut found = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), 0)];
    while let Some((at, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&at) else {
            continue;
        };
        for entry in entries.flatten().take(2000) {
            let path = entry.path();
            let Ok(rel) = path.strip_prefix(dir) else {
                continue;
            };
            let hidden = rel
                .components()
                .any(|c| c.as_os_str().to_string_lossy().starts_with('.'));
            if glob.is_match(rel) && (dotfiles || !hidden) && secret(&path).is_some() {
                found.push(path.clone());
            }
            let deep = if pattern.contains("**") {
                3
            } else {
                pattern.matches('/').count()
            };
            if depth < deep && entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push((path, depth + 1));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_recognised_and_templates_are_not() {
        for s in [
            ".secrets.json",
            "a/.env",
            ".env.local",
            "id_rsa",
            "srv.key",
            "/home/u/.ssh/config",
            "/home/u/.aws/credentials",
            "/etc/shadow",
            "/proc/1/environ",
        ] {
            assert!(secret(Path::new(s)).is_some(), "{s}");
        }
        for s in [
            ".env.example",
            "id_rsa.pub",
            "keys.rs",
            "env.py",
            "/etc/hosts",
            "README.md",
        ] {
            assert!(secret(Path::new(s)).is_none(), "{s}");
        }
    }

    #[test]
    fn places_follow_symlinks_out_of_the_project() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("p");
        std::fs::create_dir_all(root.join("src")).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("/etc", root.join("etc-link")).unwrap();
        let scope = Scope::new(
            &root,
            None,
            Some(&["src/**".into()]),
            Some(dir.path().into()),
        );
        assert_eq!(
            scope.place(&root.join("src/new/file.rs")),
            Place::Inside("src/new/file.rs".into())
        );
        assert_eq!(scope.place(&root.join("etc-link/passwd")), Place::Outside);
        assert_eq!(scope.place(Path::new("/etc/passwd")), Place::Outside);
        assert!(scope.declared("src/a.rs") && !scope.declared("README.md"));
        assert!(scope.catastrophic(Path::new("/")) && scope.catastrophic(Path::new("/usr")));
        assert!(scope.catastrophic(&root) && scope.catastrophic(dir.path()));
        assert!(!scope.catastrophic(&root.join("build")));
    }
}
