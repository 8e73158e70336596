//! Who is asking: the client's address, and the per-address limits keyed by it.
//!
//! The client is the TCP peer, unless the peer is one of `TRUSTED_PROXIES`: then it is the
//! rightmost `X-Forwarded-For` hop that is not itself a trusted proxy. Every hop left of that
//! one was written by the client and proves nothing, so a prepended fake hop changes nothing.
//! (actix's `realip_remote_addr` takes the leftmost hop from anyone, which is why it is not
//! used.) Rate limits, login log lines and audit entries all use this one address.

use std::future::{Ready, ready};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::num::NonZeroU32;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;

use crate::error::AppError;
use crate::state::AppState;

/// The reverse proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Comma-separated addresses or CIDR ranges, e.g. `10.0.0.0/8, 192.0.2.7, fd00::/8`.
    pub fn parse(raw: &str) -> Result<TrustedProxies, String> {
        let mut nets = Vec::new();
        for entry in raw.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let net = match entry.parse::<IpAddr>() {
                Ok(ip) => IpNet::from(ip),
                Err(_) => entry.parse::<IpNet>().map_err(|_| {
                    format!("{entry:?} is not an IP address or a CIDR range like 10.0.0.0/8")
                })?,
            };
            nets.push(net);
        }
        Ok(TrustedProxies(nets))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }
}

/// The client's IP address (see the module's comment for how it is found).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(IpAddr);

impl ClientAddr {
    /// The client behind `peer`, given the `X-Forwarded-For` header values in order.
    pub fn resolve<'a>(
        peer: IpAddr,
        forwarded_for: impl IntoIterator<Item = &'a str>,
        trusted: &TrustedProxies,
    ) -> ClientAddr {
        let peer = peer.to_canonical();
        if !trusted.contains(peer) {
            return ClientAddr(peer);
        }
        let hops: Vec<&str> = forwarded_for
            .into_iter()
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .filter(|hop| !hop.is_empty())
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            match parse_hop(hop) {
                Some(ip) if trusted.contains(ip) => client = ip,
                Some(ip) => return ClientAddr(ip),
                // Not an address: whatever is left of it cannot be believed either. The last
                // trusted hop is the best we know.
                None => break,
            }
        }
        ClientAddr(client)
    }

    pub fn of(req: &HttpRequest, trusted: &TrustedProxies) -> ClientAddr {
        // Only a test request built without a socket has no peer.
        let peer = req
            .peer_addr()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
        let header = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok());
        ClientAddr::resolve(peer, header, trusted)
    }

    pub fn ip(&self) -> IpAddr {
        self.0
    }

    /// The rate-limit bucket: an IPv4 address as it is, an IPv6 address by its /64, since one
    /// subscriber usually gets a whole /64 and could otherwise take a new address per request.
    pub fn rate_key(&self) -> IpAddr {
        match self.0 {
            IpAddr::V4(v4) => IpAddr::V4(v4),
            IpAddr::V6(v6) => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(bits))
            }
        }
    }
}

/// A hop as proxies write it: an address, or (some load balancers) an address with a port.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
        .map(|ip| ip.to_canonical())
}

impl std::fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl FromRequest for ClientAddr {
    type Error = AppError;
    type Future = Ready<Result<ClientAddr, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let trusted = req
            .app_data::<web::Data<AppState>>()
            .map(|state| state.trusted_proxies.clone())
            .unwrap_or_default();
        ready(Ok(ClientAddr::of(req, &trusted)))
    }
}

/// So many requests a minute per client (`ClientAddr::rate_key`), or no limit at all.
pub struct RateLimit(Option<DefaultKeyedRateLimiter<IpAddr>>);

impl RateLimit {
    /// `0` turns the limit off, as the settings say.
    pub fn per_minute(limit: u32) -> RateLimit {
        RateLimit(NonZeroU32::new(limit).map(|n| RateLimiter::keyed(Quota::per_minute(n))))
    }

    /// Count one request from `client`; false when it is over the limit.
    pub fn allows(&self, client: &ClientAddr) -> bool {
        self.0
            .as_ref()
            .is_none_or(|limiter| limiter.check_key(&client.rate_key()).is_ok())
    }

