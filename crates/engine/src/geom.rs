use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Point {
    pub x: f32,
    pub y: f32,
}

impl Point {
    pub fn new(x: f32, y: f32) -> Self {
        Self { x, y }
    }
    pub fn mid(self, o: Point) -> Point {
        Point::new((self.x + o.x) / 2.0, (self.y + o.y) / 2.0)
    }
    pub fn dist(self, o: Point) -> f32 {
        ((self.x - o.x).powi(2) + (self.y - o.y).powi(2)).sqrt()
    }
}

/// Axis-aligned rectangle in pixel coordinates (x, y = top-left).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Rect {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

impl Rect {
    pub fn center(&self) -> Point {
        Point::new(self.x + self.w / 2.0, self.y + self.h / 2.0)
    }
    pub fn bottom(&self) -> f32 {
        self.y + self.h
    }
    pub fn right(&self) -> f32 {
        self.x + self.w
    }
}

/// An inclusive band `[min, max]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Band {
    pub min: f32,
    pub max: f32,
}

impl Band {
    pub fn new(min: f32, max: f32) -> Self {
        Self { min, max }
    }
    pub fn mid(&self) -> f32 {
        (self.min + self.max) / 2.0
    }
    pub fn contains(&self, v: f32) -> bool {
        v >= self.min && v <= self.max
    }
}

/// One detected face, in the coordinates of the image it was detected on.
/// `keypoints` are BlazeFace's six: right eye, left eye, nose tip, mouth, right ear, left ear
/// ("right" = the subject's right, i.e. the image's left).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Face {
    pub bbox: Rect,
    pub score: f32,
    pub keypoints: [Point; 6],
}

/// The 468-point MediaPipe face mesh, in image coordinates (z dropped).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Landmarks {
    pub points: Vec<Point>,
}

impl Landmarks {
    // Indices into MediaPipe's canonical face mesh.
    pub const CHIN: usize = 152;
    pub const FOREHEAD_TOP: usize = 10;
    pub const RIGHT_EYE_OUTER: usize = 33;
    pub const RIGHT_EYE_INNER: usize = 133;
    pub const LEFT_EYE_INNER: usize = 362;
    pub const LEFT_EYE_OUTER: usize = 263;
    pub const RIGHT_EYE_TOP: usize = 159;
    pub const RIGHT_EYE_BOTTOM: usize = 145;
    pub const LEFT_EYE_TOP: usize = 386;
    pub const LEFT_EYE_BOTTOM: usize = 374;
    pub const UPPER_LIP_INNER: usize = 13;
    pub const LOWER_LIP_INNER: usize = 14;
    pub const MOUTH_RIGHT: usize = 61;
    pub const MOUTH_LEFT: usize = 291;
    pub const NOSE_TIP: usize = 1;
    pub const CHEEK_RIGHT: usize = 234;
    pub const CHEEK_LEFT: usize = 454;

    pub fn at(&self, i: usize) -> Point {
        self.points[i]
    }
    pub fn right_eye(&self) -> Point {
        self.at(Self::RIGHT_EYE_OUTER)
            .mid(self.at(Self::RIGHT_EYE_INNER))
    }
    pub fn left_eye(&self) -> Point {
        self.at(Self::LEFT_EYE_OUTER)
            .mid(self.at(Self::LEFT_EYE_INNER))
    }
    pub fn eye_center(&self) -> Point {
        self.right_eye().mid(self.left_eye())
    }
    pub fn chin(&self) -> Point {
        self.at(Self::CHIN)
    }
    /// Roll in degrees: positive when the subject's left eye (image right) is lower.
    pub fn roll_deg(&self) -> f32 {
        let (r, l) = (self.right_eye(), self.left_eye());
        (l.y - r.y).atan2(l.x - r.x).to_degrees()
    }
}
