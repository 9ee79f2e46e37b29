//! The snap.yaml document exactly as written, before any rule is applied.
//!
//! Field types follow what snapd's YAML decoding accepts: a field snapd reads as a string
//! takes any scalar verbatim (`version: 1.10` stays `1.10`), null means "unset", and a map
//! entry whose value is null (`hooks: {install: }`) is an entry with every field unset.
//! Unknown keys are ignored, as snapd ignores them.

use crate::attr::Yaml;
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use std::fmt;

/// A string where null reads as empty, for list items (snapd's decoder does the same).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Str(pub String);

impl<'de> Deserialize<'de> for Str {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Str(Option::<String>::deserialize(d)?.unwrap_or_default()))
    }
}

pub(crate) fn strings(v: Option<Vec<Str>>) -> Vec<String> {
    v.unwrap_or_default().into_iter().map(|s| s.0).collect()
}

/// A mapping whose keys are read as strings, in document order.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Entries<V>(pub Vec<(String, V)>);

impl<V> Default for Entries<V> {
    fn default() -> Self {
        Entries(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Entries<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V2<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for V2<V> {
            type Value = Entries<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Entries::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                // Plain `String` keys let serde_path_to_error name the entry in errors.
                while let Some(k) = map.next_key::<String>()? {
                    let v = map.next_value()?;
                    out.push((k, v));
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(V2(std::marker::PhantomData))
    }
}

/// An ordered string map (`environment`). Keys must be YAML strings: snapd refuses `1: x` or
/// `true: x` there, so key types are kept until conversion.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct RawEnv(pub Vec<(Yaml, String)>);

impl<'de> Deserialize<'de> for RawEnv {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct EnvVisitor;
        impl<'de> Visitor<'de> for EnvVisitor {
            type Value = RawEnv;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping of strings to strings")
            }
            fn visit_unit<E>(self) -> Result<RawEnv, E> {
                Ok(RawEnv::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawEnv, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = map.next_key::<Yaml>()? {
                    let v = map.next_value::<Str>()?;
                    out.push((k, v.0));
                }
                Ok(RawEnv(out))
            }
        }
        d.deserialize_map(EnvVisitor)
    }
}

/// One of an epoch's `read`/`write` lists.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) enum EpochList {
    #[default]
    Unset,
    Items(Vec<String>),
}

pub(crate) const BAD_EPOCH_LIST: &str =
    "epoch read/write attributes must be lists of epoch numbers";

impl<'de> Deserialize<'de> for EpochList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = EpochList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(BAD_EPOCH_LIST)
            }
            fn visit_unit<E>(self) -> Result<EpochList, E> {
                Ok(EpochList::Unset)
            }
            fn visit_none<E>(self) -> Result<EpochList, E> {
                Ok(EpochList::Unset)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<EpochList, A::Error> {
                let mut out = Vec::new();
                loop {
                    // Numbers are taken as text so that zero padding can be refused.
                    match seq.next_element::<String>() {
                        Ok(Some(s)) => out.push(s),
                        Ok(None) => return Ok(EpochList::Items(out)),
                        Err(_) => return Err(de::Error::custom(BAD_EPOCH_LIST)),
                    }
                }
            }
        }
        d.deserialize_any(ListVisitor)
    }
}

/// `epoch:` as written: `N`, `N*`, or `{read: [...], write: [...]}`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum RawEpoch {
    /// `typed` is set when the YAML layer read a number, whose spelling (`01`, `1e3`) is lost;
    /// the decoder restores it from the source text, as snapd reads the epoch as text.
    Short {
        text: String,
        typed: bool,
    },
    Structured {
        read: EpochList,
        write: EpochList,
    },
}

fn typed(v: impl fmt::Display) -> RawEpoch {
    RawEpoch::Short {
        text: v.to_string(),
        typed: true,
    }
}

