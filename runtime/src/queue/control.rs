//! `aviary dlq` against a running `aviary run` (disk backend): the queue file is locked while
//! `aviary run` has it open, so the running process serves the dlq commands on a Unix socket
//! next to the file (`<queue path>.sock`, mode 0600: only the file's owner may connect) and
//! the CLI uses it when the file is locked.
//!
//! Protocol (serde_json lines): the client writes one JSON [`DeadLetterOp`] and a newline; the
//! server answers one JSON line, `{"ok": <DeadLetterResult>}` or `{"err": "message"}`, and
//! closes. A replay through the socket hands the jobs to the running queue, so their failed
//! handlers run at once. `aviary kv` uses the same socket: `{"kv": <KvOp>}` answered by
//! `{"ok": <KvResult>}` or `{"err": …}` ([`super::kv::admin`]).

use std::path::{Path, PathBuf};

use super::admin::{self, DeadLetterOp, DeadLetterResult};
use super::engine::Queue;
use super::kv::admin::{KvOp, KvResult};
use super::store::StoreError;

/// The socket of the queue file at `store_path`.
pub fn socket_path(store_path: &Path) -> PathBuf {
    let mut s = store_path.as_os_str().to_owned();
    s.push(".sock");
    PathBuf::from(s)
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
enum Reply<T> {
    Ok(T),
    Err(String),
}

/// A request: a dead-letter operation, or `{"kv": …}`.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum Request {
    Dlq(DeadLetterOp),
    Kv { kv: KvOp },
}

/// The key-value request's wire form.
#[derive(serde::Serialize)]
struct KvRequest<'a> {
    kv: &'a KvOp,
}

/// Runs one request on the running queue; the answer line (without the newline).
async fn answer(queue: &Queue, line: &str) -> Vec<u8> {
    let json = |r: Result<Vec<u8>, serde_json::Error>| r.expect("replies serialize");
    match serde_json::from_str::<Request>(line) {
        Ok(Request::Dlq(op)) => json(serde_json::to_vec(
            &match admin::execute_live(queue, op).await {
                Ok(result) => Reply::Ok(result),
                Err(e) => Reply::Err(e),
            },
        )),
        Ok(Request::Kv { kv }) => {
            let reply = match queue.store().kv() {
                Some(store) => match super::kv::admin::execute(store.as_ref(), &kv).await {
                    Ok(result) => Reply::Ok(result),
                    Err(e) => Reply::Err(e),
                },
                None => Reply::Err("this queue keeps no key-value state".into()),
            };
            json(serde_json::to_vec(&reply))
        }
        Err(e) => json(serde_json::to_vec(&Reply::<()>::Err(format!(
            "bad request: {e}"
        )))),
    }
}

/// The running server; removes its socket file when dropped.
pub struct ControlServer {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Serves the dlq commands for `queue` on `path` (a stale socket file there, left by a killed
/// process, is replaced: the caller holds the queue file's lock, so no other process serves
/// it). Errors name the path.
#[cfg(unix)]
pub fn serve(queue: Queue, path: &Path) -> Result<ControlServer, StoreError> {
    use std::os::unix::fs::PermissionsExt;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    let fail = |what, e| StoreError::socket(path, what, e);
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(fail("cannot remove the stale socket", e)),
    }
    // Connecting needs write permission on the socket: the usual umask (022) already keeps
    // others out between bind and chmod; 0600 keeps out the group as well.
    let listener = tokio::net::UnixListener::bind(path).map_err(|e| fail("cannot listen", e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| fail("cannot restrict its permissions", e))?;
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let queue = queue.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut line = String::new();
                let mut reader = BufReader::new(read).take_line_limit();
                let mut out = match reader.read_line(&mut line).await {
                    Ok(_) => answer(&queue, &line).await,
                    Err(e) => serde_json::to_vec(&Reply::<()>::Err(format!(
                        "cannot read the request: {e}"
                    )))
                    .expect("replies serialize"),
                };
                out.push(b'\n');
                let _ = write.write_all(&out).await;
                let _ = write.shutdown().await;
            });
        }
    });
    Ok(ControlServer {
        path: path.to_path_buf(),
        task,
    })
}

/// Bounds a request line (a dlq command is a few bytes).
trait TakeLine: Sized {
    fn take_line_limit(self) -> tokio::io::Take<Self>;
}

impl<R: tokio::io::AsyncRead> TakeLine for R {
    fn take_line_limit(self) -> tokio::io::Take<R> {
        tokio::io::AsyncReadExt::take(self, 64 * 1024)
    }
}

/// Sends `op` to the `aviary run` serving `path`; returns its result, or its error
/// (`Err(Ok(message))`), or why it could not be asked (`Err(Err(io error))`).
#[cfg(unix)]
pub fn request(
    path: &Path,
    op: &DeadLetterOp,
) -> Result<DeadLetterResult, Result<String, std::io::Error>> {
    exchange(path, op)
}

/// [`request`] for an `aviary kv` operation.
#[cfg(unix)]
pub fn request_kv(path: &Path, op: &KvOp) -> Result<KvResult, Result<String, std::io::Error>> {
    exchange(path, &KvRequest { kv: op })
}

#[cfg(unix)]
fn exchange<T: serde::de::DeserializeOwned>(
    path: &Path,
    request: &impl serde::Serialize,
) -> Result<T, Result<String, std::io::Error>> {
    use std::io::{BufRead, Write};
    let mut stream = std::os::unix::net::UnixStream::connect(path).map_err(Err)?;
    stream
        .set_read_timeout(Some(crate::limits::queue::DLQ_SOCKET_TIMEOUT))
        .map_err(Err)?;
    let mut line = serde_json::to_vec(request).expect("operations serialize");
    line.push(b'\n');
    stream.write_all(&line).map_err(Err)?;
    let mut reply = String::new();
    std::io::BufReader::new(stream)
        .read_line(&mut reply)
        .map_err(Err)?;
    match serde_json::from_str::<Reply<T>>(&reply) {
        Ok(Reply::Ok(result)) => Ok(result),
        Ok(Reply::Err(e)) => Err(Ok(e)),
        Err(e) => Err(Err(std::io::Error::other(format!("unreadable reply: {e}")))),
    }
}
