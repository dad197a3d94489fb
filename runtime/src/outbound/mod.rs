//! Outbound HTTP from handlers (the `http-send` import): denied by default, granted per handler
//! by the manifest key `allowed_outbound_hosts`, enforced here for every guest language.
//!
//! - [`written`]: scheme, host and port as written, and the spellings refused as ambiguous.
//! - [`allow`]: the allow-list (`scheme://host[:port]`, `*.` for subdomains) and its matcher.
//! - [`target`]: a guest's URL checked once into the [`Target`](target::Target) that is matched and sent.
//! - [`addr`]: which addresses a host *name* may resolve to (no loopback, private, link-local,
//!   CGNAT or metadata addresses).
//! - [`resolve`]: resolution that checks every address and connects only to checked ones
//!   (DNS rebinding), and the lookup a test can replace.
//! - [`headers`]: request headers (no `Host`, hop-by-hop dropped) and response headers.
//! - [`client`]: one request, every redirect hop checked again, within the limits.
//! - [`stats`]: calls counted per handler and outcome.
//!
//! The order of the checks, the limits and how they are tested are in `docs/capabilities.md`
//! ("Outbound HTTP"). The host adds no credential to these requests: neither the app secret nor
//! the tenant token is known to this module, and header values are never logged.

pub mod addr;
pub mod allow;
pub mod client;
pub mod headers;
pub mod resolve;
pub mod stats;
pub mod target;
pub mod written;

#[cfg(test)]
mod properties;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use allow::AllowList;
pub use client::{HttpRequest, OutboundHttp};
pub use resolve::LookupHost;
#[cfg(any(test, feature = "internals"))]
pub use resolve::StaticLookup;
pub use stats::{HttpOutcome, OutboundStats};
#[cfg(any(test, feature = "internals"))]
pub use stats::{HttpStats, HttpStatsSnapshot};

use crate::limits::http as lim;
use crate::limits::OutOfRange;

/// One handler's outbound HTTP as the manifest states it (`allowed_outbound_hosts` and
/// `[handler.http]`); built by the manifest, checked by the functions here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboundSettings {
    /// Where requests may go. Empty: every request is denied.
    pub allowed: AllowList,
    /// The per-request and per-call limits.
    pub limits: HttpLimits,
    /// `http.tls_ca`: a PEM file of CA certificates trusted in addition to the public roots.
    pub tls_ca: Option<PathBuf>,
    /// `http.allow_private_addresses`: host names may resolve to loopback and private-network
    /// addresses (never link-local or metadata ones).
    pub allow_private_addresses: bool,
}

/// The limits of one handler's requests (`[handler.http]`); defaults in
/// [`crate::limits::http`]. Valid by construction: each `with_*` checks its bound once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    max_request_bytes: u64,
    max_response_bytes: u64,
    timeout: Duration,
    max_requests: u32,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_request_bytes: lim::MAX_REQUEST_BYTES,
            max_response_bytes: lim::MAX_RESPONSE_BYTES,
            timeout: lim::REQUEST_TIMEOUT,
            max_requests: lim::MAX_REQUESTS_PER_CALL,
        }
    }
}

impl HttpLimits {
    /// Largest request body.
    pub fn max_request_bytes(&self) -> u64 {
        self.max_request_bytes
    }

    /// Largest response body.
    pub fn max_response_bytes(&self) -> u64 {
        self.max_response_bytes
    }

    /// Longest request (redirects and body included); never longer than what is left of the
    /// handler's call.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Requests one call may make.
    pub fn max_requests(&self) -> u32 {
        self.max_requests
    }

    /// With `http.max_request_bytes` (`1..=`[`lim::MAX_BODY_BYTES_BOUND`]).
    pub fn with_max_request_bytes(self, n: u64) -> Result<Self, OutOfRange> {
        let max_request_bytes = crate::limits::within(n, lim::MAX_BODY_BYTES_BOUND)?;
        Ok(HttpLimits {
            max_request_bytes,
            ..self
        })
    }

    /// With `http.max_response_bytes` (`1..=`[`lim::MAX_BODY_BYTES_BOUND`]).
    pub fn with_max_response_bytes(self, n: u64) -> Result<Self, OutOfRange> {
        let max_response_bytes = crate::limits::within(n, lim::MAX_BODY_BYTES_BOUND)?;
        Ok(HttpLimits {
            max_response_bytes,
            ..self
        })
    }

    /// With `http.timeout_ms` (`1..=` the largest handler timeout).
    pub fn with_timeout_ms(self, ms: u64) -> Result<Self, OutOfRange> {
        let max = crate::limits::sandbox::MAX_TIMEOUT.as_millis() as u64;
        let ms = crate::limits::within(ms, max)?;
        Ok(HttpLimits {
            timeout: Duration::from_millis(ms),
            ..self
        })
    }

