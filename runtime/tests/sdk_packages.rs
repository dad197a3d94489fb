//! The SDKs as packages, used the way a project elsewhere on disk uses them:
//! - JavaScript: `npm pack` of guest-sdk/js installed into a fresh project, whose TypeScript
//!   handler (examples/ts-card) type-checks against the packed declarations (`tsc --noEmit`)
//!   and builds with `npx aviary-js build`; the component runs under `aviary invoke`.
//! - Rust: `cargo package` of guest-sdk/rust (verified by cargo), and a handler project made by
//!   `aviary new` builds against the unpacked `.crate` (the WIT travels inside it).
//!
//! Python's wheel (`pip install` of guest-sdk/python, its `aviary-py`, `py.typed`) and Go's
//! `replace` are exercised by `new_and_build.rs`, whose scaffolds install them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aviary_test_support::{repo_root, target_dir, Dir};

const AVIARY: &str = env!("CARGO_BIN_EXE_aviary");

fn run(cmd: &mut Command, what: &str) -> String {
    let out: Output = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what} failed:\n{text}");
    text
}

fn invoke(manifest: &Path, handler: &str, event: &str) -> String {
    let sample = repo_root().join("examples/events").join(event);
    run(
        Command::new(AVIARY)
            .args(["invoke", "-m"])
            .arg(manifest)
            .arg(handler)
            .arg(sample)
            .env("FEISHU_APP_SECRET", "x"),
        "aviary invoke",
    )
}

const TOAST: &str =
    r#"outcome  respond {"toast":{"type":"success","content":"Approved, thank you"}}"#;

