//! The scheme, host and port of a URL or an allow-list entry *as written*, split without the
//! URL parser's help, so that what the parser makes of them can be compared with what was
//! written (the rule of `docs/openapi.md` applied to hosts: a URL is sent only when it parses
//! to itself).
//!
//! Written forms are refused when a parser would read them in more than one way or differently
//! from how they look: userinfo (`user@host`), a host that is percent-encoded, non-ASCII (write
//! IDNs as `xn--…`), ends with a dot, holds characters other than letters, digits, `-`, `_` and
//! `.`, or is an IPv4 address in any form but dotted decimal (`0x7f.1`, `2130706433`,
//! `0177.0.0.1`, `127.1`), and ports with a sign or leading zeros.

use std::net::IpAddr;

/// The pieces of `scheme://authority…` as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Written<'a> {
    /// The scheme as written (any case).
    pub scheme: &'a str,
    /// The host as written: a name, a dotted IPv4 address, or `[IPv6]` with its brackets.
    pub host: &'a str,
    /// The port's digits after `:`, if a port is written.
    pub port: Option<&'a str>,
    /// Everything after the authority (path, query, fragment), possibly empty.
    pub rest: &'a str,
}

/// A host that passed the checks of this module: a lowercase ASCII name or an IP address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostName {
    /// A domain name (lowercase ASCII, no trailing dot).
    Domain(String),
    /// An IP address (written as a dotted IPv4 address or a bracketed IPv6 address).
    Ip(IpAddr),
}

impl std::fmt::Display for HostName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostName::Domain(d) => f.write_str(d),
            HostName::Ip(IpAddr::V4(a)) => write!(f, "{a}"),
            HostName::Ip(IpAddr::V6(a)) => write!(f, "[{a}]"),
        }
    }
}

/// Splits `s` into scheme, host, port and the rest. `Err`: why it is not of the form
/// `scheme://host[:port]…` (userinfo included).
pub(crate) fn split(s: &str) -> Result<Written<'_>, String> {
    let Some((scheme, after)) = s.split_once("://") else {
        return Err("it does not start with `http://` or `https://`".into());
    };
    if scheme.is_empty() || !scheme.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(format!(
            "`{scheme}` is not a scheme; it starts with `http://` or `https://`"
        ));
    }
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    let (authority, rest) = after.split_at(end);
    if authority.contains('@') {
        return Err(
            "userinfo (`user:password@`) is refused: credentials go in a header, and `@` makes \
             the host ambiguous"
                .into(),
        );
    }
    let (host, port) = if authority.starts_with('[') {
        let Some(close) = authority.find(']') else {
            return Err("an IPv6 address misses its closing `]`".into());
        };
        let (host, after) = authority.split_at(close + 1);
        match after {
            "" => (host, None),
            p if p.starts_with(':') => (host, Some(&p[1..])),
            _ => return Err(format!("`{after}` after the IPv6 address is not a port")),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) if port.contains(':') => {
                return Err(format!(
                    "`{host}:{port}` has more than one `:`; write IPv6 addresses in brackets \
                     (`[::1]`)"
                ))
            }
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("there is no host".into());
    }
    Ok(Written {
        scheme,
        host,
        port,
        rest,
    })
}

/// Checks a written host and returns it normalised (lowercase name or address). `Err`: why it
/// is refused (see the module doc).
pub(crate) fn host(written: &str) -> Result<HostName, String> {
    if let Some(inner) = written.strip_prefix('[') {
        let inner = inner.strip_suffix(']').unwrap_or(inner);
        return inner
            .parse::<std::net::Ipv6Addr>()
            .map(|a| HostName::Ip(IpAddr::V6(a)))
            .map_err(|_| {
                format!("`{written}` is not an IPv6 address (zone ids such as `%eth0` are refused)")
            });
    }
    if !written.is_ascii() {
        let hint = match url::Host::parse(written) {
            Ok(url::Host::Domain(d)) => format!(" (`{d}`)"),
            _ => String::new(),
        };
        return Err(format!(
            "the host `{written}` is not ASCII: write an internationalised name in its `xn--` \
             form{hint}, which is what is sent"
        ));
    }
    if written.contains('%') {
        return Err(format!(
            "the host `{written}` is percent-encoded; write it as itself"
        ));
    }
    if written.ends_with('.') {
        return Err(format!(
            "the host `{written}` ends with `.`; write it without the trailing dot"
        ));
    }
    if let Some(c) = written
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "the host `{written}` holds {c:?}; a host name holds letters, digits, `-`, `_` and `.`"
        ));
    }
    let lower = written.to_ascii_lowercase();
    match url::Host::parse(&lower) {
        Ok(url::Host::Ipv4(a)) if a.to_string() == lower => Ok(HostName::Ip(IpAddr::V4(a))),
        Ok(url::Host::Ipv4(a)) => Err(format!(
            "the URL parser reads the host `{written}` as the address {a}; write it as `{a}` \
             (other IPv4 forms are read differently by different parsers)"
        )),
        Ok(url::Host::Domain(d)) if d == lower => {
            if let Some(why) = labels_problem(&d) {
                return Err(format!("the host `{written}` {why}"));
            }
            Ok(HostName::Domain(d))
        }
        Ok(other) => Err(format!(
            "the URL parser reads the host `{written}` as `{other}`; write that instead"
        )),
        Err(e) => Err(format!("the host `{written}` is not a host name ({e})")),
    }
}

