//! Blob storage: made photos, originals, receipts, print sheets. Local files by default,
//! any `object_store` back-end (S3) later. Keys are `/`-separated, e.g.
//! `pic/20250101/123456789012/white.jpg` or `order/<order_no>/receipt-<rand>.jpg`.

use async_trait::async_trait;
use bytes::Bytes;
use futures::TryStreamExt as _;
use object_store::local::LocalFileSystem;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt as _, PutPayload};
use std::sync::Arc;

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
    /// Every key under `prefix` (a folder, e.g. `order/20250101120000123456`), sorted.
    async fn list(&self, prefix: &str) -> Result<Vec<String>>;
}

/// A [`BlobStore`] over any `object_store` back-end.
#[derive(Debug, Clone)]
pub struct ObjectBlobStore {
    store: Arc<dyn ObjectStore>,
}

impl ObjectBlobStore {
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self { store }
    }

    /// Files under `dir` (created if missing). `object_store` writes a temporary file and
    /// renames it into place, and removes emptied folders on delete.
    pub fn local(dir: &std::path::Path) -> Result<Self> {
        std::fs::create_dir_all(dir)?;
        let fs = LocalFileSystem::new_with_prefix(dir)?.with_automatic_cleanup(true);
        Ok(Self::new(Arc::new(fs)))
    }
}

fn path(key: &str) -> Result<StorePath> {
    StorePath::parse(key).map_err(|e| PlatformError::Invalid(format!("blob key {key:?}: {e}")))
}

#[async_trait]
impl BlobStore for ObjectBlobStore {
    async fn put(&self, key: &str, bytes: Bytes) -> Result<()> {
        self.store.put(&path(key)?, PutPayload::from(bytes)).await?;
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
        let prefix = path(prefix)?;
        let mut keys: Vec<String> = self
            .store
            .list(Some(&prefix))
            .map_ok(|meta| meta.location.to_string())
            .try_collect()
            .await?;
        keys.sort();
        Ok(keys)
    }
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
