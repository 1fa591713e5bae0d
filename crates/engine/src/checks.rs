//! The compliance checks report: measurements on the made photo, and pass/fail per rule with a
//! reason code and a Chinese and English message (after the common rejection reasons).

use crate::geom::{Band, Landmarks, Point, Rect};
use crate::spec::PhotoSpec;
use image::{GrayImage, RgbImage};
use serde::Serialize;

/// Measurements on the output photo, in output pixels (and mm where it helps a reviewer).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Measurements {
    pub crown_y: f32,
    pub chin_y: f32,
    pub eye_y: f32,
    pub head_height: f32,
    pub crown_gap: f32,
    pub face_width: f32,
    pub head_box: Rect,
    pub head_height_mm: f32,
    pub face_width_mm: f32,
    /// Roll of the eye line found on the upload, degrees; the output is corrected for it.
    pub roll_deg: f32,
    /// Yaw estimate, degrees (0 = facing the camera).
    pub yaw_deg: f32,
    /// Output pixels per source pixel: above 1 means the upload was enlarged.
    pub scale: f32,
    pub left_eye: Point,
    pub right_eye: Point,
    pub chin: Point,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Check {
    pub rule: &'static str,
    pub pass: bool,
    /// The measured value, in the rule's own unit.
    pub value: f32,
    /// The accepted range, where there is one.
    pub expected: Option<Band>,
    /// Stable reason code when the check fails, e.g. `head_too_small`; "ok" when it passes.
    pub reason: &'static str,
    pub msg: &'static str,
    pub msg_en: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub pass: bool,
    pub measurements: Measurements,
    pub checks: Vec<Check>,
}

/// What the checks look at.
pub struct Inputs<'a> {
    pub spec: &'a PhotoSpec,
    /// The output crop before compositing (the subject's own pixels and light).
    pub photo: &'a RgbImage,
    pub alpha: &'a GrayImage,
    /// Face mesh in output coordinates.
    pub mesh: &'a Landmarks,
    pub measurements: Measurements,
    pub faces_found: usize,
}

pub fn report(inp: Inputs) -> Report {
    let m = &inp.measurements;
    let spec = inp.spec;
    let mut checks = vec![
        rule(
            "one_face",
            inp.faces_found == 1,
            inp.faces_found as f32,
            None,
            (
                "several_faces",
                "照片中需且仅需一张人脸",
                "exactly one face is needed",
            ),
        ),
        band_rule(
            "head_height",
            m.head_height,
            spec.head_height,
            ("head_too_small", "头部过小", "head too small"),
            ("head_too_large", "头部过大", "head too large"),
        ),
        band_rule(
            "crown_gap",
            m.crown_gap,
            spec.crown_gap,
            (
                "crown_too_close",
                "头顶距上边缘过近",
                "top of head too close to the edge",
            ),
            (
                "crown_too_far",
                "头顶距上边缘过远",
                "top of head too far from the edge",
            ),
        ),
        band_rule(
            "eye_line",
            m.eye_y,
            spec.eye_line,
            ("eyes_too_high", "眼睛位置过高", "eyes too high"),
            ("eyes_too_low", "眼睛位置过低", "eyes too low"),
        ),
    ];
    if let Some(fw) = spec.face_width {
        checks.push(band_rule(
            "face_width",
            m.face_width,
            fw,
            ("face_too_narrow", "脸部宽度过小", "face too narrow"),
            ("face_too_wide", "脸部宽度过大", "face too wide"),
        ));
    }
    checks.push(rule(
        "roll",
        m.roll_deg.abs() <= 15.0,
        m.roll_deg,
        Some(Band::new(-15.0, 15.0)),
        ("head_tilted", "头部歪斜", "head tilted"),
    ));
    checks.push(rule(
        "yaw",
        m.yaw_deg.abs() <= 12.0,
        m.yaw_deg,
        Some(Band::new(-12.0, 12.0)),
        (
            "head_turned",
            "头部侧转，未正对镜头",
            "head turned, not facing the camera",
        ),
    ));
    checks.push(rule(
        "resolution",
        m.scale <= 1.25,
        m.scale,
        Some(Band::new(0.0, 1.25)),
        (
            "face_too_small_in_upload",
            "原图人脸过小，照片被放大",
            "face too small in the upload: the photo was enlarged",
        ),
    ));
    let face = face_box(inp.mesh);
    checks.push(background(&inp));
    let luma = mean_luma(inp.photo, inner(face, 0.2));
    checks.push(exposure(luma));
    checks.push(balance(inp.photo, inp.mesh, face));
    checks.push(sharpness(inp.photo, face));
    checks.push(eyes_open(inp.mesh));
    checks.push(mouth_closed(inp.mesh));
    checks.extend(clothes(&inp));
    Report {
        pass: checks.iter().all(|c| c.pass),
        measurements: inp.measurements,
        checks,
    }
}

