//! `/metrics`: every subsystem's counters, gauges and histograms, read at scrape time from the
//! running apps and written with `prometheus-client` (Prometheus text 0.0.4, or OpenMetrics).
//! Nothing is registered globally: each scrape builds a registry over one [`Snapshot`] per app.
//! Names are `aviary_*`; labels are `app`, `handler`, `outcome`, `kind`, `code`, `state`,
//! `reason`, `direction`, `op` — each with a fixed set of values or one value per configured app or
//! handler (never an event id or a chat id). The list is in `docs/operations.md`.

use std::sync::Arc;
use std::time::SystemTime;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use super::handle::RuntimeHandle;
use crate::connection::ConnectionState;
use crate::metrics::Histogram;
use crate::queue::QueueSnapshot;

/// What one app's metrics are read from, taken just before encoding (the dead-letter count
/// needs an async store read; everything else is atomics and histograms shared with the
/// subsystems).
struct Snapshot {
    handle: RuntimeHandle,
    dead_letters: Option<u64>,
    /// The handlers in force.
    generation: Arc<super::generation::Generation>,
    reload: super::reload::ReloadStatus,
}

/// The metrics of `apps`, as Prometheus text 0.0.4 or (`openmetrics`) OpenMetrics text.
pub(crate) async fn render(apps: &[RuntimeHandle], openmetrics: bool) -> String {
    let mut snapshots = Vec::new();
    for handle in apps {
        snapshots.push(Snapshot {
            dead_letters: handle.dead_letters().await,
            generation: handle.shared.generation(),
            reload: handle.reload_status(),
            handle: handle.clone(),
        });
    }
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Collected(Arc::new(snapshots))));
    let mut out = String::new();
    let encoded = if openmetrics {
        prometheus_client::encoding::text::encode(&mut out, &registry)
    } else {
        prometheus_client::encoding::prometheus_text::encode(&mut out, &registry)
    };
    if let Err(e) = encoded {
        tracing::warn!(error = %e, "cannot encode the metrics");
    }
    out
}

#[derive(Debug)]
struct Collected(Arc<Vec<Snapshot>>);

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("app", &self.handle.app_id())
            .finish_non_exhaustive()
    }
}

