//! BlazeFace face detection as MediaPipe runs it: letterboxed input in −1..1, SSD anchors, box and
//! keypoint decoding, sigmoid scores, weighted non-maximum suppression.

use std::path::Path;

use image::RgbImage;

use super::picture::{self, Letterbox, Region};
use super::runtime::{Net, Output};
use crate::{EngineError, Face, Point, Rect};

/// MediaPipe's `min_suppression_threshold` for face detection.
const NMS_IOU: f32 = 0.3;
/// Also one face: a box mostly inside another (the two models frame a face differently).
const NMS_CONTAINED: f32 = 0.6;
/// Raw scores are clipped to ±this before the sigmoid (`score_clipping_thresh`).
const SCORE_CLIP: f32 = 100.0;

pub(crate) struct Detector {
    net: Net,
    size: u32,
    anchors: Vec<Point>,
    min_score: f32,
}

impl Detector {
    /// 128×128 model for faces within ~2 m (MediaPipe `face_detection_short_range`).
    pub fn short_range(path: &Path) -> Result<Detector, EngineError> {
        Self::load(path, 128, &[8, 16, 16, 16], 2, 0.5)
    }

    /// 192×192 model for faces within ~5 m (MediaPipe `face_detection_full_range`).
    pub fn full_range(path: &Path) -> Result<Detector, EngineError> {
        Self::load(path, 192, &[4], 1, 0.6)
    }

    fn load(
        path: &Path,
        size: u32,
        strides: &[u32],
        per_layer: usize,
        min_score: f32,
    ) -> Result<Detector, EngineError> {
        let net = Net::load(path)?;
        let expected = [1, i64::from(size), i64::from(size), 3];
        if net.input_shape != expected {
            return Err(EngineError::Model(format!(
                "{}: input shape {:?}, expected {expected:?}",
                path.display(),
                net.input_shape
            )));
        }
        let anchors = anchors(size, strides, per_layer);
        Ok(Detector {
            net,
            size,
            anchors,
            min_score,
        })
    }

    /// Faces above the score threshold in `region` of `img`, in `img` pixels, not yet suppressed.
    pub fn detect(&self, img: &RgbImage, region: Region) -> Result<Vec<Face>, EngineError> {
        let (square, lb) = picture::letterbox(img, region, self.size)?;
        let s = i64::from(self.size);
        let outputs = self
            .net
            .run(&[1, s, s, 3], &picture::nhwc(&square, -1.0, 1.0))?;
        let n = self.anchors.len();
        let (boxes, scores) = split_outputs(&outputs, n)?;
        let mut faces = Vec::new();
        for (i, anchor) in self.anchors.iter().enumerate() {
            let score = sigmoid(scores[i].clamp(-SCORE_CLIP, SCORE_CLIP));
            if score >= self.min_score {
                faces.push(self.decode(&boxes[i * 16..(i + 1) * 16], *anchor, score, &lb));
            }
        }
        Ok(faces)
    }

    /// One anchor's 16 regressors (cx, cy, w, h, then 6 keypoints) → a face in image pixels.
    fn decode(&self, r: &[f32], a: Point, score: f32, lb: &Letterbox) -> Face {
        let s = self.size as f32;
        let (cx, cy) = (r[0] / s + a.x, r[1] / s + a.y);
        let (w, h) = (r[2] / s, r[3] / s);
        let tl = lb.image_point(cx - w / 2.0, cy - h / 2.0);
        let br = lb.image_point(cx + w / 2.0, cy + h / 2.0);
        let keypoints =
            std::array::from_fn(|k| lb.image_point(r[4 + 2 * k] / s + a.x, r[5 + 2 * k] / s + a.y));
        Face {
            bbox: Rect {
                x: tl.x,
                y: tl.y,
                w: br.x - tl.x,
                h: br.y - tl.y,
            },
            score,
            keypoints,
        }
    }
}

