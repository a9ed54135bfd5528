//! The address guard: which URLs, ports and IP addresses an outbound fetch may reach.
//!
//! The platform fetches URLs that users type (channel ownership checks, pages on first view), so every
//! fetch is a chance for server-side request forgery: a URL or a redirect that points at the server
//! itself, a database on the private network or a cloud metadata service. A security review found all of
//! those. The rules live here, in one place, so that the resolver (names, checked when the connection is
//! made) and the per-hop URL check (IP literals, which reqwest never hands to a resolver) cannot drift
//! apart.
//!
//! `std::net::IpAddr`'s own predicates miss several ranges (CGNAT, benchmarking, 192.0.0/24, and every
//! IPv6 form that embeds an IPv4 address), so [`is_forbidden`] spells the ranges out and is unit-tested
//! form by form.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

use crate::fetch::{FetchError, FetchPolicy};

/// Whether `ip` is outside the public internet: loopback, unspecified, private, CGNAT, link-local,
/// ULA, site-local, multicast, broadcast, reserved, benchmarking, IETF protocol assignments or
/// documentation ranges. IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4) are
/// judged by the IPv4 address they carry, because the kernel or a translator will deliver them there.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_forbidden_v4(v4),
        IpAddr::V6(v6) => is_forbidden_v6(v6),
    }
}

fn is_forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    a == 0 // 0.0.0.0/8 "this network"; Linux connects 0.0.0.0 to the local host
        || a == 10 // private
        || a == 127 // loopback
        || (a == 100 && (64..128).contains(&b)) // 100.64/10 carrier-grade NAT, often internal
        || (a == 169 && b == 254) // link-local, home of cloud metadata services
        || (a == 172 && (16..32).contains(&b)) // private
        || (a == 192 && b == 168) // private
        || (a == 192 && b == 0 && c == 0) // 192.0.0/24 IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // TEST-NET-1 documentation
        || (a == 192 && b == 88 && c == 99) // deprecated 6to4 relay anycast
        || (a == 198 && (b == 18 || b == 19)) // 198.18/15 benchmarking
        || (a == 198 && b == 51 && c == 100) // TEST-NET-2 documentation
        || (a == 203 && b == 0 && c == 113) // TEST-NET-3 documentation
        || a >= 224 // 224/4 multicast, 240/4 reserved, 255.255.255.255 broadcast
}

fn is_forbidden_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    if let Some(v4) = embedded_v4(ip) {
        return is_forbidden_v4(v4);
    }
    // Only 2000::/3 is allocated as global unicast; everything else (::1, ::, fc00::/7 ULA, fe80::/10
    // link-local, fec0::/10 site-local, ff00::/8 multicast, 100::/64 discard) is refused in one rule,
    // so a range we forgot to name is refused rather than allowed.
    if s[0] & 0xe000 != 0x2000 {
        return true;
    }
    // 2001::/23 is IETF protocol assignments, including Teredo (which hides an IPv4 address);
    // 2001:db8::/32 and 3fff::/20 (RFC 9637) are documentation.
    (s[0] == 0x2001 && (s[1] < 0x0200 || s[1] == 0x0db8)) || (s[0] & 0xfff0 == 0x3ff0)
}

/// The IPv4 address carried by an IPv6 address, for the forms that carry one: IPv4-mapped
/// `::ffff:0:0/96`, IPv4-translated `::ffff:0:0:0/96`, IPv4-compatible `::/96` (which also covers
/// `::` and `::1`, judged as 0.0.0.0 and 0.0.0.1, both refused), NAT64 `64:ff9b::/96` and 6to4
/// `2002::/16`.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let o = ip.octets();
    let low = Ipv4Addr::new(o[12], o[13], o[14], o[15]);
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] | [0, 0, 0, 0, 0xffff, 0, _, _] | [0, 0, 0, 0, 0, 0, _, _] => Some(low),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(low),
        [0x2002, ..] => Some(Ipv4Addr::new(o[2], o[3], o[4], o[5])),
        // 64:ff9b:1::/48 is local-use NAT64 (RFC 8215): whatever it carries, it is a private network.
        [0x64, 0xff9b, 1, ..] => Some(Ipv4Addr::UNSPECIFIED),
        _ => None,
    }
}

