//! Tokens: made here, kept as SHA-256 hashes by the store, and checked on every request.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, StatusCode};
use governor::clock::{Clock, DefaultClock};
use governor::nanos::Nanos;
use governor::state::StateStore;
use governor::state::keyed::ShrinkableKeyedStateStore;
use governor::{Quota, RateLimiter};
use huichang_core::role::{Grant, Role};
use huichang_store::{Actor, Owned};
use rand::Rng;

use crate::AppState;
use crate::error::ApiError;
use crate::http::{SESSION_COOKIE, bearer, cookie, header_text};

/// A new random token of `role`: its prefix says the role, 32 random bytes make it unguessable.
pub fn new_token(role: Role) -> String {
    new_secret(role.token_prefix())
}

/// `prefix` and 32 random bytes in hex.
pub fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

pub use huichang_core::role::hash_token;

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

    /// The caller's grant over an event, or over a venue and its event: a unit's token reaches
    /// them through the units that hold the event and run the venue ([`Grant::within`]); any
    /// other token is bound to its event already, and costs no lookup.
    pub async fn over(&self, state: &AppState, of: Owned) -> Result<Grant, ApiError> {
        Ok(grant_over(state, &self.grant, of).await?)
    }
}

/// `grant` over an event, or a venue and its event (see [`Caller::over`]).
pub async fn grant_over(state: &AppState, grant: &Grant, of: Owned) -> huichang_store::Result<Grant> {
    let Some(unit) = grant.unit_id else { return Ok(grant.clone()) };
    Ok(match state.store.owners(of, unit).await? {
        Some(owners) => grant.within(&owners),
        None => grant.clone(),
    })
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let acts = !parts.method.is_safe();
        let signed_in = authenticate(state, &parts.headers, &parts.extensions, None, acts).await?;
        let address = signed_in.address;
        let (grant, _) = signed_in.grant("send the token as 'Authorization: Bearer <token>', or sign in")?;
        // A venue's or viewer's token that writes faster than any person could is slowed
        // down; the organiser's own token is not.
        if acts
            && grant.role != Role::Admin
            && let Err(wait) = state.writes.hit(grant.token_id)
        {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_writes",
                "this token is making changes faster than allowed; wait and try again",
            )
            .retry(wait.as_secs().max(1)));
        }
        Ok(Caller { grant, address })
    }
}

/// Where a request comes from, as far as the browser tells: `Origin`, `Sec-Fetch-Site`, and the
/// header only this site's scripts send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Site {
    /// A page of this server sent it.
    This,
    /// Another site made the browser send it.
    Other,
    /// Nothing says: a client that is not a browser, or a plain navigation.
    Unknown,
}

impl Site {
    pub fn of(headers: &HeaderMap) -> Site {
        let host = header_text(headers, "x-forwarded-host").or(header_text(headers, "host"));
        let origin_is_here = header_text(headers, "origin")
            .map(|origin| origin.split_once("://").is_some_and(|(_, authority)| Some(authority) == host));
        let fetch_site = header_text(headers, "sec-fetch-site");
        if origin_is_here == Some(false) || fetch_site == Some("cross-site") {
            Site::Other
        } else if origin_is_here == Some(true)
            || fetch_site == Some("same-origin")
            || header_text(headers, PAGE_HEADER) == Some("huichang")
        {
            Site::This
        } else {
            Site::Unknown
        }
    }
}

/// Who a request is signed in as, if anyone.
pub struct SignedIn {
    pub address: Option<IpAddr>,
    /// The token came in the session cookie, not from the client's own hand.
    pub by_session: bool,
    /// The token's hash and what looking it up found; `None` when the request carries no token.
    pub token: Option<(String, Lookup)>,
}

impl SignedIn {
    /// The grant and its token's hash, or the API's 401 (`missing` says how to send a token) or 429.
    pub fn grant(self, missing: &str) -> Result<(Grant, String), ApiError> {
        match self.token {
            None => Err(ApiError::unauthorized(missing)),
            Some((hash, Lookup::Found(grant))) => Ok((grant, hash)),
            Some((_, Lookup::Unknown)) => Err(ApiError::unauthorized("the token is unknown or was revoked")),
            Some((_, Lookup::Blocked(wait))) => Err(too_many_attempts(wait)),
        }
    }
}

