//! One OpenAPI request as the app: the token from [`super::token`], a timeout, a size cap on
//! both bodies, one retry with a fresh token when Feishu says the token is invalid, sends and
//! replies paced under Feishu's rate limits ([`super::pacing`]), and a rate-limited answer
//! (HTTP 429 / code 99991400) retried after `x-ogw-ratelimit-reset` when that fits the deadline.

use std::time::Duration;

use serde_json::Value;

use tokio::time::Instant;

use super::call::CheckedCall;
use super::error::{OpenApiError, ReadError};
use super::grant::Method;
use super::pacing::{paced, Paced, Pacer, RateLimited};
use super::stats::{CallOutcome, OpenApiStats};
use super::token::{TokenCache, TOKEN_INVALID_CODES};
use super::upload::Upload;
use super::OpenApiApp;
use crate::limits::openapi::{
    MAX_RATE_LIMIT_RETRIES, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES, RATE_LIMITED_CODE,
    RATE_LIMIT_DEFAULT_RESET,
};

/// Most bytes of a Feishu error body quoted in an error message.
const ERROR_BODY_QUOTE: usize = 2048;

/// The OpenAPI client of one app: shared (in an `Arc`) by every handler the manifest grants
/// OpenAPI access.
#[derive(Debug)]
pub struct FeishuClient {
    app: OpenApiApp,
    http: reqwest::Client,
    token: TokenCache,
    pacer: Pacer,
    stats: OpenApiStats,
}

