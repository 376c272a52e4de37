//! Programs that read, search, copy, write, archive and delete files: each file argument is
//! placed (task files, project, outside, secret) and judged as read, written or deleted.

use super::*;

/// Programs that only read, print or compute.
pub(super) const READERS: &[&str] = &[
    "cat",
    "head",
    "tail",
    "less",
    "more",
    "wc",
    "cut",
    "nl",
    "tac",
    "rev",
    "fold",
    "fmt",
    "column",
    "paste",
    "join",
    "comm",
    "diff",
    "cmp",
    "colordiff",
    "file",
    "stat",
    "du",
    "ls",
    "ll",
    "dir",
    "tree",
    "realpath",
    "readlink",
    "md5sum",
    "sha1sum",
    "sha224sum",
    "sha256sum",
    "sha384sum",
    "sha512sum",
    "b2sum",
    "cksum",
    "sum",
    "xxd",
    "hexdump",
    "od",
    "strings",
    "base64",
    "base32",
    "jq",
    "yq",
    "bat",
    "batcat",
    "zcat",
    "zless",
    "bzcat",
    "xzcat",
    "lsattr",
    "expand",
    "unexpand",
    "iconv",
    "look",
    "tsort",
    "numfmt",
    "pr",
    "ptx",
    "split",
    "csplit",
    "shuf",
    "tokei",
    "cloc",
    "sloccount",
    "zipinfo",
    "identify",
    "sort",
    "uniq",
    "json_pp",
    "xmllint",
    "fd",
    "fdfind",
    "locate",
    "plocate",
];

/// Programs that search: their first operand is a pattern, not a file.
pub(super) const SEARCHERS: &[&str] = &[
    "grep", "egrep", "fgrep", "rg", "ag", "ack", "zgrep", "git-grep",
];

