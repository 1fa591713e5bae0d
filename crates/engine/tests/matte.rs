//! Matting on the real portraits, measured against the reference alphas.
//!
//! Edge error: mean absolute alpha difference (0..1) to the IS-Net reference matte
//! (`shared/testdata/alpha`, a measuring stick, not ground truth), only on pixels within
//! `BAND` of the reference's 0.5 outline inside a head-and-shoulders crop, so objects IS-Net
//! kept further down (hands, a desk) do not count.
//!
//! The coarse mask is what the pipeline gets: MediaPipe selfie segmentation run on a region
//! 30 % larger than the crop on each side (as `make::seg_region` does), then again on the head
//! square (`vision::head_square`) and blended in (`vision::PersonMask`), sampled bilinearly at
//! the output pixels. The baseline is the first pass alone, the plain upsampled mask. When the
//! models are missing (`models/` is fetched by
//! `scripts/fetch-models`), a faithful stand-in is used instead: the reference alpha over the
//! same region, shrunk to 256×256, blurred with σ = 2.5 model pixels and sampled the same
//! way. Both kinds are also tested on their own (the simulation always runs).
//!
//! Set `MATTE_DUMP=/some/dir` to write the trimaps, alphas and composites as PNGs.

use engine::matte::{self, MatteHints, MatteOptions};
use engine::vision::{head_square, Mask, Models, Pass, PersonMask};
use engine::{Landmarks, Point, Rect};
use image::imageops::{self, FilterType};
use image::{GrayImage, Luma, RgbImage};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const RED: [u8; 3] = [0xD7, 0x45, 0x32];
const BLUE: [u8; 3] = [0x43, 0x8E, 0xDB];
/// Half-width of the measuring band around the reference outline, as a fraction of the crop
/// height (11 px at 441).
const BAND: f32 = 0.025;

fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata")
        .join(rel)
}

/// A head-and-shoulders crop of a test portrait, resampled to an output size.
#[derive(Clone, Copy)]
struct Case {
    name: &'static str,
    /// Crop in source pixels: x, y, w, h.
    crop: (u32, u32, u32, u32),
    out: (u32, u32),
}

const OBAMA: Case = Case {
    name: "obama",
    crop: (245, 0, 490, 604),
    out: (358, 441),
};
const BIDEN: Case = Case {
    name: "biden",
    crop: (320, 30, 500, 616),
    out: (358, 441),
};
/// Biden at full resolution, head to waist (970×1300): the large case.
const BIDEN_LARGE: Case = Case {
    name: "biden-large",
    crop: (0, 0, 970, 1300),
    out: (970, 1300),
};

#[derive(Clone, Copy, PartialEq, Debug)]
enum Coarse {
    Model,
    Simulated,
}

struct Fixture {
    rgb: RgbImage,
    reference: GrayImage,
    /// The plain upsampled model mask (one pass over the region): the baseline.
    plain: GrayImage,
    /// What `refine` gets: with the real model, the pipeline's mask sharpened by a head pass.
    coarse: GrayImage,
    /// From the face mesh when the models are installed, as the pipeline does.
    hints: MatteHints,
}

fn photo(name: &str) -> (RgbImage, GrayImage) {
    let base = name.split('-').next().unwrap_or(name);
    let rgb = image::open(testdata(&format!("portraits/{base}.jpg")))
        .expect("test portrait")
        .to_rgb8();
    let alpha = image::open(testdata(&format!("alpha/{base}.alpha.png")))
        .expect("reference alpha")
        .to_luma8();
    (rgb, alpha)
}

fn models() -> Option<&'static Models> {
    static MODELS: OnceLock<Option<Models>> = OnceLock::new();
    MODELS
        .get_or_init(|| Models::load(&Models::default_dir()).ok())
        .as_ref()
}

/// The real model if it is installed, else the simulation.
fn best_coarse() -> Coarse {
    if models().is_some() {
        Coarse::Model
    } else {
        eprintln!("models/ not installed: using the simulated coarse mask");
        Coarse::Simulated
    }
}

