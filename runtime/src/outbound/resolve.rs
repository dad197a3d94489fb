//! Name resolution for outbound requests, with the SSRF rule: a host *name* (any name but
//! `localhost`) is resolved once, every address it resolves to is checked
//! ([`super::addr::refused`]), and the connection goes to those checked addresses only — reqwest
//! asks this resolver and connects to what it answers, so a name that resolves to a public
//! address for the check and to `127.0.0.1` for the connection (DNS rebinding) cannot pass.
//! One refused address refuses the name.
//!
//! IP literals never reach a resolver (reqwest connects to them directly): the allow-list has
//! already decided about them. `localhost` is answered with `127.0.0.1` and `::1` without asking
//! DNS (RFC 6761): listing it means the machine itself.
//!
//! How names are looked up is a [`LookupHost`]: the system's resolver ([`SystemLookup`]) in
//! production, a fixed table ([`StaticLookup`]) where a test needs a name that resolves to a
//! loopback address without touching `/etc/hosts` or the network.

use std::fmt;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::addr;

/// A future answering the addresses of a name.
pub type Lookup = Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>>;

/// Looks up the addresses of a host name.
pub trait LookupHost: Send + Sync + fmt::Debug {
    /// The addresses `name` resolves to.
    fn lookup(&self, name: &str) -> Lookup;
}

/// The system's resolver (`getaddrinfo` through tokio).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemLookup;

impl LookupHost for SystemLookup {
    fn lookup(&self, name: &str) -> Lookup {
        let name = name.to_string();
        Box::pin(async move {
            Ok(tokio::net::lookup_host((name.as_str(), 0))
                .await?
                .map(|a| a.ip())
                .collect())
        })
    }
}

/// A fixed table of names and their addresses; any other name does not resolve. For tests
/// (e.g. `rebind.test` → `127.0.0.1`: `.test` is reserved and never resolves on the internet).
#[cfg(any(test, feature = "internals"))]
#[derive(Debug, Default, Clone)]
pub struct StaticLookup(std::collections::HashMap<String, Vec<IpAddr>>);

#[cfg(any(test, feature = "internals"))]
impl StaticLookup {
    /// Adds `name` → `addresses`.
    pub fn with(mut self, name: &str, addresses: &[IpAddr]) -> Self {
        self.0.insert(name.to_ascii_lowercase(), addresses.to_vec());
        self
    }
}

#[cfg(any(test, feature = "internals"))]
impl LookupHost for StaticLookup {
    fn lookup(&self, name: &str) -> Lookup {
        let found = self.0.get(&name.to_ascii_lowercase()).cloned();
        let name = name.to_string();
        Box::pin(async move {
            found.ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("`{name}` is not in the table"),
                )
            })
        })
    }
}

/// A name refused because of an address it resolves to; found in the error chain of a failed
/// request by [`refused_in`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedAddress {
    /// The name.
    pub name: String,
    /// The refused address.
    pub address: IpAddr,
    /// What kind of address it is (loopback, private, …).
    pub why: &'static str,
}

