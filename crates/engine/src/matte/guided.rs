//! The colour guided filter (He, Sun, Tang 2010/2013), in its fast form (He & Sun 2015): the
//! linear coefficients are computed on a copy shrunk by `s ≈ r/4` and applied at full
//! resolution with the full-resolution guide.

use super::plane::{box_mean, inv_sym3, mul_sym3, shrink, Upsampler};

/// The filter's linear coefficients, ready to be applied at any full-resolution pixel.
pub struct Guided {
    ab: [Vec<f32>; 4],
    up: Upsampler,
    w: usize,
}

impl Guided {
    /// Fits the filter of `p` (0..1) guided by `guide`; `radius` in full-resolution pixels.
    pub fn new(guide: &[[f32; 3]], w: usize, h: usize, p: &[f32], radius: f32, eps: f32) -> Self {
        let s = ((radius / 3.0).ceil() as usize).max(1);
        let r = ((radius / s as f32).round() as usize).max(1);
        let (ab, sw, sh) = coefficients(guide, w, h, p, s, r, eps);
        Self {
            ab,
            up: Upsampler::new(w, h, sw, sh, s),
            w,
        }
    }

    /// The filtered value (0..1) at each of `pixels` (row-major indices).
    pub fn at(&self, guide: &[[f32; 3]], pixels: &[u32]) -> Vec<f32> {
        pixels
            .iter()
            .map(|&i| {
                let i = i as usize;
                let (x, y, g) = (i % self.w, i / self.w, guide[i]);
                let [a0, a1, a2, b] = &self.ab;
                let v = self.up.at(a0, x, y) * g[0]
                    + self.up.at(a1, x, y) * g[1]
                    + self.up.at(a2, x, y) * g[2]
                    + self.up.at(b, x, y);
                v.clamp(0.0, 1.0)
            })
            .collect()
    }
}

/// Box-averaged coefficients `[a_r, a_g, a_b, b]` on the shrunk grid.
fn coefficients(
    guide: &[[f32; 3]],
    w: usize,
    h: usize,
    p: &[f32],
    s: usize,
    r: usize,
    eps: f32,
) -> ([Vec<f32>; 4], usize, usize) {
    let chan = |c: usize| shrink(&guide.iter().map(|g| g[c]).collect::<Vec<_>>(), w, h, s).0;
    let im = [chan(0), chan(1), chan(2)];
    let (ps, sw, sh) = shrink(p, w, h, s);
    let n = sw * sh;
    let mean = |v: &[f32]| box_mean(v, sw, sh, r);
    let prod = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| x * y).collect::<Vec<_>>();
    let mi = [mean(&im[0]), mean(&im[1]), mean(&im[2])];
    let mp = mean(&ps);
    let mip = [
        mean(&prod(&im[0], &ps)),
        mean(&prod(&im[1], &ps)),
        mean(&prod(&im[2], &ps)),
    ];
    const PAIRS: [(usize, usize); 6] = [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)];
    let mii: Vec<Vec<f32>> = PAIRS
        .iter()
        .map(|&(c, d)| mean(&prod(&im[c], &im[d])))
        .collect();
    let mut a = [vec![0.0f32; n], vec![0.0f32; n], vec![0.0f32; n]];
    let mut b = vec![0.0f32; n];
    for i in 0..n {
        let mu = [mi[0][i], mi[1][i], mi[2][i]];
        let mut cov = [0.0f32; 6];
        for (k, &(c, d)) in PAIRS.iter().enumerate() {
            cov[k] = mii[k][i] - mu[c] * mu[d] + if c == d { eps } else { 0.0 };
        }
        let cip = [
            mip[0][i] - mu[0] * mp[i],
            mip[1][i] - mu[1] * mp[i],
            mip[2][i] - mu[2] * mp[i],
        ];
        let ai = mul_sym3(&inv_sym3(cov), cip);
        for c in 0..3 {
            a[c][i] = ai[c];
        }
        b[i] = mp[i] - ai[0] * mu[0] - ai[1] * mu[1] - ai[2] * mu[2];
    }
    let [a0, a1, a2] = a;
    ([mean(&a0), mean(&a1), mean(&a2), mean(&b)], sw, sh)
}
