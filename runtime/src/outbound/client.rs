//! One handler's outbound HTTP: every request checked in order, sent as checked, every
//! redirect hop checked again, within the handler's limits; every call counted.
//!
//! Order of the checks of one `http-send` call (the first that fails decides; all are denials
//! naming the handler and the manifest key):
//!
//! 1. the handler has a grant (`allowed_outbound_hosts` is not empty);
//! 2. the call is within `http.max_requests` for this run of the handler;
//! 3. the method is one of [`METHODS`];
//! 4. the URL passes [`Target::check`] (written as it parses; http or https; no userinfo);
//! 5. an entry of `allowed_outbound_hosts` allows its scheme, host and port;
//! 6. the headers pass [`super::headers::request_headers`] (no `Host`; hop-by-hop dropped);
//! 7. the body is within `http.max_request_bytes`.
//!
//! Then the request is sent to the checked URL. A host *name* is resolved by
//! the checking resolver of [`super::resolve`] and refused when it resolves to an internal address. A
//! redirect (301, 302, 303, 307, 308 with a `Location`) is followed up to
//! [`MAX_REDIRECTS`] times, each hop's URL checked by steps 4 and 5 (and the resolver) like
//! the first; 303, and 301/302 after a `POST`, continue as a `GET` without body (as browsers
//! do); a hop to another origin drops `Authorization`, `Cookie` and `Proxy-Authorization`.
//! The answer's body is read up to `http.max_response_bytes`. All of it happens within the
//! shorter of `http.timeout_ms` and what is left of the handler's `timeout_ms`.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use bytes::Bytes;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};

use super::headers::{request_headers, response_block};
use super::resolve::{refused_in, CheckedResolver, LookupHost, SystemLookup};
use super::stats::{HttpOutcome, HttpStats};
use super::target::Target;
use super::OutboundSettings;
use crate::limits::http::{MAX_REDIRECTS, POOL_IDLE_TIMEOUT};

/// The methods a guest may use. `CONNECT` (tunnels) and `TRACE` (echoes headers back) are not
/// among them.
pub const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// One request as the guest asks for it. Its `Debug` shows the method, the URL without its
/// query, the header names and the body's length: never a header value or the body.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET`, `POST`, … (any case).
    pub method: String,
    /// The absolute `http://` or `https://` URL.
    pub url: String,
    /// `name: value` lines separated by `\n`.
    pub headers: String,
    /// The body (empty for none).
    pub body: Vec<u8>,
}

impl std::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self
            .headers
            .lines()
            .filter_map(|l| l.split_once(':').map(|(n, _)| n.trim()))
            .collect();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("url", &redact(&self.url))
            .field("header_names", &names)
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

/// The answer handed back to the guest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpAnswer {
    /// The HTTP status of the last hop.
    pub status: u16,
    /// Its headers: `name: value` lines (lowercase names) each ending in `\n`.
    pub headers: String,
    /// Its body.
    pub body: Vec<u8>,
}

/// The outbound HTTP of one handler: its settings, its client (built on first use, with the
/// checking resolver and the extra CA), and its counters. Shared by all its instances.
#[derive(Debug)]
pub struct OutboundHttp {
    handler: String,
    settings: OutboundSettings,
    lookup: Arc<dyn LookupHost>,
    client: OnceLock<Result<reqwest::Client, String>>,
    stats: Arc<HttpStats>,
}

/// A failed call: how it is counted and what the guest is told.
struct Refusal(HttpOutcome, String);

impl OutboundHttp {
    /// The outbound HTTP of `handler` with the system's resolver.
    pub fn new(handler: &str, settings: OutboundSettings) -> OutboundHttp {
        Self::with_lookup(handler, settings, Arc::new(SystemLookup))
    }

    /// The same with another way to look names up (tests: [`super::StaticLookup`]). The
    /// address rule applies to whatever it answers.
    pub fn with_lookup(
        handler: &str,
        settings: OutboundSettings,
        lookup: Arc<dyn LookupHost>,
    ) -> OutboundHttp {
        OutboundHttp {
            handler: handler.to_string(),
            settings,
            lookup,
            client: OnceLock::new(),
            stats: Arc::default(),
        }
    }

