//! `aviary new <dir> --lang rust|go|js|python [--template echo|card|audit]`: writes a handler
//! project ([`crate::scaffold`]) and says what to do next.
//!
//! Exit codes: 0 created; 2 the arguments cannot be used (unknown template, a template the
//! language's example does not implement, a non-empty directory, no SDK found).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::build::{sdk, Lang};
use crate::scaffold::{self, templates, NewProject};

/// Languages of `aviary new --lang`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LangArg {
    /// Rust (guest-sdk/rust), built with cargo.
    Rust,
    /// Go (guest-sdk/go), built with `aviary guest build`.
    Go,
    /// JavaScript (guest-sdk/js), built with aviary-js.
    Js,
    /// Python (guest-sdk/python), built with aviary-py.
    Python,
}

impl From<LangArg> for Lang {
    fn from(l: LangArg) -> Lang {
        match l {
            LangArg::Rust => Lang::Rust,
            LangArg::Go => Lang::Go,
            LangArg::Js => Lang::Js,
            LangArg::Python => Lang::Python,
        }
    }
}

/// Flags of `aviary new`.
#[derive(Debug, clap::Args)]
#[command(after_help = TEMPLATES_HELP)]
pub struct NewArgs {
    /// The project directory to create (must not exist, or be empty).
    pub dir: PathBuf,
    /// The handler's language.
    #[arg(long, value_enum)]
    pub lang: LangArg,
    /// echo, card or audit (default: the first the language's example implements).
    #[arg(long)]
    pub template: Option<String>,
    /// The handler's name in the manifest (default: from the directory's name).
    #[arg(long)]
    pub name: Option<String>,
    /// The guest-sdk directory to depend on (default: $AVIARY_SDK, else the checkout this
    /// binary was built from).
    #[arg(long)]
    pub sdk: Option<PathBuf>,
}

const TEMPLATES_HELP: &str = "Templates: echo (answers messages; rust, python), card (answers \
card clicks with a toast; rust, js, python), audit (records contact and approval events; rust, \
go). The handler is the language's example under examples/.";

/// Runs `aviary new`.
pub fn run(args: NewArgs) -> ExitCode {
    let Some(sdk) = args.sdk.clone().or_else(sdk::root) else {
        eprintln!(
            "error: no guest SDK found: pass --sdk <dir> or {}",
            sdk::HOW_TO_POINT_AT_IT
        );
        return ExitCode::from(2);
    };
    let sdk = sdk.canonicalize().unwrap_or(sdk);
    let lang: Lang = args.lang.into();
    let project = NewProject {
        dir: args.dir.clone(),
        lang,
        template: args.template.clone(),
        name: args.name.clone(),
        sdk,
    };
    match scaffold::create(&project) {
        Ok(c) => {
            let example = templates::example(lang);
            println!(
                "created {} ({lang}, template {}: {}; the handler is {})",
                c.dir.display(),
                c.template.name,
                c.template.about,
                example.dir
            );
            for f in &c.files {
                println!("  {f}");
            }
            let d = c.dir.display();
            println!("next:\n  cd {d}\n  aviary build -m aviary.toml");
            println!(
                "  FEISHU_APP_SECRET=x aviary invoke -m aviary.toml {} events/{}",
                c.name, c.template.sample
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
