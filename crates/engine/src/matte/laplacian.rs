//! Closed-form matting (Levin, Lischinski, Weiss 2008) restricted to the trimap's unknown band.
//!
//! Minimises `αᵀLα + λ Σ_band (α − prior)²` with the sure regions fixed, where `L` is the
//! matting Laplacian over 3×3 windows. Only `L`'s rows for the unknown pixels are built, once,
//! each over the 5×5 neighbourhood two windows can couple
//! (`L_ij = Σ_{k∋i,j} δ_ij − (1 + (I_i − μ_k)ᵀ(Σ_k + ε/n)⁻¹(I_j − μ_k))/n`, centred colours so
//! f32 holds up next to a tiny ε); every conjugate-gradient product is then 25 multiply-adds
//! a pixel. The system is solved by Jacobi-preconditioned conjugate gradients from the prior.

use super::plane::{inv_sym3, mul_sym3, Upsampler};
use super::trimap::{FOREGROUND, UNKNOWN};
use super::MatteOptions;

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
    let init = if band.unknown.len() > opts.coarse_first && w >= 8 && h >= 8 {
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

/// Entries of one row of `L`: the 5×5 neighbourhood, row-major, centre at `STENCIL / 2`.
const STENCIL: usize = 25;

struct Band {
    w: usize,
    h: usize,
    /// Unknown pixels (row-major indices).
    unknown: Vec<u32>,
    /// `L`'s row for each unknown pixel, over its 5×5 neighbourhood (two pixels is as far as
    /// two 3×3 windows reach). Built once; each product is then 25 multiply-adds a pixel.
    rows: Vec<[f32; STENCIL]>,
    /// Whether each unknown pixel's 5×5 neighbourhood lies inside the image.
    inner: Vec<bool>,
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

impl Band {
    fn new(guide: &[[f32; 3]], w: usize, h: usize, tri: &[u8], eps: f32) -> Self {
        let unknown: Vec<u32> = (0..w * h)
            .filter(|&i| tri[i] == UNKNOWN)
            .map(|i| i as u32)
            .collect();
        let mut slot = vec![u32::MAX; w * h];
        for (s, &i) in unknown.iter().enumerate() {
            slot[i as usize] = s as u32;
        }
        let mut touched = vec![false; w * h];
        for &i in &unknown {
            let (x0, x1, y0, y1) = bounds(i as usize, w, h);
            for y in y0..=y1 {
                touched[y * w + x0..=y * w + x1].fill(true);
            }
        }
        let mut rows = vec![[0.0f32; STENCIL]; unknown.len()];
        for k in (0..w * h).filter(|&k| touched[k]) {
            let win = window_stats(guide, w, h, k, eps);
            add_window(guide, w, h, k, &win, &slot, &mut rows);
        }
        let inner = unknown
            .iter()
            .map(|&i| {
                let (x, y) = (i as usize % w, i as usize / w);
                x >= 2 && y >= 2 && x + 2 < w && y + 2 < h
            })
            .collect();
        Self {
            w,
            h,
            unknown,
            rows,
            inner,
        }
    }

    /// `(Lv)_i` for every unknown `i`.
    fn apply(&self, v: &[f32], out: &mut [f32]) {
        let w = self.w;
        for (((o, &i), row), &inner) in out
            .iter_mut()
            .zip(&self.unknown)
            .zip(&self.rows)
            .zip(&self.inner)
        {
            let i = i as usize;
            *o = if inner {
                // Five contiguous runs of five: rows i − 2w … i + 2w, columns −2 … +2.
                let mut acc = [0.0f32; 5];
                for (dy, run) in row.chunks_exact(5).enumerate() {
                    let start = i + dy * w - 2 * w - 2;
                    for ((a, &l), &x) in acc.iter_mut().zip(run).zip(&v[start..start + 5]) {
                        *a += l * x;
                    }
                }
                acc.iter().sum()
            } else {
                self.apply_edge(i, row, v)
            };
        }
    }

    /// `apply` for a pixel near the image edge: neighbours outside it are skipped.
    fn apply_edge(&self, i: usize, row: &[f32; STENCIL], v: &[f32]) -> f32 {
        let (x, y) = ((i % self.w) as isize, (i / self.w) as isize);
        let mut sum = 0.0;
        for (o, &l) in row.iter().enumerate() {
            let (xx, yy) = (x + o as isize % 5 - 2, y + o as isize / 5 - 2);
            if xx >= 0 && yy >= 0 && (xx as usize) < self.w && (yy as usize) < self.h {
                sum += l * v[yy as usize * self.w + xx as usize];
            }
        }
        sum
    }

    /// Diagonal of `L` restricted to the unknown pixels.
    fn diagonal(&self) -> Vec<f32> {
        self.rows.iter().map(|r| r[STENCIL / 2]).collect()
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
        let mut lk = vec![0.0f32; n];
        self.apply(&field, &mut lk);
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
        let product = |p: &[f32], out: &mut [f32], field: &mut [f32]| {
            for (&i, &v) in self.unknown.iter().zip(p) {
                field[i as usize] = v;
            }
            self.apply(field, out);
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

/// Adds window `k`'s part of `L` to the rows of its unknown pixels:
/// `L_ab += δ_ab − (1 + (I_a − μ)ᵀ Δ⁻¹ (I_b − μ)) / n` for `a` unknown, `b` in the window.
fn add_window(
    g: &[[f32; 3]],
    w: usize,
    h: usize,
    k: usize,
    win: &Window,
    slot: &[u32],
    rows: &mut [[f32; STENCIL]],
) {
    let (x0, x1, y0, y1) = bounds(k, w, h);
    let mut px = [(0usize, 0usize, [0.0f32; 3], [0.0f32; 3]); 9];
    let mut m = 0;
    for y in y0..=y1 {
        for x in x0..=x1 {
            let c = g[y * w + x];
            let d = [c[0] - win.mu[0], c[1] - win.mu[1], c[2] - win.mu[2]];
            px[m] = (x, y, d, mul_sym3(&win.inv, d));
            m += 1;
        }
    }
    let inv_n = 1.0 / win.n;
    for &(xa, ya, da, _) in &px[..m] {
        let Some(row) = rows.get_mut(slot[ya * w + xa] as usize) else {
            continue;
        };
        for &(xb, yb, _, qb) in &px[..m] {
            let quad = da[0] * qb[0] + da[1] * qb[1] + da[2] * qb[2];
            let delta = if (xa, ya) == (xb, yb) { 1.0 } else { 0.0 };
            let o = (yb + 2 - ya) * 5 + (xb + 2 - xa);
            row[o] += delta - (1.0 + quad) * inv_n;
        }
    }
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
