//! The `card-stream-set` and `card-stream-flush` imports: streamed card content
//! ([`crate::openapi::stream`]). `set` checks the element's content path like
//! `feishu-request` (method `PUT`, the path rules, the grant), then hands the text to the
//! card's stream of this run and returns at once; `flush` waits for the stream within the
//! handler's deadline. Denials and failures are also logged at warn level.

use std::time::Instant;

use crate::handler::LogLevel;
use crate::limits::openapi::{MAX_CARD_STREAMS_PER_RUN, MAX_REQUEST_BYTES};
use crate::openapi::call::{check, denied_without_grant};
use crate::sandbox::state::HostState;

fn fail<T>(state: &HostState, what: &str, message: String) -> Result<T, String> {
    state.logs.log(LogLevel::Warn, format!("{what}: {message}"));
    Err(message)
}

/// An id that goes into the path as it is: 1..=64 of ASCII letters, digits, `_`, `-`.
fn check_id(what: &str, id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "the {what} {id:?} is not 1 to 64 ASCII letters, digits, `_` or `-`"
        ))
    }
}

/// `card-stream-set`.
pub(crate) fn set(
    state: &mut HostState,
    card_id: String,
    element_id: String,
    content: String,
) -> Result<(), String> {
    const WHAT: &str = "card-stream-set";
    let handler = state.call.handler.clone();
    if let Err(why) = check_id("card id", &card_id).and(check_id("element id", &element_id)) {
        return fail(state, WHAT, format!("handler `{handler}`: {why}"));
    }
    let path = format!("/open-apis/cardkit/v1/cards/{card_id}/elements/{element_id}/content");
    let Some(access) = state.openapi.clone() else {
        return fail(state, WHAT, denied_without_grant(&handler, &path));
    };
    let call = match check(
        &handler,
        &access.grant,
        access.client.domain(),
        "PUT",
        &path,
    ) {
        Ok(call) => call,
        Err(denied) => return fail(state, WHAT, denied),
    };
    if content.len() > MAX_REQUEST_BYTES - 64 {
        return fail(
            state,
            WHAT,
            format!("{call}: the content is {} bytes, too large", content.len()),
        );
    }
    if !state.streams.contains_key(&card_id) && state.streams.len() >= MAX_CARD_STREAMS_PER_RUN {
        return fail(
            state,
            WHAT,
            format!(
                "handler `{handler}`: at most {MAX_CARD_STREAMS_PER_RUN} cards are streamed in one run"
            ),
        );
    }
    let stream = state.streams.entry(card_id).or_default().clone();
    match stream.set(access.client.clone(), call, content) {
        Ok(()) => Ok(()),
        Err(e) => fail(state, WHAT, e),
    }
}

/// `card-stream-flush`.
pub(crate) async fn flush(state: &mut HostState, card_id: String) -> Result<u32, String> {
    const WHAT: &str = "card-stream-flush";
    let Some(stream) = state.streams.get(&card_id).cloned() else {
        let handler = state.call.handler.clone();
        return fail(
            state,
            WHAT,
            format!("handler `{handler}`: no content was set on card {card_id:?} in this run"),
        );
    };
    let deadline = tokio::time::Instant::from_std(state.deadline.max(Instant::now()));
    match stream.flush(deadline).await {
        Ok(sequence) => Ok(sequence),
        Err(e) => fail(state, WHAT, e),
    }
}
