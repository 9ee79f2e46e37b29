//! A configuration transaction: changes recorded against one snap's document, seen by the
//! configure hook before they are committed, and dropped if the hook fails (snapd's
//! `config.Transaction`). Commit applies the changes to the document as it is then, so two
//! transactions touching different keys do not undo each other.

use serde_json::{Value, json};
use snap_state::{State, StateError};

use super::CONFIG_KEY;
use super::doc::{self, ConfError};

#[derive(Clone, Debug, PartialEq)]
pub struct Transaction {
    snap: String,
    /// The document when the transaction began.
    pristine: Value,
    /// Key and new value, in order; `null` unsets.
    changes: Vec<(String, Value)>,
}

impl Transaction {
    pub fn begin(st: &State, snap: &str) -> Result<Transaction, StateError> {
        Ok(Transaction {
            snap: snap.to_owned(),
            pristine: document(st, snap)?,
            changes: Vec::new(),
        })
    }

    pub fn set(&mut self, key: &str, value: Value) -> Result<(), ConfError> {
        doc::parse_key(key)?;
        self.changes.push((key.to_owned(), value));
        Ok(())
    }

    /// The document as the transaction sees it.
    pub fn view(&self) -> Value {
        let mut d = self.pristine.clone();
        apply(&mut d, &self.changes);
        d
    }

    /// Writes the changes into the state (the caller commits the state).
    pub fn commit(&self, st: &mut State) -> Result<(), StateError> {
        if self.changes.is_empty() {
            return Ok(());
        }
        let mut d = document(st, &self.snap)?;
        apply(&mut d, &self.changes);
        if d.as_object().is_some_and(|m| m.is_empty()) {
            st.remove_entry(CONFIG_KEY, &self.snap)?;
        } else {
            st.set_entry(CONFIG_KEY, &self.snap, &d)?;
        }
        Ok(())
    }
}

fn apply(d: &mut Value, changes: &[(String, Value)]) {
    for (k, v) in changes {
        // Keys were checked when recorded.
        let _ = doc::set(d, k, v.clone());
    }
}

/// The snap's committed document (`{}` when it has none).
pub fn document(st: &State, snap: &str) -> Result<Value, StateError> {
    Ok(st
        .get_entry::<Value>(CONFIG_KEY, snap)?
        .unwrap_or_else(|| json!({})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_seen_before_commit_and_merged_at_commit() {
        let mut st = State::new();
        let mut a = Transaction::begin(&st, "s").unwrap();
        a.set("x.y", json!(1)).unwrap();
        assert_eq!(a.view(), json!({"x": {"y": 1}}));
        assert_eq!(document(&st, "s").unwrap(), json!({}));
        let mut b = Transaction::begin(&st, "s").unwrap();
        b.set("z", json!("q")).unwrap();
        b.commit(&mut st).unwrap();
        a.commit(&mut st).unwrap();
        assert_eq!(
            document(&st, "s").unwrap(),
            json!({"x": {"y": 1}, "z": "q"})
        );
        let mut c = Transaction::begin(&st, "s").unwrap();
        c.set("x", Value::Null).unwrap();
        c.set("z", Value::Null).unwrap();
        c.commit(&mut st).unwrap();
        assert_eq!(st.get_entry::<Value>(CONFIG_KEY, "s").unwrap(), None);
    }

    #[test]
    fn bad_keys_are_refused_when_recorded() {
        let st = State::new();
        let mut t = Transaction::begin(&st, "s").unwrap();
        assert!(t.set("Bad", json!(1)).is_err());
        assert!(t.changes.is_empty());
    }
}