/// What a request carries.
#[derive(Clone, Copy)]
enum Payload<'a> {
    /// JSON text, or nothing when empty.
    Json(&'a str),
    /// A multipart form.
    Upload(&'a Upload),
}

/// Why one attempt did not return a body.
enum Failure {
    /// Feishu said too many requests; try again after this long.
    RateLimited(Duration, String),
    /// Anything else.
    Other(OpenApiError),
}

impl FeishuClient {
    /// A client for `app` (no request is made yet).
    pub fn new(app: OpenApiApp) -> Result<FeishuClient, OpenApiError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(OpenApiError::Client)?;
        Ok(FeishuClient {
            pacer: Pacer::new(app.send_limits),
            app,
            http,
            token: TokenCache::default(),
            stats: OpenApiStats::default(),
        })
    }

    /// The app's id.
    pub fn app_id(&self) -> &str {
        &self.app.app_id
    }

    /// Its calls by outcome and the rate-limit waits.
    pub fn stats(&self) -> &OpenApiStats {
        &self.stats
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
    ) -> Result<String, OpenApiError> {
        self.send(call, Payload::Json(body), timeout).await
    }

    /// Sends the checked `call` as a multipart form ([`Upload`]), like [`FeishuClient::request`]
    /// otherwise (token, timeout, answers and errors; uploads are not paced).
    pub async fn upload(
        &self,
        call: &CheckedCall,
        upload: &Upload,
        timeout: Duration,
    ) -> Result<String, OpenApiError> {
        self.send(call, Payload::Upload(upload), timeout).await
    }

    async fn send(
        &self,
        call: &CheckedCall,
        payload: Payload<'_>,
        timeout: Duration,
    ) -> Result<String, OpenApiError> {
        let body = match payload {
            Payload::Json(body) => body,
            Payload::Upload(_) => "",
        };
        let what = call.to_string();
        if call.url().domain() != self.app.domain {
            return Err(OpenApiError::WrongDomain {
                what,
                domain: call.url().domain().to_string(),
            });
        }
        if body.len() > MAX_REQUEST_BYTES {
            return Err(OpenApiError::BodyTooLarge {
                what,
                len: body.len(),
            });
        }
        let method = match call.method() {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        };
        let url = call.url().url();
        let deadline = Instant::now() + timeout;
        let paced = match payload {
            Payload::Json(body) => paced(
                call.method().as_str(),
                call.url().path(),
                call.url().query(),
                body,
            ),
            Payload::Upload(_) => None,
        };
        let attempts = async {
            let mut retries = 0;
            loop {
                match self
                    .with_token(&method, url, payload, &what, paced.as_ref(), deadline)
                    .await
                {
                    Ok(text) => return Ok(text),
                    Err(Failure::Other(e)) => {
                        self.stats.call(CallOutcome::Error);
                        return Err(e);
                    }
                    Err(Failure::RateLimited(reset, answer)) => {
                        let fits = Instant::now() + reset <= deadline;
                        if !fits || retries >= MAX_RATE_LIMIT_RETRIES {
                            self.stats.call(CallOutcome::RateLimited);
                            return Err(OpenApiError::RateLimited {
                                what: what.clone(),
                                reset,
                                fits,
                                answer,
                            });
                        }
                        retries += 1;
                        self.stats.server_waited();
                        tracing::debug!(%what, ?reset, "rate limited by Feishu; retrying after the reset");
                        tokio::time::sleep(reset).await;
                    }
                }
            }
        };
        match tokio::time::timeout_at(deadline, attempts).await {
            Ok(Ok(text)) => {
                self.stats.call(CallOutcome::Ok);
                Ok(text)
            }
            Ok(Err(e)) => Err(e),
            Err(_) => {
                self.stats.call(CallOutcome::Timeout);
                Err(OpenApiError::Timeout { what, timeout })
            }
        }
    }

    async fn with_token(
        &self,
        method: &reqwest::Method,
        url: &url::Url,
        payload: Payload<'_>,
        what: &str,
        paced: Option<&Paced>,
        deadline: Instant,
    ) -> Result<String, Failure> {
        let mut refreshed = false;
        loop {
            let token = self
                .token
                .get(&self.http, &self.app)
                .await
                .map_err(|e| Failure::Other(e.into()))?;
            if let Some(paced) = paced {
                self.pacer
                    .acquire(paced, deadline)
                    .await
                    .map(|waits| self.stats.pacer_waited(waits))
                    .map_err(|RateLimited { wait, limit }| {
                        Failure::Other(OpenApiError::Paced {
                            what: what.to_string(),
                            wait,
                            limit,
                        })
                    })?;
            }
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(&token);
            match payload {
                Payload::Json("") => {}
                Payload::Json(body) => {
                    request = request
                        .header(
                            reqwest::header::CONTENT_TYPE,
                            "application/json; charset=utf-8",
                        )
                        .body(body.to_string());
                }
                Payload::Upload(upload) => request = request.multipart(upload.form()),
            }
            let response = request.send().await.map_err(|e| {
                Failure::Other(OpenApiError::Send {
                    what: what.to_string(),
                    source: e.without_url(),
                })
            })?;
            let status = response.status();
            let reset = rate_limit_reset(response.headers());
            let text = read_capped(response).await.map_err(|source| {
                Failure::Other(OpenApiError::Read {
                    what: what.to_string(),
                    source,
                })
            })?;
            let code = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v.get("code").and_then(Value::as_i64));
            if status == reqwest::StatusCode::TOO_MANY_REQUESTS || code == Some(RATE_LIMITED_CODE) {
                // Nothing was done: wait for the window Feishu names, then the caller retries.
                let quote = cut(&text, ERROR_BODY_QUOTE).to_string();
                return Err(Failure::RateLimited(
                    reset.unwrap_or(RATE_LIMIT_DEFAULT_RESET),
                    quote,
                ));
            }
            if let Some(c) = code.filter(|c| TOKEN_INVALID_CODES.contains(c)) {
                if !refreshed {
                    // The token was refused, so nothing was done: fetch a new one, try again.
                    self.token.invalidate(&token).await;
                    refreshed = true;
                    continue;
                }
                return Err(Failure::Other(OpenApiError::TokenRefusedTwice {
                    what: what.to_string(),
                    code: c,
                }));
            }
            if status.is_success() && code.unwrap_or(0) == 0 {
                return Ok(text);
            }
            return Err(Failure::Other(OpenApiError::Answer {
                what: what.to_string(),
                status,
                code,
                quote: cut(&text, ERROR_BODY_QUOTE).to_string(),
            }));
        }
    }
}

/// Feishu's `x-ogw-ratelimit-reset`: whole seconds until the limit's window resets.
fn rate_limit_reset(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get("x-ogw-ratelimit-reset")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(secs))
}

/// The body of `response`, refusing one over [`MAX_RESPONSE_BYTES`] without buffering it.
pub(crate) async fn read_capped(mut response: reqwest::Response) -> Result<String, ReadError> {
    if response
        .content_length()
        .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
    {
        return Err(ReadError::TooLarge);
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| ReadError::Body(e.without_url()))?
    {
        if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(ReadError::TooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    String::from_utf8(bytes).map_err(|_| ReadError::NotUtf8)
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