/// Why the labels of a lowercase name are unusable, if they are.
fn labels_problem(name: &str) -> Option<String> {
    if name.len() > 253 {
        return Some("is longer than 253 characters".into());
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Some("has an empty label (`..`)".into());
        }
        if label.len() > 63 {
            return Some(format!("has a label longer than 63 characters (`{label}`)"));
        }
    }
    None
}

/// Checks a written port: decimal digits, no leading zero, 1..=65535.
pub(crate) fn port(written: &str) -> Result<u16, String> {
    let bad = || format!("`:{written}` is not a port (write 1 to 65535, without leading zeros)");
    if written.is_empty()
        || !written.bytes().all(|b| b.is_ascii_digit())
        || written.starts_with('0')
    {
        return Err(bad());
    }
    written.parse::<u16>().map_err(|_| bad())
}

/// The default port of `http` (80) and `https` (443).
pub(crate) fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_scheme_host_port_and_rest() {
        let w = split("https://api.example.com:8443/v1?x=1#f").unwrap();
        assert_eq!(
            w,
            Written {
                scheme: "https",
                host: "api.example.com",
                port: Some("8443"),
                rest: "/v1?x=1#f"
            }
        );
        let w = split("http://[::1]:80").unwrap();
        assert_eq!((w.host, w.port, w.rest), ("[::1]", Some("80"), ""));
        let w = split("http://h?q").unwrap();
        assert_eq!((w.host, w.port, w.rest), ("h", None, "?q"));
        for (bad, why) in [
            ("api.example.com", "does not start with"),
            ("https:api.example.com", "does not start with"),
            ("1ttp://x", "not a scheme"),
            ("://x", "not a scheme"),
            ("https://user@api.example.com", "userinfo"),
            ("https://user:pw@api.example.com", "userinfo"),
            ("https://api.example.com@evil.com", "userinfo"),
            ("https://", "no host"),
            ("https:///api.example.com", "no host"),
            ("https://:443", "no host"),
            ("http://[::1", "closing"),
            ("http://[::1]x", "not a port"),
            ("http://::1/", "brackets"),
        ] {
            let e = split(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn hosts_must_be_written_as_sent() {
        assert_eq!(
            host("API.Example.COM").unwrap(),
            HostName::Domain("api.example.com".into())
        );
        assert_eq!(
            host("127.0.0.1").unwrap(),
            HostName::Ip("127.0.0.1".parse().unwrap())
        );
        assert_eq!(
            host("[::FFFF:127.0.0.1]").unwrap(),
            HostName::Ip("::ffff:127.0.0.1".parse().unwrap())
        );
        assert_eq!(
            host("xn--bcher-kva.example").unwrap(),
            HostName::Domain("xn--bcher-kva.example".into())
        );
        for (bad, why) in [
            ("bücher.example", "`xn--bcher-kva.example`"),
            ("аpi.example.com", "not ASCII"),
            ("api．example．com", "not ASCII"),
            ("%61pi.example.com", "percent-encoded"),
            ("api.example.com.", "trailing dot"),
            ("2130706433", "as the address 127.0.0.1"),
            ("0x7f.1", "as the address 127.0.0.1"),
            ("0177.0.0.1", "as the address 127.0.0.1"),
            ("127.1", "as the address 127.0.0.1"),
            ("127.0.0.01", "as the address 127.0.0.1"),
            ("0x7f000001", "as the address 127.0.0.1"),
            ("a..b", "empty label"),
            ("a!b.com", "holds '!'"),
            ("a b", "holds ' '"),
            ("evil.com\\api.example.com", "holds '\\\\'"),
            ("[fe80::1%25eth0]", "zone ids"),
            ("[127.0.0.1]", "not an IPv6 address"),
            ("999.1.1.1", "not a host name"),
        ] {
            let e = host(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn ports_are_plain_decimal() {
        assert_eq!(port("8080"), Ok(8080));
        assert_eq!(port("65535"), Ok(65535));
        for bad in [
            "",
            "0",
            "080",
            "65536",
            "+80",
            "-1",
            "8o",
            " 80",
            "99999999999",
        ] {
            assert!(port(bad).is_err(), "{bad:?}");
        }
    }
}
