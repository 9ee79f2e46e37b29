//! User-visible warnings (`snap warnings`, `warning-count` in responses).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{State, Timestamp};

/// snapd's defaults: a warning expires 28 days after it was last added and
/// is shown again a day after it was last acknowledged.
pub const DEFAULT_EXPIRE_AFTER: Duration = Duration::from_secs(28 * 24 * 3600);
/// See [`DEFAULT_EXPIRE_AFTER`].
pub const DEFAULT_REPEAT_AFTER: Duration = Duration::from_secs(24 * 3600);

/// One warning, unique by message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Warning {
    pub message: String,
    pub first_added: Timestamp,
    pub last_added: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_shown: Option<Timestamp>,
    /// Go duration strings (`"672h0m0s"`) on disk, as snapd writes them.
    #[serde(with = "go_duration")]
    pub expire_after: Duration,
    #[serde(with = "go_duration", default)]
    pub repeat_after: Duration,
}

impl Warning {
    /// Whether the warning had expired at `now`.
    pub fn expired_at(&self, now: Timestamp) -> bool {
        self.last_added + self.expire_after < now
    }

    /// Whether it should be shown at `t`: never shown and added no later
    /// than `t`, or last shown more than `repeat_after` before `t`.
    pub fn show_at(&self, t: Timestamp) -> bool {
        match self.last_shown {
            None => self.first_added <= t,
            Some(shown) => shown + self.repeat_after < t,
        }
    }
}

impl State {
    /// Records a warning, or refreshes `last-added` of an existing one.
    pub fn add_warning(&mut self, message: &str, repeat_after: Duration) {
        let message = message.trim();
        if message.is_empty() {
            return;
        }
        let now = Timestamp::now();
        let w = self
            .warnings
            .get_mut()
            .entry(message.to_owned())
            .or_insert_with(|| Warning {
                message: message.to_owned(),
                first_added: now,
                last_added: now,
                last_shown: None,
                expire_after: DEFAULT_EXPIRE_AFTER,
                repeat_after,
            });
        w.last_added = now;
        w.repeat_after = repeat_after;
        self.modified = true;
    }

    /// Removes the warning with this message; returns whether it existed.
    pub fn remove_warning(&mut self, message: &str) -> bool {
        let had = self.warnings.contains_key(message);
        if had {
            self.warnings.get_mut().remove(message);
        }
        self.modified |= had;
        had
    }

    /// All unexpired warnings, oldest `last-added` first.
    pub fn all_warnings(&self) -> Vec<&Warning> {
        let now = Timestamp::now();
        let mut all: Vec<_> = self
            .warnings
            .values()
            .filter(|w| !w.expired_at(now))
            .collect();
        all.sort_by_key(|w| w.last_added);
        all
    }

    /// Warnings due to be shown now, oldest first, and the timestamp to
    /// pass to [`State::okay_warnings`] to acknowledge exactly those.
    pub fn pending_warnings(&self) -> (Vec<&Warning>, Timestamp) {
        let now = Timestamp::now();
        let mut due: Vec<_> = self
            .warnings
            .values()
            .filter(|w| !w.expired_at(now) && w.show_at(now))
            .collect();
        due.sort_by_key(|w| w.last_added);
        (due, now)
    }

    /// `(count, latest last-added)` of pending warnings — the
    /// `warning-count`/`warning-timestamp` fields of every response.
    pub fn warnings_summary(&self) -> (usize, Option<Timestamp>) {
        let (due, _) = self.pending_warnings();
        (due.len(), due.iter().map(|w| w.last_added).max())
    }

    /// Marks warnings showable at `t` as shown; returns how many.
    pub fn okay_warnings(&mut self, t: Timestamp) -> usize {
        if !self.warnings.values().any(|w| w.show_at(t)) {
            return 0;
        }
        let mut n = 0;
        for w in self.warnings.get_mut().values_mut() {
            if w.show_at(t) {
                w.last_shown = Some(t);
                n += 1;
            }
        }
        self.modified = true;
        n
    }

    pub(crate) fn prune_warnings(&mut self, now: Timestamp) {
        if self.warnings.values().any(|w| w.expired_at(now)) {
            self.warnings.get_mut().retain(|_, w| !w.expired_at(now));
            self.modified = true;
        }
    }
}

/// Go's `time.Duration` string form, which snapd stores.
mod go_duration {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = std::borrow::Cow::<str>::deserialize(d)?;
        parse(&s).ok_or_else(|| serde::de::Error::custom(format!("invalid duration {s:?}")))
    }

    /// Whole seconds are all warnings use: `"24h0m0s"`, `"5m0s"`, `"7s"`.
    pub fn format(d: Duration) -> String {
        let s = d.as_secs();
        let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
        if h > 0 {
            format!("{h}h{m}m{s}s")
        } else if m > 0 {
            format!("{m}m{s}s")
        } else {
            format!("{s}s")
        }
    }

    /// Parses `[number unit]+` with units h, m, s, ms, us/µs, ns.
    pub fn parse(s: &str) -> Option<Duration> {
        if s == "0" {
            return Some(Duration::ZERO);
        }
        let mut rest = s;
        let mut total = 0f64;
        if rest.is_empty() {
            return None;
        }
        while !rest.is_empty() {
            let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
            let value: f64 = rest[..num_len].parse().ok()?;
            rest = &rest[num_len..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(rest.len());
            let scale = match &rest[..unit_len] {
                "h" => 3600.0,
                "m" => 60.0,
                "s" => 1.0,
                "ms" => 1e-3,
                "us" | "µs" => 1e-6,
                "ns" => 1e-9,
                _ => return None,
            };
            total += value * scale;
            rest = &rest[unit_len..];
        }
        Some(Duration::from_secs_f64(total))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn go_durations() {
            assert_eq!(format(DEFAULT_EXPIRE_AFTER), "672h0m0s");
            assert_eq!(format(Duration::from_secs(61)), "1m1s");
            assert_eq!(format(Duration::ZERO), "0s");
            for d in [0u64, 1, 59, 61, 3600, 86_400 * 28] {
                assert_eq!(
                    parse(&format(Duration::from_secs(d))),
                    Some(Duration::from_secs(d))
                );
            }
            assert_eq!(parse("1.5s"), Some(Duration::from_millis(1500)));
            assert_eq!(parse("300ms"), Some(Duration::from_millis(300)));
            assert_eq!(parse("0"), Some(Duration::ZERO));
            assert_eq!(parse("3d"), None);
            assert_eq!(parse(""), None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_show_okay_repeat() {
        let mut st = State::new();
        st.add_warning("  something odd  ", Duration::from_secs(3600));
        st.add_warning("something odd", Duration::from_secs(3600));
        assert_eq!(st.all_warnings().len(), 1);
        let (due, t) = st.pending_warnings();
        assert_eq!(due.len(), 1);
        assert_eq!(st.okay_warnings(t), 1);
        assert_eq!(st.warnings_summary().0, 0);
        // Due again once repeat-after passed since it was shown.
        let later = t + Duration::from_secs(3601);
        assert!(st.warnings["something odd"].show_at(later));
        st.prune_warnings(t + DEFAULT_EXPIRE_AFTER + Duration::from_secs(10));
        assert!(st.all_warnings().is_empty());
        assert!(!st.remove_warning("nope"));
    }
}
