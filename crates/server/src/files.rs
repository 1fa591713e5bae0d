//! Signed, expiring URLs for blobs (made photos, receipts, print sheets), and the handler that
//! serves them. A URL is `<public_url>/files/<key>?expires=<unix s>&sign=<hex>`, where `sign`
//! is HMAC-SHA256 over `/files/<key>` and the expiry, with a per-install secret. A bad or
//! expired signature gets 404, like a missing file.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::Deserialize;
use sha2::Sha256;
use std::path::Path as FsPath;
use std::sync::Arc;

use crate::state::Service;
use platform::BlobStore;

/// Where the secret lives inside a data dir when it is not configured.
pub const SECRET_FILE: &str = "url-signing.key";
/// Route prefix of file URLs.
pub const FILES_PREFIX: &str = "/files/";

/// Makes and checks signed file URLs.
#[derive(Clone)]
pub struct UrlSigner {
    base: String,
    secret: Vec<u8>,
    ttl: TimeDelta,
    /// `--presign-urls`: hand out the store's own presigned URLs (S3) instead.
    presign: Option<Arc<dyn BlobStore>>,
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UrlSigner")
            .field("base", &self.base)
            .field("ttl", &self.ttl)
            .field("presign", &self.presign.as_ref().map(|s| s.describe()))
            .finish_non_exhaustive()
    }
}

impl UrlSigner {
    /// `base` is the public URL of the service (`https://api.example.com`), `ttl` how long
    /// a URL handed out stays valid.
    pub fn new(base: &str, secret: Vec<u8>, ttl: TimeDelta) -> Self {
        Self {
            base: base.trim_end_matches('/').to_string(),
            secret,
            ttl,
            presign: None,
        }
    }

    /// Hands out `store`'s presigned GET URLs (S3), so files are fetched from the bucket
    /// without this service. Keys the store cannot presign still get our signed URLs.
    pub fn with_presigning(mut self, store: Arc<dyn BlobStore>) -> Self {
        self.presign = Some(store);
        self
    }

    pub fn ttl(&self) -> TimeDelta {
        self.ttl
    }

    /// The URL of blob `key`, valid for the signer's TTL from `now`.
    pub fn url(&self, key: &str, now: DateTime<Utc>) -> String {
        self.url_until(key, now + self.ttl)
    }

    /// The URL of blob `key`, valid until `expires`.
    pub fn url_until(&self, key: &str, expires: DateTime<Utc>) -> String {
        if let Some(store) = &self.presign {
            let left = (expires - Utc::now()).to_std().unwrap_or_default();
            if let Some(url) = store.presigned_url(key, left) {
                return url;
            }
        }
        let path = format!("{FILES_PREFIX}{key}");
        let exp = expires.timestamp();
        format!(
            "{}{path}?expires={exp}&sign={}",
            self.base,
            self.sign(&path, exp)
        )
    }

    fn mac(&self, path: &str, expires: i64) -> Hmac<Sha256> {
        // HMAC takes a key of any length.
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.secret).unwrap_or_else(|_| unreachable!());
        mac.update(path.as_bytes());
        mac.update(b"\n");
        mac.update(expires.to_string().as_bytes());
        mac
    }

    fn sign(&self, path: &str, expires: i64) -> String {
        hex::encode(self.mac(path, expires).finalize().into_bytes())
    }

    /// True when `sign` is the signature of `path` and `expires`, and `expires` is not past.
    /// The comparison is constant-time.
    pub fn verify(&self, path: &str, expires: i64, sign: &str, now: DateTime<Utc>) -> bool {
        if expires < now.timestamp() {
            return false;
        }
        let Ok(given) = hex::decode(sign) else {
            return false;
        };
        self.mac(path, expires).verify_slice(&given).is_ok()
    }
}

