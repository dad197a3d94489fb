//! `aviary ctl status | reconnect | drain | resume | reload -m aviary.toml`: asks a running `aviary run`
//! through its admin server (the manifest's `[admin] listen`, or `--admin ADDR`) and prints
//! the answer for people. Control requests carry the manifest's `[admin] token`.
//!
//! Exit codes: 0 done (for `status`: ready); 1 refused or failed (for `status`: not ready);
//! 2 when the manifest cannot be read or the admin server cannot be reached.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::Value;

use crate::admin::AdminSettings;
use crate::manifest::Manifest;
use crate::secret::Secret;

/// Flags of `aviary ctl`.
#[derive(Debug, clap::Args)]
pub struct CtlArgs {
    /// The manifest of the running process (its `[admin]` says where and with which token).
    #[arg(
        short = 'm',
        long = "manifest",
        default_value = "aviary.toml",
        global = true
    )]
    pub manifest: PathBuf,
    /// The admin server's address (IP:PORT), instead of the manifest's `[admin] listen`.
    #[arg(long = "admin", value_name = "ADDR", global = true)]
    pub admin: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: CtlCommand,
}

/// `aviary ctl` subcommands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Subcommand)]
pub enum CtlCommand {
    /// The connection, the queue, every handler, and whether it is ready.
    Status,
    /// Open a new connection, then close the old one (make-before-break).
    Reconnect,
    /// Finish in-flight acks, close the connection, take no events until `resume`.
    Drain,
    /// Take events again after a drain.
    Resume,
    /// Re-read the manifest and swap the handlers in without dropping the connection (exit 1
    /// and every problem when refused; the running configuration is kept).
    Reload,
}

/// What a value of a missing environment variable reads as here: `ctl` needs only `[admin]`,
/// so the app secret's variable need not be set in the operator's shell.
const UNSET: &str = "\u{1}unset\u{1}";

/// Runs `aviary ctl`.
pub fn run(args: CtlArgs) -> ExitCode {
    let (addr, token) = match target(&args) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    rt.block_on(async {
        let http = match reqwest::Client::builder()
            .timeout(crate::limits::admin::CTL_TIMEOUT)
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
        let base = format!("http://{addr}");
        let unreachable = |e: reqwest::Error| {
            eprintln!(
                "error: the admin server at {addr} does not answer ({}); is `aviary run` running with this manifest's [admin] listen?",
                e.without_url()
            );
            ExitCode::from(2)
        };
        match args.command {
            CtlCommand::Status => {
                let status = match get_json(&http, &format!("{base}/status")).await {
                    Ok(v) => v,
                    Err(e) => return unreachable(e),
                };
                let ready = match get_json(&http, &format!("{base}/readyz")).await {
                    Ok(v) => v,
                    Err(e) => return unreachable(e),
                };
                print!("{}", describe_status(&status, &ready));
                if ready["ready"].as_bool() == Some(true) {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                }
            }
            action => {
                let name = match action {
                    CtlCommand::Reconnect => "reconnect",
                    CtlCommand::Drain => "drain",
                    CtlCommand::Reload => "reload",
                    _ => "resume",
                };
                let token = match token {
                    Ok(t) => t,
                    Err(e) => {
                        eprintln!("error: {e}");
                        return ExitCode::from(2);
                    }
                };
                let mut request = http.post(format!("{base}/control/{name}"));
                if action == CtlCommand::Reload {
                    request = request.timeout(crate::limits::admin::CTL_RELOAD_TIMEOUT);
                }
                if let Some(t) = &token {
                    request = request.bearer_auth(t.expose());
                }
                let response = match request.send().await {
                    Ok(r) => r,
                    Err(e) => return unreachable(e),
                };
                let code = response.status();
                let body: Value = response.json().await.unwrap_or(Value::Null);
                if code.is_success() {
                    print!("{}", describe_control(name, &body));
                    ExitCode::SUCCESS
                } else {
                    eprintln!(
                        "error: {name} refused (HTTP {}): {}",
                        code.as_u16(),
                        body["error"].as_str().unwrap_or("no reason given")
                    );
                    ExitCode::FAILURE
                }
            }
        }
    })
}