type Why = (&'static str, &'static str, &'static str);

fn rule(name: &'static str, pass: bool, value: f32, expected: Option<Band>, fail: Why) -> Check {
    let (reason, msg, msg_en) = if pass { ("ok", "合格", "pass") } else { fail };
    Check {
        rule: name,
        pass,
        value,
        expected,
        reason,
        msg,
        msg_en,
    }
}

fn band_rule(name: &'static str, v: f32, b: Band, low: Why, high: Why) -> Check {
    // Half a pixel of tolerance: bands are in whole output pixels.
    let pass = v >= b.min - 0.5 && v <= b.max + 0.5;
    rule(name, pass, v, Some(b), if v < b.min { low } else { high })
}

/// Bounding box of the face mesh, clamped to the photo later by callers.
pub fn face_box(mesh: &Landmarks) -> Rect {
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for p in &mesh.points {
        x0 = x0.min(p.x);
        y0 = y0.min(p.y);
        x1 = x1.max(p.x);
        y1 = y1.max(p.y);
    }
    Rect {
        x: x0,
        y: y0,
        w: (x1 - x0).max(0.0),
        h: (y1 - y0).max(0.0),
    }
}

fn luma(p: &image::Rgb<u8>) -> f32 {
    0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32
}

/// Pixels of `r` (clamped to the image), visited with a step so big boxes stay cheap.
fn pixels_in(img: &RgbImage, r: Rect) -> impl Iterator<Item = (u32, u32)> + '_ {
    let x0 = r.x.max(0.0) as u32;
    let y0 = r.y.max(0.0) as u32;
    let x1 = (r.right().max(0.0) as u32).min(img.width());
    let y1 = (r.bottom().max(0.0) as u32).min(img.height());
    (y0..y1).flat_map(move |y| (x0..x1).map(move |x| (x, y)))
}

fn mean_luma(img: &RgbImage, r: Rect) -> f32 {
    let (mut sum, mut n) = (0.0f64, 0u64);
    for (x, y) in pixels_in(img, r) {
        sum += luma(img.get_pixel(x, y)) as f64;
        n += 1;
    }
    if n == 0 {
        0.0
    } else {
        (sum / n as f64) as f32
    }
}

/// The central part of a box, `margin` of each side cut away.
fn inner(r: Rect, margin: f32) -> Rect {
    Rect {
        x: r.x + r.w * margin,
        y: r.y + r.h * margin,
        w: r.w * (1.0 - 2.0 * margin),
        h: r.h * (1.0 - 2.0 * margin),
    }
}

fn background(inp: &Inputs) -> Check {
    // Above the crown and beside the head, the made photo must be pure background.
    let (w, h) = inp.alpha.dimensions();
    let crown = inp.measurements.crown_y.max(0.0) as u32;
    let head = inp.measurements.head_box;
    // Down to the nose: lower, the shoulders and collars may rise beside the head.
    let nose = inp.mesh.at(Landmarks::NOSE_TIP).y.max(0.0) as u32;
    let (mut bad, mut n) = (0u64, 0u64);
    for y in 0..h.min(nose) {
        for x in 0..w {
            let beside =
                (x as f32) < head.x - 0.15 * head.w || (x as f32) > head.right() + 0.15 * head.w;
            let above = y + 3 < crown;
            if beside || above {
                n += 1;
                bad += (inp.alpha.get_pixel(x, y)[0] > 25) as u64;
            }
        }
    }
    let frac = if n == 0 { 0.0 } else { bad as f32 / n as f32 };
    rule(
        "background",
        frac <= 0.01,
        frac,
        Some(Band::new(0.0, 0.01)),
        (
            "background_not_clean",
            "背景不纯净，有杂物或阴影",
            "background not clean: objects or shadows",
        ),
    )
}

fn exposure(luma: f32) -> Check {
    let b = Band::new(70.0, 215.0);
    let why = if luma < b.min {
        ("too_dark", "照片过暗", "photo too dark")
    } else {
        ("too_bright", "照片过亮", "photo too bright")
    };
    rule("exposure", b.contains(luma), luma, Some(b), why)
}

fn balance(img: &RgbImage, mesh: &Landmarks, face: Rect) -> Check {
    // Compare the two cheeks: boxes between the eye line and the mouth, beside the nose.
    let nose = mesh.at(Landmarks::NOSE_TIP);
    let eye_y = mesh.eye_center().y;
    let mouth_y = mesh.at(Landmarks::UPPER_LIP_INNER).y;
    let h = (mouth_y - eye_y).max(2.0);
    let w = (face.w * 0.22).max(2.0);
    let right = Rect {
        x: nose.x - face.w * 0.08 - w,
        y: eye_y + h * 0.2,
        w,
        h: h * 0.7,
    };
    let left = Rect {
        x: nose.x + face.w * 0.08,
        ..right
    };
    let (a, b) = (mean_luma(img, right), mean_luma(img, left));
    let diff = (a - b).abs() / a.max(b).max(1.0);
    rule(
        "light_balance",
        diff <= 0.25,
        diff,
        Some(Band::new(0.0, 0.25)),
        (
            "uneven_light",
            "面部光线不均（阴阳脸）",
            "uneven light on the face (half-lit)",
        ),
    )
}

