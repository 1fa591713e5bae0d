//! Closed-form matting (Levin, Lischinski, Weiss 2008) restricted to the trimap's unknown band.
//!
//! Minimises `αᵀLα + λ Σ_band (α − prior)²` with the sure regions fixed, where `L` is the
//! matting Laplacian over 3×3 windows. `L` is never stored: `Lv` is computed per window as in
//! He, Sun, Tang 2010 (`a_k = Δ_k⁻¹(cov(I, v)_k)`, `b_k = v̄_k − a_kᵀμ_k`, then
//! `(Lv)_i = |w_i| v_i − Σ_{k∋i} (a_kᵀ I_i + b_k)`), only for windows touching the band. The
//! system is solved by Jacobi-preconditioned conjugate gradients from the prior.

use super::plane::{inv_sym3, mul_sym3, Upsampler};
use super::trimap::{FOREGROUND, UNKNOWN};
use super::MatteOptions;

/// Unknown pixels above which the band is first solved at half resolution.
const COARSE_FIRST: usize = 12_000;

/// Alpha (0..1) for every pixel: 1 / 0 in the sure regions, solved in the band, pulled weakly
/// towards `prior_at(band pixels)`. Large bands are first solved at half resolution, which
/// gives conjugate gradients a start with the slow, smooth part of the error already gone.
pub fn solve(
    guide: &[[f32; 3]],
    w: usize,
    h: usize,
    tri: &[u8],
    prior_at: &dyn Fn(&[u32]) -> Vec<f32>,
    opts: &MatteOptions,
) -> Vec<f32> {
    let mut alpha: Vec<f32> = tri
        .iter()
        .map(|&t| if t == FOREGROUND { 1.0 } else { 0.0 })
        .collect();
    let band = Band::new(guide, w, h, tri, opts.eps);
    if band.unknown.is_empty() {
        return alpha;
    }
    let prior = prior_at(&band.unknown);
    let mut level_opts = opts.clone();
    let init = if band.unknown.len() > COARSE_FIRST && w >= 8 && h >= 8 {
        level_opts.max_iterations = opts.refine_iterations;
        let half = Half::new(guide, w, h, tri);
        let prior_half = |px: &[u32]| half.prior(px, prior_at);
        let coarse = solve(&half.guide, half.w, half.h, &half.tri, &prior_half, opts);
        half.upsample(&coarse, &band.unknown)
    } else {
        prior.clone()
    };
    let weight = vec![opts.prior_weight; prior.len()];
    let pull: Vec<f32> = prior.iter().map(|p| opts.prior_weight * p).collect();
    let x = band.conjugate_gradients(&alpha, init, &weight, &pull, &level_opts);
    for (&i, &v) in band.unknown.iter().zip(&x) {
        alpha[i as usize] = v.clamp(0.0, 1.0);
    }
    alpha
}

/// The problem at half resolution: 2×2 colour means, and a trimap where a pixel is sure only
/// if its four children are.
struct Half {
    guide: Vec<[f32; 3]>,
    tri: Vec<u8>,
    w: usize,
    h: usize,
    fw: usize,
    fh: usize,
}

impl Half {
    fn new(guide: &[[f32; 3]], fw: usize, fh: usize, tri: &[u8]) -> Self {
        let (w, h) = (fw / 2, fh / 2);
        let mut g = Vec::with_capacity(w * h);
        let mut t = Vec::with_capacity(w * h);
        for y in 0..h {
            for x in 0..w {
                let kids = [
                    2 * y * fw + 2 * x,
                    2 * y * fw + 2 * x + 1,
                    (2 * y + 1) * fw + 2 * x,
                    (2 * y + 1) * fw + 2 * x + 1,
                ];
                let mut c = [0.0f32; 3];
                for &k in &kids {
                    for ch in 0..3 {
                        c[ch] += 0.25 * guide[k][ch];
                    }
                }
                g.push(c);
                let first = tri[kids[0]];
                t.push(if kids.iter().all(|&k| tri[k] == first) {
                    first
                } else {
                    UNKNOWN
                });
            }
        }
        Self {
            guide: g,
            tri: t,
            w,
            h,
            fw,
            fh,
        }
    }

