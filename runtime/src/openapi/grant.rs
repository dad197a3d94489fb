//! What a handler may call: the manifest's per-handler `openapi` key, a list of entries
//! `"METHOD /open-apis/…"` or a bare `"/open-apis/…"` (every method). No key (or an empty list):
//! every call is denied.
//!
//! A prefix matches whole segments of the checked path ([`super::path::CheckedUrl::path`],
//! the query left out): `/open-apis/im/v1/messages` allows `/open-apis/im/v1/messages`,
//! `…/messages?receive_id_type=chat_id` and `…/messages/om_1/reply`, not `…/messages_x`.

use std::fmt;

use super::path::{path_problem, CheckedUrl, PATH_ROOT};

/// An HTTP method a guest may use and a grant may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

impl Method {
    /// Every method, in the order error messages list them.
    pub const ALL: [Method; 5] = [
        Method::Get,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
    ];

    /// The method named `name` (any case).
    pub fn parse(name: &str) -> Option<Method> {
        Method::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(name))
    }

    /// The upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    /// `GET, POST, PUT, PATCH, DELETE`.
    pub fn list() -> String {
        Method::ALL.map(Method::as_str).join(", ")
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of a grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantEntry {
    /// The method allowed; `None` (a bare prefix): every method.
    pub method: Option<Method>,
    /// The path prefix (starts with [`PATH_ROOT`], no trailing `/`).
    pub prefix: String,
}

impl GrantEntry {
    fn covers_path(&self, path: &str) -> bool {
        path.strip_prefix(self.prefix.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }
}

impl fmt::Display for GrantEntry {
    /// As written in the manifest: `POST /open-apis/…` or the bare prefix.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.method {
            Some(m) => write!(f, "{m} {}", self.prefix),
            None => f.write_str(&self.prefix),
        }
    }
}

/// Why entry `index` (0-based) of an `openapi` list is unusable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantProblem {
    /// The entry's position in the list.
    pub index: usize,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for GrantProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "entry {}: {}", self.index, self.message)
    }
}

/// One handler's allow-list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenApiGrant {
    entries: Vec<GrantEntry>,
}

impl OpenApiGrant {
    /// The grant of the manifest's `openapi = [...]` list. `Err`: every unusable entry.
    pub fn parse<S: AsRef<str>>(list: &[S]) -> Result<OpenApiGrant, Vec<GrantProblem>> {
        let mut entries: Vec<GrantEntry> = Vec::new();
        let mut problems = Vec::new();
        for (index, written) in list.iter().enumerate() {
            let written = written.as_ref();
            match parse_entry(written) {
                Err(message) => problems.push(GrantProblem { index, message }),
                Ok(entry) => match entries.iter().position(|e| *e == entry) {
                    Some(_) => problems.push(GrantProblem {
                        index,
                        message: format!("`{entry}` is listed twice"),
                    }),
                    None => entries.push(entry),
                },
            }
        }
        if problems.is_empty() {
            Ok(OpenApiGrant { entries })
        } else {
            Err(problems)
        }
    }

    /// The entries, in the manifest's order.
    #[cfg(test)]
    pub fn entries(&self) -> &[GrantEntry] {
        &self.entries
    }

    /// No entry: every call is denied.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `method` on the checked `url` is under an entry.
    pub fn allows(&self, method: Method, url: &CheckedUrl) -> bool {
        self.entries
            .iter()
            .any(|e| (e.method.is_none() || e.method == Some(method)) && e.covers_path(url.path()))
    }

    /// The methods entries grant for the path of `url` (for the error of a denied method).
    pub fn methods_for(&self, url: &CheckedUrl) -> Vec<Method> {
        let mut methods: Vec<Method> = self
            .entries
            .iter()
            .filter(|e| e.covers_path(url.path()))
            .filter_map(|e| e.method)
            .collect();
        methods.sort();
        methods.dedup();
        methods
    }

    /// The entries for people: `POST /open-apis/im/v1/messages, /open-apis/drive (every
    /// method)`.
    pub fn summary(&self) -> String {
        let list: Vec<String> = self
            .entries
            .iter()
            .map(|e| match e.method {
                Some(_) => e.to_string(),
                None => format!("{} (every method)", e.prefix),
            })
            .collect();
        list.join(", ")
    }

    /// The entries as written, quoted: `["POST /open-apis/im/v1/messages", …]`.
    pub fn quoted(&self) -> String {
        let list: Vec<String> = self.entries.iter().map(|e| e.to_string()).collect();
        format!("{list:?}")
    }
}

/// One entry: `[METHOD ]PREFIX`.
fn parse_entry(written: &str) -> Result<GrantEntry, String> {
    let text = written.trim();
    let (method, prefix) = match text.split_once(char::is_whitespace) {
        Some((m, rest)) => {
            let method = Method::parse(m).ok_or_else(|| {
                format!(
                    "`{text}`: `{m}` is not a method ({}); write `METHOD /open-apis/…`, or the \
                     bare prefix for every method",
                    Method::list()
                )
            })?;
            (Some(method), rest.trim_start())
        }
        None if Method::parse(text).is_some() => {
            return Err(format!(
                "`{text}` names a method but no path (e.g. `{text} /open-apis/im/v1/messages`)"
            ))
        }
        None => (None, text),
    };
    let prefix = if prefix.len() > 1 {
        prefix.trim_end_matches('/')
    } else {
        prefix
    };
    match prefix_problem(prefix) {
        Some(why) => Err(format!("`{text}`: {why}")),
        None => Ok(GrantEntry {
            method,
            prefix: prefix.to_string(),
        }),
    }
}

