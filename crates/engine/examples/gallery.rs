//! Contact sheet of every test portrait made into three specs and two colours:
//! `cargo run --release -p engine --example gallery -- ../shared/testdata/portraits docs/gallery.png`
//! Specs are given inline (px and bands from the catalogue) so the engine needs no catalogue.

use engine::{Background, Band, Engine, MakeOptions, PhotoSpec};
use image::{Rgb, RgbImage};
use std::path::PathBuf;

fn spec(
    slug: &str,
    w: u32,
    h: u32,
    mm: (f32, f32),
    dpi: u32,
    bands: [(f32, f32); 3],
    colors: &[(&str, [u8; 3])],
) -> PhotoSpec {
    let b = |(a, z): (f32, f32)| Band::new(a, z);
    PhotoSpec {
        slug: slug.into(),
        width_px: w,
        height_px: h,
        dpi,
        width_mm: mm.0,
        height_mm: mm.1,
        colors: colors
            .iter()
            .map(|(n, rgb)| Background {
                name: (*n).into(),
                rgb: *rgb,
            })
            .collect(),
        head_height: b(bands[0]),
        crown_gap: b(bands[1]),
        eye_line: b(bands[2]),
        face_width: None,
        file_size_kb: Band::new(10.0, 60.0),
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
    let specs = [
        spec(
            "cn-driving-licence",
            260,
            378,
            (22.0, 32.0),
            300,
            [(224.0, 260.0), (10.0, 20.0), (100.0, 163.0)],
            &[("white", [255, 255, 255]), ("blue", [0x43, 0x8E, 0xDB])],
        ),
        spec(
            "cn-passport",
            354,
            472,
            (33.0, 48.0),
            300,
            [(275.0, 325.0), (20.0, 45.0), (150.0, 215.0)],
            &[
                ("white", [255, 255, 255]),
                ("light_blue", [0x80, 0xCF, 0xFF]),
            ],
        ),
        spec(
            "size-1-inch",
            295,
            413,
            (25.0, 35.0),
            300,
            [(248.0, 322.0), (21.0, 58.0), (149.0, 215.0)],
            &[("blue", [0x43, 0x8E, 0xDB]), ("red", [0xFF, 0, 0])],
        ),
    ];
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