fn sharpness(img: &RgbImage, face: Rect) -> Check {
    // Variance of the Laplacian on the face, normalised to the face size (a bigger face shows more
    // detail per pixel only through its own texture, not through scale).
    let r = inner(face, 0.15);
    let (mut sum, mut sq, mut n) = (0.0f64, 0.0f64, 0u64);
    for (x, y) in pixels_in(img, r) {
        if x == 0 || y == 0 || x + 1 >= img.width() || y + 1 >= img.height() {
            continue;
        }
        let c = luma(img.get_pixel(x, y)) as f64;
        let l = luma(img.get_pixel(x - 1, y)) as f64
            + luma(img.get_pixel(x + 1, y)) as f64
            + luma(img.get_pixel(x, y - 1)) as f64
            + luma(img.get_pixel(x, y + 1)) as f64
            - 4.0 * c;
        sum += l;
        sq += l * l;
        n += 1;
    }
    let var = if n == 0 {
        0.0
    } else {
        (sq / n as f64 - (sum / n as f64).powi(2)) as f32
    };
    rule(
        "sharpness",
        var >= SHARPNESS_MIN,
        var,
        Some(Band::new(SHARPNESS_MIN, f32::MAX)),
        ("blurred", "照片模糊", "photo blurred"),
    )
}

/// Laplacian variance below which a face reads as blurred at ID-photo sizes.
pub const SHARPNESS_MIN: f32 = 8.0;

fn eye_ratio(mesh: &Landmarks, top: usize, bottom: usize, a: usize, b: usize) -> f32 {
    mesh.at(top).dist(mesh.at(bottom)) / mesh.at(a).dist(mesh.at(b)).max(1.0)
}

fn eyes_open(mesh: &Landmarks) -> Check {
    use Landmarks as L;
    let r = eye_ratio(
        mesh,
        L::RIGHT_EYE_TOP,
        L::RIGHT_EYE_BOTTOM,
        L::RIGHT_EYE_OUTER,
        L::RIGHT_EYE_INNER,
    );
    let l = eye_ratio(
        mesh,
        L::LEFT_EYE_TOP,
        L::LEFT_EYE_BOTTOM,
        L::LEFT_EYE_OUTER,
        L::LEFT_EYE_INNER,
    );
    let v = r.min(l);
    rule(
        "eyes_open",
        v >= 0.18,
        v,
        Some(Band::new(0.18, 1.0)),
        ("eyes_closed", "眼睛闭合或未睁开", "eyes closed"),
    )
}

fn mouth_closed(mesh: &Landmarks) -> Check {
    use Landmarks as L;
    let gap = mesh
        .at(L::UPPER_LIP_INNER)
        .dist(mesh.at(L::LOWER_LIP_INNER));
    let width = mesh
        .at(L::MOUTH_RIGHT)
        .dist(mesh.at(L::MOUTH_LEFT))
        .max(1.0);
    let v = gap / width;
    rule(
        "mouth_closed",
        v <= 0.12,
        v,
        Some(Band::new(0.0, 0.12)),
        (
            "mouth_open",
            "嘴巴张开或露齿",
            "mouth open or teeth showing",
        ),
    )
}

fn clothes(inp: &Inputs) -> Vec<Check> {
    // Mean Lab colour of the opaque subject below the chin, against each background colour.
    let (w, h) = inp.photo.dimensions();
    let chin = inp.measurements.chin_y;
    let y0 = ((chin + (h as f32 - chin) * 0.35).max(0.0) as u32).min(h);
    let (mut acc, mut n) = ([0.0f64; 3], 0u64);
    for y in y0..h {
        for x in 0..w {
            if inp.alpha.get_pixel(x, y)[0] > 240 {
                let lab = lab(inp.photo.get_pixel(x, y).0);
                for k in 0..3 {
                    acc[k] += lab[k] as f64;
                }
                n += 1;
            }
        }
    }
    if n < 50 {
        return vec![];
    }
    let mean = acc.map(|v| (v / n as f64) as f32);
    let de = inp
        .spec
        .colors
        .iter()
        .map(|c| delta_e(mean, lab(c.rgb)))
        .fold(f32::MAX, f32::min);
    vec![rule(
        "clothes_contrast",
        de >= 12.0,
        de,
        Some(Band::new(12.0, f32::MAX)),
        (
            "clothes_similar",
            "服装颜色与背景相近",
            "clothes too close to the background colour",
        ),
    )]
}

/// sRGB → CIE Lab (D65).
pub fn lab(rgb: [u8; 3]) -> [f32; 3] {
    let lin = |c: u8| {
        let c = c as f32 / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let (r, g, b) = (lin(rgb[0]), lin(rgb[1]), lin(rgb[2]));
    let x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
    let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    let z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
    let f = |t: f32| {
        if t > 0.008856 {
            t.cbrt()
        } else {
            7.787 * t + 16.0 / 116.0
        }
    };
    let (fx, fy, fz) = (f(x), f(y), f(z));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

/// CIE76 colour difference.
pub fn delta_e(a: [f32; 3], b: [f32; 3]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}
