//! The photo engine: bytes in, bytes out. No database, no HTTP, no money.
//!
//! Pipeline (see `make`): intake → analysis copy → face + landmarks → segmentation →
//! alpha refinement → framing → crop/resize → composite per colour → encode to a KB band →
//! transparent PNG, print sheets → checks report.

pub mod error;
pub mod checks;
pub mod frame;
pub mod make;
pub mod matte;
pub mod geom;
pub mod spec;
pub mod vision;
pub mod intake;
pub mod encode;
pub mod sheet;
pub mod raster;

pub use error::EngineError;
pub use geom::{Band, Face, Landmarks, Point, Rect};
pub use spec::{Background, PhotoSpec};
pub use make::{Adjust, Engine, Made, MadePhoto, MakeOptions};
