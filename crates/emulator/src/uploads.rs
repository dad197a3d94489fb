//! Feishu's upload APIs (`POST /open-apis/im/v1/images` and `POST /open-apis/im/v1/files`,
//! multipart/form-data): the form is parsed and checked as Feishu documents it, the file is
//! recorded by size and SHA-256 ([`UploadRecord`], [`super::Emulator::uploads`],
//! `GET /_emulator/uploads`), and the answer carries a fresh `image_key` / `file_key`.

use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::openapi::{check_bearer, error, CODE_FIELD_VALIDATION};
use super::records::OpenApiCall;
use super::state::{push_bounded, random_hex, State};
use crate::limits::{MAX_FILE_BYTES, MAX_IMAGE_BYTES};

/// Path of the image upload API.
pub const IMAGES_PATH: &str = "/open-apis/im/v1/images";
/// Path of the file upload API.
pub const FILES_PATH: &str = "/open-apis/im/v1/files";

const IMAGE_TYPES: [&str; 2] = ["message", "avatar"];
const FILE_TYPES: [&str; 7] = ["opus", "mp4", "pdf", "doc", "xls", "ppt", "stream"];

/// A multipart form as received.
#[derive(Debug, Clone, Default)]
pub struct Form {
    /// Text fields, in order.
    pub fields: Vec<(String, String)>,
    /// File parts: (field name, file name, bytes).
    pub files: Vec<(String, String, Bytes)>,
}

impl Form {
    /// What the call log keeps of it: the fields, and each file's name and size.
    pub fn summary(&self) -> Value {
        json!({
            "fields": self.fields.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
            "files": self.files.iter().map(|(f, n, b)| json!({"field": f, "file_name": n, "bytes": b.len()})).collect::<Vec<_>>(),
        })
    }

    fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// One file uploaded and accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRecord {
    /// When.
    pub at: Instant,
    /// `/open-apis/im/v1/images` or `/open-apis/im/v1/files`.
    pub path: String,
    /// The key answered (`img_…` or `file_…`).
    pub key: String,
    /// The form's text fields, in order.
    pub fields: Vec<(String, String)>,
    /// The file part's field name (`image` or `file`).
    pub file_field: String,
    /// The file part's file name.
    pub file_name: String,
    /// The file's size.
    pub bytes: usize,
    /// Hex SHA-256 of the file.
    pub sha256: String,
}

/// Whether the request is `multipart/form-data`.
pub fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        })
}

/// Parses a multipart body; `Err`: why it is not one.
pub async fn parse(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Form, String> {
    let mut request = Request::new(Body::from(body));
    *request.method_mut() = method.clone();
    *request.uri_mut() = uri.clone();
    *request.headers_mut() = headers.clone();
    let mut multipart = Multipart::from_request(request, &())
        .await
        .map_err(|e| e.body_text())?;
    let mut form = Form::default();
    while let Some(field) = multipart.next_field().await.map_err(|e| e.body_text())? {
        let name = field.name().unwrap_or("").to_string();
        match field.file_name().map(str::to_string) {
            Some(file_name) => {
                let bytes = field.bytes().await.map_err(|e| e.body_text())?;
                form.files.push((name, file_name, bytes));
            }
            None => {
                let text = field.text().await.map_err(|e| e.body_text())?;
                form.fields.push((name, text));
            }
        }
    }
    Ok(form)
}

/// Answers an upload API call, `None` for another path.
pub fn route(
    state: &mut State,
    call: &OpenApiCall,
    form: Option<&Form>,
    now: Instant,
) -> Option<(StatusCode, Value)> {
    let path = call.path.trim_end_matches('/');
    if path != IMAGES_PATH && path != FILES_PATH {
        return None;
    }
    if call.method != "POST" {
        return Some(error(StatusCode::NOT_FOUND, 404, "not emulated"));
    }
    if let Err(e) = check_bearer(state, call, now) {
        return Some(e);
    }
    let Some(form) = form else {
        return Some(invalid("the body must be multipart/form-data"));
    };
    let image = path == IMAGES_PATH;
    let checked = if image {
        check_image(form)
    } else {
        check_file(form)
    };
    let (field, file_name, bytes) = match checked {
        Ok(file) => file,
        Err(why) => return Some(invalid(&why)),
    };
    let mut rng = rand::thread_rng();
    let (key, name) = if image {
        (format!("img_v3_{}", random_hex(&mut rng, 24)), "image_key")
    } else {
        (format!("file_v3_{}", random_hex(&mut rng, 24)), "file_key")
    };
    push_bounded(
        &mut state.uploads,
        UploadRecord {
            at: now,
            path: path.to_string(),
            key: key.clone(),
            fields: form.fields.clone(),
            file_field: field.clone(),
            file_name: file_name.clone(),
            bytes: bytes.len(),
            sha256: hex(&Sha256::digest(bytes)),
        },
    );
    Some((
        StatusCode::OK,
        json!({"code": 0, "msg": "success", "data": {name: key}}),
    ))
}

fn invalid(why: &str) -> (StatusCode, Value) {
    error(StatusCode::BAD_REQUEST, CODE_FIELD_VALIDATION, why)
}

type File<'a> = (String, String, &'a Bytes);

fn the_file<'a>(form: &'a Form, field: &str, max: usize) -> Result<File<'a>, String> {
    let mut files = form.files.iter().filter(|(f, _, _)| f == field);
    let Some((f, n, b)) = files.next() else {
        return Err(format!("the file part `{field}` is required"));
    };
    if files.next().is_some() {
        return Err(format!("more than one file part `{field}`"));
    }
    if b.is_empty() {
        return Err(format!("the file `{field}` is empty"));
    }
    if b.len() > max {
        return Err(format!(
            "the file `{field}` is {} bytes, more than {max}",
            b.len()
        ));
    }
    Ok((f.clone(), n.clone(), b))
}

fn check_image(form: &Form) -> Result<File<'_>, String> {
    match form.field("image_type") {
        Some(t) if IMAGE_TYPES.contains(&t) => {}
        Some(t) => return Err(format!("image_type {t:?} is not one of {IMAGE_TYPES:?}")),
        None => return Err("image_type is required".to_string()),
    }
    the_file(form, "image", MAX_IMAGE_BYTES)
}

fn check_file(form: &Form) -> Result<File<'_>, String> {
    match form.field("file_type") {
        Some(t) if FILE_TYPES.contains(&t) => {}
        Some(t) => return Err(format!("file_type {t:?} is not one of {FILE_TYPES:?}")),
        None => return Err("file_type is required".to_string()),
    }
    match form.field("file_name") {
        Some(n) if !n.is_empty() => {}
        _ => return Err("file_name is required".to_string()),
    }
    the_file(form, "file", MAX_FILE_BYTES)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `GET /_emulator/uploads`: every accepted file (at_ms, path, key, fields, file_field,
/// file_name, bytes, sha256).
pub(crate) async fn control_list(
    axum::extract::State(shared): axum::extract::State<std::sync::Arc<super::state::Shared>>,
) -> axum::Json<Value> {
    let state = shared.lock();
    let list: Vec<Value> = state
        .uploads
        .iter()
        .map(|u| {
            json!({
                "at_ms": super::control::ms(&shared, u.at),
                "path": u.path,
                "key": u.key,
                "fields": u.fields.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
                "file_field": u.file_field,
                "file_name": u.file_name,
                "bytes": u.bytes,
                "sha256": u.sha256,
            })
        })
        .collect();
    axum::Json(Value::Array(list))
}