/// Signs a request in, the same way for the API, the live feed and the pages: a bearer token,
/// else `token` (the live feed's `?token=`), else the session cookie, looked up under the failed
/// sign-in limit.
///
/// The one cross-site rule: the browser sends the cookie by itself, even with a request another
/// site triggers, so the cookie signs nothing in that comes from another site ([`Site::Other`]),
/// and a request that `acts` (changes something, or opens the live feed) must show it comes from
/// this site ([`Site::This`]). Tokens the client sends itself are not subject to it.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    extensions: &Extensions,
    token: Option<String>,
    acts: bool,
) -> Result<SignedIn, ApiError> {
    let address = client_address(headers, extensions, &state.trusted_proxies);
    let (token, by_session) = match bearer(headers).or(token) {
        Some(token) => (Some(token), false),
        None => (cookie(headers, SESSION_COOKIE), true),
    };
    let Some(token) = token else { return Ok(SignedIn { address, by_session: false, token: None }) };
    if by_session {
        match (Site::of(headers), acts) {
            (Site::Other, _) | (Site::Unknown, true) => {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "cross_site_request",
                    format!(
                        "a request signed in by the session cookie must come from this site's pages ('{PAGE_HEADER}: huichang' or this host's Origin)"
                    ),
                ));
            }
            _ => {}
        }
    }
    let hash = hash_token(&token);
    let lookup = look_up(state, &hash, address).await?;
    Ok(SignedIn { address, by_session, token: Some((hash, lookup)) })
}

/// A token looked up under the failed sign-in limit.
pub enum Lookup {
    Found(Grant),
    /// Unknown or revoked; counted as a failed sign-in of the address.
    Unknown,
    /// The address is past the limit, so the token was not looked up: how long it must wait.
    Blocked(Duration),
}

/// Looks up a token the way the API, the live feed and the pages all do. A blocked address is
/// answered before its token is looked up: past the limit, a guess costs the server nothing and
/// cannot succeed. An office behind one address that mistypes twenty times waits a few seconds,
/// like the guesser.
pub async fn look_up(state: &AppState, token_hash: &str, address: Option<IpAddr>) -> huichang_store::Result<Lookup> {
    if let Some(wait) = state.failed_auth.wait(address) {
        return Ok(Lookup::Blocked(wait));
    }
    Ok(match state.store.grant(token_hash).await? {
        Some(grant) => Lookup::Found(grant),
        None => {
            state.failed_auth.failed(address);
            Lookup::Unknown
        }
    })
}

/// The address a request came from: the connection's, or, when that is a trusted reverse proxy,
/// the right-most address in `X-Forwarded-For` that is not one. Each proxy appends the address
/// it was reached from, so whatever a client writes there itself stands further left, behind
/// the address its own proxy appended. When every address is a listed proxy, the right-most one
/// is taken, never the left-most, which a client may have written; an entry that is not an
/// address ends the walk.
pub fn client_address(headers: &HeaderMap, extensions: &Extensions, trusted: &TrustedProxies) -> Option<IpAddr> {
    let peer = extensions.get::<ConnectInfo<std::net::SocketAddr>>()?.0.ip().to_canonical();
    if !trusted.contains(peer) {
        return Some(peer);
    }
    let forwarded: Vec<&str> =
        headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).collect();
    let mut hops = forwarded.iter().rev().map_while(|a| a.trim().parse::<IpAddr>().ok()).map(|a| a.to_canonical());
    let nearest = hops.clone().next();
    Some(hops.find(|a| !trusted.contains(*a)).or(nearest).unwrap_or(peer))
}

/// The reverse proxies whose `X-Forwarded-For` names the client (`HUICHANG_TRUSTED_PROXIES`):
/// the proxies' own addresses, such as `127.0.0.1, 10.0.12.5`. Ranges (`10.0.0.0/8`) are read too,
/// but any client inside one could write its own `X-Forwarded-For`.
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

/// Sent by the pages' scripts with every request they make; no other site can add it (see [`authenticate`]).
pub const PAGE_HEADER: &str = "x-requested-with";

/// The answer to an address past the failed sign-in limit.
fn too_many_attempts(wait: Duration) -> ApiError {
    ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts", "too many failed sign-ins from this address")
        .retry(wait.as_secs().max(1))
}

/// Failed sign-ins (API, pages and live feed alike): 20 at once from one client, then one more
/// every 3 s, decided by governor's GCRA. Kept in memory: a restart forgives, which is acceptable.
///
/// Memory is bounded whatever the number of addresses: a client counts against one of 65,536
/// buckets (at most about 2 MiB of state), picked by a hash of its address under a key random
/// to this process, so nobody can aim at the bucket someone else uses; an IPv6 client counts by
/// its /64, which one device can fill with addresses. Buckets back to a fresh state are dropped
/// each minute, so the map is small unless many clients fail at once.
pub struct FailedSignIns {
    limiter: RateLimiter<Attempt, Buckets, DefaultClock>,
    hasher: RandomState,
    swept: Mutex<Instant>,
}

