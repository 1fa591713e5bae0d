//! The one place where domain errors become API codes: a stable number, a Chinese `msg` and an
//! English `msg_en`. The table is documented in docs/api.md; numbers never change meaning.

use catalogue::ParamError;
use engine::EngineError;
use platform::PlatformError;
use serde::Serialize;

/// An error as the merchant sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiError {
    pub code: u32,
    pub msg: String,
    pub msg_en: String,
    /// The request field at fault, when there is one (`data.field` in the answer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Seconds to wait before retrying (`Retry-After`), for rate limits.
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(code: u32, msg: impl Into<String>, msg_en: impl Into<String>) -> Self {
        Self {
            code,
            msg: msg.into(),
            msg_en: msg_en.into(),
            field: None,
            retry_after: None,
        }
    }

    /// Names the request field at fault.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// A required field is absent or empty.
    pub fn missing(field: &str) -> Self {
        Self::new(
            code::MISSING_FIELD,
            format!("缺少必填参数 {field}"),
            format!("missing required field `{field}`"),
        )
        .with_field(field)
    }

    /// A field is present but not acceptable.
    pub fn invalid(field: &str, why_zh: &str, why_en: &str) -> Self {
        Self::new(
            code::INVALID_FIELD,
            format!("参数 {field} 无效：{why_zh}"),
            format!("invalid field `{field}`: {why_en}"),
        )
        .with_field(field)
    }

    pub fn internal() -> Self {
        Self::new(
            code::INTERNAL,
            "服务内部错误，请稍后重试",
            "internal error, please retry later",
        )
    }

    pub fn busy() -> Self {
        Self::new(
            code::BUSY,
            "服务繁忙，请稍后重试",
            "the service is busy making photos; retry in a few seconds",
        )
    }

    /// The blob store failed; nothing was kept, the call can be repeated.
    pub fn store_unavailable() -> Self {
        Self::new(
            code::STORE_UNAVAILABLE,
            "文件存储暂时不可用，本次请求未保存任何内容，请稍后重试",
            "the file store is unavailable; nothing was kept, please retry later",
        )
    }

    pub fn rate_limited(retry_after_s: u64) -> Self {
        let mut e = Self::new(
            code::RATE_LIMITED,
            format!("请求过于频繁，请 {retry_after_s} 秒后重试"),
            format!("too many requests for this key; retry after {retry_after_s} s"),
        );
        e.retry_after = Some(retry_after_s);
        e
    }

    pub fn body_too_large(limit: usize) -> Self {
        Self::new(
            code::BODY_TOO_LARGE,
            format!("请求体过大，不能超过 {} MB", limit / 1024 / 1024),
            format!("request body too large: at most {limit} bytes"),
        )
    }

    pub fn body_timeout(secs: u64) -> Self {
        Self::new(
            code::BODY_TIMEOUT,
            format!("请求体未在 {secs} 秒内传完"),
            format!("the request body did not arrive within {secs} s"),
        )
    }

    pub fn storage_full() -> Self {
        Self::new(
            code::STORE_UNAVAILABLE,
            "存储空间不足，请稍后重试",
            "the service is out of storage space; retry later",
        )
    }

    /// The HTTP status of the answer: 200 for every API error (as the seed), except the
    /// transport problems: 408 body too slow, 413 body too large, 429 rate limited, 500
    /// internal, 503 storage full or unavailable, database unavailable, `/readyz` not ready.
    pub fn http_status(&self) -> u16 {
        match self.code {
            code::BODY_TIMEOUT => 408,
            code::BODY_TOO_LARGE => 413,
            code::RATE_LIMITED => 429,
            code::INTERNAL => 500,
            code::DB_UNAVAILABLE => 503,
            code::NOT_FOUND => 404,
            code::STORE_UNAVAILABLE | code::NOT_READY => 503,
            _ => 200,
        }
    }
}

