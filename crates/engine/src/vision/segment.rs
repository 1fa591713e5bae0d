//! Person segmentation: MediaPipe selfie segmentation (256×256), or an operator's `matting.onnx`
//! (contract in `models/README.md`).

use std::path::Path;

use image::RgbImage;

use super::picture;
use super::runtime::Net;
use super::{MATTING_FILE, SELFIE_FILE};
use crate::EngineError;

/// Used for a matting model whose input height/width are dynamic.
const DYNAMIC_SIDE: u32 = 512;

/// Person probability (or alpha) over an image's full extent, row-major, 0..1.
#[derive(Debug, Clone, PartialEq)]
pub struct Mask {
    pub width: u32,
    pub height: u32,
    pub data: Vec<f32>,
}

impl Mask {
    /// Bilinear sample at (u, v), both 0..1 across the image's extent (clamped at the edges).
    pub fn sample(&self, u: f32, v: f32) -> f32 {
        if self.width == 0
            || self.height == 0
            || self.data.len() < (self.width * self.height) as usize
        {
            return 0.0;
        }
        let x = (u * self.width as f32 - 0.5).clamp(0.0, (self.width - 1) as f32);
        let y = (v * self.height as f32 - 0.5).clamp(0.0, (self.height - 1) as f32);
        // Clamped to ≥ 0 above, so truncation is the floor (and no libm call).
        let (x0, y0) = (x as u32, y as u32);
        let (x1, y1) = ((x0 + 1).min(self.width - 1), (y0 + 1).min(self.height - 1));
        let (ax, ay) = (x - x0 as f32, y - y0 as f32);
        let at = |px: u32, py: u32| self.data[(py * self.width + px) as usize];
        let top = at(x0, y0) * (1.0 - ax) + at(x1, y0) * ax;
        let bottom = at(x0, y1) * (1.0 - ax) + at(x1, y1) * ax;
        top * (1.0 - ay) + bottom * ay
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Layout {
    Nhwc,
    Nchw,
}

pub(crate) struct Segmenter {
    net: Net,
    layout: Layout,
    width: u32,
    height: u32,
    matting: bool,
}

impl Segmenter {
    /// `matting.onnx` when the operator put one in `dir`, else selfie segmentation.
    pub fn load(dir: &Path) -> Result<Segmenter, EngineError> {
        let matting = dir.join(MATTING_FILE);
        let (path, is_matting) = if matting.is_file() {
            (matting, true)
        } else {
            (dir.join(SELFIE_FILE), false)
        };
        let net = Net::load(&path)?;
        let (layout, height, width) = input_geometry(&net.input_shape).ok_or_else(|| {
            EngineError::Model(format!(
                "{}: input shape {:?} is neither 1x3xHxW nor 1xHxWx3",
                path.display(),
                net.input_shape
            ))
        })?;
        Ok(Segmenter {
            net,
            layout,
            width,
            height,
            matting: is_matting,
        })
    }

    pub fn is_matting(&self) -> bool {
        self.matting
    }

    /// The whole image stretched to the network's input; the mask covers the same extent.
    pub fn run(&self, img: &RgbImage) -> Result<Mask, EngineError> {
        let whole = (0.0, 0.0, f64::from(img.width()), f64::from(img.height()));
        self.run_region(img, whole)
    }

    /// `(left, top, width, height)` of `img` stretched to the network's input, read in place.
    pub fn run_region(
        &self,
        img: &RgbImage,
        region: (f64, f64, f64, f64),
    ) -> Result<Mask, EngineError> {
        let input = picture::resize(img, region, self.width, self.height)?;
        let (h, w) = (i64::from(self.height), i64::from(self.width));
        let (shape, data) = match self.layout {
            Layout::Nhwc => ([1, h, w, 3], picture::nhwc(&input, 0.0, 1.0)),
            Layout::Nchw => ([1, 3, h, w], picture::nchw(&input)),
        };
        let outputs = self.net.run(&shape, &data)?;
        let out = outputs
            .into_iter()
            .next()
            .ok_or_else(|| EngineError::Model("segmentation: no output".into()))?;
        let (height, width) = output_geometry(&out.shape).ok_or_else(|| {
            let shape = &out.shape;
            EngineError::Model(format!(
                "segmentation: output shape {shape:?} is not one H×W plane"
            ))
        })?;
        let data = out.data.into_iter().map(|v| v.clamp(0.0, 1.0)).collect();
        Ok(Mask {
            width,
            height,
            data,
        })
    }
}

/// (layout, H, W) of a 1×3×H×W or 1×H×W×3 input; dynamic sides become `DYNAMIC_SIDE`.
fn input_geometry(shape: &[i64]) -> Option<(Layout, u32, u32)> {
    let side = |d: i64| {
        if d > 0 {
            u32::try_from(d).ok()
        } else {
            Some(DYNAMIC_SIDE)
        }
    };
    match shape {
        [_, 3, h, w] => Some((Layout::Nchw, side(*h)?, side(*w)?)),
        [_, h, w, 3] => Some((Layout::Nhwc, side(*h)?, side(*w)?)),
        _ => None,
    }
}

/// (H, W) of a single-plane output: 1×1×H×W, 1×H×W×1, 1×H×W or H×W.
fn output_geometry(shape: &[i64]) -> Option<(u32, u32)> {
    let (h, w) = match shape {
        [1, 1, h, w] | [1, h, w, 1] | [1, h, w] | [h, w] => (*h, *w),
        _ => return None,
    };
    Some((u32::try_from(h).ok()?, u32::try_from(w).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_interpolates_between_pixel_centres_and_clamps() {
        let m = Mask {
            width: 2,
            height: 1,
            data: vec![0.0, 1.0],
        };
        assert_eq!(m.sample(0.25, 0.5), 0.0);
        assert_eq!(m.sample(0.75, 0.5), 1.0);
        assert!((m.sample(0.5, 0.5) - 0.5).abs() < 1e-6);
        assert_eq!(m.sample(-3.0, 9.0), 0.0);
    }

    #[test]
    fn both_tensor_layouts_are_recognised() {
        assert_eq!(
            input_geometry(&[1, 256, 256, 3]),
            Some((Layout::Nhwc, 256, 256))
        );
        assert_eq!(
            input_geometry(&[1, 3, -1, -1]),
            Some((Layout::Nchw, 512, 512))
        );
        assert_eq!(input_geometry(&[1, 4, 8, 8]), None);
        assert_eq!(output_geometry(&[1, 1, 320, 240]), Some((320, 240)));
        assert_eq!(output_geometry(&[1, 256, 256, 1]), Some((256, 256)));
    }
}