    /// With `http.max_requests` (`1..=`[`lim::MAX_REQUESTS_PER_CALL_BOUND`]).
    pub fn with_max_requests(self, n: u64) -> Result<Self, OutOfRange> {
        let n = crate::limits::within(n, lim::MAX_REQUESTS_PER_CALL_BOUND as u64)?;
        Ok(HttpLimits {
            max_requests: n as u32,
            ..self
        })
    }
}

impl OutboundSettings {
    /// Checks a `http.tls_ca` file: readable, at most [`lim::TLS_CA_MAX_BYTES`], and holding
    /// at least one PEM certificate. Returns the certificates.
    pub fn check_tls_ca(path: &Path) -> Result<Vec<reqwest::Certificate>, String> {
        let len = std::fs::metadata(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?
            .len();
        if len > lim::TLS_CA_MAX_BYTES {
            return Err(format!(
                "{} is {len} bytes, more than {} (not a CA file)",
                path.display(),
                lim::TLS_CA_MAX_BYTES
            ));
        }
        let pem =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
            return Err(format!("{} holds no PEM certificate", path.display()));
        }
        reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("{}: not a usable PEM certificate: {e}", path.display()))
    }

    /// What a handler may reach, for `aviary check` and `aviary invoke`.
    pub fn summary(&self) -> String {
        if self.allowed.is_empty() {
            return "none (every http-send is denied)".to_string();
        }
        let l = &self.limits;
        let (timeout, max_requests) = (l.timeout(), l.max_requests());
        let mut s = format!(
            "{}; timeout {} ms, request body ≤ {}, response body ≤ {}, ≤ {} request{} per call",
            self.allowed.summary(),
            timeout.as_millis(),
            size(l.max_request_bytes()),
            size(l.max_response_bytes()),
            max_requests,
            if max_requests == 1 { "" } else { "s" }
        );
        if let Some(ca) = &self.tls_ca {
            s.push_str(&format!(", also trusting the CA in {}", ca.display()));
        }
        if self.allow_private_addresses {
            s.push_str(", names may resolve to private addresses");
        }
        s
    }
}

/// `n` bytes for people: `1 MiB`, `64 KiB`, `1000 B`.
fn size(n: u64) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} B"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_checked_against_their_bounds() {
        let d = HttpLimits::default();
        assert_eq!(d.with_max_request_bytes(1).unwrap().max_request_bytes(), 1);
        assert!(d.with_max_request_bytes(0).is_err());
        assert!(d
            .with_max_response_bytes(lim::MAX_BODY_BYTES_BOUND + 1)
            .is_err());
        assert_eq!(
            d.with_timeout_ms(250).unwrap().timeout(),
            Duration::from_millis(250)
        );
        let e = d.with_timeout_ms(300_001).unwrap_err();
        assert_eq!(e.to_string(), "must be between 1 and 300000 (got 300001)");
        assert_eq!(d.with_max_requests(3).unwrap().max_requests(), 3);
        assert!(d.with_max_requests(1_001).is_err());
        assert_eq!(d.max_requests(), lim::MAX_REQUESTS_PER_CALL);
    }

    #[test]
    fn the_summary_says_what_is_granted() {
        assert_eq!(
            OutboundSettings::default().summary(),
            "none (every http-send is denied)"
        );
        let s = OutboundSettings {
            allowed: AllowList::parse(&["https://api.example.com", "http://127.0.0.1:8080"])
                .unwrap(),
            limits: HttpLimits::default().with_max_requests(1).unwrap(),
            tls_ca: Some("ca.pem".into()),
            allow_private_addresses: true,
        };
        assert_eq!(
            s.summary(),
            "https://api.example.com, http://127.0.0.1:8080; timeout 10000 ms, request body ≤ \
             1 MiB, response body ≤ 1 MiB, ≤ 1 request per call, also trusting the CA \
             in ca.pem, names may resolve to private addresses"
        );
    }

    #[test]
    fn a_tls_ca_file_must_hold_a_certificate() {
        let dir = std::env::temp_dir().join(format!("aviary-outbound-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("ca.pem");
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        std::fs::write(&good, cert.cert.pem()).unwrap();
        assert_eq!(OutboundSettings::check_tls_ca(&good).unwrap().len(), 1);
        let bad = dir.join("bad.pem");
        std::fs::write(&bad, "hello").unwrap();
        assert!(OutboundSettings::check_tls_ca(&bad)
            .unwrap_err()
            .contains("no PEM certificate"));
        assert!(OutboundSettings::check_tls_ca(&dir.join("missing.pem"))
            .unwrap_err()
            .contains("cannot read"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
