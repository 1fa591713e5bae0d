//! Float planes (row-major, `w × h`) and the few operations on them the matting needs.

use image::{GrayImage, RgbImage};

/// RGB as 0..1 floats.
pub fn guide(rgb: &RgbImage) -> Vec<[f32; 3]> {
    rgb.pixels()
        .map(|p| p.0.map(|c| c as f32 * (1.0 / 255.0)))
        .collect()
}

/// Gray as 0..1 floats.
pub fn unit(g: &GrayImage) -> Vec<f32> {
    g.as_raw()
        .iter()
        .map(|&v| v as f32 * (1.0 / 255.0))
        .collect()
}

pub fn to_gray(v: &[f32], w: u32, h: u32) -> GrayImage {
    let raw = v
        .iter()
        .map(|&a| (a.clamp(0.0, 1.0) * 255.0 + 0.5) as u8)
        .collect();
    GrayImage::from_raw(w, h, raw).unwrap_or_else(|| GrayImage::new(w, h))
}

/// Mean over the `(2r+1)²` window clamped to the image (He et al.'s box filter).
pub fn box_mean(src: &[f32], w: usize, h: usize, r: usize) -> Vec<f32> {
    let mut tmp = vec![0.0f32; w * h];
    // Horizontal running sums.
    let mut prefix = vec![0.0f32; w.max(h) + 1];
    for y in 0..h {
        let row = &src[y * w..(y + 1) * w];
        for x in 0..w {
            prefix[x + 1] = prefix[x] + row[x];
        }
        for x in 0..w {
            let (lo, hi) = (x.saturating_sub(r), (x + r + 1).min(w));
            tmp[y * w + x] = (prefix[hi] - prefix[lo]) / (hi - lo) as f32;
        }
    }
    // Vertical, column blocks kept in cache by walking rows.
    let mut out = vec![0.0f32; w * h];
    let mut acc = vec![0.0f32; w];
    let mut added = 0usize;
    let mut top = 0usize; // first row in acc
    let mut next = 0usize; // next row to add
    for y in 0..h {
        let (lo, hi) = (y.saturating_sub(r), (y + r + 1).min(h));
        while next < hi {
            for (a, v) in acc.iter_mut().zip(&tmp[next * w..(next + 1) * w]) {
                *a += v;
            }
            next += 1;
            added += 1;
        }
        while top < lo {
            for (a, v) in acc.iter_mut().zip(&tmp[top * w..(top + 1) * w]) {
                *a -= v;
            }
            top += 1;
            added -= 1;
        }
        let inv = 1.0 / added.max(1) as f32;
        for (o, a) in out[y * w..(y + 1) * w].iter_mut().zip(&acc) {
            *o = a * inv;
        }
    }
    out
}

/// Block average by an integer factor `s` (partial blocks at the edges averaged too).
pub fn shrink(src: &[f32], w: usize, h: usize, s: usize) -> (Vec<f32>, usize, usize) {
    let (sw, sh) = (w.div_ceil(s), h.div_ceil(s));
    let mut sum = vec![0.0f32; sw * sh];
    let mut cnt = vec![0u32; sw * sh];
    for y in 0..h {
        let row = (y / s) * sw;
        for x in 0..w {
            sum[row + x / s] += src[y * w + x];
            cnt[row + x / s] += 1;
        }
    }
    for (v, &c) in sum.iter_mut().zip(&cnt) {
        *v /= c.max(1) as f32;
    }
    (sum, sw, sh)
}

/// Bilinear sample of a plane shrunk by `s` at full-resolution pixel `(x, y)`.
pub struct Upsampler {
    xs: Vec<(usize, usize, f32)>,
    ys: Vec<(usize, usize, f32)>,
    sw: usize,
}

impl Upsampler {
    pub fn new(w: usize, h: usize, sw: usize, sh: usize, s: usize) -> Self {
        let axis = |n: usize, sn: usize| {
            (0..n)
                .map(|i| {
                    let f = ((i as f32 + 0.5) / s as f32 - 0.5).clamp(0.0, (sn - 1) as f32);
                    let i0 = f.floor() as usize;
                    (i0, (i0 + 1).min(sn - 1), f - i0 as f32)
                })
                .collect()
        };
        Self {
            xs: axis(w, sw),
            ys: axis(h, sh),
            sw,
        }
    }

    #[inline]
    pub fn at(&self, src: &[f32], x: usize, y: usize) -> f32 {
        let (x0, x1, fx) = self.xs[x];
        let (y0, y1, fy) = self.ys[y];
        let r0 = src[y0 * self.sw + x0] * (1.0 - fx) + src[y0 * self.sw + x1] * fx;
        let r1 = src[y1 * self.sw + x0] * (1.0 - fx) + src[y1 * self.sw + x1] * fx;
        r0 * (1.0 - fy) + r1 * fy
    }
}

/// Inverse of the symmetric 3×3 matrix `[xx, xy, xz, yy, yz, zz]`, same layout (f64 inside:
/// near-flat windows make it ill-conditioned).
#[inline]
pub fn inv_sym3(m: [f32; 6]) -> [f32; 6] {
    let [a, b, c, d, e, f] = m.map(|v| v as f64);
    let (c00, c01, c02) = (d * f - e * e, c * e - b * f, b * e - c * d);
    let (c11, c12, c22) = (a * f - c * c, b * c - a * e, a * d - b * b);
    let det = a * c00 + b * c01 + c * c02;
    let inv = if det.abs() > 1e-300 { 1.0 / det } else { 0.0 };
    [c00, c01, c02, c11, c12, c22].map(|v| (v * inv) as f32)
}

#[inline]
pub fn mul_sym3(m: &[f32; 6], v: [f32; 3]) -> [f32; 3] {
    [
        m[0] * v[0] + m[1] * v[1] + m[2] * v[2],
        m[1] * v[0] + m[3] * v[1] + m[4] * v[2],
        m[2] * v[0] + m[4] * v[1] + m[5] * v[2],
    ]
}
