//! `aviary invoke -m aviary.toml <handler> <event.json>`: runs one event through one handler
//! and prints what its `openapi` and `allowed_outbound_hosts` keys grant, the outcome, fuel
//! and peak memory against their limits, wall time, and the guest's logs (like Shopify's function-runner). The event file is
//! an envelope as Feishu sends it (encrypted ones are decrypted with `feishu.encrypt_key`); the
//! attempt is 1.
//! and prints what its `openapi` and `kv` keys grant, the outcome, fuel and peak memory against
//! their limits, wall time, the key-value writes the run would commit, and the guest's logs
//! (like Shopify's function-runner). The event file is an envelope as Feishu sends it
//! (encrypted ones are decrypted with `feishu.encrypt_key`); the attempt is 1. Key-value calls
//! run against an empty in-memory store, so nothing of the app's state is read or changed.
//!
//! When the handler's filters (`chat_types`, `require_mention`, …) skip the event, the handler
//! is not called and the report says why (`outcome  filtered: not mentioned (…)`).
//!
//! Exit codes: 0 when the handler returned `done` or `respond`, or the event was filtered; 1
//! for `retry`, `reject` or a failure; 2 when it could not be run (manifest, unknown handler,
//! unreadable event, load error).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use super::MakeLoader;
use crate::app::{filters, wasm};
use crate::dispatch::filter::Filtered;
use crate::dispatch::InboundEvent;
use crate::handler::{GuestEvent, Invocation, LogStream, Outcome};
use crate::kv::Write;
use crate::manifest::{HandlerSettings, Manifest};
use crate::process;
use crate::protocol::envelope::parse_envelope;
use crate::queue::store::now_ms;

/// Flags of `aviary invoke`.
#[derive(Debug, clap::Args)]
pub struct InvokeArgs {
    /// The manifest declaring the handler.
    #[arg(short = 'm', long = "manifest", default_value = "aviary.toml")]
    pub manifest: PathBuf,
    /// The handler's `name` in the manifest.
    pub handler: String,
    /// A JSON file with the event envelope, as Feishu sends it.
    pub event: PathBuf,
}

/// Runs `aviary invoke` with the Wasm sandbox, metering fuel even for a handler without a
/// budget (so the report shows what it uses).
pub fn run(args: InvokeArgs) -> ExitCode {
    let runtime = match process::tokio_runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(invoke(&args, &wasm::metering_sandbox_loader)) {
        Ok(ran) => {
            print!("{}", render(&ran));
            ExitCode::from(exit_code(&ran.invocation))
        }
        Err(errors) => {
            for e in errors {
                eprintln!("error: {e}");
            }
            ExitCode::from(2)
        }
    }
}

/// One finished call, with what is needed to report it.
#[derive(Debug, Clone)]
pub struct Ran {
    /// The handler's settings (limits).
    pub handler: HandlerSettings,
    /// The event as the guest saw it.
    pub event: GuestEvent,
    /// What happened (`done` without a call when the event was filtered).
    pub invocation: Invocation,
    /// Why the handler's filters skipped the event (then the handler was not called and the
    /// event would be acked 200).
    pub filtered: Option<Filtered>,
}

/// Loads the manifest and the one handler, reads the event, runs it. Errors are the lines to
/// print (the call could not be made).
pub async fn invoke(args: &InvokeArgs, make_loader: MakeLoader<'_>) -> Result<Ran, Vec<String>> {
    let manifest = Manifest::load(&args.manifest).map_err(|e| {
        e.problems()
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
    })?;
    let Some(handler) = manifest.handler(&args.handler).cloned() else {
        let names: Vec<&str> = manifest.handlers.iter().map(|h| h.name.as_str()).collect();
        return Err(vec![format!(
            "{}: no handler named `{}` (handlers: {})",
            manifest.path.display(),
            args.handler,
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        )]);
    };
    let bytes = std::fs::read(&args.event).map_err(|e| {
        vec![format!(
            "{}: cannot read the event: {e}",
            args.event.display()
        )]
    })?;
    let key = manifest.feishu.encrypt_key.as_ref().map(|k| k.expose());
    let envelope = parse_envelope(&bytes, key).map_err(|e| {
        vec![format!(
            "{}: not a usable event envelope: {e}",
            args.event.display()
        )]
    })?;
    let inbound = InboundEvent {
        meta: envelope.meta,
        json: envelope.json,
        trace_id: String::new(),
        frame_message_id: String::new(),
    };
    let event = inbound.guest_event(1);
    let filter = filters::filter_for(&manifest, &handler)
        .await
        .map_err(|e| vec![e])?;
    if let Some(filtered) = filter.and_then(|f| f.check(&event, now_ms())) {
        return Ok(Ran {
            handler,
            event,
            invocation: Invocation::outside_sandbox(Ok(Outcome::Done), std::time::Duration::ZERO),
            filtered: Some(filtered),
        });
    }
    let loader = make_loader().map_err(|e| vec![e])?;
    let kv = crate::app::loading::KvBinding::to(std::sync::Arc::new(
        crate::queue::kv::memory::MemoryKv::new(Default::default()),
    ));
    let invoke = loader.load_with(&handler, &kv).map_err(|why| {
        vec![format!(
            "{}:{}:{}: handler.component: handler `{}`: {why}",
            manifest.path.display(),
            handler.component_at.line,
            handler.component_at.column,
            handler.name
        )]
    })?;
    let invocation = invoke.invoke(&event).await;
    Ok(Ran {
        handler,
        event,
        invocation,
        filtered: None,
    })
}

