//! Running one check: a fresh process in the tree being verified, with only the environment the
//! configuration lets through, a time limit (the whole process group is killed when it runs
//! out), and a cap on the output kept.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt};

/// How much of the end of a check's output is kept for its report.
pub const TAIL_BYTES: usize = 4000;

/// What running a check produced.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// The exit code, when the process exited by itself.
    pub exit_code: Option<i32>,
    /// The signal that ended it, if one did.
    pub signal: Option<i32>,
    /// Standard output, up to the limit.
    pub stdout: Vec<u8>,
    /// Standard error, up to the limit.
    pub stderr: Vec<u8>,
    /// The last bytes of both streams, whatever the limit.
    pub tail: String,
    /// Output beyond the limit was dropped.
    pub truncated: bool,
    /// The time limit ran out and the process group was killed.
    pub timed_out: bool,
    /// How long it ran.
    pub duration: Duration,
}

/// Finds a program as the check would: a path relative to the tree, the project's own virtual
/// environment (`.venv/bin`, `venv/bin`), then the `PATH` the check gets.
pub fn find_program(name: &str, dir: &Path, path_var: Option<&str>) -> Option<PathBuf> {
    if name.contains('/') {
        let candidate = dir.join(name);
        return is_executable(&candidate).then_some(candidate);
    }
    let venvs = [dir.join(".venv/bin"), dir.join("venv/bin")];
    let from_path = path_var.into_iter().flat_map(std::env::split_paths);
    venvs
        .into_iter()
        .chain(from_path)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Runs `program args` in `dir` with exactly `env`, under the limits.
pub async fn run(
    program: &Path,
    args: &[String],
    dir: &Path,
    env: &[(String, String)],
    timeout: Duration,
    max_output: usize,
) -> std::io::Result<Outcome> {
    let start = Instant::now();
    let mut child = tokio::process::Command::new(program)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()?;
    let pgid = child.id().and_then(|id| i32::try_from(id).ok());
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let out_reader = tokio::spawn(capture(stdout, max_output));
    let err_reader = tokio::spawn(capture(stderr, max_output));

    let (status, timed_out) = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(status) => (Some(status?), false),
        Err(_) => {
            kill_group(pgid);
            (child.wait().await.ok(), true)
        }
    };
    // The checked program may have left children holding the pipes open; they go with it.
    kill_group(pgid);
    let (out, err) = (
        out_reader.await.unwrap_or_default(),
        err_reader.await.unwrap_or_default(),
    );
    use std::os::unix::process::ExitStatusExt;
    let mut tail =
        String::from_utf8_lossy(&err.tail.iter().copied().collect::<Vec<u8>>()).into_owned();
    let out_tail =
        String::from_utf8_lossy(&out.tail.iter().copied().collect::<Vec<u8>>()).into_owned();
    if !out_tail.is_empty() {
        if !tail.is_empty() && !tail.ends_with('\n') {
            tail.push('\n');
        }
        tail.push_str(&out_tail);
    }
    Ok(Outcome {
        exit_code: if timed_out {
            None
        } else {
            status.and_then(|s| s.code())
        },
        signal: if timed_out {
            None
        } else {
            status.and_then(|s| s.signal())
        },
        truncated: out.truncated || err.truncated,
        stdout: out.head,
        stderr: err.head,
        tail: last_chars(&tail, TAIL_BYTES),
        timed_out,
        duration: start.elapsed(),
    })
}

fn kill_group(pgid: Option<i32>) {
    if let Some(pgid) = pgid.filter(|p| *p > 1) {
        // SAFETY: kill(2) with a negative pid signals the process group the child leads (it was
        // started with process_group(0)); no memory is touched.
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
}

#[derive(Default)]
struct Captured {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    truncated: bool,
}

async fn capture(stream: Option<impl AsyncRead + Unpin>, max: usize) -> Captured {
    let mut captured = Captured::default();
    let Some(mut stream) = stream else {
        return captured;
    };
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let chunk = &buf[..n];
                let room = max.saturating_sub(captured.head.len());
                captured.head.extend_from_slice(&chunk[..room.min(n)]);
                if n > room {
                    captured.truncated = true;
                }
                captured.tail.extend(chunk);
                let excess = captured.tail.len().saturating_sub(TAIL_BYTES);
                captured.tail.drain(..excess);
            }
        }
    }
    captured
}

/// The last `max` bytes of a text, cut at a character boundary.
pub fn last_chars(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &text[start..])
}