/// The crop grown by 30 % on each side, clamped to the image (the segmentation input).
fn seg_region(case: &Case, w: u32, h: u32) -> (u32, u32, u32, u32) {
    let (x, y, cw, ch) = case.crop;
    let (mx, my) = (cw * 3 / 10, ch * 3 / 10);
    let (x0, y0) = (x.saturating_sub(mx), y.saturating_sub(my));
    let (x1, y1) = ((x + cw + mx).min(w), (y + ch + my).min(h));
    (x0, y0, x1 - x0, y1 - y0)
}

fn fixture(case: &Case, coarse: Coarse) -> Fixture {
    let (full, ref_full) = photo(case.name);
    let (x, y, w, h) = case.crop;
    let (ow, oh) = case.out;
    let resize_rgb = |img: &RgbImage| imageops::resize(img, ow, oh, FilterType::Triangle);
    let rgb = resize_rgb(&imageops::crop_imm(&full, x, y, w, h).to_image());
    let reference = imageops::resize(
        &imageops::crop_imm(&ref_full, x, y, w, h).to_image(),
        ow,
        oh,
        FilterType::Triangle,
    );
    let (rx, ry, rw, rh) = seg_region(case, full.width(), full.height());
    let region = Rect {
        x: rx as f32,
        y: ry as f32,
        w: rw as f32,
        h: rh as f32,
    };
    let mut mask = match coarse {
        Coarse::Model => models()
            .expect("models")
            .segment_person(&full, region)
            .expect("segmentation"),
        Coarse::Simulated => PersonMask {
            body: Pass {
                mask: simulated_mask(&imageops::crop_imm(&ref_full, rx, ry, rw, rh).to_image()),
                region,
            },
            head: None,
            dims: full.dimensions(),
        },
    };
    // Output pixel (i, j) centre ↔ source point, as `make` samples it.
    let origin = Point::new(x as f32, y as f32);
    let (ex, ey) = (
        Point::new(w as f32 / ow as f32, 0.0),
        Point::new(0.0, h as f32 / oh as f32),
    );
    let plain = mask.rasterize(origin, ex, ey, ow, oh);
    if coarse == Coarse::Model {
        sharpen_head(&full, &mut mask);
    }
    let coarse = mask.rasterize(origin, ex, ey, ow, oh);
    let hints = mesh_hints(&rgb, &coarse);
    Fixture {
        rgb,
        reference,
        plain,
        coarse,
        hints,
    }
}

/// The pipeline's second pass: the crown found on the body pass above the forehead, then the
/// head square around it segmented again.
fn sharpen_head(full: &RgbImage, mask: &mut PersonMask) {
    let models = models().expect("models");
    let faces = models.detect_faces(full).expect("face detection");
    let face = faces.first().expect("a face");
    let mesh = models.face_mesh(full, face).expect("face mesh");
    let mut crown = mesh.at(Landmarks::FOREHEAD_TOP);
    while crown.y > 0.0 && mask.at(Point::new(crown.x, crown.y - 1.0)) >= 0.5 {
        crown.y -= 1.0;
    }
    let square = head_square(&mesh, crown, full.dimensions()).expect("head square");
    models
        .sharpen_head(full, mask, square)
        .expect("head segmentation");
}

/// Hair and ear hints from the face mesh on the output crop; the crown is where the coarse
/// mask starts above the forehead.
fn mesh_hints(rgb: &RgbImage, coarse: &GrayImage) -> MatteHints {
    let Some(models) = models() else {
        return MatteHints::default();
    };
    let faces = models.detect_faces(rgb).expect("face detection");
    let face = faces.first().expect("a face in the crop");
    let mesh = models.face_mesh(rgb, face).expect("face mesh");
    let forehead = mesh.at(Landmarks::FOREHEAD_TOP);
    let x = (forehead.x.max(0.0) as u32).min(coarse.width() - 1);
    let crown = (0..coarse.height())
        .find(|&y| coarse.get_pixel(x, y).0[0] >= 128)
        .unwrap_or(0);
    MatteHints::from_mesh(&mesh, crown as f32)
}

