//! The `feishu-request` import: checks the call against the handler's grant (manifest key
//! `openapi`; no grant means denied) with [`crate::openapi::call::check`] — method, then the
//! path as it will be sent, then the grant — adds the idempotency `uuid` to send and reply
//! ([`crate::openapi::idempotency`]) and sends the checked call through the app's client
//! ([`crate::openapi::FeishuClient`]) within the shorter of the per-request timeout and what
//! is left of the handler's `timeout_ms`. Denials and host-side failures are also written to
//! the call's log at warn level, so they show up in `aviary run` / `aviary invoke` output.

use std::time::Instant;

use crate::handler::LogLevel;
use crate::limits::openapi::REQUEST_TIMEOUT;
use crate::openapi::call::{check, denied_without_grant};
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
    let fail = |state: &HostState, message: String| {
        state
            .logs
            .log(LogLevel::Warn, format!("feishu-request: {message}"));
        Err(message)
    };
    let Some(access) = state.openapi.clone() else {
        return fail(state, denied_without_grant(&handler, &path));
    };
    let call = match check(
        &handler,
        &access.grant,
        access.client.domain(),
        &method,
        &path,
    ) {
        Ok(call) => call,
        Err(denied) => return fail(state, denied),
    };
    let method = call.method().as_str();
    let checked_path = call.url().path();
    let body = if takes_uuid(method, checked_path) {
        let key = derive_uuid(
            access.client.app_id(),
            &handler,
            &state.call.dedupe_id,
            index,
        );
        match with_uuid(&body, &key) {
            Ok(b) => b,
            Err(why) => return fail(state, format!("{call}: {why} (handler `{handler}`)")),
        }
    } else {
        body
    };
    let left = state.deadline.saturating_duration_since(Instant::now());
    let timeout = left.min(REQUEST_TIMEOUT);
    // The guest gets the error's one line: a message is the product here.
    let result = access
        .client
        .request(&call, &body, timeout)
        .await
        .map_err(|e| e.to_string());
    if let Err(e) = &result {
        state
            .logs
            .log(LogLevel::Warn, format!("feishu-request failed: {e}"));
    }
    result
}