async fn get_json(http: &reqwest::Client, url: &str) -> Result<Value, reqwest::Error> {
    // `/readyz` answers 503 with the same JSON when not ready: read the body either way.
    http.get(url).send().await?.json().await
}

/// The token, or why it cannot be had here (only control requests need it).
type Token = Result<Option<Secret>, String>;

/// The admin address and token from the manifest (or `--admin`).
fn target(args: &CtlArgs) -> Result<(SocketAddr, Token), String> {
    let text = std::fs::read_to_string(&args.manifest)
        .map_err(|e| format!("cannot read {}: {e}", args.manifest.display()))?;
    let missing = RefCell::new(Vec::new());
    let env = |name: &str| {
        Some(std::env::var(name).unwrap_or_else(|_| {
            missing.borrow_mut().push(name.to_string());
            UNSET.to_string()
        }))
    };
    let lines = |e: crate::manifest::ManifestError| {
        e.problems()
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join("\nerror: ")
    };
    // A manifest with `include` (several apps): its own `[admin]`.
    let mut admin = match crate::manifest::Deployment::admin_of(&text, &args.manifest, &env) {
        Some(admin) => admin.map_err(lines)?,
        None => {
            Manifest::parse(&text, &args.manifest, &env)
                .map_err(lines)?
                .admin
        }
    };
    if let Some(addr) = &args.admin {
        admin.listen = AdminSettings::parse_listen(addr).map_err(|e| format!("--admin: {e}"))?;
    }
    let Some(mut addr) = admin.listen else {
        return Err(format!(
            "{}: [admin] listen = \"\": the admin server is off; pass --admin ADDR if it runs elsewhere",
            args.manifest.display()
        ));
    };
    if addr.ip().is_unspecified() {
        // Listening on every interface: reach it on loopback.
        addr.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    let token = match admin.token {
        Some(t) if t.expose().contains(UNSET) => Err(format!(
            "[admin] token uses an environment variable that is not set here ({}); control needs the token",
            missing.borrow().join(", ")
        )),
        t => Ok(t),
    };
    Ok((addr, token))
}

/// `status` for people, from `/status` and `/readyz`.
pub fn describe_status(status: &Value, ready: &Value) -> String {
    let mut out = String::new();
    let now = crate::queue::store::now_ms();
    let ago = |ms: &Value| match ms.as_u64() {
        Some(t) => human(Duration::from_millis(now.saturating_sub(t))),
        None => "?".into(),
    };
    for app in status["apps"].as_array().into_iter().flatten() {
        let id = app["app_id"].as_str().unwrap_or("?");
        let app_ready = ready["checks"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["app"] == id)
            .all(|c| c["ok"] == true);
        out.push_str(&format!(
            "app {id}: {} (aviary {}, up {})\n",
            if app_ready { "ready" } else { "NOT READY" },
            app["version"].as_str().unwrap_or("?"),
            ago(&app["started_at_ms"])
        ));
        let c = &app["connection"];
        let mut line = format!(
            "  connection  {} for {}",
            c["state"].as_str().unwrap_or("?"),
            ago(&c["since_ms"])
        );
        if let Some(id) = c["conn_id"].as_str() {
            line.push_str(&format!(" (conn {id})"));
        }
        if let Some(n) = c["attempt"].as_u64() {
            line.push_str(&format!(", {n} attempt(s) this round"));
        }
        line.push_str(&format!(
            "; {} connect(s), {} event(s)",
            c["connects"], c["events_received"]
        ));
        out.push_str(&line);
        out.push('\n');
        if let Some(d) = c["last_disconnect"].as_object() {
            let kind = d["kind"].as_str().unwrap_or("?");
            let reason = d["reason"].as_str().unwrap_or("?");
            out.push_str(&format!(
                "  last drop   {} ago: {}\n",
                ago(&d["at_ms"]),
                if reason.starts_with(kind) {
                    reason.to_string()
                } else {
                    format!("{kind}: {reason}")
                }
            ));
        }
        let cfg = &c["client_config"];
        out.push_str(&format!(
            "  config      ping every {}, reconnect count {}, interval {}, jitter up to {}\n",
            human(Duration::from_millis(
                cfg["ping_interval_ms"].as_u64().unwrap_or(0)
            )),
            cfg["reconnect_count"],
            human(Duration::from_millis(
                cfg["reconnect_interval_ms"].as_u64().unwrap_or(0)
            )),
            human(Duration::from_millis(
                cfg["reconnect_nonce_ms"].as_u64().unwrap_or(0)
            ))
        ));
        match app["queue"].as_object() {
            None => out.push_str("  queue       none (no handler, or ack = \"after-handle\")\n"),
            Some(q) => out.push_str(&format!(
                "  queue       {}: depth {}, in flight {}, dead letters {}{}\n",
                q["backend"].as_str().unwrap_or("?"),
                q["depth"],
                q["in_flight"],
                q["dead_letters"]
                    .as_u64()
                    .map_or("unknown".to_string(), |n| n.to_string()),
                q["oldest_job_ms"]
                    .as_u64()
                    .map(|t| format!(", oldest job {} old", ago(&Value::from(t))))
                    .unwrap_or_default()
            )),
        }
        for h in app["handlers"].as_array().into_iter().flatten() {
            let failures: Vec<String> = h["failures_by_kind"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, n)| format!("{k} {n}"))
                .collect();
            out.push_str(&format!(
                "  handler     {} ({}{}): {} call(s), {} failed{}\n",
                h["name"].as_str().unwrap_or("?"),
                h["kind"].as_str().unwrap_or("?"),
                h["component"]
                    .as_str()
                    .map(|c| format!(", {c}"))
                    .unwrap_or_default(),
                h["calls"],
                h["failures"],
                if failures.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", failures.join(", "))
                }
            ));
        }
        if app["drained"] == true {
            out.push_str("  drained     yes: `aviary ctl resume` takes events again\n");
        }
    }
    for c in ready["checks"].as_array().into_iter().flatten() {
        if c["ok"] != true {
            out.push_str(&format!(
                "not ready: {}: {}\n",
                c["check"].as_str().unwrap_or("?"),
                c["detail"].as_str().unwrap_or("?")
            ));
        }
    }
    out
}

