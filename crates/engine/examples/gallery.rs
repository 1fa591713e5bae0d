//! Contact sheet of every test portrait made into three specs and two colours:
//! `cargo run --release -p engine --example gallery -- ../shared/testdata/portraits docs/gallery.png`
//! The driving licence is shown on blue too, though the standard wants white, to show edges.

use engine::{Background, Band, Engine, MakeOptions, PhotoSpec};
use image::{Rgb, RgbImage};
use std::path::PathBuf;

/// The engine's view of a catalogue spec (the platform's `photo_spec` does the same).
fn spec(slug: &str) -> PhotoSpec {
    let s = catalogue::Catalogue::builtin()
        .find(slug)
        .expect("spec in the catalogue");
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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .unwrap_or_else(|| "../shared/testdata/portraits".into()),
    );
    let out = PathBuf::from(args.next().unwrap_or_else(|| "docs/gallery.png".into()));
    let engine = Engine::load(&engine::vision::Models::default_dir())?;
    // Three specs, two colours each.
    let mut specs = [
        spec("cn-driving-licence"),
        spec("cn-passport"),
        spec("size-1-inch"),
    ];
    specs[0].colors = vec![
        Background {
            name: "white".into(),
            rgb: [255; 3],
        },
        Background {
            name: "blue".into(),
            rgb: [0x43, 0x8E, 0xDB],
        },
    ];
    specs[1].colors.truncate(2);
    specs[2].colors.retain(|c| c.name != "white");
    let mut files: Vec<_> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    let (cell_h, gap) = (240u32, 8u32);
    let mut rows = Vec::new();
    for f in &files {
        let bytes = std::fs::read(f)?;
        let mut row = Vec::new();
        for s in &specs {
            match engine.make(&bytes, s, &MakeOptions::default()) {
                Ok(made) => {
                    for p in &made.photos {
                        let img = image::load_from_memory(&p.jpeg)?.to_rgb8();
                        let w = img.width() * cell_h / img.height();
                        row.push(image::imageops::resize(
                            &img,
                            w,
                            cell_h,
                            image::imageops::FilterType::Lanczos3,
                        ));
                    }
                }
                Err(e) => eprintln!("{}: {}: {e}", f.display(), s.slug),
            }
        }
        rows.push(row);
    }
    let width = rows
        .iter()
        .map(|r| r.iter().map(|i| i.width() + gap).sum::<u32>() + gap)
        .max()
        .unwrap_or(1);
    let height = rows.len() as u32 * (cell_h + gap) + gap;
    let mut sheet = RgbImage::from_pixel(width, height, Rgb([90, 90, 90]));
    for (r, row) in rows.iter().enumerate() {
        let mut x = gap;
        for img in row {
            image::imageops::replace(
                &mut sheet,
                img,
                x as i64,
                (gap + r as u32 * (cell_h + gap)) as i64,
            );
            x += img.width() + gap;
        }
    }
    sheet.save(&out)?;
    eprintln!("wrote {}", out.display());
    Ok(())
}
