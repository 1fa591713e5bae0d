//! Intake on the real portraits and on bad inputs made here, in-process.

use engine::intake::{self, Format};
use engine::{encode, raster, EngineError};
use image::{imageops, Rgb, RgbImage};
use std::time::Instant;

const PORTRAITS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/testdata/portraits"
);

fn portrait(name: &str) -> Vec<u8> {
    std::fs::read(format!("{PORTRAITS}/{name}")).expect("test portrait")
}

/// A PNG that is only a signature and an IHDR claiming `w`×`h` (CRC not checked by the sniff).
fn png_header(w: u32, h: u32) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1a\n".to_vec();
    b.extend_from_slice(&13u32.to_be_bytes());
    b.extend_from_slice(b"IHDR");
    b.extend_from_slice(&w.to_be_bytes());
    b.extend_from_slice(&h.to_be_bytes());
    b.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
    b
}

/// Insert an APP1 EXIF segment holding only an Orientation tag, right after SOI.
fn with_orientation(jpeg: &[u8], o: u16) -> Vec<u8> {
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
    tiff.extend_from_slice(&1u16.to_be_bytes());
    tiff.extend_from_slice(&0x0112u16.to_be_bytes());
    tiff.extend_from_slice(&3u16.to_be_bytes());
    tiff.extend_from_slice(&1u32.to_be_bytes());
    tiff.extend_from_slice(&o.to_be_bytes());
    tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((2 + 6 + tiff.len()) as u16).to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(&tiff);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// The stored image whose orientation `o` displays as `upright`.
fn stored_for(upright: &RgbImage, o: u16) -> RgbImage {
    match o {
        2 => imageops::flip_horizontal(upright),
        3 => imageops::rotate180(upright),
        4 => imageops::flip_vertical(upright),
        5 => imageops::flip_horizontal(&imageops::rotate90(upright)),
        6 => imageops::rotate270(upright),
        7 => imageops::flip_vertical(&imageops::rotate90(upright)),
        8 => imageops::rotate90(upright),
        _ => upright.clone(),
    }
}

fn mean_abs_diff(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| x.abs_diff(*y) as u64)
        .sum();
    sum as f64 / a.as_raw().len() as f64
}

