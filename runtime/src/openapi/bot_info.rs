//! The bot's own identity, for the filters that need it (`require_mention`, and
//! `ignore_senders` telling this bot from others): `GET /open-apis/bot/v3/info` answers
//! `{"code":0,"bot":{"open_id":"ou_…","app_name":…}}`. The request goes through the same
//! checked path and client as a handler's (token added by the host, never logged).
//!
//! `im.chat.member.bot.added_v1` does not carry the bot's open_id (only the chat and the
//! operator), so it cannot teach it; `[feishu] bot_open_id` or this API are the two sources.

use std::time::Duration;

use serde_json::Value;

use super::{call, FeishuClient, OpenApiApp, OpenApiGrant};

/// The bot info API.
pub const BOT_INFO_PATH: &str = "/open-apis/bot/v3/info";

/// Asks Feishu for the bot's open_id as `app`, within `timeout`. The error names the API and
/// what went wrong (never the token or the secret).
pub async fn fetch_open_id(app: &OpenApiApp, timeout: Duration) -> Result<String, String> {
    let grant = OpenApiGrant::parse(&[format!("GET {BOT_INFO_PATH}")])
        .map_err(|_| "the bot info grant does not parse".to_string())?;
    let named = |e: &dyn std::fmt::Display| {
        let e = e.to_string();
        if e.contains(BOT_INFO_PATH) {
            e
        } else {
            format!("GET {BOT_INFO_PATH}: {e}")
        }
    };
    let checked =
        call::check("aviary", &grant, &app.domain, "GET", BOT_INFO_PATH).map_err(|e| named(&e))?;
    let client = FeishuClient::new(app.clone()).map_err(|e| named(&e))?;
    let body = client
        .request(&checked, "", timeout)
        .await
        .map_err(|e| named(&e))?;
    open_id_of(&body)
}

/// The `bot.open_id` of a bot info answer.
pub fn open_id_of(body: &str) -> Result<String, String> {
    let v: Value = serde_json::from_str(body)
        .map_err(|e| format!("GET {BOT_INFO_PATH}: the answer is not JSON: {e}"))?;
    match v["bot"]["open_id"].as_str() {
        Some(id) if id.starts_with("ou_") => Ok(id.to_string()),
        _ => Err(format!(
            "GET {BOT_INFO_PATH}: the answer has no bot.open_id (is the bot ability of the app \
             enabled?)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_open_id_or_says_what_is_missing() {
        let ok =
            r#"{"code":0,"msg":"ok","bot":{"activate_status":2,"app_name":"a","open_id":"ou_1"}}"#;
        assert_eq!(open_id_of(ok).unwrap(), "ou_1");
        assert!(open_id_of(r#"{"code":0,"bot":{}}"#)
            .unwrap_err()
            .contains("no bot.open_id"));
        assert!(open_id_of("<html>").unwrap_err().contains("not JSON"));
    }
}
