//! Shared by the engine's integration tests: real portraits, real specs from the catalogue.
#![allow(dead_code)]

use engine::{Background, Band, Engine, PhotoSpec};
use std::path::PathBuf;
use std::sync::OnceLock;

pub fn testdata(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata")
        .join(rel)
}

pub fn read(rel: &str) -> Vec<u8> {
    let p = testdata(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

/// One engine for the whole test binary: models load once.
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let dir = engine::vision::Models::default_dir();
        Engine::load(&dir).unwrap_or_else(|e| {
            panic!(
                "models missing in {} ({e}): run scripts/fetch-models",
                dir.display()
            )
        })
    })
}

/// The engine's view of a catalogue spec (the platform does the same in production).
pub fn spec(id: &str) -> PhotoSpec {
    let s = catalogue::Catalogue::builtin()
        .find(id)
        .unwrap_or_else(|| panic!("no spec {id}"));
    let band = |b: catalogue::Band| Band::new(b.min, b.max);
    PhotoSpec {
        slug: s.slug.clone(),
        width_px: s.width_px,
        height_px: s.height_px,
        dpi: s.dpi,
        width_mm: s.width_mm,
        height_mm: s.height_mm,
        colors: s
            .colors
            .iter()
            .map(|c| Background {
                name: c.name.clone(),
                rgb: c.rgb,
            })
            .collect(),
        head_height: band(s.head_height),
        crown_gap: band(s.crown_gap),
        eye_line: band(s.eye_line),
        face_width: s.face_width.map(band),
        file_size_kb: band(s.kb_target()),
    }
}
