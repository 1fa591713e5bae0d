//! Blob storage: made photos, originals, receipts, print sheets. Local files by default, or
//! an S3 bucket (`s3://bucket?endpoint=…&region=…`, see [`ObjectBlobStore::open`]). Keys are
//! `/`-separated, e.g. `pic/20250101/123456789012/white.jpg` or
//! `order/<order_no>/receipt-<rand>.jpg`.

use async_trait::async_trait;
use bytes::Bytes;
use futures::FutureExt as _;
use futures::TryStreamExt as _;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::signer::{Method, Signer as _};
use object_store::{
    Attribute, ClientConfigKey, ObjectStore, ObjectStoreExt as _, PutOptions, PutPayload,
    RetryConfig,
};
use std::sync::Arc;
use std::time::Duration;

use crate::error::{PlatformError, Result};

/// Where blobs live. Writes are atomic: a reader sees a whole blob or none.
#[async_trait]
pub trait BlobStore: Send + Sync {
    async fn put(&self, key: &str, bytes: Bytes) -> Result<()>;
    /// [`PlatformError::BlobNotFound`] when absent.
    async fn get(&self, key: &str) -> Result<Bytes>;
    /// Deleting a missing blob is not an error.
    async fn delete(&self, key: &str) -> Result<()>;
    async fn exists(&self, key: &str) -> Result<bool>;
    /// Every key under `prefix` (a folder, e.g. `order/20250101120000123456`; `""`: all),
    /// sorted.
    async fn list(&self, prefix: &str) -> Result<Vec<String>>;
    /// A URL the store itself serves `key` at for `expires_in`, without our server
    /// (S3 presigned GET). `None` when the store cannot presign (local files).
    fn presigned_url(&self, _key: &str, _expires_in: Duration) -> Option<String> {
        None
    }
    /// Where the blobs are, for logs and errors (no secrets).
    fn describe(&self) -> String {
        "blob store".into()
    }
}

/// A [`BlobStore`] over any `object_store` back-end.
#[derive(Debug, Clone)]
pub struct ObjectBlobStore {
    store: Arc<dyn ObjectStore>,
    /// Set on S3: presigns GET URLs.
    s3: Option<Arc<AmazonS3>>,
    label: String,
}

/// How long one S3 request may take, connection included, and how long to keep retrying:
/// a store that is down gives an error in seconds, never a hung request.
const S3_TIMEOUT: &str = "30s";
const S3_CONNECT_TIMEOUT: &str = "3s";
const S3_RETRY_FOR: Duration = Duration::from_secs(10);
/// The longest S3 accepts for a presigned URL.
pub const PRESIGN_MAX: Duration = Duration::from_secs(7 * 24 * 3600);

