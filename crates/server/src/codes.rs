//! The one place where domain errors become API codes: a stable number, a Chinese `msg` and an
//! English `msg_en`. The table is documented in docs/api.md; numbers never change meaning.

use engine::EngineError;
use serde::Serialize;

/// An error as the merchant sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiError {
    pub code: u32,
    pub msg: String,
    pub msg_en: String,
}

impl ApiError {
    pub fn new(code: u32, msg: impl Into<String>, msg_en: impl Into<String>) -> Self {
        Self { code, msg: msg.into(), msg_en: msg_en.into() }
    }
}

/// Stable codes. Grouped by the first digit: 1 request, 2 image, 3 catalogue and pics,
/// 4 params and URLs, 5 orders, 6 money, 7 limits, 9 the service itself.
pub mod code {
    pub const MISSING_FIELD: u32 = 1001;
    pub const INVALID_FIELD: u32 = 1002;
    pub const KEY_INVALID: u32 = 1101;
    pub const APP_DISABLED: u32 = 1102;
    pub const BAD_BASE64: u32 = 2001;
    pub const UNSUPPORTED_FORMAT: u32 = 2002;
    pub const TOO_LARGE: u32 = 2003;
    pub const RESOLUTION: u32 = 2004;
    pub const CORRUPT_IMAGE: u32 = 2005;
    pub const EMPTY_IMAGE: u32 = 2006;
    pub const NO_FACE: u32 = 2101;
    pub const SEVERAL_FACES: u32 = 2102;
    pub const SPEC_UNMET: u32 = 2103;
    pub const UNKNOWN_COLOR: u32 = 2104;
    pub const ITEM_UNKNOWN: u32 = 3001;
    pub const PIC_NOT_FOUND: u32 = 3101;
    pub const PIC_EXPIRED: u32 = 3102;
    pub const PIC_FOREIGN: u32 = 3103;
    pub const INTERNAL: u32 = 9000;
    pub const MODEL_UNAVAILABLE: u32 = 9001;
}

impl From<&EngineError> for ApiError {
    fn from(e: &EngineError) -> Self {
        use EngineError as E;
        match e {
            E::Empty => ApiError::new(code::EMPTY_IMAGE, "图片为空", "the image is empty"),
            E::UnsupportedFormat(f) => ApiError::new(
                code::UNSUPPORTED_FORMAT,
                format!("不支持的图片格式（{f}），仅支持 JPG、PNG"),
                format!("unsupported image format ({f}): JPEG or PNG only"),
            ),
            E::TooLarge { bytes, limit } => ApiError::new(
                code::TOO_LARGE,
                format!("图片过大（{bytes} 字节），不能超过 {} MB", limit / 1024 / 1024),
                format!("image too large ({bytes} bytes): at most {} MB", limit / 1024 / 1024),
            ),
            E::Resolution { width, height, limit } => ApiError::new(
                code::RESOLUTION,
                format!("图片分辨率 {width}×{height} 过大，须小于 {limit}×{limit}"),
                format!("resolution {width}×{height} too large: must be below {limit}×{limit}"),
            ),
            E::Corrupt(d) => ApiError::new(code::CORRUPT_IMAGE, "图片已损坏，无法解码", format!("corrupt image: {d}")),
            E::NoFace => ApiError::new(code::NO_FACE, "未检测到人脸", "no face found"),
            E::SeveralFaces(n) => ApiError::new(
                code::SEVERAL_FACES,
                format!("检测到 {n} 张人脸，照片中只能有一人"),
                format!("{n} faces found: exactly one person is needed"),
            ),
            E::SpecUnmet { rule, detail } => ApiError::new(
                code::SPEC_UNMET,
                format!("照片无法满足规格要求（{rule}）：{}", unmet_zh(rule)),
                format!("the photo cannot meet the spec ({rule}): {detail}"),
            ),
            E::UnknownColor(c) => ApiError::new(
                code::UNKNOWN_COLOR,
                format!("该规格不提供背景色 {c}"),
                format!("background colour {c} is not offered by this spec"),
            ),
            E::Model(d) => ApiError::new(code::MODEL_UNAVAILABLE, "模型不可用", format!("model not available: {d}")),
            E::Internal(d) => ApiError::new(code::INTERNAL, "内部错误", format!("internal error: {d}")),
        }
    }
}

/// Chinese wording of the rule the engine could not meet.
fn unmet_zh(rule: &str) -> &'static str {
    match rule {
        "crown_gap" => "头顶被照片边缘裁切",
        "body_bottom" => "身体未延伸到照片底部（肩部不完整）",
        "body_side" => "肩部被照片侧边裁切",
        "resolution" => "人脸过小，照片清晰度不足",
        "file_size" => "无法压缩到规定的文件大小",
        "print_sheet" => "排版纸张放不下该尺寸",
        _ => "请重新拍摄",
    }
}
