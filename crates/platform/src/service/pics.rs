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

/// What a make will store, known before the engine runs ([`Platform::begin_pic`]).
#[derive(Debug, Clone)]
pub struct PicPlan {
    pub item_id: i64,
    /// The colours of its photos, in order.
    pub colours: Vec<String>,
    pub png: bool,
    pub print_sheet: bool,
    /// The merchant's upload.
    pub original: Bytes,
}

/// A make in progress, from [`Platform::begin_pic`].
#[derive(Debug)]
pub struct PendingPic {
    pic: Pic,
    shape: Shape,
    original: tokio::task::JoinHandle<Result<()>>,
}

impl PendingPic {
    pub fn pic_id(&self) -> &str {
        &self.pic.pic_id
    }
}

impl Platform {
    /// Stores a make's photos under `pic/<yyyymmdd>/<pic_id>/` and the pic row, valid for
    /// `settings.pic_ttl`. All or nothing: if a blob cannot be written, nothing stays.
    pub async fn store_pic(&self, app: &App, new: NewPic) -> Result<Pic> {
        check_photos(&new)?;
        let now = self.now();
        let draft = Draft {
            item_id: new.item_id,
            shape: &Shape::of(&new),
            checks: &new.checks,
            now,
            expires_at: now + self.settings.pic_ttl,
        };
        let pic = self.insert_draft(app, &draft).await?;
        if let Err(e) = self.put_pic_blobs(&pic, new).await {
            self.remove_pic(&pic, &e).await?;
            return Err(e);
        }
        tracing::debug!(pic_id = %pic.pic_id, app_id = app.app_id, "pic stored");
        Ok(pic)
    }

    /// A make about to run: its pic row is inserted already expired (so nothing can submit
    /// it, and retention removes it if the make never ends) and its upload is written while
    /// the engine works. End it with [`Platform::finish_pic`] or [`Platform::abandon_pic`].
    pub async fn begin_pic(&self, app: &App, plan: PicPlan) -> Result<PendingPic> {
        if plan.colours.is_empty() {
            return Err(PlatformError::Invalid(
                "a pic needs at least one photo".into(),
            ));
        }
        let now = self.now();
        let shape = Shape::planned(&plan);
        let draft = Draft {
            item_id: plan.item_id,
            shape: &shape,
            checks: &serde_json::Value::Null,
            now,
            expires_at: now - chrono::TimeDelta::seconds(1),
        };
        let pic = self.insert_draft(app, &draft).await?;
        let blobs = self.blobs.clone();
        let key = pic.original_key.clone().unwrap_or_default();
        let original = tokio::spawn(async move { blobs.put(&key, plan.original).await });
        Ok(PendingPic {
            pic,
            shape,
            original,
        })
    }

    /// Stores the made files of a [`PendingPic`] and opens it for `settings.pic_ttl`. All or
    /// nothing, as [`Platform::store_pic`]. `new.original` is ignored: it is being written.
    pub async fn finish_pic(&self, pending: PendingPic, mut new: NewPic) -> Result<Pic> {
        let PendingPic {
            mut pic,
            shape,
            original,
        } = pending;
        new.original = None;
        let checks = new.checks.clone();
        let written = original
            .await
            .unwrap_or_else(|e| Err(PlatformError::Invalid(format!("original write: {e}"))));
        let mut planned = shape;
        planned.original = None;
        let result = match (written, Shape::of(&new) == planned) {
            (Err(e), _) => Err(e),
            (Ok(()), false) => Err(PlatformError::Invalid(
                "the make's files differ from its plan".into(),
            )),
            (Ok(()), true) => self.put_pic_blobs(&pic, new).await,
        };
        let expires_at = self.now() + self.settings.pic_ttl;
        let result = match result {
            Ok(()) => self.repo.finish_pic(&pic.pic_id, &checks, expires_at).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(true) => {
                pic.checks = checks;
                pic.expires_at = expires_at;
                Ok(pic)
            }
            Ok(false) => {
                // The row went (it cannot have been submitted while closed): drop the files too.
                let e = PlatformError::PicNotFound(pic.pic_id.clone());
                self.remove_pic(&pic, &e).await?;
                Err(e)
            }
            Err(e) => {
                self.remove_pic(&pic, &e).await?;
                Err(e)
            }
        }
    }