/// The install's signing secret: `<data_dir>/url-signing.key` (32 random bytes, hex),
/// created on first use with mode 0600. Several processes starting at once agree on it.
pub fn load_or_create_secret(data_dir: &FsPath) -> std::io::Result<Vec<u8>> {
    let path = data_dir.join(SECRET_FILE);
    if let Some(secret) = read_secret(&path)? {
        return Ok(secret);
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    match opts.open(&path) {
        Ok(mut f) => {
            std::io::Write::write_all(&mut f, hex::encode(bytes).as_bytes())?;
            f.sync_all()?;
            Ok(bytes.to_vec())
        }
        // Another process won the race: use its secret.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::thread::sleep(std::time::Duration::from_millis(50));
            read_secret(&path)?
                .ok_or_else(|| std::io::Error::other("url signing key file is empty"))
        }
        Err(e) => Err(e),
    }
}

fn read_secret(path: &FsPath) -> std::io::Result<Option<Vec<u8>>> {
    match std::fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => hex::decode(text.trim())
            .map(Some)
            .map_err(|_| std::io::Error::other(format!("{} is not hex", path.display()))),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct Signed {
    expires: Option<String>,
    sign: Option<String>,
}

/// `GET /files/<key>?expires=…&sign=…`.
pub async fn serve_file(
    State(svc): State<Arc<Service>>,
    Path(key): Path<String>,
    Query(q): Query<Signed>,
) -> Response {
    let not_found = || (StatusCode::NOT_FOUND, "not found").into_response();
    let (Some(exp), Some(sign)) = (q.expires.and_then(|e| e.parse::<i64>().ok()), q.sign) else {
        return not_found();
    };
    let path = format!("{FILES_PREFIX}{key}");
    if !svc.urls.verify(&path, exp, &sign, Utc::now()) {
        return not_found();
    }
    let bytes = match svc.platform.blob(&key).await {
        Ok(b) => b,
        Err(platform::PlatformError::BlobNotFound(_)) => return not_found(),
        Err(e) => {
            tracing::warn!(key, error = %e, "file read failed");
            let status = match e {
                platform::PlatformError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            return (status, "error").into_response();
        }
    };
    let max_age = (exp - Utc::now().timestamp()).max(0);
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static(platform::blob::content_type(&key)),
        ),
        (header::CONTENT_LENGTH, HeaderValue::from(bytes.len())),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_str(&format!("private, max-age={max_age}"))
                .unwrap_or(HeaderValue::from_static("private")),
        ),
    ];
    (headers, bytes).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_urls_verify_and_refuse_tampering() {
        let s = UrlSigner::new("http://h:1/", b"secret".to_vec(), TimeDelta::minutes(5));
        let now = Utc::now();
        let url = s.url("pic/20250101/1/white.jpg", now);
        assert!(
            url.starts_with("http://h:1/files/pic/20250101/1/white.jpg?expires="),
            "{url}"
        );
        let (path, query) = url
            .trim_start_matches("http://h:1")
            .split_once('?')
            .unwrap();
        let q: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let exp: i64 = q[0].1.parse().unwrap();
        let sign = &q[1].1;
        assert!(s.verify(path, exp, sign, now));
        assert!(!s.verify(path, exp + 1, sign, now), "expiry moved");
        assert!(
            !s.verify("/files/pic/20250101/1/blue.jpg", exp, sign, now),
            "other file"
        );
        assert!(!s.verify(path, exp, "00", now));
        assert!(
            !s.verify(path, exp, sign, now + TimeDelta::minutes(6)),
            "expired"
        );
        let other = UrlSigner::new("http://h:1", b"other".to_vec(), TimeDelta::minutes(5));
        assert!(!other.verify(path, exp, sign, now), "other secret");
    }

    #[test]
    fn secret_is_created_once() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create_secret(dir.path()).unwrap();
        let b = load_or_create_secret(dir.path()).unwrap();
        assert_eq!(a.len(), 32);
        assert_eq!(a, b);
    }
}
