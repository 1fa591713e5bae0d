//! Multi-level foreground estimation (Germer, Uelwer, Conrad, Harmeling 2020, "Fast
//! multi-level foreground estimation"). Solves `I = αF + (1 − α)B` for smooth `F` and `B`,
//! coarse to fine, with a few Gauss–Seidel sweeps per level. On the large levels only pixels
//! near the semi-transparent ones are swept: elsewhere `F` (α = 1) or `B` (α = 0) is the pixel.

use image::{GrayImage, RgbImage};

const REGULARIZATION: f32 = 1e-5;
const GRADIENT_WEIGHT: f32 = 1.0;
const SMALL_ITERATIONS: usize = 10;
const BIG_ITERATIONS: usize = 2;
/// Levels up to this many pixels are swept in full; larger ones only near semi-transparent
/// pixels (at 128² the fringe error on red and blue was 7.0 vs 7.1 now, for 2 ms more).
const SMALL_LEVEL: usize = 48 * 48;

type Rgb = [f32; 3];

struct Level {
    w: usize,
    h: usize,
    image: Vec<Rgb>,
    alpha: Vec<f32>,
}

pub fn estimate(rgb: &RgbImage, alpha: &GrayImage) -> RgbImage {
    let (w0, h0) = (rgb.width() as usize, rgb.height() as usize);
    let image: Vec<Rgb> = rgb
        .pixels()
        .map(|p| p.0.map(|c| c as f32 / 255.0))
        .collect();
    let a0: Vec<f32> = alpha.as_raw().iter().map(|&a| a as f32 / 255.0).collect();
    let n_levels = (w0.max(h0) as f32).log2().ceil().max(1.0) as u32;
    let mean = mean_colour(&image);
    let (mut f, mut b) = (vec![mean], vec![mean]);
    let (mut pw, mut ph) = (1usize, 1usize);
    for level in 0..=n_levels {
        let t = level as f32 / n_levels as f32;
        let w = ((w0 as f32).powf(t).round() as usize).clamp(1, w0);
        let h = ((h0 as f32).powf(t).round() as usize).clamp(1, h0);
        let lv = Level {
            w,
            h,
            image: nearest(&image, w0, h0, w, h),
            alpha: nearest(&a0, w0, h0, w, h),
        };
        f = nearest(&f, pw, ph, w, h);
        b = nearest(&b, pw, ph, w, h);
        let small = w * h <= SMALL_LEVEL;
        let iterations = if small {
            SMALL_ITERATIONS
        } else {
            BIG_ITERATIONS
        };
        let active = if small {
            None
        } else {
            Some(settle(&lv, &mut f, &mut b))
        };
        for _ in 0..iterations {
            match &active {
                Some(list) => list
                    .iter()
                    .for_each(|&i| update(&lv, &mut f, &mut b, i as usize)),
                None => (0..w * h).for_each(|i| update(&lv, &mut f, &mut b, i)),
            }
        }
        (pw, ph) = (w, h);
    }
    let raw = f
        .iter()
        .zip(&image)
        .zip(&a0)
        .flat_map(|((fc, ic), &a)| {
            let c = if a >= 1.0 { *ic } else { *fc };
            c.map(|v| (v.clamp(0.0, 1.0) * 255.0 + 0.5) as u8)
        })
        .collect();
    RgbImage::from_raw(w0 as u32, h0 as u32, raw).unwrap_or_else(|| rgb.clone())
}

/// Sets F (α = 1) or B (α = 0) to the pixel away from the edge; returns the pixels within
/// two of a semi-transparent one, which are the ones still to solve.
fn settle(lv: &Level, f: &mut [Rgb], b: &mut [Rgb]) -> Vec<u32> {
    let (w, h) = (lv.w, lv.h);
    let mut near = vec![false; w * h];
    for y in 0..h {
        for x in 0..w {
            let a = lv.alpha[y * w + x];
            if a > 0.0 && a < 1.0 {
                for yy in y.saturating_sub(2)..(y + 3).min(h) {
                    near[yy * w + x.saturating_sub(2)..yy * w + (x + 3).min(w)].fill(true);
                }
            }
        }
    }
    let mut active = Vec::new();
    for (i, &is_near) in near.iter().enumerate() {
        if is_near {
            active.push(i as u32);
        } else if lv.alpha[i] >= 1.0 {
            f[i] = lv.image[i];
        } else {
            b[i] = lv.image[i];
        }
    }
    active
}

/// One Gauss–Seidel update of F and B at pixel `i` (the 2×2 system of Germer et al.).
#[inline]
fn update(lv: &Level, f: &mut [Rgb], b: &mut [Rgb], i: usize) {
    let (w, h) = (lv.w, lv.h);
    let (x, y) = (i % w, i / w);
    let a0 = lv.alpha[i];
    let a1 = 1.0 - a0;
    let (mut a00, a01, mut a11) = (a0 * a0, a0 * a1, a1 * a1);
    let im = lv.image[i];
    let mut bf = im.map(|c| a0 * c);
    let mut bb = im.map(|c| a1 * c);
    let neighbours = [
        if x > 0 { i - 1 } else { i },
        if x + 1 < w { i + 1 } else { i },
        if y > 0 { i - w } else { i },
        if y + 1 < h { i + w } else { i },
    ];
    for j in neighbours {
        let da = REGULARIZATION + GRADIENT_WEIGHT * (a0 - lv.alpha[j]).abs();
        a00 += da;
        a11 += da;
        for c in 0..3 {
            bf[c] += da * f[j][c];
            bb[c] += da * b[j][c];
        }
    }
    let inv_det = 1.0 / (a00 * a11 - a01 * a01);
    for c in 0..3 {
        f[i][c] = (inv_det * (a11 * bf[c] - a01 * bb[c])).clamp(0.0, 1.0);
        b[i][c] = (inv_det * (a00 * bb[c] - a01 * bf[c])).clamp(0.0, 1.0);
    }
}

fn nearest<T: Copy>(src: &[T], sw: usize, sh: usize, w: usize, h: usize) -> Vec<T> {
    let xs: Vec<usize> = (0..w).map(|x| (x * sw / w).min(sw - 1)).collect();
    let mut out = Vec::with_capacity(w * h);
    for y in 0..h {
        let row = (y * sh / h).min(sh - 1) * sw;
        out.extend(xs.iter().map(|&x| src[row + x]));
    }
    out
}

fn mean_colour(image: &[Rgb]) -> Rgb {
    let mut s = [0.0f64; 3];
    for p in image {
        for c in 0..3 {
            s[c] += p[c] as f64;
        }
    }
    let n = image.len().max(1) as f64;
    s.map(|v| (v / n) as f32)
}
