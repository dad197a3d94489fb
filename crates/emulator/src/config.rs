//! Configuration and the scripted behaviours of the emulator: what it answers on the endpoint,
//! at the handshake and to pings, what a push looks like, and which faults it can inject.

use std::time::Duration;

use crate::limits as defaults;
use aviary_protocol::{ClientConfig, ClientConfigUpdate, MessageType};

/// Everything the emulator needs at start. Most of it can be changed later through
/// [`super::Emulator`]'s setters.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// The app id clients must present (endpoint `AppID`, token API `app_id`).
    pub app_id: String,
    /// The app secret clients must present.
    pub app_secret: String,
    /// Sent in endpoint answers and every pong, always with all four keys.
    pub client_config: ClientConfig,
    /// `service_id` put into endpoint URLs.
    pub service_id: i32,
    /// Live connections allowed before the gateway refuses with 514/1000040350.
    pub max_connections: usize,
    /// Payloads larger than this are split into `sum`/`seq` fragments.
    pub fragment_size: usize,
    /// Ack deadline and redelivery schedule.
    pub redelivery: RedeliveryPolicy,
    /// Lifetime of issued tenant_access_tokens.
    pub tenant_token_ttl: Duration,
    /// Feishu's per-app limits on sends and replies (50 per second, 1,000 per minute);
    /// tests that send thousands of replies raise them (and the manifest's to match).
    pub app_send_limits: AppSendLimits,
}

impl Default for EmulatorConfig {
    /// App id `cli_0123456789abcdef` (matches the Node SDK's appId check), secret
    /// `emulator-secret`, Feishu's default ClientConfig, and the limits in
    /// [`crate::limits`].
    fn default() -> Self {
        EmulatorConfig {
            app_id: "cli_0123456789abcdef".into(),
            app_secret: "emulator-secret".into(),
            client_config: ClientConfig::default(),
            service_id: defaults::SERVICE_ID,
            max_connections: defaults::MAX_CONNECTIONS,
            fragment_size: defaults::FRAGMENT_SIZE,
            redelivery: RedeliveryPolicy::default(),
            tenant_token_ttl: defaults::TENANT_TOKEN_TTL,
            app_send_limits: AppSendLimits::default(),
        }
    }
}

impl EmulatorConfig {
    /// The defaults, but quick to recover, for tests, demos and benchmarks: clients reconnect at
    /// once without jitter (ReconnectInterval 0, ReconnectNonce 0, unlimited attempts; the
    /// client's own floor still spaces failed attempts), pings every 30 s, and the redelivery
    /// schedule scaled by 0.1 (ack deadline 300 ms).
    pub fn fast() -> Self {
        EmulatorConfig {
            client_config: ClientConfig {
                reconnect_count: -1,
                reconnect_interval: Duration::ZERO,
                reconnect_nonce: Duration::ZERO,
                ping_interval: Duration::from_secs(30),
            },
            redelivery: RedeliveryPolicy {
                scale: 0.1,
                ..RedeliveryPolicy::default()
            },
            ..EmulatorConfig::default()
        }
    }
}

/// Feishu's per-app limits on sends and replies (send and reply together), judged by the
/// emulator on arrival like the per-receiver one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppSendLimits {
    /// Accepted sends and replies of the app in any second.
    pub per_second: usize,
    /// Accepted sends and replies of the app in any minute.
    pub per_minute: usize,
}

impl Default for AppSendLimits {
    /// Feishu's 50 per second and 1,000 per minute ([`defaults::APP_SENDS_PER_SECOND`],
    /// [`defaults::APP_SENDS_PER_MINUTE`]).
    fn default() -> Self {
        AppSendLimits {
            per_second: defaults::APP_SENDS_PER_SECOND,
            per_minute: defaults::APP_SENDS_PER_MINUTE,
        }
    }
}

/// When an attempt counts as failed and when the event is sent again (§7).
#[derive(Debug, Clone, PartialEq)]
pub struct RedeliveryPolicy {
    /// An attempt without a code-200 ack within this time (× `scale`) has failed.
    pub ack_timeout: Duration,
    /// Wait before retry `i` (× `scale`); at most `ladder.len()` retries.
    pub ladder: Vec<Duration>,
    /// Multiplies every duration above (tests use e.g. 0.01). Negative or non-finite is
    /// treated as 1.
    pub scale: f64,
    /// Whether failed attempts are retried at all.
    pub enabled: bool,
}

impl Default for RedeliveryPolicy {
    /// 3 s deadline; retries after 15 s, 5 min, 1 h, 6 h; scale 1; enabled.
    fn default() -> Self {
        RedeliveryPolicy {
            ack_timeout: defaults::ACK_TIMEOUT,
            ladder: defaults::REDELIVERY_LADDER.to_vec(),
            scale: 1.0,
            enabled: true,
        }
    }
}

impl RedeliveryPolicy {
    fn scaled(&self, d: Duration) -> Duration {
        let scale = if self.scale.is_finite() && self.scale >= 0.0 {
            self.scale
        } else {
            1.0
        };
        d.mul_f64(scale)
    }

    /// The scaled ack deadline.
    pub fn scaled_ack_timeout(&self) -> Duration {
        self.scaled(self.ack_timeout)
    }

    /// The scaled wait before the next retry, given how many retries were already made, or
    /// `None` when no retry is due (disabled, or the ladder is exhausted).
    pub fn next_retry_delay(&self, retries_done: usize) -> Option<Duration> {
        if !self.enabled {
            return None;
        }
        self.ladder.get(retries_done).map(|d| self.scaled(*d))
    }
}

