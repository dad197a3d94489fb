//! Every manifest error path: the message must name the file, the line and the key.

use std::time::Duration;

use super::*;

const PATH: &str = "bots/aviary.toml";

fn env(name: &str) -> Option<String> {
    match name {
        "FEISHU_APP_SECRET" => Some("s3cr3t-value".to_string()),
        "EMPTY" => Some(String::new()),
        _ => None,
    }
}

fn parse(text: &str) -> Result<Manifest, ManifestError> {
    Manifest::parse(text, PATH, &env)
}

fn err(text: &str) -> String {
    let e = parse(text).expect_err("manifest should be refused");
    let msg = e.to_string();
    assert!(
        msg.starts_with(PATH),
        "message must start with the path: {msg}"
    );
    assert!(!msg.contains("s3cr3t-value"), "secret leaked: {msg}");
    msg
}

const MINIMAL: &str = "[feishu]\napp_id = \"cli_1\"\napp_secret = \"${FEISHU_APP_SECRET}\"\n";

#[test]
fn minimal_manifest_gets_defaults() {
    let m = parse(MINIMAL).unwrap();
    assert_eq!(m.feishu.app_id, "cli_1");
    assert_eq!(m.feishu.app_secret.expose(), "s3cr3t-value");
    assert_eq!(m.feishu.domain, "https://open.feishu.cn");
    assert!(m.feishu.encrypt_key.is_none());
    assert_eq!(m.connection, ConnectionSettings::default());
    assert!(!format!("{m:?}").contains("s3cr3t-value"));
}

#[test]
fn full_manifest_is_typed() {
    let text = r#"
[feishu]
app_id = "cli_1"
app_secret = "literal"
domain = "http://127.0.0.1:9000"
encrypt_key = "k"

[connection]
auto_reconnect = false
max_reconnect_attempts = 3
reconnect_delay_ms = 0
reconnect_jitter_ms = 5
heartbeat_interval_ms = 250
liveness = false
liveness_grace_ms = 100
connection_timeout_ms = 2000
receive_queue_capacity = 8
"#;
    let m = parse(text).unwrap();
    assert_eq!(m.feishu.domain, "http://127.0.0.1:9000");
    assert_eq!(m.feishu.encrypt_key.as_ref().unwrap().expose(), "k");
    let c = &m.connection;
    assert!(!c.auto_reconnect);
    assert_eq!(c.max_reconnect_attempts, Some(3));
    assert_eq!(c.reconnect_delay, Some(Duration::ZERO));
    assert_eq!(c.reconnect_jitter, Some(Duration::from_millis(5)));
    assert_eq!(c.heartbeat_interval, Some(Duration::from_millis(250)));
    assert!(!c.liveness);
    assert_eq!(c.liveness_grace, Duration::from_millis(100));
    assert_eq!(c.connection_timeout, Duration::from_secs(2));
    assert_eq!(c.receive_queue_capacity, 8);

    let o = m.connection_options();
    assert_eq!(o.app_secret.expose(), "literal");
    assert_eq!(o.heartbeat_interval, Some(Duration::from_millis(250)));
    assert_eq!(o.pins().reconnect_count, Some(3));
    assert_eq!(o.receive_queue_capacity, 8);
    assert!(!o.auto_reconnect);
}

#[test]
fn lark_domain_resolves() {
    let m = parse(&format!("{MINIMAL}domain = \"lark\"\n")).unwrap();
    assert_eq!(m.feishu.domain, "https://open.larksuite.com");
}

#[test]
fn unknown_key_names_file_line_and_key() {
    let msg = err(&format!(
        "{MINIMAL}\n[connection]\nauto_reconnect = true\nheartbeat_ms = 5\n"
    ));
    assert!(msg.contains(":7:"), "{msg}");
    assert!(msg.contains("connection.heartbeat_ms"), "{msg}");
    assert!(
        msg.contains("heartbeat_interval_ms"),
        "allowed keys listed: {msg}"
    );
}

#[test]
fn unknown_key_in_feishu_table() {
    let msg = err("[feishu]\napp_id = \"a\"\napp_secret = \"b\"\nappid = \"c\"\n");
    assert!(msg.contains(":4:"), "{msg}");
    assert!(msg.contains("feishu.appid"), "{msg}");
}

#[test]
fn handler_tables_are_unknown_today() {
    let msg = err(&format!("{MINIMAL}\n[[handler]]\nname = \"x\"\n"));
    assert!(msg.contains(":5:"), "{msg}");
    assert!(msg.contains("unknown key `handler`"), "{msg}");
}

#[test]
fn unknown_top_level_table() {
    let msg = err(&format!("{MINIMAL}[conection]\n"));
    assert!(msg.contains(":4:"), "{msg}");
    assert!(msg.contains("`conection`"), "{msg}");
}

#[test]
fn missing_feishu_table() {
    let msg = err("[connection]\nliveness = true\n");
    assert!(msg.contains(":1:"), "{msg}");
    assert!(msg.contains("missing required key `feishu`"), "{msg}");
}