fn png_bytes(img: &image::DynamicImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

#[test]
fn sniff_refuses_other_formats_by_name() {
    let unsupported = |b: &[u8]| match intake::sniff(b) {
        Err(EngineError::UnsupportedFormat(name)) => name,
        other => panic!("expected UnsupportedFormat, got {other:?}"),
    };
    assert_eq!(unsupported(b"GIF89a\x01\x00\x01\x00"), "GIF");
    assert_eq!(unsupported(b"RIFF\x24\0\0\0WEBPVP8 "), "WebP");
    assert_eq!(unsupported(b"\0\0\0\x18ftypheic\0\0\0\0"), "HEIC");
    assert_eq!(unsupported(b"hello, world"), "unknown");
    assert_eq!(intake::sniff(b""), Err(EngineError::Empty));
    assert_eq!(intake::decode(b"", None).unwrap_err(), EngineError::Empty);
    assert_eq!(intake::sniff(&portrait("obama.jpg")), Ok(Format::Jpeg));
    assert_eq!(intake::sniff(&portrait("astronaut.png")), Ok(Format::Png));
}

#[test]
fn huge_headers_are_refused_before_decoding() {
    let refused = |w, h| {
        let err = intake::header_dims(&png_header(w, h), Format::Png).unwrap_err();
        assert_eq!(
            err,
            EngineError::Resolution {
                width: w,
                height: h,
                limit: 6000
            }
        );
        // decode stops at the header: the file has no pixel data, so any decode attempt
        // would have reported Corrupt instead.
        assert_eq!(intake::decode(&png_header(w, h), None).unwrap_err(), err);
    };
    refused(50000, 50000);
    refused(6000, 6000);
    refused(6000, 10);
    assert_eq!(
        intake::header_dims(&png_header(5999, 5999), Format::Png),
        Ok((5999, 5999))
    );

    // A JPEG whose SOF is patched to 8000 wide (the encoder writes no EXIF thumbnail, so the
    // first SOF marker is the frame's).
    let mut jpeg = encode::encode_jpeg(&RgbImage::new(64, 48), 90, 72).unwrap();
    let sof = jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    jpeg[sof + 7..sof + 9].copy_from_slice(&8000u16.to_be_bytes());
    assert_eq!(
        intake::decode(&jpeg, None).unwrap_err(),
        EngineError::Resolution {
            width: 8000,
            height: 48,
            limit: 6000
        }
    );
    assert_eq!(
        intake::header_dims(&portrait("obama.jpg"), Format::Jpeg),
        Ok((910, 1137))
    );
}

#[test]
fn over_five_megabytes_is_too_large() {
    let mut big = portrait("obama.jpg");
    big.resize(intake::MAX_BYTES + 1, 0);
    assert_eq!(
        intake::decode(&big, None).unwrap_err(),
        EngineError::TooLarge {
            bytes: intake::MAX_BYTES + 1,
            limit: intake::MAX_BYTES
        }
    );
}

#[test]
fn truncated_files_are_corrupt_not_panics() {
    let jpeg = portrait("obama.jpg");
    let half = &jpeg[..jpeg.len() / 2];
    assert!(matches!(
        intake::decode(half, None),
        Err(EngineError::Corrupt(_))
    ));
    let png = portrait("astronaut.png");
    assert!(matches!(
        intake::decode(&png[..png.len() / 2], None),
        Err(EngineError::Corrupt(_))
    ));
    // Any cut is an error, never a panic; even a file missing only its EOI marker.
    for cut in [3, 4, 20, 100, 1000, 5000, jpeg.len() - 1000, jpeg.len() - 2] {
        assert!(intake::decode(&jpeg[..cut], None).is_err(), "cut at {cut}");
    }
    for cut in [8, 16, 30, 100, 2000] {
        assert!(intake::decode(&png[..cut], None).is_err(), "cut at {cut}");
    }
}

#[test]
fn dct_scaling_picks_the_smallest_scale_above_the_hint() {
    let jpeg = portrait("obama.jpg"); // 910×1137
    let cases = [
        (None, 1, (910, 1137)),
        (Some(2000), 1, (910, 1137)),
        (Some(600), 1, (910, 1137)),
        (Some(569), 2, (455, 569)),
        (Some(300), 2, (455, 569)),
        (Some(285), 4, (228, 285)),
        (Some(100), 8, (114, 143)),
    ];
    for (hint, scale, dims) in cases {
        let d = intake::decode(&jpeg, hint).unwrap();
        assert_eq!(
            (d.scale, d.image.dimensions()),
            (scale, dims),
            "hint {hint:?}"
        );
        assert_eq!((d.orig_width, d.orig_height), (910, 1137));
    }
    // A 1/4 DCT decode is close to 4×4 block averages of the full decode.
    let full = intake::decode(&jpeg, None).unwrap().image;
    let quarter = intake::decode_at_scale(&jpeg, 4).unwrap().image;
    let boxed = RgbImage::from_fn(227, 284, |x, y| {
        let mut acc = [0u32; 3];
        for (dx, dy) in (0..16).map(|i| (i % 4, i / 4)) {
            let p = full.get_pixel(4 * x + dx, 4 * y + dy);
            (0..3).for_each(|c| acc[c] += p[c] as u32);
        }
        Rgb(acc.map(|v| ((v + 8) / 16) as u8))
    });
    let cropped = imageops::crop_imm(&quarter, 0, 0, 227, 284).to_image();
    let diff = mean_abs_diff(&cropped, &boxed);
    assert!(diff < 2.0, "1/4 DCT vs 4x4 block means: {diff}");
}

#[test]
fn all_eight_orientations_decode_upright() {
    let upright = intake::decode(&portrait("obama.jpg"), Some(400))
        .unwrap()
        .image;
    let (w, h) = upright.dimensions();
    let small = |img: &RgbImage| raster::resize_rgb(img, 57, 71).unwrap();
    let reference = small(&upright);
    for o in 1..=8u16 {
        let stored = stored_for(&upright, o);
        let jpeg = with_orientation(&encode::encode_jpeg(&stored, 95, 72).unwrap(), o);
        assert_eq!(intake::orientation(&jpeg), o);
        let d = intake::decode(&jpeg, None).unwrap();
        assert_eq!(d.image.dimensions(), (w, h), "orientation {o}");
        assert_eq!((d.orig_width, d.orig_height), (w, h), "orientation {o}");
        let diff = mean_abs_diff(&small(&d.image), &reference);
        assert!(diff < 2.0, "orientation {o}: mean difference {diff}");
    }
    // The mirror image of orientation 2 is far from upright: the comparison can fail.
    assert!(mean_abs_diff(&small(&imageops::flip_horizontal(&upright)), &reference) > 10.0);
}

#[test]
fn png_exif_orientation_is_applied() {
    let upright = RgbImage::from_fn(40, 20, |x, _| Rgb([if x < 10 { 255 } else { 0 }, 0, 0]));
    let stored = stored_for(&upright, 6);
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, stored.width(), stored.height());
        enc.set_color(png::ColorType::Rgb);
        let mut w = enc.write_header().unwrap();
        let tiff = b"MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0";
        w.write_chunk(png::chunk::ChunkType(*b"eXIf"), tiff)
            .unwrap();
        w.write_image_data(stored.as_raw()).unwrap();
    }
    assert_eq!(intake::orientation(&out), 6);
    assert_eq!(intake::decode(&out, None).unwrap().image, upright);
}

