//! Endpoint discovery (§1): one POST that yields a WebSocket URL and a ClientConfig.

use crate::limits;
use crate::protocol::endpoint::{
    classify_endpoint_response, endpoint_url, resolve_domain, Discovery, EndpointRequest,
};
use crate::protocol::ClientConfigUpdate;

use super::error::{ConnectError, FatalError};
use super::options::ConnectionOptions;

/// Why one connect attempt (discovery or dial) did not produce a connection.
#[derive(Debug)]
pub(crate) enum AttemptError {
    /// Worth another attempt after the reconnect interval.
    Retry(ConnectError),
    /// Stop for good.
    Fatal(FatalError),
}

/// A successful discovery.
#[derive(Debug)]
pub(crate) struct Endpoint {
    /// The WebSocket URL, to be dialled verbatim. Its query holds one-time credentials: never log it whole.
    pub url: String,
    /// The server's ClientConfig, if it sent one.
    pub client_config: Option<ClientConfigUpdate>,
}

/// The HTTP client for discovery. The timeout is `connection_timeout`.
pub(crate) fn http_client(options: &ConnectionOptions) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(options.settings.connection_timeout())
        .user_agent(concat!("aviary/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// POSTs `{domain}/callback/ws/endpoint` with `locale: zh` and `{"AppID","AppSecret"}` and
/// classifies the answer exactly as §1.3 says. The secret is only in the request body; no
/// error or log line built here contains it.
pub(crate) async fn discover(
    http: &reqwest::Client,
    options: &ConnectionOptions,
) -> Result<Endpoint, AttemptError> {
    let url = endpoint_url(&resolve_domain(Some(&options.domain)));
    let body = serde_json::to_vec(&EndpointRequest {
        app_id: options.app_id.clone(),
        app_secret: options.app_secret.expose().to_string(),
    })
    .map_err(|e| AttemptError::Retry(ConnectError::EncodeRequest(e)))?;
    let response = http
        .post(&url)
        .header("locale", "zh")
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| AttemptError::Retry(ConnectError::EndpointRequest(e)))?;
    let status = response.status().as_u16();
    let bytes = read_bounded(response, limits::ENDPOINT_MAX_BODY_BYTES).await?;
    match classify_endpoint_response(status, &bytes) {
        Discovery::Connect { url, client_config } => Ok(Endpoint { url, client_config }),
        Discovery::Retry { reason } => {
            Err(AttemptError::Retry(ConnectError::EndpointRetry(reason)))
        }
        Discovery::Fatal { code, message } => {
            Err(AttemptError::Fatal(FatalError::Endpoint { code, message }))
        }
    }
}

/// Reads a response body, refusing more than `limit` bytes.
async fn read_bounded(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, AttemptError> {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > limit {
                    return Err(AttemptError::Retry(ConnectError::EndpointTooLarge(limit)));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => return Err(AttemptError::Retry(ConnectError::EndpointRead(e))),
        }
    }
}

/// An error and its sources on one line.
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// The URL without its query (which carries `access_key` and `ticket`), for logs.
pub(crate) fn redact_url(url: &str) -> String {
    match url.split_once('?') {
        Some((base, _)) => format!("{base}?…"),
        None => url.to_string(),
    }
}
