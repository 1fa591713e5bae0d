//! Pics: the made photos of one `/receipt/make`, valid for a while, then submitted or deleted.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Digits in a pic_id. 12 digits stay exact as a JSON number too.
pub const PIC_ID_DIGITS: u32 = 12;

/// One made photo of a pic, on one background colour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PicPhoto {
    /// Colour name as in the spec (`white`, `blue`, ...).
    pub colour: String,
    /// Blob key of the JPEG.
    pub key: String,
}

/// The stored result of one make.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pic {
    /// A string of digits.
    pub pic_id: String,
    pub app_id: i64,
    pub item_id: i64,
    /// One photo per colour, in the spec's order.
    pub photos: Vec<PicPhoto>,
    pub original_key: Option<String>,
    /// The transparent PNG.
    pub png_key: Option<String>,
    /// The print-layout sheet, for specs that have one.
    pub print_key: Option<String>,
    /// The engine's checks report.
    pub checks: serde_json::Value,
    /// The order that took this pic; `None` while unsubmitted.
    pub used_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl Pic {
    /// Every blob key this pic owns.
    pub fn blob_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.photos.iter().map(|p| p.key.clone()).collect();
        keys.extend(self.original_key.iter().cloned());
        keys.extend(self.png_key.iter().cloned());
        keys.extend(self.print_key.iter().cloned());
        keys
    }

    /// The blob key of the photo on `colour`.
    pub fn photo_key(&self, colour: &str) -> Option<&str> {
        self.photos
            .iter()
            .find(|p| p.colour == colour)
            .map(|p| p.key.as_str())
    }
}

/// What a make hands over to be stored.
#[derive(Debug, Clone, Default)]
pub struct NewPic {
    pub item_id: i64,
    /// (colour name, JPEG bytes), in the spec's order. Colour names: see [`valid_colour`].
    pub photos: Vec<(String, Bytes)>,
    /// The merchant's upload (JPEG or PNG), kept for review.
    pub original: Option<Bytes>,
    pub transparent_png: Option<Bytes>,
    pub print_sheet: Option<Bytes>,
    pub checks: serde_json::Value,
}

/// A fresh random pic_id: [`PIC_ID_DIGITS`] digits, no leading zero.
pub fn new_pic_id() -> String {
    let low = 10u64.pow(PIC_ID_DIGITS - 1);
    rand::rng().random_range(low..low * 10).to_string()
}

/// Colour names become blob file names, so they are kept plain: `[a-z][a-z0-9_]{0,31}`.
/// (No `-`: the pic's other files are named `x-original`, `x-transparent`, `x-print`.)
pub fn valid_colour(colour: &str) -> bool {
    let b = colour.as_bytes();
    (1..=32).contains(&b.len())
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pic_ids_are_digit_strings() {
        let id = new_pic_id();
        assert_eq!(id.len(), PIC_ID_DIGITS as usize);
        assert!(id.bytes().all(|b| b.is_ascii_digit()));
    }

    #[test]
    fn colour_names_are_plain() {
        assert!(valid_colour("white"));
        assert!(valid_colour("light_blue"));
        assert!(!valid_colour("light-blue"));
        assert!(!valid_colour("_x"));
        assert!(!valid_colour("../x"));
        assert!(!valid_colour(""));
        assert!(!valid_colour("White"));
    }
}
