//! Waiting between attempts at a network request: exponential backoff with
//! jitter, a server's `Retry-After` honoured (in seconds or as an HTTP
//! date) up to a cap, and a bound on both the attempts and the time spent
//! retrying. Shared by the advisory downloads and the registry client; the
//! requests themselves are the caller's.

use std::time::{Duration, Instant, SystemTime};

/// How often and how patiently a request is tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Requests made at most (the first one included).
    pub attempts: u32,
    /// Wait before the first retry; doubled for each next one.
    pub first_wait: Duration,
    /// Longest single wait (also caps `Retry-After`).
    pub max_wait: Duration,
    /// Longest time spent retrying, from the first failure: no retry is
    /// started that would begin after it.
    pub max_total: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            first_wait: Duration::from_secs(1),
            max_wait: Duration::from_secs(60),
            max_total: Duration::from_secs(300),
        }
    }
}

/// The failures of one request so far, and when the next attempt may start.
#[derive(Debug)]
pub struct Backoff {
    policy: RetryPolicy,
    failures: u32,
    first_failure: Option<Instant>,
}

impl Backoff {
    /// No failure yet.
    pub fn new(policy: RetryPolicy) -> Self {
        Backoff {
            policy,
            failures: 0,
            first_failure: None,
        }
    }

    /// Requests made so far that failed.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Counts a failed attempt and says how long to wait before the next,
    /// or `None` when the attempts or the time are used up. The wait is the
    /// doubled backoff with jitter (between half of it and all of it), or
    /// the server's `retry_after` when that is longer, never past
    /// [`RetryPolicy::max_wait`].
    pub fn next_wait(&mut self, retry_after: Option<Duration>) -> Option<Duration> {
        self.failures += 1;
        let started = *self.first_failure.get_or_insert_with(Instant::now);
        if self.failures >= self.policy.attempts {
            return None;
        }
        let doubled = self
            .policy
            .first_wait
            .saturating_mul(1 << (self.failures - 1).min(16))
            .min(self.policy.max_wait);
        let jittered = doubled / 2 + doubled.mul_f64(fastrand::f64() / 2.0);
        let wait = retry_after
            .map_or(jittered, |after| after.max(jittered))
            .min(self.policy.max_wait);
        (started.elapsed() + wait <= self.policy.max_total).then_some(wait)
    }
}

/// A `Retry-After` header's value as a wait from `now`: delay-seconds or
/// an HTTP date (IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`). A date in
/// the past is no wait; anything else is `None`.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let at = time::PrimitiveDateTime::parse(value, format)
        .ok()?
        .assume_utc();
    let at = SystemTime::from(at);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(attempts: u32) -> RetryPolicy {
        RetryPolicy {
            attempts,
            first_wait: Duration::from_millis(100),
            max_wait: Duration::from_secs(1),
            max_total: Duration::from_secs(60),
        }
    }

    #[test]
    fn waits_double_with_jitter_up_to_the_cap() {
        let mut backoff = Backoff::new(policy(10));
        let expected = [100, 200, 400, 800, 1000, 1000];
        for full in expected {
            let wait = backoff.next_wait(None).unwrap();
            let full = Duration::from_millis(full);
            assert!(wait >= full / 2 && wait <= full, "{wait:?} for {full:?}");
        }
        assert_eq!(backoff.failures(), 6);
    }

    #[test]
    fn attempts_are_bounded() {
        let mut backoff = Backoff::new(policy(3));
        assert!(backoff.next_wait(None).is_some());
        assert!(backoff.next_wait(None).is_some());
        assert_eq!(
            backoff.next_wait(None),
            None,
            "the third failure is the last"
        );
    }

    #[test]
    fn total_time_is_bounded() {
        let mut backoff = Backoff::new(RetryPolicy {
            max_total: Duration::from_millis(500),
            ..policy(100)
        });
        assert_eq!(
            backoff.next_wait(Some(Duration::from_millis(600))),
            None,
            "a wait past the total is not started"
        );
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let mut backoff = Backoff::new(policy(10));
        assert_eq!(
            backoff.next_wait(Some(Duration::from_millis(700))),
            Some(Duration::from_millis(700))
        );
        assert_eq!(
            backoff.next_wait(Some(Duration::from_secs(3600))),
            Some(Duration::from_secs(1)),
            "capped at max_wait"
        );
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO),
            "a date already past"
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
    }
}