/// What a 256×256 segmentation network with soft edges would return for this region.
fn simulated_mask(reference: &GrayImage) -> Mask {
    let small = imageops::resize(reference, 256, 256, FilterType::Triangle);
    let soft = imageops::blur(&small, 2.5);
    Mask {
        width: 256,
        height: 256,
        data: soft.as_raw().iter().map(|&v| v as f32 / 255.0).collect(),
    }
}

/// Pixels within `BAND · height` of the reference's 0.5 outline.
fn measuring_band(reference: &GrayImage) -> Vec<bool> {
    let (w, h) = (reference.width() as i64, reference.height() as i64);
    let inside = |x: i64, y: i64| reference.get_pixel(x as u32, y as u32).0[0] >= 128;
    let d = (BAND * h as f32).round() as i64;
    let mut band = vec![false; (w * h) as usize];
    for y in 0..h {
        for x in 0..w {
            let edge = [(1, 0), (0, 1)].iter().any(|&(dx, dy)| {
                x + dx < w && y + dy < h && inside(x, y) != inside(x + dx, y + dy)
            });
            if !edge {
                continue;
            }
            for yy in (y - d).max(0)..(y + d + 1).min(h) {
                for xx in (x - d).max(0)..(x + d + 1).min(w) {
                    if (xx - x).pow(2) + (yy - y).pow(2) <= d * d {
                        band[(yy * w + xx) as usize] = true;
                    }
                }
            }
        }
    }
    band
}

/// Mean absolute alpha error (0..1) inside the band.
fn band_error(alpha: &GrayImage, reference: &GrayImage, band: &[bool]) -> f64 {
    let (mut sum, mut n) = (0.0f64, 0usize);
    for ((a, r), &b) in alpha.as_raw().iter().zip(reference.as_raw()).zip(band) {
        if b {
            sum += (*a as f64 - *r as f64).abs() / 255.0;
            n += 1;
        }
    }
    assert!(n > 1000, "measuring band too small: {n} px");
    sum / n as f64
}

struct Scores {
    baseline: f64,
    coarse: f64,
    guided: f64,
    refined: f64,
    /// The same refinement given the reference itself as the coarse mask: what a segmentation
    /// as good as IS-Net's would leave (the solver's ceiling against this measuring stick).
    ceiling: f64,
}

fn score(case: &Case, coarse: Coarse) -> Scores {
    let f = fixture(case, coarse);
    let band = measuring_band(&f.reference);
    let opts = MatteOptions::default();
    let (w, h) = f.rgb.dimensions();
    let radius = matte::guided_radius_px(w as usize, h as usize, &opts);
    let guided = matte::guided_filter(&f.rgb, &f.coarse, radius, opts.guided_eps).expect("guided");
    let refined = matte::refine_with_hints(&f.rgb, &f.coarse, &f.hints, &opts).expect("refine");
    let ceiling = matte::refine_with_hints(&f.rgb, &f.reference, &f.hints, &opts).expect("refine");
    dump(case, coarse, &f, &refined);
    let s = Scores {
        baseline: band_error(&f.plain, &f.reference, &band),
        coarse: band_error(&f.coarse, &f.reference, &band),
        guided: band_error(&guided, &f.reference, &band),
        refined: band_error(&refined, &f.reference, &band),
        ceiling: band_error(&ceiling, &f.reference, &band),
    };
    eprintln!(
        "{} ({coarse:?} coarse, {w}x{h}): band MAE baseline {:.4}, with head pass {:.4}, guided filter {:.4}, refined {:.4} ({:.2} x baseline); with the reference as the coarse mask {:.4} ({:.2} x)",
        case.name,
        s.baseline,
        s.coarse,
        s.guided,
        s.refined,
        s.refined / s.baseline,
        s.ceiling,
        s.ceiling / s.baseline
    );
    s
}

