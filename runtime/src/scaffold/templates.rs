//! What `aviary new` can write: the templates (what the handler is wired to: events, grants,
//! settings, the sample to try) and, per language, the example handler that implements them.
//!
//! The handler code **is** the example's (`include_str!` of `examples/…`), so a scaffold starts
//! from the code the demo runs and CI tests, never from a copy that drifts. A language offers
//! the templates its example implements; adding one to an example adds a row here.

use crate::build::Lang;

/// A template: how the handler is wired in the manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Template {
    /// `echo`, `card` or `audit`.
    pub name: &'static str,
    /// What it does, for `aviary new --help` and errors.
    pub about: &'static str,
    /// `events` of the handler.
    pub events: &'static [&'static str],
    /// `openapi` grants.
    pub openapi: &'static [&'static str],
    /// The sample event the README tries with `aviary invoke`.
    pub sample: &'static str,
}

/// Every template.
pub const TEMPLATES: &[Template] = &[
    Template {
        name: "echo",
        about: "answers messages (im.message.receive_v1)",
        events: &["im.message.receive_v1"],
        openapi: &["/open-apis/im/v1/messages"],
        sample: "im.message.receive_v1.json",
    },
    Template {
        name: "card",
        about: "answers card button clicks with a toast (card.action.trigger)",
        events: &["card.action.trigger"],
        openapi: &[],
        sample: "card.action.trigger.json",
    },
    Template {
        name: "audit",
        about: "records contact and approval events (contact.user.*, approval.*)",
        events: &["contact.user.*", "approval.*"],
        openapi: &[],
        sample: "contact.user.created_v3.json",
    },
];

/// The template called `name`.
pub fn template(name: &str) -> Option<&'static Template> {
    TEMPLATES.iter().find(|t| t.name == name)
}

/// `[handler.config]` settings: (key, value).
pub type Config = &'static [(&'static str, &'static str)];

/// One language's example, as a scaffold uses it.
#[derive(Debug, Clone, Copy)]
pub struct Example {
    /// Its language.
    pub lang: Lang,
    /// Where it lives in the repository.
    pub dir: &'static str,
    /// Its handler source: the file name in a scaffold and the text.
    pub source: (&'static str, &'static str),
    /// The templates it implements (the first is the default), each with the
    /// `[handler.config]` settings it reads for it.
    pub templates: &'static [(&'static str, Config)],
}

/// The examples, by language.
pub const EXAMPLES: &[Example] = &[
    Example {
        lang: Lang::Rust,
        dir: "examples/rust-handler",
        source: (
            "src/lib.rs",
            include_str!("../../../examples/rust-handler/src/lib.rs"),
        ),
        templates: &[
            ("echo", &[("reply", "Got it")]),
            ("card", &[("approve_toast", "Approved, thank you")]),
            ("audit", &[]),
        ],
    },
    Example {
        lang: Lang::Go,
        dir: "examples/go-audit",
        source: (
            "main.go",
            include_str!("../../../examples/go-audit/main.go"),
        ),
        templates: &[("audit", &[("audit_tag", "audit")])],
    },
    Example {
        lang: Lang::Js,
        dir: "examples/js-card",
        source: (
            "handler.js",
            include_str!("../../../examples/js-card/handler.js"),
        ),
        templates: &[("card", &[("approve_toast", "Approved, thank you")])],
    },
    Example {
        lang: Lang::Python,
        dir: "examples/py-greeter",
        source: (
            "app.py",
            include_str!("../../../examples/py-greeter/app.py"),
        ),
        templates: &[
            ("echo", &[("greeting", "Hello")]),
            ("card", &[("greeting", "Hello")]),
        ],
    },
];

/// The example of `lang`.
pub fn example(lang: Lang) -> &'static Example {
    EXAMPLES
        .iter()
        .find(|e| e.lang == lang)
        .expect("every language has an example")
}

/// Sample envelopes copied into every scaffold's `events/` (the templates' samples and the ones
/// the examples' own tests read).
pub const SAMPLES: &[(&str, &str)] = &[
    (
        "im.message.receive_v1.json",
        include_str!("../../../examples/events/im.message.receive_v1.json"),
    ),
    (
        "card.action.trigger.json",
        include_str!("../../../examples/events/card.action.trigger.json"),
    ),
    (
        "contact.user.created_v3.json",
        include_str!("../../../examples/events/contact.user.created_v3.json"),
    ),
    (
        "approval.approval.approved_v1.json",
        include_str!("../../../examples/events/approval.approval.approved_v1.json"),
    ),
    (
        "im.chat.member.user_added_v1.json",
        include_str!("../../../examples/events/im.chat.member.user_added_v1.json"),
    ),
    (
        "legacy-v1.message.json",
        include_str!("../../../examples/events/legacy-v1.message.json"),
    ),
];
