//! The SSRF guard: callbacks go only to public addresses.
//!
//! A `notice_url` is refused when its host is, or resolves to, a loopback, private,
//! link-local (cloud metadata), CGNAT, multicast, documentation, benchmarking, reserved or
//! unspecified address, IPv4 or IPv6 (IPv4-mapped and NAT64/6to4-embedded IPv4 addresses
//! are judged as the IPv4 inside). Ranges in the allow-list (`--callback-allow-cidr`) pass.
//! It runs at submit time and, through [`GuardedResolver`], at every connection, so a DNS
//! answer that changes after submit (rebinding) cannot reach an internal address.

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// How long a DNS lookup may take (submit waits for it).
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);

/// Why a callback target was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SsrfError {
    #[error("{host} is {ip}, a {range} address: callbacks go only to public addresses")]
    Forbidden {
        host: String,
        ip: IpAddr,
        range: &'static str,
    },
    #[error("cannot resolve {host}: {reason}")]
    Unresolved { host: String, reason: String },
    #[error("not an http(s) URL with a host: {0}")]
    BadUrl(String),
    #[error("`{0}` is not a CIDR range like 127.0.0.0/8 or an IP address")]
    BadCidr(String),
}

/// Which callback targets are allowed: everything public, plus the allow-list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallbackPolicy {
    allow: Vec<IpNet>,
}

impl CallbackPolicy {
    /// Public addresses plus `allow` (e.g. `127.0.0.0/8` for tests).
    pub fn new(allow: Vec<IpNet>) -> Self {
        Self { allow }
    }

    /// Parses `--callback-allow-cidr` values: `127.0.0.0/8`, `::1/128`, or a bare address.
    pub fn parse_allow<S: AsRef<str>>(cidrs: &[S]) -> Result<Self, SsrfError> {
        let allow = cidrs
            .iter()
            .map(|c| parse_cidr(c.as_ref()))
            .collect::<Result<_, _>>()?;
        Ok(Self { allow })
    }

    pub fn allowed_cidrs(&self) -> &[IpNet] {
        &self.allow
    }

    /// `Ok` when `ip` may be called: public, or in the allow-list.
    pub fn check_ip(&self, host: &str, ip: IpAddr) -> Result<(), SsrfError> {
        let ip = canonical(ip);
        if self.allow.iter().any(|net| net.contains(&ip)) {
            return Ok(());
        }
        match forbidden_range(ip) {
            Some(range) => Err(SsrfError::Forbidden {
                host: host.to_string(),
                ip,
                range,
            }),
            None => Ok(()),
        }
    }

    /// Resolves `host` (an IP literal is taken as is) and keeps only the allowed addresses;
    /// refused when none is left. Only what this returns is ever connected to.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, SsrfError> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => {
                let unresolved = |reason: String| SsrfError::Unresolved {
                    host: host.to_string(),
                    reason,
                };
                tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((bare, port)))
                    .await
                    .map_err(|_| unresolved("DNS timed out".into()))?
                    .map_err(|e| unresolved(e.to_string()))?
                    .collect()
            }
        };
        if addrs.is_empty() {
            return Err(SsrfError::Unresolved {
                host: host.to_string(),
                reason: "no addresses".into(),
            });
        }
        let mut refusal = None;
        let allowed: Vec<SocketAddr> = addrs
            .into_iter()
            .filter(|a| match self.check_ip(host, a.ip()) {
                Ok(()) => true,
                Err(e) => {
                    refusal.get_or_insert(e);
                    false
                }
            })
            .collect();
        match refusal {
            Some(e) if allowed.is_empty() => Err(e),
            _ => Ok(allowed),
        }
    }

    /// Vets a `notice_url`: its host must resolve only to allowed addresses.
    pub async fn check_url(&self, url: &str) -> Result<Vec<SocketAddr>, SsrfError> {
        let (host, port) = host_port(url)?;
        self.resolve(&host, port).await
    }
}

