//! MediaPipe face mesh (`face_landmark`, 468 points) on a rotated crop around a detection.

use std::path::Path;

use image::RgbImage;

use super::picture::{self, Roi};
use super::runtime::Net;
use crate::{EngineError, Face, Landmarks, Point};

const INPUT: u32 = 192;
const POINTS: usize = 468;
/// MediaPipe's `RectTransformationCalculator` scale for the face-landmark ROI.
const ROI_SCALE: f32 = 1.5;

/// Landmarks plus the network's own estimate that a face is in the crop.
#[derive(Debug, Clone, PartialEq)]
pub struct MeshResult {
    pub landmarks: Landmarks,
    /// Face-presence probability, 0..1 (MediaPipe drops meshes below 0.5).
    pub presence: f32,
}

pub(crate) struct FaceMesh {
    net: Net,
}

impl FaceMesh {
    pub fn load(path: &Path) -> Result<FaceMesh, EngineError> {
        let net = Net::load(path)?;
        let expected = [1, i64::from(INPUT), i64::from(INPUT), 3];
        if net.input_shape != expected {
            return Err(EngineError::Model(format!(
                "{}: input shape {:?}, expected {expected:?}",
                path.display(),
                net.input_shape
            )));
        }
        Ok(FaceMesh { net })
    }

    pub fn run(&self, img: &RgbImage, face: &Face) -> Result<MeshResult, EngineError> {
        let roi = roi_of(face);
        let crop = picture::warp(img, &roi, INPUT)?;
        let s = i64::from(INPUT);
        let outputs = self
            .net
            .run(&[1, s, s, 3], &picture::nhwc(&crop, 0.0, 1.0))?;
        let coords = outputs
            .iter()
            .find(|o| o.data.len() == POINTS * 3)
            .map(|o| &o.data)
            .ok_or_else(|| EngineError::Model("face mesh: no 1404-value output".into()))?;
        let flag = outputs
            .iter()
            .find(|o| o.data.len() == 1)
            .map_or(0.0, |o| o.data[0]);
        let n = INPUT as f32;
        let points = coords
            .chunks_exact(3)
            .map(|p| roi.image_point(p[0] / n, p[1] / n))
            .collect();
        Ok(MeshResult {
            landmarks: Landmarks { points },
            presence: 1.0 / (1.0 + (-flag).exp()),
        })
    }
}

/// The detection's box made square (long side), scaled 1.5×, rotated so the eyes are level
/// (MediaPipe `DetectionsToRectsCalculator` + `RectTransformationCalculator`).
fn roi_of(face: &Face) -> Roi {
    let (right_eye, left_eye): (Point, Point) = (face.keypoints[0], face.keypoints[1]);
    let angle = (left_eye.y - right_eye.y).atan2(left_eye.x - right_eye.x);
    Roi {
        center: face.bbox.center(),
        size: face.bbox.w.max(face.bbox.h) * ROI_SCALE,
        angle,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Rect;

    #[test]
    fn roi_is_square_scaled_and_follows_the_eye_line() {
        let mut kp = [Point::new(0.0, 0.0); 6];
        kp[0] = Point::new(40.0, 50.0);
        kp[1] = Point::new(60.0, 70.0); // subject's left eye lower: clockwise roll
        let face = Face {
            bbox: Rect {
                x: 20.0,
                y: 30.0,
                w: 60.0,
                h: 40.0,
            },
            score: 0.9,
            keypoints: kp,
        };
        let roi = roi_of(&face);
        assert_eq!(roi.size, 90.0);
        assert!((roi.angle - std::f32::consts::FRAC_PI_4).abs() < 1e-6);
        // The ROI's centre maps to the box centre, and its x axis runs along the eye line.
        let c = roi.image_point(0.5, 0.5);
        assert!((c.x - 50.0).abs() < 1e-4 && (c.y - 50.0).abs() < 1e-4);
        let right = roi.image_point(1.0, 0.5);
        assert!(right.x > c.x && right.y > c.y);
    }
}
