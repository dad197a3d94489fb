//! Which IP addresses a *hostname* may resolve to (the SSRF rule): never one of the machine
//! itself, of a private network, or of a cloud's metadata service. Addresses that embed an IPv4
//! address (IPv4-mapped and -compatible, NAT64, 6to4, Teredo) are judged by what they embed.
//!
//! IP literals in the allow-list are the user's explicit intent and are not judged here.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why a hostname may not resolve to `ip`, if it may not: `"loopback"`, `"private"`,
/// `"link-local or cloud metadata"`, … (`None`: a public address).
pub fn refused(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refused_v4(v4),
        IpAddr::V6(v6) => refused_v6(v6),
    }
}

/// The private ranges a `http.allow_private_addresses` handler may reach by name: RFC 1918,
/// CGNAT, unique-local IPv6 and loopback. Link-local (where cloud metadata lives), unspecified,
/// multicast and reserved addresses stay refused.
pub fn private_network(ip: IpAddr) -> bool {
    matches!(
        refused(ip),
        Some(LOOPBACK) | Some(PRIVATE) | Some(CGNAT) | Some(UNIQUE_LOCAL)
    )
}

const LOOPBACK: &str = "loopback";
const PRIVATE: &str = "private (RFC 1918)";
const CGNAT: &str = "shared address space (CGNAT, 100.64.0.0/10)";
const UNIQUE_LOCAL: &str = "unique-local IPv6 (fc00::/7)";
const LINK_LOCAL: &str = "link-local (169.254.0.0/16, where cloud metadata services live)";

fn refused_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip.is_loopback() => LOOPBACK,
        _ if ip.is_private() => PRIVATE,
        _ if ip.is_link_local() => LINK_LOCAL,
        (100, 64..=127, _) => CGNAT,
        (0, _, _) => "\"this network\" (0.0.0.0/8)",
        (192, 0, 0) => "IETF protocol assignments (192.0.0.0/24)",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "documentation",
        (198, 18..=19, _) => "benchmarking (198.18.0.0/15)",
        (192, 88, 99) => "6to4 relay anycast",
        _ if ip.is_broadcast() => "broadcast",
        _ if ip.is_multicast() => "multicast",
        (240..=255, _, _) => "reserved (240.0.0.0/4)",
        _ => return None,
    })
}

fn refused_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = embedded_v4(ip) {
        return refused_v4(v4).map(|_| "an IPv6 address embedding a refused IPv4 address");
    }
    let s = ip.segments();
    Some(match s[0] {
        _ if ip.is_loopback() => LOOPBACK,
        _ if ip.is_unspecified() => "unspecified (::)",
        _ if ip.is_multicast() => "multicast",
        x if x & 0xfe00 == 0xfc00 => UNIQUE_LOCAL,
        x if x & 0xffc0 == 0xfe80 => "link-local IPv6 (fe80::/10)",
        x if x & 0xffc0 == 0xfec0 => "site-local IPv6 (fec0::/10)",
        0x2001 if s[1] == 0x0db8 => "documentation (2001:db8::/32)",
        0x0100 if s[1..4] == [0, 0, 0] => "discard-only (100::/64)",
        _ => return None,
    })
}

/// The IPv4 address an IPv6 address carries, for the forms that carry one: IPv4-mapped
/// (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), NAT64 (`64:ff9b::/96`, `64:ff9b:1::/48`),
/// 6to4 (`2002:AABB:CCDD::/48`) and Teredo (`2001:0::/32`, the client address inverted).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail =
        |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, hi, lo] => Some(tail(hi, lo)),
        // `::` and `::1` are judged as IPv6 (unspecified, loopback).
        [0, 0, 0, 0, 0, 0, hi, lo] if hi != 0 => Some(tail(hi, lo)),
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(tail(hi, lo)),
        [0x64, 0xff9b, 1, ..] => Some(tail(s[6], s[7])),
        [0x2002, hi, lo, ..] => Some(tail(hi, lo)),
        [0x2001, 0, ..] => Some(tail(!s[6], !s[7])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn public_addresses_pass() {
        for s in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "100.63.255.255",
            "100.128.0.0",
            "172.32.0.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001:81b::200e",
        ] {
            assert_eq!(refused(ip(s)), None, "{s}");
        }
    }

    #[test]
    fn internal_addresses_are_refused_with_a_reason() {
        for (s, why) in [
            ("127.0.0.1", "loopback"),
            ("127.255.255.254", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "cloud metadata"),
            ("100.64.0.1", "CGNAT"),
            ("100.100.100.200", "CGNAT"),
            ("0.0.0.0", "this network"),
            ("0.1.2.3", "this network"),
            ("255.255.255.255", "broadcast"),
            ("224.0.0.1", "multicast"),
            ("240.0.0.1", "reserved"),
            ("198.18.0.1", "benchmarking"),
            ("192.0.0.8", "IETF"),
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("fd00:ec2::254", "unique-local"),
            ("fc00::1", "unique-local"),
            ("fe80::1", "link-local"),
            ("fec0::1", "site-local"),
            ("ff02::1", "multicast"),
            ("::ffff:127.0.0.1", "embedding"),
            ("::ffff:169.254.169.254", "embedding"),
            ("::127.0.0.1", "embedding"),
            ("64:ff9b::10.0.0.1", "embedding"),
            ("64:ff9b:1::a00:1", "embedding"),
            ("2002:7f00:1::", "embedding"),
            ("2001:0:4136:e378:8000:63bf:80ff:fffe", "embedding"),
            ("2001:db8::1", "documentation"),
        ] {
            let got = refused(ip(s)).unwrap_or_else(|| panic!("{s} passed"));
            assert!(got.contains(why), "{s}: {got}");
        }
        // The same embeddings of a public address pass.
        for s in ["::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::"] {
            assert_eq!(refused(ip(s)), None, "{s}");
        }
    }

    #[test]
    fn private_network_is_the_opt_in_subset() {
        for s in [
            "127.0.0.1",
            "10.0.0.1",
            "192.168.0.1",
            "100.64.0.1",
            "fd12::1",
            "::1",
        ] {
            assert!(private_network(ip(s)), "{s}");
        }
        for s in [
            "169.254.169.254",
            "fe80::1",
            "0.0.0.0",
            "224.0.0.1",
            "8.8.8.8",
            "::ffff:10.0.0.1",
        ] {
            assert!(!private_network(ip(s)), "{s}");
        }
    }
}
