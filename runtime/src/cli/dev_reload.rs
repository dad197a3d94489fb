//! How `aviary dev` applies a change to the `aviary run` it started: `POST /control/reload` on
//! the app's admin server (loopback, no token: the dev manifest has none), read as a
//! [`Reloaded`].
//!
//! A refused reload (422) lists its problems one a line, and says `"needs_restart": true` when
//! every one is a change only a restart applies (`[queue]`, `feishu.app_id`, `[admin]`, bursts
//! merged, handlers added to an app started without any): then `aviary dev` restarts the app;
//! any other problem (a component that does not load, new connection options refused) is
//! reported and the running app kept.

use std::net::SocketAddr;

use serde_json::Value;

/// What came of asking the app to reload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reloaded {
    /// Applied: each app's summary (`generation N: added …, removed …, reloaded …, kept …`).
    Applied(Vec<String>),
    /// Refused only for changes that need a restart: the problems.
    NeedsRestart(Vec<String>),
    /// Refused for a problem of the new configuration: the problems (the app runs on).
    Refused(Vec<String>),
    /// The app did not answer, or answered something else (stopped): why.
    Unreachable(String),
}

/// Asks the admin server at `admin` to reload and waits for the answer (compiling a changed
/// component takes a while: [`crate::limits::admin::CTL_RELOAD_TIMEOUT`]).
pub async fn reload(admin: SocketAddr) -> Reloaded {
    let http = match reqwest::Client::builder()
        .timeout(crate::limits::admin::CTL_RELOAD_TIMEOUT)
        .build()
    {
        Ok(c) => c,
        Err(e) => return Reloaded::Unreachable(e.to_string()),
    };
    let answer = match http
        .post(format!("http://{admin}/control/reload"))
        .send()
        .await
    {
        Ok(a) => a,
        Err(e) => {
            return Reloaded::Unreachable(format!(
                "the admin server at {admin} does not answer: {}",
                e.without_url()
            ))
        }
    };
    let status = answer.status().as_u16();
    let body: Value = answer.json().await.unwrap_or(Value::Null);
    read_answer(status, &body)
}

/// Reads the admin server's answer to `POST /control/reload`.
pub fn read_answer(status: u16, body: &Value) -> Reloaded {
    match status {
        200 => Reloaded::Applied(
            body["apps"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| a["summary"].as_str().unwrap_or("?").to_string())
                .collect(),
        ),
        422 => {
            let error = body["error"].as_str().unwrap_or_default();
            let mut lines = error.lines().peekable();
            if lines
                .peek()
                .is_some_and(|l| l.starts_with("reload refused"))
            {
                lines.next();
            }
            let problems: Vec<String> = lines
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string)
                .collect();
            if !problems.is_empty() && body["needs_restart"] == Value::Bool(true) {
                Reloaded::NeedsRestart(problems)
            } else if problems.is_empty() {
                Reloaded::Refused(vec![error.to_string()])
            } else {
                Reloaded::Refused(problems)
            }
        }
        _ => Reloaded::Unreachable(format!(
            "HTTP {status}: {}",
            body["error"].as_str().unwrap_or("no reason given")
        )),
    }
}


#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_are_read_as_applied_restart_refused_or_unreachable() {
        let applied = json!({"action": "reload", "apps": [{"app": "cli_1", "generation": 2,
            "summary": "generation 2: added none, removed none, reloaded bot, kept none"}]});
        assert_eq!(
            read_answer(200, &applied),
            Reloaded::Applied(vec![
                "generation 2: added none, removed none, reloaded bot, kept none".into()
            ])
        );
        let queue = json!({"error": "reload refused; still running the previous configuration:\n.aviary-dev.toml: [queue]: changed; the queue (backend, path, capacity, dedupe, ack) is opened once — restart to apply it", "needs_restart": true});
        assert_eq!(
            read_answer(422, &queue),
            Reloaded::NeedsRestart(vec![".aviary-dev.toml: [queue]: changed; the queue (backend, path, capacity, dedupe, ack) is opened once — restart to apply it".into()])
        );
        let mixed = json!({"error": "reload refused; still running the previous configuration:\nx.toml: [queue]: changed; restart to apply it\nx.toml:5:1: handler.component: handler `bot`: not a component"});
        assert_eq!(
            read_answer(422, &mixed),
            Reloaded::Refused(vec![
                "x.toml: [queue]: changed; restart to apply it".into(),
                "x.toml:5:1: handler.component: handler `bot`: not a component".into()
            ]),
            "a broken component keeps the running app even beside a restart change"
        );
        let named = json!({"error": "reload refused; still running the previous configuration:\nx.toml:5:1: handler.component: handler `restart-bot`: not a component"});
        assert_eq!(
            read_answer(422, &named),
            Reloaded::Refused(vec![
                "x.toml:5:1: handler.component: handler `restart-bot`: not a component".into()
            ]),
            "only the server's needs_restart makes a restart, never a word in a problem"
        );
        assert_eq!(
            read_answer(422, &json!({"error": "odd"})),
            Reloaded::Refused(vec!["odd".into()])
        );
        assert_eq!(
            read_answer(503, &json!({"error": "stopped"})),
            Reloaded::Unreachable("HTTP 503: stopped".into())
        );
    }
}
