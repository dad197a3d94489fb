//! Floods every output: 100,000 `log` calls and 10,000 lines on stdout and stderr, 1 KiB each,
//! then `done`.
wit_bindgen::generate!({ world: "handler", path: "../../../wit" });

struct Component;

impl Guest for Component {
    fn handle(_event: Event) -> Outcome {
        let line = "x".repeat(1024);
        for _ in 0..100_000 {
            log(Level::Info, &line);
        }
        for _ in 0..10_000 {
            println!("{line}");
            eprintln!("{line}");
        }
        Outcome::Done
    }
}

export!(Component);