fn dump(case: &Case, coarse: Coarse, f: &Fixture, alpha: &GrayImage) {
    let Some(dir) = std::env::var_os("MATTE_DUMP") else {
        return;
    };
    let dir = PathBuf::from(dir);
    let tag = format!("{}-{coarse:?}", case.name).to_lowercase();
    let opts = MatteOptions::default();
    let save = |name: &str, img: image::DynamicImage| {
        img.save(dir.join(format!("{tag}-{name}.png")))
            .expect("dump");
    };
    save("coarse", f.coarse.clone().into());
    save("rgb", f.rgb.clone().into());
    let rects = [f.hints.hair_region, f.hints.ears[0], f.hints.ears[1]];
    let text: String = rects
        .iter()
        .flatten()
        .map(|r| format!("{} {} {} {}\n", r.x, r.y, r.w, r.h))
        .collect();
    std::fs::write(dir.join(format!("{tag}-hints.txt")), text).expect("dump");
    save("reference", f.reference.clone().into());
    save("alpha", alpha.clone().into());
    let (w, h) = alpha.dimensions();
    let tri = matte::trimap(&f.coarse, &f.hints, &opts);
    let panels = GrayImage::from_fn(w * 4, h, |x, y| {
        let (p, x) = (x / w, x % w);
        let (r, a) = (f.reference.get_pixel(x, y).0[0], alpha.get_pixel(x, y).0[0]);
        Luma([match p {
            0 => f.coarse.get_pixel(x, y).0[0],
            1 => tri.get_pixel(x, y).0[0] / 2 + a / 2,
            2 => r,
            _ => r.abs_diff(a),
        }])
    });
    save("compare", panels.into());
    let fg = matte::estimate_foreground(&f.rgb, alpha).expect("fg");
    for (name, bg) in [("red", RED), ("blue", BLUE)] {
        save(
            name,
            matte::composite(&fg, alpha, bg).expect("composite").into(),
        );
        let naive = matte::composite(&f.rgb, &f.coarse, bg).expect("composite");
        save(&format!("{name}-baseline"), naive.into());
    }
}

/// Scores every case first, then asserts, so one failure still reports all numbers.
/// `limits` are committed ratios refined / baseline (measured, plus a small margin).
fn assert_ratios(cases: &[(Case, f64)], coarse: Coarse) {
    let scores: Vec<Scores> = cases.iter().map(|(c, _)| score(c, coarse)).collect();
    for ((case, limit), s) in cases.iter().zip(&scores) {
        assert!(
            s.refined <= limit * s.baseline,
            "{}: refined {:.4} is above {limit} x baseline {:.4}",
            case.name,
            s.refined,
            s.baseline
        );
        assert!(
            s.refined < s.guided,
            "{}: not better than the guided filter",
            case.name
        );
        assert!(
            s.ceiling < s.refined,
            "{}: the reference as the coarse mask does no better than the model's",
            case.name
        );
    }
}

/// The goal is half the baseline's error (the plain upsampled one-pass mask). With the real
/// model and the head pass, obama measures 0.45; biden 0.77 (IS-Net's reference draws his
/// wispy white hair as a soft haze well outside both passes' outline), biden at full size 0.68.
/// A ratchet: lower these when the edges improve, never raise them.
#[test]
fn refine_cuts_the_edge_error_of_the_coarse_mask() {
    let limits = match best_coarse() {
        Coarse::Model => [(OBAMA, 0.50), (BIDEN, 0.80), (BIDEN_LARGE, 0.72)],
        Coarse::Simulated => SIMULATED_LIMITS,
    };
    assert_ratios(&limits, best_coarse());
}

/// Measured 0.29, 0.40 and 0.34.
const SIMULATED_LIMITS: [(Case, f64); 3] = [(OBAMA, 0.35), (BIDEN, 0.45), (BIDEN_LARGE, 0.40)];

/// The blurred-reference stand-in for the model: well under half the baseline's error.
#[test]
fn refine_halves_the_edge_error_of_a_simulated_mask() {
    assert_ratios(&SIMULATED_LIMITS, Coarse::Simulated);
}

