//! The photo engine: bytes in, bytes out. No database, no HTTP, no money.
//!
//! Pipeline (see `make`): intake → analysis copy → face + landmarks → segmentation →
//! alpha refinement → framing → crop/resize → composite per colour → encode to a KB band →
//! transparent PNG, print sheets → checks report.

pub mod checks;
pub mod encode;
pub mod error;
pub mod frame;
pub mod geom;
pub mod intake;
pub mod make;
pub mod matte;
pub mod raster;
pub mod receipt;
pub mod sheet;
pub mod spec;
pub mod text;
pub mod vision;

pub use error::EngineError;
pub use geom::{Band, Face, Landmarks, Point, Rect};
pub use make::{Adjust, Engine, Made, MadePhoto, MakeOptions};
pub use spec::{Background, PhotoSpec};
