//! A URL a guest asked for, checked and normalised once: the [`Target`] that comes out is what
//! the allow-list is checked on and exactly what is sent (its [`url::Url`], the parser reqwest
//! itself uses, never re-formatted from the guest's string).
//!
//! In order, a URL is refused when:
//!
//! 1. it is longer than [`MAX_URL_BYTES`];
//! 2. it holds an ASCII control character, a space or a `\` anywhere (the URL parser drops tabs
//!    and newlines and reads `\` as `/`, other parsers do not);
//! 3. it is not `http://` or `https://` followed directly by the host (`https:host` and
//!    `https:///host` are read as `https://host/` by the parser), or it holds userinfo;
//! 4. its host or port breaks a rule of [`super::written`] (percent-encoded, non-ASCII,
//!    trailing dot, IPv4 in a form other than dotted decimal, leading zeros in the port, …);
//! 5. the URL parser does not read scheme, host and port exactly as written.
//!
//! A fragment (`#…`) is dropped: it is never sent. Path and query are left to the parser
//! (it percent-encodes what must be); the allow-list does not look at them.

use std::fmt;
use std::net::IpAddr;

use url::Url;

use super::allow::Scheme;
use super::written::{self, HostName};
use crate::limits::http::MAX_URL_BYTES;

/// A URL that passed every check of this module: what is matched and what is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    url: Url,
    scheme: Scheme,
    host: HostName,
    port: u16,
}

impl Target {
    /// Checks `written` (see the module doc). `Err`: why it is refused.
    pub fn check(written: &str) -> Result<Target, String> {
        if written.len() > MAX_URL_BYTES {
            return Err(format!("the URL is longer than {MAX_URL_BYTES} bytes"));
        }
        if let Some((i, c)) = written
            .char_indices()
            .find(|(_, c)| c.is_ascii_control() || *c == ' ' || *c == '\\')
        {
            return Err(format!(
                "{c:?} at byte {i} is refused in a URL (percent-encode it; parsers differ on \
                 control characters, spaces and backslashes)"
            ));
        }
        if let Some((scheme, _)) = written.split_once("://") {
            if Scheme::parse(scheme).is_none() {
                return Err(format!(
                    "the scheme `{scheme}` is not allowed (`http` or `https`)"
                ));
            }
        }
        let w = written::split(written)?;
        let Some(scheme) = Scheme::parse(w.scheme) else {
            return Err(format!(
                "the scheme `{}` is not allowed (`http` or `https`)",
                w.scheme
            ));
        };
        if w.host.contains('*') {
            return Err(format!("the host `{}` holds `*`", w.host));
        }
        let host = written::host(w.host)?;
        let port = match w.port {
            Some(p) => written::port(p)?,
            None => scheme.default_port(),
        };
        let mut url =
            Url::parse(written).map_err(|e| format!("the URL parser refuses it ({e})"))?;
        let parsed_host = match url.host() {
            Some(url::Host::Domain(d)) => Some(HostName::Domain(d.to_string())),
            Some(url::Host::Ipv4(a)) => Some(HostName::Ip(IpAddr::V4(a))),
            Some(url::Host::Ipv6(a)) => Some(HostName::Ip(IpAddr::V6(a))),
            None => None,
        };
        if url.scheme() != scheme.as_str()
            || parsed_host.as_ref() != Some(&host)
            || url.port_or_known_default() != Some(port)
            || !url.username().is_empty()
            || url.password().is_some()
        {
            return Err(format!(
                "the URL parser reads it as `{}`, not as written; only a URL whose scheme, \
                 host and port parse to themselves is sent",
                &url[..url::Position::BeforePath]
            ));
        }
        url.set_fragment(None);
        Ok(Target {
            url,
            scheme,
            host,
            port,
        })
    }

    /// The URL to send.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The host (lowercase name or address).
    pub fn host(&self) -> &HostName {
        &self.host
    }

    /// The port, the scheme's default when none is written.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `scheme://host:port`, the port always written: what an allow-list entry must allow.
    pub fn origin(&self) -> String {
        format!("{}://{}:{}", self.scheme.as_str(), self.host, self.port)
    }

    /// Whether `other` has the same scheme, host and port.
    pub fn same_origin(&self, other: &Target) -> bool {
        self.scheme == other.scheme && self.host == other.host && self.port == other.port
    }
}

