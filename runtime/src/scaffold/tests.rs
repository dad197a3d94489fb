use super::*;
use crate::manifest::Manifest;

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("aviary-scaffold-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn fake_sdk(root: &Path) -> PathBuf {
    let sdk = root.join("guest-sdk");
    for l in ["rust", "go", "js", "python"] {
        std::fs::create_dir_all(sdk.join(l)).unwrap();
    }
    sdk
}

#[test]
fn names_come_from_the_directory() {
    assert_eq!(name_from(Path::new("/x/My Bot")), "my-bot");
    assert_eq!(name_from(Path::new("echo_bot")), "echo_bot");
    assert_eq!(name_from(Path::new("/x/9lives")), "bot-9lives");
    assert_eq!(name_from(Path::new("/")), "bot");
    assert!(check_name("ok-name_1").is_ok());
    assert!(check_name("1x").unwrap_err().contains("`1x`"));
    assert!(check_name("a b").is_err());
}

#[test]
fn every_example_offers_known_templates_and_each_template_has_its_sample() {
    for e in templates::EXAMPLES {
        assert!(!e.templates.is_empty(), "{}", e.dir);
        for (t, _) in e.templates {
            let t = templates::template(t).unwrap_or_else(|| panic!("{}: {t}", e.dir));
            assert!(
                templates::SAMPLES.iter().any(|(f, _)| *f == t.sample),
                "{}",
                t.sample
            );
        }
    }
    for l in Lang::ALL {
        templates::example(l);
    }
}

#[test]
fn a_template_the_example_does_not_implement_is_refused_with_the_choices() {
    let go = templates::example(Lang::Go);
    let e = choose_template(go, Some("echo")).unwrap_err();
    assert!(
        e.contains("examples/go-audit")
            && e.contains("`echo`")
            && e.contains("templates for go: audit"),
        "{e}"
    );
    let e = choose_template(go, Some("chat")).unwrap_err();
    assert!(
        e.contains("unknown template `chat`") && e.contains("echo, card, audit"),
        "{e}"
    );
    assert_eq!(choose_template(go, None).unwrap().0.name, "audit");
}

#[test]
fn every_language_and_template_makes_a_manifest_that_parses_and_names_its_build() {
    let root = temp("all");
    let sdk = fake_sdk(&root);
    for e in templates::EXAMPLES {
        for (t, config) in e.templates {
            let dir = root.join(format!("{}-{t}", e.lang));
            let created = create(&NewProject {
                dir: dir.clone(),
                lang: e.lang,
                template: Some(t.to_string()),
                name: None,
                sdk: sdk.clone(),
            })
            .unwrap();
            assert_eq!(created.name, format!("{}-{t}", e.lang));
            assert_eq!(
                std::fs::read_to_string(dir.join(e.source.0)).unwrap(),
                e.source.1,
                "the handler is the example's code"
            );
            let m = Manifest::parse(
                &std::fs::read_to_string(dir.join("aviary.toml")).unwrap(),
                dir.join("aviary.toml"),
                &|_| Some("x".into()),
            )
            .unwrap_or_else(|err| panic!("{}: {err}", dir.display()));
            let h = &m.handlers[0];
            assert_eq!(h.name, created.name);
            let template = templates::template(t).unwrap();
            let events: Vec<String> = h.route.events.iter().map(|p| p.to_string()).collect();
            assert_eq!(events, template.events);
            assert_eq!(h.openapi.is_some(), !template.openapi.is_empty());
            for (k, v) in *config {
                assert_eq!(h.config.get(*k).map(String::as_str), Some(*v));
            }
            let b = h.build.as_ref().unwrap();
            assert_eq!(b.language().unwrap(), Some(e.lang), "{}", dir.display());
            assert!(dir.join("events").join(template.sample).is_file());
            let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
            assert_eq!(readme.lines().count(), 5, "{readme}");
            assert!(readme.contains(&format!(
                "invoke -m aviary.toml {} events/{}",
                h.name, template.sample
            )));
        }
    }
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn dependencies_point_at_the_sdk() {
    let root = temp("deps");
    let sdk = fake_sdk(&root);
    let new = |lang: Lang, dir: &str| {
        create(&NewProject {
            dir: root.join(dir),
            lang,
            template: None,
            name: Some("bot".into()),
            sdk: sdk.clone(),
        })
        .unwrap();
        root.join(dir)
    };
    let rust = new(Lang::Rust, "r");
    let cargo = std::fs::read_to_string(rust.join("Cargo.toml")).unwrap();
    assert!(cargo.contains(&format!(
        "aviary-guest = {{ path = \"{}\" }}",
        sdk.join("rust").display()
    )));
    assert!(
        cargo.contains("[workspace]") && cargo.contains("[profile.release]"),
        "{cargo}"
    );
    let go = new(Lang::Go, "g");
    let gomod = std::fs::read_to_string(go.join("go.mod")).unwrap();
    assert!(gomod.contains(&format!(
        "replace aviary.local/aviary => {}",
        sdk.join("go").display()
    )));
    let js = new(Lang::Js, "j");
    let pkg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(js.join("package.json")).unwrap()).unwrap();
    assert_eq!(
        pkg["dependencies"]["aviary-js"],
        format!("file:{}", sdk.join("js").display())
    );
    let py = new(Lang::Python, "p");
    let req = std::fs::read_to_string(py.join("requirements.txt")).unwrap();
    assert!(req.contains(&format!(
        "aviary-guest @ file://{}",
        sdk.join("python").display()
    )));
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_non_empty_directory_or_a_missing_sdk_is_refused() {
    let root = temp("refuse");
    std::fs::create_dir_all(root.join("busy")).unwrap();
    std::fs::write(root.join("busy/file"), "x").unwrap();
    let p = NewProject {
        dir: root.join("busy"),
        lang: Lang::Js,
        template: None,
        name: None,
        sdk: fake_sdk(&root),
    };
    assert!(create(&p).unwrap_err().contains("not empty"));
    assert_eq!(std::fs::read_dir(root.join("busy")).unwrap().count(), 1);
    let p = NewProject {
        dir: root.join("fresh"),
        sdk: root.join("nowhere"),
        ..p
    };
    let e = create(&p).unwrap_err();
    assert!(e.contains("AVIARY_SDK") && e.contains("nowhere"), "{e}");
    let _ = std::fs::remove_dir_all(&root);
}
