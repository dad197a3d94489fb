//! Built against `aviary:handler@1.0.0` (tests/guests/wit-v1), which the runtime must refuse.
wit_bindgen::generate!({ world: "handler", path: "../wit-v1" });

struct Component;

impl Guest for Component {
    fn handle(_event: Event) -> Outcome {
        Outcome::Done
    }
}

export!(Component);
