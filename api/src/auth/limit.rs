//! Login throttling: every attempt is counted against its account and against its client
//! address, so neither guessing one account's password from many places nor many accounts'
//! from one place goes fast. Counts live in the server's memory (per server process).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Attempts allowed in a burst, and how fast they come back.
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    pub per_account_burst: u32,
    pub per_address_burst: u32,
    /// One attempt comes back every this long.
    pub refill: Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self { per_account_burst: 5, per_address_burst: 20, refill: Duration::from_secs(12) }
    }
}

pub struct LoginThrottle {
    accounts: DefaultKeyedRateLimiter<String>,
    addresses: DefaultKeyedRateLimiter<IpAddr>,
}

impl LoginThrottle {
    pub fn new(limits: LoginLimits) -> Self {
        let quota = |burst: u32| {
            let burst = NonZeroU32::new(burst.max(1)).expect("at least one");
            Quota::with_period(limits.refill).expect("a non-zero refill period").allow_burst(burst)
        };
        Self {
            accounts: RateLimiter::keyed(quota(limits.per_account_burst)),
            addresses: RateLimiter::keyed(quota(limits.per_address_burst)),
        }
    }

    /// Counts one attempt; `Err(wait)` when either budget is spent.
    pub fn attempt(&self, login: &str, from: Option<IpAddr>) -> Result<(), Duration> {
        let now = DefaultClock::default().now();
        let wait = |n: governor::NotUntil<_>| n.wait_time_from(now);
        if let Some(ip) = from {
            self.addresses.check_key(&ip).map_err(wait)?;
        }
        self.accounts.check_key(&login.to_lowercase()).map_err(wait)?;
        // Forget idle keys so the maps stay small.
        self.accounts.retain_recent();
        self.addresses.retain_recent();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_and_an_address_are_each_limited() {
        let t = LoginThrottle::new(LoginLimits {
            per_account_burst: 2,
            per_address_burst: 3,
            refill: Duration::from_secs(60),
        });
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(t.attempt("alice", Some(a)).is_ok());
        assert!(t.attempt("Alice", Some(b)).is_ok());
        let wait = t.attempt("alice", Some(b)).unwrap_err();
        assert!(wait > Duration::from_secs(50), "{wait:?}");
        assert!(t.attempt("bob", Some(a)).is_ok());
        // a has spent 2 (alice, bob) plus the refused one above was from b; one more from a
        // is the third and last.
        assert!(t.attempt("carol", Some(a)).is_ok());
        assert!(t.attempt("dave", Some(a)).is_err());
    }
}