impl ObjectBlobStore {
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self {
            store,
            s3: None,
            label: "object store".into(),
        }
    }

    /// A store from a URL: `s3://bucket?endpoint=…&region=…`, `file:///dir`, or a plain path
    /// (a local folder).
    pub fn open(url: &str) -> Result<Self> {
        if url.starts_with("s3://") {
            return Self::s3(url);
        }
        let dir = match url.strip_prefix("file://") {
            Some(path) => path,
            None if url.contains("://") => {
                return Err(PlatformError::Invalid(format!(
                    "store URL {url:?}: only s3:// and file:// are known"
                )))
            }
            None => url,
        };
        Self::local(std::path::Path::new(dir))
    }

    /// An S3 bucket: `s3://bucket?endpoint=http://127.0.0.1:9000&region=us-east-1`. Anything
    /// not in the URL comes from the usual `AWS_*` environment variables (keys, region,
    /// endpoint). Plain `http` endpoints are allowed on loopback, elsewhere only with
    /// `allow_http=true`. Other query keys: `timeout`, `connect_timeout`, `virtual_hosted`.
    pub fn s3(url: &str) -> Result<Self> {
        Self::s3_builder(url, AmazonS3Builder::from_env())
    }

    /// [`Self::s3`] with the keys given here rather than from the environment (tests,
    /// tools that hold the keys themselves).
    pub fn s3_with_keys(url: &str, access_key_id: &str, secret_access_key: &str) -> Result<Self> {
        let b = AmazonS3Builder::from_env()
            .with_access_key_id(access_key_id)
            .with_secret_access_key(secret_access_key);
        Self::s3_builder(url, b)
    }

    fn s3_builder(url: &str, b: AmazonS3Builder) -> Result<Self> {
        let bad = |why: String| PlatformError::Invalid(format!("store URL {url:?}: {why}"));
        let parsed = url::Url::parse(url).map_err(|e| bad(e.to_string()))?;
        let bucket = parsed
            .host_str()
            .filter(|b| !b.is_empty())
            .ok_or_else(|| bad("no bucket".into()))?;
        if !matches!(parsed.path(), "" | "/") {
            return Err(bad(
                "a key prefix is not supported; use a bucket of its own".into(),
            ));
        }
        let mut b = b
            .with_bucket_name(bucket)
            .with_config(
                AmazonS3ConfigKey::Client(ClientConfigKey::Timeout),
                S3_TIMEOUT,
            )
            .with_config(
                AmazonS3ConfigKey::Client(ClientConfigKey::ConnectTimeout),
                S3_CONNECT_TIMEOUT,
            )
            .with_retry(RetryConfig {
                max_retries: 3,
                retry_timeout: S3_RETRY_FOR,
                ..Default::default()
            });
        let mut endpoint = std::env::var("AWS_ENDPOINT_URL")
            .or_else(|_| std::env::var("AWS_ENDPOINT"))
            .ok();
        let mut allow_http = None;
        for (k, v) in parsed.query_pairs() {
            match k.as_ref() {
                "endpoint" => endpoint = Some(v.to_string()),
                "region" => b = b.with_region(v.as_ref()),
                "allow_http" => allow_http = Some(v == "true"),
                "virtual_hosted" => b = b.with_virtual_hosted_style_request(v == "true"),
                "timeout" => {
                    b = b.with_config(AmazonS3ConfigKey::Client(ClientConfigKey::Timeout), v)
                }
                "connect_timeout" => {
                    let key = AmazonS3ConfigKey::Client(ClientConfigKey::ConnectTimeout);
                    b = b.with_config(key, v)
                }
                other => return Err(bad(format!("unknown setting {other:?}"))),
            }
        }
        if let Some(ep) = &endpoint {
            let ep_url = url::Url::parse(ep).map_err(|e| bad(format!("endpoint: {e}")))?;
            if ep_url.scheme() == "http" {
                if !allow_http.unwrap_or_else(|| is_loopback(&ep_url)) {
                    return Err(bad(format!(
                        "endpoint {ep} is plain http off loopback; add allow_http=true if meant"
                    )));
                }
                b = b.with_allow_http(true);
            }
            b = b.with_endpoint(ep.as_str());
        }
        let s3 = Arc::new(b.build()?);
        let label = match &endpoint {
            Some(ep) => format!("s3://{bucket} at {ep}"),
            None => format!("s3://{bucket}"),
        };
        Ok(Self {
            store: s3.clone(),
            s3: Some(s3),
            label,
        })
    }

    /// Files under `dir` (created if missing). `object_store` writes a temporary file and
    /// renames it into place, and removes emptied folders on delete.
    pub fn local(dir: &std::path::Path) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let fs = LocalFileSystem::new_with_prefix(dir)?.with_automatic_cleanup(true);
        Ok(Self {
            label: format!("local dir {}", dir.display()),
            ..Self::new(Arc::new(fs))
        })
    }
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn path(key: &str) -> Result<StorePath> {
    StorePath::parse(key).map_err(|e| PlatformError::Invalid(format!("blob key {key:?}: {e}")))
}