#[test]
fn hints_widen_the_unknown_band_only_where_they_are() {
    // A hard mask, so the band is set by distance alone (no unsure mask values).
    let f = fixture(&OBAMA, Coarse::Simulated);
    let hard = GrayImage::from_fn(f.reference.width(), f.reference.height(), |x, y| {
        Luma([if f.reference.get_pixel(x, y).0[0] >= 128 {
            255
        } else {
            0
        }])
    });
    let opts = MatteOptions::default();
    let plain = matte::trimap(&hard, &MatteHints::default(), &opts);
    let hair = Rect {
        x: 100.0,
        y: 0.0,
        w: 160.0,
        h: 80.0,
    };
    let hints = MatteHints {
        hair_region: Some(hair),
        ears: [None, None],
    };
    let wide = matte::trimap(&hard, &hints, &opts);
    let unknown = |t: &GrayImage, inside: bool| {
        t.enumerate_pixels()
            .filter(|(x, y, p)| {
                let (x, y) = (*x as f32, *y as f32);
                let hit = x >= hair.x - 20.0 && x < hair.right() + 20.0 && y < hair.bottom() + 20.0;
                hit == inside && p.0[0] == 128
            })
            .count()
    };
    let (plain_in, wide_in) = (unknown(&plain, true), unknown(&wide, true));
    eprintln!("unknown pixels near the hair hint: {plain_in} without, {wide_in} with");
    assert!(wide_in as f32 >= 1.3 * plain_in as f32);
    assert_eq!(unknown(&wide, false), unknown(&plain, false));
}

#[test]
fn mismatched_sizes_are_refused() {
    let rgb = RgbImage::new(40, 50);
    let mask = GrayImage::new(50, 40);
    assert!(matte::refine(&rgb, &mask, &MatteOptions::default()).is_err());
    assert!(matte::estimate_foreground(&rgb, &mask).is_err());
    assert!(matte::composite(&rgb, &mask, RED).is_err());
    assert!(matte::refine(
        &RgbImage::new(0, 0),
        &GrayImage::new(0, 0),
        &MatteOptions::default()
    )
    .is_err());
}

#[test]
fn flat_masks_pass_through() {
    let rgb = RgbImage::from_pixel(64, 80, image::Rgb([90, 120, 200]));
    for v in [0u8, 255] {
        let mask = GrayImage::from_pixel(64, 80, Luma([v]));
        let alpha = matte::refine(&rgb, &mask, &MatteOptions::default()).expect("refine");
        assert!(alpha.pixels().all(|p| p.0[0] == v));
    }
}

/// Decontamination, against a known truth: the obama crop (its pixels taken as the person's
/// colour) is composited with the reference alpha over a saturated green, so the true
/// foreground is known. Recompositing onto red and blue, the semi-transparent pixels
/// (0.1 < α < 0.9) must be far closer to the true composite than naive compositing of the
/// observed pixel, which carries `α(1 − α)` of the old green, and the green must not leak.
#[test]
fn estimated_foreground_leaves_no_fringe_of_the_old_background() {
    let f = fixture(&OBAMA, Coarse::Simulated);
    let alpha = &f.reference;
    let green = [40.0f32, 200.0, 60.0];
    let observed = RgbImage::from_fn(alpha.width(), alpha.height(), |x, y| {
        let a = alpha.get_pixel(x, y).0[0] as f32 / 255.0;
        let p = f.rgb.get_pixel(x, y).0;
        image::Rgb([0, 1, 2].map(|c| (a * p[c] as f32 + (1.0 - a) * green[c] + 0.5) as u8))
    });
    let fg = matte::estimate_foreground(&observed, alpha).expect("foreground");
    let mixed: Vec<usize> = alpha
        .as_raw()
        .iter()
        .enumerate()
        .filter(|(_, &a)| a > 25 && a < 230)
        .map(|(i, _)| i)
        .collect();
    assert!(mixed.len() > 500, "too few mixed pixels: {}", mixed.len());
    for bg in [RED, BLUE] {
        let truth = matte::composite(&f.rgb, alpha, bg).expect("composite");
        let ours = matte::composite(&fg, alpha, bg).expect("composite");
        let naive = matte::composite(&observed, alpha, bg).expect("composite");
        let (err_ours, leak_ours) = fringe(&ours, &truth, &mixed);
        let (err_naive, leak_naive) = fringe(&naive, &truth, &mixed);
        eprintln!(
            "on {bg:?}: mean error ours {err_ours:.1} vs naive {err_naive:.1}; green leak ours {leak_ours:.1} vs naive {leak_naive:.1}"
        );
        assert!(
            err_ours <= 0.55 * err_naive,
            "fringe error {err_ours:.1} vs naive {err_naive:.1}"
        );
        assert!(
            leak_ours <= 0.1 * leak_naive,
            "green leak {leak_ours:.1} vs naive {leak_naive:.1}"
        );
    }
}