    /// Forget clients that have not been seen for a while (housekeeping).
    pub fn retain_recent(&self) {
        if let Some(limiter) = &self.0 {
            limiter.retain_recent();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn trusted(s: &str) -> TrustedProxies {
        TrustedProxies::parse(s).unwrap()
    }

    #[test]
    fn two_ipv6_addresses_in_one_64_share_a_key_and_other_64s_do_not() {
        let a = ClientAddr(ip("2001:db8:1:2:aaaa::1"));
        let b = ClientAddr(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        let c = ClientAddr(ip("2001:db8:1:3::1"));
        assert_eq!(a.rate_key(), b.rate_key());
        assert_ne!(a.rate_key(), c.rate_key());
        assert_eq!(a.rate_key(), ip("2001:db8:1:2::"));
    }

    #[test]
    fn ipv4_addresses_are_keyed_as_they_are() {
        let a = ClientAddr(ip("203.0.113.9"));
        let b = ClientAddr(ip("203.0.113.10"));
        assert_eq!(a.rate_key(), ip("203.0.113.9"));
        assert_ne!(a.rate_key(), b.rate_key());
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let none = TrustedProxies::default();
        let client = ClientAddr::resolve(ip("192.0.2.1"), ["203.0.113.9"], &none);
        assert_eq!(client.ip(), ip("192.0.2.1"));
    }

    #[test]
    fn a_peer_that_is_not_a_trusted_proxy_is_the_client() {
        let proxies = trusted("10.0.0.0/8");
        let client = ClientAddr::resolve(ip("192.0.2.1"), ["203.0.113.9"], &proxies);
        assert_eq!(client.ip(), ip("192.0.2.1"));
    }

    #[test]
    fn the_rightmost_hop_that_is_not_a_trusted_proxy_is_the_client() {
        let proxies = trusted("10.0.0.0/8, 192.0.2.7");
        // A fake hop prepended by the client, the client as the outer proxy saw it, then
        // an inner proxy.
        let client = ClientAddr::resolve(
            ip("192.0.2.7"),
            ["6.6.6.6, 203.0.113.9", "10.1.2.3"],
            &proxies,
        );
        assert_eq!(client.ip(), ip("203.0.113.9"));
    }

    #[test]
    fn hops_with_ports_and_mapped_addresses_are_read() {
        let proxies = trusted("127.0.0.1");
        let client = ClientAddr::resolve(ip("::ffff:127.0.0.1"), ["[2001:db8::5]:4711"], &proxies);
        assert_eq!(client.ip(), ip("2001:db8::5"));
        let client = ClientAddr::resolve(ip("127.0.0.1"), ["203.0.113.9:80"], &proxies);
        assert_eq!(client.ip(), ip("203.0.113.9"));
    }

    #[test]
    fn garbage_in_the_header_falls_back_to_the_last_trusted_hop() {
        let proxies = trusted("127.0.0.1, 10.0.0.0/8");
        let client = ClientAddr::resolve(
            ip("127.0.0.1"),
            ["203.0.113.9, unknown, 10.0.0.2"],
            &proxies,
        );
        assert_eq!(client.ip(), ip("10.0.0.2"));
        let client = ClientAddr::resolve(ip("127.0.0.1"), std::iter::empty(), &proxies);
        assert_eq!(client.ip(), ip("127.0.0.1"));
    }

    #[test]
    fn a_bad_trusted_proxy_entry_is_named() {
        let err = TrustedProxies::parse("10.0.0.0/8, 10.0.0.0/33").unwrap_err();
        assert!(err.contains("10.0.0.0/33"), "{err}");
        assert!(TrustedProxies::parse("proxy.example").is_err());
        assert!(TrustedProxies::parse("192.0.2.7, 2001:db8::/32").is_ok());
    }

    #[test]
    fn a_limit_of_zero_is_off_and_a_limit_counts_per_key() {
        let off = RateLimit::per_minute(0);
        let client = ClientAddr(ip("2001:db8::1"));
        assert!((0..100).all(|_| off.allows(&client)));
        let one = RateLimit::per_minute(1);
        assert!(one.allows(&client));
        assert!(!one.allows(&ClientAddr(ip("2001:db8::2"))), "same /64");
        assert!(
            one.allows(&ClientAddr(ip("2001:db8:0:1::1"))),
            "another /64"
        );
    }
}
