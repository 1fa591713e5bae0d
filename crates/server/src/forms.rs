//! Request fields, whatever the body: form-urlencoded (the seed), multipart, JSON, or the
//! query string of a GET. The body limit is checked against `Content-Length` before the
//! body is read, and again while reading it.

use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{header, Method};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::codes::{code, ApiError};
use crate::state::Service;
use crate::urlencoded::{FormDecoder, FormValue};

/// The fields of one request, by name. Text fields; files of a multipart body separately.
#[derive(Debug, Default, Clone)]
pub struct Fields {
    text: HashMap<String, String>,
    /// Long ASCII values of a form body (an image's base64), kept where the body was read.
    long: HashMap<String, BytesMut>,
    files: HashMap<String, Bytes>,
}

impl Fields {
    /// A field's text, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        let long = || std::str::from_utf8(self.long.get(name)?).ok();
        self.text
            .get(name)
            .map(String::as_str)
            .or_else(long)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    /// Takes a text field's raw bytes out (untrimmed): a long one without copying it.
    pub fn take(&mut self, name: &str) -> Option<BytesMut> {
        if let Some(b) = self.long.remove(name) {
            return Some(b);
        }
        self.text.remove(name).map(|s| BytesMut::from(s.as_bytes()))
    }

    /// A required field, or `MISSING_FIELD` naming it.
    pub fn require(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name).ok_or_else(|| ApiError::missing(name))
    }

    /// The raw bytes of a multipart file field.
    pub fn file(&self, name: &str) -> Option<&Bytes> {
        self.files.get(name).filter(|b| !b.is_empty())
    }

    /// A yes/no flag: `1`, `true`, `yes`, `on` (any case) are yes; absent, `0`, `false`, `no`,
    /// `off` are no; anything else is `INVALID_FIELD`.
    pub fn flag(&self, name: &str) -> Result<bool, ApiError> {
        match self.get(name).map(str::to_ascii_lowercase).as_deref() {
            None | Some("0" | "false" | "no" | "off") => Ok(false),
            Some("1" | "true" | "yes" | "on") => Ok(true),
            Some(_) => Err(ApiError::invalid(name, "应为 0 或 1", "must be 0 or 1")),
        }
    }

    /// Parses `application/x-www-form-urlencoded` text (also a query string).
    pub fn from_urlencoded(bytes: &[u8]) -> Self {
        Self::from_urlencoded_buf(BytesMut::from(bytes))
    }

    /// [`Fields::from_urlencoded`], decoding in the body's own buffer.
    pub fn from_urlencoded_buf(body: BytesMut) -> Self {
        let mut f = Fields::default();
        f.add_urlencoded(FormDecoder::whole(body));
        f
    }

    fn add_urlencoded(&mut self, pairs: Vec<(String, FormValue)>) {
        for (key, value) in pairs {
            match value {
                FormValue::Long(b) => {
                    self.text.remove(&key);
                    self.long.insert(key, b);
                }
                FormValue::Text(t) => {
                    self.long.remove(&key);
                    self.text.insert(key, t);
                }
            }
        }
    }

    /// Parses a JSON object body: strings as they are, numbers and booleans as text, objects
    /// and arrays (e.g. `param`) as JSON text, nulls as absent.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ApiError> {
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|_| bad_body("JSON 格式错误", "the body is not valid JSON"))?;
        let Value::Object(map) = value else {
            return Err(bad_body(
                "JSON 请求体必须是对象",
                "a JSON body must be an object",
            ));
        };
        let mut f = Fields::default();
        for (k, v) in map {
            let text = match v {
                Value::Null => continue,
                Value::String(s) => s,
                Value::Bool(b) => if b { "1" } else { "0" }.to_string(),
                other => other.to_string(),
            };
            f.text.insert(k, text);
        }
        Ok(f)
    }

    async fn from_multipart(req: Request) -> Result<Self, ApiError> {
        let mut mp = Multipart::from_request(req, &())
            .await
            .map_err(|_| bad_body("multipart 请求体格式错误", "malformed multipart body"))?;
        let mut f = Fields::default();
        loop {
            let field = match mp.next_field().await {
                Ok(Some(field)) => field,
                Ok(None) => return Ok(f),
                Err(_) => {
                    return Err(bad_body(
                        "multipart 请求体格式错误",
                        "malformed multipart body",
                    ))
                }
            };
            let name = field.name().unwrap_or_default().to_string();
            let is_file = field.file_name().is_some();
            let data = field
                .bytes()
                .await
                .map_err(|_| bad_body("multipart 请求体格式错误", "malformed multipart body"))?;
            if is_file {
                f.files.insert(name, data);
            } else {
                let text = String::from_utf8(data.to_vec())
                    .map_err(|_| ApiError::invalid(&name, "不是 UTF-8 文本", "not UTF-8 text"))?;
                f.text.insert(name, text);
            }
        }
    }
}

fn bad_body(zh: &str, en: &str) -> ApiError {
    ApiError::new(
        code::BAD_BODY,
        format!("请求体无法解析：{zh}"),
        format!("cannot read the request body: {en}"),
    )
}