#[async_trait]
impl BlobStore for ObjectBlobStore {
    /// On S3 the object gets its Content-Type (from the key), so presigned URLs serve it
    /// right; local files have none to set.
    async fn put(&self, key: &str, bytes: Bytes) -> Result<()> {
        let mut opts = PutOptions::default();
        if self.s3.is_some() {
            let ctype = content_type(key);
            opts.attributes.insert(Attribute::ContentType, ctype.into());
        }
        self.store
            .put_opts(&path(key)?, PutPayload::from(bytes), opts)
            .await?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Bytes> {
        match self.store.get(&path(key)?).await {
            Ok(found) => Ok(found.bytes().await?),
            Err(object_store::Error::NotFound { .. }) => {
                Err(PlatformError::BlobNotFound(key.to_string()))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn delete(&self, key: &str) -> Result<()> {
        match self.store.delete(&path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn exists(&self, key: &str) -> Result<bool> {
        match self.store.head(&path(key)?).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let prefix = match prefix {
            "" => None,
            p => Some(path(p)?),
        };
        let mut keys: Vec<String> = self
            .store
            .list(prefix.as_ref())
            .map_ok(|meta| meta.location.to_string())
            .try_collect()
            .await?;
        keys.sort();
        Ok(keys)
    }

    /// Presigns only when the credentials are at hand (static keys): the signature is
    /// computed in place, never by waiting on a credential service.
    fn presigned_url(&self, key: &str, expires_in: Duration) -> Option<String> {
        let s3 = self.s3.as_ref()?;
        let path = path(key).ok()?;
        let signed = s3
            .signed_url(Method::GET, &path, expires_in.min(PRESIGN_MAX))
            .now_or_never()?;
        signed.ok().map(|u| u.to_string())
    }

    fn describe(&self) -> String {
        self.label.clone()
    }
}

/// What [`copy_blobs`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CopyReport {
    /// Blobs in the source.
    pub listed: u64,
    /// Written to the destination, and read back with the source's SHA-256.
    pub copied: u64,
    pub bytes_copied: u64,
    /// Already in the destination with the same SHA-256 (a run before this one).
    pub already: u64,
    /// Keys not copied or not verified, with why; sorted.
    pub failed: Vec<(String, String)>,
}

impl CopyReport {
    /// Every blob is in the destination, checksum verified.
    pub fn ok(&self) -> bool {
        self.failed.is_empty() && self.copied + self.already == self.listed
    }
}

enum Copied {
    Already,
    Written(u64),
}

/// Copies every blob of `from` into `to` (`photoreceipt migrate --blobs-from --blobs-to`),
/// `concurrency` at a time. Each copy is read back and compared by SHA-256. Blobs already
/// in `to` with the same checksum are left alone, others are written again, so a run that
/// stopped half-way can simply be run again. Blobs only in `to` are kept.
pub async fn copy_blobs(
    from: &dyn BlobStore,
    to: &dyn BlobStore,
    concurrency: usize,
) -> Result<CopyReport> {
    use futures::StreamExt as _;
    let keys = from.list("").await?;
    let report = CopyReport {
        listed: keys.len() as u64,
        ..CopyReport::default()
    };
    let mut report = futures::stream::iter(keys)
        .map(move |key| async move {
            let done = copy_one(from, to, &key).await;
            (key, done)
        })
        .buffer_unordered(concurrency.max(1))
        .fold(report, |mut r, (key, done)| async move {
            match done {
                Ok(Copied::Already) => r.already += 1,
                Ok(Copied::Written(n)) => {
                    r.copied += 1;
                    r.bytes_copied += n;
                }
                Err(e) => r.failed.push((key, e.to_string())),
            }
            r
        })
        .await;
    report.failed.sort();
    Ok(report)
}

async fn copy_one(from: &dyn BlobStore, to: &dyn BlobStore, key: &str) -> Result<Copied> {
    let bytes = from.get(key).await?;
    let want = sha256(&bytes);
    match to.get(key).await {
        Ok(there) if sha256(&there) == want => return Ok(Copied::Already),
        Ok(_) | Err(PlatformError::BlobNotFound(_)) => {}
        Err(e) => return Err(e),
    }
    let n = bytes.len() as u64;
    to.put(key, bytes).await?;
    if sha256(&to.get(key).await?) != want {
        return Err(PlatformError::Corrupt(format!(
            "blob {key}: the copy read back has another SHA-256"
        )));
    }
    Ok(Copied::Written(n))
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}

/// The Content-Type of a blob, from its key's extension.
pub fn content_type(key: &str) -> &'static str {
    match key.rsplit_once('.').map(|(_, ext)| ext) {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("pdf") => "application/pdf",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

/// The extension for image bytes, by magic: `jpg`, `png`, else `bin`.
pub fn image_ext(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "jpg"
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        "png"
    } else {
        "bin"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_store_round_trip_list_and_delete() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = ObjectBlobStore::local(&dir.path().join("blobs")).expect("store");
        store
            .put("pic/20250101/1/white.jpg", Bytes::from_static(b"abc"))
            .await
            .expect("put");
        store
            .put("pic/20250101/1/blue.jpg", Bytes::from_static(b"de"))
            .await
            .expect("put");
        store
            .put("pic/20250102/2/white.jpg", Bytes::from_static(b"f"))
            .await
            .expect("put");
        assert_eq!(
            store.get("pic/20250101/1/white.jpg").await.expect("get"),
            Bytes::from_static(b"abc")
        );
        assert!(dir.path().join("blobs/pic/20250101/1/white.jpg").is_file());
        assert_eq!(
            store.list("pic/20250101").await.expect("list"),
            ["pic/20250101/1/blue.jpg", "pic/20250101/1/white.jpg"]
        );
        store.delete("pic/20250101/1/white.jpg").await.expect("del");
        store
            .delete("pic/20250101/1/white.jpg")
            .await
            .expect("again");
        assert!(!store
            .exists("pic/20250101/1/white.jpg")
            .await
            .expect("exists"));
        assert!(matches!(
            store.get("pic/20250101/1/white.jpg").await,
            Err(PlatformError::BlobNotFound(_))
        ));
        assert!(store.put("../escape", Bytes::new()).await.is_err());
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type("a/b.jpg"), "image/jpeg");
        assert_eq!(content_type("a/b.png"), "image/png");
        assert_eq!(content_type("a/b"), "application/octet-stream");
        assert_eq!(image_ext(b"\x89PNG\r\n\x1a\n..."), "png");
    }
}
