//! snapd's channels: `track/risk/branch`, their short forms, and which channel a closed or empty
//! one follows.

use std::fmt;

use crate::StoreError;

/// The track a channel has when none is written.
pub const DEFAULT_TRACK: &str = "latest";

/// A channel's risk level, from the most to the least stable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Risk {
    Stable,
    Candidate,
    Beta,
    Edge,
}

impl Risk {
    pub const ALL: [Risk; 4] = [Risk::Stable, Risk::Candidate, Risk::Beta, Risk::Edge];

    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Stable => "stable",
            Risk::Candidate => "candidate",
            Risk::Beta => "beta",
            Risk::Edge => "edge",
        }
    }

    pub fn parse(s: &str) -> Option<Risk> {
        Risk::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The next more stable risk, which a closed or empty channel of this risk follows.
    pub fn more_stable(self) -> Option<Risk> {
        match self {
            Risk::Stable => None,
            Risk::Candidate => Some(Risk::Stable),
            Risk::Beta => Some(Risk::Candidate),
            Risk::Edge => Some(Risk::Beta),
        }
    }
}

/// A parsed channel, always complete (`latest/stable` when written `stable`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Channel {
    pub track: String,
    pub risk: Risk,
    pub branch: Option<String>,
}

/// snapd's limit on track names.
const MAX_TRACK_LEN: usize = 28;
/// Ours: snapd does not document one for branches; names longer than this are a mistake.
const MAX_BRANCH_LEN: usize = 128;

impl Channel {
    /// Parses snapd's channel forms: `risk`, `track`, `risk/branch`, `track/risk`,
    /// `track/risk/branch`. A single word that is a risk names the risk (`edge` is
    /// `latest/edge`); any other single word is a track at `stable`.
    pub fn parse(s: &str) -> Result<Channel, StoreError> {
        let bad = |reason: &str| StoreError::InvalidChannel {
            channel: s.to_owned(),
            reason: reason.to_owned(),
        };
        let parts: Vec<&str> = s.split('/').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(bad("empty, or with an empty part"));
        }
        let (track, risk, branch) = match parts.as_slice() {
            [one] => match Risk::parse(one) {
                Some(risk) => (DEFAULT_TRACK, risk, None),
                None => (*one, Risk::Stable, None),
            },
            [first, second] => match Risk::parse(first) {
                Some(risk) => (DEFAULT_TRACK, risk, Some(*second)),
                None => {
                    let risk = Risk::parse(second).ok_or_else(|| {
                        bad(&format!(
                            "{second:?} is not a risk (stable, candidate, beta, edge)"
                        ))
                    })?;
                    (*first, risk, None)
                }
            },
            [track, risk, branch] => {
                let risk = Risk::parse(risk).ok_or_else(|| {
                    bad(&format!(
                        "{risk:?} is not a risk (stable, candidate, beta, edge)"
                    ))
                })?;
                (*track, risk, Some(*branch))
            }
            _ => return Err(bad("a channel has at most three parts: track/risk/branch")),
        };
        check_name(track, MAX_TRACK_LEN).map_err(|r| bad(&format!("track: {r}")))?;
        if Risk::parse(track).is_some() {
            return Err(bad("a risk cannot be a track name"));
        }
        if let Some(b) = branch {
            check_name(b, MAX_BRANCH_LEN).map_err(|r| bad(&format!("branch: {r}")))?;
        }
        Ok(Channel {
            track: track.to_owned(),
            risk,
            branch: branch.map(str::to_owned),
        })
    }

    /// Parses a channel that must already be written in full (`track/risk[/branch]`), as the
    /// index stores them: two spellings of one channel would be two entries.
    pub fn parse_full(s: &str) -> Result<Channel, StoreError> {
        let c = Channel::parse(s)?;
        if c.to_string() != s {
            return Err(StoreError::InvalidChannel {
                channel: s.to_owned(),
                reason: format!("not in its full form {c}"),
            });
        }
        Ok(c)
    }

    /// The channels a device on this channel is served from, in order: the channel itself, then
    /// (for a branch) its track/risk, then each more stable risk of the same track. This is
    /// snapd's rule: a closed branch returns its devices to the track/risk it branched from, and a
    /// closed or empty risk follows the next more stable one (edge → beta → candidate → stable).
    /// Tracks never fall back to other tracks.
    pub fn fallback_chain(&self) -> Vec<Channel> {
        let mut out = vec![self.clone()];
        if self.branch.is_some() {
            out.push(Channel {
                track: self.track.clone(),
                risk: self.risk,
                branch: None,
            });
        }
        let mut risk = self.risk.more_stable();
        while let Some(r) = risk {
            out.push(Channel {
                track: self.track.clone(),
                risk: r,
                branch: None,
            });
            risk = r.more_stable();
        }
        out
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.track, self.risk.as_str())?;
        if let Some(b) = &self.branch {
            write!(f, "/{b}")?;
        }
        Ok(())
    }
}

