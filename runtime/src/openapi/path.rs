//! What a guest's OpenAPI path may look like, and the URL it is sent as.
//!
//! A grant is only as good as the check behind it, and a check is only good when it is made
//! on what goes on the wire. So the path is parsed once, here, with the `url` crate (the
//! WHATWG parser reqwest uses), joined onto the app's domain, and refused unless the parsed URL
//! is exactly the domain followed by the path as written: nothing decoded, re-encoded, resolved
//! or dropped. The [`CheckedUrl`] that comes out is what the client sends; the raw string is
//! never formatted into a URL again.
//!
//! Before it is parsed, the written path must keep these rules (the first one broken is named,
//! with its byte offset):
//!
//! 1. At most [`crate::limits::openapi::MAX_PATH_BYTES`] bytes (query included).
//! 2. It starts with [`PATH_ROOT`] (`/open-apis/`).
//! 3. Before the first `?`, it is segments separated by `/`: no empty segment (`//`, a
//!    trailing `/`), no segment made only of dots (`.`, `..`, `...`).
//! 4. A segment holds only ASCII letters, digits, `-._~!$&'()*+,=:@` and `%XX` escapes. So
//!    no `\`, `;` (path parameters), `#` (fragments), spaces, control characters or
//!    non-ASCII characters.
//! 5. A `%` in a segment starts a `%XX` escape of a printable ASCII character that is neither
//!    unreserved (letters, digits, `-._~`: those are written as themselves, and `%2e` is a dot
//!    to the URL parser) nor structural: `/` (`%2f`), `\` (`%5c`), `%` (`%25`, so nothing is
//!    double-encoded: no `%252e`) or `;` (`%3b`). Escapes of control bytes and of bytes ≥ 0x80
//!    (non-ASCII, overlong UTF-8 such as `%c0%ae`) are refused too.
//! 6. The query (after the first `?`) holds ASCII letters, digits, `-._~!$&()*+,=:@` and
//!    well-formed `%XX` escapes of any byte (a query is data: `%2F` there is fine). A literal
//!    `/`, `\`, `?`, `;`, `'`, `#` or anything else is refused, so a query cannot pass for a
//!    path (`?/../`).
//!
//! Then the URL is parsed, and the parsed scheme, host, port, path, query and fragment must be
//! the domain's and the written ones, byte for byte.

use std::fmt;

use url::Url;

use crate::limits::openapi::MAX_PATH_BYTES;

/// Every OpenAPI path starts with this.
pub const PATH_ROOT: &str = "/open-apis/";

/// Characters a path segment may hold as themselves, besides ASCII letters and digits.
const SEGMENT_CHARS: &[u8] = b"-._~!$&'()*+,=:@";

/// Characters a query may hold as themselves, besides ASCII letters and digits (`&` and `=`
/// separate its pairs).
const QUERY_CHARS: &[u8] = b"-._~!$&()*+,=:@";

/// A guest's path that passed every rule of this module, as the URL that will be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedUrl {
    url: Url,
    domain: String,
    path_at: usize,
}

impl CheckedUrl {
    /// Checks `written` (a path with an optional query) and joins it onto `domain` (the app's
    /// base URL). `Err`: why it is refused.
    pub fn new(domain: &str, written: &str) -> Result<CheckedUrl, String> {
        if let Some(why) = path_problem(written) {
            return Err(why);
        }
        let base = Url::parse(domain)
            .map_err(|e| format!("the app's domain `{domain}` is not a URL ({e})"))?;
        if base.query().is_some() || base.fragment().is_some() {
            return Err(format!(
                "the app's domain `{domain}` has a query or fragment"
            ));
        }
        let base_path = base.path().trim_end_matches('/');
        let url = Url::parse(&format!("{}{written}", domain.trim_end_matches('/')))
            .map_err(|e| format!("the URL parser refuses it ({e})"))?;
        let (path, query) = match written.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (written, None),
        };
        let same_origin = url.scheme() == base.scheme()
            && url.host_str() == base.host_str()
            && url.port_or_known_default() == base.port_or_known_default();
        let expected_path = format!("{base_path}{path}");
        if !same_origin
            || url.path() != expected_path
            || url.query() != query
            || url.fragment().is_some()
        {
            let sent = &url[url::Position::BeforePath..];
            return Err(format!(
                "the URL parser reads it as {sent:?}, not as written; only a path that \
                 parses to itself is sent"
            ));
        }
        Ok(CheckedUrl {
            path_at: base_path.len(),
            url,
            domain: domain.to_string(),
        })
    }

    /// The URL to send.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The domain it was checked against.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The path from `/open-apis/` on, without the query: what grants are checked on.
    pub fn path(&self) -> &str {
        &self.url.path()[self.path_at..]
    }

    /// The query (without `?`), if there is one.
    pub fn query(&self) -> Option<&str> {
        self.url.query()
    }
}

