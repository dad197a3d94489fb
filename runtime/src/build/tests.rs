use std::path::Path;

use super::*;

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("aviary-build-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn languages_by_name() {
    assert_eq!(Lang::from_name("rust"), Ok(Lang::Rust));
    assert_eq!(Lang::from_name("ts"), Ok(Lang::Js));
    assert_eq!(Lang::from_name("py"), Ok(Lang::Python));
    let e = Lang::from_name("cobol").unwrap_err();
    assert!(
        e.contains("`cobol`") && e.contains("rust, go, js, python"),
        "{e}"
    );
    for l in Lang::ALL {
        assert_eq!(Lang::from_name(l.name()), Ok(l));
    }
}

#[test]
fn languages_inferred_from_the_source() {
    let dir = temp("infer");
    let rust = dir.join("r");
    std::fs::create_dir_all(&rust).unwrap();
    std::fs::write(rust.join("Cargo.toml"), "").unwrap();
    assert_eq!(Lang::infer(&rust), Ok(Lang::Rust));
    let go = dir.join("g");
    std::fs::create_dir_all(&go).unwrap();
    std::fs::write(go.join("main.go"), "package main").unwrap();
    assert_eq!(Lang::infer(&go), Ok(Lang::Go));
    for (file, lang) in [
        ("h.js", Lang::Js),
        ("h.ts", Lang::Js),
        ("app.py", Lang::Python),
    ] {
        std::fs::write(dir.join(file), "").unwrap();
        assert_eq!(Lang::infer(&dir.join(file)), Ok(lang), "{file}");
    }
    std::fs::write(dir.join("notes.txt"), "").unwrap();
    assert!(Lang::infer(&dir.join("notes.txt"))
        .unwrap_err()
        .contains("set `lang`"));
    assert!(Lang::infer(&dir.join("missing.js"))
        .unwrap_err()
        .contains("does not exist"));
    let empty = dir.join("e");
    std::fs::create_dir_all(&empty).unwrap();
    assert!(Lang::infer(&empty)
        .unwrap_err()
        .contains("without Cargo.toml"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_build_table_needs_a_source_or_a_command() {
    assert_eq!(BuildSettings::check(Some("src"), None, None), Ok(None));
    assert_eq!(
        BuildSettings::check(None, Some("go"), Some("make")),
        Ok(Some(Lang::Go))
    );
    assert_eq!(
        BuildSettings::check(None, None, None).unwrap_err().0,
        "source"
    );
    assert_eq!(
        BuildSettings::check(Some("a"), Some("cobol"), None)
            .unwrap_err()
            .0,
        "lang"
    );
    assert_eq!(
        BuildSettings::check(None, None, Some("  ")).unwrap_err().0,
        "command"
    );
}

#[test]
fn the_cdylib_of_the_package_is_found_among_cargo_messages() {
    let dir = temp("artifact");
    let manifest = dir.join("Cargo.toml");
    std::fs::write(&manifest, "").unwrap();
    let manifest = manifest.canonicalize().unwrap();
    let other = r#"{"reason":"compiler-artifact","manifest_path":"/elsewhere/Cargo.toml","target":{"kind":["lib"]},"filenames":["/t/libserde.rlib"]}"#;
    let ours = format!(
        r#"{{"reason":"compiler-artifact","manifest_path":"{}","target":{{"kind":["cdylib"]}},"filenames":["/t/wasm32-wasip2/release/echo.wasm"]}}"#,
        manifest.display()
    );
    let msgs = vec![other.to_string(), "not json".into(), ours];
    assert_eq!(
        rust::artifact(&msgs, &manifest),
        Some(PathBuf::from("/t/wasm32-wasip2/release/echo.wasm"))
    );
    assert_eq!(rust::artifact(&msgs[..2], &manifest), None);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_command_build_writes_the_component_and_its_failure_is_reported() {
    let dir = temp("command");
    let settings = BuildSettings {
        source: None,
        lang: None,
        command: Some("printf 'wasm' > \"$AVIARY_COMPONENT\"".into()),
        dir: dir.clone(),
        at: (1, 1),
    };
    let out = dir.join("out/h.wasm");
    let built = build(&settings, &out, &|_: &str| {}).unwrap();
    assert_eq!(built.bytes, 4);
    assert_eq!(std::fs::read(&out).unwrap(), b"wasm");

    let failing = BuildSettings {
        command: Some("echo broken-line >&2; exit 3".into()),
        ..settings.clone()
    };
    let e = build(&failing, &dir.join("x.wasm"), &|_: &str| {}).unwrap_err();
    assert!(
        e.contains("exit code 3") && e.contains("broken-line"),
        "{e}"
    );

    let silent = BuildSettings {
        command: Some("true".into()),
        ..settings
    };
    let e = build(&silent, &dir.join("never.wasm"), &|_: &str| {}).unwrap_err();
    assert!(e.contains("did not write"), "{e}");
    assert!(!Path::new(&dir.join("never.wasm")).exists());
    let _ = std::fs::remove_dir_all(&dir);
}