impl fmt::Display for Target {
    /// The URL for logs and errors: origin and path, the query replaced by `?…` (a query may
    /// carry a key), never the fragment.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url[..url::Position::AfterPath])?;
        if self.url.query().is_some() {
            f.write_str("?…")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_url_is_sent_as_written() {
        for (written, sent, origin) in [
            (
                "https://api.example.com",
                "https://api.example.com/",
                "https://api.example.com:443",
            ),
            (
                "https://api.example.com:8443/v1/chat?x=1&y=%2F",
                "https://api.example.com:8443/v1/chat?x=1&y=%2F",
                "https://api.example.com:8443",
            ),
            (
                "http://127.0.0.1:8080/a#frag",
                "http://127.0.0.1:8080/a",
                "http://127.0.0.1:8080",
            ),
            (
                "http://[::1]:9000/",
                "http://[::1]:9000/",
                "http://[::1]:9000",
            ),
            (
                "HTTPS://API.Example.COM:443/X",
                "https://api.example.com/X",
                "https://api.example.com:443",
            ),
            (
                "https://h/ü?q=ü",
                "https://h/%C3%BC?q=%C3%BC",
                "https://h:443",
            ),
        ] {
            let t = Target::check(written).unwrap_or_else(|e| panic!("{written}: {e}"));
            assert_eq!(t.url().as_str(), sent, "{written}");
            assert_eq!(t.origin(), origin, "{written}");
        }
        let t = Target::check("https://api.example.com/v1?key=secret").unwrap();
        assert_eq!(t.to_string(), "https://api.example.com/v1?…");
    }

    /// Bypass attempts against an allow-list naming `api.example.com` and `127.0.0.1`: each is
    /// refused before any matching, with the rule it breaks.
    #[test]
    fn ambiguous_spellings_are_refused() {
        for (bad, why) in [
            ("https://api.example.com\\@evil.com/", "backslash"),
            ("https://evil.com\\api.example.com/", "backslash"),
            ("https://api.exa\tmple.com/", "control"),
            ("https://api.example.com\n/", "control"),
            (" https://api.example.com/", "spaces"),
            ("https://api.example.com /", "spaces"),
            ("https:api.example.com", "does not start with"),
            ("https:/api.example.com", "does not start with"),
            ("https:///api.example.com", "no host"),
            ("//api.example.com/", "does not start with"),
            ("ftp://api.example.com/", "`ftp` is not allowed"),
            ("file:///etc/passwd", "`file` is not allowed"),
            ("gopher://127.0.0.1:8080/", "`gopher` is not allowed"),
            ("https://user:pw@api.example.com/", "userinfo"),
            ("https://api.example.com@evil.com/", "userinfo"),
            ("https://api.example.com:443@evil.com/", "userinfo"),
            ("https://%61pi.example.com/", "percent-encoded"),
            ("https://api%2eexample.com/", "percent-encoded"),
            ("https://api.example.com./", "trailing dot"),
            ("https://аpi.example.com/", "not ASCII"),
            ("https://api。example.com/", "not ASCII"),
            ("http://2130706433:8080/", "as the address 127.0.0.1"),
            ("http://0x7f000001:8080/", "as the address 127.0.0.1"),
            ("http://0x7f.0.0.1:8080/", "as the address 127.0.0.1"),
            ("http://0177.0.0.1:8080/", "as the address 127.0.0.1"),
            ("http://017700000001:8080/", "as the address 127.0.0.1"),
            ("http://127.1:8080/", "as the address 127.0.0.1"),
            ("http://127.0.1:8080/", "as the address 127.0.0.1"),
            ("http://127.000.000.001:8080/", "as the address 127.0.0.1"),
            ("http://[::1%25lo]:8080/", "zone ids"),
            ("http://127.0.0.1:08080/", "leading zeros"),
            ("http://127.0.0.1:+8080/", "not a port"),
            ("http://127.0.0.1:/", "not a port"),
            ("http://127.0.0.1:65536/", "not a port"),
            ("https://*.example.com/", "holds `*`"),
            ("https://api.example.com:443:80/", "more than one"),
        ] {
            let e = Target::check(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
        let long = format!("https://h/{}", "a".repeat(MAX_URL_BYTES));
        assert!(Target::check(&long).unwrap_err().contains("longer than"));
    }

    #[test]
    fn origins_compare_scheme_host_and_port() {
        let a = Target::check("https://api.example.com/a").unwrap();
        let b = Target::check("https://API.example.com:443/b?x").unwrap();
        let c = Target::check("http://api.example.com/").unwrap();
        let d = Target::check("https://api.example.com:8443/").unwrap();
        assert!(a.same_origin(&b));
        assert!(!a.same_origin(&c) && !a.same_origin(&d));
    }
}