impl FailedSignIns {
    pub fn new(per_minute: NonZeroU32) -> Self {
        FailedSignIns {
            limiter: RateLimiter::new(Quota::per_minute(per_minute), Buckets::default(), DefaultClock::default()),
            hasher: RandomState::new(),
            swept: Mutex::new(Instant::now()),
        }
    }

    /// How long `address` must wait, when it is past the limit. Counts nothing: it is asked
    /// before a token is looked up, so that past the limit no guess is even tried.
    pub fn wait(&self, address: Option<IpAddr>) -> Option<Duration> {
        let key = Attempt { bucket: self.bucket(address?), counts: false };
        self.limiter.check_key(&key).err().map(|until| until.wait_time_from(self.limiter.clock().now()))
    }

    /// Counts a failed sign-in of `address`.
    pub fn failed(&self, address: Option<IpAddr>) {
        let Some(address) = address else { return };
        let _ = self.limiter.check_key(&Attempt { bucket: self.bucket(address), counts: true });
        let mut swept = self.swept.lock().unwrap_or_else(|e| e.into_inner());
        if swept.elapsed() >= Duration::from_secs(60) {
            *swept = Instant::now();
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.limiter.len()
    }

    fn bucket(&self, address: IpAddr) -> u16 {
        let network = match address.to_canonical() {
            IpAddr::V4(v4) => (4, u128::from(u32::from(v4))),
            IpAddr::V6(v6) => (6, u128::from(v6) >> 64),
        };
        self.hasher.hash_one(network) as u16
    }
}

/// A failed sign-in of a bucket, or, when it does not count, the question whether one would
/// still be let through.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Attempt {
    bucket: u16,
    counts: bool,
}

/// governor's state per bucket (the GCRA's theoretical arrival time); a question is answered
/// from it without changing it.
#[derive(Default)]
struct Buckets(Mutex<HashMap<u16, Nanos>>);

impl Buckets {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u16, Nanos>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl StateStore for Buckets {
    type Key = Attempt;

    fn measure_and_replace<T, F, E>(&self, key: &Attempt, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let mut buckets = self.lock();
        let (outcome, next) = f(buckets.get(&key.bucket).copied())?;
        if key.counts {
            buckets.insert(key.bucket, next);
        }
        Ok(outcome)
    }
}

impl ShrinkableKeyedStateStore<Attempt> for Buckets {
    fn retain_recent(&self, drop_below: Nanos) {
        self.lock().retain(|_, arrival| *arrival > drop_below);
    }

    fn shrink_to_fit(&self) {
        self.lock().shrink_to_fit();
    }

    fn len(&self) -> usize {
        self.lock().len()
    }

    fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}

/// Changes per token in a fixed window; past the limit the token waits for the window to end.
/// Its keys are live tokens, which the database bounds.
pub struct Limiter<K> {
    limit: u32,
    window: Duration,
    seen: Mutex<HashMap<K, (Instant, u32)>>,
}

impl<K: std::hash::Hash + Eq + Copy> Limiter<K> {
    pub fn new(limit: u32, window: Duration) -> Self {
        Limiter { limit, window, seen: Mutex::new(HashMap::new()) }
    }

