//! Finite but expensive: about 4 billion loop iterations (seconds of CPU), then `done`.
wit_bindgen::generate!({ world: "handler", path: "../../../wit" });

struct Component;

impl Guest for Component {
    fn handle(event: Event) -> Outcome {
        let mut x = event.attempt as u64;
        for i in 0..std::hint::black_box(4_000_000_000u64) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        Outcome::Reject(format!("burned everything: {x}"))
    }
}

export!(Component);