    /// A handler without a grant: every call is denied (and counted).
    pub fn denied(handler: &str) -> OutboundHttp {
        Self::new(handler, OutboundSettings::default())
    }

    /// The same, counting its calls into `stats` (the app's counters of this handler).
    pub fn counting_into(mut self, stats: Arc<HttpStats>) -> OutboundHttp {
        self.stats = stats;
        self
    }

    /// The counters of this handler's calls.
    #[cfg(any(test, feature = "internals"))]
    pub fn stats(&self) -> &HttpStats {
        &self.stats
    }

    /// Sends `request` as the `nth` request (1-based) of the current run of the handler, which
    /// must end by `deadline`. `Err`: the denial or failure for the guest (never holding a
    /// header value or the URL's query). Every call is counted.
    pub async fn send(
        &self,
        request: HttpRequest,
        nth: u32,
        deadline: Instant,
    ) -> Result<HttpAnswer, String> {
        match self.exchange(request, nth, deadline).await {
            Ok(answer) => {
                self.stats.record(HttpOutcome::Answered);
                Ok(answer)
            }
            Err(Refusal(outcome, message)) => {
                self.stats.record(outcome);
                Err(message)
            }
        }
    }

    fn deny(&self, message: String) -> Refusal {
        Refusal(HttpOutcome::Denied, message)
    }

    async fn exchange(
        &self,
        request: HttpRequest,
        nth: u32,
        deadline: Instant,
    ) -> Result<HttpAnswer, Refusal> {
        let handler = &self.handler;
        let allowed = &self.settings.allowed;
        let limits = &self.settings.limits;
        let shown = redact(&request.url);
        if allowed.is_empty() {
            let suggestion = Target::check(&request.url)
                .map(|t| format!("{}://{}", t.scheme().as_str(), t.host()))
                .unwrap_or_else(|_| "https://api.example.com".to_string());
            return Err(self.deny(format!(
                "denied: handler `{handler}` has no outbound HTTP grant; add the manifest key \
                 `allowed_outbound_hosts = [\"{suggestion}\"]` to let it reach a host"
            )));
        }
        if nth > limits.max_requests() {
            return Err(self.deny(format!(
                "denied: handler `{handler}` may make {} request{} per call (manifest key \
                 `http.max_requests`); this was request {nth}",
                limits.max_requests(),
                if limits.max_requests() == 1 { "" } else { "s" }
            )));
        }
        let upper = request.method.to_ascii_uppercase();
        let Some(method) = METHODS
            .contains(&upper.as_str())
            .then(|| Method::from_bytes(upper.as_bytes()).ok())
            .flatten()
        else {
            return Err(self.deny(format!(
                "denied: handler `{handler}` may not send {:?} {shown}: the method is not one of \
                 {}",
                request.method,
                METHODS.join(", ")
            )));
        };
        let target = Target::check(&request.url).map_err(|why| {
            self.deny(format!(
                "denied: handler `{handler}` may not send {method} {shown}: {why} (the URL is \
                 checked as it would be sent, before the manifest key `allowed_outbound_hosts`)"
            ))
        })?;
        self.allowed_or_denied(&method, &target, None)?;
        let headers = request_headers(&request.headers).map_err(|why| {
            self.deny(format!(
                "denied: handler `{handler}` may not send {method} {target}: {why}"
            ))
        })?;
        let len = request.body.len() as u64;
        if len > limits.max_request_bytes() {
            return Err(self.deny(format!(
                "denied: handler `{handler}` may not send {method} {target}: the body is {len} \
                 bytes, more than {} (manifest key `http.max_request_bytes`)",
                limits.max_request_bytes()
            )));
        }
        let client = self.client().map_err(|e| Refusal(HttpOutcome::Failed, e))?;
        let now = Instant::now();
        let budget = limits
            .timeout()
            .min(deadline.saturating_duration_since(now));
        let what = format!("{method} {target}");
        let hops = self.hops(client, method, target, headers, Bytes::from(request.body));
        match tokio::time::timeout_at((now + budget).into(), hops).await {
            Ok(result) => result,
            Err(_) => Err(Refusal(
                HttpOutcome::Timeout,
                format!(
                    "{what}: no answer within {budget:?} (manifest key `http.timeout_ms` is {} \
                     ms; a request also ends with the handler's `timeout_ms`)",
                    limits.timeout().as_millis()
                ),
            )),
        }
    }