/// Mean absolute RGB difference (0..255) to the truth, and the mean excess of green over the
/// truth's green relative to red and blue (how much the old green shows).
fn fringe(img: &RgbImage, truth: &RgbImage, px: &[usize]) -> (f64, f64) {
    let (a, t) = (img.as_raw(), truth.as_raw());
    let (mut err, mut leak) = (0.0f64, 0.0f64);
    for &i in px {
        let (p, q) = (&a[3 * i..3 * i + 3], &t[3 * i..3 * i + 3]);
        let d: Vec<f64> = (0..3).map(|c| p[c] as f64 - q[c] as f64).collect();
        err += d.iter().map(|v| v.abs()).sum::<f64>() / 3.0;
        leak += (d[1] - (d[0] + d[2]) / 2.0).max(0.0);
    }
    (err / px.len() as f64, leak / px.len() as f64)
}

/// Speed on one core (release only: `cargo test --release -p engine --test matte -- --ignored`).
/// Goals: a ~400×500 crop well under 30 ms, 1000×1300 under 150 ms, median of 5.
#[test]
#[ignore]
fn refine_is_fast() {
    for (case, budget_ms) in [(OBAMA, 30.0), (BIDEN, 30.0), (BIDEN_LARGE, 150.0)] {
        let f = fixture(&case, best_coarse());
        let opts = MatteOptions::default();
        let mut times: Vec<f64> = (0..5)
            .map(|_| {
                let t = std::time::Instant::now();
                let a = matte::refine_with_hints(&f.rgb, &f.coarse, &f.hints, &opts);
                assert!(a.is_ok());
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let t = std::time::Instant::now();
        let alpha = matte::refine_with_hints(&f.rgb, &f.coarse, &f.hints, &opts).expect("refine");
        let fg = matte::estimate_foreground(&f.rgb, &alpha).expect("fg");
        let total = t.elapsed().as_secs_f64() * 1e3;
        assert_eq!(fg.dimensions(), f.rgb.dimensions());
        let (w, h) = f.rgb.dimensions();
        eprintln!(
            "{} {w}x{h}: refine median {:.1} ms (min {:.1}), refine + foreground {total:.1} ms",
            case.name, times[2], times[0]
        );
        if !cfg!(debug_assertions) {
            assert!(times[2] <= budget_ms, "{}: {:.1} ms", case.name, times[2]);
        }
    }
}

#[test]
fn tiny_and_flat_inputs_are_handled() {
    let opts = MatteOptions::default();
    for (w, h) in [(1, 1), (2, 3), (7, 5), (40, 9)] {
        let rgb = RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x * 40) as u8, (y * 30) as u8, 90])
        });
        let mask = GrayImage::from_fn(w, h, |x, _| Luma([if x % 2 == 0 { 200 } else { 60 }]));
        let alpha = matte::refine(&rgb, &mask, &opts).expect("refine");
        let fg = matte::estimate_foreground(&rgb, &alpha).expect("fg");
        assert_eq!(
            matte::composite(&fg, &alpha, BLUE)
                .expect("composite")
                .dimensions(),
            (w, h)
        );
    }
    // A flat, undecided mask has no outline: it is taken at its 0.5 threshold, with no band.
    let f = fixture(&OBAMA, Coarse::Simulated);
    for (v, want) in [(127u8, 0u8), (128, 255)] {
        let flat = GrayImage::from_pixel(f.rgb.width(), f.rgb.height(), Luma([v]));
        let alpha = matte::refine(&f.rgb, &flat, &opts).expect("refine");
        assert!(alpha.pixels().all(|p| p.0[0] == want));
    }
}