#[test]
fn cmyk_jpeg_decodes_to_its_colours() {
    // Four colour patches, as inverted (Adobe) CMYK, the way Photoshop and libjpeg-turbo write it.
    let colours = [
        [220u8, 30, 30],
        [30, 160, 60],
        [40, 60, 200],
        [240, 240, 240],
    ];
    let rgb = RgbImage::from_fn(
        64,
        64,
        |x, y| Rgb(colours[((y / 32) * 2 + x / 32) as usize]),
    );
    let mut cmyk = Vec::new();
    for p in rgb.pixels() {
        let [c, m, y] = p.0.map(|v| 1.0 - v as f64 / 255.0);
        let k = c.min(m).min(y);
        let ink = |v: f64| if k >= 1.0 { 0.0 } else { (v - k) / (1.0 - k) };
        cmyk.extend([ink(c), ink(m), ink(y), k].map(|v| (255.0 - v * 255.0).round() as u8));
    }
    let mut comp = turbojpeg::Compressor::new().unwrap();
    comp.set_quality(95).unwrap();
    comp.set_subsamp(turbojpeg::Subsamp::None).unwrap();
    let img = turbojpeg::Image {
        pixels: cmyk.as_slice(),
        width: 64,
        pitch: 64 * 4,
        height: 64,
        format: turbojpeg::PixelFormat::CMYK,
    };
    let jpeg = comp.compress_to_vec(img).unwrap();
    let d = intake::decode(&jpeg, None).unwrap();
    assert!(mean_abs_diff(&d.image, &rgb) < 4.0);
    let red = d.image.get_pixel(16, 16);
    assert!(red[0] > 200 && red[1] < 60 && red[2] < 60, "{red:?}");
}

