//! The `feishu-request` import: checks the handler's grant (manifest key `openapi`; no grant
//! means denied), the method, path and body, adds the idempotency `uuid` to send and reply
//! ([`crate::openapi::idempotency`]) and sends the request through the app's client
//! ([`crate::openapi::FeishuClient`]) within the shorter of the per-request timeout and what
//! is left of the handler's `timeout_ms`. Denials and host-side failures are also written to
//! the call's log at warn level, so they show up in `aviary run` / `aviary invoke` output.

use std::time::Instant;

use crate::handler::LogLevel;
use crate::limits::openapi::REQUEST_TIMEOUT;
use crate::openapi::grant::{path_problem, METHODS};
use crate::openapi::idempotency::{derive_uuid, takes_uuid, with_uuid};
use crate::sandbox::state::HostState;

/// Runs one `feishu-request` call of the current handler run.
pub(crate) async fn request(
    state: &mut HostState,
    method: String,
    path: String,
    body: String,
) -> Result<String, String> {
    let index = state.call.next_request;
    state.call.next_request = index.saturating_add(1);
    let handler = state.call.handler.clone();
    let method = method.to_ascii_uppercase();
    let fail = |state: &HostState, message: String| {
        state
            .logs
            .log(LogLevel::Warn, format!("feishu-request: {message}"));
        Err(message)
    };
    let Some(access) = state.openapi.clone() else {
        return fail(
            state,
            format!(
                "denied: handler `{handler}` has no OpenAPI grant; add the manifest key \
                 `openapi = [\"{}\"]` (path prefixes) to its [[handler]] to allow it",
                api_prefix(&path)
            ),
        );
    };
    if !METHODS.contains(&method.as_str()) {
        return fail(
            state,
            format!("`{method}` is not one of {METHODS:?} (handler `{handler}`)"),
        );
    }
    if let Some(why) = path_problem(&path) {
        return fail(
            state,
            format!("bad path {path:?}: {why} (handler `{handler}`)"),
        );
    }
    if !access.grant.allows(&path) {
        return fail(
            state,
            format!(
                "denied: handler `{handler}` may not call {method} {path}: it is not under \
                 any prefix of its manifest key `openapi` ({:?})",
                access.grant.prefixes
            ),
        );
    }
    let body = if takes_uuid(&method, &path) {
        let key = derive_uuid(
            access.client.app_id(),
            &handler,
            &state.call.dedupe_id,
            index,
        );
        match with_uuid(&body, &key) {
            Ok(b) => b,
            Err(why) => {
                return fail(
                    state,
                    format!("{method} {path}: {why} (handler `{handler}`)"),
                )
            }
        }
    } else {
        body
    };
    let left = state.deadline.saturating_duration_since(Instant::now());
    let timeout = left.min(REQUEST_TIMEOUT);
    let result = access.client.request(&method, &path, &body, timeout).await;
    if let Err(e) = &result {
        state
            .logs
            .log(LogLevel::Warn, format!("feishu-request failed: {e}"));
    }
    result
}

/// The first three segments after `/open-apis/` of `path` (e.g. `/open-apis/im/v1/messages`),
/// as a suggestion for the grant; the generic root when the path is not an OpenAPI path.
fn api_prefix(path: &str) -> String {
    let Some(rest) = path.strip_prefix("/open-apis/") else {
        return "/open-apis/…".to_string();
    };
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let segments: Vec<&str> = rest.split('/').take(3).collect();
    format!("/open-apis/{}", segments.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_suggested_grant_is_the_api_prefix() {
        assert_eq!(
            api_prefix("/open-apis/im/v1/messages/om_1/reply"),
            "/open-apis/im/v1/messages"
        );
        assert_eq!(api_prefix("/x"), "/open-apis/…");
    }
}
