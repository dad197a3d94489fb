//! Outbound HTTP through the `http-send` host import: a small blocking client.
//!
//! The handler must be allowed the host in the manifest (denied by default):
//!
//! ```toml
//! [[handler]]
//! name = "assistant"
//! # …
//! allowed_outbound_hosts = ["https://api.example.com"]
//! [handler.config]
//! api_key = "${EXAMPLE_API_KEY}"   # secrets come from the environment, never from the code
//! ```
//!
//! The host checks every request and every redirect hop against that list, refuses host names
//! that resolve to internal addresses, follows redirects, applies the time and size limits of
//! `[handler.http]` and adds no credential of its own. An answer with any HTTP status is `Ok`;
//! `Err` means there was none (denied, timed out, too large, connection failed), with the
//! host's reason.
//!
//! ```no_run
//! use aviary_guest::{config, http};
//! # fn f() -> Result<(), http::Error> {
//! let key = config::get("api_key").unwrap_or_default();
//! let answer = http::Request::post("https://api.example.com/v1/chat")
//!     .header("Authorization", &format!("Bearer {key}"))
//!     .json(&serde_json::json!({"prompt": "hi"}))?
//!     .send()?
//!     .error_for_status()?;
//! let reply: serde_json::Value = answer.json()?;
//! let page = http::get("https://api.example.com/status")?.text()?;
//! # let _ = (reply, page); Ok(()) }
//! ```

use std::fmt;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Why a request got no usable answer: the host's reason (a denial names the handler and the
/// manifest key), or a problem reading the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl Error {
    /// The message.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<Error> for String {
    fn from(e: Error) -> String {
        e.0
    }
}

/// A request being built; [`Request::send`] sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    /// A request with any method (`GET`, `HEAD`, `POST`, `PUT`, `PATCH`, `DELETE`, `OPTIONS`).
    pub fn new(method: &str, url: &str) -> Request {
        Request {
            method: method.to_string(),
            url: url.to_string(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A `GET`.
    pub fn get(url: &str) -> Request {
        Request::new("GET", url)
    }

    /// A `POST`.
    pub fn post(url: &str) -> Request {
        Request::new("POST", url)
    }

    /// A `PUT`.
    pub fn put(url: &str) -> Request {
        Request::new("PUT", url)
    }

    /// A `PATCH`.
    pub fn patch(url: &str) -> Request {
        Request::new("PATCH", url)
    }

    /// A `DELETE`.
    pub fn delete(url: &str) -> Request {
        Request::new("DELETE", url)
    }

    /// Adds a header (repeat for several values). `Host` is refused by the host; hop-by-hop
    /// headers are dropped.
    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Request {
        self.body = body.into();
        self
    }

    /// Sets a JSON body and `Content-Type: application/json`.
    pub fn json<T: Serialize + ?Sized>(self, value: &T) -> Result<Request, Error> {
        let body = serde_json::to_vec(value).map_err(|e| Error(format!("JSON body: {e}")))?;
        Ok(self.header("Content-Type", "application/json").body(body))
    }

    /// Sends it and waits for the answer (the guest blocks; the host does not).
    pub fn send(self) -> Result<Response, Error> {
        for (name, value) in &self.headers {
            if name.contains([':', '\n', '\r']) || value.contains(['\n', '\r']) {
                return Err(Error(format!(
                    "header {name:?}: names hold no `:` and neither names nor values hold line breaks"
                )));
            }
        }
        let block: String = self
            .headers
            .iter()
            .map(|(n, v)| format!("{n}: {v}\n"))
            .collect();
        let (status, headers, body) = send(&self.method, &self.url, &block, &self.body)?;
        Ok(Response {
            status,
            headers: parse_headers(&headers),
            body,
        })
    }
}

/// `GET url`.
pub fn get(url: &str) -> Result<Response, Error> {
    Request::get(url).send()
}

/// An answer, whatever its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// `Err` naming the status (and the start of the body) unless it is 2xx.
    pub fn error_for_status(self) -> Result<Response, Error> {
        if self.is_success() {
            return Ok(self);
        }
        let text = String::from_utf8_lossy(&self.body);
        let cut: String = text.chars().take(200).collect();
        Err(Error(format!("HTTP {}: {cut}", self.status)))
    }

    /// The first value of header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every header, names in lowercase, in the order received.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The body.
    pub fn bytes(&self) -> &[u8] {
        &self.body
    }

    /// The body, taken.
    pub fn into_bytes(self) -> Vec<u8> {
        self.body
    }

    /// The body as UTF-8 text.
    pub fn text(&self) -> Result<String, Error> {
        String::from_utf8(self.body.clone()).map_err(|_| Error("the body is not UTF-8".into()))
    }

    /// The body parsed as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body)
            .map_err(|e| Error(format!("the body is not the JSON expected: {e}")))
    }
}

