use crate::geom::Band;
use serde::{Deserialize, Serialize};

/// A background colour the photo is composited on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Background {
    pub name: String,
    pub rgb: [u8; 3],
}

/// What the engine needs to know about a spec. All bands are in output pixels.
/// Built by the platform from a `catalogue::Spec`; the engine does not know the catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhotoSpec {
    pub slug: String,
    pub width_px: u32,
    pub height_px: u32,
    pub dpi: u32,
    pub width_mm: f32,
    pub height_mm: f32,
    pub colors: Vec<Background>,
    /// Crown (top of hair) to chin.
    pub head_height: Band,
    /// Top edge of the photo to the crown.
    pub crown_gap: Band,
    /// Top edge of the photo to the eye line (centre of the pupils).
    pub eye_line: Band,
    /// Face width (cheek to cheek), where the standard defines it.
    pub face_width: Option<Band>,
    /// File size band in KB (1 KB = 1024 bytes).
    pub file_size_kb: Band,
}
