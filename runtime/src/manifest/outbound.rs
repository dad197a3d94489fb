//! `allowed_outbound_hosts` and `[handler.http]` of one `[[handler]]`, built into
//! [`OutboundSettings`] with the checks of [`crate::outbound`]; each bad value is reported at
//! its `file:line:col` with its key.

use std::path::Path;

use super::handlers::Problems;
use super::raw::RawHandler;
use crate::limits::OutOfRange;
use crate::outbound::{AllowList, HttpLimits, OutboundSettings};

/// The handler's outbound HTTP settings (the defaults where a value is missing or wrong; the
/// problems are in `p`).
pub(super) fn settings(
    p: &mut Problems<'_, '_>,
    raw: &RawHandler,
    base: &Path,
    who: &str,
) -> OutboundSettings {
    let written: Vec<_> = raw
        .allowed_outbound_hosts
        .iter()
        .flat_map(|l| l.get_ref())
        .collect();
    let values: Vec<&str> = written.iter().map(|v| v.get_ref().as_str()).collect();
    let allowed = AllowList::parse(&values).unwrap_or_else(|problems| {
        for problem in problems {
            let span = written[problem.index].span();
            p.add(
                &span,
                "handler.allowed_outbound_hosts",
                format!("{who}: {}", problem.message),
            );
        }
        AllowList::default()
    });
    let Some(http) = &raw.http else {
        return OutboundSettings {
            allowed,
            ..OutboundSettings::default()
        };
    };
    let mut limits = HttpLimits::default();
    let mut set =
        |v: &Option<toml::Spanned<u64>>,
         key: &str,
         with: &dyn Fn(HttpLimits, u64) -> Result<HttpLimits, OutOfRange>| {
            if let Some(v) = v {
                match with(limits, *v.get_ref()) {
                    Ok(l) => limits = l,
                    Err(e) => p.add(&v.span(), key, format!("{who}: {e}")),
                }
            }
        };
    set(
        &http.max_request_bytes,
        "handler.http.max_request_bytes",
        &|l, n| l.with_max_request_bytes(n),
    );
    set(
        &http.max_response_bytes,
        "handler.http.max_response_bytes",
        &|l, n| l.with_max_response_bytes(n),
    );
    set(&http.timeout_ms, "handler.http.timeout_ms", &|l, n| {
        l.with_timeout_ms(n)
    });
    set(&http.max_requests, "handler.http.max_requests", &|l, n| {
        l.with_max_requests(n)
    });
    let tls_ca = http.tls_ca.as_ref().and_then(|v| {
        let path = base.join(v.get_ref().trim());
        match OutboundSettings::check_tls_ca(&path) {
            Ok(_) => Some(path),
            Err(why) => {
                p.add(&v.span(), "handler.http.tls_ca", format!("{who}: {why}"));
                None
            }
        }
    });
    OutboundSettings {
        allowed,
        limits,
        tls_ca,
        allow_private_addresses: http
            .allow_private_addresses
            .as_ref()
            .is_some_and(|v| *v.get_ref()),
    }
}
