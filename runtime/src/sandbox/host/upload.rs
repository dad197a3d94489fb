//! The `feishu-upload` import: a multipart POST to a granted OpenAPI path. The path and the
//! grant are checked exactly as for `feishu-request` ([`crate::openapi::call::check`], method
//! `POST`), the form and file by [`Upload::new`]; then the checked call is sent through the
//! app's client within the shorter of [`UPLOAD_TIMEOUT`] and what is left of the handler's
//! `timeout_ms`. Denials and failures are also logged at warn level.

use std::time::Instant;

use crate::handler::LogLevel;
use crate::limits::openapi::UPLOAD_TIMEOUT;
use crate::openapi::call::{check, denied_without_grant};
use crate::openapi::upload::Upload;
use crate::sandbox::state::HostState;

/// Runs one `feishu-upload` call of the current handler run.
pub(crate) async fn upload(
    state: &mut HostState,
    path: String,
    form: String,
    file_field: String,
    file_name: String,
    bytes: Vec<u8>,
) -> Result<String, String> {
    let handler = state.call.handler.clone();
    let fail = |state: &HostState, message: String| {
        state
            .logs
            .log(LogLevel::Warn, format!("feishu-upload: {message}"));
        Err(message)
    };
    let Some(access) = state.openapi.clone() else {
        return fail(state, denied_without_grant(&handler, &path));
    };
    let call = match check(
        &handler,
        &access.grant,
        access.client.domain(),
        "POST",
        &path,
    ) {
        Ok(call) => call,
        Err(denied) => return fail(state, denied),
    };
    let upload = match Upload::new(&form, &file_field, &file_name, bytes) {
        Ok(u) => u,
        Err(why) => return fail(state, format!("{call}: {why} (handler `{handler}`)")),
    };
    let left = state.deadline.saturating_duration_since(Instant::now());
    let result = access
        .client
        .upload(&call, &upload, left.min(UPLOAD_TIMEOUT))
        .await
        .map_err(|e| e.to_string());
    if let Err(e) = &result {
        state
            .logs
            .log(LogLevel::Warn, format!("feishu-upload failed: {e}"));
    }
    result
}