#[test]
fn js_package_installs_into_a_fresh_project_type_checks_and_builds_a_ts_handler() {
    let dir = Dir::new("sdk-js");
    let sdk = repo_root().join("guest-sdk/js");
    assert!(
        sdk.join("node_modules").is_dir(),
        "run `bash scripts/setup-tests.sh` (npm ci in guest-sdk/js)"
    );
    let packed = run(
        Command::new("npm")
            .args(["pack", "--pack-destination"])
            .arg(dir.path())
            .current_dir(&sdk),
        "npm pack",
    );
    assert!(
        packed.contains("wit/handler.wit") && packed.contains("index.d.ts"),
        "{packed}"
    );
    assert!(!sdk.join("wit").exists(), "postpack removes the copied WIT");
    let tarball = dir.path().join("aviary-js-0.1.0.tgz");
    assert!(tarball.is_file(), "{packed}");

    let project = dir.path().join("fresh");
    std::fs::create_dir_all(&project).unwrap();
    let ts_version = serde_json::from_str::<serde_json::Value>(
        &std::fs::read_to_string(sdk.join("package.json")).unwrap(),
    )
    .unwrap()["devDependencies"]["typescript"]
        .as_str()
        .unwrap()
        .to_string();
    let package = serde_json::json!({
        "name": "fresh", "private": true, "type": "module",
        "dependencies": { "aviary-js": format!("file:{}", tarball.display()) },
        "devDependencies": { "typescript": ts_version },
    });
    std::fs::write(project.join("package.json"), package.to_string()).unwrap();
    std::fs::copy(
        repo_root().join("examples/ts-card/handler.ts"),
        project.join("handler.ts"),
    )
    .unwrap();
    // No `paths`: the types come from node_modules/aviary-js, as in any project.
    std::fs::write(
        project.join("tsconfig.json"),
        r#"{"compilerOptions":{"target":"ES2022","module":"ESNext","moduleResolution":"Bundler","strict":true,"noEmit":true},"files":["handler.ts"]}"#,
    )
    .unwrap();
    run(
        Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefer-offline"])
            .current_dir(&project),
        "npm install of the packed SDK",
    );
    assert!(
        project
            .join("node_modules/aviary-js/wit/handler.wit")
            .is_file(),
        "the package carries its WIT"
    );
    assert!(
        !project.join("node_modules/aviary-js").is_symlink(),
        "installed from the tarball, not linked to the checkout"
    );
    run(
        Command::new("npx")
            .args(["--no-install", "tsc", "--noEmit", "-p", "."])
            .current_dir(&project),
        "tsc --noEmit against the packed declarations",
    );
    // A type error is caught: the check is real.
    let broken = std::fs::read_to_string(project.join("handler.ts"))
        .unwrap()
        .replace("valueStr('choice')", "valueStr(42)");
    std::fs::write(project.join("broken.ts"), broken).unwrap();
    let out = Command::new("npx")
        .args([
            "--no-install",
            "tsc",
            "--noEmit",
            "--strict",
            "--module",
            "ESNext",
        ])
        .args([
            "--moduleResolution",
            "Bundler",
            "--target",
            "ES2022",
            "broken.ts",
        ])
        .current_dir(&project)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("TS2345"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let built = run(
        Command::new("npx")
            .args([
                "--no-install",
                "aviary-js",
                "build",
                "handler.ts",
                "-o",
                "ts_card.wasm",
            ])
            .current_dir(&project),
        "npx aviary-js build",
    );
    assert!(built.contains("built ts_card.wasm"), "{built}");
    let manifest = project.join("aviary.toml");
    std::fs::write(
        &manifest,
        "[feishu]\napp_id = \"cli_1\"\napp_secret = \"${FEISHU_APP_SECRET}\"\n\n[[handler]]\nname = \"ts\"\ncomponent = \"ts_card.wasm\"\nevents = [\"*\"]\n",
    )
    .unwrap();
    let report = invoke(&manifest, "ts", "card.action.trigger.json");
    assert!(report.contains(TOAST), "{report}");
}

#[test]
fn rust_crate_packages_and_a_project_builds_against_the_package() {
    let dir = Dir::new("sdk-rust");
    let sdk = repo_root().join("guest-sdk/rust");
    let packaged = run(
        Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .args(["package", "--allow-dirty", "--manifest-path"])
            .arg(sdk.join("Cargo.toml"))
            .arg("--target-dir")
            .arg(target_dir()),
        "cargo package (with cargo's verification build)",
    );
    assert!(packaged.contains("Verifying aviary-guest"), "{packaged}");
    let krate: PathBuf = target_dir().join("package/aviary-guest-0.1.0.crate");
    let unpacked = dir.path().join("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    run(
        Command::new("tar")
            .arg("xzf")
            .arg(&krate)
            .arg("-C")
            .arg(&unpacked),
        "tar xzf",
    );
    let from_crate = unpacked.join("aviary-guest-0.1.0");
    assert!(
        from_crate.join("wit/handler.wit").is_file() && !from_crate.join("wit").is_symlink(),
        "the WIT is inside the .crate"
    );
    // `aviary new --sdk` wants a guest-sdk layout: rust/ is the unpacked crate.
    let fake_sdk = dir.path().join("guest-sdk");
    std::fs::create_dir_all(&fake_sdk).unwrap();
    std::fs::rename(&from_crate, fake_sdk.join("rust")).unwrap();
    run(
        Command::new(AVIARY)
            .args([
                "new",
                "from-crate",
                "--lang",
                "rust",
                "--template",
                "card",
                "--sdk",
            ])
            .arg(&fake_sdk)
            .current_dir(dir.path()),
        "aviary new",
    );
    let project = dir.path().join("from-crate");
    let cargo_toml = std::fs::read_to_string(project.join("Cargo.toml")).unwrap();
    assert!(cargo_toml.contains(&fake_sdk.join("rust").display().to_string()));
    run(
        Command::new(AVIARY)
            .args(["build", "-m", "aviary.toml"])
            .current_dir(&project),
        "aviary build against the packaged crate",
    );
    let report = invoke(
        &project.join("aviary.toml"),
        "from-crate",
        "card.action.trigger.json",
    );
    assert!(report.contains(TOAST), "{report}");
}
