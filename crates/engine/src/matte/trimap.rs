//! Coarse mask → trimap: 255 sure foreground, 0 sure background, 128 unknown.
//!
//! The unknown band is every pixel within `band · diagonal` of the coarse mask's 0.5 outline
//! (wider inside the hair and ear hints), plus pixels where the mask itself is unsure (0.1..0.9)
//! up to 2.5 times that distance. The distance to the outline is an exact Euclidean distance
//! transform on a copy of at most ~320 px, upsampled bilinearly (distances are smooth).

use super::plane::{shrink, unit, Upsampler};
use super::{band_px, MatteHints, MatteOptions};
use crate::geom::Rect;
use image::GrayImage;

pub const BACKGROUND: u8 = 0;
pub const UNKNOWN: u8 = 128;
pub const FOREGROUND: u8 = 255;

/// The trimap `refine` solves in (0 / 128 / 255), exposed for inspection and tests.
pub fn trimap(coarse: &GrayImage, hints: &MatteHints, opts: &MatteOptions) -> GrayImage {
    let (w, h) = (coarse.width() as usize, coarse.height() as usize);
    if w == 0 || h == 0 {
        return GrayImage::new(coarse.width(), coarse.height());
    }
    let c = unit(coarse);
    let s = w.max(h).div_ceil(320).max(1);
    let (small, sw, sh) = shrink(&c, w, h, s);
    let sd = signed_distance(&small, sw, sh);
    let up = Upsampler::new(w, h, sw, sh, s);
    let band = band_px(w, h, opts);
    let zones = Zones::new(hints, opts, band);
    let mut out = vec![BACKGROUND; w * h];
    for y in 0..h {
        for x in 0..w {
            let i = y * w + x;
            let d = up.at(&sd, x, y) * s as f32;
            let wide = band * zones.widen(x as f32 + 0.5, y as f32 + 0.5);
            let unsure = c[i] > 0.1 && c[i] < 0.9 && d.abs() < 2.5 * wide;
            out[i] = if d.abs() < wide || unsure {
                UNKNOWN
            } else if d > 0.0 {
                FOREGROUND
            } else {
                BACKGROUND
            };
        }
    }
    GrayImage::from_raw(w as u32, h as u32, out).unwrap_or_else(|| GrayImage::new(0, 0))
}

/// Hint rectangles (padded by one band) with their widening factors.
struct Zones(Vec<(Rect, f32)>);

impl Zones {
    fn new(hints: &MatteHints, opts: &MatteOptions, pad: f32) -> Self {
        let grow = |r: Rect| Rect {
            x: r.x - pad,
            y: r.y - pad,
            w: r.w + 2.0 * pad,
            h: r.h + 2.0 * pad,
        };
        let mut v = Vec::new();
        if let Some(r) = hints.hair_region {
            v.push((grow(r), opts.hair_widen));
        }
        for r in hints.ears.iter().flatten() {
            v.push((grow(*r), opts.ear_widen));
        }
        Self(v)
    }

    fn widen(&self, x: f32, y: f32) -> f32 {
        self.0
            .iter()
            .filter(|(r, _)| x >= r.x && x < r.right() && y >= r.y && y < r.bottom())
            .map(|&(_, f)| f)
            .fold(1.0, f32::max)
    }
}

/// Signed distance to the 0.5 outline, in pixels: positive inside, negative outside.
fn signed_distance(m: &[f32], w: usize, h: usize) -> Vec<f32> {
    let inside: Vec<bool> = m.iter().map(|&v| v >= 0.5).collect();
    let to_out = distance(&inside, w, h, false);
    let to_in = distance(&inside, w, h, true);
    inside
        .iter()
        .zip(to_out.iter().zip(&to_in))
        .map(|(&is_in, (&o, &i))| {
            if is_in {
                o.min(1e12).sqrt() - 0.5
            } else {
                0.5 - i.min(1e12).sqrt()
            }
        })
        .collect()
}

/// Squared Euclidean distance to the nearest pixel whose `inside` equals `target`
/// (Felzenszwalb & Huttenlocher 2012). `f32::INFINITY` where there is none.
fn distance(inside: &[bool], w: usize, h: usize, target: bool) -> Vec<f32> {
    let mut d: Vec<f64> = inside
        .iter()
        .map(|&v| if v == target { 0.0 } else { f64::INFINITY })
        .collect();
    let n = w.max(h);
    let (mut f, mut out) = (vec![0.0f64; n], vec![0.0f64; n]);
    let (mut v, mut z) = (vec![0usize; n], vec![0.0f64; n + 1]);
    for x in 0..w {
        for y in 0..h {
            f[y] = d[y * w + x];
        }
        edt_1d(&f[..h], &mut out[..h], &mut v, &mut z);
        for y in 0..h {
            d[y * w + x] = out[y];
        }
    }
    for y in 0..h {
        f[..w].copy_from_slice(&d[y * w..(y + 1) * w]);
        edt_1d(&f[..w], &mut out[..w], &mut v, &mut z);
        d[y * w..(y + 1) * w].copy_from_slice(&out[..w]);
    }
    d.into_iter().map(|x| x as f32).collect()
}

/// Lower envelope of parabolas: `out[q] = min_p (q − p)² + f[p]`, over the finite `f[p]`.
fn edt_1d(f: &[f64], out: &mut [f64], v: &mut [usize], z: &mut [f64]) {
    let sect = |q: usize, p: usize| {
        let (qf, pf) = (q as f64, p as f64);
        ((f[q] + qf * qf) - (f[p] + pf * pf)) / (2.0 * (qf - pf))
    };
    let mut k: Option<usize> = None;
    for q in (0..f.len()).filter(|&q| f[q].is_finite()) {
        let Some(mut kk) = k else {
            k = Some(0);
            v[0] = q;
            z[0] = f64::NEG_INFINITY;
            z[1] = f64::INFINITY;
            continue;
        };
        let mut s = sect(q, v[kk]);
        while s <= z[kk] {
            kk -= 1; // never below 0: z[0] is −∞
            s = sect(q, v[kk]);
        }
        kk += 1;
        v[kk] = q;
        z[kk] = s;
        z[kk + 1] = f64::INFINITY;
        k = Some(kk);
    }
    if k.is_none() {
        out.fill(f64::INFINITY);
        return;
    }
    let mut kk = 0;
    for (q, o) in out.iter_mut().enumerate() {
        while z[kk + 1] < q as f64 {
            kk += 1;
        }
        let dq = q as f64 - v[kk] as f64;
        *o = dq * dq + f[v[kk]];
    }
}
