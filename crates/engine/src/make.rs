//! `Engine::make`: one upload and one spec in, one made photo per colour out, with the
//! transparent PNG, print sheets and the checks report.

use crate::checks::{self, Measurements, Report};
use crate::frame::{self, Framing, Head};
use crate::geom::{Landmarks, Point, Rect};
use crate::intake::{self, Decoded};
use crate::raster::{self, RotRect, ROLL_SKIP_DEG};
use crate::spec::{Background, PhotoSpec};
use crate::vision::{self, Models, PersonMask};
use crate::{encode, matte, sheet, EngineError};
use image::{GrayImage, RgbImage};
use serde::Serialize;
use std::path::Path;

/// Longest side of the copy that faces are found on.
const ANALYSIS_SIDE: u32 = 640;
/// A second face counts when its box is at least this fraction of the largest one's height.
const SECOND_FACE_RATIO: f32 = 0.4;
/// The upload may be enlarged at most this much; beyond, the face is too small for the spec.
const MAX_ENLARGE: f32 = 2.0;
/// Mask level taken as the person's outline when finding the crown.
const OUTLINE: f32 = 0.5;

pub struct Engine {
    models: Models,
}

/// A reviewer's nudge: move the crop (output px), zoom, brightness and contrast (−1..1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub struct Adjust {
    pub dx: f32,
    pub dy: f32,
    pub zoom: f32,
    pub brightness: f32,
    pub contrast: f32,
}