/// A control action's answer for people.
pub fn describe_control(action: &str, body: &Value) -> String {
    let mut out = String::new();
    for app in body["apps"].as_array().into_iter().flatten() {
        let id = app["app"].as_str().unwrap_or("?");
        out.push_str(&match action {
            "reconnect" => format!(
                "{id}: reconnected on {}{}\n",
                app["conn_id"].as_str().unwrap_or("?"),
                app["replaced"]
                    .as_str()
                    .map(|old| format!(" (replaced {old}, closed with 1000 after its acks)"))
                    .unwrap_or_default()
            ),
            "reload" => format!(
                "{id}: reloaded: {}\n",
                app["summary"].as_str().unwrap_or("?")
            ),
            "drain" => format!(
                "{id}: drained: in-flight acks finished, connection closed; `aviary ctl resume` to take events again\n"
            ),
            _ if app["resumed"] == true => format!("{id}: resumed: connecting\n"),
            _ => format!("{id}: was not drained; nothing to do\n"),
        });
    }
    out
}

/// `1h 2m`, `5m 3s`, `4.2s`, `120ms`.
fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h {}m", s / 3600, s % 3600 / 60)
    } else if s >= 60 {
        format!("{}m {}s", s / 60, s % 60)
    } else if d.as_millis() >= 1000 {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format!("{}ms", d.as_millis())
    }
}
