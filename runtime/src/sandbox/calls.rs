//! The host calls of the current run (`feishu-request`, `feishu-upload`, `http-send`), kept for
//! the run journal ([`crate::journal`]): method, path or URL without its query, and how it
//! ended, in one line — never a header, a body, a query string or a token. Capped at
//! [`MAX_CALLS_PER_RUN`]; the rest are counted and reported as one last entry.

use std::time::Duration;

use crate::handler::HostCall;
use crate::limits::journal::{MAX_CALLS_PER_RUN, MAX_DETAIL_BYTES};

/// One store's calls since the last [`CallLog::take`].
#[derive(Debug, Default)]
pub(crate) struct CallLog {
    calls: Vec<HostCall>,
    dropped: u32,
}

impl CallLog {
    /// Records one call (counts it past the cap).
    pub(crate) fn push(&mut self, call: HostCall) {
        if self.calls.len() < MAX_CALLS_PER_RUN {
            self.calls.push(call);
        } else {
            self.dropped = self.dropped.saturating_add(1);
        }
    }

    /// The calls recorded, plus one entry saying how many were not; empties the log.
    pub(crate) fn take(&mut self) -> Vec<HostCall> {
        let mut calls = std::mem::take(&mut self.calls);
        if self.dropped > 0 {
            calls.push(HostCall {
                import: "aviary",
                method: String::new(),
                target: String::new(),
                ok: false,
                status: None,
                answer: format!(
                    "{} more calls not recorded (at most {MAX_CALLS_PER_RUN} per run)",
                    self.dropped
                ),
                duration: Duration::ZERO,
            });
        }
        self.dropped = 0;
        calls
    }

    /// Forgets everything (a new call begins).
    pub(crate) fn reset(&mut self) {
        self.calls.clear();
        self.dropped = 0;
    }
}

/// `text` cut at `max` bytes (on a character boundary), with `…` when cut.
pub(crate) fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// A path or URL as shown: without its query, fragment or user info (`user:password@`), at
/// most 300 bytes.
pub(crate) fn without_query(target: &str) -> String {
    let end = target.find(['?', '#']).unwrap_or(target.len());
    let mut shown = target[..end].to_string();
    if let Ok(mut url) = url::Url::parse(target) {
        if !url.cannot_be_a_base() {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            url.set_query(None);
            url.set_fragment(None);
            shown = url.to_string();
        }
    }
    cut(&shown, 300)
}

/// An OpenAPI call's line: Feishu's `code` and `msg` and the ids a send or upload made
/// (`message_id`, `card_id`, `image_key`, `file_key`) for an answer the guest got; the error
/// otherwise. Nothing else of the answer (it may hold data the journal has no business
/// keeping).
pub(crate) fn openapi_answer(result: &Result<String, String>) -> String {
    let body = match result {
        Ok(body) => body,
        Err(e) => return cut(e, MAX_DETAIL_BYTES),
    };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(body) else {
        return format!("{} bytes (not JSON)", body.len());
    };
    let code = json.get("code").and_then(|c| c.as_i64()).unwrap_or(0);
    let mut line = format!("code {code}");
    if let Some(msg) = json.get("msg").and_then(|m| m.as_str()) {
        line.push_str(&format!(" ({})", cut(msg, 200)));
    }
    for key in ["message_id", "card_id", "image_key", "file_key"] {
        if let Some(id) = json["data"].get(key).and_then(|v| v.as_str()) {
            line.push_str(&format!(", {key} {}", cut(id, 100)));
        }
    }
    line
}

/// An `http-send` answer's line: status and size; the error otherwise.
pub(crate) fn http_answer(result: &Result<(u16, usize), String>) -> String {
    match result {
        Ok((status, bytes)) => format!("HTTP {status}, {bytes} bytes"),
        Err(e) => cut(e, MAX_DETAIL_BYTES),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_keep_code_message_and_ids_only() {
        let ok = Ok(
            r#"{"code":0,"msg":"success","data":{"message_id":"om_1","body":{"content":"private"}}}"#
                .to_string(),
        );
        assert_eq!(openapi_answer(&ok), "code 0 (success), message_id om_1");
        assert_eq!(openapi_answer(&Ok("<html>".into())), "6 bytes (not JSON)");
        let err: Result<String, String> = Err("x".repeat(5000));
        assert!(openapi_answer(&err).len() <= MAX_DETAIL_BYTES + 3);
        assert_eq!(http_answer(&Ok((204, 0))), "HTTP 204, 0 bytes");
        assert_eq!(without_query("https://h/p?key=secret#frag"), "https://h/p");
        assert_eq!(
            without_query("https://user:pass@h/p?x=1"),
            "https://h/p",
            "no user info"
        );
        assert_eq!(
            without_query("/open-apis/im/v1/messages?receive_id_type=chat_id"),
            "/open-apis/im/v1/messages"
        );
        assert_eq!(cut("héllo", 2), "h…");
    }

    #[test]
    fn the_log_is_capped_and_says_so() {
        let mut log = CallLog::default();
        let call = HostCall {
            import: "http-send",
            method: "GET".into(),
            target: "https://h/".into(),
            ok: true,
            status: Some(200),
            answer: String::new(),
            duration: Duration::ZERO,
        };
        for _ in 0..MAX_CALLS_PER_RUN + 3 {
            log.push(call.clone());
        }
        let calls = log.take();
        assert_eq!(calls.len(), MAX_CALLS_PER_RUN + 1);
        assert!(calls.last().unwrap().answer.starts_with("3 more calls"));
        assert!(log.take().is_empty());
    }
}
