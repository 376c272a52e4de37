//! Programs that run another program (`sudo`, `timeout`, `nice`, `watch`, `xargs`, …): the
//! command inside is what is judged, with the wrapper's own verdict added.

use super::*;

impl Classifier<'_> {
    pub(super) fn inner(
        &mut self,
        words: &[Word],
        outer: &Invocation,
        v: &mut Verdicts,
        depth: usize,
        from_input: bool,
    ) {
        if words.is_empty() {
            return;
        }
        if depth > shell::MAX_DEPTH {
            v.escalate_hard("commands are nested too deeply to analyse");
            return;
        }
        let mut assignments = Vec::new();
        let mut start = 0;
        for w in words {
            match w.known().and_then(|t| t.split_once('=')) {
                Some((n, value))
                    if !n.is_empty()
                        && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
                {
                    assignments.push((n.to_owned(), Word::literal(value)));
                    start += 1;
                }
                _ => break,
            }
        }
        let inner = Invocation {
            words: words[start..].to_vec(),
            assignments,
            redirects: Vec::new(),
            cwd: outer.cwd.clone(),
            piped_from: outer.piped_from.clone(),
            stdin_text: outer.stdin_text.clone(),
        };
        if inner.words.is_empty() {
            v.allow("sets variables only");
            return;
        }
        self.invocation(&inner, depth + 1, from_input);
    }

    /// Runs the command as another user: escalated, and the command inside is judged too.
    pub(super) fn as_another_user(
        &mut self,
        name: &str,
        args: &[Word],
        inv: &Invocation,
        v: &mut Verdicts,
        depth: usize,
        from_input: bool,
    ) {
        v.escalate(format!("{name} runs the command as another user (root)"));
        let inner = match name {
            "su" => {
                let code = Grammar::option(args, &["-c", "--command"]);
                return match code.first().and_then(Word::known) {
                    Some(code) => self.command_line(code, inv.cwd.clone(), depth + 1),
                    None => v.escalate_hard("su starts a shell the policy cannot see into"),
                };
            }
            _ => skip_options(
                args,
                &[
                    "-u", "-g", "-U", "-C", "-D", "-h", "-p", "-r", "-t", "-T", "--user", "--group",
                ],
            ),
        };
        self.inner(inner, inv, v, depth, from_input);
    }

    /// Runs a command with changed priority, time limit, buffering or session: the command inside is what is judged.
    pub(super) fn modifier(
        &mut self,
        name: &str,
        args: &[Word],
        inv: &Invocation,
        v: &mut Verdicts,
        depth: usize,
        from_input: bool,
    ) {
        let inner = match name {
            "timeout" => {
                let rest = skip_options(args, &["-s", "-k", "--signal", "--kill-after"]);
                rest.get(1..).unwrap_or_default()
            }
            "flock" => {
                let rest = skip_options(args, &["-w", "-E", "--timeout", "-c"]);
                if let Some(code) = Grammar::option(args, &["-c", "--command"]).first() {
                    return match code.known() {
                        Some(code) => self.command_line(code, inv.cwd.clone(), depth + 1),
                        None => v.escalate_hard("flock -c runs a command only known at run time"),
                    };
                }
                rest.get(1..).unwrap_or_default()
            }
            "chrt" | "taskset" => {
                let rest = skip_options(args, &["-p"]);
                rest.get(1..).unwrap_or_default()
            }
            "systemd-run" => {
                v.escalate("systemd-run starts a system service");
                skip_options(args, &["-u", "-p", "--unit", "--property"])
            }
            _ => skip_options(
                args,
                &[
                    "-n",
                    "-c",
                    "-p",
                    "-i",
                    "-o",
                    "-e",
                    "-f",
                    "--adjustment",
                    "--format",
                    "--output",
                ],
            ),
        };
        if inner.is_empty() {
            v.allow(format!("{name} alone does nothing harmful"));
        } else {
            self.inner(inner, inv, v, depth, from_input);
        }
    }

    /// Runs a command line again and again: that command line is judged. Like `watch` itself,
    /// the words are joined with spaces and given to `sh -c` (`watch 'rm -rf /'` deletes), unless
    /// `-x` runs them as they are.
    pub(super) fn watch(
        &mut self,
        args: &[Word],
        inv: &Invocation,
        v: &mut Verdicts,
        depth: usize,
    ) {
        let rest = skip_options(args, &["-n", "--interval", "-q", "--equexit"]);
        if rest.iter().any(|w| w.dynamic) {
            v.escalate_hard("watch runs a command only known at run time");
        } else if has_flag(&args[..args.len() - rest.len()], 'x', &["--exec"]) {
            self.inner(rest, inv, v, depth, false);
        } else {
            let code: Vec<&str> = rest.iter().map(|w| w.value.as_str()).collect();
            self.command_line(&code.join(" "), inv.cwd.clone(), depth + 1);
        }
    }

    /// Runs a command with words from its input: the command is judged as fed by input.
    pub(super) fn xargs(
        &mut self,
        args: &[Word],
        inv: &Invocation,
        v: &mut Verdicts,
        depth: usize,
    ) {
        let valued = [
            "-n",
            "-I",
            "-i",
            "-P",
            "-L",
            "-l",
            "-d",
            "-s",
            "-E",
            "-e",
            "-a",
            "--max-args",
            "--max-procs",
            "--delimiter",
            "--arg-file",
            "--replace",
        ];
        for file in Grammar::option(args, &["-a", "--arg-file"]) {
            self.touch(inv, &file, Access::Read);
        }
        let inner = skip_options(args, &valued);
        if inner.is_empty() {
            v.allow("xargs runs echo");
        } else {
            self.inner(inner, inv, v, depth, true);
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
            escalate: sudo ls => as another user
            deny: sudo rm -rf / => deletes /
            allow: timeout 60 pytest => pytest is a test
            deny: timeout 5 rm -rf ~ => deletes ~/
            allow: nice -n 10 cargo build => cargo build builds
            allow: nohup => alone does nothing harmful
            allow: env FOO=1 pytest => pytest is a test
            escalate: xargs rm => deletes files named by its input
            allow: find . -name '*.py' | xargs grep -n import => grep searches files
            allow: watch -n 1 ls => ls only reads
            deny: watch -n 1 'rm -rf /' => deletes /
            escalate: su -c 'ls' => as another user
            deny: flock /tmp/lock -c 'rm -rf /' => deletes /
            deny: watch -d -n 2 rm -rf / => deletes /
            allow: watch -x ls -la => ls only reads
            "#,
        );
    }
}
