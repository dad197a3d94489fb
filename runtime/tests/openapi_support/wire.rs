//! The property test's parts, shared by the in-process test (`runtime/src/openapi/tests.rs`)
//! and the one through `aviary invoke` (`runtime/tests/openapi_e2e.rs`): the grant, a generator
//! of calls whose paths mix `.`, `%`, hex digits, `/`, `\` and `;`, and an oracle, written
//! without Aviary's own checks, of whether a request a server received is clean and granted.
#![allow(dead_code)] // each test crate uses its own subset

use proptest::prelude::*;

/// The grant the generated calls are made under.
pub const GRANT: [&str; 3] = [
    "POST /open-apis/im/v1/messages",
    "GET /open-apis/contact/v3/users",
    "/open-apis/drive/v1",
];

/// [`GRANT`] spelled out for the oracle: (method, prefix); `None` is every method.
const ENTRIES: [(Option<&str>, &str); 3] = [
    (Some("POST"), "/open-apis/im/v1/messages"),
    (Some("GET"), "/open-apis/contact/v3/users"),
    (None, "/open-apis/drive/v1"),
];

/// One generated call: (method, path with an optional query).
pub fn call() -> impl Strategy<Value = (String, String)> {
    // Granted methods and prefixes come up more often, so a fair share of calls gets through.
    let method = prop::sample::select(vec![
        "GET", "GET", "POST", "POST", "PUT", "PATCH", "DELETE", "get", "Post", "FETCH",
    ]);
    let base = prop::sample::select(vec![
        "/open-apis/im/v1/messages",
        "/open-apis/im/v1/messages",
        "/open-apis/contact/v3/users",
        "/open-apis/contact/v3/users",
        "/open-apis/drive/v1",
        "/open-apis/drive/v1",
        "/open-apis/im/v1",
        "/open-apis/im/v1/messages_x",
        "/open-apis",
        "",
    ]);
    // Tokens of a segment: plain hex, dots, escapes (random ones and the dangerous ones),
    // separators.
    let token = prop_oneof![
        6 => "[0-9a-f]{1,4}",
        1 => Just(".".to_string()),
        1 => Just("..".to_string()),
        1 => "%[0-9a-fA-F]{2}",
        1 => prop::sample::select(vec!["%2e", "%2E", "%2f", "%5C", "%25", "%c0%ae"])
            .prop_map(str::to_string),
        1 => "[.%0-9a-fA-F/\\\\;]{1,3}",
    ];
    let segment = prop::collection::vec(token, 0..4).prop_map(|t| t.concat());
    let segments = prop::collection::vec(segment, 0..5);
    let query = prop::sample::select(vec!["", "", "?a=1", "?x=%2e%2e%2f", "?/../", "?a=%zz"]);
    (method, base, segments, query).prop_map(|(m, b, s, q)| {
        let path: String = std::iter::once(b.to_string())
            .chain(s.iter().map(|s| format!("/{s}")))
            .chain(std::iter::once(q.to_string()))
            .collect();
        (m.to_string(), path)
    })
}

/// What is wrong with a request a server received as `method target` (`target`: path and
/// query as on the request line), if anything: it must be under `/open-apis/`, parse to itself,
/// hold no dot segment, empty segment, encoded `.`, `/`, `\` or `%`, no `\` or `;`, and be
/// under an entry of [`GRANT`] that allows `method`.
pub fn wire_problem(method: &str, target: &str) -> Option<String> {
    let path = target.split('?').next().unwrap_or("");
    if !path.starts_with("/open-apis/") {
        return Some("outside /open-apis/".into());
    }
    let Ok(parsed) = url::Url::parse(&format!("http://h{target}")) else {
        return Some("does not parse".into());
    };
    if parsed.path() != path {
        return Some(format!("normalises to {}", parsed.path()));
    }
    if path[1..]
        .split('/')
        .any(|s| s.is_empty() || s.bytes().all(|b| b == b'.'))
    {
        return Some("an empty or dot segment".into());
    }
    let lower = path.to_ascii_lowercase();
    for bad in ["%2e", "%2f", "%5c", "%25", "%3b", "\\", ";"] {
        if lower.contains(bad) {
            return Some(format!("holds {bad}"));
        }
    }
    let granted = ENTRIES.iter().any(|(m, prefix)| {
        (m.is_none() || *m == Some(method))
            && (path == *prefix || path.starts_with(&format!("{prefix}/")))
    });
    (!granted).then(|| "not granted".into())
}