/// Stable codes. Grouped by the first digit: 1 request, 2 image, 3 catalogue and pics,
/// 4 params and URLs, 5 orders, 6 money, 7 limits, 9 the service itself.
/// The receipt `param` codes 4301–4399 are the catalogue's ([`ParamError::code`]).
pub mod code {
    pub const OK: u32 = 0;
    pub const MISSING_FIELD: u32 = 1001;
    pub const INVALID_FIELD: u32 = 1002;
    pub const BAD_BODY: u32 = 1003;
    pub const NOT_FOUND: u32 = 1004;
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
    pub const ITEM_NO_RECEIPT: u32 = 3002;
    pub const PIC_NOT_FOUND: u32 = 3101;
    pub const PIC_EXPIRED: u32 = 3102;
    pub const PIC_FOREIGN: u32 = 3103;
    pub const PIC_USED: u32 = 3104;
    pub const NOTICE_URL_INVALID: u32 = 4001;
    pub const PRINT_UNAVAILABLE: u32 = 4002;
    pub const PRINT_PARAM_INVALID: u32 = 4003;
    pub const NOTICE_URL_REFUSED: u32 = 4004;
    pub const ORDER_NOT_FOUND: u32 = 5001;
    pub const WRONG_STATE: u32 = 5002;
    pub const INSUFFICIENT_BALANCE: u32 = 6001;
    pub const RATE_LIMITED: u32 = 7001;
    pub const BUSY: u32 = 7002;
    pub const BODY_TOO_LARGE: u32 = 7003;
    pub const BODY_TIMEOUT: u32 = 7004;
    pub const INTERNAL: u32 = 9000;
    pub const MODEL_UNAVAILABLE: u32 = 9001;
    /// Storage cannot take the write: the disk is full, or the blob store (local dir or S3) does
    /// not answer. Nothing was kept; the call can be repeated.
    pub const STORE_UNAVAILABLE: u32 = 9002;
    /// `/readyz`: a part the node needs (database, store) does not answer.
    pub const NOT_READY: u32 = 9003;
    /// The database cannot be reached (e.g. PostgreSQL restarting): retry later. HTTP 503.
    pub const DB_UNAVAILABLE: u32 = 9004;
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
                format!(
                    "图片过大（{bytes} 字节），不能超过 {} MB",
                    limit / 1024 / 1024
                ),
                format!(
                    "image too large ({bytes} bytes): at most {} MB",
                    limit / 1024 / 1024
                ),
            ),
            E::Resolution {
                width,
                height,
                limit,
            } => ApiError::new(
                code::RESOLUTION,
                format!("图片分辨率 {width}×{height} 过大，须小于 {limit}×{limit}"),
                format!("resolution {width}×{height} too large: must be below {limit}×{limit}"),
            ),
            E::Corrupt(d) => ApiError::new(
                code::CORRUPT_IMAGE,
                "图片已损坏，无法解码",
                format!("corrupt image: {d}"),
            ),
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
            E::Model(d) => ApiError::new(
                code::MODEL_UNAVAILABLE,
                "模型不可用",
                format!("model not available: {d}"),
            ),
            E::Internal(d) => {
                ApiError::new(code::INTERNAL, "内部错误", format!("internal error: {d}"))
            }
        }
    }
}

impl From<&ParamError> for ApiError {
    fn from(e: &ParamError) -> Self {
        let api = ApiError::new(e.code(), e.msg(), e.msg_en());
        match e.field() {
            Some(f) => api.with_field(format!("param.{f}")),
            None => api.with_field("param"),
        }
    }
}

