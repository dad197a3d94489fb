//! `aviary new <dir> --lang rust|go|js|python [--template echo|card|audit]`: writes a handler
//! project — the language's example handler ([`templates`]), its build file (pointing at the
//! SDK by path: the SDKs are not published), a manifest whose `component` is the build's
//! output and whose `[handler.build]` names the source, sample events, a five-line README and a
//! `.gitignore`. Right after it, `aviary build` and `aviary check` pass and `aviary invoke` runs
//! the template's sample.

pub mod templates;

use std::path::{Path, PathBuf};

use crate::build::Lang;
use templates::{Example, Template};

/// What to create.
#[derive(Debug, Clone)]
pub struct NewProject {
    /// The project directory (must not exist, or be empty).
    pub dir: PathBuf,
    /// The handler's language.
    pub lang: Lang,
    /// The template; `None`: the language's first.
    pub template: Option<String>,
    /// The handler's name; `None`: from the directory's name.
    pub name: Option<String>,
    /// The `guest-sdk` directory the project depends on.
    pub sdk: PathBuf,
}

/// What was created.
#[derive(Debug, Clone)]
pub struct Created {
    /// The project directory.
    pub dir: PathBuf,
    /// The handler's name in the manifest.
    pub name: String,
    /// The template used.
    pub template: &'static Template,
    /// The files written, relative to `dir`.
    pub files: Vec<String>,
}

/// A handler name from a directory name: letters, digits, `-` and `_` kept, the rest `-`;
/// never starting with a digit (it is a cargo package name too).
pub fn name_from(dir: &Path) -> String {
    let raw = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let mut name: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    name = name.trim_matches('-').to_string();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name = format!("bot-{name}").trim_end_matches('-').to_string();
    }
    name
}

/// Checks a handler name given with `--name`.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || name.starts_with(|c: char| c.is_ascii_digit() || c == '-')
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "`{name}` cannot be a handler name: use letters, digits, `-` and `_`, starting with a letter"
        ));
    }
    Ok(())
}

/// Picks the template: the one named (which the language's example must implement) or the
/// example's first.
pub fn choose_template(
    example: &Example,
    name: Option<&str>,
) -> Result<(&'static Template, templates::Config), String> {
    let offered = || {
        example
            .templates
            .iter()
            .map(|(t, _)| *t)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let wanted = name.unwrap_or(example.templates[0].0);
    let Some(template) = templates::template(wanted) else {
        let all: Vec<&str> = templates::TEMPLATES.iter().map(|t| t.name).collect();
        return Err(format!(
            "unknown template `{wanted}` (templates: {})",
            all.join(", ")
        ));
    };
    match example.templates.iter().find(|(t, _)| *t == wanted) {
        Some((_, config)) => Ok((template, config)),
        None => Err(format!(
            "the {} example ({}) does not implement the `{wanted}` template ({}); templates for {}: {}",
            example.lang,
            example.dir,
            template.about,
            example.lang,
            offered()
        )),
    }
}

/// Creates the project.
pub fn create(p: &NewProject) -> Result<Created, String> {
    let example = templates::example(p.lang);
    let (template, config) = choose_template(example, p.template.as_deref())?;
    let name = match &p.name {
        Some(n) => {
            check_name(n)?;
            n.clone()
        }
        None => name_from(&p.dir),
    };
    if p.dir.exists() {
        let empty = std::fs::read_dir(&p.dir)
            .map_err(|e| format!("{}: {e}", p.dir.display()))?
            .next()
            .is_none();
        if !empty {
            return Err(format!(
                "{} already exists and is not empty; choose a new directory",
                p.dir.display()
            ));
        }
    }
    let sdk_dir = |sub: &str| {
        let d = p.sdk.join(sub);
        if d.is_dir() {
            Ok(d)
        } else {
            Err(format!(
                "{} is not a directory: is {} an Aviary guest-sdk? ({})",
                d.display(),
                p.sdk.display(),
                crate::build::sdk::HOW_TO_POINT_AT_IT
            ))
        }
    };
    let mut files: Vec<(String, String)> = Vec::new();
    let (source, component) = match p.lang {
        Lang::Rust => {
            let sdk = sdk_dir("rust")?;
            files.push(("Cargo.toml".into(), cargo_toml(&name, &sdk)));
            files.push(("Cargo.lock".into(), cargo_lock(&name)));
            let krate = name.replace('-', "_");
            (
                ".".to_string(),
                format!("target/wasm32-wasip2/release/{krate}.wasm"),
            )
        }
        Lang::Go => {
            let sdk = sdk_dir("go")?;
            files.push(("go.mod".into(), go_mod(&name, &sdk)));
            (".".to_string(), "handler.wasm".to_string())
        }
        Lang::Js => {
            let sdk = sdk_dir("js")?;
            files.push(("package.json".into(), package_json(&name, &sdk)));
            (example.source.0.to_string(), "handler.wasm".to_string())
        }
        Lang::Python => {
            let sdk = sdk_dir("python")?;
            files.push((
                "requirements.txt".into(),
                format!(
                    "# The Python SDK and its builder (aviary-py, componentize-py); `aviary build` makes a\n\
                     # .venv from this file when it finds no aviary-py.\naviary-guest @ file://{}\n",
                    sdk.display()
                ),
            ));
            (example.source.0.to_string(), "handler.wasm".to_string())
        }
    };
    files.push((example.source.0.into(), example.source.1.into()));
    files.push((
        "aviary.toml".into(),
        manifest(&name, p.lang, template, config, &source, &component),
    ));
    for (file, text) in templates::SAMPLES {
        files.push((format!("events/{file}"), (*text).into()));
    }
    files.push(("README.md".into(), readme(&name, p.lang, template)));
    files.push((
        ".gitignore".into(),
        "target/\nnode_modules/\n.venv/\n*.wasm\n.aviary/\n.aviary-dev.toml\n".into(),
    ));
    for (file, text) in &files {
        let path = p.dir.join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(Created {
        dir: p.dir.clone(),
        name,
        template,
        files: files.into_iter().map(|(f, _)| f).collect(),
    })
}

/// The example workspace's release profile (examples/Cargo.toml), so scaffolds build like the
/// example.
fn release_profile() -> &'static str {
    let all = include_str!("../../../examples/Cargo.toml");
    all.find("[profile.release]").map_or("", |i| &all[i..])
}

fn cargo_toml(name: &str, sdk: &Path) -> String {
    format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n\
         [lib]\ncrate-type = [\"cdylib\"]\n\n\
         [dependencies]\n# The Rust SDK is not published: a path dependency on the checkout's copy.\n\
         aviary-guest = {{ path = \"{}\" }}\nserde_json = \"1\"\n\n\
         # Its own workspace: a handler targets wasm32-wasip2, apart from any host workspace.\n\
         [workspace]\n\n{}",
        sdk.display(),
        release_profile()
    )
}

/// The example workspace's lock file with the package renamed: the scaffold builds with the
/// dependency versions CI tested, without resolving them again.
fn cargo_lock(name: &str) -> String {
    include_str!("../../../examples/Cargo.lock")
        .replace("name = \"rust-handler\"", &format!("name = \"{name}\""))
}

fn go_mod(name: &str, sdk: &Path) -> String {
    format!(
        "module {name}\n\ngo 1.24\n\nrequire aviary.local/aviary v0.0.0\n\n\
         // The Go SDK is not published: use the checkout's copy.\n\
         replace aviary.local/aviary => {}\n",
        sdk.display()
    )
}

fn package_json(name: &str, sdk: &Path) -> String {
    let v = serde_json::json!({
        "name": name,
        "version": "0.1.0",
        "private": true,
        "type": "module",
        "scripts": { "build": "aviary-js build handler.js -o handler.wasm" },
        "dependencies": { "aviary-js": format!("file:{}", sdk.display()) },
    });
    serde_json::to_string_pretty(&v).expect("json") + "\n"
}

fn toml_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("{i:?}")).collect();
    format!("[{}]", quoted.join(", "))
}

