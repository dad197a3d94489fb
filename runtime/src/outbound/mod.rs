//! Outbound HTTP from handlers (the `http-send` import): denied by default, granted per handler
//! by the manifest key `allowed_outbound_hosts`, enforced here for every guest language.
//!
//! - [`written`]: scheme, host and port as written, and the spellings refused as ambiguous.
//! - [`allow`]: the allow-list (`scheme://host[:port]`, `*.` for subdomains) and its matcher.
//! - [`target`]: a guest's URL checked once into the [`Target`] that is matched and sent.
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

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use allow::{AllowList, AllowedHost, EntryProblem, Scheme};
pub use client::{HttpAnswer, HttpRequest, OutboundHttp};
pub use resolve::{LookupHost, StaticLookup, SystemLookup};
pub use stats::{HttpOutcome, HttpStats, HttpStatsSnapshot};
pub use target::Target;

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

/// The limits of one handler's requests; defaults in [`crate::limits::http`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Largest request body.
    pub max_request_bytes: u64,
    /// Largest response body.
    pub max_response_bytes: u64,
    /// Longest request (redirects and body included); never longer than what is left of the
    /// handler's call.
    pub timeout: Duration,
    /// Requests one call may make.
    pub max_requests: u32,
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
    /// Checks a body limit (`1..=`[`lim::MAX_BODY_BYTES_BOUND`]).
    pub fn check_body_bytes(n: u64) -> Result<u64, OutOfRange> {
        crate::limits::within(n, lim::MAX_BODY_BYTES_BOUND)
    }

    /// Checks `http.timeout_ms` (`1..=` the largest handler timeout).
    pub fn check_timeout_ms(ms: u64) -> Result<Duration, OutOfRange> {
        let max = crate::limits::sandbox::MAX_TIMEOUT.as_millis() as u64;
        crate::limits::within(ms, max).map(Duration::from_millis)
    }

    /// Checks `http.max_requests` (`1..=`[`lim::MAX_REQUESTS_PER_CALL_BOUND`]).
    pub fn check_max_requests(n: u64) -> Result<u32, OutOfRange> {
        crate::limits::within(n, lim::MAX_REQUESTS_PER_CALL_BOUND as u64).map(|n| n as u32)
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
        let mut s = format!(
            "{}; timeout {} ms, request body ≤ {}, response body ≤ {}, ≤ {} request{} per call",
            self.allowed.summary(),
            l.timeout.as_millis(),
            size(l.max_request_bytes),
            size(l.max_response_bytes),
            l.max_requests,
            if l.max_requests == 1 { "" } else { "s" }
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

/// [`OutboundSettings::summary`] of a handler's settings, or the denial when it has none.
pub fn grant_summary(settings: Option<&OutboundSettings>) -> String {
    match settings {
        Some(s) => s.summary(),
        None => OutboundSettings::default().summary(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_checked_against_their_bounds() {
        assert_eq!(HttpLimits::check_body_bytes(1), Ok(1));
        assert!(HttpLimits::check_body_bytes(0).is_err());
        assert!(HttpLimits::check_body_bytes(lim::MAX_BODY_BYTES_BOUND + 1).is_err());
        assert_eq!(
            HttpLimits::check_timeout_ms(250),
            Ok(Duration::from_millis(250))
        );
        assert!(HttpLimits::check_timeout_ms(300_001).is_err());
        assert_eq!(HttpLimits::check_max_requests(3), Ok(3));
        assert!(HttpLimits::check_max_requests(1_001).is_err());
    }

    #[test]
    fn the_summary_says_what_is_granted() {
        assert_eq!(grant_summary(None), "none (every http-send is denied)");
        let s = OutboundSettings {
            allowed: AllowList::parse(&["https://api.example.com", "http://127.0.0.1:8080"])
                .unwrap(),
            limits: HttpLimits {
                max_requests: 1,
                ..HttpLimits::default()
            },
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