impl From<&PlatformError> for ApiError {
    fn from(e: &PlatformError) -> Self {
        use PlatformError as P;
        match e {
            P::KeyInvalid => ApiError::new(code::KEY_INVALID, "key 无效", "the key is not valid")
                .with_field("key"),
            P::AppDisabled(_) => {
                ApiError::new(code::APP_DISABLED, "应用已停用", "this app is disabled")
                    .with_field("key")
            }
            P::PicNotFound(id) => ApiError::new(
                code::PIC_NOT_FOUND,
                format!("pic_id {} 不存在", shown(id)),
                format!("pic_id {} not found", shown(id)),
            )
            .with_field("pic_id"),
            P::PicExpired(id) => ApiError::new(
                code::PIC_EXPIRED,
                format!("pic_id {} 已过期，请重新制作", shown(id)),
                format!("pic_id {} has expired; make the photo again", shown(id)),
            )
            .with_field("pic_id"),
            P::PicForeign(id) => ApiError::new(
                code::PIC_FOREIGN,
                format!("pic_id {} 不属于当前应用", shown(id)),
                format!("pic_id {} belongs to another app", shown(id)),
            )
            .with_field("pic_id"),
            P::PicUsed { pic_id, order_no } => ApiError::new(
                code::PIC_USED,
                format!("pic_id {pic_id} 已被订单 {order_no} 使用"),
                format!("pic_id {pic_id} is already used by order {order_no}"),
            )
            .with_field("pic_id"),
            P::OrderNotFound(no) => ApiError::new(
                code::ORDER_NOT_FOUND,
                format!("订单 {} 不存在", shown(no)),
                format!("order {} not found", shown(no)),
            )
            .with_field("order_no"),
            P::WrongState {
                order_no,
                status,
                action,
            } => ApiError::new(
                code::WRONG_STATE,
                format!(
                    "订单 {order_no} 当前状态为 {}（{}），不能{}",
                    status.code(),
                    status_zh(status.code()),
                    action_zh(action.as_str())
                ),
                format!("order {order_no} is {status}; cannot {action} it"),
            )
            .with_field("order_no"),
            P::InsufficientBalance {
                available_fen,
                price_fen,
            } => ApiError::new(
                code::INSUFFICIENT_BALANCE,
                format!(
                    "余额不足：可用 {}，需要 {} 元",
                    yuan(*available_fen),
                    yuan(*price_fen)
                ),
                format!(
                    "insufficient balance: {} yuan available, {} yuan needed",
                    yuan(*available_fen),
                    yuan(*price_fen)
                ),
            ),
            P::InvalidNoticeUrl(_) => ApiError::new(
                code::NOTICE_URL_INVALID,
                "notice_url 必须是 http 或 https 地址",
                "notice_url must be an absolute http or https URL",
            )
            .with_field("notice_url"),
            P::NoticeUrlRefused(_) => ApiError::new(
                code::NOTICE_URL_REFUSED,
                "notice_url 指向内网地址，不允许回调",
                "notice_url points at an internal address; callbacks cannot go there",
            )
            .with_field("notice_url"),
            P::ItemUnknown(id) => ApiError::new(
                code::ITEM_NO_RECEIPT,
                format!("规格 {id} 不支持办理回执"),
                format!("item {id} takes no receipt orders"),
            )
            .with_field("item_id"),
            P::PrintUnavailable(id) => ApiError::new(
                code::PRINT_UNAVAILABLE,
                format!("规格 {id} 不支持打印邮寄"),
                format!("print-and-mail is not offered for item {id}"),
            )
            .with_field("is_print"),
            P::Param(p) => ApiError::from(p),
            P::BadField { field, reason } => ApiError::new(
                if field.starts_with("print_param") {
                    code::PRINT_PARAM_INVALID
                } else {
                    code::INVALID_FIELD
                },
                format!("参数 {field} 无效：{reason}"),
                format!("bad {field}: {reason}"),
            )
            .with_field(field.clone()),
            P::Invalid(why) => ApiError::new(
                code::INVALID_FIELD,
                format!("参数无效：{why}"),
                format!("invalid input: {why}"),
            ),
            P::Db(_) if e.is_db_unavailable() => ApiError::new(
                code::DB_UNAVAILABLE,
                "数据库暂时不可用，请稍后重试",
                "the database is unavailable right now, please retry later",
            ),
            P::Db(_) | P::Store(_) | P::Io(_) if is_storage_full(e) => ApiError::storage_full(),
            P::Store(_) => ApiError::store_unavailable(),
            P::AppNotFound(_)
            | P::BlobNotFound(_)
            | P::Conflict(_)
            | P::Db(_)
            | P::Migrate(_)
            | P::Corrupt(_)
            | P::Io(_) => ApiError::internal(),
        }
    }
}

/// True when the error comes from a full disk: `ENOSPC` anywhere in its source chain, or
/// SQLite's "database or disk is full".
pub fn is_storage_full(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut at: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = at {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::StorageFull || io.raw_os_error() == Some(28) {
                return true;
            }
        }
        let text = err.to_string();
        if text.contains("disk is full") || text.contains("No space left on device") {
            return true;
        }
        at = err.source();
    }
    false
}

/// An id from the request as echoed in a message: at most 64 characters, so a huge input is
/// not sent back.
fn shown(id: &str) -> String {
    match id.char_indices().nth(64) {
        Some((i, _)) => format!("{}…", &id[..i]),
        None => id.to_string(),
    }
}

fn yuan(fen: i64) -> String {
    platform::ledger::fen_to_yuan(fen)
}

/// The seed's order statuses in Chinese.
pub fn status_zh(code: i32) -> &'static str {
    match code {
        1 => "待处理",
        2 => "审核中",
        3 => "办理完成",
        -1 => "审核失败",
        -2 => "已取消",
        _ => "未知",
    }
}

fn action_zh(action: &str) -> &'static str {
    match action {
        "cancel" => "取消",
        "resubmit" => "重新提交",
        "take" => "开始审核",
        "approve" => "通过",
        "reject" => "驳回",
        "release" => "退回队列",
        _ => "提交",
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
