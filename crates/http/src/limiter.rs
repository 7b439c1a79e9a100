//! A token bucket per client address for the public routes (the checkout widget's search), which take
//! no API key: a client may make `per_minute` requests in a burst, then one every `60 / per_minute`
//! seconds. Behind a reverse proxy every client shares the proxy's address; rate-limit at the proxy
//! there, or raise the limit.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Buckets kept before the full ones are forgotten (a full bucket is the same as none).
const BUCKETS_MAX: usize = 100_000;

pub struct Limiter {
    per_minute: u32,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl Limiter {
    /// `per_minute == 0` turns the limit off.
    pub fn new(per_minute: u32) -> Self {
        Limiter { per_minute, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes a token for `client` at `now`, or says how long to wait for one.
    pub fn allow(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(self.per_minute);
        let per_second = capacity / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= BUCKETS_MAX {
            buckets.retain(|_, (tokens, at)| *tokens + now.duration_since(*at).as_secs_f64() * per_second < capacity);
        }
        let (tokens, at) = buckets.entry(client).or_insert((capacity, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * per_second).min(capacity);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_refill_rate_per_client() {
        let limiter = Limiter::new(60);
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let start = Instant::now();
        for _ in 0..60 {
            assert!(limiter.allow(a, start).is_ok());
        }
        let wait = limiter.allow(a, start).unwrap_err();
        assert!((wait.as_secs_f64() - 1.0).abs() < 1e-6, "{wait:?}");
        assert!(limiter.allow(b, start).is_ok(), "another client has its own bucket");
        assert!(limiter.allow(a, start + Duration::from_millis(1_000)).is_ok(), "one token per second");
        assert!(limiter.allow(a, start + Duration::from_millis(1_500)).is_err());
        assert!(Limiter::new(0).allow(a, start).is_ok());
    }
}
