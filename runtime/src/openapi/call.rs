//! One `feishu-request` call, checked in this order: the method, the path as it will be sent
//! ([`super::path`]), the handler's grant ([`super::grant`]). Only a [`CheckedCall`] can be
//! sent ([`super::FeishuClient::request`]), and it is sent as it was checked.
//!
//! Every denial names the handler and its manifest key `openapi`.

use std::fmt;

use super::grant::{Method, OpenApiGrant};
use super::path::{path_problem, CheckedUrl, PATH_ROOT};

/// A call that passed every check: what the client sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedCall {
    method: Method,
    url: CheckedUrl,
}

impl CheckedCall {
    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The URL, as checked and as sent.
    pub fn url(&self) -> &CheckedUrl {
        &self.url
    }
}

impl fmt::Display for CheckedCall {
    /// `METHOD /open-apis/…?query`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.url)
    }
}

/// Checks `method path` of `handler`, whose grant is `grant`, for the app at `domain`.
/// `Err`: the denial, for the guest and the log.
pub fn check(
    handler: &str,
    grant: &OpenApiGrant,
    domain: &str,
    method: &str,
    path: &str,
) -> Result<CheckedCall, String> {
    let Some(m) = Method::parse(method) else {
        return Err(format!(
            "denied: handler `{handler}` may not call {method:?} {path:?}: the method is not \
             one of {} (manifest key `openapi` grants methods, never others)",
            Method::list()
        ));
    };
    let url = CheckedUrl::new(domain, path).map_err(|why| {
        format!(
            "denied: handler `{handler}` may not call {m} {path:?}: {why} (the path is checked \
             as it would be sent, before the grants of the manifest key `openapi`)"
        )
    })?;
    if !grant.allows(m, &url) {
        let methods = grant.methods_for(&url);
        let why = if methods.is_empty() {
            "no entry of its manifest key `openapi` covers the path".to_string()
        } else {
            let names: Vec<&str> = methods.iter().map(|m| m.as_str()).collect();
            format!(
                "its manifest key `openapi` grants the path for {} only",
                names.join(", ")
            )
        };
        return Err(format!(
            "denied: handler `{handler}` may not call {m} {url}: {why} ({})",
            grant.quoted()
        ));
    }
    Ok(CheckedCall { method: m, url })
}

/// The denial of a call by a handler without any grant, suggesting the entry to add (the
/// path's API prefix, when the path keeps the path rules).
pub fn denied_without_grant(handler: &str, path: &str) -> String {
    format!(
        "denied: handler `{handler}` has no OpenAPI grant; add the manifest key \
         `openapi = [\"{}\"]` (path prefixes, optionally with a method: \"POST /open-apis/…\") \
         to its [[handler]] to allow it",
        api_prefix(path)
    )
}

/// The first three segments after `/open-apis/` of `path` (e.g. `/open-apis/im/v1/messages`);
/// the generic root when the path breaks a rule.
fn api_prefix(path: &str) -> String {
    let generic = format!("{PATH_ROOT}…");
    if path_problem(path).is_some() {
        return generic;
    }
    let rest = path[PATH_ROOT.len()..].split('?').next().unwrap_or("");
    let segments: Vec<&str> = rest.split('/').take(3).collect();
    format!("{PATH_ROOT}{}", segments.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOMAIN: &str = "http://127.0.0.1:9";

    fn grant() -> OpenApiGrant {
        OpenApiGrant::parse(&[
            "POST /open-apis/im/v1/messages",
            "GET /open-apis/contact/v3/users",
        ])
        .unwrap()
    }

    #[test]
    fn a_granted_call_is_checked_in_order_and_sent_as_checked() {
        let c = check(
            "bot",
            &grant(),
            DOMAIN,
            "post",
            "/open-apis/im/v1/messages?receive_id_type=chat_id",
        )
        .unwrap();
        assert_eq!(c.method(), Method::Post);
        assert_eq!(
            c.url().url().as_str(),
            "http://127.0.0.1:9/open-apis/im/v1/messages?receive_id_type=chat_id"
        );
        assert_eq!(
            c.to_string(),
            "POST /open-apis/im/v1/messages?receive_id_type=chat_id"
        );
    }

    #[test]
    fn every_denial_names_the_handler_and_the_key() {
        let g = grant();
        let cases = [
            (
                "FETCH",
                "/open-apis/im/v1/messages",
                "the method is not one of",
            ),
            ("GET", "/open-apis/im/v1/messages/.%2e/x", "encodes `.`"),
            (
                "GET",
                "/open-apis/im/v1/messages",
                "grants the path for POST only",
            ),
            ("DELETE", "/open-apis/contact/v3/users/ou_1", "for GET only"),
            (
                "GET",
                "/open-apis/im/v1/chats",
                "no entry of its manifest key `openapi`",
            ),
        ];
        for (m, p, why) in cases {
            let e = check("bot", &g, DOMAIN, m, p).unwrap_err();
            assert!(e.starts_with("denied: handler `bot` may not call "), "{e}");
            assert!(e.contains("`openapi`") && e.contains(why), "{m} {p}: {e}");
        }
        let e = check("bot", &g, DOMAIN, "GET", "/open-apis/a\r\nX-Evil: 1").unwrap_err();
        assert!(
            !e.contains('\r') && !e.contains('\n'),
            "the raw path is quoted: {e}"
        );
    }

    #[test]
    fn without_a_grant_the_suggestion_is_the_api_prefix() {
        let e = denied_without_grant("bot", "/open-apis/im/v1/messages/om_1/reply?x=1");
        assert!(
            e.starts_with(
                "denied: handler `bot` has no OpenAPI grant; add the manifest key \
                 `openapi = [\"/open-apis/im/v1/messages\"]`"
            ),
            "{e}"
        );
        assert!(denied_without_grant("bot", "/x").contains("[\"/open-apis/…\"]"));
        assert!(denied_without_grant("bot", "/open-apis/a/../b").contains("[\"/open-apis/…\"]"));
    }
}
