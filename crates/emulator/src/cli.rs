//! The flags and the serving loop of `aviary emulator` (the subcommand itself lives in the
//! `aviary` binary, which owns logging, the async runtime and the stop signal): runs the
//! [`Emulator`] until SIGINT/SIGTERM (or until `--exit-after-acks` is reached). Prints `emulator listening on http://127.0.0.1:PORT` on
//! stdout first, so scripts can read the port; logs go to stderr (`RUST_LOG`, default `info`).
//!
//! Example (the demo): `aviary emulator --port 8080 --ping-interval 5 --event ev.json
//! --disconnect-every 20 --exit-after-acks 3`.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use super::{Emulator, EmulatorConfig, Fault, RedeliveryPolicy};
use crate::limits as defaults;
use aviary_protocol::ClientConfig;

/// Flags of `aviary emulator`. ClientConfig values are whole seconds, sent to clients in
/// endpoint answers and pongs. The reconnect defaults are shorter than Feishu's (120 s / 30 s)
/// so that `--disconnect-every` demos reconnect quickly.
#[derive(Debug, Clone, clap::Args)]
pub struct EmulatorArgs {
    /// HTTP port on 127.0.0.1 (endpoint, OpenAPI stubs, control API); 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// WebSocket gateway port on 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    pub gateway_port: u16,
    /// The app id clients must present.
    #[arg(
        long,
        env = "AVIARY_EMULATOR_APP_ID",
        default_value = "cli_0123456789abcdef"
    )]
    pub app_id: String,
    /// The app secret clients must present.
    #[arg(
        long,
        env = "AVIARY_EMULATOR_APP_SECRET",
        default_value = "emulator-secret",
        hide_env_values = true
    )]
    pub app_secret: String,
    /// ClientConfig PingInterval, seconds (at least 1).
    #[arg(long, value_name = "SECS", default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..))]
    pub ping_interval: u64,
    /// ClientConfig ReconnectInterval, seconds.
    #[arg(long, value_name = "SECS", default_value_t = 5)]
    pub reconnect_interval: u64,
    /// ClientConfig ReconnectNonce (jitter bound), seconds.
    #[arg(long, value_name = "SECS", default_value_t = 2)]
    pub reconnect_nonce: u64,
    /// ClientConfig ReconnectCount; negative = unlimited.
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub reconnect_count: i64,
    /// `service_id` in the endpoint URLs.
    #[arg(long, default_value_t = defaults::SERVICE_ID)]
    pub service_id: i32,
    /// Live connections allowed before upgrades are refused with 514/1000040350.
    #[arg(long, default_value_t = defaults::MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Multiplies the ack timeout (3 s) and the redelivery ladder (15 s, 5 min, 1 h, 6 h).
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0)]
    pub redelivery_scale: f64,
    /// A JSON envelope file pushed once a client is connected (repeatable, pushed in order).
    #[arg(long = "event", value_name = "FILE")]
    pub events: Vec<PathBuf>,
    /// Fault every live connection every SECS seconds, cycling close 1000, close 1001, abrupt
    /// reset, and drop without close frame.
    #[arg(long, value_name = "SECS")]
    pub disconnect_every: Option<f64>,
    /// Exit 0 once N code-200 acks have arrived.
    #[arg(long, value_name = "N")]
    pub exit_after_acks: Option<u64>,
    /// Feishu's per-app limit of sends and replies per second (answered 429 above it).
    #[arg(long, value_name = "N", default_value_t = crate::limits::APP_SENDS_PER_SECOND, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub app_sends_per_second: usize,
    /// Feishu's per-app limit of sends and replies per minute.
    #[arg(long, value_name = "N", default_value_t = crate::limits::APP_SENDS_PER_MINUTE, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub app_sends_per_minute: usize,
    /// A directory of sample envelopes (`*.json`) the dev console's composer offers.
    #[arg(long, value_name = "DIR")]
    pub samples: Option<PathBuf>,
}

/// The `*.json` files of `dir` (not its subdirectories), by name, as console samples; the
/// error names the directory or the file.
pub fn load_samples(dir: &std::path::Path) -> anyhow::Result<Vec<crate::Sample>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read --samples directory {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let envelope = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read sample {}", path.display()))?;
            serde_json::from_str::<serde_json::Value>(&envelope)
                .with_context(|| format!("sample {} is not JSON", path.display()))?;
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            Ok(crate::Sample { name, envelope })
        })
        .collect()
}

