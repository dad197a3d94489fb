//! Outbound HTTP through the real `aviary` binary: `aviary check` lists every handler's
//! `allowed_outbound_hosts` and limits (or that it has none) and reports a bad entry at its
//! `file:line:col`; `aviary invoke` prints the grant, runs the Rust test guest
//! (tests/guests/http-client), whose allowed request reaches a recording server on 127.0.0.1
//! while a denied one does not, and shows the denial in the guest's log and the host's.

use std::process::Command;

use aviary_test_support::guests::guest;
use aviary_test_support::http_server::TestServer;
use aviary_test_support::{repo_root, Dir};

const AVIARY: &str = env!("CARGO_BIN_EXE_aviary");

/// A TOML string holding `s`.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn aviary(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(AVIARY)
        .args(args)
        .output()
        .expect("aviary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_and_invoke_list_the_grant_and_invoke_sends_only_what_is_allowed() {
    let dir = Dir::new("outbound-binary");
    let server = TestServer::http().await;
    let p = server.port();
    let component = quoted(&guest("http-client").display().to_string());
    let manifest = dir.write(
        "aviary.toml",
        &format!(
            "[feishu]\napp_id = \"cli_1\"\napp_secret = \"app-secret-value\"\n\
             domain = \"http://127.0.0.1:9\"\n\n\
             [[handler]]\nname = \"fetch\"\ncomponent = {component}\nevents = [\"*\"]\n\
             allowed_outbound_hosts = [\"http://127.0.0.1:{p}\"]\n\
             [handler.http]\ntimeout_ms = 2000\nmax_requests = 3\n\
             [handler.config]\nrequest_0 = \"GET http://127.0.0.1:{p}/echo?from=invoke\"\n\
             request_1 = \"GET http://127.0.0.1:9/\"\n\
             header_0 = \"X-From: invoke\"\n\n\
             [[handler]]\nname = \"quiet\"\ncomponent = {component}\nevents = [\"*\"]\n"
        ),
    );
    let m = manifest.to_str().unwrap();

    let (code, out, err) = aviary(&["check", "-m", m]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!(
            "    http: http://127.0.0.1:{p}; timeout 2000 ms, request body ≤ 1 MiB, response \
             body ≤ 1 MiB, ≤ 3 requests per call"
        )),
        "{out}"
    );
    assert!(
        out.contains("    http: none (every http-send is denied)"),
        "{out}"
    );

    let event = repo_root().join("examples/events/im.message.receive_v1.json");
    let (code, out, err) = aviary(&["invoke", "-m", m, "fetch", event.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!("http     http://127.0.0.1:{p}; timeout 2000 ms")),
        "{out}"
    );
    assert!(out.contains("[info] http 0 ok 200 {"), "{out}");
    assert!(
        out.contains("\"x-from\",\"invoke\"") || out.contains("[\"X-From\",\"invoke\"]"),
        "{out}"
    );
    let denial = format!(
        "denied: handler `fetch` may not send GET http://127.0.0.1:9/: no entry of its manifest \
         key `allowed_outbound_hosts` allows http://127.0.0.1:9; the host is allowed only as \
         http://127.0.0.1:{p} ([\"http://127.0.0.1:{p}\"])"
    );
    assert!(
        out.contains(&format!("[info] http 1 err {denial}")),
        "{out}"
    );
    assert!(
        out.contains(&format!("[warn] http-send: {denial}")),
        "{out}"
    );
    let seen: Vec<String> = server.requests().iter().map(|r| r.target.clone()).collect();
    assert_eq!(seen, ["/echo?from=invoke"]);
    let sent = format!("{:?}", server.requests());
    assert!(!sent.contains("app-secret-value"), "{sent}");

    let (code, out, _) = aviary(&["invoke", "-m", m, "quiet", event.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("http     none (every http-send is denied)"),
        "{out}"
    );

    let bad = dir.write(
        "bad.toml",
        &format!(
            "[feishu]\napp_id = \"cli_1\"\napp_secret = \"s\"\n\
             [[handler]]\nname = \"fetch\"\ncomponent = {component}\nevents = [\"*\"]\n\
             allowed_outbound_hosts = [\"https://api.example.com/v1\", \"https://*\"]\n"
        ),
    );
    let (code, out, err) = aviary(&["check", "-m", bad.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].starts_with("error: ")
            && lines[0].contains("bad.toml:8:27: handler.allowed_outbound_hosts: handler `fetch`: `https://api.example.com/v1`"),
        "{err}"
    );
    assert!(
        lines[1].contains("bad.toml:8:57: handler.allowed_outbound_hosts"),
        "{err}"
    );
}
