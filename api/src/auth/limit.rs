//! Login throttling. Every attempt is counted against its account *from its address*,
//! against its address, and against the server as a whole:
//! - guessing one account's password from one place is slow (the pair's budget);
//! - guessing many accounts' passwords from one place is slow too (the address's budget);
//! - nobody can lock an account out by failing its logins from elsewhere, since the
//!   account's own budget is per address;
//! - a spread-out guessing campaign is held to the global budget.
//!
//! IPv6 addresses count by their /64, since one host commonly holds a whole /64. Counts live
//! in the server's memory (per server process).

use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Attempts allowed in a burst, and how fast they come back.
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    /// One account from one address.
    pub per_pair_burst: u32,
    pub per_address_burst: u32,
    /// One attempt of each budget above comes back every this long.
    pub refill: Duration,
    /// Every attempt on this server.
    pub global_burst: u32,
    pub global_refill: Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            per_pair_burst: 5,
            per_address_burst: 20,
            refill: Duration::from_secs(12),
            global_burst: 200,
            global_refill: Duration::from_millis(100),
        }
    }
}

pub struct LoginThrottle {
    pairs: DefaultKeyedRateLimiter<(String, Option<IpAddr>)>,
    addresses: DefaultKeyedRateLimiter<IpAddr>,
    global: DefaultDirectRateLimiter,
}

/// The address an attempt counts against: itself, or for IPv6 its /64.
fn bucket(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        },
        v4 => v4,
    }
}

impl LoginThrottle {
    pub fn new(limits: LoginLimits) -> Self {
        let quota = |burst: u32, every: Duration| {
            let burst = NonZeroU32::new(burst.max(1)).expect("at least one");
            Quota::with_period(every).expect("a non-zero refill period").allow_burst(burst)
        };
        Self {
            pairs: RateLimiter::keyed(quota(limits.per_pair_burst, limits.refill)),
            addresses: RateLimiter::keyed(quota(limits.per_address_burst, limits.refill)),
            global: RateLimiter::direct(quota(limits.global_burst, limits.global_refill)),
        }
    }

    /// Counts one attempt; `Err(wait)` when a budget is spent.
    pub fn attempt(&self, login: &str, from: Option<IpAddr>) -> Result<(), Duration> {
        let now = DefaultClock::default().now();
        let wait = |n: governor::NotUntil<_>| n.wait_time_from(now);
        let from = from.map(bucket);
        self.global.check().map_err(wait)?;
        if let Some(ip) = from {
            self.addresses.check_key(&ip).map_err(wait)?;
        }
        self.pairs.check_key(&(login.to_lowercase(), from)).map_err(wait)?;
        // Forget idle keys so the maps stay small.
        self.pairs.retain_recent();
        self.addresses.retain_recent();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle() -> LoginThrottle {
        LoginThrottle::new(LoginLimits {
            per_pair_burst: 2,
            per_address_burst: 3,
            refill: Duration::from_secs(60),
            global_burst: 100,
            global_refill: Duration::from_secs(60),
        })
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn an_account_from_an_address_and_an_address_are_each_limited() {
        let t = throttle();
        assert!(t.attempt("alice", ip("192.0.2.1")).is_ok());
        assert!(t.attempt("Alice", ip("192.0.2.1")).is_ok());
        let wait = t.attempt("alice", ip("192.0.2.1")).unwrap_err();
        assert!(wait > Duration::from_secs(50), "{wait:?}");
        // 192.0.2.1 has spent its 3 (the refused one counted); another account waits too.
        assert!(t.attempt("bob", ip("192.0.2.1")).is_err());
    }

    #[test]
    fn failing_an_accounts_logins_elsewhere_does_not_lock_it_out() {
        let t = throttle();
        for _ in 0..5 {
            let _ = t.attempt("admin", ip("198.51.100.66"));
        }
        assert!(t.attempt("admin", ip("198.51.100.66")).is_err(), "the attacker is throttled");
        assert!(t.attempt("admin", ip("192.0.2.10")).is_ok(), "the admin, elsewhere, is not");
    }

    #[test]
    fn ipv6_counts_by_its_64_and_mapped_ipv4_as_ipv4() {
        let t = throttle();
        for host in ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff::3"] {
            assert!(t.attempt(&format!("u-{host}"), ip(host)).is_ok());
        }
        assert!(t.attempt("another", ip("2001:db8:1:2:abcd::9")).is_err(), "one /64, one budget");
        assert!(t.attempt("another", ip("2001:db8:1:3::1")).is_ok(), "the next /64 is another");
        assert_eq!(bucket("::ffff:192.0.2.1".parse().unwrap()), "192.0.2.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn the_whole_server_has_a_budget() {
        let t = LoginThrottle::new(LoginLimits { global_burst: 3, ..LoginLimits::default() });
        for i in 0..3 {
            assert!(t.attempt("x", ip(&format!("192.0.2.{i}"))).is_ok());
        }
        assert!(t.attempt("x", ip("192.0.2.200")).is_err());
    }
}