/// 0 for `done`/`respond`, 1 otherwise.
pub fn exit_code(invocation: &Invocation) -> u8 {
    match invocation.result {
        Ok(Outcome::Done | Outcome::Respond(_)) => 0,
        _ => 1,
    }
}

/// The report printed on stdout.
pub fn render(ran: &Ran) -> String {
    let (h, e, inv) = (&ran.handler, &ran.event, &ran.invocation);
    let mut out = String::new();
    let _ = writeln!(out, "handler  {} ({})", h.name, h.component.display());
    let _ = writeln!(
        out,
        "openapi  {}",
        crate::openapi::grant_summary(h.openapi.as_ref())
    );
    let _ = writeln!(out, "http     {}", h.http.summary());
    let _ = writeln!(out, "kv       {}", crate::kv::grant_summary(h.kv.as_ref()));
    let _ = writeln!(
        out,
        "event    {} {} ({:?}, attempt {})",
        e.event_type, e.event_id, e.kind, e.attempt
    );
    let _ = writeln!(out, "filters  {}", h.filter.summary());
    if let Some(filtered) = &ran.filtered {
        let _ = writeln!(out, "outcome  filtered: {filtered}");
        let _ = writeln!(
            out,
            "         the handler was not called; the event would be acked 200"
        );
        return out;
    }
    let outcome = match &inv.result {
        Ok(Outcome::Done) => "done".to_string(),
        Ok(Outcome::Respond(body)) => format!("respond {body}"),
        Ok(Outcome::Retry(why)) => format!("retry: {why}"),
        Ok(Outcome::Reject(why)) => format!("reject: {why}"),
        Err(f) => format!("FAILED ({}): {f:?}", f.kind()),
    };
    let _ = writeln!(out, "outcome  {outcome}");
    let fuel = match (inv.fuel_used, h.limits.fuel()) {
        (Some(used), Some(limit)) => format!("{used} of {limit} ({})", percent(used, limit)),
        (Some(used), None) => format!("{used} (no limit)"),
        (None, _) => "not metered".to_string(),
    };
    let _ = writeln!(out, "fuel     {fuel}");
    let _ = writeln!(
        out,
        "memory   {} peak of {} ({})",
        mib(inv.peak_memory_bytes),
        mib(h.limits.memory_bytes()),
        percent(inv.peak_memory_bytes, h.limits.memory_bytes())
    );
    let _ = writeln!(
        out,
        "wall     {:.1} ms of {} ms timeout",
        inv.wall.as_secs_f64() * 1000.0,
        h.limits.timeout().as_millis()
    );
    if let Some(kv) = &inv.kv {
        let _ = writeln!(
            out,
            "writes   {} (committed with a done or respond outcome; not applied by invoke)",
            kv.writes.writes.len()
        );
        for w in &kv.writes.writes {
            let what = match &w.write {
                Write::Set { value, ttl_secs: 0 } => format!("set {value:?}"),
                Write::Set { value, ttl_secs } => format!("set {value:?} (ttl {ttl_secs} s)"),
                Write::Delete => "delete".to_string(),
                Write::Add(d) => format!("add {d}"),
            };
            let _ = writeln!(out, "  {}/{}: {what}", w.namespace, w.key);
        }
    }
    let _ = writeln!(out, "logs     {}", inv.logs.len());
    for log in &inv.logs {
        let source = match log.stream {
            LogStream::Log => format!("{:?}", log.level).to_lowercase(),
            LogStream::Stdout => "stdout".into(),
            LogStream::Stderr => "stderr".into(),
        };
        let _ = writeln!(out, "  [{source}] {}", log.message);
    }
    out
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "-".into();
    }
    format!("{:.1}%", part as f64 * 100.0 / whole as f64)
}
