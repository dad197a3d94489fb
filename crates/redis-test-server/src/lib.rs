//! A throwaway `redis-server` for tests: a free 127.0.0.1 port, a temp dir, no persistence;
//! killed when dropped. Panics (failing the test, never skipping it) when `redis-server` is not
//! installed, saying how to install it.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `redis-server` (killed on drop).
pub struct RedisServer {
    child: Child,
    port: u16,
    dir: std::path::PathBuf,
    tls: bool,
}

impl RedisServer {
    /// Starts one (no persistence) and waits until it answers.
    pub fn start() -> RedisServer {
        RedisServer::start_with(&["--appendonly", "no"])
    }

    /// Starts one with these extra arguments (e.g. `--appendonly yes --appendfsync always`).
    pub fn start_with(extra: &[&str]) -> RedisServer {
        RedisServer::spawn(None, extra)
    }

    /// Starts one that only speaks TLS (`--port 0 --tls-port <free port>`) with this
    /// certificate and key (PEM files) and no client certificates; [`RedisServer::url`] is
    /// then `rediss://`.
    pub fn start_tls(cert: &std::path::Path, key: &std::path::Path) -> RedisServer {
        RedisServer::spawn(Some((cert, key)), &["--appendonly", "no"])
    }

    fn spawn(tls: Option<(&std::path::Path, &std::path::Path)>, extra: &[&str]) -> RedisServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = std::env::temp_dir().join(format!("aviary-redis-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let mut cmd = Command::new("redis-server");
        match tls {
            None => {
                cmd.args(["--port", &port.to_string()]);
            }
            Some((cert, key)) => {
                cmd.args(["--port", "0", "--tls-port", &port.to_string()])
                    .arg("--tls-cert-file")
                    .arg(cert)
                    .arg("--tls-key-file")
                    .arg(key)
                    .args(["--tls-auth-clients", "no"]);
            }
        }
        let child = cmd
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(extra)
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start redis-server ({e}): the Redis tests need it; run \
                     scripts/setup-tests.sh (installs it with apt-get)"
                )
            });
        let mut server = RedisServer {
            child,
            port,
            dir,
            tls: tls.is_some(),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!(
                    "redis-server exited at once ({status}){}",
                    if server.tls {
                        " (is it built with TLS? `redis-server --tls-port` needs it)"
                    } else {
                        ""
                    }
                );
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not start in 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>/<db>` (`rediss://` for [`RedisServer::start_tls`]).
    pub fn url(&self, db: u32) -> String {
        let scheme = if self.tls { "rediss" } else { "redis" };
        format!("{scheme}://127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