fn manifest(
    name: &str,
    lang: Lang,
    t: &Template,
    config: &[(&str, &str)],
    source: &str,
    component: &str,
) -> String {
    let mut m = format!(
        "# Made by `aviary new --lang {lang} --template {}`. Every key: docs/manifest.md.\n\
         [feishu]\n\
         app_id = \"cli_0123456789abcdef\"      # your app's id\n\
         app_secret = \"${{FEISHU_APP_SECRET}}\"\n\
         domain = \"feishu\"                      # or \"lark\", or the emulator's URL\n\n\
         [[handler]]\n\
         name = \"{name}\"\n\
         component = \"{component}\"   # what `aviary build` writes\n\
         events = {}                   # template {}: {}\n\
         timeout_ms = 2000\n\
         memory_mb = 64\n",
        t.name,
        toml_list(t.events),
        t.name,
        t.about,
    );
    if !t.openapi.is_empty() {
        m.push_str(&format!(
            "openapi = {}   # the OpenAPI paths it may call\n",
            toml_list(t.openapi)
        ));
    }
    if !config.is_empty() {
        m.push_str("\n[handler.config]\n");
        for (k, v) in config {
            m.push_str(&format!("{k} = {v:?}\n"));
        }
    }
    m.push_str(&format!("\n[handler.build]\nsource = {source:?}\n"));
    m
}

fn readme(name: &str, lang: Lang, t: &Template) -> String {
    let language = match lang {
        Lang::Rust => "Rust",
        Lang::Go => "Go",
        Lang::Js => "JavaScript",
        Lang::Python => "Python",
    };
    format!(
        "# {name}: an Aviary handler in {language} that {}\n\
         Build: `aviary build -m aviary.toml` (writes the component the manifest names)\n\
         Check: `FEISHU_APP_SECRET=x aviary check -m aviary.toml` (any value: it does not connect)\n\
         Try:   `FEISHU_APP_SECRET=x aviary invoke -m aviary.toml {name} events/{}`\n\
         Run:   set `app_id` in aviary.toml, then `FEISHU_APP_SECRET=<secret> aviary run -m aviary.toml`\n",
        t.about, t.sample
    )
}

#[cfg(test)]
mod tests;
