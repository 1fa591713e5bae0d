//! Moving an install's blobs to another store (a local dir to S3): every key is copied
//! unless the target already holds the same bytes, and read back and compared by SHA-256.
//! Safe to run again: a second run only counts.

use futures::stream::{self, StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};

use crate::blob::BlobStore;
use crate::error::{PlatformError, Result};

/// Blobs in flight at once.
const CONCURRENT: usize = 8;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlobCopy {
    /// Keys in the source.
    pub listed: u64,
    /// Written to the target (and verified).
    pub copied: u64,
    /// Already in the target with the same checksum.
    pub same: u64,
}

/// Copies every blob of `from` into `to`, verifying each by checksum.
pub async fn copy_blobs(from: &dyn BlobStore, to: &dyn BlobStore) -> Result<BlobCopy> {
    let keys = from.list("").await?;
    let listed = keys.len() as u64;
    let results: Vec<bool> = stream::iter(keys)
        .map(|key| async move { copy_one(from, to, &key).await })
        .buffer_unordered(CONCURRENT)
        .try_collect()
        .await?;
    let copied = results.iter().filter(|c| **c).count() as u64;
    Ok(BlobCopy {
        listed,
        copied,
        same: listed - copied,
    })
}

/// True if written, false if the target had the same bytes.
async fn copy_one(from: &dyn BlobStore, to: &dyn BlobStore, key: &str) -> Result<bool> {
    let bytes = from.get(key).await?;
    let want = Sha256::digest(&bytes);
    if to.exists(key).await? && Sha256::digest(&to.get(key).await?) == want {
        return Ok(false);
    }
    to.put(key, bytes).await?;
    if Sha256::digest(&to.get(key).await?) != want {
        return Err(PlatformError::Corrupt(format!(
            "blob {key}: the copy reads back with another checksum"
        )));
    }
    Ok(true)
}
