use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Every JSON answer of the API is one of these.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Response {
    #[serde(rename = "type")]
    pub kind: ResponseType,
    #[serde(rename = "status-code", default)]
    pub status_code: u16,
    #[serde(default)]
    pub status: String,
    /// Always present on the wire, `null` when there is nothing to say.
    #[serde(default)]
    pub result: Value,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub change: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sources: Option<Vec<String>>,
    #[serde(rename = "warning-count", skip_serializing_if = "is_zero", default)]
    pub warning_count: u64,
    #[serde(
        rename = "warning-timestamp",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub warning_timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub maintenance: Option<Maintenance>,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ResponseType {
    Sync,
    Async,
    Error,
}

/// The `result` of an error response.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ErrorResult {
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub value: Option<Value>,
}

/// Present while the daemon or the system is about to restart.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Maintenance {
    pub kind: String,
    pub message: String,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Response {
    pub fn sync(result: Value) -> Response {
        Response::new(ResponseType::Sync, 200, result)
    }

    /// A listing of local snaps carries `sources: ["local"]`, as snapd's.
    pub fn sync_local_list(result: Value) -> Response {
        Response {
            sources: Some(vec!["local".into()]),
            ..Response::sync(result)
        }
    }

    /// 202 with the change that does the work.
    pub fn accepted(change_id: &str) -> Response {
        Response {
            change: Some(change_id.to_owned()),
            ..Response::new(ResponseType::Async, 202, Value::Null)
        }
    }

    pub fn error(
        status_code: u16,
        message: impl Into<String>,
        kind: Option<&str>,
        value: Option<Value>,
    ) -> Response {
        let result = ErrorResult {
            message: message.into(),
            kind: kind.map(str::to_owned),
            value,
        };
        Response::new(
            ResponseType::Error,
            status_code,
            serde_json::to_value(result).expect("an ErrorResult always serializes"),
        )
    }

    fn new(kind: ResponseType, status_code: u16, result: Value) -> Response {
        Response {
            kind,
            status_code,
            status: status_text(status_code).to_owned(),
            result,
            change: None,
            sources: None,
            warning_count: 0,
            warning_timestamp: None,
            maintenance: None,
        }
    }

    /// The error's result, if this is an error response whose result has snapd's shape.
    pub fn error_result(&self) -> Option<ErrorResult> {
        if self.kind != ResponseType::Error {
            return None;
        }
        serde_json::from_value(self.result.clone()).ok()
    }
}

/// The HTTP reason phrase snapd puts in `status` (Go's `http.StatusText`).
pub fn status_text(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Request Entity Too Large",
        415 => "Unsupported Media Type",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        507 => "Insufficient Storage",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn async_envelope_has_snapds_shape() {
        let v = serde_json::to_value(Response::accepted("16")).unwrap();
        assert_eq!(
            v,
            json!({"type":"async","status-code":202,"status":"Accepted","result":null,"change":"16"})
        );
    }

    #[test]
    fn error_envelope_omits_empty_kind_and_value() {
        let v = serde_json::to_value(Response::error(404, "nope", None, None)).unwrap();
        assert_eq!(
            v,
            json!({"type":"error","status-code":404,"status":"Not Found","result":{"message":"nope"}})
        );
        let r = Response::error(
            409,
            "busy",
            Some("snap-change-conflict"),
            Some(json!({"snap-name":"x"})),
        );
        let back: Response = serde_json::from_value(serde_json::to_value(&r).unwrap()).unwrap();
        assert_eq!(
            back.error_result().unwrap().kind.as_deref(),
            Some("snap-change-conflict")
        );
    }

    #[test]
    fn local_listing_names_its_source() {
        let v = serde_json::to_value(Response::sync_local_list(json!([]))).unwrap();
        assert_eq!(v["sources"], json!(["local"]));
        assert_eq!(v["status"], "OK");
    }
}