impl Classifier<'_> {
    pub(super) fn reader(
        &mut self,
        name: &str,
        args: &[Word],
        inv: &Invocation,
        v: &mut Verdicts,
        from_input: bool,
    ) {
        let valued: &[&str] = match name {
            "head" | "tail" => &["-n", "-c", "--lines", "--bytes", "-s", "--pid"],
            "cut" => &["-d", "-f", "-c", "-b", "--delimiter", "--fields"],
            "sort" => &[
                "-k",
                "-t",
                "-o",
                "-S",
                "-T",
                "--key",
                "--output",
                "--field-separator",
            ],
            "jq" | "yq" => &["-f", "--from-file", "--indent", "--tab"],
            "du" | "tree" | "ls" => &[
                "-d",
                "-L",
                "-I",
                "-P",
                "--max-depth",
                "--ignore",
                "-w",
                "--block-size",
                "-T",
            ],
            "diff" | "colordiff" => &["-U", "-C", "-x", "-X", "-I", "--label", "-F"],
            "split" | "csplit" => &["-l", "-b", "-n", "-a", "-C", "-d"],
            "xxd" | "od" | "hexdump" => &["-l", "-s", "-c", "-n", "-j", "-N", "-t", "-A", "-g"],
            "column" | "paste" | "join" | "pr" | "nl" | "fold" | "fmt" => {
                &["-s", "-t", "-d", "-w", "-c", "-n", "-1", "-2", "-o"]
            }
            "iconv" => &["-f", "-t", "-o"],
            _ => &[],
        };
        let mut ops = Grammar { valued }.operands(args);
        if matches!(name, "fd" | "fdfind" | "locate" | "plocate") && !ops.is_empty() {
            ops.remove(0); // the pattern
        }
        if matches!(name, "jq" | "yq") && !has_flag(args, 'f', &["--from-file"]) && !ops.is_empty()
        {
            ops.remove(0); // the filter
        }
        // `--arg NAME VALUE` takes two words; their values are not files.
        if matches!(name, "jq") {
            let skip: Vec<&str> = args
                .windows(3)
                .filter(|w| {
                    ["--arg", "--argjson", "--slurpfile", "--rawfile"]
                        .contains(&w[0].value.as_str())
                })
                .flat_map(|w| [w[1].value.as_str(), w[2].value.as_str()])
                .collect();
            ops.retain(|o| !skip.contains(&o.value.as_str()));
        }
        match name {
            "sort" | "iconv" => {
                for out in Grammar::option(args, &["-o", "--output"]) {
                    self.touch(inv, &out, Access::Write);
                }
            }
            "uniq" if ops.len() >= 2 => {
                let out = ops.pop().cloned();
                if let Some(out) = out {
                    self.touch(inv, &out, Access::Write);
                }
            }
            "split" | "csplit" => {
                v.allow(format!("{name} writes pieces next to its input"));
            }
            _ => {}
        }
        if from_input && !matches!(name, "ls" | "stat" | "file" | "du" | "wc") {
            v.allow(format!("{name} reads files named by its input"));
        }
        v.allow(format!("{name} only reads"));
        let lists_names_only = matches!(
            name,
            "ls" | "ll"
                | "dir"
                | "tree"
                | "du"
                | "stat"
                | "file"
                | "realpath"
                | "readlink"
                | "lsattr"
                | "fd"
                | "fdfind"
                | "locate"
                | "plocate"
        );
        for op in ops {
            if lists_names_only {
                let path = self.path_of(op, inv.cwd.as_deref());
                if path.as_deref().is_some_and(|p| {
                    self.scope.place(p) == Place::Outside && paths::secret(p).is_some()
                }) {
                    self.touch(inv, op, Access::Read);
                }
                continue;
            }
            self.touch(inv, op, Access::Read);
        }
    }

    /// grep, rg and friends: the pattern is not a file; every file named is read; a folder
    /// searched recursively is read as the tool would walk it (ripgrep's skipping hidden and
    /// ignored files included), and a secret inside it is asked about.
    pub(super) fn search(&mut self, name: &str, args: &[Word], inv: &Invocation, v: &mut Verdicts) {
        let valued: &[&str] = &[
            "-e",
            "-f",
            "-m",
            "-A",
            "-B",
            "-C",
            "-d",
            "-D",
            "-g",
            "-t",
            "-T",
            "-j",
            "-M",
            "--type",
            "--glob",
            "--max-count",
            "--regexp",
            "--file",
            "--include",
            "--exclude",
            "--exclude-dir",
            "--iglob",
        ];
        let explicit = has_flag(args, 'e', &["--regexp"]) || has_flag(args, 'f', &["--file"]);
        let ops = Grammar { valued }.operands(args);
        let files: Vec<&Word> = if explicit {
            ops
        } else {
            ops.get(1..).unwrap_or_default().to_vec()
        };
        for pattern_file in Grammar::option(args, &["-f", "--file"]) {
            self.touch(inv, &pattern_file, Access::Read);
        }
        v.allow(format!("{name} searches files"));
        let ripgrep_like = matches!(name, "rg" | "ag" | "ack");
        let recursive = ripgrep_like
            || has_flag(args, 'r', &["--recursive"])
            || has_flag(args, 'R', &["--dereference-recursive"])
            || args
                .windows(2)
                .any(|w| w[0].value == "-d" && w[1].value == "recurse");
        let everything = args.iter().any(|a| {
            [
                "--hidden",
                "--no-ignore",
                "-u",
                "-uu",
                "-uuu",
                "--unrestricted",
                "-.",
                "--all-types",
            ]
            .contains(&a.value.as_str())
        });
        let globs = Grammar::option(args, &["--include", "-g", "--glob", "--iglob"]);
        let filter = SearchFilter {
            include: globs
                .iter()
                .filter(|g| !g.value.starts_with('!'))
                .map(|g| g.value.clone())
                .collect(),
            exclude: globs
                .iter()
                .filter_map(|g| g.value.strip_prefix('!').map(str::to_owned))
                .chain(
                    Grammar::option(args, &["--exclude"])
                        .into_iter()
                        .map(|g| g.value),
                )
                .collect(),
            typed: has_flag(args, 't', &["--type"]),
        };
        // `--include` for grep is an include; `--exclude` values were taken above.
        let default_root = Word::literal(".");
        let roots: Vec<&Word> = if files.is_empty() && recursive {
            vec![&default_root]
        } else {
            files
        };
        for f in roots {
            self.touch(inv, f, Access::Read);
            if !recursive || filter.typed {
                continue;
            }
            let Some(dir) = self.path_of(f, inv.cwd.as_deref()).filter(|p| p.is_dir()) else {
                continue;
            };
            if let Some(secret) =
                paths::secret_in_tree(&dir, ripgrep_like && !everything, |file| filter.reads(file))
            {
                let shown = self.scope.show(&secret);
                let mut subject = self.access_subject(
                    &inv.text(),
                    Some(&secret),
                    Access::Read,
                    Some(&inv.text()),
                    false,
                );
                subject.severity = Severity::Escalate;
                subject.firmness = Firmness::Soft;
                subject.reason = format!(
                    "searches {}, which holds the secret {shown}: search a narrower folder or exclude it",
                    self.scope.show(&dir)
                );
                self.subjects.push(subject);
            }
        }
    }

    pub(super) fn find(&mut self, args: &[Word], inv: &Invocation, v: &mut Verdicts, depth: usize) {
        let mut roots = Vec::new();
        let mut i = 0;
        while i < args.len()
            && !args[i].value.starts_with('-')
            && args[i].value != "("
            && args[i].value != "!"
        {
            roots.push(args[i].clone());
            i += 1;
        }
        if roots.is_empty() {
            roots.push(Word::literal("."));
        }
        v.allow("find lists files");
        while i < args.len() {
            let value = args[i].value.as_str();
            match value {
                "-exec" | "-execdir" | "-ok" | "-okdir" => {
                    let end = args[i + 1..]
                        .iter()
                        .position(|w| w.value == ";" || w.value == "+")
                        .map_or(args.len(), |p| p + i + 1);
                    let command = &args[i + 1..end];
                    if command.is_empty() {
                        v.escalate_hard("find -exec without a command");
                    }
                    // `{}` stands for every file found under each starting point.
                    for root in roots.iter().take(4) {
                        let inner: Vec<Word> = command
                            .iter()
                            .map(|w| {
                                if w.value.contains("{}") {
                                    let mut found = w.clone();
                                    found.value = w.value.replace(
                                        "{}",
                                        &format!("{}/*", root.value.trim_end_matches('/')),
                                    );
                                    found.glob = true;
                                    found.dynamic |= root.dynamic;
                                    found
                                } else {
                                    w.clone()
                                }
                            })
                            .collect();
                        self.inner(&inner, inv, v, depth, false);
                    }
                    i = end;
                }
                "-delete" => {
                    for root in &roots {
                        let mut found = root.clone();
                        found.value = format!("{}/*", root.value.trim_end_matches('/'));
                        found.glob = true;
                        self.touch(inv, &found, Access::Delete);
                    }
                    v.escalate("find -delete deletes files");
                }
                "-fprint" | "-fprint0" | "-fprintf" | "-fls" => {
                    if let Some(file) = args.get(i + 1) {
                        self.touch(inv, file, Access::Write);
                    }
                    i += 1;
                }
                _ => {}
            }
            i += 1;
        }
    }

    pub(super) fn copy(
        &mut self,
        name: &str,
        args: &[Word],
        inv: &Invocation,
        v: &mut Verdicts,
        from_input: bool,
    ) {
        let valued: &[&str] = &[
            "-t",
            "-S",
            "--suffix",
            "--target-directory",
            "-m",
            "--mode",
            "-o",
            "-g",
            "--owner",
            "--group",
            "-e",
            "--exclude",
            "--include",
            "--filter",
            "-f",
        ];
        let target = Grammar::option(args, &["-t", "--target-directory"]);
        let ops = Grammar { valued }.operands(args);
        if name == "rsync"
            && ops
                .iter()
                .any(|o| o.value.contains(':') || o.value.starts_with("rsync://"))
        {
            v.escalate("rsync copies to or from another machine");
        }
        if name == "rsync"
            && args
                .iter()
                .any(|a| a.value.starts_with("--delete") || a.value == "--remove-source-files")
        {
            v.escalate("rsync deletes files");
        }
        if from_input {
            v.escalate(format!("{name} changes files named by its input"));
        }
        let (sources, dest): (Vec<&Word>, Option<Word>) = if let Some(t) = target.first() {
            (ops, Some(t.clone()))
        } else if ops.len() >= 2 {
            (
                ops[..ops.len() - 1].to_vec(),
                ops.last().map(|w| (*w).clone()),
            )
        } else {
            (ops, None)
        };
        let source_access = if name == "mv" {
            Access::Write
        } else {
            Access::Read
        };
        v.allow(format!("{name} copies or moves files"));
        for s in sources {
            // A link to a secret reads it as soon as anyone follows the link.
            self.touch(inv, s, source_access);
        }
        if let Some(dest) = dest {
            self.touch(inv, &dest, Access::Overwrite);
        }
    }

    #[allow(clippy::too_many_lines)]
    pub(super) fn writer(
        &mut self,
        name: &str,
        args: &[Word],
        inv: &Invocation,
        v: &mut Verdicts,
        from_input: bool,
    ) {
        if from_input {
            v.escalate(format!("{name} changes files named by its input"));
        }
        match name {
            "chmod" | "chown" | "chgrp" | "setfacl" | "chattr" => {
                let valued = ["--reference", "-m", "-x", "-M", "-X"];
                let ops = Grammar { valued: &valued }.operands(args);
                let files = if args.iter().any(|a| a.value.starts_with("--reference"))
                    || name == "setfacl"
                {
                    ops
                } else {
                    ops.get(1..).unwrap_or_default().to_vec()
                };
                if name != "chmod" {
                    v.escalate(format!("{name} changes ownership or attributes"));
                } else {
                    v.allow("chmod changes permissions");
                }
                for f in files {
                    let path = self.path_of(f, inv.cwd.as_deref());
                    if path.as_deref().is_some_and(|p| self.scope.catastrophic(p)) {
                        v.deny(format!(
                            "{name} on {} changes the whole system or home directory",
                            f.source
                        ));
                    }
                    self.touch(inv, f, Access::Write);
                }
            }
            "dd" => {
                v.allow("dd copies data");
                for arg in args {
                    if let Some(file) = arg.value.strip_prefix("of=") {
                        let mut w = arg.clone();
                        w.value = file.to_owned();
                        self.touch(inv, &w, Access::Overwrite);
                    } else if let Some(file) = arg.value.strip_prefix("if=") {
                        let mut w = arg.clone();
                        w.value = file.to_owned();
                        self.touch(inv, &w, Access::Read);
                    }
                }
            }
            "patch" => v.escalate("patch changes the files named inside the patch"),
            "sed" => {
                let in_place = args.iter().take_while(|a| a.value != "--").any(|a| {
                    a.value.starts_with("--in-place")
                        || a.value.starts_with("-i")
                        || (a.value.starts_with('-')
                            && !a.value.starts_with("--")
                            && a.value.contains('i')
                            && a.value.len() <= 4)
                });
                let explicit =
                    has_flag(args, 'e', &["--expression"]) || has_flag(args, 'f', &["--file"]);
                let ops = Grammar {
                    valued: &["-e", "-f", "--expression", "--file", "-l"],
                }
                .operands(args);
                let (script, files) = if explicit {
                    (None, ops)
                } else {
                    (
                        ops.first().copied(),
                        ops.get(1..).unwrap_or_default().to_vec(),
                    )
                };
                let scripts: Vec<Word> = script
                    .cloned()
                    .into_iter()
                    .chain(Grammar::option(args, &["-e", "--expression"]))
                    .collect();
                if scripts
                    .iter()
                    .any(|s| s.dynamic || sed_can_escape(&s.value))
                {
                    v.escalate("the sed script can run commands or write other files");
                }
                v.allow(if in_place {
                    "sed edits files in place"
                } else {
                    "sed reads and prints"
                });
                for f in files {
                    self.touch(
                        inv,
                        f,
                        if in_place {
                            Access::Write
                        } else {
                            Access::Read
                        },
                    );
                }
            }
            "perl" => {
                let code = Grammar::option(args, &["-e", "-E"]);
                if code.is_empty() {
                    if Grammar::NONE.operands(args).is_empty() {
                        return self.stdin_program(name, inv, v, 0, false);
                    }
                    return v.escalate("perl runs a program the policy does not read");
                }
                for c in &code {
                    match c.known() {
                        Some(text) => self.inline_code("perl", text, v),
                        None => v.escalate_hard("perl runs code only known at run time"),
                    }
                }
                if args
                    .iter()
                    .any(|a| a.value.starts_with("-i") || a.value.starts_with("-pi"))
                {
                    v.escalate("perl -i edits files in place");
                }
            }
            "awk" | "gawk" | "mawk" | "nawk" => {
                let explicit = has_flag(args, 'f', &["--file"]);
                let ops = Grammar {
                    valued: &["-f", "-v", "-F", "--file", "--assign", "--field-separator"],
                }
                .operands(args);
                let (program, files) = if explicit {
                    (None, ops)
                } else {
                    (
                        ops.first().copied(),
                        ops.get(1..).unwrap_or_default().to_vec(),
                    )
                };
                if explicit {
                    v.escalate("awk runs a program file the policy does not read");
                }
                if let Some(program) = program {
                    let text = program.value.as_str();
                    if program.dynamic
                        || [
                            "system", "getline", "|", "> \"", ">\"", ">> \"", "print >",
                            "printf >", "fflush",
                        ]
                        .iter()
                        .any(|p| text.contains(p))
                    {
                        v.escalate("the awk program can run commands or write files");
                    }
                }
                if args.iter().any(|a| a.value == "inplace" || a.value == "-i") {
                    v.escalate("awk -i inplace edits files");
                }
                v.allow("awk reads and prints");
                for f in files {
                    if !f.value.contains('=') {
                        self.touch(inv, f, Access::Read);
                    }
                }
            }
            "tar" => self.tar(args, inv, v),
            "unzip" | "zip" | "gzip" | "gunzip" | "bzip2" | "bunzip2" | "xz" | "unxz" | "7z" => {
                v.allow(format!("{name} packs or unpacks files"));
                let listing = match name {
                    "unzip" => has_flag(args, 'l', &[]) || has_flag(args, 'Z', &[]),
                    _ => {
                        has_flag(args, 'l', &["--list"])
                            || has_flag(args, 't', &["--test"])
                            || has_flag(args, 'c', &["--stdout"])
                    }
                };
                let dirs = Grammar::option(args, &["-d"]);
                for dir in &dirs {
                    self.touch(inv, dir, Access::Write);
                }
                let ops = Grammar {
                    valued: &["-d", "-x", "-P"],
                }
                .operands(args);
                for (i, f) in ops.iter().enumerate() {
                    // The archive is read; what is packed or unpacked is written.
                    let access =
                        if listing || (name == "unzip" && i == 0) || (name == "zip" && i > 0) {
                            Access::Read
                        } else {
                            Access::Write
                        };
                    self.touch(inv, f, access);
                }
            }
            _ => {
                // touch, mkdir, tee, truncate, mkfifo, mknod: every operand is written.
                let valued = [
                    "-m",
                    "--mode",
                    "-s",
                    "--size",
                    "-r",
                    "--reference",
                    "-d",
                    "-t",
                ];
                v.allow(format!("{name} creates or writes files"));
                let replaces = name == "truncate"
                    || (name == "tee"
                        && !args
                            .iter()
                            .any(|a| a.value == "-a" || a.value == "--append"));
                for f in (Grammar { valued: &valued }).operands(args) {
                    if name == "mkdir" {
                        self.make_dir(inv, f);
                    } else {
                        let access = if replaces {
                            Access::Overwrite
                        } else {
                            Access::Write
                        };
                        self.touch(inv, f, access);
                    }
                }
            }
        }
    }

    /// `tar`: old-style (`czf out.tgz dir`) or dashed flags; the archive is written when
    /// creating, the files unpacked are written (into `-C DIR` or here) when extracting.
    pub(super) fn tar(&mut self, args: &[Word], inv: &Invocation, v: &mut Verdicts) {
        v.allow("tar packs or unpacks files");
        let mut flags = String::new();
        let mut archive: Option<Word> = None;
        let mut dir: Option<Word> = None;
        let mut operands = Vec::new();
        let mut pending_archive = 0;
        let mut iter = args.iter().enumerate().peekable();
        while let Some((i, arg)) = iter.next() {
            let value = arg.value.as_str();
            if let Some(long) = value.strip_prefix("--") {
                match long.split_once('=') {
                    Some(("file", f)) => archive = Some(Word::literal(f)),
                    Some(("directory", d)) => dir = Some(Word::literal(d)),
                    _ if long == "file" => archive = iter.next().map(|(_, w)| w.clone()),
                    _ if long == "directory" => dir = iter.next().map(|(_, w)| w.clone()),
                    _ => flags.push_str(match long {
                        "create" => "c",
                        "extract" | "get" => "x",
                        "list" => "t",
                        "append" => "r",
                        _ => "",
                    }),
                }
            } else if value.starts_with('-') || i == 0 && !arg.dynamic {
                let bundle = value.trim_start_matches('-');
                if value == "-C" {
                    dir = iter.next().map(|(_, w)| w.clone());
                    continue;
                }
                flags.push_str(bundle);
                pending_archive += bundle.matches('f').count();
            } else if pending_archive > 0 {
                pending_archive -= 1;
                archive = Some(arg.clone());
            } else {
                operands.push(arg.clone());
            }
        }
        let creating = flags.contains(['c', 'r', 'u']);
        let extracting = flags.contains('x');
        if let Some(archive) = &archive
            && archive.value != "-"
        {
            self.touch(
                inv,
                archive,
                if creating {
                    Access::Write
                } else {
                    Access::Read
                },
            );
        }
        if creating {
            for op in &operands {
                self.touch(inv, op, Access::Read);
            }
        } else if extracting {
            let target = dir.unwrap_or_else(|| Word::literal("."));
            let mut contents = target.clone();
            contents.value = format!("{}/*", target.value.trim_end_matches('/'));
            contents.glob = true;
            self.touch(inv, &contents, Access::Write);
        }
    }

    /// Deletes files: escalated, and each operand placed as a deletion.
    pub(super) fn delete(
        &mut self,
        name: &str,
        args: &[Word],
        inv: &Invocation,
        v: &mut Verdicts,
        from_input: bool,
    ) {
        let ops = Grammar::NONE.operands(args);
        if from_input {
            v.escalate(format!("{name} deletes files named by its input"));
        }
        if ops.is_empty() {
            v.allow(format!("{name} without operands deletes nothing"));
        }
        for op in ops {
            self.touch(inv, op, Access::Delete);
        }
        v.escalate(format!("{name} deletes files"));
    }
}