    /// Counts one more for `key` unless it is over the limit; then how long it must wait.
    pub(crate) fn hit(&self, key: K) -> Result<(), Duration> {
        let now = Instant::now();
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() > 100_000 {
            seen.retain(|_, (since, _)| now.duration_since(*since) < self.window);
        }
        let (since, count) = seen.entry(key).or_insert((now, 0));
        if now.duration_since(*since) >= self.window {
            (*since, *count) = (now, 0);
        }
        if *count >= self.limit {
            return Err(self.window - now.duration_since(*since));
        }
        *count += 1;
        Ok(())
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
    fn a_request_comes_from_this_site_only_when_the_browser_says_so() {
        let site = |pairs: &[(&'static str, &'static str)]| {
            let mut headers = HeaderMap::new();
            headers.insert("host", axum::http::HeaderValue::from_static("huichang.example.cn"));
            for (name, value) in pairs {
                headers.insert(*name, axum::http::HeaderValue::from_static(value));
            }
            Site::of(&headers)
        };
        assert_eq!(site(&[]), Site::Unknown);
        assert_eq!(site(&[("sec-fetch-site", "same-site")]), Site::Unknown);
        assert_eq!(site(&[("origin", "https://huichang.example.cn")]), Site::This);
        assert_eq!(site(&[("sec-fetch-site", "same-origin")]), Site::This);
        assert_eq!(site(&[(PAGE_HEADER, "huichang")]), Site::This);
        assert_eq!(site(&[("origin", "https://evil.example")]), Site::Other);
        assert_eq!(site(&[("origin", "null")]), Site::Other);
        assert_eq!(site(&[("sec-fetch-site", "cross-site")]), Site::Other);
        // Another site cannot make itself this one by adding the header too.
        assert_eq!(site(&[("origin", "https://evil.example"), (PAGE_HEADER, "huichang")]), Site::Other);
        assert_eq!(site(&[("sec-fetch-site", "cross-site"), (PAGE_HEADER, "huichang")]), Site::Other);
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
            client_address(&parts.headers, &parts.extensions, &trusted).unwrap().to_string()
        };
        assert_eq!(request("203.0.113.9", &["198.51.100.1"]), "203.0.113.9", "an untrusted peer is the client");
        assert_eq!(request("127.0.0.1", &["198.51.100.1"]), "198.51.100.1");
        // A client's own claim stands left of what the proxies appended, and is passed over.
        assert_eq!(request("127.0.0.1", &["6.6.6.6, 198.51.100.1, 10.1.2.3"]), "198.51.100.1");
        assert_eq!(request("127.0.0.1", &["6.6.6.6", "198.51.100.1"]), "198.51.100.1");
        // A client inside a listed range writes a listed address: the one its proxy appended
        // stands right of it and is taken, so it cannot pick a new address for each guess.
        assert_eq!(request("127.0.0.1", &["10.9.9.9, 10.1.2.3"]), "10.1.2.3");
        assert_eq!(request("127.0.0.1", &["6.6.6.6, not-an-address, 10.1.2.3"]), "10.1.2.3");
        assert_eq!(request("::ffff:203.0.113.9", &["198.51.100.1"]), "203.0.113.9");
        assert_eq!(request("127.0.0.1", &[]), "127.0.0.1", "nothing forwarded: the proxy itself");
        assert_eq!(request("::ffff:10.0.0.5", &["2001:db8::1"]), "2001:db8::1");
        assert!(trusted.contains("fd12::1".parse().unwrap()) && !trusted.contains("11.0.0.1".parse().unwrap()));
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err() && TrustedProxies::parse("proxy").is_err());
        assert!(TrustedProxies::parse("0.0.0.0/0").unwrap().contains("8.8.8.8".parse().unwrap()));
    }

    #[test]
    fn a_client_that_keeps_failing_waits_and_asking_counts_nothing() {
        let limiter = FailedSignIns::new(NonZeroU32::new(3).unwrap());
        let address: Option<IpAddr> = "127.0.0.7".parse().ok();
        for _ in 0..10 {
            assert!(limiter.wait(address).is_none(), "asking whether to wait is not a failure");
        }
        for _ in 0..3 {
            limiter.failed(address);
        }
        let wait = limiter.wait(address).expect("past the limit");
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(20), "{wait:?}");
        let other = (8..20)
            .map(|n| IpAddr::from([127, 0, 0, n]))
            .find(|a| limiter.bucket(*a) != limiter.bucket(address.unwrap()));
        assert!(limiter.wait(other).is_none(), "another client does not wait");
        assert!(limiter.wait(None).is_none(), "no address, no limit to apply");
    }

    #[test]
    fn an_ipv6_client_counts_by_its_network() {
        let limiter = FailedSignIns::new(NonZeroU32::new(2).unwrap());
        limiter.failed("2001:db8:1:2::1".parse().ok());
        limiter.failed("2001:db8:1:2:ffff::9".parse().ok());
        assert!(limiter.wait("2001:db8:1:2::77".parse().ok()).is_some(), "the same /64");
        assert_eq!(limiter.len(), 1);
    }

    #[test]
    fn failures_from_any_number_of_addresses_take_bounded_memory() {
        let limiter = FailedSignIns::new(NonZeroU32::new(20).unwrap());
        for n in 0..200_000u32 {
            limiter.failed(Some(IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + n))));
        }
        assert!(limiter.len() <= usize::from(u16::MAX) + 1, "{} buckets", limiter.len());
    }

    #[test]
    fn a_token_writing_past_its_limit_waits_for_the_window() {
        let limiter = Limiter::new(3, Duration::from_secs(60));
        let token = uuid::Uuid::now_v7();
        for _ in 0..3 {
            limiter.hit(token).unwrap();
        }
        assert!(limiter.hit(token).unwrap_err() <= Duration::from_secs(60));
        limiter.hit(uuid::Uuid::now_v7()).unwrap();
    }
}