    /// The full-resolution prior averaged over each half-resolution pixel's children.
    fn prior(&self, px: &[u32], prior_at: &dyn Fn(&[u32]) -> Vec<f32>) -> Vec<f32> {
        let kids: Vec<u32> = px
            .iter()
            .flat_map(|&i| {
                let (x, y) = (i as usize % self.w, i as usize / self.w);
                let top = 2 * y * self.fw + 2 * x;
                [top, top + 1, top + self.fw, top + self.fw + 1].map(|k| k as u32)
            })
            .collect();
        prior_at(&kids)
            .chunks(4)
            .map(|c| c.iter().sum::<f32>() / 4.0)
            .collect()
    }

    /// Bilinear sample of a half-resolution alpha at full-resolution pixels.
    fn upsample(&self, alpha: &[f32], px: &[u32]) -> Vec<f32> {
        let up = Upsampler::new(self.fw, self.fh, self.w, self.h, 2);
        px.iter()
            .map(|&i| up.at(alpha, i as usize % self.fw, i as usize / self.fw))
            .collect()
    }
}

/// One 3×3 window's colour statistics: mean, `(Σ + ε/n)⁻¹`, pixel count.
#[derive(Clone, Copy)]
struct Window {
    mu: [f32; 3],
    inv: [f32; 6],
    n: f32,
}

struct Band<'a> {
    guide: &'a [[f32; 3]],
    w: usize,
    h: usize,
    /// Unknown pixels (row-major indices).
    unknown: Vec<u32>,
    /// Window centres touching the band, and their statistics.
    centres: Vec<u32>,
    windows: Vec<Window>,
    /// Whether each centre / unknown pixel has its whole 3×3 window inside the image.
    centre_inner: Vec<bool>,
    unknown_inner: Vec<bool>,
}

/// Inclusive 3×3 window bounds around `i`, clamped to the image.
#[inline]
fn bounds(i: usize, w: usize, h: usize) -> (usize, usize, usize, usize) {
    let (x, y) = (i % w, i / w);
    (
        x.saturating_sub(1),
        (x + 1).min(w - 1),
        y.saturating_sub(1),
        (y + 1).min(h - 1),
    )
}

impl<'a> Band<'a> {
    fn new(guide: &'a [[f32; 3]], w: usize, h: usize, tri: &[u8], eps: f32) -> Self {
        let unknown: Vec<u32> = (0..w * h)
            .filter(|&i| tri[i] == UNKNOWN)
            .map(|i| i as u32)
            .collect();
        let mut touched = vec![false; w * h];
        for &i in &unknown {
            let (x0, x1, y0, y1) = bounds(i as usize, w, h);
            for y in y0..=y1 {
                touched[y * w + x0..=y * w + x1].fill(true);
            }
        }
        let centres: Vec<u32> = (0..w * h)
            .filter(|&i| touched[i])
            .map(|i| i as u32)
            .collect();
        let windows = centres
            .iter()
            .map(|&k| window_stats(guide, w, h, k as usize, eps))
            .collect();
        let inner = |list: &[u32]| -> Vec<bool> {
            list.iter()
                .map(|&i| {
                    let (x, y) = (i as usize % w, i as usize / w);
                    x > 0 && y > 0 && x + 1 < w && y + 1 < h
                })
                .collect()
        };
        let (centre_inner, unknown_inner) = (inner(&centres), inner(&unknown));
        Self {
            guide,
            w,
            h,
            unknown,
            centres,
            windows,
            centre_inner,
            unknown_inner,
        }
    }