/// Host (IPv6 in brackets) and port of an http(s) URL.
pub fn host_port(url: &str) -> Result<(String, u16), SsrfError> {
    let bad = || SsrfError::BadUrl(url.chars().take(200).collect());
    let u = url::Url::parse(url).map_err(|_| bad())?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(bad());
    }
    let host = u.host_str().filter(|h| !h.is_empty()).ok_or_else(bad)?;
    let port = u.port_or_known_default().ok_or_else(bad)?;
    Ok((host.to_string(), port))
}

/// A CIDR range, or a bare address as a single-address range.
pub fn parse_cidr(text: &str) -> Result<IpNet, SsrfError> {
    let t = text.trim();
    t.parse::<IpNet>()
        .or_else(|_| t.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| SsrfError::BadCidr(t.to_string()))
}

/// IPv4-mapped (`::ffff:a.b.c.d`) addresses as the IPv4 address they are.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8) -> (Ipv4Addr, u8) {
    (Ipv4Addr::new(a, b, c, d), len)
}

/// Non-public IPv4 ranges (IANA special-purpose registry), most specific first.
const V4_RANGES: &[((Ipv4Addr, u8), &str)] = &[
    (v4(0, 0, 0, 0, 8), "unspecified (this-network)"),
    (v4(10, 0, 0, 0, 8), "private"),
    (v4(100, 64, 0, 0, 10), "shared CGNAT"),
    (v4(127, 0, 0, 0, 8), "loopback"),
    (v4(169, 254, 0, 0, 16), "link-local (cloud metadata)"),
    (v4(172, 16, 0, 0, 12), "private"),
    (v4(192, 0, 0, 0, 24), "IETF protocol assignment"),
    (v4(192, 0, 2, 0, 24), "documentation"),
    (v4(192, 88, 99, 0, 24), "reserved (6to4 relay)"),
    (v4(192, 168, 0, 0, 16), "private"),
    (v4(198, 18, 0, 0, 15), "benchmarking"),
    (v4(198, 51, 100, 0, 24), "documentation"),
    (v4(203, 0, 113, 0, 24), "documentation"),
    (v4(224, 0, 0, 0, 4), "multicast"),
    (v4(255, 255, 255, 255, 32), "broadcast"),
    (v4(240, 0, 0, 0, 4), "reserved"),
];

const fn v6(segs: [u16; 8], len: u8) -> (Ipv6Addr, u8) {
    let [a, b, c, d, e, f, g, h] = segs;
    (Ipv6Addr::new(a, b, c, d, e, f, g, h), len)
}

/// Non-public IPv6 ranges, most specific first. NAT64 and 6to4 are judged by the IPv4
/// address inside them (see [`embedded_v4`]).
const V6_RANGES: &[((Ipv6Addr, u8), &str)] = &[
    (v6([0, 0, 0, 0, 0, 0, 0, 0], 128), "unspecified"),
    (v6([0, 0, 0, 0, 0, 0, 0, 1], 128), "loopback"),
    (
        v6([0, 0, 0, 0, 0, 0, 0, 0], 96),
        "reserved (IPv4-compatible)",
    ),
    (
        v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48),
        "private (local NAT64)",
    ),
    (v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64), "reserved (discard)"),
    (v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32), "documentation"),
    (
        v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23),
        "IETF protocol assignment",
    ),
    (v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20), "documentation"),
    (v6([0x5f00, 0, 0, 0, 0, 0, 0, 0], 16), "reserved (SRv6)"),
    (
        v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7),
        "private (unique local)",
    ),
    (v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10), "link-local"),
    (
        v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10),
        "private (site-local)",
    ),
    (v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8), "multicast"),
];

