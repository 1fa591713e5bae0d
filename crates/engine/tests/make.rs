//! The whole make pipeline on real portraits: sizes, file sizes, colours, framing re-measured on
//! the output, EXIF orientations, and refusals.

mod common;

use common::{engine, read, spec};
use engine::checks::{delta_e, lab};
use engine::{EngineError, MakeOptions, PhotoSpec};
use image::RgbImage;

const PORTRAITS: [&str; 4] = [
    "portraits/obama.jpg",
    "portraits/obama2.jpg",
    "portraits/biden.jpg",
    "portraits/astronaut.png",
];
const SPECS: [&str; 4] = [
    "cn-driving-licence",
    "cn-id-card",
    "cn-passport",
    "size-1-inch",
];

fn decode(jpeg: &[u8]) -> RgbImage {
    image::load_from_memory(jpeg)
        .expect("made JPEG decodes")
        .to_rgb8()
}

/// Crown and chin measured again on the outputs, independently of the engine's own report: the
/// crown is the first row over the face's middle where the transparent PNG turns opaque; the chin
/// comes from running the face mesh on the made JPEG.
fn remeasure(img: &RgbImage, png: &[u8]) -> (f32, f32) {
    let models = engine().models();
    let faces = models.detect_faces(img).expect("detect on output");
    assert_eq!(faces.len(), 1, "the output shows exactly one face");
    let mesh = models.face_mesh(img, &faces[0]).expect("mesh on output");
    let chin = mesh.chin().y;
    let cx = mesh.at(engine::Landmarks::NOSE_TIP).x;
    let alpha = image::load_from_memory(png)
        .expect("png decodes")
        .to_rgba8();
    let (x0, x1) = (
        (cx - 15.0).max(0.0) as u32,
        ((cx + 15.0) as u32).min(img.width()),
    );
    let crown = (0..img.height())
        .find(|&y| {
            (x0..x1)
                .filter(|&x| alpha.get_pixel(x, y)[3] >= 128)
                .count()
                >= 3
        })
        .expect("a head on the output") as f32;
    (crown, chin)
}

fn check_photo(spec: &PhotoSpec, name: &str, jpeg: &[u8], rgb: [u8; 3]) {
    let kb = jpeg.len() as f32 / 1024.0;
    assert!(
        spec.file_size_kb.contains(kb),
        "{name}: {kb:.1} KB outside {:?}",
        spec.file_size_kb
    );
    assert_eq!(
        engine::encode::jfif_density(jpeg).map(|d| d.1 as u32),
        Some(spec.dpi),
        "{name}: JFIF dpi"
    );
    let img = decode(jpeg);
    assert_eq!(
        img.dimensions(),
        (spec.width_px, spec.height_px),
        "{name}: exact size"
    );
    // The top strip, above the head, is the background colour.
    // Above the crown: the spec's smallest crown gap, less a margin for the hair's soft edge.
    let strip = (spec.crown_gap.min * 0.6).max(2.0) as u32;
    // Mean ΔE under 2 (what the eye sees); single pixels may carry JPEG chroma ringing from
    // the hair below (4:2:0 blocks span 16 rows), but no blotch.
    let (mut sum, mut worst, mut n) = (0.0f32, 0.0f32, 0.0f32);
    for y in 0..strip {
        for x in 0..spec.width_px {
            let d = delta_e(lab(img.get_pixel(x, y).0), lab(rgb));
            (sum, worst, n) = (sum + d, worst.max(d), n + 1.0);
        }
    }
    assert!(
        sum / n < 2.0 && worst < 5.0,
        "{name}: top strip mean ΔE {:.2}, max {worst:.2}",
        sum / n
    );
}

fn check_geometry(spec: &PhotoSpec, name: &str, made: &engine::Made) {
    let img = decode(&made.photos[0].jpeg);
    let png = made.png.as_deref().expect("png made");
    let (crown, chin) = remeasure(&img, png);
    let head = chin - crown;
    let tol = spec.height_px as f32 * 0.015;
    assert!(
        head >= spec.head_height.min - tol && head <= spec.head_height.max + tol,
        "{name}: head height {head:.0} outside {:?}",
        spec.head_height
    );
    assert!(
        crown >= spec.crown_gap.min - tol && crown <= spec.crown_gap.max + tol,
        "{name}: crown gap {crown:.0} outside {:?}",
        spec.crown_gap
    );
}

#[test]
fn real_portraits_meet_four_specs() {
    for id in SPECS {
        let spec = spec(id);
        for file in PORTRAITS {
            let made = engine()
                .make(
                    &read(file),
                    &spec,
                    &MakeOptions {
                        png: true,
                        ..Default::default()
                    },
                )
                .unwrap_or_else(|e| panic!("{file} as {id}: {e}"));
            assert_eq!(made.photos.len(), spec.colors.len());
            check_geometry(&spec, &format!("{file} as {id}"), &made);
            for p in &made.photos {
                check_photo(
                    &spec,
                    &format!("{file} as {id} on {}", p.color.name),
                    &p.jpeg,
                    p.color.rgb,
                );
            }
            let m = &made.report.measurements;
            for rule in ["head_height", "crown_gap", "eye_line"] {
                let c = made
                    .report
                    .checks
                    .iter()
                    .find(|c| c.rule == rule)
                    .expect("rule present");
                assert!(
                    c.pass,
                    "{file} as {id}: {rule} = {} ({:?})",
                    c.value, c.expected
                );
            }
            assert!(m.head_height > 0.0);
        }
    }
}

