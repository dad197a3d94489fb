//! The key-value test guest in Rust, through the SDK's `kv` module (tests/tests/kv_guests.rs;
//! the same steps as the Go, JavaScript and Python ones): adds 1 to `visits`, sets `last` to
//! the event id and reads it back, sets and deletes `tmp`, lists every key, tries to add to the
//! text in `last`, and answers what it saw as JSON — or {"error": …} when the first call fails
//! (no grant). Event type `kv.retry` asks for a retry after the same calls.
use aviary_guest::prelude::*;
use serde_json::json;

struct Guest;

impl Handler for Guest {
    fn handle(event: Event) -> Outcome {
        let visits = match kv::increment("visits", 1) {
            Ok(n) => n,
            Err(e) => return Outcome::Respond(json!({ "error": e }).to_string()),
        };
        if let Err(e) = kv::set("last", &event.event_id) {
            return Outcome::Respond(json!({ "error": e }).to_string());
        }
        let last = kv::get("last").ok().flatten();
        let _ = kv::set_with_ttl("tmp", "x", 60);
        let _ = kv::delete("tmp");
        let tmp = kv::get("tmp").ok().flatten();
        let keys = kv::list("", "", 0).unwrap_or_default();
        let bad = kv::increment("last", 1).err().unwrap_or_default();
        if event.event_type == "kv.retry" {
            return Outcome::Retry("asked to retry".into());
        }
        Outcome::Respond(
            json!({ "visits": visits, "last": last, "tmp": tmp, "keys": keys, "bad": bad })
                .to_string(),
        )
    }
}

aviary_guest::export_handler!(Guest);
