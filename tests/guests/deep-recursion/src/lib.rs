//! Recurses without bound (small frames, so the wasm stack overflows, not the shadow stack).
wit_bindgen::generate!({ world: "handler", path: "../../../wit" });

struct Component;

#[inline(never)]
fn descend(n: u64) -> u64 {
    if n == 0 {
        return 1;
    }
    let below = descend(std::hint::black_box(n - 1));
    below.wrapping_mul(31) ^ n
}

impl Guest for Component {
    fn handle(event: Event) -> Outcome {
        let depth = u64::MAX - event.attempt as u64;
        Outcome::Reject(format!("bottom reached: {}", descend(depth)))
    }
}

export!(Component);
