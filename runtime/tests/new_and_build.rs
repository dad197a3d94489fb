//! `aviary new`, then `aviary build`, `aviary check` and `aviary invoke` on what it wrote, with
//! the real binary, for every language — no edits in between, except pointing the echo
//! template's `domain` at the emulator (its reply is a real OpenAPI call, and tests talk to
//! loopback only). The toolchains come from `scripts/setup-tests.sh`: Go (go_binary), the
//! JavaScript SDK's node_modules (the scaffold's `npm install` links it), and Python from a
//! `.venv` that `aviary build` makes from the scaffold's requirements.txt (pip installs
//! guest-sdk/python as a wheel, with its `aviary-py` command).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aviary_emulator::{Emulator, EmulatorConfig};
use aviary_test_support::go_guests::go_binary;
use aviary_test_support::Dir;

const AVIARY: &str = env!("CARGO_BIN_EXE_aviary");

fn aviary(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new(AVIARY)
        .args(args)
        .current_dir(dir)
        .env("AVIARY_GO", go_binary())
        .env("FEISHU_APP_SECRET", "emulator-secret")
        .env_remove("AVIARY_PY")
        .env_remove("AVIARY_SDK")
        .output()
        .unwrap();
    out
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = aviary(dir, args);
    assert!(out.status.success(), "aviary {args:?}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// `aviary new` + `aviary build` + `aviary check`; returns the project directory.
fn scaffold_and_build(root: &Path, lang: &str, template: Option<&str>) -> PathBuf {
    let name = format!("{lang}-{}", template.unwrap_or("default"));
    let mut args = vec!["new", name.as_str(), "--lang", lang];
    if let Some(t) = template {
        args.extend(["--template", t]);
    }
    let created = ok(root, &args);
    assert!(
        created.contains("aviary.toml") && created.contains("README.md"),
        "{created}"
    );
    let project = root.join(&name);
    let built = ok(&project, &["build", "-m", "aviary.toml"]);
    assert!(built.starts_with(&format!("built {name} (")), "{built}");
    assert!(
        built.contains(" in ") && built.contains("B"),
        "size and time: {built}"
    );
    let checked = ok(&project, &["check", "-m", "aviary.toml"]);
    assert!(
        checked.starts_with("ok: aviary.toml (app cli_0123456789abcdef, 1 handler)"),
        "{checked}"
    );
    project
}

/// The `aviary invoke` line of the README, run as written (with the secret set).
fn invoke_as_the_readme_says(project: &Path) -> String {
    let readme = std::fs::read_to_string(project.join("README.md")).unwrap();
    assert_eq!(readme.lines().count(), 5, "{readme}");
    let line = readme
        .lines()
        .find(|l| l.starts_with("Try:"))
        .expect("a Try line");
    let cmd = line.split('`').nth(1).unwrap();
    let args: Vec<&str> = cmd
        .strip_prefix("FEISHU_APP_SECRET=x aviary ")
        .unwrap_or_else(|| panic!("{cmd}"))
        .split_whitespace()
        .collect();
    let out = aviary(project, &args);
    assert!(out.status.success(), "{cmd}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn outcome(report: &str) -> &str {
    report
        .lines()
        .find_map(|l| l.strip_prefix("outcome  "))
        .unwrap_or_else(|| panic!("no outcome line: {report}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn rust_scaffolds_for_every_template_build_check_and_invoke() {
    let root = Dir::new("new-rust");
    let emu = Emulator::start(EmulatorConfig::fast()).await.unwrap();
    let echo = scaffold_and_build(root.path(), "rust", None);
    let manifest = echo.join("aviary.toml");
    let m = std::fs::read_to_string(&manifest).unwrap();
    assert!(
        m.contains("template echo"),
        "rust's default template is echo: {m}"
    );
    std::fs::write(
        &manifest,
        m.replace(
            "domain = \"feishu\"",
            &format!("domain = \"{}\"", emu.domain()),
        ),
    )
    .unwrap();
    let report = tokio::task::spawn_blocking(move || invoke_as_the_readme_says(&echo))
        .await
        .unwrap();
    assert_eq!(outcome(&report), "done", "{report}");
    let sent = emu.sent_messages();
    assert_eq!(sent.len(), 1, "one reply: {sent:?}");
    assert!(
        sent[0].content.contains("Got it: @_user_1 hello, Aviary"),
        "{sent:?}"
    );

    let card = scaffold_and_build(root.path(), "rust", Some("card"));
    let report = invoke_as_the_readme_says(&card);
    assert_eq!(
        outcome(&report),
        r#"respond {"toast":{"type":"success","content":"Approved, thank you"}}"#
    );
    let audit = scaffold_and_build(root.path(), "rust", Some("audit"));
    let report = invoke_as_the_readme_says(&audit);
    assert_eq!(outcome(&report), "done");
    assert!(
        report.contains("[info] user created: Zhang San"),
        "{report}"
    );
}

#[test]
fn go_scaffold_builds_checks_and_invokes() {
    let root = Dir::new("new-go");
    let project = scaffold_and_build(root.path(), "go", None);
    let report = invoke_as_the_readme_says(&project);
    assert_eq!(outcome(&report), "done");
    assert!(report.contains(r#""action":"user.created""#), "{report}");
}

#[test]
fn js_scaffold_builds_checks_and_invokes() {
    let root = Dir::new("new-js");
    let project = scaffold_and_build(root.path(), "js", None);
    assert!(
        project.join("node_modules/.bin/aviary-js").exists(),
        "aviary build ran npm install"
    );
    let report = invoke_as_the_readme_says(&project);
    assert_eq!(
        outcome(&report),
        r#"respond {"toast":{"type":"success","content":"Approved, thank you"}}"#
    );
}

#[test]
fn python_scaffold_builds_from_a_fresh_venv_checks_and_invokes() {
    let root = Dir::new("new-py");
    let project = scaffold_and_build(root.path(), "python", None);
    assert!(
        project.join(".venv/bin/aviary-py").exists(),
        "aviary build made a .venv from requirements.txt"
    );
    // The wheel pip built from guest-sdk/python carries the WIT and is typed.
    let site = std::fs::read_dir(project.join(".venv/lib"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
        .join("site-packages/aviary_guest");
    assert!(
        site.join("wit/handler.wit").is_file() && site.join("py.typed").is_file(),
        "{}",
        site.display()
    );
    assert!(
        !site.join("wit").is_symlink(),
        "installed as a copy, not linked to the checkout"
    );
    let report = invoke_as_the_readme_says(&project);
    assert_eq!(outcome(&report), "done");
    assert!(
        report.contains("[info] Hello, ou_84aad35d084aa403a838cf73ee18467!"),
        "{report}"
    );
}

#[test]
fn bad_requests_and_broken_builds_say_what_and_where() {
    let root = Dir::new("new-bad");
    let out = aviary(
        root.path(),
        &["new", "g", "--lang", "go", "--template", "card"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("templates for go: audit"),
        "{}",
        text(&out)
    );
    assert!(!root.path().join("g").exists(), "nothing written");

    ok(root.path(), &["new", "broken", "--lang", "js"]);
    let project = root.path().join("broken");
    std::fs::write(
        project.join("handler.js"),
        "export function handle(event) {\n  return (;\n}\n",
    )
    .unwrap();
    let out = aviary(&project, &["build", "-m", "aviary.toml"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("error: aviary.toml:")
            && err.contains("handler.build: handler `broken`")
            && err.contains("handler.js"),
        "{err}"
    );
    assert!(!project.join("handler.wasm").exists());

    let out = aviary(root.path(), &["new", "broken", "--lang", "rust"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("not empty"), "{}", text(&out));

    let out = aviary(&project, &["build", "-m", "aviary.toml", "nobody"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("no handler named `nobody` (handlers: broken)"),
        "{}",
        text(&out)
    );
}
