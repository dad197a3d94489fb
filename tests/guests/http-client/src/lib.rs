//! Makes the outbound HTTP requests its config lists, through the Rust SDK's client
//! (`aviary_guest::http`), and logs each result, so a test can drive any request from the
//! manifest and read what the guest got back:
//!
//! - `request_0`, `request_1`, …: `"METHOD URL"`; optional `header_<i>` (`name: value` lines
//!   separated by `|`) and `body_<i>`.
//! - Logs `http <i> ok <status> <body>` (the body as text, cut at 4,000 bytes) or
//!   `http <i> err <error>` for each, then `http done <n>`.
//! - `feishu_first = "METHOD PATH"`: one `feishu-request` (body `{}`, empty for GET) before the
//!   HTTP requests, its result the first line (`feishu ok …` / `feishu err …`).
//! - A card callback is answered with `{"results": [<the lines above, without "http done">]}`,
//!   so a test reads them from the ack; for other events the run answers `done`, or `retry`
//!   when a request failed and `outcome = "retry-on-error"`.
use aviary_guest::prelude::*;

struct Client;

impl Handler for Client {
    fn handle(event: Event) -> Outcome {
        let mut results = Vec::new();
        if let Some(call) = config::get("feishu_first") {
            let (method, path) = call.split_once(' ').unwrap_or(("GET", call.as_str()));
            let body = if method == "GET" { "" } else { "{}" };
            results.push(match feishu::request(method, path, body) {
                Ok(answer) => format!("feishu ok {answer}"),
                Err(e) => format!("feishu err {e}"),
            });
        }
        let mut n = 0;
        let mut failed = false;
        while let Some(line) = config::get(&format!("request_{n}")) {
            let (method, url) = line.split_once(' ').unwrap_or(("GET", line.as_str()));
            let mut request = http::Request::new(method, url);
            if let Some(headers) = config::get(&format!("header_{n}")) {
                for h in headers.split('|') {
                    let (name, value) = h.split_once(':').unwrap_or((h, ""));
                    request = request.header(name.trim(), value.trim());
                }
            }
            if let Some(body) = config::get(&format!("body_{n}")) {
                request = request.body(body);
            }
            match request.send() {
                Ok(answer) => {
                    let text = String::from_utf8_lossy(answer.bytes());
                    let cut: String = text.chars().take(4000).collect();
                    results.push(format!("http {n} ok {} {cut}", answer.status()));
                }
                Err(e) => {
                    failed = true;
                    results.push(format!("http {n} err {e}"));
                }
            }
            n += 1;
        }
        for line in &results {
            info!("{line}");
        }
        info!("http done {n}");
        if event.kind == EventKind::Callback {
            return Outcome::respond(&serde_json::json!({ "results": results }));
        }
        if failed && config::get("outcome").as_deref() == Some("retry-on-error") {
            return Outcome::retry("a request failed");
        }
        Outcome::done()
    }
}

aviary_guest::export_handler!(Client);
