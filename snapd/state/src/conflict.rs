//! Change conflicts: refusing a new operation on a snap that an unready
//! change is already working on (the API's 409 `snap-change-conflict`).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::{ChangeId, State, TaskId};

/// Another unready change already affects the snap.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct ChangeConflict {
    /// The snap in conflict (empty for system-wide exclusive changes).
    pub snap: String,
    /// Kind of the change in progress (`install-snap`...).
    pub change_kind: String,
    pub change_id: ChangeId,
    /// Overrides the default message (exclusive changes).
    pub custom_message: Option<String>,
}

impl ChangeConflict {
    /// `snap "x" has "install-snap" change in progress`, as snapd words it.
    pub fn message(&self) -> String {
        match &self.custom_message {
            Some(m) => m.clone(),
            None => format!(
                "snap {:?} has {:?} change in progress",
                self.snap, self.change_kind
            ),
        }
    }
}

/// Change kinds that never conflict (they only read, or retry forever
/// without touching snaps), as in snapd.
const NON_CONFLICTING_KINDS: &[&str] = &[
    "get-confdb",
    "set-confdb",
    "pre-download",
    "become-operational",
];

/// Change kinds that must run alone, with the message snapd uses.
const EXCLUSIVE_KINDS: &[(&str, &str)] = &[
    (
        "transition-ubuntu-core",
        "ubuntu-core to core transition in progress, no other changes allowed until this is done",
    ),
    (
        "transition-to-snapd-snap",
        "transition to snapd snap in progress, no other changes allowed until this is done",
    ),
    (
        "remodel",
        "remodeling in progress, no other changes allowed until this is done",
    ),
    (
        "create-recovery-system",
        "creating recovery system in progress, no other changes allowed until this is done",
    ),
    (
        "remove-recovery-system",
        "removing recovery system in progress, no other changes allowed until this is done",
    ),
];

/// A `snap.app` name (service-control changes) counts for its snap.
fn snap_of(name: &str) -> &str {
    name.split_once('.').map_or(name, |(snap, _)| snap)
}

/// Instance name from a `snap-setup` object: `instance-name` if present,
/// else `side-info.name` (or `name`) plus `_<instance-key>`.
fn instance_name(setup: &Value) -> Option<String> {
    if let Some(n) = setup.get("instance-name").and_then(Value::as_str) {
        return Some(n.to_owned());
    }
    let name = setup
        .get("side-info")
        .and_then(|si| si.get("name"))
        .or_else(|| setup.get("name"))
        .and_then(Value::as_str)?;
    match setup.get("instance-key").and_then(Value::as_str) {
        Some(key) if !key.is_empty() => Some(format!("{name}_{key}")),
        _ => Some(name.to_owned()),
    }
}

impl State {
    /// Snaps a task works on, from its data, in this order of preference:
    /// `snap-setup` (or the task named by `snap-setup-task`), then
    /// `affected-snaps` (array of names), then `hook-setup.snap`.
    pub fn task_affected_snaps(&self, id: TaskId) -> Vec<String> {
        let Some(t) = self.task(id) else {
            return Vec::new();
        };
        let setup_holder = match t.get::<String>("snap-setup-task") {
            Ok(Some(other)) => other.parse().ok().and_then(|o| self.task(o)),
            _ => Some(t),
        };
        if let Some(Ok(Some(setup))) = setup_holder.map(|h| h.get::<Value>("snap-setup"))
            && let Some(name) = instance_name(&setup)
        {
            return vec![name];
        }
        if let Ok(Some(names)) = t.get::<Vec<String>>("affected-snaps") {
            return names;
        }
        if let Ok(Some(hook)) = t.get::<Value>("hook-setup")
            && let Some(snap) = hook.get("snap").and_then(Value::as_str)
        {
            return vec![snap.to_owned()];
        }
        Vec::new()
    }

    /// Snaps a change works on: its `snap-names` data (also looked up in
    /// `api-data`) plus what its tasks affect. Sorted, deduplicated.
    pub fn change_affected_snaps(&self, id: ChangeId) -> Vec<String> {
        let Some(chg) = self.change(id) else {
            return Vec::new();
        };
        let mut names: Vec<String> = Vec::new();
        if let Ok(Some(n)) = chg.get::<Vec<String>>("snap-names") {
            names.extend(n);
        }
        if let Ok(Some(api)) = chg.get::<Value>("api-data")
            && let Some(list) = api.get("snap-names").and_then(Value::as_array)
        {
            names.extend(list.iter().filter_map(Value::as_str).map(str::to_owned));
        }
        for tid in &chg.task_ids {
            names.extend(self.task_affected_snaps(*tid));
        }
        let mut names: Vec<String> = names.iter().map(|n| snap_of(n).to_owned()).collect();
        names.sort();
        names.dedup();
        names
    }

    /// Every snap touched by an unready change, with that change's id and
    /// kind (the first such change by id if several).
    pub fn snaps_with_unready_changes(&self) -> BTreeMap<String, (ChangeId, String)> {
        let mut out = BTreeMap::new();
        for chg in self.changes() {
            if chg.is_ready() || NON_CONFLICTING_KINDS.contains(&chg.kind()) {
                continue;
            }
            for snap in self.change_affected_snaps(chg.id()) {
                out.entry(snap)
                    .or_insert_with(|| (chg.id(), chg.kind().to_owned()));
            }
        }
        out
    }