/// The file filters of a search (`--include`, `-g`, `--exclude`, `-t`).
struct SearchFilter {
    include: Vec<String>,
    exclude: Vec<String>,
    typed: bool,
}

impl SearchFilter {
    /// Whether the search reads this file.
    fn reads(&self, file: &Path) -> bool {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let matches = |glob: &String| {
            globset::Glob::new(glob.trim_start_matches("**/"))
                .map(|g| g.compile_matcher().is_match(&name))
                .unwrap_or(true)
        };
        (self.include.is_empty() || self.include.iter().any(matches))
            && !self.exclude.iter().any(matches)
    }
}

/// Whether a sed script uses the commands that execute (`e`) or write files (`w`, `W`).
pub(super) fn sed_can_escape(script: &str) -> bool {
    script.split(';').any(|part| {
        let part = part.trim();
        let trimmed = part.trim_start_matches(|c: char| {
            c.is_ascii_digit() || c == ',' || c == '$' || c == '/' || c == '!'
        });
        trimmed.starts_with('e')
            || trimmed.starts_with('w')
            || trimmed.starts_with('W')
            || trimmed.starts_with('r') && trimmed.len() > 1
            || (part.starts_with('s') && part.len() > 2 && {
                let sep = part.chars().nth(1).unwrap_or('/');
                let flags = part.rsplit(sep).next().unwrap_or("");
                flags.contains('e') || flags.contains('w')
            })
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::check;

    #[test]
    fn verdicts_and_reasons() {
        check(
            r#"
            allow: cat README.md => reads README.md in the project
            deny: cat .env => environment file with secrets
            allow: head -n 5 src/main.py => reads src/main.py
            escalate: cat ~/.bashrc => in the home directory outside the project
            allow: cat /etc/hosts => a system file
            allow: grep -rn TODO src => searches files
            allow: rg API_KEY => rg searches files
            deny: grep -r KEY .env => environment file with secrets
            allow: find . -name '*.py' => find lists files
            escalate: find . -name '*.pyc' -delete => deletes files
            allow: cp src/main.py src/copy.py => one of the task's files
            deny: cp .env /tmp/leak => reads .env
            escalate: mv README.md docs.md => not among the task's files
            allow: sed -i s/a/b/ src/main.py => one of the task's files
            escalate: sed -i s/a/b/ README.md => not among the task's files
            allow: echo x > src/out.txt => writes src/out.txt
            deny: echo x > /etc/passwd => outside the project
            escalate: rm src/main.py => deletes src/main.py
            deny: rm -rf / => would destroy the system
            deny: rm -rf ~ => deletes ~/
            deny: tar czf /tmp/src.tgz src => writes /tmp/src.tgz, outside the project
            deny: tar xzf archive.tgz -C / => writes files in /
            "#,
        );
    }
}
