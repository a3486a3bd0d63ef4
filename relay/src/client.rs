//! Who a request is from: the peer's address, or, when the peer is a proxy the operator trusts
//! (`--trusted-proxy`), the address that proxy says it forwarded for. Limits and budgets count
//! by it (an IPv4 address, or an IPv6 /64, [`client_network`]).
//!
//! The proxy's word is read from the right: `X-Forwarded-For` lists the addresses a request came
//! through, each proxy appending the one it heard from, so everything left of what a trusted
//! proxy appended may be the client's invention. The first address from the right that is not a
//! trusted proxy is the client. Without `X-Forwarded-For`, RFC 7239's `Forwarded` (`for=`) is
//! read the same way.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

use crate::state::AppState;

/// The client a request is from, as `resolve` found it (in the request's extensions).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Client(pub IpAddr);

/// Finds the request's client and puts it in the request's extensions, for the limits.
pub(crate) async fn resolve(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    if let Some(ConnectInfo(peer)) = request.extensions().get::<ConnectInfo<SocketAddr>>() {
        let client = client_address(peer.ip(), request.headers(), &state.config.trusted_proxies);
        request.extensions_mut().insert(Client(client));
    }
    next.run(request).await
}

/// The client of a request from `peer` with `headers`, believing the proxies in `trusted`.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = canonical(peer);
    let is_trusted = |address: IpAddr| trusted.iter().any(|network| network.contains(&address));
    if !is_trusted(peer) {
        return peer;
    }
    let hops = forwarded_for(headers);
    let mut client = peer;
    for hop in hops.iter().rev() {
        if !is_trusted(client) {
            break;
        }
        match hop {
            Some(address) => client = canonical(*address),
            // An entry that is no address ("unknown", an obfuscated name): the last trusted
            // proxy is as far as the chain can be followed.
            None => break,
        }
    }
    client
}

/// The addresses the request says it came through, oldest first (`None` for an entry that is no
/// address): `X-Forwarded-For`'s, else `Forwarded`'s `for=`. At most 64 entries are read.
fn forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    const MOST: usize = 64;
    let values = |name: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let listed = values("x-forwarded-for");
    if !listed.is_empty() {
        let skip = listed.len().saturating_sub(MOST);
        return listed[skip..]
            .iter()
            .map(|entry| parse_node(entry))
            .collect();
    }
    let forwarded = values("forwarded");
    let skip = forwarded.len().saturating_sub(MOST);
    forwarded[skip..]
        .iter()
        .map(|element| {
            element
                .split(';')
                .filter_map(|pair| pair.split_once('='))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("for"))
                .and_then(|(_, node)| parse_node(node.trim().trim_matches('"')))
        })
        .collect()
}

/// An address as a proxy writes it: `203.0.113.9`, `203.0.113.9:4711`, `2001:db8::1`,
/// `[2001:db8::1]:4711`.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(address) = node.parse::<IpAddr>() {
        return Some(address);
    }
    if let Ok(address) = node.parse::<SocketAddr>() {
        return Some(address.ip());
    }
    node.strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
        .and_then(|(inside, _)| inside.parse::<Ipv6Addr>().ok())
        .map(IpAddr::V6)
}

/// An IPv4 address mapped into IPv6 as the IPv4 address it is.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

/// `address`, or its /64 network when it is IPv6 (an IPv4 address mapped into IPv6 stays itself):
/// what one client is counted as. (One subscriber commonly holds a whole /64, so a count per
/// address would let one client rotate through billions of them.)
pub fn client_network(address: IpAddr) -> IpAddr {
    match canonical(address) {
        IpAddr::V6(v6) => Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1)).into(),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).expect("a value"));
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn only_a_trusted_proxys_word_is_taken_read_from_the_right() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("a network")];
        let forged = headers(&[("x-forwarded-for", "198.51.100.1, 203.0.113.9")]);
        assert_eq!(
            client_address(ip("203.0.113.50"), &forged, &trusted),
            ip("203.0.113.50"),
            "a peer that is no trusted proxy is the client, whatever it says"
        );
        assert_eq!(
            client_address(ip("10.1.2.3"), &forged, &trusted),
            ip("203.0.113.9"),
            "what the trusted proxy appended, not what the client wrote before it"
        );
        let two_proxies = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.9, 10.9.9.9")]);
        assert_eq!(
            client_address(ip("10.1.2.3"), &two_proxies, &trusted),
            ip("203.0.113.9")
        );
        let split = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-for", "[2001:db8::1]:4711"),
        ]);
        assert_eq!(
            client_address(ip("10.1.2.3"), &split, &trusted),
            ip("2001:db8::1")
        );
        let garbage = headers(&[("x-forwarded-for", "not an address, 203.0.113.9:80")]);
        assert_eq!(
            client_address(ip("10.1.2.3"), &garbage, &trusted),
            ip("203.0.113.9")
        );
        let unknown = headers(&[("x-forwarded-for", "unknown")]);
        assert_eq!(
            client_address(ip("10.1.2.3"), &unknown, &trusted),
            ip("10.1.2.3")
        );
        assert_eq!(
            client_address(ip("10.1.2.3"), &HeaderMap::new(), &trusted),
            ip("10.1.2.3"),
            "nothing said: the proxy itself"
        );
    }

    #[test]
    fn forwarded_is_read_when_there_is_no_x_forwarded_for() {
        let trusted: Vec<IpNet> = vec!["127.0.0.1/32".parse().expect("a network")];
        let forwarded = headers(&[(
            "forwarded",
            "for=6.6.6.6, for=\"[2001:db8::7]:443\";proto=https;by=127.0.0.1",
        )]);
        assert_eq!(
            client_address(ip("127.0.0.1"), &forwarded, &trusted),
            ip("2001:db8::7")
        );
        let mapped = headers(&[("x-forwarded-for", "::ffff:203.0.113.9")]);
        assert_eq!(
            client_address(ip("::ffff:127.0.0.1"), &mapped, &trusted),
            ip("203.0.113.9"),
            "IPv4 mapped into IPv6 is IPv4, on both sides"
        );
    }

    #[test]
    fn ipv6_clients_are_counted_per_64_and_ipv4_per_address() {
        let key = |address: &str| client_network(ip(address));
        assert_eq!(
            key("2001:db8:1:2:aaaa:bbbb:cccc:dddd"),
            key("2001:db8:1:2::1")
        );
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:203.0.113.9"), key("203.0.113.9"));
        assert_ne!(key("203.0.113.9"), key("203.0.113.10"));
    }
}