/// How one pushed message is sent. `Default` = a normal, redelivered event to a random
/// connection.
#[derive(Debug, Clone, PartialEq)]
pub struct PushOptions {
    /// `type` header: [`MessageType::Event`] (acked, redelivered) or [`MessageType::Card`]
    /// (never acked by SDKs, so never redelivered).
    pub message_type: MessageType,
    /// Force this many fragments, whatever the payload size.
    pub fragments: Option<usize>,
    /// Send the fragments' `seq` in this order; indexes may be omitted (an incomplete set) and
    /// out-of-range ones are ignored.
    pub fragment_order: Option<Vec<usize>>,
    /// `SeqID` of fragment 0 (fragment `i` gets `seq_id + i`); default: a fresh counter value.
    pub seq_id: Option<u64>,
    /// `LogID` of every fragment; default: a fresh counter value.
    pub log_id: Option<u64>,
    /// Headers appended after the five standard ones, e.g. `timestamp`, `instance_id`.
    pub extra_headers: Vec<(String, String)>,
    /// Header keys to leave out (standard or extra), e.g. `trace_id`.
    pub omit_headers: Vec<String>,
    /// Redeliver on failure (default true). Ignored for `type=card`.
    pub redeliver: bool,
    /// Send only to this connection (waits while it is not live).
    pub connection: Option<u64>,
}

impl Default for PushOptions {
    fn default() -> Self {
        PushOptions {
            message_type: MessageType::Event,
            fragments: None,
            fragment_order: None,
            seq_id: None,
            log_id: None,
            extra_headers: Vec::new(),
            omit_headers: Vec::new(),
            redeliver: true,
            connection: None,
        }
    }
}

/// One answer of `POST /callback/ws/endpoint` (§1.2, §1.3).
#[derive(Debug, Clone, PartialEq)]
pub enum EndpointAnswer {
    /// Code 0, a fresh one-time URL and all four ClientConfig keys.
    Ok,
    /// This non-zero code with `"data": null` or `"data": {}`.
    Code {
        /// The `code` field.
        code: i64,
        /// `"data": null` instead of `"data": {}`.
        data_null: bool,
    },
    /// This HTTP status with a plain-text body.
    HttpStatus(u16),
    /// HTTP 200 with an HTML body.
    NonJson,
    /// Code 0 and a URL, but no `ClientConfig`.
    WithoutClientConfig,
    /// Code 0 and a URL, with exactly this (possibly partial) ClientConfig.
    PartialClientConfig(ClientConfigUpdate),
    /// What a credentials mismatch gets (automatic then): code 10003 with `"data": {}`.
    WrongCredentials,
}

/// One answer to a WebSocket upgrade (§2).
#[derive(Debug, Clone, PartialEq)]
pub enum HandshakeAnswer {
    /// 101, if the ticket is valid and the connection limit allows.
    Accept,
    /// A non-101 answer with the given `Handshake-*` headers (each omitted when `None`).
    Refuse {
        /// HTTP status of the answer.
        http_status: u16,
        /// `Handshake-Status`.
        status: Option<i64>,
        /// `Handshake-Autherrcode`.
        auth_code: Option<i64>,
        /// `Handshake-Msg`.
        msg: Option<String>,
    },
}

/// How the emulator answers protocol pings (§4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PongMode {
    /// A pong carrying the current ClientConfig with all four keys (default).
    Config,
    /// A pong with exactly these payload bytes.
    Custom(Vec<u8>),
    /// A pong with no payload.
    Empty,
    /// A pong whose payload is not JSON.
    InvalidJson,
    /// No pong at all.
    Silent,
}

/// Something sent verbatim to clients, bypassing the frame encoder (malformed-frame injection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawMessage {
    /// A binary WebSocket message with these bytes.
    Binary(Vec<u8>),
    /// A text WebSocket message.
    Text(String),
    /// An RFC 6455 ping with this payload (Python's `websockets` sends these; a client must
    /// answer with a pong, counted in [`crate::Emulator::ws_pongs_received`]).
    Ping(Vec<u8>),
}

/// A way to end a connection (§10 scenario 23).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// A WebSocket close frame with this code (e.g. 1000, 1001), then the TCP close.
    Close(u16),
    /// An abrupt TCP reset (`SO_LINGER` 0), no close frame.
    Abrupt,
    /// Close TCP normally (FIN) without a close frame.
    DropWithoutClose,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redelivery_schedule_is_scaled_and_bounded() {
        let policy = RedeliveryPolicy {
            scale: 0.01,
            ..Default::default()
        };
        assert_eq!(policy.scaled_ack_timeout(), Duration::from_millis(30));
        assert_eq!(policy.next_retry_delay(0), Some(Duration::from_millis(150)));
        assert_eq!(policy.next_retry_delay(1), Some(Duration::from_secs(3)));
        assert_eq!(policy.next_retry_delay(3), Some(Duration::from_secs(216)));
        assert_eq!(policy.next_retry_delay(4), None);
        let off = RedeliveryPolicy {
            enabled: false,
            ..Default::default()
        };
        assert_eq!(off.next_retry_delay(0), None);
        let weird = RedeliveryPolicy {
            scale: f64::NAN,
            ..Default::default()
        };
        assert_eq!(weird.scaled_ack_timeout(), Duration::from_secs(3));
    }
}
