//! Endpoint discovery, §1: the request, the response, error classification, and the ids taken
//! from the returned WebSocket URL.

use serde::{Deserialize, Serialize};

use super::client_config::ClientConfigUpdate;

/// Path of the endpoint API.
pub const ENDPOINT_PATH: &str = "/callback/ws/endpoint";
/// Default Feishu domain.
pub const FEISHU_DOMAIN: &str = "https://open.feishu.cn";
/// Lark (international) domain.
pub const LARK_DOMAIN: &str = "https://open.larksuite.com";

/// Endpoint code: OK.
pub const CODE_OK: i64 = 0;
/// Endpoint code: system busy (retryable).
pub const CODE_SYSTEM_BUSY: i64 = 1;
/// Endpoint code: internal error (retryable).
pub const CODE_INTERNAL_ERROR: i64 = 1000040343;

/// Resolves the manifest's `domain`: `feishu` (default), `lark`, or any URL used verbatim.
pub fn resolve_domain(domain: Option<&str>) -> String {
    match domain.map(str::trim) {
        None | Some("") | Some("feishu") => FEISHU_DOMAIN.to_string(),
        Some("lark") => LARK_DOMAIN.to_string(),
        Some(url) => url.to_string(),
    }
}

/// The endpoint URL for a domain (a trailing `/` is stripped, as newer Go does).
pub fn endpoint_url(domain: &str) -> String {
    format!("{}{}", domain.trim_end_matches('/'), ENDPOINT_PATH)
}

/// Request body. Note the PascalCase keys.
#[derive(Serialize, Deserialize)]
pub struct EndpointRequest {
    #[serde(rename = "AppID")]
    pub app_id: String,
    #[serde(rename = "AppSecret")]
    pub app_secret: String,
}

/// The response body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EndpointResponse {
    pub code: i64,
    #[serde(default)]
    pub msg: String,
    #[serde(default)]
    pub data: Option<EndpointData>,
}

/// `data` of a successful response.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EndpointData {
    #[serde(rename = "URL", default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(
        rename = "ClientConfig",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub client_config: Option<ClientConfigUpdate>,
}

/// What discovery produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Discovery {
    /// Dial this URL; apply this config if present.
    Connect {
        url: String,
        client_config: Option<ClientConfigUpdate>,
    },
    /// Try again after the reconnect interval.
    Retry { reason: String },
    /// Stop: this will not fix itself.
    Fatal { code: i64, message: String },
}

/// Classifies an endpoint answer exactly as §1.3 says.
pub fn classify_endpoint_response(http_status: u16, body: &[u8]) -> Discovery {
    if http_status != 200 {
        return Discovery::Retry {
            reason: format!("endpoint answered HTTP {http_status} (treated as system busy)"),
        };
    }
    let response: EndpointResponse = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => {
            return Discovery::Retry {
                reason: format!("endpoint body is not the expected JSON: {e}"),
            }
        }
    };
    match response.code {
        CODE_OK => match response.data.and_then(|d| d.url.filter(|u| !u.is_empty()).map(|u| (u, d.client_config))) {
            Some((url, client_config)) => Discovery::Connect { url, client_config },
            None => Discovery::Retry {
                reason: "endpoint answered code 0 without data.URL".into(),
            },
        },
        CODE_SYSTEM_BUSY | CODE_INTERNAL_ERROR => Discovery::Retry {
            reason: format!("endpoint code {}: {}", response.code, response.msg),
        },
        code => Discovery::Fatal {
            code,
            message: format!(
                "endpoint refused the app with code {code} ({}); check app_id/app_secret, that the app is a \
                 self-built app, and that long-connection mode is enabled in the developer console",
                if response.msg.is_empty() { "no message" } else { response.msg.as_str() }
            ),
        },
    }
}

/// The two ids the client takes from the WebSocket URL's query (§1.4).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectionIds {
    /// `device_id`: used only for logging.
    pub device_id: Option<String>,
    /// `service_id`: put into every ping; 0 if absent or not an int32.
    pub service_id: i32,
}

/// Parses `device_id` and `service_id` properly from the URL's query string.
pub fn connection_ids(ws_url: &str) -> ConnectionIds {
    let Ok(url) = url::Url::parse(ws_url) else {
        return ConnectionIds::default();
    };
    let mut ids = ConnectionIds::default();
    for (key, value) in url.query_pairs() {
        match key.as_ref() {
            "device_id" if ids.device_id.is_none() => ids.device_id = Some(value.into_owned()),
            "service_id" => ids.service_id = value.parse().unwrap_or(0),
            _ => {}
        }
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_classified_as_the_spec_says() {
        let ok = br#"{"code":0,"msg":"ok","data":{"URL":"ws://h/ws/v2?fpid=1&device_id=5&service_id=7","ClientConfig":{"PingInterval":2}}}"#;
        assert!(matches!(
            classify_endpoint_response(200, ok),
            Discovery::Connect { .. }
        ));
        for retry in [
            &br#"{"code":1,"msg":"busy"}"#[..],
            br#"{"code":1000040343,"msg":"x","data":{}}"#,
            br#"{"code":0,"msg":"ok","data":null}"#,
            br#"{"code":0,"data":{"URL":""}}"#,
            b"<html>",
        ] {
            assert!(matches!(
                classify_endpoint_response(200, retry),
                Discovery::Retry { .. }
            ));
        }
        assert!(matches!(
            classify_endpoint_response(500, ok),
            Discovery::Retry { .. }
        ));
        for fatal in [
            &br#"{"code":10003,"msg":"bad","data":{}}"#[..],
            br#"{"code":10003,"data":null}"#,
        ] {
            assert!(matches!(
                classify_endpoint_response(200, fatal),
                Discovery::Fatal { code: 10003, .. }
            ));
        }
    }

    #[test]
    fn ids_come_from_the_query_wherever_they_are() {
        let ids = connection_ids("wss://msg-frontier.feishu.cn/ws/v2?fpid=493&aid=1&device_id=7618&access_key=a&service_id=33554678&ticket=t");
        assert_eq!(ids.device_id.as_deref(), Some("7618"));
        assert_eq!(ids.service_id, 33554678);
        assert_eq!(connection_ids("ws://h/?service_id=abc").service_id, 0);
        assert_eq!(connection_ids("not a url"), ConnectionIds::default());
    }

    #[test]
    fn domains_resolve() {
        assert_eq!(
            endpoint_url(&resolve_domain(None)),
            "https://open.feishu.cn/callback/ws/endpoint"
        );
        assert_eq!(resolve_domain(Some("lark")), LARK_DOMAIN);
        assert_eq!(
            endpoint_url("http://127.0.0.1:9/"),
            "http://127.0.0.1:9/callback/ws/endpoint"
        );
    }
}
