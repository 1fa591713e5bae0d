//! The retry schedule: Svix's 5 s, 5 m, 30 m, 2 h, 5 h, 10 h, 10 h with ±20 % jitter.
//!
//! The first attempt goes out at once; after the n-th failed attempt the callback waits the
//! n-th step; when the steps run out it is failed. A `Retry-After` answer is honoured,
//! clamped to 1–2× the (jittered) step as Svix does. A timeout or a 429 waits at least
//! [`SLOW_DOWN`] (or the schedule's longest step, if shorter, so a test schedule stays short).

use chrono::{DateTime, Utc};
use rand::Rng;
use std::time::Duration;

/// The least wait after a timeout or a 429 (Svix).
pub const SLOW_DOWN: Duration = Duration::from_secs(60);
/// The default jitter: each step is scaled by a random factor in 1 ± 0.2.
pub const JITTER: f64 = 0.2;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScheduleError {
    #[error("`{0}` is not a duration (e.g. 500ms, 5s, 5m, 2h, 1d)")]
    BadStep(String),
    #[error("a retry schedule needs at least one step")]
    Empty,
}

/// What an answer says about waiting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetryHint {
    /// The answer's `Retry-After`.
    pub retry_after: Option<Duration>,
    /// A timeout or a 429: the receiver is overloaded.
    pub slow_down: bool,
}

/// The waits between attempts.
#[derive(Debug, Clone, PartialEq)]
pub struct RetrySchedule {
    steps: Vec<Duration>,
    jitter: f64,
}

impl Default for RetrySchedule {
    fn default() -> Self {
        let min = |m: u64| Duration::from_secs(m * 60);
        Self {
            steps: vec![
                Duration::from_secs(5),
                min(5),
                min(30),
                min(120),
                min(300),
                min(600),
                min(600),
            ],
            jitter: JITTER,
        }
    }
}

impl std::fmt::Display for RetrySchedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let steps: Vec<String> = self.steps.iter().map(|d| format_step(*d)).collect();
        write!(f, "{}", steps.join(","))
    }
}

impl RetrySchedule {
    /// `steps` with the default ±20 % jitter.
    pub fn new(steps: Vec<Duration>) -> Result<Self, ScheduleError> {
        if steps.is_empty() {
            return Err(ScheduleError::Empty);
        }
        Ok(Self {
            steps,
            jitter: JITTER,
        })
    }

    /// `5s,5m,30m,2h` (units ms, s, m, h, d; a bare number is seconds).
    pub fn parse(text: &str) -> Result<Self, ScheduleError> {
        let steps = text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| parse_duration(s).ok_or_else(|| ScheduleError::BadStep(s.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(steps)
    }

    /// Replaces the jitter (0 gives exact steps), clamped to 0–0.9.
    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = if jitter.is_finite() {
            jitter.clamp(0.0, 0.9)
        } else {
            JITTER
        };
        self
    }

    pub fn steps(&self) -> &[Duration] {
        &self.steps
    }

    /// Attempts in all: the first plus one per step.
    pub fn max_attempts(&self) -> u32 {
        u32::try_from(self.steps.len() + 1).unwrap_or(u32::MAX)
    }

    /// How long to wait after `attempts` failed attempts (counting the one just made);
    /// `None` when the schedule is exhausted.
    pub fn delay(&self, attempts: u32, hint: RetryHint) -> Option<Duration> {
        let idx = usize::try_from(attempts.checked_sub(1)?).ok()?;
        let step = *self.steps.get(idx)?;
        let factor = 1.0 + rand::rng().random_range(-1.0..=1.0) * self.jitter;
        let mut wait = step.mul_f64(factor);
        if let Some(asked) = hint.retry_after {
            wait = asked.clamp(wait, wait * 2);
        }
        if hint.slow_down {
            let longest = self.steps.iter().max().copied().unwrap_or(step);
            wait = wait.max(SLOW_DOWN.min(longest));
        }
        Some(wait)
    }
}

/// `500ms`, `10s`, `50m`, `1h`, `30d`; a bare number is seconds. Used for every duration flag.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86400.0,
        _ => return None,
    };
    (0.0..1e9)
        .contains(&secs)
        .then(|| Duration::from_secs_f64(secs))
}