/// Finds the (boxes [n×16], scores [n]) outputs by size, whatever their order.
fn split_outputs(outputs: &[Output], n: usize) -> Result<(&[f32], &[f32]), EngineError> {
    let find = |len: usize| {
        outputs
            .iter()
            .find(|o| o.data.len() == len)
            .map(|o| o.data.as_slice())
            .ok_or_else(|| EngineError::Model(format!("face detector: no output of {len} values")))
    };
    Ok((find(n * 16)?, find(n)?))
}

/// SSD anchor centres (MediaPipe `SsdAnchorsCalculator` with `fixed_anchor_size`): layers with the
/// same stride share a grid, each contributing `per_layer` anchors per cell.
fn anchors(size: u32, strides: &[u32], per_layer: usize) -> Vec<Point> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < strides.len() {
        let stride = strides[i];
        let same = strides[i..].iter().take_while(|&&s| s == stride).count();
        let cells = size.div_ceil(stride);
        for y in 0..cells {
            for x in 0..cells {
                let c = Point::new(
                    (x as f32 + 0.5) / cells as f32,
                    (y as f32 + 0.5) / cells as f32,
                );
                out.extend(std::iter::repeat_n(c, same * per_layer));
            }
        }
        i += same;
    }
    out
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// MediaPipe's weighted non-maximum suppression: each cluster of overlapping detections becomes
/// one, its box and keypoints averaged by score, its score the best one's. Best first.
pub(crate) fn merge(mut faces: Vec<Face>) -> Vec<Face> {
    faces.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut out = Vec::new();
    while let Some(best) = faces.first().cloned() {
        let (cluster, rest): (Vec<Face>, Vec<Face>) = faces
            .into_iter()
            .partition(|f| same_face(&best.bbox, &f.bbox));
        out.push(weighted(&best, &cluster));
        faces = rest;
    }
    out
}

fn weighted(best: &Face, cluster: &[Face]) -> Face {
    let total: f32 = cluster.iter().map(|f| f.score).sum();
    if cluster.is_empty() || total <= 0.0 {
        return best.clone();
    }
    let avg =
        |get: &dyn Fn(&Face) -> f32| cluster.iter().map(|f| get(f) * f.score).sum::<f32>() / total;
    let (x0, y0) = (avg(&|f| f.bbox.x), avg(&|f| f.bbox.y));
    let (x1, y1) = (avg(&|f| f.bbox.right()), avg(&|f| f.bbox.bottom()));
    let keypoints =
        std::array::from_fn(|k| Point::new(avg(&|f| f.keypoints[k].x), avg(&|f| f.keypoints[k].y)));
    Face {
        bbox: Rect {
            x: x0,
            y: y0,
            w: x1 - x0,
            h: y1 - y0,
        },
        score: best.score,
        keypoints,
    }
}

fn same_face(a: &Rect, b: &Rect) -> bool {
    let w = (a.right().min(b.right()) - a.x.max(b.x)).max(0.0);
    let h = (a.bottom().min(b.bottom()) - a.y.max(b.y)).max(0.0);
    let inter = w * h;
    let (area_a, area_b) = (a.w * a.h, b.w * b.h);
    let union = area_a + area_b - inter;
    let smaller = area_a.min(area_b);
    (union > 0.0 && inter / union > NMS_IOU) || (smaller > 0.0 && inter / smaller > NMS_CONTAINED)
}

/// Overlapping square tiles half the image's long side wide, for a second look at small faces:
/// any face under a quarter of the long side lies wholly inside one of them.
pub(crate) fn tiles(width: u32, height: u32) -> Vec<Region> {
    let side = width.max(height).div_ceil(2).max(1);
    let starts = |len: u32| -> Vec<u32> {
        if len <= side {
            return vec![0];
        }
        let step = (side / 2).max(1);
        let mut v: Vec<u32> = (0..)
            .map(|k| k * step)
            .take_while(|&s| s + side < len)
            .collect();
        v.push(len - side);
        v
    };
    let mut out = Vec::new();
    for y in starts(height) {
        for x in starts(width) {
            out.push(Region {
                x,
                y,
                w: side.min(width),
                h: side.min(height),
            });
        }
    }
    out
}