impl FromRequest<Arc<Service>> for Fields {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &Arc<Service>) -> Result<Self, ApiError> {
        let limit = state.config.max_body_bytes;
        let query = req.uri().query().map(|q| q.as_bytes().to_vec());
        let mut fields = match *req.method() {
            Method::GET | Method::HEAD => Fields::default(),
            _ => read_body(req, limit, state.config.body_timeout).await?,
        };
        if let Some(q) = query {
            // Body fields win over query fields of the same name.
            let from_query = Fields::from_urlencoded(&q);
            for (k, v) in from_query.text {
                if !fields.long.contains_key(&k) {
                    fields.text.entry(k).or_insert(v);
                }
            }
            for (k, v) in from_query.long {
                if !fields.text.contains_key(&k) {
                    fields.long.entry(k).or_insert(v);
                }
            }
        }
        Ok(fields)
    }
}

/// Reads and drops a body that will not be used (at most `limit` bytes, within `timeout`),
/// one chunk at a time, so that a client still sending it gets the answer rather than a
/// broken connection. A declared length over `limit` is not read at all.
pub async fn drain(req: Request, limit: usize, timeout: Duration) {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return;
    }
    let mut stream = req.into_body().into_data_stream();
    let mut seen = 0;
    let _ = tokio::time::timeout(timeout, async {
        while let Some(Ok(chunk)) = stream.next().await {
            seen += chunk.len();
            if seen > limit {
                break;
            }
        }
    })
    .await;
}

async fn read_body(req: Request, limit: usize, timeout: Duration) -> Result<Fields, ApiError> {
    let headers = req.headers();
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(ApiError::body_too_large(limit));
    }
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let (parts, body) = req.into_parts();
    let multipart = ctype.starts_with("multipart/form-data");
    let json = ctype.starts_with("application/json") || ctype.contains("+json");
    let form = !(multipart || json);
    let size = declared.map_or(0, |n| n as usize).min(limit);
    // The limit holds while streaming too (chunked bodies have no Content-Length), and so
    // does the time: a client trickling its body cannot hold a place for ever.
    let mut sink = if form {
        Sink::Form(FormDecoder::with_capacity(size))
    } else {
        Sink::Raw(BytesMut::with_capacity(size))
    };
    tokio::time::timeout(timeout, collect(body, &mut sink, limit))
        .await
        .map_err(|_| ApiError::body_timeout(timeout.as_secs()))??;
    let bytes = match sink {
        Sink::Form(mut d) => {
            let mut fields = Fields::default();
            fields.add_urlencoded(d.finish());
            return Ok(fields);
        }
        Sink::Raw(b) => b,
    };
    if multipart {
        let req = Request::from_parts(parts, Body::from(bytes.freeze()));
        return Fields::from_multipart(req).await;
    }
    Fields::from_json(&bytes)
}

/// Where a body goes as it arrives: decoded on the fly (a form) or kept as it is.
enum Sink {
    Form(FormDecoder),
    Raw(BytesMut),
}

impl Sink {
    fn len(&self) -> usize {
        match self {
            Sink::Form(d) => d.received(),
            Sink::Raw(b) => b.len(),
        }
    }
}

/// Reads the body chunk by chunk into `sink`, refusing it past `limit` bytes.
async fn collect(body: Body, sink: &mut Sink, limit: usize) -> Result<(), ApiError> {
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ApiError::body_too_large(limit))?;
        if sink.len() + chunk.len() > limit {
            return Err(ApiError::body_too_large(limit));
        }
        match sink {
            Sink::Form(d) => d.push(&chunk),
            Sink::Raw(b) => b.extend_from_slice(&chunk),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urlencoded_decodes_as_form_urlencoded_does() {
        let cases: &[&[u8]] = &[
            b"a=1&b=%E5%BC%A0%E4%B8%89&c=x%2By%2Fz%3D&d=%zz%4&e&&=v&f=a=b",
            b"k=%FF%FE+%C3%28&image=AB%2BCD%2F%2F%3D%3D",
            b"%",
            b"x=%4",
            b"&&&",
            "名=值+%E5%80%BC".as_bytes(),
        ];
        for body in cases {
            let ours = Fields::from_urlencoded(body);
            let mut theirs = HashMap::new();
            for (k, v) in url::form_urlencoded::parse(body) {
                theirs.insert(k.into_owned(), v.into_owned());
            }
            assert_eq!(ours.text, theirs, "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn urlencoded_keeps_plus_decoding_and_trims() {
        let f = Fields::from_urlencoded(b"key=%20k1%20&image=a%2Bb+c&empty=");
        assert_eq!(f.get("key"), Some("k1"));
        assert_eq!(f.get("image"), Some("a+b c"));
        assert_eq!(f.get("empty"), None);
        assert_eq!(f.require("empty").unwrap_err().code, code::MISSING_FIELD);
    }

    #[test]
    fn json_objects_become_json_text() {
        let f = Fields::from_json(
            br#"{"pic_id": 123, "param": {"a": "b"}, "is_print": true, "x": null}"#,
        )
        .unwrap();
        assert_eq!(f.get("pic_id"), Some("123"));
        assert_eq!(f.get("param"), Some(r#"{"a":"b"}"#));
        assert!(f.flag("is_print").unwrap());
        assert_eq!(f.get("x"), None);
        assert_eq!(Fields::from_json(b"[1]").unwrap_err().code, code::BAD_BODY);
        assert_eq!(Fields::from_json(b"{").unwrap_err().code, code::BAD_BODY);
    }

    #[test]
    fn flags() {
        let f = Fields::from_urlencoded(b"a=1&b=0&c=maybe");
        assert!(f.flag("a").unwrap());
        assert!(!f.flag("b").unwrap());
        assert!(!f.flag("none").unwrap());
        assert_eq!(f.flag("c").unwrap_err().code, code::INVALID_FIELD);
    }
}
