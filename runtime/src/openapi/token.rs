//! The app's tenant_access_token (§9.1): fetched from the app's domain with app_id/app_secret,
//! cached until `expire − 10 min` (as the official Python SDK does), shared by every handler
//! of the app. A token Feishu calls invalid is dropped once and fetched again
//! ([`TokenCache::invalidate`]).

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::Mutex;

use super::client::read_capped;
use super::error::TokenError;
use super::OpenApiApp;
use crate::limits::openapi::TOKEN_REFRESH_MARGIN;

/// Path of the self-built app token API.
pub const TOKEN_PATH: &str = "/open-apis/auth/v3/tenant_access_token/internal";

/// Codes that mean "this token is not (or no longer) valid": drop it and fetch a new one
/// (the set the official Python SDK refreshes on).
pub const TOKEN_INVALID_CODES: [i64; 5] = [99991663, 99991664, 99991665, 99991666, 99991668];

struct Cached {
    token: String,
    refresh_at: Instant,
}

/// One app's cached token. Fetches are serialised (one request when many handlers need a new
/// token at once).
#[derive(Default)]
pub struct TokenCache {
    cached: Mutex<Option<Cached>>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCache { .. }")
    }
}

impl TokenCache {
    /// A valid token: the cached one, or a fresh one from the token API.
    pub async fn get(
        &self,
        http: &reqwest::Client,
        app: &OpenApiApp,
    ) -> Result<String, TokenError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref().filter(|c| Instant::now() < c.refresh_at) {
            return Ok(c.token.clone());
        }
        let (token, expire) = fetch(http, app).await?;
        // Refresh `TOKEN_REFRESH_MARGIN` early; a token that lives shorter than twice the
        // margin is kept for half its life.
        let keep = if expire > TOKEN_REFRESH_MARGIN * 2 {
            expire - TOKEN_REFRESH_MARGIN
        } else {
            expire / 2
        };
        *cached = Some(Cached {
            token: token.clone(),
            refresh_at: Instant::now() + keep,
        });
        Ok(token)
    }

    /// Forgets `token` if it is the cached one (Feishu said it is invalid).
    pub async fn invalidate(&self, token: &str) {
        let mut cached = self.cached.lock().await;
        if cached.as_ref().is_some_and(|c| c.token == token) {
            *cached = None;
        }
    }
}

async fn fetch(http: &reqwest::Client, app: &OpenApiApp) -> Result<(String, Duration), TokenError> {
    let app_id = || app.app_id.clone();
    let url = format!("{}{TOKEN_PATH}", app.domain.trim_end_matches('/'));
    let response = http
        .post(&url)
        .json(&json!({"app_id": app.app_id, "app_secret": app.app_secret.expose()}))
        .send()
        .await
        .map_err(|e| TokenError::Send {
            app_id: app_id(),
            source: e.without_url(),
        })?;
    let status = response.status();
    let body = read_capped(response)
        .await
        .map_err(|source| TokenError::Read {
            app_id: app_id(),
            source,
        })?;
    let v: Value = serde_json::from_str(&body).map_err(|_| TokenError::NotJson {
        app_id: app_id(),
        status,
    })?;
    let code = v.get("code").and_then(Value::as_i64).unwrap_or(-1);
    let token = v.get("tenant_access_token").and_then(Value::as_str);
    match token {
        Some(t) if code == 0 && !t.is_empty() => {
            let expire = v.get("expire").and_then(Value::as_u64).unwrap_or(0);
            Ok((t.to_string(), Duration::from_secs(expire)))
        }
        _ => {
            let msg = v.get("msg").and_then(Value::as_str).unwrap_or("");
            Err(TokenError::Refused {
                app_id: app_id(),
                status,
                code,
                msg: msg.to_string(),
            })
        }
    }
}
