//! Never returns: a loop with no calls, so only epoch interruption can stop it.
wit_bindgen::generate!({ world: "handler", path: "../../../wit" });

struct Component;

impl Guest for Component {
    fn handle(event: Event) -> Outcome {
        let mut x = event.attempt as u64;
        loop {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
}

export!(Component);
