//! What a handler may call: the manifest's per-handler `openapi` key, a list of path prefixes
//! under `/open-apis/`. No key (or an empty list): every call is denied.

/// Every OpenAPI path starts with this.
pub const PATH_ROOT: &str = "/open-apis/";

/// The HTTP methods a guest may use.
pub const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];

/// One handler's allow-list: path prefixes, each starting with [`PATH_ROOT`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenApiGrant {
    /// The prefixes as written in the manifest (trailing `/` removed).
    pub prefixes: Vec<String>,
}

impl OpenApiGrant {
    /// Whether `path` (query allowed) is under one of the prefixes. A prefix matches whole
    /// segments: `/open-apis/im/v1/messages` allows `/open-apis/im/v1/messages`,
    /// `…/messages?receive_id_type=chat_id` and `…/messages/om_1/reply`, not
    /// `…/messages_x`.
    pub fn allows(&self, path: &str) -> bool {
        let path = path.split(['?', '#']).next().unwrap_or("");
        self.prefixes.iter().any(|p| {
            path.strip_prefix(p.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        })
    }
}

/// Why a grant prefix from the manifest is unusable, if it is.
pub fn prefix_problem(prefix: &str) -> Option<String> {
    if !prefix.starts_with(PATH_ROOT) || prefix.len() <= PATH_ROOT.len() {
        return Some(format!(
            "`{prefix}` must start with `{PATH_ROOT}` and name an API (e.g. `/open-apis/im/v1/messages`)"
        ));
    }
    path_problem(prefix).map(|why| format!("`{prefix}`: {why}"))
}

/// Why a path a guest asked for is unusable, if it is: it must start with [`PATH_ROOT`], hold
/// no `..` segment, no control characters or spaces, no fragment.
pub fn path_problem(path: &str) -> Option<String> {
    if !path.starts_with(PATH_ROOT) {
        return Some(format!("the path must start with `{PATH_ROOT}`"));
    }
    if path.len() > crate::limits::openapi::MAX_PATH_BYTES {
        return Some(format!(
            "the path is longer than {} bytes",
            crate::limits::openapi::MAX_PATH_BYTES
        ));
    }
    if let Some(c) = path
        .chars()
        .find(|c| c.is_control() || c.is_whitespace() || *c == '#' || *c == '\\')
    {
        return Some(format!("the path contains {c:?}"));
    }
    let before_query = path.split('?').next().unwrap_or("");
    if before_query
        .split('/')
        .any(|s| s == ".." || s == "." || s.eq_ignore_ascii_case("%2e%2e"))
    {
        return Some("the path contains a `.` or `..` segment".to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(p: &[&str]) -> OpenApiGrant {
        OpenApiGrant {
            prefixes: p.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn prefixes_match_whole_segments() {
        let g = grant(&["/open-apis/im/v1/messages"]);
        assert!(g.allows("/open-apis/im/v1/messages"));
        assert!(g.allows("/open-apis/im/v1/messages?receive_id_type=chat_id"));
        assert!(g.allows("/open-apis/im/v1/messages/om_1/reply"));
        assert!(!g.allows("/open-apis/im/v1/messages_x"));
        assert!(!g.allows("/open-apis/im/v1/chats"));
        assert!(!OpenApiGrant::default().allows("/open-apis/im/v1/messages"));
    }

    #[test]
    fn bad_paths_and_prefixes_are_named() {
        assert!(path_problem("/open-apis/im/v1/messages?x=1").is_none());
        assert!(path_problem("https://evil/open-apis/")
            .unwrap()
            .contains("must start"));
        assert!(path_problem("/open-apis/im/../auth")
            .unwrap()
            .contains(".."));
        assert!(path_problem("/open-apis/im v1").unwrap().contains("' '"));
        assert!(path_problem("/open-apis/a\r\nX: y").is_some());
        assert!(prefix_problem("/open-apis/").is_some());
        assert!(prefix_problem("/im/v1").unwrap().contains("must start"));
        assert!(prefix_problem("/open-apis/im/v1/messages").is_none());
    }
}
