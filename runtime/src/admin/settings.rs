//! `[admin]`'s settings: where the admin server listens and the token its control endpoints
//! require. The manifest parser builds them with these checks; `aviary run --admin` overrides
//! the address.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use crate::limits::admin as lim;
use crate::secret::Secret;

/// Where the admin server listens and who may use its control endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(not(feature = "internals"), non_exhaustive)]
pub struct AdminSettings {
    /// The address; `None` turns the server off.
    pub listen: Option<SocketAddr>,
    /// The bearer token control endpoints require (always when set; a non-loopback `listen`
    /// must have one). Never printed.
    pub token: Option<Secret>,
    /// Whether `listen` was chosen (manifest or `--admin`) rather than defaulted: a default
    /// address that is taken only logs a warning, a chosen one stops the start.
    pub explicit: bool,
}

impl Default for AdminSettings {
    /// On, at `127.0.0.1:``lim::DEFAULT_PORT`, no token (loopback only).
    fn default() -> Self {
        AdminSettings {
            listen: Some(SocketAddr::new(
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                lim::DEFAULT_PORT,
            )),
            token: None,
            explicit: false,
        }
    }
}

impl AdminSettings {
    /// No admin server (the default of settings built in code).
    pub fn off() -> Self {
        AdminSettings {
            listen: None,
            token: None,
            explicit: true,
        }
    }

    /// Parses a `listen` value: `""` (off) or `IP:PORT` (`127.0.0.1:9464`, `[::1]:9464`,
    /// `0.0.0.0:9464`). Host names are refused: the address must say which interface.
    pub fn parse_listen(text: &str) -> Result<Option<SocketAddr>, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        text.parse::<SocketAddr>().map(Some).map_err(|_| {
            format!(
                "`{text}` is not IP:PORT (e.g. \"127.0.0.1:9464\", \"[::1]:9464\", \"0.0.0.0:9464\"), nor \"\" to turn the admin server off"
            )
        })
    }

    /// Checks a token value: not blank.
    pub fn check_token(token: &str) -> Result<Secret, String> {
        if token.trim().is_empty() {
            return Err("must not be empty (omit the key for no token)".into());
        }
        Ok(Secret::new(token))
    }

    /// Refuses a non-loopback address without a token: anyone who can reach it could
    /// otherwise reconnect or drain the bot.
    pub fn check(&self) -> Result<(), String> {
        match self.listen {
            Some(addr) if !addr.ip().is_loopback() && self.token.is_none() => Err(format!(
                "{addr} is not a loopback address: set [admin] token (e.g. token = \"${{AVIARY_ADMIN_TOKEN}}\") so that the control endpoints require it, or listen on 127.0.0.1"
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_values_and_the_loopback_rule() {
        assert_eq!(AdminSettings::parse_listen(""), Ok(None));
        assert_eq!(
            AdminSettings::parse_listen("127.0.0.1:9000").unwrap(),
            Some("127.0.0.1:9000".parse().unwrap())
        );
        assert!(AdminSettings::parse_listen("[::1]:9000").unwrap().is_some());
        let err = AdminSettings::parse_listen("localhost:9000").unwrap_err();
        assert!(err.contains("not IP:PORT"), "{err}");
        assert!(AdminSettings::check_token("  ").is_err());

        let open = AdminSettings {
            listen: AdminSettings::parse_listen("0.0.0.0:9464").unwrap(),
            token: None,
            explicit: true,
        };
        assert!(open.check().unwrap_err().contains("not a loopback address"));
        let guarded = AdminSettings {
            token: Some(Secret::new("t")),
            ..open
        };
        assert_eq!(guarded.check(), Ok(()));
        assert_eq!(AdminSettings::default().check(), Ok(()));
        assert_eq!(
            AdminSettings::default().listen.unwrap().to_string(),
            "127.0.0.1:9464"
        );
    }
}
