//! The harness of the SDK tests (`sdk_*.rs`): one test guest per language (Rust, Go,
//! JavaScript on QuickJS and StarlingMonkey, Python), each running the same script, loaded
//! into the real sandbox with OpenAPI access to the emulator, behind the real dispatcher and
//! long connection: emulator → connection → dispatch → Wasm → OpenAPI calls back to the
//! emulator → ack.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aviary::dispatch::dedupe::Deduplicating;
use aviary::dispatch::router::EventPattern;
use aviary::dispatch::{DispatchSettings, Dispatcher, HandlerEntry};
use aviary::handler::Invoke;
use aviary::openapi::{FeishuClient, OpenApiApp, OpenApiGrant};
use aviary::sandbox::{HandlerLimits, HandlerSpec, OpenApiAccess, Sandbox, SandboxConfig};
use aviary_emulator::{AckRecord, Emulator, EmulatorConfig};
use aviary_test_support::lang_guests::{self, js, py, JsEngine};
use aviary_test_support::*;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

/// The languages of the SDKs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Rust,
    Go,
    QuickJs,
    StarlingMonkey,
    Python,
}

impl Lang {
    /// What the guest calls itself in its messages.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Go => "go",
            Lang::QuickJs | Lang::StarlingMonkey => "js",
            Lang::Python => "py",
        }
    }

    /// The handler's name in the runtime.
    pub fn handler(self) -> String {
        format!("sdk-{self:?}").to_lowercase()
    }

    /// The built test guest.
    pub fn component(self) -> PathBuf {
        match self {
            Lang::Rust => aviary_test_support::guests::guest("sdk-guest"),
            Lang::Go => {
                aviary_test_support::go_guests::go_component(
                    "tests/go-guests/sdk",
                    aviary::guest_build::DEFAULT_ARENA_MIB,
                )
                .path
            }
            Lang::QuickJs => js("tests/guests-js/sdk.js", JsEngine::QuickJs),
            Lang::StarlingMonkey => js("tests/guests-js/sdk.js", JsEngine::StarlingMonkey),
            Lang::Python => py("tests/guests-py/sdk_guest.py"),
        }
    }
}

fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| {
        Sandbox::new(SandboxConfig {
            cache_dir: Some(lang_guests::sandbox_cache_dir()),
            ..SandboxConfig::default()
        })
        .expect("sandbox")
    })
}

/// A running stack: the emulator, and the runtime connected to it with one handler.
pub struct Stack {
    pub emu: Emulator,
    pub dispatcher: Arc<Dispatcher>,
    shutdown: CancellationToken,
}

impl Stack {
    /// Starts the emulator (`tweak`ed; redelivery off) and the runtime with `lang`'s guest on
    /// every event, granted `grant`, with `timeout`.
    pub async fn start(
        lang: Lang,
        grant: &[&str],
        timeout: Duration,
        tweak: impl FnOnce(&mut EmulatorConfig),
    ) -> Stack {
        let emu = start_emulator(|c| {
            c.redelivery.enabled = false;
            tweak(c)
        })
        .await;
        let config = EmulatorConfig::default();
        let client = FeishuClient::new(OpenApiApp {
            app_id: config.app_id,
            app_secret: config.app_secret.as_str().into(),
            domain: emu.domain(),
            send_limits: Default::default(),
        })
        .unwrap();
        let mut spec = HandlerSpec::new(lang.handler(), lang.component());
        spec.limits = HandlerLimits::default()
            .with_timeout(timeout)
            .and_then(|l| l.with_memory_mb(128))
            .unwrap();
        spec.openapi = Some(OpenApiAccess {
            client: Arc::new(client),
            grant: OpenApiGrant::parse(grant).unwrap(),
        });
        // Compiling a large component takes seconds: off the async workers.
        let loaded = tokio::task::spawn_blocking(move || sandbox().load(spec))
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("{lang:?}: {e}"));
        let handler: Arc<dyn Invoke> = Arc::new(loaded);
        let entry = HandlerEntry::new(handler, vec![EventPattern::parse("*").unwrap()]);
        let dispatcher = Arc::new(Dispatcher::new(DispatchSettings::default(), vec![entry]));
        let shutdown = CancellationToken::new();
        tokio::spawn(aviary::connection::run(
            options_for(&emu),
            Arc::new(Deduplicating::new(dispatcher.clone())),
            aviary::connection::ConnectionStats::new(),
            shutdown.clone(),
        ));
        emu.wait_for_connections(1, Duration::from_secs(30))
            .await
            .unwrap();
        Stack {
            emu,
            dispatcher,
            shutdown,
        }
    }

    /// Pushes `envelopes` and waits for their acks; fails unless every ack is code 200.
    pub async fn run(&self, envelopes: &[Value], timeout: Duration) -> Vec<AckRecord> {
        let before = self.emu.acks().len();
        for e in envelopes {
            self.emu.push_event(e);
        }
        let acks = self
            .emu
            .wait_for_acks(before + envelopes.len(), timeout)
            .await
            .unwrap_or_else(|e| panic!("acks: {e}; calls: {:#?}", self.emu.openapi_calls()));
        let acks = acks[before..].to_vec();
        assert!(
            acks.iter().all(|a| a.code == 200),
            "every event handled: {:?}; stats {:?}",
            acks.iter().map(|a| a.code).collect::<Vec<_>>(),
            self.dispatcher.stats().snapshot()
        );
        acks
    }

    /// Stops the runtime.
    pub fn stop(self) -> Emulator {
        self.shutdown.cancel();
        self.emu
    }
}
