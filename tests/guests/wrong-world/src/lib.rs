//! Imports the right types interface but exports `greet` instead of `handle`: not the world.
wit_bindgen::generate!({
    world: "wrong",
    inline: "
        package aviary:handler@0.1.0;
        interface types {
            enum level { trace, debug, info, warn, error }
        }
        world wrong {
            use types.{level};
            import log: func(level: level, message: string);
            export greet: func() -> string;
        }
    ",
});

struct Component;

impl Guest for Component {
    fn greet() -> String {
        log(Level::Info, "hello");
        "hello".to_string()
    }
}

export!(Component);