fn format_step(d: Duration) -> String {
    let s = d.as_secs();
    match (d.subsec_millis(), s) {
        (ms, _) if ms != 0 => format!("{}ms", d.as_millis()),
        (_, s) if s != 0 && s % 3600 == 0 => format!("{}h", s / 3600),
        (_, s) if s != 0 && s % 60 == 0 => format!("{}m", s / 60),
        (_, s) => format!("{s}s"),
    }
}

/// A `Retry-After` value: seconds, or an HTTP date (RFC 9110).
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs.min(u64::from(u32::MAX))));
    }
    let at = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
    (at - now).to_std().ok().or(Some(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn the_default_is_svix_with_twenty_percent_jitter() {
        let s = RetrySchedule::default();
        assert_eq!(s.to_string(), "5s,5m,30m,2h,5h,10h,10h");
        assert_eq!(s.max_attempts(), 8);
        for _ in 0..200 {
            let d = s.delay(1, RetryHint::default()).expect("step 1");
            assert!(d >= S(4) && d <= S(6), "{d:?}");
        }
        assert!(s.delay(7, RetryHint::default()).is_some());
        assert_eq!(s.delay(8, RetryHint::default()), None, "exhausted");
        assert_eq!(s.delay(0, RetryHint::default()), None);
    }

    #[test]
    fn jitter_spreads_the_waits() {
        let s = RetrySchedule::default();
        let waits: std::collections::HashSet<_> = (0..50)
            .filter_map(|_| s.delay(2, RetryHint::default()))
            .collect();
        assert!(waits.len() > 10, "jitter varies the wait");
    }

    #[test]
    fn retry_after_is_clamped_to_one_to_two_steps() {
        let s = RetrySchedule::parse("10s,20s")
            .expect("parse")
            .with_jitter(0.0);
        let hint = |secs| RetryHint {
            retry_after: Some(S(secs)),
            slow_down: false,
        };
        assert_eq!(s.delay(1, hint(1)), Some(S(10)), "not sooner than the step");
        assert_eq!(s.delay(1, hint(15)), Some(S(15)), "honoured");
        assert_eq!(
            s.delay(1, hint(3600)),
            Some(S(20)),
            "at most twice the step"
        );
    }

    #[test]
    fn timeouts_and_429_slow_down() {
        let slow = RetryHint {
            retry_after: None,
            slow_down: true,
        };
        let s = RetrySchedule::default().with_jitter(0.0);
        assert_eq!(s.delay(1, slow), Some(S(60)));
        assert_eq!(s.delay(2, slow), Some(S(300)));
        let quick = RetrySchedule::parse("1s,2s,4s")
            .expect("parse")
            .with_jitter(0.0);
        assert_eq!(
            quick.delay(1, slow),
            Some(S(4)),
            "capped by the longest step"
        );
    }

    #[test]
    fn parsing() {
        let s = RetrySchedule::parse("1s, 2s,500ms,1m,2h,1d,3").expect("parse");
        assert_eq!(s.to_string(), "1s,2s,500ms,1m,2h,24h,3s");
        assert_eq!(
            RetrySchedule::parse("1s,soon"),
            Err(ScheduleError::BadStep("soon".into()))
        );
        assert_eq!(RetrySchedule::parse(" , "), Err(ScheduleError::Empty));
    }

    #[test]
    fn retry_after_values() {
        let now = DateTime::parse_from_rfc3339("2015-10-21T07:27:00Z")
            .expect("t")
            .with_timezone(&Utc);
        assert_eq!(parse_retry_after("120", now), Some(S(120)));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(S(60))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
