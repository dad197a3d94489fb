//! The real `aviary` binary as a user runs it: `aviary run` in the background with its output in
//! a file, stopped with SIGTERM or killed on drop, and `aviary dlq`.
//!
//! Only the `aviary` package's own tests and benches know where cargo put the binary, so they
//! name it: `const AVIARY: Aviary = Aviary::at(env!("CARGO_BIN_EXE_aviary"));`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The `aviary` binary under test.
#[derive(Debug, Clone, Copy)]
pub struct Aviary(&'static str);

/// A running `aviary run`, killed when dropped.
pub struct Run {
    /// The process.
    pub child: Child,
    /// The file its stdout and stderr go to.
    pub log: PathBuf,
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `RUST_LOG` of [`Aviary::spawn`]: warnings, plus what guests log and what the queue
/// says (the tests read both).
pub const QUEUE_TEST_LOG: &str = "warn,aviary::guest=info,aviary::queue=info";

impl Aviary {
    /// The binary at `path` (`env!("CARGO_BIN_EXE_aviary")`).
    pub const fn at(path: &'static str) -> Aviary {
        Aviary(path)
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        Path::new(self.0)
    }

    /// Starts `aviary run --manifest <manifest>` with `env`, output (both streams) to the file
    /// `log` — a file, not a pipe: a chatty child must never block on a full pipe. With
    /// `shell_prefix` it runs under that shell snippet first (e.g. `ulimit -f 64`).
    pub fn run_with(
        &self,
        manifest: &Path,
        log: PathBuf,
        shell_prefix: Option<&str>,
        env: &[(&str, &str)],
    ) -> Run {
        let file = std::fs::File::create(&log).unwrap();
        let mut cmd = match shell_prefix {
            None => {
                let mut c = Command::new(self.path());
                c.arg("run").arg("--manifest").arg(manifest);
                c
            }
            Some(prefix) => {
                let mut c = Command::new("bash");
                c.arg("-c")
                    .arg(format!("{prefix}; exec \"$0\" run --manifest \"$1\""))
                    .arg(self.path())
                    .arg(manifest);
                c
            }
        };
        cmd.stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file));
        for (k, v) in env {
            cmd.env(k, v);
        }
        Run {
            child: cmd.spawn().expect("aviary starts"),
            log,
        }
    }

    /// [`Aviary::run_with`] as the queue tests run it: `RUST_LOG` = [`QUEUE_TEST_LOG`], the
    /// compile cache next to the manifest.
    pub fn spawn(&self, manifest: &Path, log: PathBuf, shell_prefix: Option<&str>) -> Run {
        let cache = manifest.parent().unwrap().join("cache");
        self.run_with(
            manifest,
            log,
            shell_prefix,
            &[
                ("RUST_LOG", QUEUE_TEST_LOG),
                ("XDG_CACHE_HOME", cache.to_str().unwrap()),
            ],
        )
    }

    /// Runs `aviary run` on `manifest` until it exits by itself (at most 60 s); returns its
    /// exit code and log.
    pub async fn run_until_exit(&self, manifest: &Path, log: PathBuf) -> (Option<i32>, String) {
        let mut run = self.spawn(manifest, log, None);
        let code = run.wait_exit(Duration::from_secs(60)).await;
        (code, run.output())
    }

    /// `aviary dlq <args…> -m <manifest>`, as it came out (checked for secrets).
    pub fn dlq(&self, manifest: &Path, args: &[&str]) -> Output {
        let out = Command::new(self.path())
            .arg("dlq")
            .args(args)
            .arg("-m")
            .arg(manifest)
            .output()
            .unwrap();
        crate::secrets::assert_no_secrets(
            "aviary dlq's stdout",
            &String::from_utf8_lossy(&out.stdout),
        );
        crate::secrets::assert_no_secrets(
            "aviary dlq's stderr",
            &String::from_utf8_lossy(&out.stderr),
        );
        out
    }

    /// `aviary dlq list -m <manifest>`: asserts it succeeded and returns what it printed.
    pub fn dlq_list(&self, manifest: &Path) -> String {
        stdout(&self.dlq(manifest, &["list"]))
    }
}

impl Run {
    /// Waits (without blocking the async runtime, which may host the emulator) until the
    /// process exits; its exit code. Panics after `timeout`.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                start.elapsed() < timeout,
                "aviary did not exit within {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Everything it printed so far (checked for secrets).
    pub fn output(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        crate::secrets::assert_no_secrets("aviary run's output", &text);
        text
    }
}

/// Stops `run` with SIGTERM and waits (at most 30 s) for it to exit; its exit code.
pub fn sigterm(run: &mut Run) -> Option<i32> {
    let pid = run.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let start = Instant::now();
    loop {
        if let Some(status) = run.child.try_wait().unwrap() {
            // Everything it printed over its whole run.
            run.output();
            return status.code();
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// What a command printed; asserts it succeeded (showing its stderr if not).
pub fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "command failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}