impl<'de> Deserialize<'de> for RawEpoch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct EpochVisitor;
        impl<'de> Visitor<'de> for EpochVisitor {
            type Value = RawEpoch;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an epoch: N, N* or a mapping with read and write lists")
            }
            fn visit_str<E>(self, v: &str) -> Result<RawEpoch, E> {
                Ok(RawEpoch::Short {
                    text: v.to_owned(),
                    typed: false,
                })
            }
            fn visit_u64<E>(self, v: u64) -> Result<RawEpoch, E> {
                Ok(typed(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<RawEpoch, E> {
                Ok(typed(v))
            }
            fn visit_f64<E>(self, v: f64) -> Result<RawEpoch, E> {
                Ok(typed(v))
            }
            fn visit_bool<E>(self, v: bool) -> Result<RawEpoch, E> {
                Ok(typed(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawEpoch, A::Error> {
                let (mut read, mut write) = (EpochList::Unset, EpochList::Unset);
                while let Some(k) = map.next_key::<Option<String>>()? {
                    match k.as_deref() {
                        Some("read") => read = map.next_value()?,
                        Some("write") => write = map.next_value()?,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(RawEpoch::Structured { read, write })
            }
        }
        d.deserialize_any(EpochVisitor)
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RawSnap {
    pub name: Option<String>,
    pub version: Option<String>,
    #[serde(rename = "type")]
    pub snap_type: Option<String>,
    pub architectures: Option<Vec<Str>>,
    pub assumes: Option<Vec<Str>>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub summary: Option<String>,
    pub provenance: Option<String>,
    pub license: Option<String>,
    pub epoch: Option<Spanned<RawEpoch>>,
    pub base: Option<String>,
    /// snapd ignores it (snapcraft's field); kept when it is a scalar.
    pub build_base: Option<Yaml>,
    pub confinement: Option<String>,
    pub grade: Option<String>,
    pub environment: Option<RawEnv>,
    pub plugs: Option<Entries<Yaml>>,
    pub slots: Option<Entries<Yaml>>,
    pub apps: Option<Entries<Option<RawApp>>>,
    pub hooks: Option<Entries<Option<RawHook>>>,
    pub layout: Option<Entries<Option<RawLayout>>>,
    pub system_usernames: Option<Entries<Yaml>>,
    pub links: Option<Entries<Option<Vec<Str>>>>,
    pub components: Option<Entries<Option<RawComponent>>>,
    /// Present only to catch the common plural typo.
    pub layouts: Option<IgnoredAny>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RawApp {
    pub aliases: Option<Vec<Str>>,
    pub command: Option<String>,
    pub command_chain: Option<Vec<Str>>,
    pub daemon: Option<String>,
    pub daemon_scope: Option<String>,
    pub stop_command: Option<String>,
    pub reload_command: Option<String>,
    pub post_stop_command: Option<String>,
    pub stop_timeout: Option<String>,
    pub start_timeout: Option<String>,
    pub watchdog_timeout: Option<String>,
    pub completer: Option<String>,
    pub refresh_mode: Option<String>,
    pub stop_mode: Option<String>,
    pub install_mode: Option<String>,
    pub restart_condition: Option<String>,
    pub restart_delay: Option<String>,
    pub success_exit_status: Option<Vec<Str>>,
    pub slots: Option<Vec<Str>>,
    pub plugs: Option<Vec<Str>>,
    pub bus_name: Option<String>,
    pub activates_on: Option<Vec<Str>>,
    pub common_id: Option<String>,
    pub environment: Option<RawEnv>,
    pub sockets: Option<Entries<Option<RawSocket>>>,
    pub after: Option<Vec<Str>>,
    pub before: Option<Vec<Str>>,
    pub timer: Option<String>,
    pub autostart: Option<String>,
    /// snapd ignores it (snapcraft moves desktop files to meta/gui); kept when a scalar.
    pub desktop: Option<Yaml>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RawSocket {
    pub listen_stream: Option<String>,
    pub socket_mode: Option<u32>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RawHook {
    pub plugs: Option<Vec<Str>>,
    pub slots: Option<Vec<Str>>,
    pub environment: Option<RawEnv>,
    pub command_chain: Option<Vec<Str>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RawLayout {
    pub bind: Option<String>,
    pub bind_file: Option<String>,
    #[serde(rename = "type")]
    pub fs_type: Option<String>,
    pub user: Option<String>,
    pub group: Option<String>,
    pub mode: Option<String>,
    pub symlink: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct RawComponent {
    #[serde(rename = "type")]
    pub comp_type: Option<String>,
    pub summary: Option<String>,
    pub description: Option<String>,
    pub hooks: Option<Entries<Option<RawHook>>>,
}
