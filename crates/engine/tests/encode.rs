//! JPEG density, KB bands and the transparent PNG.

use engine::encode::{self, encode_jpeg, encode_jpeg_in_band, jfif_density};
use engine::raster::{crop_rotate_resize, RotRect};
use engine::{intake, EngineError, Point};
use image::{GrayImage, RgbImage};

const PORTRAITS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/testdata/portraits"
);

/// The top of obama.jpg at the aspect of `w`×`h`, resized to exactly that.
fn photo(w: u32, h: u32) -> RgbImage {
    let bytes = std::fs::read(format!("{PORTRAITS}/obama.jpg")).unwrap();
    let src = intake::decode(&bytes, None).unwrap().image;
    let (sw, sh) = (910.0, 910.0 * h as f32 / w as f32);
    let rect = RotRect {
        center: Point::new(455.0, sh / 2.0),
        width: sw,
        height: sh,
        angle_deg: 0.0,
    };
    crop_rotate_resize(&src, &rect, w, h).unwrap().image
}

/// Markers of the JPEG header up to SOS, in order.
fn markers(jpeg: &[u8]) -> Vec<(u8, usize)> {
    let mut out = Vec::new();
    let mut i = 2;
    while i + 4 <= jpeg.len() {
        let (m, len) = (
            jpeg[i + 1],
            u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]) as usize,
        );
        out.push((m, len));
        if m == 0xDA {
            break;
        }
        i += 2 + len;
    }
    out
}

fn check_band(img: &RgbImage, dpi: u32, min_kb: f32, max_kb: f32) -> encode::Encoded {
    let e = encode_jpeg_in_band(img, dpi, min_kb, max_kb).unwrap();
    let kb = e.bytes.len() as f32 / 1024.0;
    assert!(
        kb >= min_kb && kb <= max_kb,
        "{kb} KB outside {min_kb}–{max_kb}"
    );
    assert_eq!(
        &e.bytes[e.bytes.len() - 2..],
        &[0xFF, 0xD9],
        "ends with EOI"
    );
    assert_eq!(jfif_density(&e.bytes), Some((1, dpi as u16, dpi as u16)));
    let back = intake::decode(&e.bytes, None).unwrap().image;
    assert_eq!(back.dimensions(), img.dimensions());
    // An independent decoder agrees that the file is fine.
    let other = image::load_from_memory_with_format(&e.bytes, image::ImageFormat::Jpeg).unwrap();
    assert_eq!((other.width(), other.height()), img.dimensions());
    // Best quality under the cap: one step up is over it.
    if e.quality < encode::MAX_QUALITY {
        let up = encode_jpeg(img, e.quality + 1, dpi).unwrap();
        assert!(
            up.len() as f32 > max_kb * 1024.0,
            "quality {} also fits",
            e.quality + 1
        );
    }
    e
}

#[test]
fn density_is_written_into_jfif() {
    let img = photo(358, 441);
    for dpi in [72, 300, 350] {
        let jpeg = encode_jpeg(&img, 85, dpi).unwrap();
        assert_eq!(jfif_density(&jpeg), Some((1, dpi as u16, dpi as u16)));
    }
    assert!(encode_jpeg(&img, 85, 0).is_err());
}

#[test]
fn missing_app0_is_inserted() {
    let jpeg = encode_jpeg(&photo(64, 80), 85, 72).unwrap();
    // Drop the APP0 segment.
    assert_eq!(markers(&jpeg)[0].0, 0xE0);
    let len = markers(&jpeg)[0].1;
    let mut bare = jpeg[..2].to_vec();
    bare.extend_from_slice(&jpeg[4 + len..]);
    assert_eq!(jfif_density(&bare), None);
    let fixed = encode::set_density(bare, 300).unwrap();
    assert_eq!(jfif_density(&fixed), Some((1, 300, 300)));
    assert_eq!(
        intake::decode(&fixed, None).unwrap().image.dimensions(),
        (64, 80)
    );
}

#[test]
fn id_card_sizes_land_in_their_bands() {
    let id = photo(358, 441);
    let a = check_band(&id, 350, 14.0, 20.0);
    let b = check_band(&id, 350, 9.0, 20.0);
    assert_eq!(a.quality, b.quality, "same cap, same best quality");
    let tall = photo(480, 640);
    check_band(&tall, 300, 20.0, 80.0);
    check_band(&tall, 300, 100.0, 500.0);
}

#[test]
fn small_files_are_padded_with_comments_not_trailing_bytes() {
    let id = photo(358, 441);
    let e = check_band(&id, 350, 200.0, 500.0);
    assert_eq!(e.quality, encode::MAX_QUALITY);
    let ms = markers(&e.bytes);
    assert_eq!(ms[0].0, 0xE0, "APP0 first");
    let coms: Vec<_> = ms.iter().filter(|(m, _)| *m == 0xFE).collect();
    assert!(
        coms.len() >= 3,
        "200 KB of padding needs several COM segments"
    );
    assert!(coms.iter().all(|(_, len)| *len <= 65535));
    assert_eq!(ms[1].0, 0xFE, "padding right after APP0");
    // The padding is blank comment text: nothing after EOI, no stray markers.
    let com = &e.bytes[markers(&e.bytes)
        .iter()
        .take(1)
        .map(|(_, l)| 4 + l)
        .sum::<usize>()..];
    assert_eq!(&com[..2], &[0xFF, 0xFE]);
    assert!(com[4..1000].iter().all(|&b| b == b' '));
    assert!(
        e.bytes.len() as f32 - 200.0 * 1024.0 < 8.0,
        "padding stops at the floor"
    );
}

#[test]
fn an_impossible_cap_is_a_file_size_refusal() {
    let tall = photo(480, 640);
    match encode_jpeg_in_band(&tall, 300, 1.0, 2.0) {
        Err(EngineError::SpecUnmet { rule, .. }) => assert_eq!(rule, "file_size"),
        other => panic!(
            "expected file_size refusal, got {:?}",
            other.map(|e| e.quality)
        ),
    }
    assert!(encode_jpeg_in_band(&tall, 300, 30.0, 20.0).is_err());
}

#[test]
fn png_keeps_alpha_and_dpi() {
    let rgb = photo(120, 160);
    let alpha = GrayImage::from_fn(120, 160, |x, _| image::Luma([(x * 2) as u8]));
    let bytes = encode::encode_png_rgba(&rgb, &alpha, 300).unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(&bytes));
    let mut reader = decoder.read_info().unwrap();
    let dims = reader.info().pixel_dims.unwrap();
    assert_eq!(
        (dims.xppu, dims.yppu, dims.unit),
        (11811, 11811, png::Unit::Meter)
    );
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    reader.next_frame(&mut buf).unwrap();
    let at = |x: u32, y: u32| {
        let i = ((y * 120 + x) * 4) as usize;
        [buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]
    };
    let p = rgb.get_pixel(50, 70);
    assert_eq!(at(50, 70), [p[0], p[1], p[2], 100]);
    assert!(encode::encode_png_rgba(&rgb, &GrayImage::new(10, 10), 300).is_err());
}
