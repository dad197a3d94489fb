//! One OpenAPI request as the app: the token from [`super::token`], a timeout, a size cap on
//! both bodies, and one retry with a fresh token when Feishu says the token is invalid.

use std::time::Duration;

use serde_json::Value;

use super::call::CheckedCall;
use super::grant::Method;
use super::token::{TokenCache, TOKEN_INVALID_CODES};
use super::OpenApiApp;
use crate::limits::openapi::{MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES};

/// Most bytes of a Feishu error body quoted in an error message.
const ERROR_BODY_QUOTE: usize = 2048;

/// The OpenAPI client of one app: shared (in an `Arc`) by every handler the manifest grants
/// OpenAPI access.
#[derive(Debug)]
pub struct FeishuClient {
    app: OpenApiApp,
    http: reqwest::Client,
    token: TokenCache,
}

impl FeishuClient {
    /// A client for `app` (no request is made yet).
    pub fn new(app: OpenApiApp) -> Result<FeishuClient, String> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot create the OpenAPI HTTP client: {e}"))?;
        Ok(FeishuClient {
            app,
            http,
            token: TokenCache::default(),
        })
    }

    /// The app's id.
    pub fn app_id(&self) -> &str {
        &self.app.app_id
    }

    /// The app's domain: what calls are checked against ([`super::call::check`]).
    pub fn domain(&self) -> &str {
        &self.app.domain
    }

    /// Sends the checked `call` — its URL exactly as checked — with `body` (JSON text; empty
    /// for none) and the app's token, within `timeout` (token fetch included). `Ok`: the body
    /// of a 2xx answer whose `code` is 0 or absent. `Err`: why not, naming method and path,
    /// with Feishu's code and answer when there is one. Neither ever holds the token or the
    /// app secret.
    pub async fn request(
        &self,
        call: &CheckedCall,
        body: &str,
        timeout: Duration,
    ) -> Result<String, String> {
        let what = call.to_string();
        if call.url().domain() != self.app.domain {
            return Err(format!(
                "{what}: checked for the domain `{}`, not this app's",
                call.url().domain()
            ));
        }
        if body.len() > MAX_REQUEST_BYTES {
            return Err(format!(
                "{what}: the body is {} bytes, more than {MAX_REQUEST_BYTES}",
                body.len()
            ));
        }
        let method = match call.method() {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        };
        let url = call.url().url();
        match tokio::time::timeout(timeout, self.with_token(&method, url, body, &what)).await {
            Ok(result) => result,
            Err(_) => Err(format!("{what}: no answer within {timeout:?}")),
        }
    }

    async fn with_token(
        &self,
        method: &reqwest::Method,
        url: &url::Url,
        body: &str,
        what: &str,
    ) -> Result<String, String> {
        let mut refreshed = false;
        loop {
            let token = self.token.get(&self.http, &self.app).await?;
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(&token);
            if !body.is_empty() {
                request = request
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/json; charset=utf-8",
                    )
                    .body(body.to_string());
            }
            let response = request
                .send()
                .await
                .map_err(|e| format!("{what}: {}", e.without_url()))?;
            let status = response.status();
            let text = read_capped(response)
                .await
                .map_err(|e| format!("{what}: {e}"))?;
            let code = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v.get("code").and_then(Value::as_i64));
            if let Some(c) = code.filter(|c| TOKEN_INVALID_CODES.contains(c)) {
                if !refreshed {
                    // The token was refused, so nothing was done: fetch a new one, try again.
                    self.token.invalidate(&token).await;
                    refreshed = true;
                    continue;
                }
                return Err(format!("{what}: the token was refused twice (code {c})"));
            }
            if status.is_success() && code.unwrap_or(0) == 0 {
                return Ok(text);
            }
            let quote = cut(&text, ERROR_BODY_QUOTE);
            return Err(match code {
                Some(c) => format!("{what}: HTTP {status}, code {c}: {quote}"),
                None => format!("{what}: HTTP {status}: {quote}"),
            });
        }
    }
}

/// The body of `response`, refusing one over [`MAX_RESPONSE_BYTES`] without buffering it.
pub(crate) async fn read_capped(mut response: reqwest::Response) -> Result<String, String> {
    let too_big = || format!("the answer is larger than {MAX_RESPONSE_BYTES} bytes");
    if response
        .content_length()
        .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
    {
        return Err(too_big());
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("reading the answer: {}", e.without_url()))?
    {
        if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(too_big());
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| "the answer is not UTF-8".to_string())
}

fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut at = max;
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    &s[..at]
}
