//! Storing made photos, reading blobs.

use bytes::Bytes;
use std::collections::HashSet;

use super::Platform;
use crate::app::App;
use crate::blob::image_ext;
use crate::error::{PlatformError, Result};
use crate::order::china_time;
use crate::pic::{self, NewPic, Pic, PicPhoto};

const ID_TRIES: usize = 5;

impl Platform {
    /// Stores a make's photos under `pic/<yyyymmdd>/<pic_id>/` and the pic row, valid for
    /// `settings.pic_ttl`. All or nothing: if a blob cannot be written, nothing stays.
    pub async fn store_pic(&self, app: &App, new: NewPic) -> Result<Pic> {
        check_photos(&new)?;
        let now = self.now();
        let mut pic = None;
        for _ in 0..ID_TRIES {
            let draft = draft_pic(app, &new, now, now + self.settings.pic_ttl);
            match self.repo.insert_pic(&draft).await {
                Ok(()) => {
                    pic = Some(draft);
                    break;
                }
                Err(PlatformError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        let pic = pic.ok_or_else(|| PlatformError::Conflict("no free pic_id".into()))?;
        if let Err(e) = self.put_pic_blobs(&pic, new).await {
            tracing::warn!(pic_id = %pic.pic_id, error = %e, "pic blobs failed; removing the pic");
            // The row first: no pic may point at missing blobs, even if the cleanup fails.
            self.repo.delete_unsubmitted_pic(&pic.pic_id).await?;
            let keys = pic.blob_keys();
            futures::future::join_all(keys.iter().map(|k| self.blobs.delete(k))).await;
            return Err(e);
        }
        tracing::debug!(pic_id = %pic.pic_id, app_id = app.app_id, "pic stored");
        Ok(pic)
    }

    /// Writes the pic's blobs concurrently (a local store writes each on a blocking thread).
    /// The first error, once every write has ended.
    async fn put_pic_blobs(&self, pic: &Pic, new: NewPic) -> Result<()> {
        let photos = pic
            .photos
            .iter()
            .zip(new.photos)
            .map(|(p, (_, b))| (&p.key, b));
        let extra = [
            (&pic.original_key, new.original),
            (&pic.png_key, new.transparent_png),
            (&pic.print_key, new.print_sheet),
        ];
        let extra = extra
            .into_iter()
            .filter_map(|(k, b)| Some((k.as_ref()?, b?)));
        let puts = photos
            .chain(extra)
            .map(|(key, bytes)| self.blobs.put(key, bytes));
        // Every put ends before the caller cleans up, so none lands after a delete.
        let results = futures::future::join_all(puts).await;
        results.into_iter().collect()
    }

    /// The app's pic: `PicNotFound` or `PicForeign` otherwise. Expiry is not checked here.
    pub async fn pic(&self, app: &App, pic_id: &str) -> Result<Pic> {
        let pic = self
            .repo
            .pic(pic_id)
            .await?
            .ok_or_else(|| PlatformError::PicNotFound(pic_id.to_string()))?;
        if pic.app_id != app.app_id {
            return Err(PlatformError::PicForeign(pic_id.to_string()));
        }
        Ok(pic)
    }

    /// A blob's bytes (for signed file URLs); `BlobNotFound` if absent.
    pub async fn blob(&self, key: &str) -> Result<Bytes> {
        self.blobs.get(key).await
    }

    /// Best-effort delete; failures are logged (retention sweeps them later).
    pub(crate) async fn delete_blobs(&self, keys: &[String]) -> usize {
        let mut deleted = 0;
        for key in keys {
            match self.blobs.delete(key).await {
                Ok(()) => deleted += 1,
                Err(e) => tracing::warn!(key, error = %e, "blob delete failed"),
            }
        }
        deleted
    }
}

fn check_photos(new: &NewPic) -> Result<()> {
    if new.photos.is_empty() {
        return Err(PlatformError::Invalid(
            "a pic needs at least one photo".into(),
        ));
    }
    let mut seen = HashSet::new();
    for (colour, _) in &new.photos {
        if !pic::valid_colour(colour) || !seen.insert(colour.as_str()) {
            return Err(PlatformError::Invalid(format!(
                "bad or repeated colour {colour:?}"
            )));
        }
    }
    Ok(())
}

fn draft_pic(
    app: &App,
    new: &NewPic,
    now: chrono::DateTime<chrono::Utc>,
    expires_at: chrono::DateTime<chrono::Utc>,
) -> Pic {
    let pic_id = pic::new_pic_id();
    let day = now.with_timezone(&china_time()).format("%Y%m%d");
    let dir = format!("pic/{day}/{pic_id}");
    let photos = new
        .photos
        .iter()
        .map(|(colour, _)| PicPhoto {
            colour: colour.clone(),
            key: format!("{dir}/{colour}.jpg"),
        })
        .collect();
    let key_for = |b: &Option<Bytes>, name: &str| {
        b.as_ref().map(|b| format!("{dir}/{name}.{}", image_ext(b)))
    };
    Pic {
        original_key: key_for(&new.original, "x-original"),
        png_key: key_for(&new.transparent_png, "x-transparent"),
        print_key: key_for(&new.print_sheet, "x-print"),
        pic_id,
        app_id: app.app_id,
        item_id: new.item_id,
        photos,
        checks: new.checks.clone(),
        used_by: None,
        created_at: now,
        expires_at,
    }
}