/// Checks one hop's URL before anything is sent: the scheme, the absence of credentials, the port and,
/// for a literal IP host, the address itself. Names are checked later, by [`GuardedResolver`], against
/// the addresses they resolve to.
pub(crate) fn check_url(url: &Url, policy: &FetchPolicy) -> Result<(), FetchError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchError::BadUrl);
    }
    // Credentials in a URL would be sent to whoever the URL (or a redirect) names, and they make
    // phishing-style URLs such as http://trusted.example@evil.example/ look harmless in logs.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(FetchError::BadUrl);
    }
    let port = url.port_or_known_default().ok_or(FetchError::BadUrl)?;
    let ip = match url.host() {
        None => return Err(FetchError::BadUrl),
        Some(Host::Domain(name)) if is_documentation_name(name) => {
            tracing::debug!(name, "refused: a name reserved for documentation");
            return Err(FetchError::Refused);
        }
        Some(Host::Domain(_)) => None,
        Some(Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
        Some(Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
    };
    if let Some(ip) = ip {
        // An exact socket address is the one exemption from both the port and the address rules: it
        // lets a test (or an operator) open one door without opening the whole loopback range.
        if policy.allow_exact.contains(&SocketAddr::new(ip, port)) {
            return Ok(());
        }
        if !policy.allow_private && is_forbidden(ip) {
            tracing::debug!(%ip, "refused: literal address is not public");
            return Err(FetchError::Refused);
        }
    }
    if !policy.allowed_ports.contains(&port) {
        tracing::debug!(port, "refused: port is not allowed");
        return Err(FetchError::Refused);
    }
    Ok(())
}

/// Whether a host name is reserved for documentation and tests (RFC 2606, RFC 6761): `example.com`,
/// `example.net`, `example.org` and the `.example`, `.test` and `.invalid` domains. No real site
/// lives there, so nothing is fetched from them; the demo's channels and sample URLs use them, and a
/// server started with `--demo` must not send requests out for them.
pub fn is_documentation_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let under = |domain: &str| name == domain || name.ends_with(&format!(".{domain}"));
    ["example.com", "example.net", "example.org", "example", "test", "invalid"].into_iter().any(under)
}

/// The marker error the resolver returns when a name resolves only to forbidden addresses; the fetcher
/// finds it in reqwest's error chain to answer [`FetchError::Refused`] instead of `Unreachable`.
#[derive(Debug)]
pub(crate) struct AddressRefused;

impl std::fmt::Display for AddressRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the address is not allowed")
    }
}

impl std::error::Error for AddressRefused {}