impl fmt::Display for CheckedUrl {
    /// The path and query, as sent.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path())?;
        match self.query() {
            Some(q) => write!(f, "?{q}"),
            None => Ok(()),
        }
    }
}

/// Why `written` breaks a rule of this module (see the module doc), if it does.
pub fn path_problem(written: &str) -> Option<String> {
    if written.len() > MAX_PATH_BYTES {
        return Some(format!("the path is longer than {MAX_PATH_BYTES} bytes"));
    }
    if !written.starts_with(PATH_ROOT) {
        return Some(format!("the path must start with `{PATH_ROOT}`"));
    }
    let (path, query) = match written.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (written, None),
    };
    let mut at = 1;
    let segments: Vec<&str> = path[1..].split('/').collect();
    for (n, segment) in segments.iter().enumerate() {
        if let Some(why) = segment_problem(segment, at, n + 1 == segments.len()) {
            return Some(why);
        }
        at += segment.len() + 1;
    }
    let query = query?;
    let q_at = path.len() + 1;
    let bytes = query.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            if escape(bytes, i).is_none() {
                return Some(bad_percent(q_at + i));
            }
            i += 3;
            continue;
        }
        if !(b.is_ascii_alphanumeric() || QUERY_CHARS.contains(&b)) {
            return Some(format!(
                "{} at byte {} is not allowed in the query (it holds letters, digits, \
                 `{}` and `%XX` escapes; write other characters, `/` included, as `%XX`)",
                describe_char(query, i),
                q_at + i,
                std::str::from_utf8(QUERY_CHARS).unwrap_or_default()
            ));
        }
        i += 1;
    }
    None
}

/// Why one path segment (starting at byte `at` of the path) is unusable, if it is.
fn segment_problem(segment: &str, at: usize, last: bool) -> Option<String> {
    if segment.is_empty() {
        return Some(if last {
            "the path ends with `/` (an empty last segment)".to_string()
        } else {
            format!("an empty segment (`//`) at byte {}", at - 1)
        });
    }
    if segment.bytes().all(|b| b == b'.') {
        return Some(format!("a dot segment `{segment}` at byte {at}"));
    }
    let bytes = segment.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let Some(decoded) = escape(bytes, i) else {
                return Some(bad_percent(at + i));
            };
            if let Some(why) = escaped_problem(decoded) {
                return Some(format!(
                    "`{}` at byte {} encodes {why}",
                    &segment[i..i + 3],
                    at + i
                ));
            }
            i += 3;
            continue;
        }
        if !(b.is_ascii_alphanumeric() || SEGMENT_CHARS.contains(&b)) {
            let what = describe_char(segment, i);
            let why = match b {
                b'\\' => " (some servers read it as `/`)".to_string(),
                b';' => " (path parameters `;…` are refused)".to_string(),
                b'#' => " (fragments are never sent)".to_string(),
                _ => format!(
                    "; a segment holds letters, digits, `{}` and `%XX` escapes",
                    std::str::from_utf8(SEGMENT_CHARS).unwrap_or_default()
                ),
            };
            return Some(format!(
                "{what} at byte {} is not allowed in a path{why}",
                at + i
            ));
        }
        i += 1;
    }
    None
}

/// The byte a well-formed `%XX` at `bytes[i]` encodes.
fn escape(bytes: &[u8], i: usize) -> Option<u8> {
    let hex = bytes.get(i + 1..i + 3)?;
    let hex = std::str::from_utf8(hex).ok()?;
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u8::from_str_radix(hex, 16).ok()
}

fn bad_percent(at: usize) -> String {
    format!("the `%` at byte {at} does not start a `%XX` escape")
}

/// Why a path may not carry `byte` percent-encoded, if it may not.
fn escaped_problem(byte: u8) -> Option<String> {
    Some(match byte {
        b'.' => "`.`: encoded dots are refused (the URL parser reads `%2e` as a dot)".to_string(),
        b'/' => "`/`: encoded slashes are refused (a server that decodes them sees another path)"
            .to_string(),
        b'\\' => "`\\`: encoded backslashes are refused".to_string(),
        b'%' => "`%`: double encoding is refused".to_string(),
        b';' => "`;`: encoded path parameters are refused".to_string(),
        b if b.is_ascii_alphanumeric() || b"-_~".contains(&b) => format!(
            "`{}`, an unreserved character: write it as itself",
            b as char
        ),
        b if b.is_ascii_control() => "a control character".to_string(),
        b if !b.is_ascii() => "a non-ASCII byte: paths are ASCII (this also refuses overlong \
                               UTF-8 such as `%c0%ae`)"
            .to_string(),
        _ => return None,
    })
}