    /// `(Lv)_i` for every unknown `i`; `coef` is full-size scratch for each window's `[a, b]`.
    ///
    /// `Σ_j (I_j − μ_k) v_j` is accumulated centred and `b_k` is formed in f64: `a_k` can be
    /// ~1/ε, and the uncentred sums lose everything to cancellation in f32.
    fn apply(&self, v: &[f32], coef: &mut [[f32; 4]], out: &mut [f32]) {
        let g = self.guide;
        let taps = self.taps();
        for ((&k, win), &inner) in self
            .centres
            .iter()
            .zip(&self.windows)
            .zip(&self.centre_inner)
        {
            let k = k as usize;
            let (mut s, mut t) = (0.0f32, [0.0f32; 3]);
            let mut add = |j: usize| {
                let (vj, gj) = (v[j], g[j]);
                s += vj;
                t[0] += (gj[0] - win.mu[0]) * vj;
                t[1] += (gj[1] - win.mu[1]) * vj;
                t[2] += (gj[2] - win.mu[2]) * vj;
            };
            if inner {
                taps.iter().for_each(|&o| add(k.wrapping_add(o as usize)));
            } else {
                self.each_in_window(k, add);
            }
            let inv_n = 1.0 / win.n;
            let a = mul_sym3(&win.inv, t.map(|x| x * inv_n));
            let am = a[0] as f64 * win.mu[0] as f64
                + a[1] as f64 * win.mu[1] as f64
                + a[2] as f64 * win.mu[2] as f64;
            coef[k] = [a[0], a[1], a[2], (s as f64 * inv_n as f64 - am) as f32];
        }
        for ((o, &i), &inner) in out.iter_mut().zip(&self.unknown).zip(&self.unknown_inner) {
            let i = i as usize;
            let mut acc = [0.0f32; 4];
            let mut m = 0.0f32;
            let mut add = |k: usize| {
                let c = &coef[k];
                acc[0] += c[0];
                acc[1] += c[1];
                acc[2] += c[2];
                acc[3] += c[3];
                m += 1.0;
            };
            if inner {
                taps.iter().for_each(|&o| add(i.wrapping_add(o as usize)));
            } else {
                self.each_in_window(i, add);
            }
            let gi = g[i];
            *o = m * v[i] - (acc[0] * gi[0] + acc[1] * gi[1] + acc[2] * gi[2] + acc[3]);
        }
    }

    /// Offsets of the 3×3 window around an interior pixel.
    fn taps(&self) -> [isize; 9] {
        let w = self.w as isize;
        [-w - 1, -w, -w + 1, -1, 0, 1, w - 1, w, w + 1]
    }

    /// Calls `f` for each pixel of the (clamped) 3×3 window around `i`.
    fn each_in_window(&self, i: usize, mut f: impl FnMut(usize)) {
        let (x0, x1, y0, y1) = bounds(i, self.w, self.h);
        for y in y0..=y1 {
            for j in y * self.w + x0..=y * self.w + x1 {
                f(j);
            }
        }
    }

    /// Diagonal of `L` restricted to the unknown pixels.
    fn diagonal(&self) -> Vec<f32> {
        let mut full = vec![0.0f32; self.w * self.h];
        for (&k, win) in self.centres.iter().zip(&self.windows) {
            self.each_in_window(k as usize, |j| {
                let gj = self.guide[j];
                let d = [gj[0] - win.mu[0], gj[1] - win.mu[1], gj[2] - win.mu[2]];
                let q = mul_sym3(&win.inv, d);
                let quad = d[0] * q[0] + d[1] * q[1] + d[2] * q[2];
                full[j] += 1.0 - (1.0 + quad) / win.n;
            });
        }
        self.unknown.iter().map(|&i| full[i as usize]).collect()
    }

