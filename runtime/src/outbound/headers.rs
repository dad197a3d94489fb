//! Request headers from the guest and response headers back to it, as a block of
//! `name: value` lines separated by `\n` (the flat form every guest language can build).
//!
//! Request headers: each line must be a valid name (an HTTP token) and a value without control
//! characters; the block is at most [`MAX_REQUEST_HEADER_BYTES`]. `Host` is refused (the host
//! sends the checked URL's host, and a different `Host` would reach another virtual host than
//! the one allowed). Hop-by-hop headers (`Connection`, `Keep-Alive`, `Proxy-Connection`, `TE`,
//! `Trailer`, `Transfer-Encoding`, `Upgrade`, and the names `Connection` lists), the framing
//! headers the host computes itself (`Content-Length`, `Expect`) and `Proxy-Authorization` are
//! dropped. Values are never logged.
//!
//! Response headers: the same block form, names in lowercase, hop-by-hop headers removed.

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::limits::http::{MAX_REQUEST_HEADER_BYTES, MAX_RESPONSE_HEADER_BYTES};

/// Headers that describe one connection, not the message: never forwarded either way.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Headers the host sets itself (framing) or that only a proxy may see: dropped from requests.
const HOST_SET: &[&str] = &[
    "content-length",
    "expect",
    "proxy-authorization",
    "http2-settings",
];

/// The guest's header block as headers to send. `Err`: why it is refused (names the line).
pub fn request_headers(block: &str) -> Result<HeaderMap, String> {
    if block.len() > MAX_REQUEST_HEADER_BYTES {
        return Err(format!(
            "the headers are {} bytes, more than {MAX_REQUEST_HEADER_BYTES}",
            block.len()
        ));
    }
    let mut headers = HeaderMap::new();
    for (n, line) in block.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err(format!(
                "header line {} has no `:` (each line is `name: value`)",
                n + 1
            ));
        };
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            format!(
                "header line {}: {name:?} is not a header name (letters, digits and \
                 !#$%&'*+-.^_`|~, no spaces)",
                n + 1
            )
        })?;
        let value = value.trim_matches([' ', '\t']);
        let value = Some(value)
            .filter(|v| v.is_ascii())
            .and_then(|v| HeaderValue::from_str(v).ok())
            .ok_or_else(|| {
                format!(
                    "header line {} (`{name}`): the value holds a control or non-ASCII character",
                    n + 1
                )
            })?;
        if name == reqwest::header::HOST {
            return Err(
                "the `Host` header is refused: requests go to the host of the checked URL, \
                 and a different `Host` would reach another site than the one allowed"
                    .into(),
            );
        }
        headers.append(name, value);
    }
    let listed: Vec<HeaderName> = headers
        .get_all(reqwest::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for name in HOP_BY_HOP.iter().chain(HOST_SET) {
        headers.remove(*name);
    }
    for name in listed {
        headers.remove(name);
    }
    Ok(headers)
}

/// The response's headers as the guest's block (lowercase names, hop-by-hop removed). `Err`
/// when the block would exceed [`MAX_RESPONSE_HEADER_BYTES`].
pub fn response_block(headers: &HeaderMap) -> Result<String, String> {
    let mut out = String::new();
    for (name, value) in headers {
        if HOP_BY_HOP.contains(&name.as_str()) {
            continue;
        }
        out.push_str(name.as_str());
        out.push_str(": ");
        out.push_str(&String::from_utf8_lossy(value.as_bytes()));
        out.push('\n');
        if out.len() > MAX_RESPONSE_HEADER_BYTES {
            return Err(format!(
                "the answer's headers are larger than {MAX_RESPONSE_HEADER_BYTES} bytes"
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_headers_and_hop_by_hop_ones_are_dropped() {
        let h = request_headers(
            "Content-Type: application/json\r\nX-A:  1 \nx-a: 2\n\nAuthorization: Bearer k\n\
             Connection: keep-alive, X-Drop\nX-Drop: y\nTransfer-Encoding: chunked\n\
             Content-Length: 999\nUpgrade: h2c\nTE: trailers\nProxy-Authorization: p\n\
             Keep-Alive: 5\nExpect: 100-continue",
        )
        .unwrap();
        let names: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
        assert_eq!(names, ["content-type", "x-a", "authorization"]);
        let xa: Vec<&str> = h
            .get_all("x-a")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(xa, ["1", "2"]);
    }

    #[test]
    fn bad_lines_and_host_are_refused() {
        for (block, why) in [
            ("Host: evil.example.com", "`Host` header is refused"),
            ("host:api.example.com", "`Host` header is refused"),
            ("X-A", "has no `:`"),
            ("X A: 1", "not a header name"),
            (": 1", "not a header name"),
            ("X-A: a\rb", "control"),
            ("X-A: a\u{0}b", "control"),
            ("X-A: ü", "non-ASCII"),
        ] {
            let e = request_headers(block).unwrap_err();
            assert!(e.contains(why), "{block:?}: {e}");
        }
        let big = format!("X-A: {}", "a".repeat(MAX_REQUEST_HEADER_BYTES));
        assert!(request_headers(&big).unwrap_err().contains("more than"));
    }

    #[test]
    fn response_headers_become_a_block() {
        let mut h = HeaderMap::new();
        h.insert("Content-Type", HeaderValue::from_static("text/plain"));
        h.insert("Connection", HeaderValue::from_static("close"));
        h.append("Set-Cookie", HeaderValue::from_static("a=1"));
        h.append("Set-Cookie", HeaderValue::from_static("b=2"));
        assert_eq!(
            response_block(&h).unwrap(),
            "content-type: text/plain\nset-cookie: a=1\nset-cookie: b=2\n"
        );
    }
}