impl Default for Adjust {
    fn default() -> Self {
        Self {
            dx: 0.0,
            dy: 0.0,
            zoom: 1.0,
            brightness: 0.0,
            contrast: 0.0,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct MakeOptions {
    /// Colour names to make; all of the spec's colours when `None`.
    pub colors: Option<Vec<String>>,
    pub png: bool,
    pub sheets: Vec<sheet::Paper>,
    pub adjust: Adjust,
}

#[derive(Debug, Clone)]
pub struct MadePhoto {
    pub color: Background,
    pub jpeg: Vec<u8>,
    pub quality: u8,
}

#[derive(Debug, Clone)]
pub struct Made {
    pub photos: Vec<MadePhoto>,
    pub png: Option<Vec<u8>>,
    pub sheets: Vec<(sheet::Paper, Vec<u8>)>,
    pub report: Report,
    pub framing: Framing,
}

impl Engine {
    pub fn load(dir: &Path) -> Result<Engine, EngineError> {
        Ok(Engine {
            models: Models::load(dir)?,
        })
    }

    pub fn models(&self) -> &Models {
        &self.models
    }

    pub fn make(
        &self,
        bytes: &[u8],
        spec: &PhotoSpec,
        opts: &MakeOptions,
    ) -> Result<Made, EngineError> {
        let colors = pick_colors(spec, opts.colors.as_deref())?;
        let subject = self.find_subject(bytes, spec)?;
        let Subject {
            work,
            mesh,
            head,
            faces,
            mask,
        } = subject;
        let mut framing = frame::plan(&head, spec);
        adjust_framing(&mut framing, &opts.adjust, spec);
        let full_scale = framing.scale / work.scale as f32;
        if full_scale > MAX_ENLARGE {
            return Err(unmet(
                "resolution",
                format!("the face is too small: the photo would be enlarged {full_scale:.1}×"),
            ));
        }
        let rect = crop_rect(&framing, &head, spec);
        refuse_cuts(&rect, &work.image, &mask, &head)?;
        let stage = tracing::debug_span!("crop").entered();
        let crop = raster::crop_rotate_resize(&work.image, &rect, spec.width_px, spec.height_px)?;
        let rgb = tone(crop.image, &opts.adjust);
        let coarse = coarse_alpha(&mask, &framing, &head, spec);
        drop(stage);
        let mesh_out = to_output(&mesh, &head, &framing);
        let hints = matte_hints(&mesh_out, framing.crown_gap);
        let stage = tracing::debug_span!("matte").entered();
        let alpha =
            matte::refine_with_hints(&rgb, &coarse, &hints, &matte::MatteOptions::default())?;
        drop(stage);
        let fg = tracing::debug_span!("foreground")
            .in_scope(|| matte::estimate_foreground(&rgb, &alpha))?;
        let stage = tracing::debug_span!("checks").entered();
        let measurements = measure(&alpha, &mesh_out, &head, &framing, spec, full_scale);
        let report = checks::report(checks::Inputs {
            spec,
            photo: &rgb,
            alpha: &alpha,
            mesh: &mesh_out,
            measurements,
            faces_found: faces,
        });
        drop(stage);
        let stage = tracing::debug_span!("encode").entered();
        let mut photos = Vec::with_capacity(colors.len());
        let mut first: Option<RgbImage> = None;
        for color in colors {
            let out = matte::composite(&fg, &alpha, color.rgb)?;
            let enc = encode::encode_jpeg_in_band(
                &out,
                spec.dpi,
                spec.file_size_kb.min,
                spec.file_size_kb.max,
            )?;
            photos.push(MadePhoto {
                color,
                jpeg: enc.bytes,
                quality: enc.quality,
            });
            first.get_or_insert(out);
        }
        drop(stage);
        let png = if opts.png {
            let _stage = tracing::debug_span!("png").entered();
            Some(encode::encode_png_rgba(&fg, &alpha, spec.dpi)?)
        } else {
            None
        };
        let _stage = tracing::debug_span!("sheets").entered();
        let sheets = match first {
            Some(photo) if !opts.sheets.is_empty() => print_sheets(&photo, spec, &opts.sheets)?,
            _ => vec![],
        };
        intake::recycle(work.image);
        Ok(Made {
            photos,
            png,
            sheets,
            report,
            framing,
        })
    }
}

/// The subject found on the upload: the decoded image the crop comes from, in its pixels.
struct Subject {
    work: Decoded,
    mesh: Landmarks,
    head: Head,
    faces: usize,
    /// Person mask over the likely crop of `work`, sharpened over the head.
    mask: PersonMask,
}

impl Engine {
    fn find_subject(&self, bytes: &[u8], spec: &PhotoSpec) -> Result<Subject, EngineError> {
        let header = intake::inspect(bytes)?;
        let analysis = tracing::debug_span!("decode_analysis")
            .in_scope(|| intake::decode(bytes, Some(ANALYSIS_SIDE)))?;
        let found = tracing::debug_span!("detect")
            .in_scope(|| self.models.detect_faces(&analysis.image))?;
        let (face, faces) = one_face(&found)?;
        let (full_w, _) = header.upright_dims();
        let to_full = full_w as f32 / analysis.image.width().max(1) as f32;
        let scale = work_scale(header.format, face.bbox.h * to_full, spec);
        // The analysis copy is the work image whenever it is at least as fine as needed: a
        // second decode would cost another full entropy pass over the file.
        let work = if scale >= analysis.scale {
            analysis
        } else {
            intake::recycle(analysis.image);
            tracing::debug_span!("decode_work")
                .in_scope(|| intake::decode_at_scale(bytes, scale))?
        };
        let k = work.image.width() as f32 / full_w.max(1) as f32 * to_full;
        let face = scale_face(face, k);
        let mesh =
            tracing::debug_span!("mesh").in_scope(|| self.models.face_mesh(&work.image, &face))?;
        let roll = mesh.roll_deg();
        let mut head = Head {
            pivot: mesh.eye_center(),
            roll_deg: if roll.abs() <= ROLL_SKIP_DEG {
                0.0
            } else {
                roll
            },
            crown_y: 0.0,
            chin_y: 0.0,
            center_x: 0.0,
            width: 0.0,
        };
        let region = seg_region(&head, &mesh, spec, work.image.dimensions());
        let stage = tracing::debug_span!("segment").entered();
        let mut mask = self.models.segment_person(&work.image, region)?;
        drop(stage);
        let dims = work.image.dimensions();
        let up = |i: usize| head.to_upright(mesh.at(i));
        let (chin, cheeks) = (
            up(Landmarks::CHIN),
            up(Landmarks::CHEEK_RIGHT).x + up(Landmarks::CHEEK_LEFT).x,
        );
        head.chin_y = chin.y;
        head.center_x = cheeks / 4.0 + chin.x / 2.0;
        // Framing is measured on the body pass; the head pass only sharpens the alpha.
        head.crown_y = find_crown(&mask, &head, &mesh, dims)?;
        head.width = head_width(&mask, &head, &mesh, dims);
        let crown = head.to_source(Point::new(mesh_centre_x(&head, &mesh), head.crown_y));
        if let Some(square) = vision::head_square(&mesh, crown, dims) {
            let _stage = tracing::debug_span!("segment_head").entered();
            self.models.sharpen_head(&work.image, &mut mask, square)?;
        }
        Ok(Subject {
            work,
            mesh,
            head,
            faces,
            mask,
        })
    }
}

fn unmet(rule: &str, detail: String) -> EngineError {
    EngineError::SpecUnmet {
        rule: rule.into(),
        detail,
    }
}

fn pick_colors(spec: &PhotoSpec, names: Option<&[String]>) -> Result<Vec<Background>, EngineError> {
    let Some(names) = names else {
        return Ok(spec.colors.clone());
    };
    names
        .iter()
        .map(|n| {
            spec.colors
                .iter()
                .find(|c| &c.name == n)
                .cloned()
                .ok_or_else(|| EngineError::UnknownColor(n.clone()))
        })
        .collect()
}

/// The largest face, and how many faces count (small background faces do not).
fn one_face(found: &[crate::Face]) -> Result<(&crate::Face, usize), EngineError> {
    let largest = found
        .iter()
        .max_by(|a, b| a.bbox.h.total_cmp(&b.bbox.h))
        .ok_or(EngineError::NoFace)?;
    let count = found
        .iter()
        .filter(|f| f.bbox.h >= SECOND_FACE_RATIO * largest.bbox.h)
        .count();
    if count > 1 {
        return Err(EngineError::SeveralFaces(count));
    }
    Ok((largest, count))
}

/// The coarsest DCT scale that still leaves the crop and the face mesh enough pixels.
fn work_scale(format: intake::Format, face_h_full: f32, spec: &PhotoSpec) -> u32 {
    if format != intake::Format::Jpeg {
        return 1;
    }
    // A BlazeFace box is about 0.62 of the crown-to-chin height.
    let head_full = face_h_full / 0.62;
    let src_per_out = head_full / spec.head_height.mid().max(1.0);
    [8u32, 4, 2]
        .into_iter()
        .find(|&s| src_per_out / s as f32 >= 1.3 && face_h_full / s as f32 >= 160.0)
        .unwrap_or(1)
}

fn scale_face(face: &crate::Face, k: f32) -> crate::Face {
    let p = |p: Point| Point::new(p.x * k, p.y * k);
    crate::Face {
        bbox: Rect {
            x: face.bbox.x * k,
            y: face.bbox.y * k,
            w: face.bbox.w * k,
            h: face.bbox.h * k,
        },
        score: face.score,
        keypoints: face.keypoints.map(p),
    }
}

/// The part of the image the person is segmented on: the likely crop, with a margin.
fn seg_region(head: &Head, mesh: &Landmarks, spec: &PhotoSpec, (w, h): (u32, u32)) -> Rect {
    let forehead = head.to_upright(mesh.at(Landmarks::FOREHEAD_TOP)).y;
    let chin = head.to_upright(mesh.chin()).y;
    let top = forehead - 0.6 * (chin - forehead);
    let crop_h = (chin - top) * spec.height_px as f32 / spec.head_height.mid().max(1.0);
    let crop_w = crop_h * spec.width_px as f32 / spec.height_px.max(1) as f32;
    let (m_x, m_y) = (crop_w * 0.3, crop_h * 0.3);
    let corners = [
        Point::new(-crop_w / 2.0 - m_x, top - crop_h * 0.15 - m_y),
        Point::new(crop_w / 2.0 + m_x, top - crop_h * 0.15 - m_y),
        Point::new(-crop_w / 2.0 - m_x, top + crop_h + m_y),
        Point::new(crop_w / 2.0 + m_x, top + crop_h + m_y),
    ]
    .map(|p| head.to_source(p));
    let x0 = corners
        .iter()
        .map(|p| p.x)
        .fold(f32::MAX, f32::min)
        .clamp(0.0, w as f32 - 1.0)
        .floor();
    let y0 = corners
        .iter()
        .map(|p| p.y)
        .fold(f32::MAX, f32::min)
        .clamp(0.0, h as f32 - 1.0)
        .floor();
    let x1 = corners
        .iter()
        .map(|p| p.x)
        .fold(f32::MIN, f32::max)
        .clamp(x0 + 1.0, w as f32)
        .ceil();
    let y1 = corners
        .iter()
        .map(|p| p.y)
        .fold(f32::MIN, f32::max)
        .clamp(y0 + 1.0, h as f32)
        .ceil();
    Rect {
        x: x0,
        y: y0,
        w: x1 - x0,
        h: y1 - y0,
    }
}

/// The body pass at a source point: `None` outside the image, 0 outside the segmented region.
fn mask_at(mask: &PersonMask, p: Point, (w, h): (u32, u32)) -> Option<f32> {
    if p.x < 0.0 || p.y < 0.0 || p.x >= w as f32 || p.y >= h as f32 {
        return None;
    }
    Some(mask.body_at(p))
}

/// The middle of the face in the upright frame, from the cheeks.
fn mesh_centre_x(head: &Head, mesh: &Landmarks) -> f32 {
    let up = |i: usize| head.to_upright(mesh.at(i));
    (up(Landmarks::CHEEK_RIGHT).x + up(Landmarks::CHEEK_LEFT).x) / 2.0
}

/// The crown: walking up from the forehead over the middle of the face until the mask ends.
fn find_crown(
    mask: &PersonMask,
    head: &Head,
    mesh: &Landmarks,
    dims: (u32, u32),
) -> Result<f32, EngineError> {
    let up = |i: usize| head.to_upright(mesh.at(i));
    let (xr, xl) = (up(Landmarks::CHEEK_RIGHT).x, up(Landmarks::CHEEK_LEFT).x);
    let start = up(Landmarks::FOREHEAD_TOP).y;
    let step = ((up(Landmarks::CHIN).y - start) / 300.0).max(0.25);
    let mut crown = start;
    const COLUMNS: usize = 15;
    for c in 0..COLUMNS {
        let x = xr + (xl - xr) * (0.25 + 0.5 * c as f32 / (COLUMNS - 1) as f32);
        let mut y = start;
        loop {
            match mask_at(mask, head.to_source(Point::new(x, y - step)), dims) {
                Some(v) if v >= OUTLINE => y -= step,
                Some(_) => break,
                None => {
                    return Err(unmet(
                        "crown_gap",
                        "the top of the head is cut off by the edge of the photo".into(),
                    ))
                }
            }
        }
        crown = crown.min(y);
    }
    Ok(crown)
}

/// The row between the eyes and the nose tip, where the ears are.
fn ear_level(mesh: &Landmarks, to_frame: impl Fn(Point) -> Point) -> f32 {
    (to_frame(mesh.eye_center()).y + to_frame(mesh.at(Landmarks::NOSE_TIP)).y) / 2.0
}

/// Head width at ear level on the source: the mask's span around the face centre.
fn head_width(mask: &PersonMask, head: &Head, mesh: &Landmarks, dims: (u32, u32)) -> f32 {
    let y = ear_level(mesh, |p| head.to_upright(p));
    let step = (head.height() / 300.0).max(0.25);
    let walk = |dir: f32| {
        let mut x = head.center_x;
        while (x - head.center_x).abs() < head.height() {
            match mask_at(mask, head.to_source(Point::new(x + dir * step, y)), dims) {
                Some(v) if v >= OUTLINE => x += dir * step,
                _ => break,
            }
        }
        x
    };
    walk(1.0) - walk(-1.0)
}

/// The same on the output's alpha.
fn alpha_width(alpha: &GrayImage, y: f32, cx: f32) -> f32 {
    let y = (y.max(0.0) as u32).min(alpha.height().saturating_sub(1));
    let cx = (cx.max(0.0) as u32).min(alpha.width().saturating_sub(1));
    let on = |x: u32| alpha.get_pixel(x, y)[0] >= 128;
    if !on(cx) {
        return 0.0;
    }
    let right = (cx..alpha.width()).take_while(|&x| on(x)).count();
    let left = (0..cx).rev().take_while(|&x| on(x)).count();
    (left + right) as f32
}

fn adjust_framing(f: &mut Framing, a: &Adjust, spec: &PhotoSpec) {
    let (w, h) = (spec.width_px as f32, spec.height_px as f32);
    if a.zoom > 0.0 && (a.zoom - 1.0).abs() > 1e-4 {
        let (cx, cy) = (f.left + w / 2.0 / f.scale, f.top + h / 2.0 / f.scale);
        f.scale *= a.zoom;
        f.left = cx - w / 2.0 / f.scale;
        f.top = cy - h / 2.0 / f.scale;
    }
    f.left -= a.dx / f.scale;
    f.top -= a.dy / f.scale;
}

fn crop_rect(f: &Framing, head: &Head, spec: &PhotoSpec) -> RotRect {
    let (width, height) = f.source_size(spec);
    RotRect {
        center: f.source_center(head, spec),
        width,
        height,
        angle_deg: head.roll_deg,
    }
}

/// Refuses a crop that would show the body ending inside the photo.
fn refuse_cuts(
    rect: &RotRect,
    img: &RgbImage,
    mask: &PersonMask,
    head: &Head,
) -> Result<(), EngineError> {
    let over = raster::overhang(rect, img.width(), img.height());
    if over.bottom > 0.02 {
        return Err(unmet(
            "body_bottom",
            format!(
                "the body does not reach the bottom of the photo ({:.0}% missing)",
                over.bottom * 100.0
            ),
        ));
    }
    let dims = img.dimensions();
    let chin = head.to_source(Point::new(head.center_x, head.chin_y)).y;
    let bottom = (rect.center.y + rect.height / 2.0).min(dims.1 as f32 - 1.0);
    for (side, x) in [(over.left, 0.0f32), (over.right, dims.0 as f32 - 1.0)] {
        if side <= 0.02 {
            continue;
        }
        let touches = (0..20).any(|k| {
            let y = chin + (bottom - chin) * k as f32 / 19.0;
            mask_at(mask, Point::new(x, y), dims).unwrap_or(0.0) >= OUTLINE
        });
        if touches {
            return Err(unmet(
                "body_side",
                "the shoulders are cut by the side of the photo".into(),
            ));
        }
    }
    Ok(())
}

/// The model's mask resampled onto the output pixels (the output grid is an affine image of
/// the source, so it is walked with two step vectors).
fn coarse_alpha(mask: &PersonMask, f: &Framing, head: &Head, spec: &PhotoSpec) -> GrayImage {
    let origin = f.source_of(head, 0.0, 0.0);
    let step = |i: f32, j: f32| {
        let p = f.source_of(head, i, j);
        Point::new(p.x - origin.x, p.y - origin.y)
    };
    mask.rasterize(
        origin,
        step(1.0, 0.0),
        step(0.0, 1.0),
        spec.width_px,
        spec.height_px,
    )
}

fn tone(mut img: RgbImage, a: &Adjust) -> RgbImage {
    if a.brightness == 0.0 && a.contrast == 0.0 {
        return img;
    }
    let lut: Vec<u8> = (0..256)
        .map(|v| {
            let x = (v as f32 / 255.0 - 0.5) * (1.0 + a.contrast) + 0.5 + a.brightness * 0.5;
            (x.clamp(0.0, 1.0) * 255.0 + 0.5) as u8
        })
        .collect();
    for v in img.iter_mut() {
        *v = lut[*v as usize];
    }
    img
}

fn to_output(mesh: &Landmarks, head: &Head, f: &Framing) -> Landmarks {
    let points = mesh
        .points
        .iter()
        .map(|&p| {
            let up = head.to_upright(p);
            Point::new((up.x - f.left) * f.scale, (up.y - f.top) * f.scale)
        })
        .collect();
    Landmarks { points }
}

/// Re-measures the head on the output: the crown from the alpha, the rest from the mesh.
fn measure(
    alpha: &GrayImage,
    mesh: &Landmarks,
    head: &Head,
    f: &Framing,
    spec: &PhotoSpec,
    full_scale: f32,
) -> Measurements {
    let (cr, cl) = (
        mesh.at(Landmarks::CHEEK_RIGHT),
        mesh.at(Landmarks::CHEEK_LEFT),
    );
    let (x0, x1) = (cr.x.min(cl.x), cr.x.max(cl.x));
    let cols = ((x0 + (x1 - x0) * 0.25).max(0.0) as u32)
        ..((x1 - (x1 - x0) * 0.25).max(0.0) as u32).min(alpha.width());
    let crown = (0..alpha.height())
        .find(|&y| cols.clone().any(|x| alpha.get_pixel(x, y)[0] >= 128))
        .map(|y| y as f32)
        .unwrap_or(f.crown_gap);
    let chin = mesh.chin();
    let px_per_mm = spec.width_px as f32 / spec.width_mm.max(0.1);
    let face_width = alpha_width(alpha, ear_level(mesh, |p| p), (cr.x + cl.x) / 2.0);
    let nose = mesh.at(Landmarks::NOSE_TIP);
    let r = (nose.x - cr.x) / (cl.x - cr.x).abs().max(1.0);
    Measurements {
        crown_y: crown,
        chin_y: chin.y,
        eye_y: mesh.eye_center().y,
        head_height: chin.y - crown,
        crown_gap: crown,
        face_width,
        head_box: Rect {
            x: x0,
            y: crown,
            w: x1 - x0,
            h: chin.y - crown,
        },
        head_height_mm: (chin.y - crown) / px_per_mm,
        face_width_mm: face_width / px_per_mm,
        roll_deg: head.roll_deg,
        yaw_deg: (2.0 * r - 1.0).clamp(-1.0, 1.0).asin().to_degrees(),
        scale: full_scale,
        left_eye: mesh.left_eye(),
        right_eye: mesh.right_eye(),
        chin,
    }
}

/// Hair above the forehead and the ears beside the cheeks, from the mesh in output pixels.
fn matte_hints(mesh: &Landmarks, crown: f32) -> matte::MatteHints {
    let (cr, cl) = (
        mesh.at(Landmarks::CHEEK_RIGHT),
        mesh.at(Landmarks::CHEEK_LEFT),
    );
    let forehead = mesh.at(Landmarks::FOREHEAD_TOP);
    let w = (cl.x - cr.x).abs().max(1.0);
    let top = crown.min(forehead.y) - 0.15 * w;
    let hair = Rect {
        x: cr.x.min(cl.x) - 0.15 * w,
        y: top,
        w: w * 1.3,
        h: (forehead.y + 0.1 * w - top).max(1.0),
    };
    let ear = |c: Point, dir: f32| Rect {
        x: if dir < 0.0 { c.x - 0.22 * w } else { c.x },
        y: c.y - 0.3 * w,
        w: 0.22 * w,
        h: 0.5 * w,
    };
    let (left_side, right_side) = if cr.x <= cl.x { (cr, cl) } else { (cl, cr) };
    matte::MatteHints {
        hair_region: Some(hair),
        ears: [Some(ear(left_side, -1.0)), Some(ear(right_side, 1.0))],
    }
}

/// Print sheets of the first colour. Cells are never rescaled on the sheet, so a photo whose
/// dpi is not the sheet's is first resampled to its physical size at the sheet's dpi.
fn print_sheets(
    photo: &RgbImage,
    spec: &PhotoSpec,
    papers: &[sheet::Paper],
) -> Result<Vec<(sheet::Paper, Vec<u8>)>, EngineError> {
    let cell = if spec.dpi == sheet::SHEET_DPI {
        photo.clone()
    } else {
        let px = |mm: f32| (mm / 25.4 * sheet::SHEET_DPI as f32).round().max(1.0) as u32;
        raster::resize_rgb(photo, px(spec.width_mm), px(spec.height_mm))?
    };
    papers
        .iter()
        .map(|&paper| {
            let s = sheet::render_sheet(
                paper,
                &[(&cell, sheet::Copies::Fill)],
                &sheet::SheetOptions::default(),
            )?;
            Ok((paper, s.to_jpeg()?))
        })
        .collect()
}
