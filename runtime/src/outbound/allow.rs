//! The allow-list of one handler (manifest key `allowed_outbound_hosts`): which scheme, host and
//! port its requests may go to. Denied by default: an empty list allows nothing.
//!
//! An entry is `scheme://host[:port]`, nothing else:
//!
//! - `scheme` is `http` or `https`; an entry allows that scheme only (`http://` only where
//!   listed).
//! - `host` is a name (`api.example.com`), `*.` and a name of at least two labels for its
//!   subdomains (`*.example.org` allows `a.example.org` and `a.b.example.org`, not
//!   `example.org`), a dotted IPv4 address (`127.0.0.1`) or a bracketed IPv6 address
//!   (`[::1]`). Names are compared in lowercase ASCII; internationalised names are written in
//!   their `xn--` form. The rules of [`super::written`] apply (no trailing dot, no other IPv4
//!   forms, no `%`).
//! - `port` is optional; without it the entry allows the scheme's default port (443, 80) only.
//!
//! A path, query, `*` anywhere else, userinfo or a wildcard port is refused, each bad entry with
//! its index (the manifest turns it into `file:line:col`).
//!
//! IP addresses and `localhost` in the list are taken as meant: a request may go there. Any
//! other *name* is resolved by the host at connect time and refused when it resolves to an
//! internal address ([`super::resolve`]).

use std::fmt;
use std::net::IpAddr;

use super::target::Target;
use super::written::{self, default_port, HostName};
use crate::limits::http::MAX_ALLOWED_HOSTS;

/// `http` or `https`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `http://`
    Http,
    /// `https://`
    Https,
}

impl Scheme {
    /// Parses a scheme (any case).
    pub fn parse(s: &str) -> Option<Scheme> {
        match s.to_ascii_lowercase().as_str() {
            "http" => Some(Scheme::Http),
            "https" => Some(Scheme::Https),
            _ => None,
        }
    }

    /// `"http"` or `"https"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    /// 80 or 443.
    pub fn default_port(self) -> u16 {
        default_port(self.as_str()).unwrap_or(443)
    }
}

/// The host part of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum HostPattern {
    /// Exactly this host (a name or an address).
    Exact(HostName),
    /// Every subdomain of this name (`*.example.org`), not the name itself.
    Subdomains(String),
}

/// One entry of `allowed_outbound_hosts`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AllowedHost {
    /// The scheme it allows.
    pub scheme: Scheme,
    /// The host(s) it allows.
    pub host: HostPattern,
    /// The port it allows (the scheme's default when none is written).
    pub port: u16,
}

impl AllowedHost {
    /// Whether this entry allows `target`'s scheme, host and port.
    pub fn allows(&self, target: &Target) -> bool {
        self.scheme == target.scheme() && self.port == target.port() && self.host_matches(target)
    }

    fn host_matches(&self, target: &Target) -> bool {
        match (&self.host, target.host()) {
            (HostPattern::Exact(h), t) => h == t,
            (HostPattern::Subdomains(suffix), HostName::Domain(d)) => d
                .strip_suffix(suffix.as_str())
                .and_then(|head| head.strip_suffix('.'))
                .is_some_and(|head| !head.is_empty()),
            (HostPattern::Subdomains(_), HostName::Ip(_)) => false,
        }
    }

    /// Whether the host is an IP address or `localhost`: named by the user, so the address
    /// rule of [`super::resolve`] does not apply to it.
    #[cfg(test)]
    pub fn is_explicit_address(&self) -> bool {
        match &self.host {
            HostPattern::Exact(HostName::Ip(_)) => true,
            HostPattern::Exact(HostName::Domain(d)) => d == "localhost",
            HostPattern::Subdomains(_) => false,
        }
    }
}

impl fmt::Display for AllowedHost {
    /// The entry in its normal form: `https://*.example.org:8443`, the port only when it is
    /// not the scheme's default.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.scheme.as_str())?;
        match &self.host {
            HostPattern::Exact(h) => write!(f, "{h}")?,
            HostPattern::Subdomains(s) => write!(f, "*.{s}")?,
        }
        if self.port != self.scheme.default_port() {
            write!(f, ":{}", self.port)?;
        }
        Ok(())
    }
}

/// A bad entry: its index in the list and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryProblem {
    /// 0-based index into the list as written.
    pub index: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for EntryProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "entry {}: {}", self.index, self.message)
    }
}

/// The hosts a handler may send requests to. Empty: every request is denied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    entries: Vec<AllowedHost>,
}

