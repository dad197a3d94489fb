//! `aviary check` and `aviary invoke` through their library entry points, with a fake loader.

mod dispatch_fakes;

use std::sync::Arc;

use aviary::app::loading::HandlerLoader;
use aviary::cli::check::check;
use aviary::cli::invoke::{exit_code, invoke, render, InvokeArgs};
use aviary::handler::{Failure, Invoke, Outcome};
use aviary::manifest::HandlerSettings;
use aviary_test_support::Dir;
use dispatch_fakes::{envelope, Fake, Journal, Script};
use serde_json::json;

const HEAD: &str = "[feishu]\napp_id = \"cli_1\"\napp_secret = \"s\"\n";

/// Loads "ok.wasm" as a fake that responds; refuses anything else like a sandbox would.
fn fake_loader() -> Result<Box<dyn HandlerLoader>, String> {
    Ok(Box::new(
        |h: &HandlerSettings| -> Result<Arc<dyn Invoke>, String> {
            if h.component.ends_with("ok.wasm") {
                let script = match h.config.get("outcome").map(String::as_str) {
                    Some("fail") => Script::Return(Err(Failure::OutOfFuel { limit: 10 })),
                    _ => Script::Return(Ok(Outcome::Respond("{\"a\":1}".into()))),
                };
                Ok(Fake::new(&h.name, &Journal::default(), 0, script) as Arc<dyn Invoke>)
            } else {
                Err(format!(
                    "{}: not a component (does not implement aviary:handler/handler)",
                    h.component.display()
                ))
            }
        },
    ))
}

fn no_sandbox() -> Result<Box<dyn HandlerLoader>, String> {
    Err("no sandbox".into())
}

#[test]
fn check_summarises_a_good_manifest() {
    let d = Dir::new("cli-good");
    d.write("ok.wasm", "");
    let m = d.write(
        "aviary.toml",
        &format!(
            "{HEAD}[[handler]]\nname = \"echo\"\ncomponent = \"ok.wasm\"\nevents = [\"im.*\"]\n"
        ),
    );
    let r = check(&m, &fake_loader);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.summary[0].starts_with("ok: "), "{r:?}");
    assert!(r
        .summary
        .iter()
        .any(|l| l.contains("handler echo") && l.contains("im.*")));
    let none = d.write("none.toml", HEAD);
    let r = check(&none, &no_sandbox);
    assert_eq!(r.code, 0, "no handlers need no sandbox: {r:?}");
}

#[test]
fn check_lists_every_problem() {
    let d = Dir::new("cli-bad");
    d.write("ok.wasm", "");
    d.write("bad.wasm", "");
    let m = d.write(
        "aviary.toml",
        &format!(
            "{HEAD}[[handler]]\nname = \"a\"\ncomponent = \"bad.wasm\"\nevents = [\"*\"]\n\
             [[handler]]\nname = \"b\"\ncomponent = \"bad.wasm\"\nevents = [\"*\"]\n"
        ),
    );
    let r = check(&m, &fake_loader);
    assert_eq!(r.code, 1);
    assert_eq!(r.errors.len(), 2, "{r:?}");
    assert!(
        r.errors[0].contains("aviary.toml:6:13: handler.component: handler `a`"),
        "{r:?}"
    );
    assert!(r.errors[1].contains(":10:13:") && r.errors[1].contains("not a component"));

    let m = d.write(
        "values.toml",
        &format!(
            "{HEAD}[[handler]]\nname = \"a\"\ncomponent = \"gone.wasm\"\nevents = [\"*\"]\ntimeout_ms = 0\n\
             [[handler]]\nname = \"a\"\ncomponent = \"ok.wasm\"\nevents = [\"x.*.y\"]\n"
        ),
    );
    let r = check(&m, &fake_loader);
    assert_eq!(r.code, 1);
    assert_eq!(r.errors.len(), 3, "{r:?}");
    let m = d.write("syntax.toml", &format!("{HEAD}[[handler]\n"));
    assert_eq!(check(&m, &fake_loader).code, 2);
    let m = d.write("unknown.toml", &format!("{HEAD}[[handler]]\nnme = \"a\"\n"));
    assert_eq!(check(&m, &fake_loader).code, 2);
}

/// A sandbox bound the manifest can see (`timeout_ms` above 300 s, `reuse` above 10,000) is
/// reported by `aviary check` at its key, not as a failure to load the component.
#[test]
fn check_reports_sandbox_bounds_at_their_key() {
    let d = Dir::new("cli-bounds");
    d.write("ok.wasm", "");
    let m = d.write(
        "aviary.toml",
        &format!(
            "{HEAD}[[handler]]\nname = \"a\"\ncomponent = \"ok.wasm\"\nevents = [\"*\"]\n\
             timeout_ms = 300001\nreuse = 10001\n"
        ),
    );
    let r = check(&m, &fake_loader);
    assert_eq!(r.code, 1, "{r:?}");
    assert_eq!(r.errors.len(), 2, "{r:?}");
    assert!(
        r.errors[0].contains("aviary.toml:8:14: handler.timeout_ms")
            && r.errors[0].contains("between 1 and 300000 (got 300001)"),
        "{r:?}"
    );
    assert!(
        r.errors[1].contains("aviary.toml:9:9: handler.reuse")
            && r.errors[1].contains("between 1 and 10000 (got 10001)"),
        "{r:?}"
    );
    assert!(
        r.errors.iter().all(|e| !e.contains("handler.component")),
        "{r:?}"
    );
}

fn invoke_args(d: &Dir, handler: &str, outcome: &str) -> InvokeArgs {
    d.write("ok.wasm", "");
    let m = d.write(
        "aviary.toml",
        &format!(
            "{HEAD}[[handler]]\nname = \"h\"\ncomponent = \"ok.wasm\"\nevents = [\"*\"]\nfuel = 1000\n\
             [handler.config]\noutcome = \"{outcome}\"\n"
        ),
    );
    let event = d.write(
        "event.json",
        &envelope("card.action.trigger", "ev-1", json!({})).to_string(),
    );
    InvokeArgs {
        manifest: m,
        handler: handler.into(),
        event,
    }
}

#[tokio::test]
async fn invoke_reports_outcome_and_limits() {
    let d = Dir::new("cli-invoke");
    let ran = invoke(&invoke_args(&d, "h", "respond"), &fake_loader)
        .await
        .unwrap();
    assert_eq!(exit_code(&ran.invocation), 0);
    let text = render(&ran);
    assert!(text.contains("outcome  respond {\"a\":1}"), "{text}");
    assert!(
        text.contains("card.action.trigger ev-1 (Callback, attempt 1)"),
        "{text}"
    );
    assert!(text.contains("of 128.0 MiB"), "{text}");
    assert!(text.contains("[info] h saw ev-1"), "{text}");

    let d = Dir::new("cli-invoke-fail");
    let ran = invoke(&invoke_args(&d, "h", "fail"), &fake_loader)
        .await
        .unwrap();
    assert_eq!(exit_code(&ran.invocation), 1);
    assert!(render(&ran).contains("FAILED (out_of_fuel)"));

    let d = Dir::new("cli-invoke-missing");
    let errors = invoke(&invoke_args(&d, "nope", "x"), &fake_loader)
        .await
        .unwrap_err();
    assert!(
        errors[0].contains("no handler named `nope` (handlers: h)"),
        "{errors:?}"
    );
}