/// Why a grant prefix is unusable, if it is: it keeps the path rules
/// ([`super::path::path_problem`]), names an API below [`PATH_ROOT`], and holds no query,
/// no `%` escape and no `*`.
fn prefix_problem(prefix: &str) -> Option<String> {
    if !prefix.starts_with(PATH_ROOT) || prefix.len() <= PATH_ROOT.len() {
        return Some(format!(
            "a prefix must start with `{PATH_ROOT}` and name an API (e.g. `/open-apis/im/v1/messages`)"
        ));
    }
    if prefix.contains('?') {
        return Some("a grant is a path prefix; it holds no query".to_string());
    }
    if prefix.contains('%') {
        return Some("write the prefix without `%` escapes".to_string());
    }
    if prefix.contains('*') {
        return Some(
            "a grant is a prefix and matches everything below it: drop the `*` \
             (e.g. `/open-apis/im/v1` instead of `/open-apis/im/v1/*`)"
                .to_string(),
        );
    }
    path_problem(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(list: &[&str]) -> OpenApiGrant {
        OpenApiGrant::parse(list).unwrap()
    }

    fn url(p: &str) -> CheckedUrl {
        CheckedUrl::new("http://127.0.0.1:9", p).unwrap()
    }

    #[test]
    fn prefixes_match_whole_segments() {
        let g = grant(&["/open-apis/im/v1/messages/"]);
        assert_eq!(g.entries()[0].prefix, "/open-apis/im/v1/messages");
        for m in Method::ALL {
            assert!(g.allows(m, &url("/open-apis/im/v1/messages")));
        }
        assert!(g.allows(
            Method::Post,
            &url("/open-apis/im/v1/messages?receive_id_type=chat_id")
        ));
        assert!(g.allows(Method::Post, &url("/open-apis/im/v1/messages/om_1/reply")));
        assert!(!g.allows(Method::Post, &url("/open-apis/im/v1/messages_x")));
        assert!(!g.allows(Method::Post, &url("/open-apis/im/v1/chats")));
        assert!(!g.allows(Method::Get, &url("/open-apis/im/v1")));
        assert!(!OpenApiGrant::default().allows(Method::Get, &url("/open-apis/im/v1/messages")));
    }

    #[test]
    fn a_method_entry_allows_that_method_only() {
        let g = grant(&[
            "POST /open-apis/im/v1/messages",
            "get  /open-apis/contact/v3/users",
            "/open-apis/drive",
        ]);
        let messages = url("/open-apis/im/v1/messages/om_1/reply");
        assert!(g.allows(Method::Post, &messages));
        assert!(!g.allows(Method::Get, &messages));
        assert!(!g.allows(Method::Delete, &messages));
        assert_eq!(g.methods_for(&messages), [Method::Post]);
        let users = url("/open-apis/contact/v3/users/ou_1");
        assert!(g.allows(Method::Get, &users) && !g.allows(Method::Patch, &users));
        assert!(g.allows(Method::Delete, &url("/open-apis/drive/v1/files/f")));
        assert_eq!(
            g.summary(),
            "POST /open-apis/im/v1/messages, GET /open-apis/contact/v3/users, \
             /open-apis/drive (every method)"
        );
        assert_eq!(
            g.quoted(),
            r#"["POST /open-apis/im/v1/messages", "GET /open-apis/contact/v3/users", "/open-apis/drive"]"#
        );
    }

    #[test]
    fn every_bad_entry_is_named_by_index() {
        let problems = OpenApiGrant::parse(&[
            "/open-apis/im/v1/messages",
            "FETCH /open-apis/im",
            "POST",
            "/im/v1/messages",
            "/open-apis/im/../auth",
            "/open-apis/",
            "/open-apis/im?x=1",
            "/open-apis/%69m",
            "/open-apis/im/v1/*",
            "GET /open-apis/a//b",
            "/open-apis/im/v1/messages/",
        ])
        .unwrap_err();
        let by_index: Vec<(usize, &str)> = problems
            .iter()
            .map(|p| (p.index, p.message.as_str()))
            .collect();
        let expected = [
            (1, "`FETCH` is not a method (GET, POST, PUT, PATCH, DELETE)"),
            (2, "names a method but no path"),
            (3, "must start with `/open-apis/`"),
            (4, "a dot segment `..`"),
            (5, "name an API"),
            (6, "holds no query"),
            (7, "without `%` escapes"),
            (8, "drop the `*`"),
            (9, "an empty segment (`//`)"),
            (10, "listed twice"),
        ];
        assert_eq!(by_index.len(), expected.len(), "{problems:?}");
        for ((i, msg), (want_i, want)) in by_index.iter().zip(expected) {
            assert_eq!(*i, want_i, "{msg}");
            assert!(msg.contains(want), "entry {i}: {msg}");
        }
        assert_eq!(
            problems[0].to_string(),
            format!("entry 1: {}", problems[0].message)
        );
        assert!(OpenApiGrant::parse::<&str>(&[]).unwrap().is_empty());
    }
}
