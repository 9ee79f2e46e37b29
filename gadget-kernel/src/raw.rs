//! The document as written: every scalar kept as its text, every key optional, unknown keys
//! ignored (snapd's YAML reader ignores them too, e.g. the legacy `device-tree` keys).
//!
//! A null list item is an empty string, as in snapd.
//!
//! Scalars are read as text on purpose: snapd reads `size`, `offset`, `edition` ... as strings
//! and parses them itself, so `size: 0x10` is an invalid suffix there, not 16.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};

use crate::defaults::DefaultValue;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RawGadget {
    pub volumes: Option<OrderedMap<Option<RawVolume>>>,
    pub defaults: Option<BTreeMap<String, Option<BTreeMap<String, DefaultValue>>>>,
    pub connections: Option<Vec<Option<RawConnection>>>,
    pub kernel_cmdline: Option<RawKernelCmdline>,
    pub volume_assignments: Option<Vec<Option<RawVolumeAssignment>>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawVolume {
    pub partial: Option<Vec<Option<String>>>,
    pub schema: Option<String>,
    pub bootloader: Option<String>,
    pub id: Option<String>,
    pub structure: Option<Vec<Option<RawStructure>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RawStructure {
    pub name: Option<String>,
    pub filesystem_label: Option<String>,
    pub offset: Option<String>,
    pub offset_write: Option<String>,
    pub min_size: Option<String>,
    pub size: Option<String>,
    #[serde(rename = "type")]
    pub type_: Option<String>,
    pub role: Option<String>,
    pub id: Option<String>,
    pub filesystem: Option<String>,
    pub content: Option<Vec<Option<RawContent>>>,
    pub update: Option<RawUpdate>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawContent {
    pub source: Option<String>,
    pub target: Option<String>,
    pub image: Option<String>,
    pub offset: Option<String>,
    pub size: Option<String>,
    pub unpack: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawUpdate {
    pub edition: Option<String>,
    pub preserve: Option<Vec<Option<String>>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawKernelCmdline {
    pub allow: Option<Vec<Option<String>>>,
    pub append: Option<Vec<Option<String>>>,
    pub remove: Option<Vec<Option<String>>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawConnection {
    pub plug: Option<String>,
    pub slot: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RawVolumeAssignment {
    pub assignment_name: Option<String>,
    pub assignment: Option<OrderedMap<Option<RawDeviceAssignment>>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawDeviceAssignment {
    pub device: Option<String>,
}

/// A mapping whose entry order is kept (volumes are laid out and reported in file order).
#[derive(Debug)]
pub struct OrderedMap<V>(pub Vec<(String, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for OrderedMap<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor<V>(PhantomData<V>);

        impl<'de, V: Deserialize<'de>> Visitor<'de> for MapVisitor<V> {
            type Value = OrderedMap<V>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping")
            }

            fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(OrderedMap(Vec::new()))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries: Vec<(String, V)> = Vec::new();
                let mut seen = HashSet::new();
                while let Some(key) = map.next_key::<String>()? {
                    if !seen.insert(key.clone()) {
                        return Err(serde::de::Error::custom(format!("duplicate key {key:?}")));
                    }
                    let value = map.next_value::<V>()?;
                    entries.push((key, value));
                }
                Ok(OrderedMap(entries))
            }
        }

        deserializer.deserialize_map(MapVisitor(PhantomData))
    }
}
