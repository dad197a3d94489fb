//! Running a toolchain command: its stdout and stderr are read line by line as they come
//! (each line goes to a callback, for progress) and the last lines are kept for the error
//! message when it fails.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// Lines of output kept for an error message.
const KEEP_LINES: usize = 40;

/// What a finished command printed.
#[derive(Debug, Default)]
pub struct Output {
    /// Every stdout line (for tools that answer in JSON on stdout).
    pub stdout: Vec<String>,
}

/// Runs `cmd` to the end. `on_line(is_stderr, line)` sees every line as it arrives. Errors
/// name the command (`what`), its exit status and its last lines.
pub fn run(
    mut cmd: Command,
    what: &str,
    on_line: &(dyn Fn(bool, &str) + Sync),
) -> Result<Output, String> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("cannot run {what}: {e}"))?;
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    let tail = Mutex::new(VecDeque::new());
    let keep = |line: &str| {
        let mut t = tail.lock().unwrap_or_else(|p| p.into_inner());
        if t.len() == KEEP_LINES {
            t.pop_front();
        }
        t.push_back(line.to_string());
    };
    let mut out_lines = Vec::new();
    std::thread::scope(|s| {
        s.spawn(|| {
            for line in lines(stderr) {
                on_line(true, &line);
                keep(&line);
            }
        });
        for line in lines(stdout) {
            on_line(false, &line);
            if !line.starts_with('{') {
                keep(&line);
            }
            out_lines.push(line);
        }
    });
    let status = child
        .wait()
        .map_err(|e| format!("cannot wait for {what}: {e}"))?;
    let tail: Vec<String> = tail.into_inner().unwrap_or_default().into();
    if !status.success() {
        let code = status
            .code()
            .map(|c| format!("exit code {c}"))
            .unwrap_or_else(|| "killed by a signal".into());
        return Err(format!("{what} failed ({code}):\n{}", tail.join("\n")));
    }
    Ok(Output { stdout: out_lines })
}

fn lines(r: impl Read) -> impl Iterator<Item = String> {
    BufReader::new(r)
        .split(b'\n')
        .map_while(Result::ok)
        .map(|l| String::from_utf8_lossy(&l).trim_end().to_string())
}