#[test]
fn png_and_print_sheet() {
    let spec = spec("size-1-inch");
    let opts = MakeOptions {
        png: true,
        sheets: vec![engine::sheet::Paper::SixInch],
        ..Default::default()
    };
    let made = engine()
        .make(&read("portraits/obama.jpg"), &spec, &opts)
        .expect("made");
    let png = image::load_from_memory(made.png.as_deref().expect("png"))
        .expect("png decodes")
        .to_rgba8();
    assert_eq!(png.dimensions(), (spec.width_px, spec.height_px));
    assert_eq!(png.get_pixel(2, 2)[3], 0, "corner is transparent");
    let centre = png.get_pixel(spec.width_px / 2, spec.height_px / 2);
    assert_eq!(centre[3], 255, "the face is opaque");
    let (_, sheet) = &made.sheets[0];
    let sheet = decode(sheet);
    let dims = sheet.dimensions();
    assert!(
        dims == (1800, 1200) || dims == (1200, 1800),
        "6-inch sheet in either orientation: {dims:?}"
    );
}

/// `jpeg` stored so that a viewer applying EXIF `orientation` shows the original: a lossless
/// transform (no re-encoding, so every orientation decodes to the same pixels) plus the tag.
fn with_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    use turbojpeg::TransformOp as T;
    let op = match orientation {
        2 => T::Hflip,
        3 => T::Rot180,
        4 => T::Vflip,
        5 => T::Transpose,
        6 => T::Rot270,
        7 => T::Transverse,
        8 => T::Rot90,
        _ => T::None,
    };
    let mut t = turbojpeg::Transform::op(op);
    t.perfect = true;
    let stored = turbojpeg::transform(&t, jpeg)
        .expect("lossless transform")
        .to_vec();
    let tiff: Vec<u8> = [
        b"MM\0\x2a\0\0\0\x08".as_slice(),
        &[0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1],
        &orientation.to_be_bytes(),
        &[0, 0, 0, 0, 0, 0],
    ]
    .concat();
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend(((tiff.len() + 8) as u16).to_be_bytes());
    app1.extend(b"Exif\0\0");
    app1.extend(tiff);
    [&stored[..2], &app1, &stored[2..]].concat()
}

#[test]
fn eight_orientations_give_the_same_crop() {
    // Whole MCUs on both sides, so every lossless transform is exact.
    let full = decode(&read("portraits/obama.jpg"));
    let upright =
        image::imageops::crop_imm(&full, 0, 0, full.width() / 16 * 16, full.height() / 16 * 16)
            .to_image();
    let base = engine::encode::encode_jpeg(&upright, 95, 72).expect("encode");
    let spec = spec("cn-driving-licence");
    let mut first: Option<engine::checks::Measurements> = None;
    for o in 1..=8u16 {
        let made = engine()
            .make(&with_orientation(&base, o), &spec, &MakeOptions::default())
            .unwrap_or_else(|e| panic!("orientation {o}: {e}"));
        let m = made.report.measurements;
        if let Some(f) = &first {
            for (what, a, b) in [
                ("crown", f.crown_y, m.crown_y),
                ("chin", f.chin.y, m.chin.y),
                ("eye x", f.left_eye.x, m.left_eye.x),
                ("eye y", f.left_eye.y, m.left_eye.y),
            ] {
                assert!((a - b).abs() <= 2.0, "orientation {o}: {what} {b} vs {a}");
            }
        } else {
            first = Some(m);
        }
    }
}

#[test]
fn no_face_is_refused() {
    let spec = spec("cn-driving-licence");
    for f in ["no-face/coffee.png", "no-face/rocket.jpg"] {
        let r = engine().make(&read(f), &spec, &MakeOptions::default());
        assert_eq!(r.err(), Some(EngineError::NoFace), "{f}");
    }
}

#[test]
fn two_people_are_refused() {
    let a = decode(&read("portraits/obama.jpg"));
    let mut pair = RgbImage::new(a.width() * 2, a.height());
    image::imageops::replace(&mut pair, &a, 0, 0);
    image::imageops::replace(&mut pair, &a, a.width() as i64, 0);
    let jpeg = engine::encode::encode_jpeg(&pair, 90, 72).expect("encode");
    let r = engine().make(&jpeg, &spec("cn-driving-licence"), &MakeOptions::default());
    assert!(matches!(r, Err(EngineError::SeveralFaces(2))), "{r:?}");
}

#[test]
fn huge_header_is_refused_before_decoding() {
    // A PNG that claims 6000×6000 and holds no pixel data at all.
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    png.extend(6000u32.to_be_bytes());
    png.extend(6000u32.to_be_bytes());
    png.extend([8, 2, 0, 0, 0, 0, 0, 0, 0]);
    let r = engine().make(&png, &spec("cn-driving-licence"), &MakeOptions::default());
    assert!(
        matches!(
            r,
            Err(EngineError::Resolution {
                width: 6000,
                height: 6000,
                ..
            })
        ),
        "{r:?}"
    );
}

#[test]
fn unknown_colour_is_refused() {
    let opts = MakeOptions {
        colors: Some(vec!["purple".into()]),
        ..Default::default()
    };
    let r = engine().make(
        &read("portraits/obama.jpg"),
        &spec("cn-driving-licence"),
        &opts,
    );
    assert_eq!(r.err(), Some(EngineError::UnknownColor("purple".into())));
}