    /// Ends a [`PendingPic`] whose make failed: its row and upload are removed.
    pub async fn abandon_pic(&self, pending: PendingPic) -> Result<()> {
        let _ = pending.original.await;
        self.repo
            .delete_unsubmitted_pic(&pending.pic.pic_id)
            .await?;
        self.delete_blobs(&pending.pic.blob_keys()).await;
        Ok(())
    }

    /// Inserts the row under a fresh pic_id, drawing again when one is taken.
    async fn insert_draft(&self, app: &App, d: &Draft<'_>) -> Result<Pic> {
        for _ in 0..ID_TRIES {
            let draft = draft_pic(app, d);
            match self.repo.insert_pic(&draft).await {
                Ok(()) => return Ok(draft),
                Err(PlatformError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(PlatformError::Conflict("no free pic_id".into()))
    }

    /// After a failed store: the row first, so no pic points at missing blobs even if the
    /// cleanup of the blobs fails.
    async fn remove_pic(&self, pic: &Pic, cause: &PlatformError) -> Result<()> {
        tracing::warn!(pic_id = %pic.pic_id, error = %cause, "pic blobs failed; removing the pic");
        self.repo.delete_unsubmitted_pic(&pic.pic_id).await?;
        let keys = pic.blob_keys();
        futures::future::join_all(keys.iter().map(|k| self.blobs.delete(k))).await;
        Ok(())
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

/// Which files a pic has: its colours and the extension of each extra file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shape {
    colours: Vec<String>,
    original: Option<&'static str>,
    png: Option<&'static str>,
    print: Option<&'static str>,
}

impl Shape {
    fn of(new: &NewPic) -> Self {
        let ext = |b: &Option<Bytes>| b.as_deref().map(image_ext);
        Self {
            colours: new.photos.iter().map(|(c, _)| c.clone()).collect(),
            original: ext(&new.original),
            png: ext(&new.transparent_png),
            print: ext(&new.print_sheet),
        }
    }

    fn planned(plan: &PicPlan) -> Self {
        Self {
            colours: plan.colours.clone(),
            original: Some(image_ext(&plan.original)),
            png: plan.png.then_some("png"),
            print: plan.print_sheet.then_some("jpg"),
        }
    }
}

/// A pic row before its id is drawn.
struct Draft<'a> {
    item_id: i64,
    shape: &'a Shape,
    checks: &'a serde_json::Value,
    now: chrono::DateTime<chrono::Utc>,
    expires_at: chrono::DateTime<chrono::Utc>,
}

fn draft_pic(app: &App, d: &Draft<'_>) -> Pic {
    let Draft {
        item_id,
        shape,
        checks,
        now,
        expires_at,
    } = *d;
    let pic_id = pic::new_pic_id();
    let day = now.with_timezone(&china_time()).format("%Y%m%d");
    let dir = format!("pic/{day}/{pic_id}");
    let photos = shape
        .colours
        .iter()
        .map(|colour| PicPhoto {
            colour: colour.clone(),
            key: format!("{dir}/{colour}.jpg"),
        })
        .collect();
    let key_for = |ext: Option<&str>, name: &str| ext.map(|e| format!("{dir}/{name}.{e}"));
    Pic {
        original_key: key_for(shape.original, "x-original"),
        png_key: key_for(shape.png, "x-transparent"),
        print_key: key_for(shape.print, "x-print"),
        pic_id,
        app_id: app.app_id,
        item_id,
        photos,
        checks: checks.clone(),
        used_by: None,
        created_at: now,
        expires_at,
    }
}