/// Reads the `--event` files (JSON envelopes), in order; the error names the file.
pub fn load_events(paths: &[PathBuf]) -> anyhow::Result<Vec<serde_json::Value>> {
    paths
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read --event file {}", path.display()))?;
            serde_json::from_str(&text)
                .with_context(|| format!("--event file {} is not JSON", path.display()))
        })
        .collect()
}

fn config_of(args: &EmulatorArgs) -> EmulatorConfig {
    EmulatorConfig {
        app_id: args.app_id.clone(),
        app_secret: args.app_secret.clone(),
        client_config: ClientConfig {
            reconnect_count: args.reconnect_count,
            reconnect_interval: Duration::from_secs(args.reconnect_interval),
            reconnect_nonce: Duration::from_secs(args.reconnect_nonce),
            ping_interval: Duration::from_secs(args.ping_interval),
        },
        service_id: args.service_id,
        max_connections: args.max_connections,
        redelivery: RedeliveryPolicy {
            scale: args.redelivery_scale,
            ..Default::default()
        },
        app_send_limits: crate::config::AppSendLimits {
            per_second: args.app_sends_per_second,
            per_minute: args.app_sends_per_minute,
        },
        ..Default::default()
    }
}

const FAULT_CYCLE: [Fault; 4] = [
    Fault::Close(1000),
    Fault::Close(1001),
    Fault::Abrupt,
    Fault::DropWithoutClose,
];

/// Starts the emulator per `args`, prints its address, pushes `events`, and serves until `stop`
/// resolves (the binary passes SIGINT/SIGTERM) or `--exit-after-acks` is reached.
pub async fn serve(
    args: EmulatorArgs,
    events: Vec<serde_json::Value>,
    stop: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let samples = match &args.samples {
        Some(dir) => load_samples(dir)?,
        None => Vec::new(),
    };
    let emulator = Emulator::start_on(config_of(&args), args.port, args.gateway_port).await?;
    emulator.set_console_samples(samples);
    println!("emulator listening on {}", emulator.domain());
    println!("dev console: {}", emulator.console_url());
    let _ = std::io::stdout().flush();
    for event in &events {
        let id = emulator.push_event(event);
        tracing::info!(delivery = %id, "queued --event");
    }

    let mut disconnect = args
        .disconnect_every
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(|s| tokio::time::interval(Duration::from_secs_f64(s)));
    if let Some(timer) = disconnect.as_mut() {
        timer.tick().await; // the first tick is immediate
    }
    let mut faults = FAULT_CYCLE.iter().cycle();
    let mut poll = tokio::time::interval(Duration::from_millis(100));
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => {
                tracing::info!("signal received; shutting down");
                break;
            }
            _ = async { disconnect.as_mut().expect("guarded").tick().await }, if disconnect.is_some() => {
                let fault = *faults.next().expect("cycle is endless");
                let n = emulator.fault(fault);
                tracing::info!(?fault, connections = n, "--disconnect-every");
            }
            _ = poll.tick(), if args.exit_after_acks.is_some() => {
                let want = args.exit_after_acks.unwrap_or(0);
                if emulator.acks_ok_total() >= want {
                    tracing::info!(acks = want, "--exit-after-acks reached; shutting down");
                    break;
                }
            }
        }
    }
    emulator.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        args: EmulatorArgs,
    }

    #[test]
    fn flags_parse_into_a_config() {
        let w = Wrapper::try_parse_from([
            "x",
            "--ping-interval",
            "2",
            "--reconnect-count",
            "-1",
            "--redelivery-scale",
            "0.01",
            "--event",
            "a.json",
            "--event",
            "b.json",
        ])
        .unwrap();
        let config = config_of(&w.args);
        assert_eq!(config.client_config.ping_interval, Duration::from_secs(2));
        assert_eq!(config.client_config.reconnect_count, -1);
        assert_eq!(config.redelivery.scale, 0.01);
        assert_eq!(w.args.events.len(), 2);
        assert!(Wrapper::try_parse_from(["x", "--ping-interval", "0"]).is_err());
    }
}