fn parse_headers(block: &str) -> Vec<(String, String)> {
    block
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect()
}

type Raw = (u16, String, Vec<u8>);

#[cfg(target_arch = "wasm32")]
fn send(method: &str, url: &str, headers: &str, body: &[u8]) -> Result<Raw, Error> {
    crate::host::bindings::http_send(method, url, headers, body).map_err(Error)
}

#[cfg(not(target_arch = "wasm32"))]
fn send(method: &str, url: &str, headers: &str, body: &[u8]) -> Result<Raw, Error> {
    shim::send(method, url, headers, body)
}

/// The test stand-in for `http-send` (non-wasm targets): records requests, answers from a
/// queue. Used through [`crate::testing`].
#[cfg(not(target_arch = "wasm32"))]
pub(crate) mod shim {
    use std::cell::RefCell;

    use super::{Error, Raw};

    /// One recorded request: method, URL, header block, body.
    pub type Sent = (String, String, String, Vec<u8>);

    thread_local! {
        static SENT: RefCell<Vec<Sent>> = const { RefCell::new(Vec::new()) };
        static ANSWERS: RefCell<Vec<Result<Raw, String>>> = const { RefCell::new(Vec::new()) };
    }

    pub(super) fn send(method: &str, url: &str, headers: &str, body: &[u8]) -> Result<Raw, Error> {
        SENT.with(|s| {
            s.borrow_mut().push((
                method.to_string(),
                url.to_string(),
                headers.to_string(),
                body.to_vec(),
            ))
        });
        let queued = ANSWERS.with(|a| {
            let mut a = a.borrow_mut();
            (!a.is_empty()).then(|| a.remove(0))
        });
        queued
            .unwrap_or_else(|| Ok((200, String::new(), Vec::new())))
            .map_err(Error)
    }

    /// Queues the answer of the next [`crate::http`] request on this thread: `Ok((status,
    /// header block, body))` or `Err(host message)`. Without one a request gets `200` with no
    /// headers and an empty body.
    pub fn push_http_answer(answer: Result<(u16, String, Vec<u8>), String>) {
        ANSWERS.with(|a| a.borrow_mut().push(answer));
    }

    /// Returns and forgets the [`crate::http`] requests made on this thread so far, as
    /// `(method, url, header block, body)`.
    pub fn take_http_requests() -> Vec<Sent> {
        SENT.with(|s| std::mem::take(&mut *s.borrow_mut()))
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::testing::{push_http_answer, take_http_requests};

    #[test]
    fn a_request_travels_as_the_flat_import_and_the_answer_comes_back_typed() {
        push_http_answer(Ok((
            201,
            "content-type: application/json\nx-id: 7\n".into(),
            br#"{"ok":true}"#.to_vec(),
        )));
        let r = Request::post("https://api.example.com/v1")
            .header("Authorization", "Bearer k")
            .json(&serde_json::json!({"a": 1}))
            .unwrap()
            .send()
            .unwrap();
        assert_eq!(r.status(), 201);
        assert!(r.is_success());
        assert_eq!(r.header("X-ID"), Some("7"));
        assert_eq!(r.json::<serde_json::Value>().unwrap()["ok"], true);
        let sent = take_http_requests();
        assert_eq!(
            sent,
            [(
                "POST".to_string(),
                "https://api.example.com/v1".to_string(),
                "Authorization: Bearer k\nContent-Type: application/json\n".to_string(),
                br#"{"a":1}"#.to_vec()
            )]
        );
    }

    #[test]
    fn host_errors_and_bad_statuses_are_errors() {
        push_http_answer(Err("denied: handler `x` …".into()));
        assert_eq!(
            get("https://evil.example/").unwrap_err().message(),
            "denied: handler `x` …"
        );
        push_http_answer(Ok((503, String::new(), b"busy".to_vec())));
        let e = get("https://api.example.com/")
            .unwrap()
            .error_for_status()
            .unwrap_err();
        assert_eq!(e.to_string(), "HTTP 503: busy");
        let e = Request::get("https://h/")
            .header("X", "a\nHost: evil")
            .send()
            .unwrap_err();
        assert!(e.message().contains("line breaks"), "{e}");
        take_http_requests();
    }
}
