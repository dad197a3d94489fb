//! The `http-send` import: counts the call against the run's `http.max_requests` and hands it
//! to the handler's [`crate::outbound::OutboundHttp`], which checks it (grant, URL as it will be
//! sent, allow-list, headers, body size), sends it, checks every redirect hop and every
//! address a host name resolves to, and counts the outcome. Everything happens within the
//! shorter of `http.timeout_ms` and what is left of the handler's `timeout_ms`. Denials and
//! failures are also written to the call's log at warn level (the URL without its query,
//! never a header value), so they show up in `aviary run` / `aviary invoke` output.

use crate::handler::LogLevel;
use crate::outbound::HttpRequest;
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
    let request = HttpRequest {
        method,
        url,
        headers,
        body,
    };
    let http = state.http.clone();
    match http
        .send(request, state.call.http_requests, state.deadline)
        .await
    {
        Ok(answer) => Ok((answer.status, answer.headers, answer.body)),
        Err(message) => {
            state
                .logs
                .log(LogLevel::Warn, format!("http-send: {message}"));
            Err(message)
        }
    }
}
