//! Tokens: made here, kept as SHA-256 hashes by the store, and checked on every request.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use huichang_core::role::{Grant, Role};
use huichang_store::Actor;
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::ApiError;

/// A new random token of `role`: its prefix says the role, 32 random bytes make it unguessable.
pub fn new_token(role: Role) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{}{}", role.token_prefix(), hex::encode(bytes))
}

/// Tokens are long and random, so a fast hash is enough: nothing to brute-force.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

/// The caller of a request: a live token's grant and the address it came from.
#[derive(Debug, Clone)]
pub struct Caller {
    pub grant: Grant,
    pub address: Option<IpAddr>,
}

impl Caller {
    pub fn actor(&self) -> Actor {
        Actor {
            role: self.grant.role,
            token_id: Some(self.grant.token_id),
            address: self.address.map(|a| a.to_string()),
        }
    }

    pub fn require(&self, allowed: bool) -> Result<(), ApiError> {
        if allowed { Ok(()) } else { Err(ApiError::forbidden()) }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let address = client_address(parts, &state.trusted_proxies);
        let token = match bearer(&parts.headers) {
            Some(token) => token,
            None => {
                let token = crate::pages::cookie(&parts.headers, crate::pages::SESSION_COOKIE).ok_or_else(|| {
                    ApiError::unauthorized("send the token as 'Authorization: Bearer <token>', or sign in")
                })?;
                // A cookie rides along with any request the browser makes, even one another site
                // triggers; only the pages' own scripts send this header, and no other site can.
                if !parts.method.is_safe() && parts.headers.get(PAGE_HEADER).is_none_or(|v| v != "huichang") {
                    return Err(ApiError::new(
                        axum::http::StatusCode::FORBIDDEN,
                        "cross_site_request",
                        format!("a change signed in by the session cookie must carry '{PAGE_HEADER}: huichang'"),
                    ));
                }
                token
            }
        };
        if let Some(grant) = state.store.grant(&hash_token(&token)).await? {
            // A venue's or viewer's token that writes faster than any person could is slowed
            // down; the organiser's own token is not.
            if !parts.method.is_safe()
                && grant.role != Role::Admin
                && let Err(wait) = state.writes.hit(grant.token_id)
            {
                return Err(ApiError::new(
                    axum::http::StatusCode::TOO_MANY_REQUESTS,
                    "too_many_writes",
                    "this token is making changes faster than allowed; wait and try again",
                )
                .retry(wait.as_secs().max(1)));
            }
            return Ok(Caller { grant, address });
        }
        // Only guesses are slowed down: an office behind one address keeps working with its
        // valid tokens while someone there mistypes one.
        if let Some(address) = address {
            if let Some(wait) = state.failed_auth.blocked(address) {
                return Err(ApiError::new(
                    axum::http::StatusCode::TOO_MANY_REQUESTS,
                    "too_many_attempts",
                    "too many failed sign-ins from this address",
                )
                .retry(wait.as_secs().max(1)));
            }
            state.failed_auth.record(address);
        }
        Err(ApiError::unauthorized("the token is unknown or was revoked"))
    }
}

/// The address a request came from: the connection's, or, when that is a trusted reverse proxy,
/// the last address in `X-Forwarded-For` that is not one (each proxy appends the address it was
/// reached from, so what a client writes there itself stands further left and is passed over).
pub fn client_address(parts: &Parts, trusted: &TrustedProxies) -> Option<IpAddr> {
    let peer = parts.extensions.get::<ConnectInfo<std::net::SocketAddr>>()?.0.ip();
    if !trusted.contains(peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    Some(forwarded.iter().rev().find(|a| !trusted.contains(**a)).or(forwarded.first()).copied().unwrap_or(peer))
}

/// The reverse proxies whose `X-Forwarded-For` names the client (`HUICHANG_TRUSTED_PROXIES`):
/// addresses and ranges such as `127.0.0.1, 10.0.0.0/8, fd00::/8`.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    pub fn parse(text: &str) -> Result<TrustedProxies, String> {
        let mut ranges = Vec::new();
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (address, bits) = item.split_once('/').unwrap_or((item, ""));
            let address: IpAddr = address.parse().map_err(|_| format!("'{item}' is not an address or a range"))?;
            let most = if address.is_ipv4() { 32 } else { 128 };
            let bits = match bits {
                "" => most,
                bits => bits
                    .parse()
                    .ok()
                    .filter(|b| *b <= most)
                    .ok_or_else(|| format!("'{item}': the range must be /0 to /{most}"))?,
            };
            ranges.push((address, bits));
        }
        Ok(TrustedProxies(ranges))
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        // An IPv4 client may reach an IPv6 socket as ::ffff:a.b.c.d.
        let address = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
            v4 => v4,
        };
        self.0.iter().any(|&(range, bits)| match (range, address) {
            (IpAddr::V4(r), IpAddr::V4(a)) => prefix(u128::from(u32::from(r)), u128::from(u32::from(a)), 32, bits),
            (IpAddr::V6(r), IpAddr::V6(a)) => prefix(u128::from(r), u128::from(a), 128, bits),
            _ => false,
        })
    }
}