/// snapd's track rule, used for branches too: ASCII letters and digits, single `-`, `_` or `.`
/// between them.
fn check_name(s: &str, max: usize) -> Result<(), String> {
    if s.is_empty() {
        return Err("empty".into());
    }
    if s.len() > max {
        return Err(format!("longer than {max} characters"));
    }
    let bytes = s.as_bytes();
    let alnum = |b: u8| b.is_ascii_alphanumeric();
    if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return Err("must start and end with a letter or digit".into());
    }
    for w in bytes.windows(2) {
        let sep = |b: u8| matches!(b, b'-' | b'_' | b'.');
        if !alnum(w[0]) && !sep(w[0]) || sep(w[0]) && !alnum(w[1]) {
            return Err("only letters, digits and single '-', '_' or '.' between them".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn full(s: &str) -> String {
        Channel::parse(s).unwrap().to_string()
    }

    #[test]
    fn short_forms_expand_as_snapd() {
        assert_eq!(full("stable"), "latest/stable");
        assert_eq!(full("edge"), "latest/edge");
        assert_eq!(full("2.0"), "2.0/stable");
        assert_eq!(full("2.0/beta"), "2.0/beta");
        assert_eq!(full("beta/hotfix-1"), "latest/beta/hotfix-1");
        assert_eq!(full("latest/stable/fix"), "latest/stable/fix");
        assert_eq!(full("22/candidate/x_y"), "22/candidate/x_y");
    }

    #[test]
    fn bad_channels_are_refused_with_the_reason() {
        for (s, why) in [
            ("", "empty"),
            ("latest/", "empty"),
            ("/stable", "empty"),
            ("latest/foo", "not a risk"),
            ("a/b/c/d", "at most three"),
            ("latest/stable/", "empty"),
            ("tr ack", "letters"),
            ("-x", "start"),
            ("x--y", "single"),
            ("stable/edge/x", "risk cannot be a track"),
            ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "longer"),
        ] {
            let err = Channel::parse(s).unwrap_err().to_string();
            assert!(err.contains(why), "{s:?}: {err}");
        }
    }

    #[test]
    fn full_form_is_required_in_the_index() {
        assert!(Channel::parse_full("latest/stable").is_ok());
        assert!(Channel::parse_full("stable").is_err());
        assert!(Channel::parse_full("2.0").is_err());
    }

    #[test]
    fn fallback_follows_more_stable_risks_within_the_track() {
        let chain: Vec<String> = Channel::parse("edge")
            .unwrap()
            .fallback_chain()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            chain,
            [
                "latest/edge",
                "latest/beta",
                "latest/candidate",
                "latest/stable"
            ]
        );
        let chain: Vec<String> = Channel::parse("2.0/beta/fix")
            .unwrap()
            .fallback_chain()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            chain,
            ["2.0/beta/fix", "2.0/beta", "2.0/candidate", "2.0/stable"]
        );
        assert_eq!(Channel::parse("stable").unwrap().fallback_chain().len(), 1);
    }

    fn name() -> impl Strategy<Value = String> {
        "[a-z0-9]{1,5}([-_.][a-z0-9]{1,5}){0,2}"
    }

    proptest! {
        #[test]
        fn display_then_parse_is_identity(track in name(), risk in 0usize..4, branch in proptest::option::of(name())) {
            prop_assume!(Risk::parse(&track).is_none() && track.len() <= MAX_TRACK_LEN);
            let c = Channel { track, risk: Risk::ALL[risk], branch };
            let again = Channel::parse_full(&c.to_string()).unwrap();
            prop_assert_eq!(again, c);
        }

        #[test]
        fn parse_never_panics_and_full_form_is_stable(s in "[a-z/._-]{0,20}") {
            if let Ok(c) = Channel::parse(&s) {
                prop_assert_eq!(Channel::parse(&c.to_string()).unwrap(), c);
            }
        }

        #[test]
        fn the_chain_ends_at_stable_and_never_leaves_the_track(track in name(), risk in 0usize..4) {
            prop_assume!(Risk::parse(&track).is_none() && track.len() <= MAX_TRACK_LEN);
            let c = Channel { track: track.clone(), risk: Risk::ALL[risk], branch: None };
            let chain = c.fallback_chain();
            prop_assert_eq!(chain.last().unwrap().risk, Risk::Stable);
            prop_assert!(chain.iter().all(|x| x.track == track));
            prop_assert!(chain.windows(2).all(|w| w[0].risk > w[1].risk));
        }
    }
}
