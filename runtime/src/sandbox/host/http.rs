//! The `http-send` import: counts the call against the run's `http.max_requests` and hands it
//! to the handler's [`crate::outbound::OutboundHttp`], which checks it (grant, URL as it will be
//! sent, allow-list, headers, body size), sends it, checks every redirect hop and every
//! address a host name resolves to, and counts the outcome. Everything happens within the
//! shorter of `http.timeout_ms` and what is left of the handler's `timeout_ms`. Denials and
//! failures are also written to the call's log at warn level (the URL without its query,
//! never a header value), so they show up in `aviary run` / `aviary invoke` output. Every call
//! is recorded for the run journal ([`crate::sandbox::calls`]): method, URL without its query,
//! status and size.

use std::time::Instant;

use crate::handler::{HostCall, LogLevel};
use crate::outbound::HttpRequest;
use crate::sandbox::calls;
use crate::sandbox::state::HostState;

/// Runs one `http-send` call of the current handler run.
pub(crate) async fn send(
    state: &mut HostState,
    method: String,
    url: String,
    headers: String,
    body: Vec<u8>,
) -> Result<(u16, String, Vec<u8>), String> {
    state.call.http_requests = state.call.http_requests.saturating_add(1);
    let started = Instant::now();
    let (shown_method, target) = (method.to_ascii_uppercase(), calls::without_query(&url));
    let request = HttpRequest {
        method,
        url,
        headers,
        body,
    };
    let http = state.http.clone();
    let result = http
        .send(request, state.call.http_requests, state.deadline)
        .await;
    let summary = result
        .as_ref()
        .map(|a| (a.status, a.body.len()))
        .map_err(Clone::clone);
    state.calls.push(HostCall {
        import: "http-send",
        method: calls::cut(&shown_method, 16),
        target,
        ok: result.is_ok(),
        status: result.as_ref().ok().map(|a| a.status),
        answer: calls::http_answer(&summary),
        duration: started.elapsed(),
    });
    match result {
        Ok(answer) => Ok((answer.status, answer.headers, answer.body)),
        Err(message) => {
            state
                .logs
                .log(LogLevel::Warn, format!("http-send: {message}"));
            Err(message)
        }
    }
}