    /// Step 5 for the first request (`hop` `None`) or a redirect hop.
    fn allowed_or_denied(
        &self,
        method: &Method,
        target: &Target,
        hop: Option<(&Target, StatusCode)>,
    ) -> Result<(), Refusal> {
        let allowed = &self.settings.allowed;
        if allowed.allowing(target).is_some() {
            return Ok(());
        }
        let handler = &self.handler;
        let near: Vec<String> = allowed
            .near_misses(target)
            .iter()
            .map(|e| e.to_string())
            .collect();
        let hint = if near.is_empty() {
            String::new()
        } else {
            format!("; the host is allowed only as {}", near.join(", "))
        };
        let what = match hop {
            None => format!("may not send {method} {target}"),
            Some((from, status)) => format!(
                "may not follow the redirect ({}) of {method} {from} to {target}",
                status.as_u16()
            ),
        };
        Err(self.deny(format!(
            "denied: handler `{handler}` {what}: no entry of its manifest key \
             `allowed_outbound_hosts` allows {}{hint} ({})",
            target.origin(),
            allowed.quoted()
        )))
    }

    fn client(&self) -> Result<&reqwest::Client, String> {
        self.client
            .get_or_init(|| build_client(&self.settings, self.lookup.clone()))
            .as_ref()
            .map_err(|e| e.clone())
    }

