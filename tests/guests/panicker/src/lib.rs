//! Installs a panic hook that reports the message through `log` (as the guest SDK does), then
//! panics.
wit_bindgen::generate!({ world: "handler", path: "../../../wit" });

struct Component;

impl Guest for Component {
    fn handle(event: Event) -> Outcome {
        std::panic::set_hook(Box::new(|info| log(Level::Error, &info.to_string())));
        log(Level::Info, "about to panic");
        panic!("handler exploded on {}", event.event_id);
    }
}

export!(Component);
