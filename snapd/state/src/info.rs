//! The change/task view the REST API returns (`/v2/changes`).
//!
//! Serializing a [`ChangeInfo`] gives exactly snapd's JSON object, so the
//! daemon can put it in a response `result` as is.

use serde::Serialize;
use serde_json::value::RawValue;

use crate::task::Progress;
use crate::{ChangeId, State, Status, TaskId, Timestamp};

/// A change as `/v2/changes/{id}` shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ChangeInfo {
    pub id: ChangeId,
    pub kind: String,
    pub summary: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<TaskInfo>,
    pub ready: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub err: Option<String>,
    pub spawn_time: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_time: Option<Timestamp>,
    /// The change's `api-data` (e.g. `{"snap-names": ["hello"]}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Box<RawValue>>,
}

/// A task inside a [`ChangeInfo`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct TaskInfo {
    pub id: TaskId,
    pub kind: String,
    pub summary: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub log: Vec<String>,
    pub progress: Progress,
    pub spawn_time: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_time: Option<Timestamp>,
    /// `{"affected-snaps": [...]}` when the task touches snaps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

impl State {
    /// Builds the API view of a change.
    pub fn change_info(&self, id: ChangeId) -> Option<ChangeInfo> {
        let chg = self.change(id)?;
        let status = self.derive_status(chg);
        let tasks = self
            .change_tasks(id)
            .into_iter()
            .map(|t| {
                let (label, done, total) = t.progress();
                let affected = self.task_affected_snaps(t.id());
                TaskInfo {
                    id: t.id(),
                    kind: t.kind().to_owned(),
                    summary: t.summary().to_owned(),
                    status: t.status(),
                    log: t.log().to_vec(),
                    progress: Progress { label, done, total },
                    spawn_time: t.spawn_time(),
                    ready_time: t.ready_time(),
                    data: (!affected.is_empty())
                        .then(|| serde_json::json!({ "affected-snaps": affected })),
                }
            })
            .collect();
        Some(ChangeInfo {
            id,
            kind: chg.kind().to_owned(),
            summary: chg.summary().to_owned(),
            status,
            tasks,
            ready: status.is_ready(),
            err: self.change_err(id),
            spawn_time: chg.spawn_time(),
            ready_time: chg.ready_time(),
            data: chg.data().get_raw("api-data").map(ToOwned::to_owned),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn matches_the_api_shape() {
        let mut st = State::new();
        let chg = st.new_change("install-snap", "Install \"hello\" snap");
        st.change_mut(chg)
            .unwrap()
            .set("api-data", &json!({"snap-names": ["hello"]}))
            .unwrap();
        let t = st
            .new_task_in(chg, "download-snap", "Download snap \"hello\"")
            .unwrap();
        st.task_mut(t)
            .unwrap()
            .set("affected-snaps", &["hello"])
            .unwrap();
        st.set_task_progress(t, "", 1_048_576, 8_388_608).unwrap();
        let v = serde_json::to_value(st.change_info(chg).unwrap()).unwrap();
        assert_eq!(v["id"], "1");
        assert_eq!(v["status"], "Do");
        assert_eq!(v["ready"], false);
        assert_eq!(v["data"], json!({"snap-names": ["hello"]}));
        assert!(v.get("err").is_none() && v.get("ready-time").is_none());
        let task = &v["tasks"][0];
        assert_eq!(task["id"], "1");
        assert_eq!(
            task["progress"],
            json!({"label": "", "done": 1_048_576, "total": 8_388_608})
        );
        assert_eq!(task["data"], json!({"affected-snaps": ["hello"]}));
        assert!(task.get("log").is_none());
        assert!(task["spawn-time"].as_str().unwrap().ends_with('Z'));
    }
}
