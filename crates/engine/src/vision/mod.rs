//! Neural networks on the CPU: BlazeFace face detection, the MediaPipe face mesh and person
//! segmentation (MediaPipe selfie segmentation, or an operator-supplied `matting.onnx`).
//!
//! Models are ONNX files in one directory (see `models/README.md`, filled by
//! `scripts/fetch-models`), run by ONNX Runtime loaded from `libonnxruntime.so` in that directory.
//! `Models` is `Send + Sync`; each network keeps a small pool of sessions, so parallel calls do not
//! queue behind one lock.

mod detect;
mod mesh;
mod person;
mod picture;
mod runtime;
mod segment;

use std::path::{Path, PathBuf};

use image::RgbImage;

use crate::{EngineError, Face, Landmarks};
use picture::Region;

pub use mesh::MeshResult;
pub use person::{head_square, Pass, PersonMask};
pub use segment::Mask;

/// File names inside the models directory.
pub const SHORT_RANGE_FILE: &str = "face_detection_short_range.onnx";
pub const FULL_RANGE_FILE: &str = "face_detection_full_range.onnx";
pub const FACE_MESH_FILE: &str = "face_landmark.onnx";
pub const SELFIE_FILE: &str = "selfie_segmentation.onnx";
/// Optional operator-supplied matting network, used by `segment` instead of selfie segmentation.
pub const MATTING_FILE: &str = "matting.onnx";
pub const ORT_LIB_FILE: &str = "libonnxruntime.so";

/// Images with a long side below this get no tiled second look (it would not enlarge faces much).
const TILE_MIN_SIDE: u32 = 768;

/// All networks the engine uses, loaded once and shared.
pub struct Models {
    short_range: detect::Detector,
    full_range: detect::Detector,
    mesh: mesh::FaceMesh,
    segmenter: segment::Segmenter,
    dir: PathBuf,
}

impl Models {
    /// Loads every model from `dir`. ONNX Runtime comes from `dir/libonnxruntime.so`, else from
    /// `$ORT_DYLIB_PATH`; it is initialised once per process.
    pub fn load(dir: &Path) -> Result<Models, EngineError> {
        runtime::init(dir)?;
        let models = Models {
            short_range: detect::Detector::short_range(&dir.join(SHORT_RANGE_FILE))?,
            full_range: detect::Detector::full_range(&dir.join(FULL_RANGE_FILE))?,
            mesh: mesh::FaceMesh::load(&dir.join(FACE_MESH_FILE))?,
            segmenter: segment::Segmenter::load(dir)?,
            dir: dir.to_path_buf(),
        };
        tracing::info!(dir = %dir.display(), matting = models.segmenter.is_matting(), "models loaded");
        Ok(models)
    }

    /// `$PHOTORECEIPT_MODELS_DIR`, else `./models` if it exists, else the workspace's `models/`
    /// (found at compile time, for tests and `cargo run`).
    pub fn default_dir() -> PathBuf {
        if let Some(dir) = std::env::var_os("PHOTORECEIPT_MODELS_DIR").filter(|d| !d.is_empty()) {
            return PathBuf::from(dir);
        }
        let local = PathBuf::from("models");
        if local.join(FACE_MESH_FILE).is_file() {
            return local;
        }
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models")
    }

    /// The directory the models were loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// True when `segment` runs the operator's `matting.onnx`.
    pub fn has_matting(&self) -> bool {
        self.segmenter.is_matting()
    }

    /// Faces in `img`, best first, in `img` pixel coordinates. Runs BlazeFace short range (close
    /// portraits) and full range (smaller faces, full-body shots) on the whole image and merges
    /// them with MediaPipe's weighted non-maximum suppression. When that finds nothing in a large
    /// image, full range looks again on overlapping tiles, for a small face in a 12 MP frame.
    pub fn detect_faces(&self, img: &RgbImage) -> Result<Vec<Face>, EngineError> {
        if img.width() == 0 || img.height() == 0 {
            return Err(EngineError::Empty);
        }
        let whole = Region::whole(img);
        let mut found = self.short_range.detect(img, whole)?;
        found.extend(self.full_range.detect(img, whole)?);
        let faces = detect::merge(found);
        if !faces.is_empty() || img.width().max(img.height()) < TILE_MIN_SIDE {
            return Ok(faces);
        }
        let mut found = Vec::new();
        for tile in detect::tiles(img.width(), img.height()) {
            let in_tile = self.full_range.detect(img, tile)?;
            found.extend(
                in_tile
                    .into_iter()
                    .filter(|f| detect::whole_in_tile(f, &tile, img.width(), img.height())),
            );
        }
        Ok(detect::merge(found))
    }

    /// The 468-point face mesh of `face` in `img` coordinates.
    pub fn face_mesh(&self, img: &RgbImage, face: &Face) -> Result<Landmarks, EngineError> {
        Ok(self.face_mesh_scored(img, face)?.landmarks)
    }

    /// The face mesh plus the network's face-presence probability (0..1).
    pub fn face_mesh_scored(&self, img: &RgbImage, face: &Face) -> Result<MeshResult, EngineError> {
        if img.width() == 0 || img.height() == 0 {
            return Err(EngineError::Empty);
        }
        self.mesh.run(img, face)
    }

    /// Person probability over the full extent of `img`, at the network's resolution.
    pub fn segment(&self, img: &RgbImage) -> Result<Mask, EngineError> {
        if img.width() == 0 || img.height() == 0 {
            return Err(EngineError::Empty);
        }
        self.segmenter.run(img)
    }
}