#[test]
fn grey_and_progressive_jpegs_decode() {
    let grey = image::GrayImage::from_fn(48, 32, |x, _| image::Luma([(x * 5) as u8]));
    let jpeg = turbojpeg::compress(
        turbojpeg::Image {
            pixels: grey.as_raw().as_slice(),
            width: 48,
            pitch: 48,
            height: 32,
            format: turbojpeg::PixelFormat::GRAY,
        },
        95,
        turbojpeg::Subsamp::Gray,
    )
    .unwrap();
    let d = intake::decode(&jpeg, None).unwrap();
    let p = d.image.get_pixel(40, 10);
    assert!(
        p[0] == p[1] && p[1] == p[2] && p[0].abs_diff(200) <= 3,
        "{p:?}"
    );

    let upright = intake::decode(&portrait("obama.jpg"), None).unwrap().image;
    let mut comp = turbojpeg::Compressor::new().unwrap();
    comp.set_progressive(true).unwrap();
    comp.set_quality(90).unwrap();
    let img = turbojpeg::Image {
        pixels: upright.as_raw().as_slice(),
        width: 910,
        pitch: 910 * 3,
        height: 1137,
        format: turbojpeg::PixelFormat::RGB,
    };
    let progressive = comp.compress_to_vec(img).unwrap();
    let d = intake::decode(&progressive, Some(200)).unwrap();
    assert_eq!((d.scale, d.image.dimensions()), (4, (228, 285)));
}

#[test]
fn png_variants_flatten_to_rgb() {
    // 16-bit RGB.
    let deep =
        image::ImageBuffer::<Rgb<u16>, _>::from_fn(8, 8, |x, _| Rgb([x as u16 * 8000, 65535, 0]));
    let d = intake::decode(&png_bytes(&deep.into()), None).unwrap();
    assert_eq!(
        d.image.get_pixel(3, 3),
        &Rgb([(24000.0f64 / 257.0).round() as u8, 255, 0])
    );

    // Palette with a transparent entry.
    let mut pal = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut pal, 4, 1);
        enc.set_color(png::ColorType::Indexed);
        enc.set_palette(vec![255, 0, 0, 0, 0, 255, 10, 20, 30]);
        enc.set_trns(vec![255, 255, 0]);
        let mut w = enc.write_header().unwrap();
        w.write_image_data(&[0, 1, 2, 0]).unwrap();
    }
    let d = intake::decode(&pal, None).unwrap();
    let got: Vec<_> = d.image.pixels().map(|p| p.0).collect();
    assert_eq!(
        got,
        vec![[255, 0, 0], [0, 0, 255], [255, 255, 255], [255, 0, 0]]
    );

    // RGBA: transparent → white, opaque kept, half → halfway to white.
    let rgba =
        image::RgbaImage::from_vec(3, 1, vec![0, 0, 0, 0, 0, 90, 0, 255, 200, 0, 0, 128]).unwrap();
    let d = intake::decode(&png_bytes(&rgba.into()), None).unwrap();
    let got: Vec<_> = d.image.pixels().map(|p| p.0).collect();
    assert_eq!(got, vec![[255, 255, 255], [0, 90, 0], [227, 127, 127]]);

    // Grey + alpha.
    let la = image::GrayAlphaImage::from_vec(2, 1, vec![0, 255, 0, 0]).unwrap();
    let d = intake::decode(&png_bytes(&la.into()), None).unwrap();
    assert_eq!(d.image.as_raw(), &vec![0, 0, 0, 255, 255, 255]);
    assert_eq!(d.scale, 1);
}

#[test]
fn real_portraits_decode() {
    for (name, dims) in [
        ("obama.jpg", (910, 1137)),
        ("obama2.jpg", (626, 1200)),
        ("biden.jpg", (970, 2204)),
        ("astronaut.png", (512, 512)),
    ] {
        let d = intake::decode(&portrait(name), None).unwrap();
        assert_eq!(d.image.dimensions(), dims, "{name}");
        intake::recycle(d.image);
    }
}