    /// Fails if an unready change other than `ignore` must run exclusively,
    /// or — when `new_exclusive_kind` is given — if any other change is
    /// unready at all.
    pub fn check_exclusive(
        &self,
        new_exclusive_kind: Option<&str>,
        ignore: Option<ChangeId>,
    ) -> Result<(), ChangeConflict> {
        for chg in self.changes() {
            if chg.is_ready() || Some(chg.id()) == ignore {
                continue;
            }
            let conflict = |msg: String| ChangeConflict {
                snap: String::new(),
                change_kind: chg.kind().to_owned(),
                change_id: chg.id(),
                custom_message: Some(msg),
            };
            if let Some((_, msg)) = EXCLUSIVE_KINDS.iter().find(|(k, _)| *k == chg.kind()) {
                return Err(conflict((*msg).to_owned()));
            }
            if let Some(new_kind) = new_exclusive_kind {
                return Err(conflict(format!(
                    "other changes in progress (conflicting change {:?}), change {new_kind:?} not allowed until they are done",
                    chg.kind()
                )));
            }
        }
        Ok(())
    }

    /// Fails if any of `snaps` is affected by an unready change (other than
    /// `ignore`), or an exclusive change is running.
    pub fn check_conflict_many(
        &self,
        snaps: &[&str],
        ignore: Option<ChangeId>,
    ) -> Result<(), ChangeConflict> {
        self.check_exclusive(None, ignore)?;
        for chg in self.changes() {
            if chg.is_ready()
                || Some(chg.id()) == ignore
                || NON_CONFLICTING_KINDS.contains(&chg.kind())
            {
                continue;
            }
            if let Some(snap) = self
                .change_affected_snaps(chg.id())
                .into_iter()
                .find(|s| snaps.contains(&s.as_str()))
            {
                return Err(ChangeConflict {
                    snap,
                    change_kind: chg.kind().to_owned(),
                    change_id: chg.id(),
                    custom_message: None,
                });
            }
        }
        Ok(())
    }

    /// [`State::check_conflict_many`] for one snap.
    pub fn check_conflict(&self, snap: &str) -> Result<(), ChangeConflict> {
        self.check_conflict_many(&[snap], None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Status;
    use serde_json::json;

    #[test]
    fn conflicts_from_change_and_task_data() {
        let mut st = State::new();
        let c1 = st.new_change("install-snap", "Install \"hello\" snap");
        let t1 = st.new_task_in(c1, "download-snap", "Download").unwrap();
        st.task_mut(t1)
            .unwrap()
            .set(
                "snap-setup",
                &json!({"side-info": {"name": "hello"}, "instance-key": ""}),
            )
            .unwrap();
        let t2 = st.new_task_in(c1, "link-snap", "Link").unwrap();
        st.task_mut(t2)
            .unwrap()
            .set("snap-setup-task", &t1.to_string())
            .unwrap();

        let c2 = st.new_change("service-control", "Restart");
        st.change_mut(c2)
            .unwrap()
            .set("snap-names", &["web.server"])
            .unwrap();
        let t3 = st.new_task_in(c2, "exec-command", "Run").unwrap();

        let c3 = st.new_change("install-snap", "Install parallel");
        let t4 = st.new_task_in(c3, "prepare-snap", "Prepare").unwrap();
        st.task_mut(t4)
            .unwrap()
            .set(
                "snap-setup",
                &json!({"side-info": {"name": "hello"}, "instance-key": "two"}),
            )
            .unwrap();

        assert_eq!(st.task_affected_snaps(t2), ["hello"]);
        let err = st.check_conflict("hello").unwrap_err();
        assert_eq!(
            err.to_string(),
            "snap \"hello\" has \"install-snap\" change in progress"
        );
        assert_eq!(
            (err.change_id, err.change_kind.as_str()),
            (c1, "install-snap")
        );
        assert_eq!(st.check_conflict("web").unwrap_err().change_id, c2);
        assert_eq!(st.check_conflict("hello_two").unwrap_err().change_id, c3);
        assert!(st.check_conflict("other").is_ok());
        assert!(st.check_conflict_many(&["hello"], Some(c1)).is_ok());
        let busy = st.snaps_with_unready_changes();
        assert_eq!(
            busy.keys().collect::<Vec<_>>(),
            ["hello", "hello_two", "web"]
        );

        // Once the change is ready the snap is free again.
        for t in [t1, t2] {
            st.force_status(t, Status::Done);
        }
        st.force_status(t3, Status::Done);
        assert!(st.check_conflict("hello").is_ok());
        assert!(st.check_conflict("web").is_ok());
    }

    #[test]
    fn exclusive_changes_block_everything() {
        let mut st = State::new();
        let c = st.new_change("remodel", "Remodel");
        st.new_task_in(c, "x", "x").unwrap();
        let err = st.check_conflict("anything").unwrap_err();
        assert!(err.to_string().starts_with("remodeling in progress"));
        let mut st = State::new();
        let c = st.new_change("install-snap", "Install");
        st.new_task_in(c, "x", "x").unwrap();
        assert!(st.check_exclusive(None, None).is_ok());
        let err = st.check_exclusive(Some("remodel"), None).unwrap_err();
        assert!(
            err.to_string().contains("change \"remodel\" not allowed"),
            "{err}"
        );
    }
}
