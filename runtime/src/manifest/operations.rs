//! `[admin]` and `[log]`: validated into the admin server's [`AdminSettings`] and the process's
//! [`LogFormat`] with their owners' checks.

use super::raw::{RawAdmin, RawLog};
use super::{Context, ManifestError};
use crate::admin::AdminSettings;
use crate::process::LogFormat;

impl Context<'_> {
    /// `[admin]`: `listen` (default on, loopback) and `token` (`${VAR}` expanded; required for
    /// a non-loopback address).
    pub(super) fn admin(&self, raw: RawAdmin) -> Result<AdminSettings, ManifestError> {
        let mut settings = AdminSettings::default();
        if let Some(listen) = &raw.listen {
            let text = self.expand(listen, "admin.listen")?;
            settings.listen = AdminSettings::parse_listen(&text)
                .or_else(|why| self.invalid(&listen.span(), "admin.listen", why))?;
            settings.explicit = true;
        }
        if let Some(token) = &raw.token {
            let text = self.expand(token, "admin.token")?;
            settings.token = Some(
                AdminSettings::check_token(&text)
                    .or_else(|why| self.invalid(&token.span(), "admin.token", why))?,
            );
        }
        if let Err(why) = settings.check() {
            let span = raw.listen.as_ref().map(|l| l.span()).unwrap_or_default();
            return self.invalid(&span, "admin.listen", why);
        }
        Ok(settings)
    }

    /// `[log]`: `format` (`text` or `json`), when given.
    pub(super) fn log(&self, raw: RawLog) -> Result<Option<LogFormat>, ManifestError> {
        match &raw.format {
            None => Ok(None),
            Some(v) => {
                let text = self.expand(v, "log.format")?;
                LogFormat::from_name(text.trim())
                    .map(Some)
                    .or_else(|why| self.invalid(&v.span(), "log.format", why))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::manifest::Manifest;

    const APP: &str = "[feishu]\napp_id = \"cli_x\"\napp_secret = \"s\"\n";

    fn parse(extra: &str, env: &[(&str, &str)]) -> Result<Manifest, Vec<String>> {
        let text = format!("{APP}{extra}");
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Manifest::parse(&text, "aviary.toml", &|name| {
            env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
        .map_err(|e| e.problems().iter().map(|p| p.to_string()).collect())
    }

    #[test]
    fn admin_defaults_choices_and_the_loopback_rule() {
        let m = parse("", &[]).unwrap();
        assert_eq!(m.admin.listen.unwrap().to_string(), "127.0.0.1:9464");
        assert!(!m.admin.explicit && m.admin.token.is_none());
        assert_eq!(m.log_format, None);

        let off = parse("[admin]\nlisten = \"\"\n", &[]).unwrap();
        assert_eq!(off.admin.listen, None);

        let open = parse("[admin]\nlisten = \"0.0.0.0:9464\"\n", &[]).unwrap_err();
        assert_eq!(open.len(), 1);
        assert!(
            open[0].starts_with("aviary.toml:5:10: admin.listen: 0.0.0.0:9464 is not a loopback address: set [admin] token"),
            "{open:?}"
        );

        let guarded = parse(
            "[admin]\nlisten = \"0.0.0.0:9464\"\ntoken = \"${T}\"\n",
            &[("T", "s3cret-token")],
        )
        .unwrap();
        assert_eq!(
            guarded.admin.token.as_ref().unwrap().expose(),
            "s3cret-token"
        );
        assert!(!format!("{guarded:?}").contains("s3cret-token"));

        let bad = parse("[admin]\nlisten = \"localhost:1\"\ntoken = \"\"\n", &[]).unwrap_err();
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert!(
            bad[0].contains("admin.listen: `localhost:1` is not IP:PORT"),
            "{bad:?}"
        );
        let empty = parse("[admin]\ntoken = \" \"\n", &[]).unwrap_err();
        assert!(
            empty[0].contains("admin.token: must not be empty"),
            "{empty:?}"
        );
        let unknown = parse("[admin]\nport = 1\n", &[]).unwrap_err();
        assert!(unknown[0].contains("admin.port"), "{unknown:?}");
    }

    #[test]
    fn log_format_is_text_or_json() {
        let m = parse("[log]\nformat = \"json\"\n", &[]).unwrap();
        assert_eq!(m.log_format, Some(crate::process::LogFormat::Json));
        let bad = parse("[log]\nformat = \"xml\"\n", &[]).unwrap_err();
        assert!(
            bad[0].contains("log.format: `xml` is neither \"text\" nor \"json\""),
            "{bad:?}"
        );
    }
}
