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
        let address = parts.extensions.get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
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