/// Whether `a` and `b`, numbers of `width` bits, agree in their first `bits` bits.
fn prefix(a: u128, b: u128, width: u32, bits: u8) -> bool {
    let shift = width - u32::from(bits);
    shift >= width || (a >> shift) == (b >> shift)
}

/// Sent by the pages' scripts with every change they make (see the cookie case above).
pub const PAGE_HEADER: &str = "x-requested-with";

/// The token of an `Authorization: Bearer …` header.
pub(crate) fn bearer(headers: &axum::http::HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim().to_owned())
}

/// Counts events per key (failed sign-ins per address, writes per token) in a fixed window;
/// past the limit the key waits for the window to end. Kept in memory: a restart forgives,
/// which is acceptable.
pub struct Limiter<K> {
    limit: u32,
    window: Duration,
    seen: Mutex<HashMap<K, (Instant, u32)>>,
}

impl<K: std::hash::Hash + Eq + Copy> Limiter<K> {
    pub fn new(limit: u32, window: Duration) -> Self {
        Limiter { limit, window, seen: Mutex::new(HashMap::new()) }
    }

    pub(crate) fn record(&self, key: K) {
        let now = Instant::now();
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() > 100_000 {
            seen.retain(|_, (since, _)| now.duration_since(*since) < self.window);
        }
        let entry = seen.entry(key).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
    }

    /// How long `key` must still wait, if it is over the limit.
    pub(crate) fn blocked(&self, key: K) -> Option<Duration> {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let (since, count) = seen.get(&key)?;
        let elapsed = since.elapsed();
        (*count >= self.limit && elapsed < self.window).then(|| self.window - elapsed)
    }

    /// Counts one more for `key` unless it is over the limit; then how long it must wait.
    pub(crate) fn hit(&self, key: K) -> Result<(), Duration> {
        match self.blocked(key) {
            Some(wait) => Err(wait),
            None => {
                self.record(key);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_their_role_and_hash_stably() {
        let token = new_token(Role::Coordinator);
        assert!(token.starts_with("hcc_") && token.len() == 4 + 64);
        assert_eq!(hash_token(&token), hash_token(&format!(" {token} ")));
        assert_ne!(hash_token(&token), hash_token(&new_token(Role::Coordinator)));
    }

    #[test]
    fn a_trusted_proxy_passes_on_the_address_it_was_reached_from() {
        let trusted = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8, fd00::/8").unwrap();
        let request = |peer: &str, forwarded: &[&str]| {
            let mut builder = axum::http::Request::builder();
            for value in forwarded {
                builder = builder.header("x-forwarded-for", *value);
            }
            let (mut parts, ()) = builder.body(()).unwrap().into_parts();
            parts.extensions.insert(ConnectInfo(std::net::SocketAddr::new(peer.parse().unwrap(), 40000)));
            client_address(&parts, &trusted).unwrap().to_string()
        };
        assert_eq!(request("203.0.113.9", &["198.51.100.1"]), "203.0.113.9", "an untrusted peer is the client");
        assert_eq!(request("127.0.0.1", &["198.51.100.1"]), "198.51.100.1");
        // A client's own claim stands left of what the proxies appended, and is passed over.
        assert_eq!(request("127.0.0.1", &["6.6.6.6, 198.51.100.1, 10.1.2.3"]), "198.51.100.1");
        assert_eq!(request("127.0.0.1", &["6.6.6.6", "198.51.100.1"]), "198.51.100.1");
        assert_eq!(request("127.0.0.1", &[]), "127.0.0.1", "nothing forwarded: the proxy itself");
        assert_eq!(request("::ffff:10.0.0.5", &["2001:db8::1"]), "2001:db8::1");
        assert!(trusted.contains("fd12::1".parse().unwrap()) && !trusted.contains("11.0.0.1".parse().unwrap()));
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err() && TrustedProxies::parse("proxy").is_err());
        assert!(TrustedProxies::parse("0.0.0.0/0").unwrap().contains("8.8.8.8".parse().unwrap()));
    }

    #[test]
    fn an_address_is_blocked_after_the_limit_until_the_window_ends() {
        let limiter = Limiter::new(3, Duration::from_secs(60));
        let address: IpAddr = "127.0.0.7".parse().unwrap();
        for _ in 0..2 {
            limiter.record(address);
        }
        assert!(limiter.blocked(address).is_none());
        limiter.record(address);
        assert!(limiter.blocked(address).unwrap() <= Duration::from_secs(60));
        assert!(limiter.blocked("127.0.0.8".parse().unwrap()).is_none());
    }
}