impl fmt::Display for RefusedAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}` resolves to {}, a {} address",
            self.name, self.address, self.why
        )
    }
}

impl std::error::Error for RefusedAddress {}

/// The [`RefusedAddress`] somewhere in `e`'s chain of sources, if there is one.
pub fn refused_in(e: &(dyn std::error::Error + 'static)) -> Option<RefusedAddress> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<RefusedAddress>() {
            return Some(r.clone());
        }
        cur = err.source();
    }
    None
}

/// The resolver handed to reqwest: looks a name up, checks every address, answers only checked
/// ones.
#[derive(Debug, Clone)]
pub(crate) struct CheckedResolver {
    lookup: Arc<dyn LookupHost>,
    /// `http.allow_private_addresses`: names may resolve to loopback and private-network
    /// addresses ([`addr::private_network`]); link-local and the rest stay refused.
    allow_private: bool,
}

impl CheckedResolver {
    pub(crate) fn new(lookup: Arc<dyn LookupHost>, allow_private: bool) -> Self {
        CheckedResolver {
            lookup,
            allow_private,
        }
    }

    /// The addresses `name` may be connected to, or why none.
    pub(crate) async fn resolve_checked(&self, name: &str) -> Result<Vec<IpAddr>, ResolveError> {
        if name.eq_ignore_ascii_case("localhost") {
            return Ok(vec![
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(Ipv6Addr::LOCALHOST),
            ]);
        }
        let found = self
            .lookup
            .lookup(name)
            .await
            .map_err(|e| ResolveError::Lookup(format!("cannot resolve `{name}`: {e}")))?;
        if found.is_empty() {
            return Err(ResolveError::Lookup(format!("`{name}` has no address")));
        }
        for &address in &found {
            if let Some(why) = addr::refused(address) {
                if !(self.allow_private && addr::private_network(address)) {
                    return Err(ResolveError::Refused(RefusedAddress {
                        name: name.to_string(),
                        address,
                        why,
                    }));
                }
            }
        }
        Ok(found)
    }
}

/// Why a name gives no address to connect to.
#[derive(Debug)]
pub(crate) enum ResolveError {
    /// The lookup failed or found nothing.
    Lookup(String),
    /// It resolves to an address the SSRF rule refuses.
    Refused(RefusedAddress),
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResolveError::Lookup(m) => f.write_str(m),
            ResolveError::Refused(r) => r.fmt(f),
        }
    }
}

impl std::error::Error for ResolveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ResolveError::Refused(r) => Some(r),
            ResolveError::Lookup(_) => None,
        }
    }
}

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let this = self.clone();
        Box::pin(async move {
            let ips = this.resolve_checked(name.as_str()).await?;
            let addrs: Addrs = Box::new(ips.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn resolver(allow_private: bool) -> CheckedResolver {
        let table = StaticLookup::default()
            .with(
                "public.test",
                &[ip("93.184.216.34"), ip("2606:2800:220:1::1")],
            )
            .with("rebind.test", &[ip("93.184.216.34"), ip("127.0.0.1")])
            .with("metadata.test", &[ip("169.254.169.254")])
            .with("internal.test", &[ip("10.0.0.7")])
            .with("mapped.test", &[ip("::ffff:127.0.0.1")])
            .with("empty.test", &[]);
        CheckedResolver::new(Arc::new(table), allow_private)
    }

    #[tokio::test]
    async fn a_name_gets_its_addresses_only_when_all_are_public() {
        let r = resolver(false);
        assert_eq!(r.resolve_checked("public.test").await.unwrap().len(), 2);
        assert_eq!(
            r.resolve_checked("localhost").await.unwrap(),
            [ip("127.0.0.1"), ip("::1")],
            "localhost is the machine itself, never asked of DNS"
        );
        for (name, address, why) in [
            ("rebind.test", "127.0.0.1", "loopback"),
            ("metadata.test", "169.254.169.254", "metadata"),
            ("internal.test", "10.0.0.7", "private"),
            ("mapped.test", "::ffff:127.0.0.1", "embedding"),
        ] {
            match r.resolve_checked(name).await {
                Err(ResolveError::Refused(refused)) => {
                    assert_eq!(refused.address, ip(address), "{name}");
                    assert!(refused.to_string().contains(why), "{refused}");
                    let wrapped = std::io::Error::other(ResolveError::Refused(refused.clone()));
                    assert_eq!(refused_in(&wrapped), Some(refused));
                }
                other => panic!("{name}: {other:?}"),
            }
        }
        for name in ["empty.test", "unknown.test"] {
            assert!(matches!(
                r.resolve_checked(name).await,
                Err(ResolveError::Lookup(_))
            ));
        }
    }

    #[tokio::test]
    async fn allow_private_opens_private_networks_but_not_metadata() {
        let r = resolver(true);
        assert!(r.resolve_checked("internal.test").await.is_ok());
        assert!(r.resolve_checked("rebind.test").await.is_ok());
        assert!(matches!(
            r.resolve_checked("metadata.test").await,
            Err(ResolveError::Refused(_))
        ));
        assert!(matches!(
            r.resolve_checked("mapped.test").await,
            Err(ResolveError::Refused(_))
        ));
    }
}
