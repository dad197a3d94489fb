//! `[handler.build]`: validated into [`crate::build::BuildSettings`] (which the build module
//! owns and checks).

use std::path::Path;

use toml::Spanned;

use super::raw::RawBuild;
use super::{Context, ManifestError};
use crate::build::BuildSettings;

impl Context<'_> {
    /// Checks `[handler.build]` of handler `who`; paths resolve against `base`.
    pub(super) fn build_settings(
        &self,
        table: &Spanned<RawBuild>,
        base: &Path,
        who: &str,
    ) -> Result<BuildSettings, ManifestError> {
        let raw = table.get_ref();
        let source = raw
            .source
            .as_ref()
            .map(|s| self.expand(s, "handler.build.source"))
            .transpose()?;
        let command = raw
            .command
            .as_ref()
            .map(|c| self.expand(c, "handler.build.command"))
            .transpose()?;
        let lang = raw.lang.as_ref().map(|l| l.get_ref().as_str());
        let lang = BuildSettings::check(source.as_deref(), lang, command.as_deref()).map_err(
            |(key, why)| {
                let span = match key {
                    "lang" => raw.lang.as_ref().map(|v| v.span()),
                    "command" => raw.command.as_ref().map(|v| v.span()),
                    _ => raw.source.as_ref().map(|v| v.span()),
                }
                .unwrap_or_else(|| table.span());
                self.invalid::<()>(
                    &span,
                    &format!("handler.build.{key}"),
                    format!("{who}: {why}"),
                )
                .unwrap_err()
            },
        )?;
        let at = self.source.span_start(
            &raw.source
                .as_ref()
                .or(raw.command.as_ref())
                .map(|v| v.span())
                .unwrap_or_else(|| table.span()),
        );
        Ok(BuildSettings {
            source: source.map(|s| base.join(s.trim())),
            lang,
            command,
            dir: base.to_path_buf(),
            at,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::super::Manifest;
    use crate::build::Lang;

    const HEAD: &str = "[feishu]\napp_id = \"cli_1\"\napp_secret = \"s\"\n\n[[handler]]\nname = \"echo\"\ncomponent = \"out/echo.wasm\"\nevents = [\"*\"]\n";

    fn parse(build: &str) -> Result<Manifest, String> {
        Manifest::parse(&format!("{HEAD}{build}"), "bots/aviary.toml", &|_| None)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn build_table_resolves_against_the_manifest() {
        let m = parse("[handler.build]\nsource = \"echo\"\n").unwrap();
        let b = m.handlers[0].build.as_ref().unwrap();
        assert_eq!(b.source, Some(PathBuf::from("bots/echo")));
        assert_eq!((b.lang, b.command.as_deref()), (None, None));
        assert_eq!(b.dir, PathBuf::from("bots"));
        assert_eq!(b.at, (10, 10));
        let m = parse("[handler.build]\ncommand = \"make\"\nlang = \"ts\"\n").unwrap();
        let b = m.handlers[0].build.as_ref().unwrap();
        assert_eq!(
            (b.lang, b.command.as_deref()),
            (Some(Lang::Js), Some("make"))
        );
        assert!(parse("").unwrap().handlers[0].build.is_none());
    }

    #[test]
    fn bad_build_tables_name_the_line_and_key() {
        let e = parse("[handler.build]\nsource = \"echo\"\nlang = \"cobol\"\n").unwrap_err();
        assert!(
            e.starts_with("bots/aviary.toml:11:8: handler.build.lang: handler `echo`: unknown language `cobol`"),
            "{e}"
        );
        let e = parse("[handler.build]\n").unwrap_err();
        assert!(
            e.contains(":9:") && e.contains("handler.build.source") && e.contains("or a `command`"),
            "{e}"
        );
        let e = parse("[handler.build]\ncommand = \"\"\n").unwrap_err();
        assert!(
            e.contains(":10:")
                && e.contains("handler.build.command: handler `echo`: must not be empty"),
            "{e}"
        );
        let e = parse("[handler.build]\nsrc = \"x\"\n").unwrap_err();
        assert!(
            e.contains("unknown key `handler.build.src`") && e.contains("command"),
            "{e}"
        );
    }
}
