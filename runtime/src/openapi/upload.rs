//! The `feishu-upload` import's form: text fields and one file, checked before anything is
//! sent (names a multipart header can carry as they are, a bounded size), and sent as
//! `multipart/form-data` by [`super::FeishuClient::upload`].
//!
//! Feishu's upload APIs (`POST /open-apis/im/v1/images`: `image_type` + `image`;
//! `POST /open-apis/im/v1/files`: `file_type`, `file_name`, `duration` + `file`) answer with
//! the key to put into a message (`data.image_key`, `data.file_key`).

use bytes::Bytes;
use serde_json::Value;

use crate::limits::openapi::{MAX_REQUEST_BYTES, MAX_UPLOAD_BYTES};

/// Longest form field name or file name accepted.
const MAX_NAME_BYTES: usize = 255;

/// One checked multipart upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    fields: Vec<(String, String)>,
    file_field: String,
    file_name: String,
    bytes: Bytes,
}

impl Upload {
    /// Checks what a guest asked for: `form` a JSON object of strings (the text fields, sent
    /// sorted by name), `file_field` a field name, `file_name` a file name, `bytes` the file
    /// (1 byte ..= [`MAX_UPLOAD_BYTES`]). `Err`: what is wrong, naming it.
    pub fn new(
        form: &str,
        file_field: &str,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> Result<Upload, String> {
        let mut fields = Vec::new();
        if !form.trim().is_empty() {
            if form.len() > MAX_REQUEST_BYTES {
                return Err(format!(
                    "the form fields are {} bytes, more than {MAX_REQUEST_BYTES}",
                    form.len()
                ));
            }
            let value: Value = serde_json::from_str(form)
                .map_err(|e| format!("the form is not JSON ({e}); it is an object of strings"))?;
            let Value::Object(map) = value else {
                return Err("the form must be a JSON object of strings".to_string());
            };
            for (name, v) in map {
                check_name("form field", &name)?;
                let Value::String(v) = v else {
                    return Err(format!("the form field `{name}` is not a string: {v}"));
                };
                fields.push((name, v));
            }
        }
        check_name("file field", file_field)?;
        check_file_name(file_name)?;
        if fields.iter().any(|(n, _)| n == file_field) {
            return Err(format!(
                "the file field `{file_field}` is also a form field"
            ));
        }
        if bytes.is_empty() {
            return Err("the file is empty".to_string());
        }
        if bytes.len() > MAX_UPLOAD_BYTES {
            return Err(format!(
                "the file is {} bytes, more than {MAX_UPLOAD_BYTES}",
                bytes.len()
            ));
        }
        Ok(Upload {
            fields,
            file_field: file_field.to_string(),
            file_name: file_name.to_string(),
            bytes: Bytes::from(bytes),
        })
    }

    /// The text fields, sorted by name.
    #[cfg(test)]
    pub fn fields(&self) -> &[(String, String)] {
        &self.fields
    }

    /// The file's size.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Never true: an empty file is refused.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The form to send (built again for each attempt; the file's bytes are shared).
    pub(crate) fn form(&self) -> reqwest::multipart::Form {
        let mut form = reqwest::multipart::Form::new();
        for (name, value) in &self.fields {
            form = form.text(name.clone(), value.clone());
        }
        let part = reqwest::multipart::Part::stream_with_length(
            reqwest::Body::from(self.bytes.clone()),
            self.bytes.len() as u64,
        )
        .file_name(self.file_name.clone())
        .mime_str("application/octet-stream")
        .expect("a valid MIME type");
        form.part(self.file_field.clone(), part)
    }
}

/// A field name: 1..=255 of `A-Z a-z 0-9 _ - .`, which a `Content-Disposition` header carries
/// as it is.
fn check_name(what: &str, name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_NAME_BYTES {
        return Err(format!(
            "the {what} name must be 1 to {MAX_NAME_BYTES} bytes: {name:?}"
        ));
    }
    match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        Some(c) => Err(format!(
            "the {what} name {name:?} holds {c:?}: only ASCII letters, digits, `_`, `-` and `.` are taken"
        )),
        None => Ok(()),
    }
}

/// A file name: 1..=255 bytes, no control character, `"`, `\` or `/`.
fn check_file_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_NAME_BYTES {
        return Err(format!(
            "the file name must be 1 to {MAX_NAME_BYTES} bytes: {name:?}"
        ));
    }
    match name
        .chars()
        .find(|c| c.is_control() || matches!(c, '"' | '\\' | '/'))
    {
        Some(c) => Err(format!(
            "the file name {name:?} holds {c:?}: no control character, `\"`, `\\` or `/`"
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_of_strings_and_a_file_is_taken() {
        let u = Upload::new(
            r#"{"image_type":"message","b":"2"}"#,
            "image",
            "chart.png",
            vec![1, 2, 3],
        )
        .unwrap();
        assert_eq!(
            u.fields(),
            [
                ("b".to_string(), "2".to_string()),
                ("image_type".to_string(), "message".to_string())
            ]
        );
        assert_eq!(u.len(), 3);
        assert!(Upload::new("", "file", "a.bin", vec![0]).is_ok());
    }

    #[test]
    fn bad_forms_and_names_are_refused_naming_what() {
        let cases: [(&str, &str, &str, Vec<u8>, &str); 9] = [
            ("[1]", "f", "a", vec![1], "JSON object"),
            ("nope", "f", "a", vec![1], "not JSON"),
            (r#"{"n":1}"#, "f", "a", vec![1], "`n` is not a string"),
            (
                r#"{"a b":"x"}"#,
                "f",
                "a",
                vec![1],
                "form field name \"a b\" holds ' '",
            ),
            ("{}", "f\"x", "a", vec![1], "file field name"),
            ("{}", "f", "a\r\nX: y", vec![1], "file name"),
            ("{}", "f", "../a", vec![1], "file name"),
            ("{}", "f", "a", vec![], "the file is empty"),
            (r#"{"f":"x"}"#, "f", "a", vec![1], "also a form field"),
        ];
        for (form, field, name, bytes, why) in cases {
            let e = Upload::new(form, field, name, bytes).unwrap_err();
            assert!(e.contains(why), "{form} {field} {name}: {e}");
        }
        let big = vec![0; MAX_UPLOAD_BYTES + 1];
        assert!(Upload::new("{}", "f", "a", big)
            .unwrap_err()
            .contains("more than"));
    }
}