/// reqwest's resolver, replaced so that the addresses a name resolves to are checked at the moment the
/// connection is made, and only the allowed ones are handed to the connector. Checking in the resolver
/// (rather than resolving once up front and fetching by name) closes the DNS-rebinding gap: there is no
/// second lookup that could answer differently.
///
/// The resolver never sees the port, so `allow_exact` does not apply to names: a name that resolves to
/// a forbidden address is refused even if that address and the URL's port are listed exactly.
pub(crate) struct GuardedResolver {
    pub(crate) allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        let lookup = async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            let allowed: Vec<SocketAddr> = found.filter(|addr| allow_private || !is_forbidden(addr.ip())).collect();
            if allowed.is_empty() {
                tracing::debug!(host, "refused: the name resolves to no public address");
                return Err(Box::new(AddressRefused) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        };
        Box::pin(lookup) as Pin<Box<dyn Future<Output = _> + Send>>
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn names_reserved_for_documentation_are_refused() {
        for (name, reserved) in [
            ("rh-a.example.com", true),
            ("blog.example.org", true),
            ("EXAMPLE.NET.", true),
            ("news.test", true),
            ("x.invalid", true),
            ("site.example", true),
            ("myexample.com", false),
            ("example.com.cn", false),
            ("news.example.cn", false),
        ] {
            assert_eq!(is_documentation_name(name), reserved, "{name}");
            let url = Url::parse(&format!("https://{name}/sitemap.xml")).expect("a URL");
            let checked = check_url(&url, &FetchPolicy { allow_private: true, ..FetchPolicy::default() });
            assert_eq!(checked.is_err(), reserved, "{name}: {checked:?}");
        }
    }

    use super::*;

    fn v4(s: &str) -> IpAddr {
        IpAddr::V4(s.parse().expect("test literal"))
    }
    fn v6(s: &str) -> IpAddr {
        IpAddr::V6(s.parse().expect("test literal"))
    }

    #[test]
    fn forbidden_ipv4_ranges() {
        for ip in [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "10.255.255.255",
            "127.0.0.1",
            "127.255.255.254",
            "100.64.0.1",
            "100.127.255.255",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            assert!(is_forbidden(v4(ip)), "{ip} must be forbidden");
        }
    }

    #[test]
    fn public_ipv4_allowed_including_range_edges() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "169.253.0.1",
            "192.0.1.1",
            "192.169.0.1",
            "198.17.255.255",
            "198.20.0.0",
            "223.255.255.255",
            "11.0.0.1",
            "126.255.255.255",
            "128.0.0.1",
        ] {
            assert!(!is_forbidden(v4(ip)), "{ip} must be allowed");
        }
    }

    #[test]
    fn forbidden_ipv6_ranges() {
        for ip in [
            "::",
            "::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "fc00::1",
            "fd12:3456::1",
            "ff02::1",
            "ff0e::1",
            "100::1",
            "2001:db8::1",
            "2001::1",          // Teredo
            "2001:2::1",        // benchmarking
            "3fff::1",          // documentation (RFC 9637)
            "64:ff9b:1::a00:1", // local-use NAT64
            "4000::1",          // outside 2000::/3, unallocated
        ] {
            assert!(is_forbidden(v6(ip)), "{ip} must be forbidden");
        }
    }

    #[test]
    fn ipv6_forms_embedding_ipv4_are_judged_by_the_ipv4() {
        // IPv4-mapped, IPv4-translated, IPv4-compatible, NAT64, 6to4: forbidden inside.
        for ip in [
            "::ffff:127.0.0.1",
            "::ffff:7f00:1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:0.0.0.0",
            "::ffff:0:127.0.0.1",
            "::127.0.0.1",
            "::192.168.0.1",
            "64:ff9b::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "2002:c0a8:101::1",
            "2002:a00:1::",
        ] {
            assert!(is_forbidden(v6(ip)), "{ip} must be forbidden");
        }
        // The same forms around a public IPv4 address are judged public.
        for ip in ["::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1", "::8.8.8.8"] {
            assert!(!is_forbidden(v6(ip)), "{ip} must be allowed");
        }
    }

    #[test]
    fn public_ipv6_allowed() {
        for ip in ["2606:4700:4700::1111", "2a00:1450:4001:80b::200e", "2001:4860:4860::8888"] {
            assert!(!is_forbidden(v6(ip)), "{ip} must be allowed");
        }
    }

    fn url(s: &str) -> Url {
        Url::parse(s).expect("test URL parses")
    }

    #[test]
    fn url_crate_normalises_numeric_ipv4_forms_to_loopback() {
        let loopback = Some(Host::Ipv4(Ipv4Addr::LOCALHOST));
        for s in ["http://2130706433/", "http://0x7f.1/", "http://127.1/", "http://0177.0.0.1/", "http://0x7f000001/"] {
            assert_eq!(url(s).host().map(|h| h.to_owned()), loopback, "{s}");
        }
        assert_eq!(url("http://0/").host().map(|h| h.to_owned()), Some(Host::Ipv4(Ipv4Addr::UNSPECIFIED)));
        assert_eq!(
            url("http://[::ffff:7f00:1]/").host().map(|h| h.to_owned()),
            Some(Host::Ipv6(Ipv4Addr::LOCALHOST.to_ipv6_mapped()))
        );
    }

    #[test]
    fn dangerous_literal_urls_are_refused_by_default() {
        let policy = FetchPolicy::default();
        for s in [
            "http://2130706433/",
            "http://0x7f.1/",
            "http://127.1/",
            "http://0177.0.0.1/",
            "http://[::ffff:7f00:1]/",
            "http://[::ffff:127.0.0.1]:443/",
            "http://[::1]/",
            "https://[::1]/",
            "http://0/",
            "http://0.0.0.0/",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.1/",
            "http://[fd00::1]/",
            "http://[64:ff9b::7f00:1]/",
            "http://[2002:7f00:1::]/",
        ] {
            assert!(matches!(check_url(&url(s), &policy), Err(FetchError::Refused)), "{s} must be refused");
        }
    }

    #[test]
    fn localhost_passes_the_url_check_but_not_the_resolver() {
        // The name itself is fine on a default port; refusal happens when it resolves (see the
        // resolver test below and the integration tests), which is also what catches any other name
        // pointing at 127.0.0.1.
        assert!(check_url(&url("http://localhost/"), &FetchPolicy::default()).is_ok());
    }

    #[tokio::test]
    async fn resolver_refuses_localhost() {
        let resolver = GuardedResolver { allow_private: false };
        let name: Name = "localhost".parse().expect("valid name");
        let err = match resolver.resolve(name).await {
            Ok(_) => panic!("localhost must be refused"),
            Err(e) => e,
        };
        assert!(err.downcast_ref::<AddressRefused>().is_some());

        let open = GuardedResolver { allow_private: true };
        let name: Name = "localhost".parse().expect("valid name");
        let addrs: Vec<SocketAddr> = match open.resolve(name).await {
            Ok(a) => a.collect(),
            Err(e) => panic!("allow_private must let localhost resolve: {e}"),
        };
        assert!(addrs.iter().all(|a| a.ip().is_loopback()) && !addrs.is_empty());
    }

    #[test]
    fn scheme_userinfo_and_port_rules() {
        // A public-looking name: names reserved for documentation are refused on their own account.
        let policy = FetchPolicy::default();
        for s in ["ftp://news.example.cn/", "file:///etc/passwd", "gopher://news.example.cn/", "data:text/plain,hi"] {
            assert!(matches!(check_url(&url(s), &policy), Err(FetchError::BadUrl)), "{s}");
        }
        for s in ["http://user@news.example.cn/", "http://user:pw@news.example.cn/", "http://:pw@news.example.cn/"] {
            assert!(matches!(check_url(&url(s), &policy), Err(FetchError::BadUrl)), "{s}");
        }
        assert!(matches!(check_url(&url("http://news.example.cn:8080/"), &policy), Err(FetchError::Refused)));
        assert!(matches!(check_url(&url("https://news.example.cn:22/"), &policy), Err(FetchError::Refused)));
        assert!(check_url(&url("http://news.example.cn/"), &policy).is_ok());
        assert!(check_url(&url("https://news.example.cn:443/x"), &policy).is_ok());
        assert!(check_url(&url("http://93.184.216.34/"), &policy).is_ok());
    }

    #[test]
    fn allow_exact_opens_one_socket_address_only() {
        let exact: SocketAddr = "127.0.0.1:4567".parse().expect("literal");
        let policy = FetchPolicy { allow_exact: vec![exact], ..FetchPolicy::default() };
        assert!(check_url(&url("http://127.0.0.1:4567/"), &policy).is_ok());
        assert!(matches!(check_url(&url("http://127.0.0.1:4568/"), &policy), Err(FetchError::Refused)));
        assert!(matches!(check_url(&url("http://127.0.0.2:4567/"), &policy), Err(FetchError::Refused)));
        assert!(matches!(check_url(&url("http://127.0.0.1/"), &policy), Err(FetchError::Refused)));
    }

    #[test]
    fn allow_private_still_enforces_ports() {
        let policy = FetchPolicy { allow_private: true, ..FetchPolicy::default() };
        assert!(check_url(&url("http://127.0.0.1/"), &policy).is_ok());
        assert!(check_url(&url("http://[::1]:443/"), &policy).is_ok());
        assert!(matches!(check_url(&url("http://127.0.0.1:8080/"), &policy), Err(FetchError::Refused)));
    }
}