/// The character at byte `i` of `s` for an error message (escaped when not printable).
fn describe_char(s: &str, i: usize) -> String {
    let c = s[i..].chars().next().unwrap_or('\u{fffd}');
    format!("{c:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOMAIN: &str = "http://127.0.0.1:9";

    fn checked(p: &str) -> Result<CheckedUrl, String> {
        CheckedUrl::new(DOMAIN, p)
    }

    #[test]
    fn a_clean_path_is_sent_as_written() {
        for p in [
            "/open-apis/im/v1/messages",
            "/open-apis/im/v1/messages?receive_id_type=chat_id",
            "/open-apis/im/v1/messages/om_1/reply",
            "/open-apis/contact/v3/users/ou_1?user_id_type=open_id&x=%2F..%2F",
            "/open-apis/a/user%40x:y@z~1",
            "/open-apis/a/b?",
        ] {
            let c = checked(p).unwrap_or_else(|e| panic!("{p}: {e}"));
            assert_eq!(c.to_string(), p);
            assert_eq!(c.url().as_str(), format!("{DOMAIN}{p}"));
        }
        let c = checked("/open-apis/im/v1/messages?a=1").unwrap();
        assert_eq!(c.path(), "/open-apis/im/v1/messages");
        assert_eq!(c.query(), Some("a=1"));
        assert_eq!(c.domain(), DOMAIN);
    }

    #[test]
    fn a_domain_with_a_path_keeps_it_and_grants_see_the_api_path() {
        let c = CheckedUrl::new("http://127.0.0.1:9/proxy/", "/open-apis/a/b").unwrap();
        assert_eq!(c.url().as_str(), "http://127.0.0.1:9/proxy/open-apis/a/b");
        assert_eq!(c.path(), "/open-apis/a/b");
        let e = CheckedUrl::new("http://127.0.0.1:9/?x=1", "/open-apis/a").unwrap_err();
        assert!(e.contains("has a query or fragment"), "{e}");
        let e = CheckedUrl::new("not a url", "/open-apis/a").unwrap_err();
        assert!(e.contains("is not a URL"), "{e}");
    }

    #[test]
    fn each_rule_names_what_and_where() {
        let cases = [
            ("/im/v1", "must start with `/open-apis/`"),
            ("/open-apis/a//b", "an empty segment (`//`) at byte 12"),
            ("/open-apis/a/", "ends with `/`"),
            ("/open-apis/a/../b", "a dot segment `..` at byte 13"),
            ("/open-apis/a/./b", "a dot segment `.` at byte 13"),
            ("/open-apis/a/.%2e/b", "`%2e` at byte 14 encodes `.`"),
            ("/open-apis/a/..%2Fb", "`%2F` at byte 15 encodes `/`"),
            ("/open-apis/a/%5c", "encodes `\\`"),
            ("/open-apis/a/%252e", "double encoding"),
            ("/open-apis/a/%3b", "encoded path parameters"),
            ("/open-apis/a/%41", "`A`, an unreserved character"),
            ("/open-apis/a/%c0%ae", "non-ASCII byte"),
            ("/open-apis/a/%0a", "a control character"),
            ("/open-apis/a/%zz", "does not start a `%XX` escape"),
            ("/open-apis/a/%4", "does not start a `%XX` escape"),
            (
                "/open-apis/a\\b",
                "'\\\\' at byte 12 is not allowed in a path (some servers",
            ),
            ("/open-apis/a;x=1", "path parameters"),
            ("/open-apis/a#f", "fragments are never sent"),
            ("/open-apis/a b", "' ' at byte 12"),
            ("/open-apis/.\t./x", "'\\t' at byte 12"),
            ("/open-apis/é", "'é' at byte 11"),
            (
                "/open-apis/a?x=/../b",
                "'/' at byte 15 is not allowed in the query",
            ),
            ("/open-apis/a?x=1#f", "'#' at byte 16"),
            ("/open-apis/a?x='", "'\\'' at byte 15"),
            ("/open-apis/a?x=%g1", "the `%` at byte 15"),
        ];
        for (p, expected) in cases {
            let e = checked(p).unwrap_err();
            assert!(e.contains(expected), "{p:?}: {e}");
        }
        let long = format!("/open-apis/{}", "a".repeat(MAX_PATH_BYTES));
        assert!(checked(&long).unwrap_err().contains("longer than"));
    }

    /// The URL parser really does resolve these; the rules refuse them before it gets to.
    #[test]
    fn what_the_parser_would_have_changed_is_refused() {
        for p in [
            "/open-apis/im/v1/messages/.%2e/.%2e/.%2e/contact/v3/users",
            "/open-apis/im/v1/messages/%2E%2E/x",
            "/open-apis/im/v1/messages/.\t./x",
            "/open-apis/im/v1/messages/..\\x",
        ] {
            let parsed = Url::parse(&format!("{DOMAIN}{p}")).unwrap();
            assert_ne!(parsed.path(), p.split('?').next().unwrap(), "{p}");
            assert!(checked(p).is_err(), "{p}");
        }
    }
}
