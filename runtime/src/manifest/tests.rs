//! Every manifest error path: the message must name the file, the line and the key.

use std::time::Duration;

use super::*;
use crate::dispatch::DispatchMode;

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
    assert_eq!(c.heartbeat_interval(), Some(Duration::from_millis(250)));
    assert!(!c.liveness);
    assert_eq!(c.liveness_grace, Duration::from_millis(100));
    assert_eq!(c.connection_timeout(), Duration::from_secs(2));
    assert_eq!(c.receive_queue_capacity(), 8);

    let o = m.connection_options();
    assert_eq!(o.app_secret.expose(), "literal");
    assert_eq!(
        o.settings.heartbeat_interval(),
        Some(Duration::from_millis(250))
    );
    assert_eq!(o.pins().reconnect_count, Some(3));
    assert_eq!(o.settings.receive_queue_capacity(), 8);
    assert!(!o.settings.auto_reconnect);
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
fn handler_without_component_is_a_missing_key() {
    let msg = err(&format!("{MINIMAL}\n[[handler]]\nname = \"x\"\n"));
    assert!(msg.contains(":5:"), "{msg}");
    assert!(
        msg.contains("missing required key `handler.component`"),
        "{msg}"
    );
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

mod handlers {
    use super::*;
    use crate::dispatch::router::EventPattern;
    use crate::limits::dispatch as lim;

    fn with(extra: &str) -> String {
        format!("{MINIMAL}{extra}")
    }

    #[test]
    fn handlers_and_dispatch_are_typed() {
        let m = parse(&with(
            r#"
[dispatch]
mode = "sequential"
per_chat_ordering = true
max_in_flight = 4
callback_deadline_ms = 2000

[[handler]]
name = "echo"
component = "handlers/echo.wasm"
events = ["im.message.receive_v1", "card.*"]
fuel = 1000000
timeout_ms = 500
memory_mb = 32
max_concurrency = 2
reuse = 10

[handler.config]
greeting = "hi"
secret = "${FEISHU_APP_SECRET}"

[[handler]]
name = "fallback"
component = "/abs/fallback.wasm"
default = true
"#,
        ))
        .unwrap();
        assert_eq!(m.dispatch.mode, DispatchMode::Sequential);
        assert!(m.dispatch.per_chat_ordering);
        assert_eq!(m.dispatch.max_in_flight, 4);
        assert_eq!(m.dispatch.callback_deadline, Duration::from_secs(2));
        let echo = m.handler("echo").unwrap();
        assert_eq!(
            echo.component,
            std::path::Path::new("bots/handlers/echo.wasm")
        );
        assert_eq!(echo.component_at.line, 13);
        assert_eq!(
            echo.route.events,
            vec![
                EventPattern::Exact("im.message.receive_v1".into()),
                EventPattern::Prefix("card.".into())
            ]
        );
        assert_eq!(echo.limits.fuel(), Some(1_000_000));
        assert_eq!(echo.limits.timeout(), Duration::from_millis(500));
        assert_eq!(echo.limits.memory_bytes(), 32 * 1024 * 1024);
        assert_eq!(echo.route.max_concurrency, 2);
        assert_eq!(echo.limits.reuse(), Some(10));
        assert_eq!(echo.config["greeting"], "hi");
        assert_eq!(echo.config["secret"], "s3cr3t-value");
        assert!(!echo.route.default);
        let fb = m.handler("fallback").unwrap();
        assert!(fb.route.default && fb.route.events.is_empty());
        assert_eq!(fb.component, std::path::Path::new("/abs/fallback.wasm"));
        assert_eq!(fb.limits.fuel(), None);
        assert_eq!(fb.limits.timeout(), lim::HANDLER_TIMEOUT);
        assert_eq!(
            fb.limits.memory_bytes(),
            lim::HANDLER_MEMORY_MB * 1024 * 1024
        );
        assert_eq!(fb.route.max_concurrency, lim::HANDLER_MAX_CONCURRENCY);
        assert_eq!(fb.limits.reuse(), None);
    }

    #[test]
    fn no_handlers_means_defaults() {
        let m = parse(MINIMAL).unwrap();
        assert!(m.handlers.is_empty());
        assert_eq!(m.dispatch, DispatchSettings::default());
    }

    #[test]
    fn unknown_handler_key_names_line_and_allowed_keys() {
        let msg = err(&with(
            "\n[[handler]]\nname = \"a\"\ncomponent = \"a.wasm\"\nevents = [\"*\"]\nfuell = 3\n",
        ));
        assert!(msg.contains(":9:"), "{msg}");
        assert!(msg.contains("unknown key `handler.fuell`"), "{msg}");
        assert!(msg.contains("max_concurrency"), "{msg}");
    }

    #[test]
    fn unknown_dispatch_key() {
        let msg = err(&with("[dispatch]\nmod = \"parallel\"\n"));
        assert!(msg.contains(":5:") && msg.contains("dispatch.mod"), "{msg}");
    }

    #[test]
    fn every_problem_is_reported_with_line_and_key() {
        let text = with(
            r#"
[dispatch]
mode = "random"
max_in_flight = 0
callback_deadline_ms = 5000

[[handler]]
name = "a"
component = "a.wasm"
events = ["im.*.x", "*"]
timeout_ms = 0
memory_mb = 0
max_concurrency = 0
fuel = 0
reuse = 0
default = true

[[handler]]
name = "a"
component = "b.wasm"
default = true

[[handler]]
name = "c d"
component = ""

[[handler]]
name = "e"
component = "e.wasm"
"#,
        );
        let e = parse(&text).unwrap_err();
        assert!(!e.is_unparseable());
        let problems: Vec<String> = e.problems().iter().map(|p| p.to_string()).collect();
        let expect = [
            (":6:", "dispatch.mode"),
            (":7:", "dispatch.max_in_flight"),
            (":8:", "dispatch.callback_deadline_ms"),
            (":13:", "handler.events"),
            (":14:", "handler.timeout_ms"),
            (":15:", "handler.memory_mb"),
            (":16:", "handler.max_concurrency"),
            (":17:", "handler.fuel"),
            (":18:", "handler.reuse"),
            (":22:", "already the name"),
            (":24:", "already the default"),
            (":27:", "handler.name"),
            (":28:", "handler.component"),
            (":31:", "subscribes to no event type"),
        ];
        for (line, what) in expect {
            assert!(
                problems
                    .iter()
                    .any(|p| p.starts_with(PATH) && p.contains(line) && p.contains(what)),
                "no problem {line} {what} in:\n{}",
                problems.join("\n")
            );
        }
        assert_eq!(problems.len(), expect.len(), "{}", problems.join("\n"));
        assert_eq!(e.to_string().lines().count(), expect.len());
    }

    /// The sandbox's own bounds (`timeout_ms` ≤ 300 s, `reuse` ≤ 10,000, `memory_mb` ≤ the
    /// pool's slot) are reported at their key and line, not later as a load failure.
    #[test]
    fn sandbox_bounds_are_reported_at_their_key() {
        let head = "[[handler]]\nname = \"a\"\ncomponent = \"a.wasm\"\nevents = [\"*\"]\n";
        let at_bounds = with(&format!(
            "{head}timeout_ms = 300000\nreuse = 10000\nmemory_mb = 1024\n"
        ));
        let h = &parse(&at_bounds).unwrap().handlers[0];
        assert_eq!(h.limits.timeout(), Duration::from_secs(300));
        assert_eq!(h.limits.reuse(), Some(10_000));
        assert_eq!(h.limits.memory_bytes(), 1024 * 1024 * 1024);

        let e = parse(&with(&format!(
            "{head}timeout_ms = 300001\nreuse = 10001\nmemory_mb = 1025\n"
        )))
        .unwrap_err();
        let problems: Vec<String> = e.problems().iter().map(|p| p.to_string()).collect();
        let expect = [
            (
                ":8:",
                "handler.timeout_ms",
                "between 1 and 300000 (got 300001)",
            ),
            (":9:", "handler.reuse", "between 1 and 10000 (got 10001)"),
            (":10:", "handler.memory_mb", "between 1 and 1024 (got 1025)"),
        ];
        for (line, key, why) in expect {
            assert!(
                problems.iter().any(|p| p.starts_with(PATH)
                    && p.contains(line)
                    && p.contains(key)
                    && p.contains(why)),
                "no problem {line} {key} {why} in:\n{}",
                problems.join("\n")
            );
        }
        assert_eq!(problems.len(), expect.len(), "{}", problems.join("\n"));
    }

    #[test]
    fn duplicate_pattern_and_missing_config_env() {
        let msg = err(&with(
            "[[handler]]\nname = \"a\"\ncomponent = \"a.wasm\"\nevents = [\"x.y\", \"x.y\"]\n[handler.config]\nk = \"${NOPE}\"\n",
        ));
        assert!(msg.contains(":7:") && msg.contains("listed twice"), "{msg}");
        assert!(msg.contains(":9:") && msg.contains("`NOPE`"), "{msg}");
    }

    #[test]
    fn config_values_must_be_strings() {
        let e = parse(&with(
            "[[handler]]\nname = \"a\"\ncomponent = \"a.wasm\"\nevents = [\"*\"]\n[handler.config]\nk = 3\n",
        ))
        .unwrap_err();
        assert!(e.is_unparseable());
        assert!(e.to_string().contains(":9:"), "{e}");
    }

    #[test]
    fn load_checks_component_files() {
        let dir = std::env::temp_dir().join(format!("aviary-handlers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("ok.wasm"), b"\0asm").unwrap();
        let path = dir.join("aviary.toml");
        let text = "[feishu]\napp_id = \"a\"\napp_secret = \"b\"\n\
                    [[handler]]\nname = \"ok\"\ncomponent = \"ok.wasm\"\nevents = [\"*\"]\n\
                    [[handler]]\nname = \"gone\"\ncomponent = \"gone.wasm\"\nevents = [\"*\"]\n";
        std::fs::write(&path, text).unwrap();
        let e = Manifest::load(&path).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("aviary.toml:10:13: handler.component"),
            "{msg}"
        );
        assert!(msg.contains("gone.wasm does not exist"), "{msg}");
        assert!(!msg.contains("ok.wasm"), "{msg}");
        std::fs::write(dir.join("gone.wasm"), b"\0asm").unwrap();
        let m = Manifest::load(&path).unwrap();
        assert_eq!(m.handlers[1].component, dir.join("gone.wasm"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

mod queue {
    use super::*;
    use crate::queue::{AckMode, QueueBackend};

    #[test]
    fn a_redis_url_is_accepted_and_its_password_never_shown() {
        let m = parse(&format!(
            "{MINIMAL}[queue]\nbackend = \"redis://app:s3cret@10.0.0.7:6380/2\"\n\
             claim_idle_secs = 9\n"
        ))
        .unwrap();
        let QueueBackend::Redis(url) = &m.queue.backend else {
            panic!("{:?}", m.queue.backend)
        };
        assert_eq!(url.expose(), "redis://app:s3cret@10.0.0.7:6380/2");
        assert_eq!(url.to_string(), "redis://app:***@10.0.0.7:6380/2");
        assert_eq!(m.queue.claim_idle, Duration::from_secs(9));
        let debug = format!("{m:?}");
        assert!(!debug.contains("s3cret"), "{debug}");
        assert!(debug.contains("redis://app:***@10.0.0.7:6380/2"), "{debug}");
        let msg = err(&format!(
            "{MINIMAL}[queue]\nbackend = \"redis://:pw@[bad\"\n"
        ));
        assert!(
            msg.contains("queue.backend") && !msg.contains("pw"),
            "{msg}"
        );
        // TLS: accepted; certificate checks cannot be turned off.
        let m = parse(&format!(
            "{MINIMAL}[queue]\nbackend = \"rediss://:pw@10.0.0.7:6380/0\"\n"
        ))
        .unwrap();
        let QueueBackend::Redis(url) = &m.queue.backend else {
            panic!("{:?}", m.queue.backend)
        };
        assert!(url.is_tls() && url.tls_ca().is_none());
        let msg = err(&format!(
            "{MINIMAL}[queue]\nbackend = \"rediss://:pw@10.0.0.7:6380/0#insecure\"\n"
        ));
        assert!(
            msg.contains("queue.backend") && msg.contains("#insecure") && !msg.contains("pw@"),
            "{msg}"
        );
    }

    #[test]
    fn tls_ca_must_be_a_pem_certificate_file_for_a_rediss_backend() {
        let dir = std::env::temp_dir().join(format!("aviary-tls-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("ca.pem"),
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        std::fs::write(dir.join("key.pem"), "-----BEGIN PRIVATE KEY-----\n").unwrap();
        let manifest = |queue: &str| {
            Manifest::parse(
                &format!("{MINIMAL}[queue]\n{queue}"),
                dir.join("aviary.toml"),
                &env,
            )
        };
        let tls = "backend = \"rediss://10.0.0.7:6380/0\"\n";
        let m = manifest(&format!("{tls}tls_ca = \"ca.pem\"\n")).unwrap();
        let QueueBackend::Redis(url) = &m.queue.backend else {
            panic!("{:?}", m.queue.backend)
        };
        assert_eq!(
            url.tls_ca(),
            Some(dir.join("ca.pem").as_path()),
            "relative to the manifest"
        );
        let msg = manifest(&format!("{tls}tls_ca = \"key.pem\"\n"))
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("queue.tls_ca")
                && msg.contains("key.pem")
                && msg.contains("no PEM certificate"),
            "{msg}"
        );
        let msg = manifest(&format!("{tls}tls_ca = \"missing.pem\"\n"))
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("queue.tls_ca")
                && msg.contains("cannot read tls_ca")
                && msg.contains("missing.pem"),
            "{msg}"
        );
        let msg = manifest("backend = \"redis://10.0.0.7:6380/0\"\ntls_ca = \"ca.pem\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("queue.tls_ca") && msg.contains("only applies to a rediss://"),
            "{msg}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_instance_name_is_checked_and_defaults_to_host_and_manifest_hash() {
        let m = parse(&format!("{MINIMAL}[queue]\ninstance = \"bot-1.a_b\"\n")).unwrap();
        assert_eq!(m.queue.instance.as_deref(), Some("bot-1.a_b"));
        let m = parse(MINIMAL).unwrap();
        assert_eq!(m.queue.instance, None);
        let base = m.queue.instance_base();
        let (host, hash) = base.rsplit_once('-').unwrap();
        assert_eq!(host, crate::queue::redis::hostname());
        assert_eq!(hash.len(), 8, "{base}");
        assert_eq!(base, m.queue.instance_base(), "stable");
        let msg = err(&format!("{MINIMAL}[queue]\ninstance = \"two words\"\n"));
        assert!(
            msg.contains(":5:12: queue.instance") && msg.contains("`two words`"),
            "{msg}"
        );
    }

    #[test]
    fn defaults_and_every_key() {
        let m = parse(MINIMAL).unwrap();
        assert_eq!(m.queue.backend, QueueBackend::Disk);
        assert_eq!(m.queue.path, Path::new("bots/.aviary/queue.redb"));
        assert_eq!(m.queue.ack, AckMode::AfterPersist);
        assert_eq!(m.queue.dedupe_window, Duration::from_secs(8 * 3600));
        let text = format!(
            "{MINIMAL}[queue]\nbackend = \"memory\"\npath = \"q/x.redb\"\ncapacity = 10\n\
             dedupe_window_secs = 60\ndedupe_max_entries = 5\nack = \"after-handle\"\n\
             [[handler]]\nname = \"h\"\ncomponent = \"h.wasm\"\nevents = [\"*\"]\n\
             max_attempts = 7\nbackoff_ms = 10\nbackoff_max_ms = 20\n"
        );
        let m = parse(&text).unwrap();
        assert_eq!(m.queue.backend, QueueBackend::Memory);
        assert_eq!(m.queue.path, Path::new("bots/q/x.redb"));
        assert_eq!(m.queue.capacity, 10);
        assert_eq!(m.queue.dedupe_window, Duration::from_secs(60));
        assert_eq!(m.queue.dedupe_max_entries, 5);
        assert_eq!(m.queue.ack, AckMode::AfterHandle);
        let r = m.handlers[0].retry;
        assert_eq!(
            (r.max_attempts, r.backoff, r.backoff_max),
            (7, Duration::from_millis(10), Duration::from_millis(20))
        );
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let msg = err(&format!(
            "{MINIMAL}[queue]\nbackend = \"postgres\"\ncapacity = 0\ndedupe_window_secs = 5\n\
             ack = \"whenever\"\n"
        ));
        assert!(msg.contains("aviary.toml:5:11: queue.backend"), "{msg}");
        assert!(msg.contains("aviary.toml:6:12: queue.capacity"), "{msg}");
        assert!(msg.contains(":7:22: queue.dedupe_window_secs"), "{msg}");
        assert!(msg.contains(":8:7: queue.ack"), "{msg}");
        let msg = err(&format!("{MINIMAL}[queue]\nclaim_idle_secs = 0\n"));
        assert!(msg.contains(":5:19: queue.claim_idle_secs"), "{msg}");
        let msg = err(&format!("{MINIMAL}[queue]\nsize = 3\n"));
        assert!(msg.contains(":5:1: unknown key `queue.size`"), "{msg}");
        let msg = err(&format!(
            "{MINIMAL}[[handler]]\nname = \"h\"\ncomponent = \"h.wasm\"\nevents = [\"*\"]\n\
             max_attempts = 0\nbackoff_ms = 100\nbackoff_max_ms = 10\n"
        ));
        assert!(msg.contains(":8:16: handler.max_attempts"), "{msg}");
        assert!(msg.contains(":10:18: handler.backoff_max_ms"), "{msg}");
    }
}

#[test]
fn openapi_grants_carry_the_app_and_bad_prefixes_are_named() {
    let text = format!(
        "{MINIMAL}domain = \"http://127.0.0.1:9\"\n\
         [[handler]]\nname = \"bot\"\ncomponent = \"a.wasm\"\nevents = [\"*\"]\n\
         openapi = [\"/open-apis/im/v1/messages/\"]\n\
         [[handler]]\nname = \"quiet\"\ncomponent = \"b.wasm\"\nevents = [\"*\"]\n"
    );
    let m = parse(&text).unwrap();
    let granted = m.handler("bot").unwrap().openapi.as_ref().unwrap();
    assert_eq!(granted.grant.quoted(), r#"["/open-apis/im/v1/messages"]"#);
    assert_eq!(granted.app.app_id, "cli_1");
    assert_eq!(granted.app.app_secret.expose(), "s3cr3t-value");
    assert_eq!(granted.app.domain, "http://127.0.0.1:9");
    assert!(
        m.handler("quiet").unwrap().openapi.is_none(),
        "denied by default"
    );

    let bad = format!(
        "{MINIMAL}[[handler]]\nname = \"bot\"\ncomponent = \"a.wasm\"\nevents = [\"*\"]\n\
         openapi = [\"/im/v1/messages\", \"/open-apis/im/../auth\"]\n"
    );
    let msg = err(&bad);
    assert!(msg.contains(":8:12: handler.openapi"), "{msg}");
    assert!(
        msg.contains("handler `bot`") && msg.contains("must start with `/open-apis/`"),
        "{msg}"
    );
    assert!(msg.contains(".."), "both problems are reported: {msg}");
}

#[test]
fn app_send_limits_default_to_feishus_and_reach_the_openapi_grant() {
    let m = parse(MINIMAL).unwrap();
    assert_eq!(
        m.feishu.send_limits,
        crate::openapi::pacing::AppSendLimits::default()
    );
    let text = format!(
        "{MINIMAL}app_sends_per_second = 7\napp_sends_per_minute = 70\n\n[[handler]]\nname = \"h\"\n\
         component = \"h.wasm\"\nevents = [\"*\"]\nopenapi = [\"/open-apis/im/v1/messages\"]\n"
    );
    let m = parse(&text).unwrap();
    let limits = crate::openapi::pacing::AppSendLimits {
        per_second: 7,
        per_minute: 70,
    };
    assert_eq!(m.feishu.send_limits, limits);
    assert_eq!(
        m.handlers[0].openapi.as_ref().unwrap().app.send_limits,
        limits
    );
    let e = err(&format!("{MINIMAL}app_sends_per_second = 0\n"));
    assert!(
        e.contains(":4:24: feishu.app_sends_per_second: must be between 1 and 1000000 (got 0)"),
        "{e}"
    );
    let e = err(&format!("{MINIMAL}app_sends_per_minute = 60000001\n"));
    assert!(
        e.contains("feishu.app_sends_per_minute: must be between 1"),
        "{e}"
    );
}
