use thiserror::Error;

/// Everything the engine can refuse or fail with. Each variant maps to one stable API code
/// in the server's error module.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum EngineError {
    #[error("empty image")]
    Empty,
    #[error("unsupported image format: {0}")]
    UnsupportedFormat(String),
    #[error("image too large: {bytes} bytes (limit {limit})")]
    TooLarge { bytes: usize, limit: usize },
    #[error("resolution {width}x{height} not below {limit}x{limit}")]
    Resolution { width: u32, height: u32, limit: u32 },
    #[error("corrupt image: {0}")]
    Corrupt(String),
    #[error("no face found")]
    NoFace,
    #[error("{0} faces found, exactly one is needed")]
    SeveralFaces(usize),
    /// The photo cannot satisfy the spec; `rule` names the rule (e.g. `crown_gap`).
    #[error("spec cannot be met: {rule}: {detail}")]
    SpecUnmet { rule: String, detail: String },
    #[error("colour {0} is not offered by this spec")]
    UnknownColor(String),
    #[error("model not available: {0}")]
    Model(String),
    #[error("internal engine error: {0}")]
    Internal(String),
}