    /// Sends the request and follows redirects, each hop checked.
    async fn hops(
        &self,
        client: &reqwest::Client,
        mut method: Method,
        mut target: Target,
        mut headers: HeaderMap,
        mut body: Bytes,
    ) -> Result<HttpAnswer, Refusal> {
        let mut redirects = 0;
        loop {
            let what = format!("{method} {target}");
            let mut request = client
                .request(method.clone(), target.url().clone())
                .headers(headers.clone());
            if !body.is_empty() {
                request = request.body(body.clone());
            }
            let response = request
                .send()
                .await
                .map_err(|e| self.send_error(&what, &e))?;
            let status = response.status();
            let location = response.headers().get(reqwest::header::LOCATION).cloned();
            if let (true, Some(location)) = (is_redirect(status), location) {
                if redirects == MAX_REDIRECTS {
                    return Err(Refusal(
                        HttpOutcome::Failed,
                        format!("{what}: more than {MAX_REDIRECTS} redirects"),
                    ));
                }
                redirects += 1;
                let next = location
                    .to_str()
                    .ok()
                    .and_then(|l| target.url().join(l).ok())
                    .ok_or_else(|| {
                        Refusal(
                            HttpOutcome::Failed,
                            format!(
                                "{what}: the redirect ({}) has an unusable `Location`",
                                status.as_u16()
                            ),
                        )
                    })?;
                let next = Target::check(next.as_str()).map_err(|why| {
                    self.deny(format!(
                        "denied: handler `{}` may not follow the redirect ({}) of {what}: {why}",
                        self.handler,
                        status.as_u16()
                    ))
                })?;
                self.allowed_or_denied(&method, &next, Some((&target, status)))?;
                let to_get = status == StatusCode::SEE_OTHER && method != Method::HEAD
                    || matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND)
                        && method == Method::POST;
                if to_get {
                    method = Method::GET;
                    body = Bytes::new();
                    for name in [
                        "content-type",
                        "content-encoding",
                        "content-language",
                        "content-location",
                    ] {
                        headers.remove(name);
                    }
                }
                if !next.same_origin(&target) {
                    for name in ["authorization", "cookie", "proxy-authorization"] {
                        headers.remove(name);
                    }
                }
                target = next;
                continue;
            }
            let block = response_block(response.headers())
                .map_err(|e| Refusal(HttpOutcome::TooLarge, format!("{what}: {e}")))?;
            let body = self.read_body(response, &what).await?;
            return Ok(HttpAnswer {
                status: status.as_u16(),
                headers: block,
                body,
            });
        }
    }

    /// The body, refusing one over `http.max_response_bytes` without buffering it.
    async fn read_body(
        &self,
        mut response: reqwest::Response,
        what: &str,
    ) -> Result<Vec<u8>, Refusal> {
        let max = self.settings.limits.max_response_bytes();
        let too_big = || {
            Refusal(
                HttpOutcome::TooLarge,
                format!(
                    "{what}: the answer is larger than {max} bytes (manifest key \
                     `http.max_response_bytes`)"
                ),
            )
        };
        if response.content_length().is_some_and(|n| n > max) {
            return Err(too_big());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.send_error(what, &e))?
        {
            if (body.len() + chunk.len()) as u64 > max {
                return Err(too_big());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// A reqwest error as a refusal: the SSRF rule's denial, a timeout, or a failure.
    fn send_error(&self, what: &str, e: &reqwest::Error) -> Refusal {
        if let Some(refused) = refused_in(e) {
            return self.deny(format!(
                "denied: handler `{}` may not send {what}: {refused}; a host name in \
                 `allowed_outbound_hosts` never reaches the machine itself, a private network \
                 or a metadata service (list the IP address to mean it, or set \
                 `http.allow_private_addresses` for private networks)",
                self.handler
            ));
        }
        if e.is_timeout() {
            return Refusal(HttpOutcome::Timeout, format!("{what}: timed out"));
        }
        // reqwest's own message names the whole URL (query included): only its sources are
        // quoted.
        let mut chain = Vec::new();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            chain.push(s.to_string());
            source = s.source();
        }
        if chain.is_empty() {
            chain.push("the request failed".to_string());
        }
        Refusal(HttpOutcome::Failed, format!("{what}: {}", chain.join(": ")))
    }
}

/// 301, 302, 303, 307 and 308 are followed (300 and 304 are answers).
fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// A guest's URL for an error message before it is checked: at most 200 bytes, without its
/// query or fragment (which may carry a key).
fn redact(url: &str) -> String {
    let cut = url.find(['?', '#']).unwrap_or(url.len());
    let mut end = cut.min(200);
    while !url.is_char_boundary(end) {
        end -= 1;
    }
    let more = if end < url.len() { "…" } else { "" };
    format!("{:?}", format!("{}{more}", &url[..end]))
}

/// The client of one handler: no redirects (followed and checked here), no proxy (a proxy
/// would resolve names itself), the checking resolver, the public roots plus `http.tls_ca`.
fn build_client(
    settings: &OutboundSettings,
    lookup: Arc<dyn LookupHost>,
) -> Result<reqwest::Client, String> {
    let resolver = CheckedResolver::new(lookup, settings.allow_private_addresses);
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(Arc::new(resolver))
        .pool_idle_timeout(POOL_IDLE_TIMEOUT);
    if let Some(ca) = &settings.tls_ca {
        for cert in OutboundSettings::check_tls_ca(ca)? {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder
        .build()
        .map_err(|e| format!("cannot create the outbound HTTP client: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_never_prints_header_values_queries_or_bodies() {
        let r = HttpRequest {
            method: "POST".into(),
            url: "https://api.example.com/v1?key=sk-query".into(),
            headers: "Authorization: Bearer sk-header\nX-A: 1".into(),
            body: b"sk-body".to_vec(),
        };
        let shown = format!("{r:?}");
        assert!(
            shown.contains("Authorization") && shown.contains("body_bytes: 7"),
            "{shown}"
        );
        for secret in ["sk-query", "sk-header", "sk-body"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }

    #[test]
    fn redact_drops_the_query_and_long_tails() {
        assert_eq!(redact("https://h/p?key=secret"), "\"https://h/p…\"");
        assert_eq!(redact("https://h/p#x"), "\"https://h/p…\"");
        assert_eq!(redact("https://h/p"), "\"https://h/p\"");
        let long = format!("https://h/{}", "é".repeat(300));
        assert!(redact(&long).len() < 220);
    }
}
