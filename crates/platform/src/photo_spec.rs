//! From a catalogue `Spec` to what the engine needs.

use catalogue::Spec;
use engine::{Background, Band, PhotoSpec};

/// The engine's view of a spec: px, dpi, colours, bands in output pixels, the KB band aimed at.
pub fn photo_spec(spec: &Spec) -> PhotoSpec {
    let band = |b: catalogue::Band| Band::new(b.min, b.max);
    PhotoSpec {
        slug: spec.slug.clone(),
        width_px: spec.width_px,
        height_px: spec.height_px,
        dpi: spec.dpi,
        width_mm: spec.width_mm,
        height_mm: spec.height_mm,
        colors: spec
            .colors
            .iter()
            .map(|c| Background {
                name: c.name.clone(),
                rgb: c.rgb,
            })
            .collect(),
        head_height: band(spec.head_height),
        crown_gap: band(spec.crown_gap),
        eye_line: band(spec.eye_line),
        face_width: spec.face_width.map(band),
        file_size_kb: band(spec.kb_target()),
    }
}
