//! A recording HTTP/1.1 server on 127.0.0.1 (plain or TLS with a CA generated here) for the
//! outbound HTTP tests: it records every request exactly as it arrived on the wire and answers
//! per path — an echo of the request by default, or a scripted [`Reply`] (a status with a body,
//! a redirect, an oversized body, a slow answer).
//!
//! One request per connection (`Connection: close`), so what a test sees is what was sent.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::rustls;

/// What the server answers on a path.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 200 with a JSON echo of the request: `{"method", "target", "headers": [[name, value]…],
    /// "body"}`.
    Echo,
    /// This status, these headers and this body.
    Fixed(u16, Vec<(String, String)>, Vec<u8>),
    /// A redirect with this status to this `Location`.
    Redirect(u16, String),
    /// 200 with `n` bytes of `x`, with a `Content-Length`.
    Big(usize),
    /// 200 with `n` bytes of `x`, without a length (the body ends when the connection does).
    BigUnsized(usize),
    /// Waits this long, then echoes.
    Slow(Duration),
}

/// One request as the server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The method.
    pub method: String,
    /// The request target (path and query).
    pub target: String,
    /// Every header line, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Recorded {
    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A generated CA and a server certificate it signed for `localhost` and `127.0.0.1`.
pub struct TestCerts {
    /// The CA certificate (PEM): what a client must trust.
    pub ca_pem: String,
    cert_der: Vec<u8>,
    key_der: Vec<u8>,
}

impl TestCerts {
    /// Generates a fresh CA and server certificate.
    pub fn generate() -> TestCerts {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "aviary outbound test CA");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        TestCerts {
            ca_pem: ca_cert.pem(),
            cert_der: cert.der().to_vec(),
            key_der: key.serialize_der(),
        }
    }

    /// Writes the CA certificate to `dir/name` and returns the path.
    pub fn write_ca(&self, dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, &self.ca_pem).unwrap();
        path
    }

    fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![rustls::pki_types::CertificateDer::from(
                    self.cert_der.clone(),
                )],
                rustls::pki_types::PrivateKeyDer::Pkcs8(self.key_der.clone().into()),
            )
            .unwrap();
        tokio_rustls::TlsAcceptor::from(Arc::new(config))
    }
}

struct Shared {
    routes: Mutex<HashMap<String, Reply>>,
    records: Mutex<Vec<Recorded>>,
}

/// The running server (it stops when dropped).
pub struct TestServer {
    addr: SocketAddr,
    tls: bool,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    /// A plain HTTP server on a free port of 127.0.0.1.
    pub async fn http() -> TestServer {
        Self::start(None).await
    }

    /// An HTTPS server on a free port of 127.0.0.1 with a certificate of `certs`.
    pub async fn https(certs: &TestCerts) -> TestServer {
        Self::start(Some(certs.acceptor())).await
    }

    async fn start(tls: Option<tokio_rustls::TlsAcceptor>) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            routes: Mutex::new(HashMap::new()),
            records: Mutex::new(Vec::new()),
        });
        let is_tls = tls.is_some();
        let s = shared.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let s = s.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    match tls {
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(tcp).await {
                                serve(stream, &s).await;
                            }
                        }
                        None => serve(tcp, &s).await,
                    }
                });
            }
        });
        TestServer {
            addr,
            tls: is_tls,
            shared,
            task,
        }
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http(s)://127.0.0.1:<port>`.
    pub fn origin(&self) -> String {
        format!(
            "{}://127.0.0.1:{}",
            if self.tls { "https" } else { "http" },
            self.port()
        )
    }

    /// `origin` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin())
    }

    /// Answers `path` (without the query) with `reply` from now on.
    pub fn route(&self, path: &str, reply: Reply) {
        self.shared
            .routes
            .lock()
            .unwrap()
            .insert(path.to_string(), reply);
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.records.lock().unwrap().clone()
    }
}

/// Reads one request, records it, answers it, closes.
async fn serve<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, shared: &Shared) {
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    shared.records.lock().unwrap().push(request.clone());
    let path = request.target.split('?').next().unwrap_or("").to_string();
    let reply = shared
        .routes
        .lock()
        .unwrap()
        .get(&path)
        .cloned()
        .unwrap_or(Reply::Echo);
    let echo = |r: &Recorded| {
        serde_json::to_vec(&json!({
            "method": r.method,
            "target": r.target,
            "headers": r.headers,
            "body": String::from_utf8_lossy(&r.body),
        }))
        .unwrap()
    };
    let json_type = vec![("Content-Type".to_string(), "application/json".to_string())];
    let (status, headers, body, sized) = match reply {
        Reply::Echo => (200, json_type, echo(&request), true),
        Reply::Slow(d) => {
            tokio::time::sleep(d).await;
            (200, json_type, echo(&request), true)
        }
        Reply::Fixed(status, headers, body) => (status, headers, body, true),
        Reply::Redirect(status, to) => {
            (status, vec![("Location".to_string(), to)], Vec::new(), true)
        }
        Reply::Big(n) => (200, Vec::new(), vec![b'x'; n], true),
        Reply::BigUnsized(n) => (200, Vec::new(), vec![b'x'; n], false),
    };
    let mut head = format!("HTTP/1.1 {status} X\r\nConnection: close\r\n");
    for (n, v) in &headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    if sized {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(&body).await;
    let _ = stream.flush().await;
    let _ = stream.shutdown().await;
}

async fn read_request<S: AsyncRead + Unpin>(stream: &mut S) -> Option<Recorded> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > 256 * 1024 {
            return None;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.to_string(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Recorded {
        method,
        target,
        headers,
        body,
    })
}