/// A 4000×3000 JPEG of about 4 MB: obama upscaled, with sensor-like noise.
fn twelve_megapixel() -> Vec<u8> {
    let base = intake::decode(&portrait("obama.jpg"), None).unwrap().image;
    let mut big = raster::resize_rgb(&base, 4000, 3000).unwrap();
    let mut seed = 0x9E37_79B9u32;
    for v in big.iter_mut() {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        *v = v.saturating_add_signed((seed % 25) as i8 - 12);
    }
    encode::encode_jpeg(&big, 92, 72).unwrap()
}

fn time_ms(runs: u32, mut f: impl FnMut()) -> f64 {
    f();
    let t = Instant::now();
    for _ in 0..runs {
        f();
    }
    t.elapsed().as_secs_f64() * 1000.0 / runs as f64
}

/// `cargo test -p engine --release --test intake -- --ignored --nocapture`
#[test]
#[ignore]
fn bench_intake() {
    let jpeg = twelve_megapixel();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("12mp.jpg"), &jpeg).unwrap();
    println!("12 MP JPEG: {:.2} MB", jpeg.len() as f64 / 1e6);
    let full = time_ms(10, || {
        intake::recycle(intake::decode(&jpeg, None).unwrap().image)
    });
    let fresh = time_ms(10, || drop(intake::decode(&jpeg, None).unwrap()));
    let quarter = time_ms(10, || {
        intake::recycle(intake::decode_at_scale(&jpeg, 4).unwrap().image)
    });
    println!("decode full, recycled buffer: {full:.1} ms; fresh buffer: {fresh:.1} ms");
    println!("decode 1/4 DCT: {quarter:.1} ms");
    let img = intake::decode(&jpeg, None).unwrap().image;
    let mut comp = turbojpeg::Compressor::new().unwrap();
    comp.set_progressive(true).unwrap();
    comp.set_quality(92).unwrap();
    let tj = turbojpeg::Image {
        pixels: img.as_raw().as_slice(),
        width: 4000,
        pitch: 12000,
        height: 3000,
        format: turbojpeg::PixelFormat::RGB,
    };
    let progressive = comp.compress_to_vec(tj).unwrap();
    let pfull = time_ms(5, || {
        intake::recycle(intake::decode(&progressive, None).unwrap().image)
    });
    let pquarter = time_ms(5, || {
        drop(intake::decode_at_scale(&progressive, 4).unwrap())
    });
    println!("progressive: full {pfull:.1} ms, 1/4 DCT {pquarter:.1} ms");
    let rotated = with_orientation(&jpeg, 6);
    let r = time_ms(5, || {
        intake::recycle(intake::decode(&rotated, None).unwrap().image)
    });
    println!("decode full + orientation 6: {r:.1} ms");

    let id = raster::resize_rgb(
        &intake::decode(&portrait("obama.jpg"), None).unwrap().image,
        358,
        441,
    )
    .unwrap();
    let enc = time_ms(50, || drop(encode::encode_jpeg(&id, 85, 350).unwrap()));
    let band = time_ms(20, || {
        drop(encode::encode_jpeg_in_band(&id, 350, 14.0, 20.0).unwrap())
    });
    println!("encode 358x441 q85: {enc:.2} ms; band search 14–20 KB: {band:.2} ms");
    let crop = engine::raster::RotRect {
        center: engine::Point::new(2000.0, 1500.0),
        width: 1400.0,
        height: 1724.0,
        angle_deg: 3.0,
    };
    let cr = time_ms(10, || {
        drop(raster::crop_rotate_resize(&img, &crop, 358, 441).unwrap())
    });
    let crop0 = engine::raster::RotRect {
        angle_deg: 0.0,
        ..crop
    };
    let c0 = time_ms(10, || {
        drop(raster::crop_rotate_resize(&img, &crop0, 358, 441).unwrap())
    });
    println!("crop 1400x1724 → 358x441 from 12 MP: rotated 3° {cr:.1} ms, axis-aligned {c0:.1} ms");
}