type Labels = Vec<(&'static str, String)>;

/// Writes one metric family: `name`, `help`, its type and one sample per label set.
struct Family<'e, 'a> {
    encoder: &'e mut DescriptorEncoder<'a>,
}

impl Family<'_, '_> {
    fn counter(&mut self, name: &str, help: &str, samples: Vec<(Labels, u64)>) -> Fmt {
        let mut m = self
            .encoder
            .encode_descriptor(name, help, None, MetricType::Counter)?;
        for (labels, v) in samples {
            ConstCounter::new(v).encode(m.encode_family(&labels)?)?;
        }
        Ok(())
    }

    fn gauge(&mut self, name: &str, help: &str, samples: Vec<(Labels, f64)>) -> Fmt {
        let mut m = self
            .encoder
            .encode_descriptor(name, help, None, MetricType::Gauge)?;
        for (labels, v) in samples {
            ConstGauge::new(v).encode(m.encode_family(&labels)?)?;
        }
        Ok(())
    }

    fn histogram(&mut self, name: &str, help: &str, samples: Vec<(Labels, &Histogram)>) -> Fmt {
        let mut m = self
            .encoder
            .encode_descriptor(name, help, None, MetricType::Histogram)?;
        for (labels, h) in samples {
            h.encode(m.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

type Fmt = Result<(), std::fmt::Error>;

fn app(s: &Snapshot) -> Labels {
    vec![("app", s.handle.app_id().to_string())]
}

fn with(mut labels: Labels, key: &'static str, value: impl Into<String>) -> Labels {
    labels.push((key, value.into()));
    labels
}

impl Collector for Collected {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Fmt {
        let apps = &self.0;
        let mut f = Family {
            encoder: &mut encoder,
        };
        let per_app = |v: &dyn Fn(&Snapshot) -> u64| -> Vec<(Labels, u64)> {
            apps.iter().map(|s| (app(s), v(s))).collect()
        };
        let per_app_f = |v: &dyn Fn(&Snapshot) -> f64| -> Vec<(Labels, f64)> {
            apps.iter().map(|s| (app(s), v(s))).collect()
        };
        let conn = |s: &Snapshot| s.handle.shared.stats.snapshot();
        let queue = |s: &Snapshot| -> QueueSnapshot {
            s.handle
                .shared
                .queue
                .as_ref()
                .map(|q| q.stats().snapshot())
                .unwrap_or_default()
        };

        f.gauge(
            "aviary_build_info",
            "Aviary's version (always 1)",
            vec![(
                vec![("version", env!("CARGO_PKG_VERSION").to_string())],
                1.0,
            )],
        )?;

        // The connection.
        f.gauge(
            "aviary_connection_state",
            "1 for the state the connection is in, 0 for the others",
            apps.iter()
                .flat_map(|s| {
                    let now = s.handle.shared.stats.current_state();
                    ConnectionState::NAMES.iter().map(move |name| {
                        (
                            with(app(s), "state", *name),
                            f64::from(u8::from(now.name() == *name)),
                        )
                    })
                })
                .collect(),
        )?;
        f.gauge(
            "aviary_connection_age_seconds",
            "How long the current connection has been up (0 when not connected)",
            per_app_f(&|s| {
                let stats = &s.handle.shared.stats;
                match stats.current_state() {
                    ConnectionState::Connected { .. } => SystemTime::now()
                        .duration_since(stats.state_since())
                        .map(|d| d.as_secs_f64())
                        .unwrap_or(0.0),
                    _ => 0.0,
                }
            }),
        )?;
        f.counter(
            "aviary_connects",
            "WebSocket sessions established",
            per_app(&|s| conn(s).connects),
        )?;
        f.counter(
            "aviary_disconnects",
            "Established sessions that ended, by reason",
            apps.iter()
                .flat_map(|s| {
                    s.handle
                        .shared
                        .stats
                        .disconnects_by_kind()
                        .into_iter()
                        .map(move |(k, n)| (with(app(s), "reason", k.name()), n))
                })
                .collect(),
        )?;
        f.counter(
            "aviary_reconnects",
            "Connects after the first: automatic (after a loss or a failed attempt) or manual (make-before-break on request)",
            apps.iter()
                .flat_map(|s| {
                    let c = conn(s);
                    [
                        (with(app(s), "kind", "automatic"), c.reconnect_attempts),
                        (with(app(s), "kind", "manual"), c.manual_reconnects),
                    ]
                })
                .collect(),
        )?;
        f.counter(
            "aviary_pings_sent",
            "Protocol pings written",
            per_app(&|s| conn(s).pings_sent),
        )?;
        f.counter(
            "aviary_pongs_received",
            "Protocol pongs received",
            per_app(&|s| conn(s).pongs_received),
        )?;
        f.counter(
            "aviary_liveness_timeouts",
            "Connections replaced because nothing arrived for a ping interval plus the grace",
            per_app(&|s| conn(s).liveness_timeouts),
        )?;
        let config = |s: &Snapshot| s.handle.shared.stats.config();
        f.gauge(
            "aviary_client_config_ping_interval_seconds",
            "PingInterval in force (server ClientConfig under the manifest's pins)",
            per_app_f(&|s| config(s).ping_interval.as_secs_f64()),
        )?;
        f.gauge(
            "aviary_client_config_reconnect_count",
            "ReconnectCount in force (negative: unlimited)",
            per_app_f(&|s| config(s).reconnect_count as f64),
        )?;
        f.gauge(
            "aviary_client_config_reconnect_interval_seconds",
            "ReconnectInterval in force",
            per_app_f(&|s| config(s).reconnect_interval.as_secs_f64()),
        )?;
        f.gauge(
            "aviary_client_config_reconnect_nonce_seconds",
            "ReconnectNonce in force",
            per_app_f(&|s| config(s).reconnect_nonce.as_secs_f64()),
        )?;
        f.counter(
            "aviary_frames",
            "Protocol frames: in = binary frames decoded, out = acks and pings written",
            apps.iter()
                .flat_map(|s| {
                    let c = conn(s);
                    [
                        (with(app(s), "direction", "in"), c.frames_received),
                        (with(app(s), "direction", "out"), c.acks_sent + c.pings_sent),
                    ]
                })
                .collect(),
        )?;
        f.counter(
            "aviary_frames_skipped",
            "Inbound messages skipped, by kind (text, undecodable, unknown, card, fragment)",
            apps.iter()
                .flat_map(|s| {
                    let c = conn(s);
                    [
                        ("text", c.text_messages_skipped),
                        ("undecodable", c.undecodable_frames),
                        ("unknown", c.unknown_frames),
                        ("card", c.card_frames_ignored),
                        ("fragment", c.fragments_dropped),
                    ]
                    .map(|(k, n)| (with(app(s), "kind", k), n))
                })
                .collect(),
        )?;
        f.counter(
            "aviary_events_received",
            "Complete events taken off the connection",
            per_app(&|s| conn(s).events_received),
        )?;
        f.counter(
            "aviary_acks",
            "Acks sent, by code (200 handled or persisted, 500 failed)",
            apps.iter()
                .flat_map(|s| {
                    let c = conn(s);
                    [
                        (with(app(s), "code", "200"), c.acks_200),
                        (with(app(s), "code", "500"), c.acks_500),
                    ]
                })
                .collect(),
        )?;
        f.counter(
            "aviary_duplicates",
            "Deliveries answered from dedupe without running a handler (the queue's and the in-memory layer's)",
            per_app(&|s| queue(s).duplicates + s.handle.shared.dedupe_duplicates()),
        )?;
        f.counter(
            "aviary_deliveries_refused",
            "Deliveries not acked so that Feishu redelivers them: queue full, or not persisted",
            apps.iter()
                .flat_map(|s| {
                    let q = queue(s);
                    [
                        (with(app(s), "reason", "queue_full"), q.refused_full),
                        (
                            with(app(s), "reason", "persist_failure"),
                            q.persist_failures,
                        ),
                    ]
                })
                .collect(),
        )?;
        f.histogram(
            "aviary_event_ack_latency_seconds",
            "From a complete event to its ack being queued on the socket",
            apps.iter()
                .map(|s| (app(s), s.handle.shared.stats.ack_latency()))
                .collect(),
        )?;

        // The queue.
        let queued: Vec<&Snapshot> = apps
            .iter()
            .filter(|s| s.handle.shared.queue.is_some())
            .collect();
        let gauge = |s: &Snapshot| {
            *s.handle
                .shared
                .queue
                .as_ref()
                .expect("filtered")
                .gauge()
                .borrow()
        };
        let queue_gauge =
            |name, help, v: &dyn Fn(&Snapshot) -> f64| -> (String, String, Vec<(Labels, f64)>) {
                (
                    String::from(name),
                    String::from(help),
                    queued.iter().map(|s| (app(s), v(s))).collect(),
                )
            };
        for (name, help, samples) in [
            queue_gauge(
                "aviary_queue_depth",
                "Jobs held (waiting, running, or waiting for a retry)",
                &|s| gauge(s).jobs as f64,
            ),
            queue_gauge("aviary_queue_in_flight", "Jobs running now", &|s| {
                gauge(s).running as f64
            }),
            queue_gauge(
                "aviary_queue_oldest_job_age_seconds",
                "Age of the oldest job held (0 when empty)",
                &|s| {
                    gauge(s)
                        .oldest_enqueued_ms
                        .map(|at| crate::queue::store::now_ms().saturating_sub(at) as f64 / 1e3)
                        .unwrap_or(0.0)
                },
            ),
        ] {
            f.gauge(&name, &help, samples)?;
        }
        f.gauge(
            "aviary_dead_letters",
            "Dead letters in the store (recounted at most every 5 s)",
            queued
                .iter()
                .filter_map(|s| s.dead_letters.map(|n| (app(s), n as f64)))
                .collect(),
        )?;
        let queue_counter = |v: &dyn Fn(&QueueSnapshot) -> u64| -> Vec<(Labels, u64)> {
            queued.iter().map(|s| (app(s), v(&queue(s)))).collect()
        };
        f.counter(
            "aviary_queue_accepted",
            "Events persisted as jobs",
            queue_counter(&|q| q.accepted),
        )?;
        f.counter(
            "aviary_queue_completed",
            "Jobs whose handlers all finished",
            queue_counter(&|q| q.completed),
        )?;
        f.counter(
            "aviary_queue_retries",
            "Handler runs scheduled again after a retry or a failure",
            queue_counter(&|q| q.retries),
        )?;
        f.counter(
            "aviary_queue_dead_lettered",
            "Jobs moved to the dead letters",
            queue_counter(&|q| q.dead_lettered),
        )?;
        f.counter(
            "aviary_queue_commits",
            "Durable transactions (group commits)",
            queue_counter(&|q| q.commits),
        )?;
        let queue_stats: Vec<(Labels, Arc<crate::queue::QueueStats>)> = queued
            .iter()
            .map(|s| {
                (
                    app(s),
                    s.handle.shared.queue.as_ref().expect("filtered").stats(),
                )
            })
            .collect();
        f.histogram(
            "aviary_queue_commit_size",
            "Operations (admissions and settlements) per durable transaction",
            queue_stats
                .iter()
                .map(|(l, q)| (l.clone(), &q.commit_size))
                .collect(),
        )?;
        f.histogram(
            "aviary_queue_commit_duration_seconds",
            "Time of one durable transaction, fsync included",
            queue_stats
                .iter()
                .map(|(l, q)| (l.clone(), &q.commit_duration))
                .collect(),
        )?;
        f.histogram(
            "aviary_event_handler_start_latency_seconds",
            "From an event's admission to the queue to its first handler run starting",
            queue_stats
                .iter()
                .map(|(l, q)| (l.clone(), &q.start_latency))
                .collect(),
        )?;
        f.histogram(
            "aviary_event_done_latency_seconds",
            "From an event's admission to the queue to every handler being done",
            queue_stats
                .iter()
                .map(|(l, q)| (l.clone(), &q.done_latency))
                .collect(),
        )?;

        // Dispatch (the synchronous path).
        f.counter(
            "aviary_callbacks_late",
            "Card callbacks acked by the deadline fallback because a handler was late",
            per_app(&|s| {
                s.generation
                    .dispatch_stats
                    .as_ref()
                    .map_or(0, |d| d.snapshot().callbacks_late)
            }),
        )?;

        // Hot reload.
        f.counter(
            "aviary_reloads",
            "Reloads asked for (SIGHUP, POST /control/reload, aviary ctl reload), by outcome (applied, refused)",
            apps.iter()
                .flat_map(|s| {
                    [
                        (with(app(s), "outcome", "applied"), s.reload.succeeded),
                        (with(app(s), "outcome", "refused"), s.reload.failed),
                    ]
                })
                .collect(),
        )?;
        f.counter(
            "aviary_reload_failures",
            "Reloads refused (manifest or component error, or a change that needs a restart); the previous configuration kept running",
            per_app(&|s| s.reload.failed),
        )?;
        f.gauge(
            "aviary_reload_generation",
            "The reload whose handlers run now (0: those of the start)",
            per_app_f(&|s| s.generation.number as f64),
        )?;

        // Handlers.
        let handlers: Vec<(&Snapshot, &super::handle::HandlerInfo)> = apps
            .iter()
            .flat_map(|s| s.generation.handlers.iter().map(move |h| (s, h)))
            .collect();
        let hl =
            |s: &Snapshot, h: &super::handle::HandlerInfo| with(app(s), "handler", h.name.clone());
        f.counter(
            "aviary_handler_calls",
            "Handler calls finished, by outcome (done, respond, retry, reject, failed)",
            handlers
                .iter()
                .flat_map(|(s, h)| {
                    h.meter
                        .outcomes()
                        .map(move |(o, n)| (with(hl(s, h), "outcome", o), n))
                })
                .collect(),
        )?;
        f.counter(
            "aviary_handler_failures",
            "Failed handler calls, by kind (out_of_fuel, timeout, memory_limit, panic, stack_overflow, trap, host_error)",
            handlers
                .iter()
                .flat_map(|(s, h)| {
                    h.meter
                        .failures()
                        .map(move |(k, n)| (with(hl(s, h), "kind", k), n))
                })
                .collect(),
        )?;
        f.histogram(
            "aviary_handler_duration_seconds",
            "Wall time of one handler call (instantiation included)",
            handlers
                .iter()
                .map(|(s, h)| (hl(s, h), &h.meter.duration))
                .collect(),
        )?;
        f.histogram(
            "aviary_handler_fuel_used",
            "Fuel one call used (Wasm handlers metered for fuel)",
            handlers
                .iter()
                .filter(|(_, h)| h.kind == "wasm")
                .map(|(s, h)| (hl(s, h), &h.meter.fuel))
                .collect(),
        )?;
        f.histogram(
            "aviary_handler_peak_memory_bytes",
            "Peak linear memory of one call's instance (Wasm handlers)",
            handlers
                .iter()
                .filter(|(_, h)| h.kind == "wasm")
                .map(|(s, h)| (hl(s, h), &h.meter.memory))
                .collect(),
        )?;
        f.counter(
            "aviary_handler_instances",
            "Wasm instances a handler's calls ran in: created fresh, or reused",
            handlers
                .iter()
                .filter_map(|(s, h)| h.invoke.instances().map(|i| (s, h, i)))
                .flat_map(|(s, h, (created, reused))| {
                    [
                        (with(hl(s, h), "kind", "created"), created),
                        (with(hl(s, h), "kind", "reused"), reused),
                    ]
                })
                .collect(),
        )?;

        // Capabilities of Wasm handlers: outbound HTTP and key-value state. Every Wasm handler
        // gets every outcome (a handler without a grant counts its denials).
        let wasm: Vec<_> = handlers.iter().filter(|(_, h)| h.kind == "wasm").collect();
        f.counter(
            "aviary_handler_http_requests",
            "http-send requests of a Wasm handler, by outcome (answered, denied, timeout, too_large, failed)",
            wasm.iter()
                .flat_map(|(s, h)| {
                    let snap = s.handle.shared.kv.http_stats.snapshot(&h.name).unwrap_or_default();
                    crate::outbound::HttpOutcome::ALL
                        .map(|o| (with(hl(s, h), "outcome", o.name()), snap.get(o)))
                })
                .collect(),
        )?;
        f.counter(
            "aviary_handler_kv_operations",
            "kv-* calls of a Wasm handler, by operation (kv-get, kv-set, kv-delete, kv-increment, kv-list) and outcome (ok, denied, invalid, over_quota, store_error)",
            wasm.iter()
                .flat_map(|(s, h)| {
                    let calls = s.handle.shared.kv.stats.get(&h.name).unwrap_or_default();
                    calls
                        .all()
                        .into_iter()
                        .map(|(op, outcome, n)| {
                            (with(with(hl(s, h), "op", op), "outcome", outcome), n)
                        })
                        .collect::<Vec<_>>()
                })
                .collect(),
        )?;

        // OpenAPI.
        f.counter(
            "aviary_openapi_calls",
            "feishu-request calls sent, by outcome (ok, error, rate_limited, timeout)",
            apps.iter()
                .flat_map(|s| {
                    let mut totals = std::collections::BTreeMap::new();
                    for c in s.handle.shared.openapi.all() {
                        for (o, n) in c.stats().calls() {
                            *totals.entry(o.name()).or_insert(0u64) += n;
                        }
                    }
                    crate::openapi::CallOutcome::ALL
                        .iter()
                        .map(|o| {
                            (
                                with(app(s), "outcome", o.name()),
                                totals.get(o.name()).copied().unwrap_or(0),
                            )
                        })
                        .collect::<Vec<_>>()
                })
                .collect(),
        )?;
        f.counter(
            "aviary_openapi_rate_limit_waits",
            "Waits before an OpenAPI call: pacer (the host's per-chat pacing) or server (after a 429)",
            apps.iter()
                .flat_map(|s| {
                    let clients = s.handle.shared.openapi.all();
                    [
                        ("pacer", clients.iter().map(|c| c.stats().pacer_waits()).sum::<u64>()),
                        ("server", clients.iter().map(|c| c.stats().server_waits()).sum::<u64>()),
                    ]
                    .map(|(k, n)| (with(app(s), "kind", k), n))
                })
                .collect(),
        )?;
        Ok(())
    }
}
