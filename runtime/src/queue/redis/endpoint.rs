//! Where the Redis backend is: the URL (its password never shown) and, for `rediss://`, the
//! TLS trust (rustls; Mozilla's roots, or only the CA of [`RedisUrl::with_tls_ca`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::limits::queue as lim;

/// Where the Redis backend is: a `redis://` or `rediss://` (TLS) URL whose password is never
/// shown (`Display` and `Debug` redact it), and for `rediss://` the PEM file of the CA that
/// signed the server's certificate (`[queue] tls_ca`), if not one of Mozilla's roots.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl {
    url: String,
    tls_ca: Option<PathBuf>,
}

/// Why a Redis URL (or its `tls_ca`) cannot be used; the message does not name the URL (the
/// [`crate::queue::StoreError`] around it does).
#[derive(Debug, Clone, thiserror::Error)]
pub enum ConfigError {
    /// The client refuses the URL.
    #[error("bad URL: {0}")]
    BadUrl(#[source] redis::RedisError),
    /// The `tls_ca` file is unusable.
    #[error(transparent)]
    TlsCa(#[from] TlsCaError),
    /// The client refuses the certificates of the `tls_ca` file.
    #[error("cannot use tls_ca `{}`: {source}", path.display())]
    UseTlsCa {
        /// The file.
        path: PathBuf,
        /// The client's error.
        #[source]
        source: redis::RedisError,
    },
}

/// Why a `tls_ca` file is unusable.
#[derive(Debug, Clone, thiserror::Error)]
#[cfg_attr(not(feature = "internals"), non_exhaustive)]
pub enum TlsCaError {
    /// It cannot be read.
    #[error("cannot read tls_ca `{}`: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// It is larger than any CA bundle.
    #[error(
        "tls_ca `{}` is {len} bytes, more than the {max} a CA bundle needs",
        path.display()
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        len: u64,
        /// `lim::REDIS_TLS_CA_MAX_BYTES`.
        max: u64,
    },
    /// It holds no PEM certificate.
    #[error(
        "tls_ca `{}` holds no PEM certificate (`-----BEGIN CERTIFICATE-----`)",
        path.display()
    )]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
}

impl RedisUrl {
    /// Wraps a URL (not validated here; opening the queue reports a bad one).
    pub fn new(url: impl Into<String>) -> RedisUrl {
        RedisUrl {
            url: url.into(),
            tls_ca: None,
        }
    }

    /// For a `rediss://` URL: trust only the CA certificate(s) in this PEM file (instead of the
    /// built-in Mozilla roots), e.g. for a self-signed deployment. Read when connecting.
    pub fn with_tls_ca(mut self, pem_file: impl Into<PathBuf>) -> RedisUrl {
        self.tls_ca = Some(pem_file.into());
        self
    }

    /// The CA file set by [`RedisUrl::with_tls_ca`].
    pub fn tls_ca(&self) -> Option<&Path> {
        self.tls_ca.as_deref()
    }

    /// Whether the URL asks for TLS (`rediss://`).
    pub fn is_tls(&self) -> bool {
        self.url.trim_start().starts_with("rediss://")
    }

    /// The URL with its password, for connecting only.
    pub fn expose(&self) -> &str {
        &self.url
    }

    /// The URL with the password replaced by `***` (what logs and errors show).
    pub fn redacted(&self) -> String {
        match url::Url::parse(&self.url) {
            Ok(mut u) => {
                if u.password().is_some() {
                    let _ = u.set_password(Some("***"));
                }
                u.to_string()
            }
            Err(_) => "<unparsable redis URL>".into(),
        }
    }

    /// A client for this URL: for `rediss://` with [`RedisUrl::tls_ca`], one that trusts that
    /// CA only.
    pub(super) fn client(&self) -> Result<redis::Client, ConfigError> {
        let Some(ca) = &self.tls_ca else {
            return redis::Client::open(self.expose()).map_err(ConfigError::BadUrl);
        };
        let pem = read_tls_ca(ca)?;
        redis::Client::build_with_tls(
            self.expose(),
            redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(pem),
            },
        )
        .map_err(|source| ConfigError::UseTlsCa {
            path: ca.clone(),
            source,
        })
    }
}

/// For a `rediss://` connection whose TLS handshake failed on the server's certificate: what
/// was trusted, and what to do about it (appended to the error; empty otherwise).
pub(super) fn tls_hint(url: &RedisUrl, error: &str) -> String {
    if !url.is_tls() || !error.to_ascii_lowercase().contains("certificate") {
        return String::new();
    }
    match url.tls_ca() {
        Some(ca) => format!(
            " (TLS: the server's certificate is not signed by the CA in tls_ca `{}`, or does \
             not name the URL's host)",
            ca.display()
        ),
        None => " (TLS: the server's certificate is not signed by a public CA (Mozilla's \
                 roots), or does not name the URL's host; for a private CA set `[queue] tls_ca`)"
            .into(),
    }
}

/// Reads a CA file for `tls_ca`: bounded, and it must hold at least one PEM certificate.
pub(crate) fn read_tls_ca(path: &Path) -> Result<Vec<u8>, TlsCaError> {
    let unreadable = |e| TlsCaError::Read {
        path: path.to_path_buf(),
        source: Arc::new(e),
    };
    let len = std::fs::metadata(path).map_err(unreadable)?.len();
    if len > lim::REDIS_TLS_CA_MAX_BYTES {
        return Err(TlsCaError::TooLarge {
            path: path.to_path_buf(),
            len,
            max: lim::REDIS_TLS_CA_MAX_BYTES,
        });
    }
    let pem = std::fs::read(path).map_err(unreadable)?;
    if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
        return Err(TlsCaError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    Ok(pem)
}

impl std::fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl std::fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RedisUrl({})", self.redacted())
    }
}