impl AllowList {
    /// Parses `allowed_outbound_hosts`; every bad entry is reported, not just the first.
    pub fn parse<S: AsRef<str>>(list: &[S]) -> Result<AllowList, Vec<EntryProblem>> {
        let mut entries: Vec<AllowedHost> = Vec::new();
        let mut problems = Vec::new();
        if list.len() > MAX_ALLOWED_HOSTS {
            problems.push(EntryProblem {
                index: MAX_ALLOWED_HOSTS,
                message: format!("more than {MAX_ALLOWED_HOSTS} entries"),
            });
        }
        for (index, written) in list.iter().enumerate() {
            match parse_entry(written.as_ref()) {
                Ok(e) if entries.contains(&e) => problems.push(EntryProblem {
                    index,
                    message: format!("`{e}` is listed twice"),
                }),
                Ok(e) => entries.push(e),
                Err(why) => problems.push(EntryProblem {
                    index,
                    message: format!("`{}`: {why}", written.as_ref()),
                }),
            }
        }
        if problems.is_empty() {
            Ok(AllowList { entries })
        } else {
            Err(problems)
        }
    }

    /// The entries, in the order written.
    #[cfg(test)]
    pub fn entries(&self) -> &[AllowedHost] {
        &self.entries
    }

    /// Whether nothing is allowed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The first entry that allows `target`, if one does.
    pub fn allowing(&self, target: &Target) -> Option<&AllowedHost> {
        self.entries.iter().find(|e| e.allows(target))
    }

    /// A hint for a denied `target`: the entries naming its host for another scheme or port.
    pub fn near_misses(&self, target: &Target) -> Vec<&AllowedHost> {
        self.entries
            .iter()
            .filter(|e| e.host_matches(target))
            .collect()
    }

    /// `https://a, https://*.b:8443` for `aviary check` and `aviary invoke`.
    pub fn summary(&self) -> String {
        let all: Vec<String> = self.entries.iter().map(|e| e.to_string()).collect();
        all.join(", ")
    }

    /// The list as a TOML array, for error messages.
    pub fn quoted(&self) -> String {
        let all: Vec<String> = self.entries.iter().map(|e| format!("\"{e}\"")).collect();
        format!("[{}]", all.join(", "))
    }
}

