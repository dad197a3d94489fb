//! A Feishu bot that embeds Aviary: a **native Rust handler** (a poll that counts card votes and
//! answers each click with a toast) and a **Wasm handler** (the example Rust component, which
//! replies to messages through the OpenAPI) in one program, on one long connection.
//!
//! ```sh
//! cargo build --release --target wasm32-wasip2 --manifest-path examples/Cargo.toml
//! FEISHU_APP_ID=cli_… FEISHU_APP_SECRET=… cargo run -p aviary-embed-example -- \
//!     feishu examples/target/wasm32-wasip2/release/rust_handler.wasm
//! ```
//!
//! It prints `connected <conn id>` when the connection is up and, after SIGINT/SIGTERM, one
//! JSON line: the runtime's final status (each handler's calls).

use std::collections::HashMap;
use std::sync::Mutex;

use aviary::settings::QueueBackend;
use aviary::{Event, Handler, HandlerError, NativeHandler, Outcome, Runtime, Settings};

/// The native handler: counts `card.action.trigger` clicks per `value.choice`. Native code is
/// not sandboxed (it runs with the whole process's rights), so keep it to code you trust.
#[derive(Default)]
struct Poll {
    votes: Mutex<HashMap<String, u32>>,
}

#[aviary::async_trait]
impl NativeHandler for Poll {
    async fn handle(&self, event: &Event) -> Result<Outcome, HandlerError> {
        let envelope: serde_json::Value = serde_json::from_str(&event.envelope)?;
        let Some(choice) = envelope["event"]["action"]["value"]["choice"].as_str() else {
            return Ok(Outcome::Reject("a card click without value.choice".into()));
        };
        let n = {
            let mut votes = self.votes.lock().unwrap();
            let n = votes.entry(choice.to_string()).or_default();
            *n += 1;
            *n
        };
        // A callback's answer rides in the ack: a toast for the user who clicked.
        let toast = serde_json::json!({
            "toast": {"type": "info", "content": format!("{choice}: {n} vote(s)")}
        });
        Ok(Outcome::Respond(toast.to_string()))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(domain), Some(component)) = (args.next(), args.next()) else {
        eprintln!("usage: embed <feishu|lark|base URL> <handler.wasm>  (env FEISHU_APP_ID, FEISHU_APP_SECRET)");
        std::process::exit(2);
    };
    let mut settings = Settings::new(
        domain,
        std::env::var("FEISHU_APP_ID")?,
        std::env::var("FEISHU_APP_SECRET")?,
    );
    // In memory for the example; the default is the durable disk queue (.aviary/queue.redb).
    settings.queue.backend = QueueBackend::Memory;

    let runtime = Runtime::builder()
        .settings(settings)
        .handler(Handler::native("poll", Poll::default()).events(["card.action.trigger"]))
        .handler(
            Handler::wasm("replier", component)
                .events(["im.message.receive_v1"])
                .config("reply", "Got it")
                .openapi(["/open-apis/im/v1/messages"]),
        )
        .on_connected(|conn_id| println!("connected {conn_id}"))
        .on_disconnected(|d| eprintln!("disconnected: {}", d.reason))
        .on_error(|e| eprintln!("error: {e}"))
        .start()
        .await?;

    let stop = {
        let runtime = runtime.clone();
        tokio::spawn(async move {
            stop_signal().await;
            runtime.stop().await
        })
    };
    let ended = runtime.wait().await;
    stop.abort();
    println!("{}", serde_json::to_string(&runtime.status().await)?);
    ended?;
    Ok(())
}

async fn stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
