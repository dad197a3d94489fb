//! `allowed_outbound_hosts` and `[handler.http]`: built into the outbound settings, every bad
//! value named at `file:line:col` with its key.

use std::time::Duration;

use super::*;
use crate::outbound::OutboundSettings;

const HEAD: &str = "[feishu]\napp_id = \"cli_1\"\napp_secret = \"s\"\n\
                    [[handler]]\nname = \"bot\"\ncomponent = \"a.wasm\"\nevents = [\"*\"]\n";

fn parse_at(text: &str, path: &Path) -> Result<Manifest, ManifestError> {
    Manifest::parse(text, path, &|_| None)
}

fn problems(text: &str) -> Vec<String> {
    let e = parse_at(text, Path::new("bots/aviary.toml")).expect_err("refused");
    e.problems().iter().map(|p| p.to_string()).collect()
}

#[test]
fn hosts_and_limits_are_built_and_denied_by_default() {
    let m = parse_at(HEAD, Path::new("aviary.toml")).unwrap();
    assert_eq!(m.handlers[0].http, OutboundSettings::default());
    assert!(m.handlers[0].http.allowed.is_empty(), "denied by default");

    let dir = std::env::temp_dir().join(format!("aviary-manifest-http-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("certs")).unwrap();
    let ca = rcgen::generate_simple_self_signed(vec!["internal.example".into()]).unwrap();
    std::fs::write(dir.join("certs/ca.pem"), ca.cert.pem()).unwrap();
    let text = format!(
        "{HEAD}allowed_outbound_hosts = [\"https://api.example.com\", \
         \"https://*.example.org:8443\", \"http://127.0.0.1:8080\"]\n\
         [handler.http]\nmax_request_bytes = 2048\nmax_response_bytes = 4096\n\
         timeout_ms = 1500\nmax_requests = 3\ntls_ca = \"certs/ca.pem\"\n\
         allow_private_addresses = true\n"
    );
    let m = parse_at(&text, &dir.join("aviary.toml")).unwrap();
    let http = &m.handlers[0].http;
    assert_eq!(
        http.allowed.summary(),
        "https://api.example.com, https://*.example.org:8443, http://127.0.0.1:8080"
    );
    let l = http.limits;
    assert_eq!(
        (
            l.max_request_bytes(),
            l.max_response_bytes(),
            l.timeout(),
            l.max_requests()
        ),
        (2048, 4096, Duration::from_millis(1500), 3)
    );
    assert_eq!(
        http.tls_ca.as_deref(),
        Some(dir.join("certs/ca.pem").as_path())
    );
    assert!(http.allow_private_addresses);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn each_bad_entry_and_limit_is_named_where_it_is_written() {
    let text = format!(
        "{HEAD}allowed_outbound_hosts = [\n  \"https://api.example.com\",\n  \
         \"ftp://x.example.com\",\n  \"https://*\",\n  \"http://2130706433\",\n]\n\
         [handler.http]\nmax_request_bytes = 0\nmax_response_bytes = 68719476736\n\
         timeout_ms = 300001\nmax_requests = 0\ntls_ca = \"missing.pem\"\n"
    );
    let got = problems(&text);
    let expected = [
        (
            "bots/aviary.toml:10:3: handler.allowed_outbound_hosts",
            "`ftp` is not allowed",
        ),
        (
            "bots/aviary.toml:11:3: handler.allowed_outbound_hosts",
            "a host of `*`",
        ),
        (
            "bots/aviary.toml:12:3: handler.allowed_outbound_hosts",
            "write it as `127.0.0.1`",
        ),
        (
            "bots/aviary.toml:15:21: handler.http.max_request_bytes",
            "between 1 and",
        ),
        (
            "bots/aviary.toml:16:22: handler.http.max_response_bytes",
            "between 1 and",
        ),
        (
            "bots/aviary.toml:17:14: handler.http.timeout_ms",
            "between 1 and 300000",
        ),
        (
            "bots/aviary.toml:18:16: handler.http.max_requests",
            "between 1 and 1000",
        ),
        ("bots/aviary.toml:19:10: handler.http.tls_ca", "cannot read"),
    ];
    assert_eq!(got.len(), expected.len(), "{got:#?}");
    for (problem, (at, why)) in got.iter().zip(expected) {
        assert!(problem.starts_with(at), "{problem} (want {at})");
        assert!(problem.contains(why), "{problem} (want {why})");
        assert!(
            problem.contains("handler `bot`") || !at.contains("allowed"),
            "{problem}"
        );
    }
}

#[test]
fn an_unknown_key_in_handler_http_lists_the_allowed_ones() {
    let got = problems(&format!("{HEAD}[handler.http]\ntimeout = 5\n"));
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0].contains("handler.http.timeout"), "{}", got[0]);
    for key in ["max_request_bytes", "timeout_ms", "max_requests", "tls_ca"] {
        assert!(got[0].contains(key), "{}", got[0]);
    }
}