    /// Solves `(L_uu + D) x = −L_uk α_k + pull` from `init`, with `D = diag(weight)`.
    fn conjugate_gradients(
        &self,
        alpha: &[f32],
        init: Vec<f32>,
        weight: &[f32],
        pull: &[f32],
        opts: &MatteOptions,
    ) -> Vec<f32> {
        let n = self.unknown.len();
        let mut field = alpha.to_vec();
        for &i in &self.unknown {
            field[i as usize] = 0.0;
        }
        let mut ab = vec![[0.0f32; 4]; self.w * self.h];
        let mut lk = vec![0.0f32; n];
        self.apply(&field, &mut ab, &mut lk);
        field.fill(0.0);
        let rhs: Vec<f32> = lk.iter().zip(pull).map(|(l, p)| p - l).collect();
        let precond: Vec<f32> = self
            .diagonal()
            .iter()
            .zip(weight)
            .map(|(d, w)| 1.0 / (d + w).max(1e-6))
            .collect();

        let mut x = init;
        let mut ax = vec![0.0f32; n];
        let mut product = |p: &[f32], out: &mut [f32], field: &mut [f32]| {
            for (&i, &v) in self.unknown.iter().zip(p) {
                field[i as usize] = v;
            }
            self.apply(field, &mut ab, out);
            for ((o, &v), &d) in out.iter_mut().zip(p).zip(weight) {
                *o += d * v;
            }
        };
        product(&x, &mut ax, &mut field);
        let mut r: Vec<f32> = rhs.iter().zip(&ax).map(|(b, a)| b - a).collect();
        let mut z: Vec<f32> = r.iter().zip(&precond).map(|(r, m)| r * m).collect();
        let mut p = z.clone();
        let mut rz = dot(&r, &z);
        let scale: f32 = rhs.iter().zip(&precond).map(|(b, m)| b * b * m).sum();
        let stop = scale * opts.tolerance * opts.tolerance;
        let mut ap = vec![0.0f32; n];
        for _ in 0..opts.max_iterations {
            if rz <= stop || rz <= 0.0 {
                break;
            }
            product(&p, &mut ap, &mut field);
            let pap = dot(&p, &ap);
            if pap <= 0.0 {
                break;
            }
            let step = rz / pap;
            for i in 0..n {
                x[i] += step * p[i];
                r[i] -= step * ap[i];
                z[i] = r[i] * precond[i];
            }
            let rz_new = dot(&r, &z);
            let beta = rz_new / rz;
            rz = rz_new;
            for i in 0..n {
                p[i] = z[i] + beta * p[i];
            }
        }
        x
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x * y) as f64).sum::<f64>() as f32
}

fn window_stats(g: &[[f32; 3]], w: usize, h: usize, k: usize, eps: f32) -> Window {
    let (x0, x1, y0, y1) = bounds(k, w, h);
    let n = ((x1 - x0 + 1) * (y1 - y0 + 1)) as f32;
    let mut s = [0.0f32; 3];
    for y in y0..=y1 {
        for c in &g[y * w + x0..=y * w + x1] {
            s[0] += c[0];
            s[1] += c[1];
            s[2] += c[2];
        }
    }
    let mu = s.map(|v| v / n);
    // Centred second pass: E[x²] − μ² cancels badly in f32 next to ε.
    let mut cov = [0.0f32; 6];
    for y in y0..=y1 {
        for c in &g[y * w + x0..=y * w + x1] {
            let d = [c[0] - mu[0], c[1] - mu[1], c[2] - mu[2]];
            cov[0] += d[0] * d[0];
            cov[1] += d[0] * d[1];
            cov[2] += d[0] * d[2];
            cov[3] += d[1] * d[1];
            cov[4] += d[1] * d[2];
            cov[5] += d[2] * d[2];
        }
    }
    let e = eps / n;
    let mut cov = cov.map(|v| v / n);
    cov[0] += e;
    cov[3] += e;
    cov[5] += e;
    Window {
        mu,
        inv: inv_sym3(cov),
        n,
    }
}