/// False for a face touching a tile edge inside the image: it may be cut, and another tile or the
/// whole-image pass sees it whole.
pub(crate) fn whole_in_tile(face: &Face, tile: &Region, width: u32, height: u32) -> bool {
    let margin = 0.02 * tile.w.max(tile.h) as f32;
    let b = &face.bbox;
    let (l, t) = (tile.x as f32, tile.y as f32);
    let (r, bt) = ((tile.x + tile.w) as f32, (tile.y + tile.h) as f32);
    (tile.x == 0 || b.x > l + margin)
        && (tile.y == 0 || b.y > t + margin)
        && (tile.x + tile.w >= width || b.right() < r - margin)
        && (tile.y + tile.h >= height || b.bottom() < bt - margin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchor_counts_match_the_models() {
        assert_eq!(anchors(128, &[8, 16, 16, 16], 2).len(), 896);
        assert_eq!(anchors(192, &[4], 1).len(), 2304);
    }

    fn face(x: f32, score: f32) -> Face {
        Face {
            bbox: Rect {
                x,
                y: 0.0,
                w: 10.0,
                h: 10.0,
            },
            score,
            keypoints: [Point::new(x, 0.0); 6],
        }
    }

    #[test]
    fn overlapping_detections_merge_weighted_and_separate_ones_stay() {
        let merged = merge(vec![face(0.0, 0.9), face(2.0, 0.6), face(50.0, 0.7)]);
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].score, 0.9);
        let expected_x = (0.0 * 0.9 + 2.0 * 0.6) / 1.5;
        assert!((merged[0].bbox.x - expected_x).abs() < 1e-5);
        assert_eq!(merged[1].bbox.x, 50.0);
    }

    #[test]
    fn a_box_inside_a_bigger_one_is_the_same_face() {
        let big = Face {
            bbox: Rect {
                x: 0.0,
                y: 0.0,
                w: 20.0,
                h: 20.0,
            },
            ..face(0.0, 0.8)
        };
        let inner = Face {
            bbox: Rect {
                x: 4.0,
                y: 4.0,
                w: 9.0,
                h: 9.0,
            },
            ..face(0.0, 0.9)
        };
        assert_eq!(merge(vec![big, inner]).len(), 1);
    }

    #[test]
    fn tiles_cover_the_image_with_overlap() {
        let t = tiles(4000, 3000);
        assert!(t
            .iter()
            .all(|r| r.w == 2000 && r.h == 2000 && r.x + r.w <= 4000 && r.y + r.h <= 3000));
        assert_eq!(t.len(), 6);
        let narrow = tiles(970, 2204);
        assert_eq!(narrow.len(), 3);
        assert!(narrow.iter().all(|r| r.x == 0 && r.w == 970));
        assert_eq!(narrow.last().map(|r| r.y + r.h), Some(2204));
    }

    #[test]
    fn faces_cut_by_an_inner_tile_edge_are_dropped() {
        let tile = Region {
            x: 1000,
            y: 0,
            w: 2000,
            h: 2000,
        };
        let inside = Face {
            bbox: Rect {
                x: 1500.0,
                y: 10.0,
                w: 100.0,
                h: 100.0,
            },
            ..face(0.0, 0.9)
        };
        let cut = Face {
            bbox: Rect {
                x: 1001.0,
                y: 10.0,
                w: 100.0,
                h: 100.0,
            },
            ..face(0.0, 0.9)
        };
        assert!(whole_in_tile(&inside, &tile, 4000, 3000));
        assert!(!whole_in_tile(&cut, &tile, 4000, 3000));
    }
}