/// One entry as written, checked.
fn parse_entry(s: &str) -> Result<AllowedHost, String> {
    if s.trim() != s || s.is_empty() {
        return Err("an entry is `scheme://host[:port]`, without spaces".into());
    }
    let w = written::split(s)?;
    let Some(scheme) = Scheme::parse(w.scheme) else {
        return Err(format!(
            "the scheme `{}` is not allowed (`http` or `https`)",
            w.scheme
        ));
    };
    if !w.rest.is_empty() {
        return Err(format!(
            "`{}` after the host: an entry names scheme, host and port only (every path is \
             allowed on an allowed host)",
            w.rest
        ));
    }
    let port = match w.port {
        None => scheme.default_port(),
        Some("*") => {
            return Err("a wildcard port is refused; list each port".into());
        }
        Some(p) => written::port(p)?,
    };
    let host = if let Some(rest) = w.host.strip_prefix("*.") {
        if rest.contains('*') {
            return Err("`*` may only be the first label (`*.example.org`)".into());
        }
        match written::host(rest)? {
            HostName::Domain(d) if d.contains('.') => HostPattern::Subdomains(d),
            HostName::Domain(d) => {
                return Err(format!(
                    "`*.{d}` would allow a whole top-level domain; name at least two labels \
                     (`*.example.org`)"
                ))
            }
            HostName::Ip(_) => return Err("`*.` applies to names, not addresses".into()),
        }
    } else if w.host.contains('*') {
        return Err(
            "`*` is allowed only as `*.` before a name (`*.example.org`); a host of `*` \
             alone would allow every host"
                .into(),
        );
    } else {
        HostPattern::Exact(written::host(w.host)?)
    };
    if let HostPattern::Exact(HostName::Ip(IpAddr::V6(a))) = &host {
        if a.to_ipv4_mapped().is_some() {
            return Err(format!(
                "`[{a}]` is an IPv4-mapped address; write the IPv4 address itself"
            ));
        }
    }
    Ok(AllowedHost { scheme, host, port })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> AllowList {
        AllowList::parse(entries).unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn target(url: &str) -> Target {
        Target::check(url).unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    #[test]
    fn the_issue_example_parses_and_prints_in_normal_form() {
        let l = list(&[
            "https://api.example.com",
            "https://*.example.org:8443",
            "http://127.0.0.1:8080",
            "HTTPS://API.Example.NET:443",
            "http://[::1]:9000",
            "http://localhost:3000",
        ]);
        assert_eq!(
            l.summary(),
            "https://api.example.com, https://*.example.org:8443, http://127.0.0.1:8080, \
             https://api.example.net, http://[::1]:9000, http://localhost:3000"
        );
        let explicit: Vec<bool> = l
            .entries()
            .iter()
            .map(|e| e.is_explicit_address())
            .collect();
        assert_eq!(explicit, [false, false, true, false, true, true]);
    }

    #[test]
    fn matching_needs_scheme_host_and_port() {
        let l = list(&[
            "https://api.example.com",
            "https://*.example.org:8443",
            "http://127.0.0.1:8080",
            "http://[::1]:9000",
        ]);
        for ok in [
            "https://api.example.com/v1/x?y=1",
            "https://api.example.com:443/",
            "https://API.EXAMPLE.COM/",
            "https://a.example.org:8443/",
            "https://a.b.example.org:8443/",
            "http://127.0.0.1:8080/",
            "http://[::1]:9000/",
            "http://[0:0::1]:9000/",
        ] {
            assert!(l.allowing(&target(ok)).is_some(), "{ok}");
        }
        for denied in [
            "http://api.example.com/",
            "https://api.example.com:8443/",
            "https://api.example.com.evil.com/",
            "https://evilapi.example.com/",
            "https://example.com/",
            "https://x.api.example.com/",
            "https://example.org:8443/",
            "https://a.example.org/",
            "https://aexample.org:8443/",
            "https://a.example.org.evil:8443/",
            "http://127.0.0.1:8081/",
            "https://127.0.0.1:8080/",
            "http://127.0.0.2:8080/",
            "http://[::ffff:127.0.0.1]:8080/",
            "http://localhost:8080/",
            "http://[::1]:9001/",
        ] {
            assert!(l.allowing(&target(denied)).is_none(), "{denied}");
        }
        assert!(AllowList::default()
            .allowing(&target("https://api.example.com/"))
            .is_none());
        let near: Vec<String> = l
            .near_misses(&target("http://api.example.com/"))
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(near, ["https://api.example.com"]);
    }

    #[test]
    fn every_bad_entry_is_named_by_index() {
        let problems = AllowList::parse(&[
            "https://api.example.com",
            "ftp://files.example.com",
            "https://api.example.com/v1",
            "https://*",
            "https://*.com",
            "https://a.*.example.com",
            "https://*.*.example.com",
            "https://api.example.com:*",
            "https://api.example.com:0443",
            "https://user@api.example.com",
            "https://api.example.com.",
            "https://bücher.example",
            "http://2130706433",
            "http://0177.0.0.1:80",
            "https://*.127.0.0.1",
            "api.example.com",
            " https://api.example.com",
            "https://API.example.com:443",
            "https://api.example.com?x",
            "http://[::ffff:127.0.0.1]",
            "https://%61pi.example.com",
            "",
        ])
        .unwrap_err();
        let expected = [
            (1, "the scheme `ftp` is not allowed"),
            (2, "after the host"),
            (3, "a host of `*`"),
            (4, "whole top-level domain"),
            (5, "a host of `*`"),
            (6, "may only be the first label"),
            (7, "wildcard port"),
            (8, "leading zeros"),
            (9, "userinfo"),
            (10, "trailing dot"),
            (11, "xn--bcher-kva.example"),
            (12, "write it as `127.0.0.1`"),
            (13, "write it as `127.0.0.1`"),
            (14, "not addresses"),
            (15, "does not start with"),
            (16, "without spaces"),
            (17, "listed twice"),
            (18, "after the host"),
            (19, "IPv4-mapped"),
            (20, "percent-encoded"),
            (21, "without spaces"),
        ];
        let got: Vec<(usize, &str)> = problems
            .iter()
            .map(|p| (p.index, p.message.as_str()))
            .collect();
        assert_eq!(got.len(), expected.len(), "{got:#?}");
        for ((i, msg), (want_i, want)) in got.iter().zip(expected) {
            assert_eq!(*i, want_i, "{msg}");
            assert!(msg.contains(want), "entry {i}: {msg}");
        }
        assert!(problems[0].to_string().starts_with("entry 1: `ftp://"));
        assert!(AllowList::parse::<&str>(&[]).unwrap().is_empty());
    }
}