/// The name of the non-public range `ip` is in, or `None` for a public address.
pub fn forbidden_range(ip: IpAddr) -> Option<&'static str> {
    match canonical(ip) {
        IpAddr::V4(ip) => V4_RANGES.iter().find_map(|((net, len), name)| {
            Ipv4Net::new(*net, *len)
                .is_ok_and(|n| n.contains(&ip))
                .then_some(*name)
        }),
        IpAddr::V6(ip) => {
            if let Some(inner) = embedded_v4(ip) {
                return forbidden_range(IpAddr::V4(inner));
            }
            V6_RANGES.iter().find_map(|((net, len), name)| {
                Ipv6Net::new(*net, *len)
                    .is_ok_and(|n| n.contains(&ip))
                    .then_some(*name)
            })
        }
    }
}

/// The IPv4 address carried by NAT64 (`64:ff9b::/96`) and 6to4 (`2002::/16`) addresses,
/// which a gateway would turn into a connection to that IPv4 address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let o = ip.octets();
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    }
    None
}

/// reqwest's DNS resolver with the guard: a name resolving to a forbidden address fails
/// the connection, so the worker connects only to addresses it has vetted.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    policy: Arc<CallbackPolicy>,
}

impl GuardedResolver {
    pub fn new(policy: Arc<CallbackPolicy>) -> Self {
        Self { policy }
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            // Port 0: reqwest puts the URL's port in.
            let addrs = policy.resolve(&host, 0).await?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(p: &CallbackPolicy, ip: &str) -> Option<&'static str> {
        let ip: IpAddr = ip.parse().expect("ip");
        match p.check_ip("h", ip) {
            Err(SsrfError::Forbidden { range, .. }) => Some(range),
            _ => None,
        }
    }

    #[test]
    fn internal_addresses_are_refused_public_ones_pass() {
        let p = CallbackPolicy::default();
        let cases = [
            ("127.0.0.1", "loopback"),
            ("10.0.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local (cloud metadata)"),
            ("100.64.0.1", "shared CGNAT"),
            ("0.0.0.0", "unspecified (this-network)"),
            ("224.0.0.251", "multicast"),
            ("255.255.255.255", "broadcast"),
            ("240.0.0.1", "reserved"),
            ("192.0.2.7", "documentation"),
            ("198.18.0.1", "benchmarking"),
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("fd00::1", "private (unique local)"),
            ("fe80::1", "link-local"),
            ("ff02::1", "multicast"),
            ("2001:db8::1", "documentation"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:169.254.169.254", "link-local (cloud metadata)"),
            ("64:ff9b::a00:1", "private"),
            ("2002:c0a8:0101::1", "private"),
        ];
        for (ip, range) in cases {
            assert_eq!(refused(&p, ip), Some(range), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(refused(&p, ip), None, "{ip}");
        }
    }

    #[test]
    fn the_allow_list_opens_exactly_its_ranges() {
        let p = CallbackPolicy::parse_allow(&["127.0.0.0/8", "::1"]).expect("cidrs");
        assert_eq!(refused(&p, "127.0.0.1"), None);
        assert_eq!(refused(&p, "::ffff:127.0.0.2"), None);
        assert_eq!(refused(&p, "::1"), None);
        assert_eq!(refused(&p, "10.0.0.1"), Some("private"));
        assert!(CallbackPolicy::parse_allow(&["127.0.0.0/33"]).is_err());
        assert!(CallbackPolicy::parse_allow(&["localhost"]).is_err());
    }

    #[tokio::test]
    async fn urls_are_vetted_by_their_resolved_addresses() {
        let p = CallbackPolicy::default();
        for url in [
            "http://10.0.0.1/cb",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]:8080/cb",
            "http://localhost:9/cb",
        ] {
            let err = p.check_url(url).await.expect_err(url);
            assert!(matches!(err, SsrfError::Forbidden { .. }), "{url}: {err}");
        }
        assert!(matches!(
            p.check_url("ftp://x/").await,
            Err(SsrfError::BadUrl(_))
        ));
        let open = CallbackPolicy::parse_allow(&["127.0.0.0/8"]).expect("cidr");
        let addrs = open
            .check_url("http://127.0.0.1:9/")
            .await
            .expect("allowed");
        assert_eq!(addrs[0].port(), 9);
    }
}
