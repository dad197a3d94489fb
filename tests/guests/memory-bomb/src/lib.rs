//! Allocates and touches 1 MiB blocks until something stops it.
wit_bindgen::generate!({ world: "handler", path: "../../../wit" });

struct Component;

impl Guest for Component {
    fn handle(_event: Event) -> Outcome {
        let mut blocks: Vec<Vec<u8>> = Vec::new();
        loop {
            blocks.push(vec![0xAB; 1 << 20]);
            std::hint::black_box(&blocks);
        }
    }
}

export!(Component);