#[test]
fn missing_app_secret() {
    let msg = err("# comment\n[feishu]\napp_id = \"a\"\n");
    assert!(msg.contains(":2:"), "{msg}");
    assert!(msg.contains("feishu.app_secret"), "{msg}");
}

#[test]
fn heartbeat_zero_is_refused() {
    let msg = err(&format!(
        "{MINIMAL}[connection]\nheartbeat_interval_ms = 0\n"
    ));
    assert!(msg.contains(":5:"), "{msg}");
    assert!(msg.contains("connection.heartbeat_interval_ms"), "{msg}");
    assert!(msg.contains("greater than 0"), "{msg}");
}

#[test]
fn connection_timeout_zero_is_refused() {
    let msg = err(&format!(
        "{MINIMAL}[connection]\nconnection_timeout_ms = 0\n"
    ));
    assert!(msg.contains(":5:"), "{msg}");
    assert!(msg.contains("connection.connection_timeout_ms"), "{msg}");
}

#[test]
fn receive_queue_capacity_bounds() {
    let msg = err(&format!(
        "{MINIMAL}[connection]\nreceive_queue_capacity = 0\n"
    ));
    assert!(msg.contains(":5:"), "{msg}");
    assert!(msg.contains("connection.receive_queue_capacity"), "{msg}");
    let msg = err(&format!(
        "{MINIMAL}[connection]\nreceive_queue_capacity = 100000000\n"
    ));
    assert!(msg.contains("between 1 and"), "{msg}");
}

#[test]
fn negative_delay_is_a_type_error_with_key() {
    let msg = err(&format!("{MINIMAL}[connection]\nreconnect_delay_ms = -5\n"));
    assert!(msg.contains(":5:"), "{msg}");
    assert!(msg.contains("connection.reconnect_delay_ms"), "{msg}");
}

#[test]
fn wrong_type_names_key() {
    let msg = err(&format!("{MINIMAL}[connection]\nliveness = \"yes\"\n"));
    assert!(msg.contains(":5:"), "{msg}");
    assert!(msg.contains("connection.liveness"), "{msg}");
}

#[test]
fn toml_syntax_error_has_line() {
    let msg = err("[feishu]\napp_id = \"a\nx\n");
    assert!(msg.contains(":2:"), "{msg}");
}

#[test]
fn empty_app_id_is_refused() {
    let msg = err("[feishu]\napp_id = \"  \"\napp_secret = \"x\"\n");
    assert!(msg.contains(":2:"), "{msg}");
    assert!(msg.contains("feishu.app_id"), "{msg}");
    assert!(msg.contains("must not be empty"), "{msg}");
}

#[test]
fn empty_secret_after_expansion_is_refused() {
    let msg = err("[feishu]\napp_id = \"a\"\napp_secret = \"${EMPTY}\"\n");
    assert!(msg.contains(":3:"), "{msg}");
    assert!(msg.contains("feishu.app_secret"), "{msg}");
    assert!(msg.contains("after expanding"), "{msg}");
}

#[test]
fn missing_env_var_names_variable_and_key() {
    let msg = err("[feishu]\napp_id = \"a\"\napp_secret = \"${NOT_SET_ANYWHERE}\"\n");
    assert!(msg.contains(":3:"), "{msg}");
    assert!(msg.contains("feishu.app_secret"), "{msg}");
    assert!(msg.contains("NOT_SET_ANYWHERE"), "{msg}");
}

#[test]
fn malformed_env_reference() {
    let msg = err("[feishu]\napp_id = \"${OOPS\"\napp_secret = \"x\"\n");
    assert!(msg.contains(":2:"), "{msg}");
    assert!(msg.contains("feishu.app_id"), "{msg}");
}

#[test]
fn bad_domain_is_refused() {
    let msg = err(&format!("{MINIMAL}domain = \"feishu.cn\"\n"));
    assert!(msg.contains(":4:"), "{msg}");
    assert!(msg.contains("feishu.domain"), "{msg}");
}

#[test]
fn empty_encrypt_key_is_refused() {
    let msg = err(&format!("{MINIMAL}encrypt_key = \"\"\n"));
    assert!(msg.contains(":4:"), "{msg}");
    assert!(msg.contains("feishu.encrypt_key"), "{msg}");
}

#[test]
fn unreadable_file_names_path() {
    let e = Manifest::load("/nonexistent/aviary.toml").unwrap_err();
    assert!(e.to_string().contains("/nonexistent/aviary.toml"));
}

#[test]
fn load_reads_a_file() {
    let dir = std::env::temp_dir().join(format!("aviary-manifest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("aviary.toml");
    std::fs::write(&path, "[feishu]\napp_id = \"a\"\napp_secret = \"b\"\n").unwrap();
    let m = Manifest::load(&path).unwrap();
    assert_eq!(m.path, path);
    std::fs::remove_dir_all(&dir).unwrap();
}
