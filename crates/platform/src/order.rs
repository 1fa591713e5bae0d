//! Orders, their statuses (the seed's codes) and the state machine.

use bytes::Bytes;
use chrono::{DateTime, FixedOffset, Utc};
use rand::Rng;
use serde::Serialize;
use std::sync::atomic::{AtomicU32, Ordering};

/// An order's status, with the seed's numeric codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "i32")]
pub enum OrderStatus {
    Pending,
    Reviewing,
    Completed,
    Rejected,
    Cancelled,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 5] = [
        Self::Pending,
        Self::Reviewing,
        Self::Completed,
        Self::Rejected,
        Self::Cancelled,
    ];

    /// The seed's code: 1, 2, 3, -1, -2.
    pub fn code(self) -> i32 {
        match self {
            Self::Pending => 1,
            Self::Reviewing => 2,
            Self::Completed => 3,
            Self::Rejected => -1,
            Self::Cancelled => -2,
        }
    }

    pub fn from_code(code: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Reviewing => "reviewing",
            Self::Completed => "completed",
            Self::Rejected => "rejected",
            Self::Cancelled => "cancelled",
        }
    }

    /// Accepts a code (`-1`) or a name (`rejected`).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        match s.parse::<i32>() {
            Ok(code) => Self::from_code(code),
            Err(_) => Self::ALL
                .into_iter()
                .find(|st| st.name().eq_ignore_ascii_case(s)),
        }
    }

    /// Holds part of the balance while in this status (see `Platform::submit`).
    pub fn holds_balance(self) -> bool {
        matches!(self, Self::Pending | Self::Reviewing)
    }
}

impl From<OrderStatus> for i32 {
    fn from(s: OrderStatus) -> i32 {
        s.code()
    }
}

impl std::fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.name(), self.code())
    }
}

/// What can happen to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Submit,
    Take,
    Approve,
    Reject,
    Resubmit,
    Cancel,
    /// A reviewer hands a taken order back to the queue.
    Release,
}

impl Action {
    pub const ALL: [Action; 7] = [
        Self::Submit,
        Self::Take,
        Self::Approve,
        Self::Reject,
        Self::Resubmit,
        Self::Cancel,
        Self::Release,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submit => "submit",
            Self::Take => "take",
            Self::Approve => "approve",
            Self::Reject => "reject",
            Self::Resubmit => "resubmit",
            Self::Cancel => "cancel",
            Self::Release => "release",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// The callback status this action sends, if any.
    pub fn callback_status(self) -> Option<OrderStatus> {
        match self {
            Self::Take => Some(OrderStatus::Reviewing),
            Self::Approve => Some(OrderStatus::Completed),
            Self::Reject => Some(OrderStatus::Rejected),
            Self::Cancel => Some(OrderStatus::Cancelled),
            Self::Submit | Self::Resubmit | Self::Release => None,
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The state machine (design.md). `from = None` is an order that does not exist yet.
pub fn next_status(from: Option<OrderStatus>, action: Action) -> Option<OrderStatus> {
    use OrderStatus::*;
    match (from, action) {
        (None, Action::Submit) => Some(Pending),
        (Some(Pending), Action::Take) => Some(Reviewing),
        (Some(Reviewing), Action::Approve) => Some(Completed),
        (Some(Reviewing), Action::Reject) => Some(Rejected),
        (Some(Rejected), Action::Resubmit) => Some(Pending),
        (Some(Pending), Action::Cancel) => Some(Cancelled),
        (Some(Reviewing), Action::Release) => Some(Pending),
        _ => None,
    }
}

/// A receipt order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Order {
    /// 20 digits: `yyyyMMddHHmmss` (China time) + 6 digits unique across nodes.
    pub order_no: String,
    pub app_id: i64,
    /// The pic of the latest (re)submission.
    pub pic_id: String,
    pub item_id: i64,
    pub status: OrderStatus,
    pub notice_url: String,
    /// The spec's receipt params (personal data). `None` once purged by retention.
    pub params: Option<serde_json::Value>,
    /// Files that came inside `params` (e.g. `image_idcard`), stored as blobs.
    pub param_files: Vec<ParamFileRef>,
    pub is_print: bool,
    /// name, phone, province, city, district, address. `None` when not printing or purged.
    pub print_param: Option<serde_json::Value>,
    /// Receipt price plus print price when `is_print`.
    pub price_fen: i64,
    pub sla_due_at: DateTime<Utc>,
    /// Time of the latest (re)submission.
    pub submitted_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the verdict (approve or reject) was given.
    pub reviewed_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    /// The reviewer holding the order while reviewing.
    pub reviewer: Option<String>,
    pub reject_msg: Option<String>,
    pub receipt_no: Option<String>,
    pub receipt_key: Option<String>,
    /// The photo as adjusted by staff (the seed's `image`), if they adjusted it.
    pub image_key: Option<String>,
    pub print_key: Option<String>,
    /// Set when retention removed the photos and personal data.
    pub purged_at: Option<DateTime<Utc>>,
}

/// A file of an order's params, by blob key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ParamFileRef {
    pub field: String,
    pub key: String,
}

impl Order {
    /// Blob keys this order row points at (not those of its pics).
    pub fn blob_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.param_files.iter().map(|f| f.key.clone()).collect();
        keys.extend(self.receipt_key.iter().cloned());
        keys.extend(self.image_key.iter().cloned());
        keys.extend(self.print_key.iter().cloned());
        keys
    }
}

/// One row of an order's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderEvent {
    pub order_no: String,
    pub from: Option<OrderStatus>,
    pub to: OrderStatus,
    pub action: Action,
    /// `app:<id>` for merchant calls, the operator's name, or a job name.
    pub actor: String,
    pub note: Option<String>,
    pub at: DateTime<Utc>,
}

/// A merchant's submit (or resubmit) request, already parsed.
#[derive(Debug, Clone)]
pub struct Submission {
    pub pic_id: String,
    pub notice_url: String,
    /// The spec's receipt params; `Value::Null` when none were sent.
    pub params: serde_json::Value,
    pub is_print: bool,
    pub print_param: Option<serde_json::Value>,
}

/// A reviewer's approval.
#[derive(Debug, Clone, Default)]
pub struct Approval {
    /// The authority's receipt number.
    pub receipt_no: String,
    /// The receipt image. Without it, the order's made photo stands in for it (see `approve`).
    pub receipt_image: Option<Bytes>,
    /// The photo if staff adjusted it (the seed's `image`).
    pub adjusted_image: Option<Bytes>,
    /// A print-layout sheet; without it, the pic's sheet is used when there is one.
    pub print_image: Option<Bytes>,
}

/// Which orders to list.
#[derive(Debug, Clone, Default)]
pub struct OrderFilter {
    pub status: Option<OrderStatus>,
    pub app_id: Option<i64>,
    /// At most this many (0 means the default, 100).
    pub limit: u32,
    /// Oldest submission first (a review queue), else newest first.
    pub oldest_first: bool,
}

/// An order as the merchant's query shows it: the order and its current pic, if still kept.
#[derive(Debug, Clone, Serialize)]
pub struct OrderDetail {
    pub order: Order,
    pub pic: Option<crate::pic::Pic>,
}

/// Counts of an app's orders per status.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OrderCounts(pub Vec<(OrderStatus, i64)>);

impl OrderCounts {
    pub fn get(&self, status: OrderStatus) -> i64 {
        self.0
            .iter()
            .find(|(s, _)| *s == status)
            .map_or(0, |(_, n)| *n)
    }

    pub fn total(&self) -> i64 {
        self.0.iter().map(|(_, n)| n).sum()
    }
}

/// China Standard Time, the clock of order numbers and blob dates.
pub fn china_time() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| FixedOffset::east_opt(0).expect("UTC"))
}

/// Makes order numbers: `yyyyMMddHHmmss` + 6 digits. With a database serial (PostgreSQL's
/// sequence `order_no_serial`, shared by every node) the 6 digits are that serial mod 10^6,
/// so nodes never clash unless 10^6 orders are made in one second. Without one (SQLite, one
/// node) they are a per-process random offset plus a counter. Either way the UNIQUE key is
/// the last guard: a clash is a `Conflict` and submit retries with the next number.
#[derive(Debug)]
pub struct OrderNoGen {
    offset: u32,
    counter: AtomicU32,
}

impl Default for OrderNoGen {
    fn default() -> Self {
        Self::new()
    }
}

impl OrderNoGen {
    pub fn new() -> Self {
        Self {
            offset: rand::rng().random_range(0..1_000_000),
            counter: AtomicU32::new(0),
        }
    }

    pub fn next(&self, now: DateTime<Utc>) -> String {
        self.next_with(now, None)
    }

    /// The next number, its 6 digits from `serial` when given (see the type's docs).
    pub fn next_with(&self, now: DateTime<Utc>, serial: Option<i64>) -> String {
        let suffix = match serial {
            Some(s) => s.rem_euclid(1_000_000) as u32,
            None => {
                let n = self.counter.fetch_add(1, Ordering::Relaxed);
                (self.offset + n % 1_000_000) % 1_000_000
            }
        };
        let local = now.with_timezone(&china_time());
        format!("{}{suffix:06}", local.format("%Y%m%d%H%M%S"))
    }
}

/// Shape check of an order number: 20 ASCII digits.
pub fn valid_order_no(s: &str) -> bool {
    s.len() == 20 && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_table_of_design_md_and_nothing_else() {
        use OrderStatus::*;
        let allowed = [
            (None, Action::Submit, Pending),
            (Some(Pending), Action::Take, Reviewing),
            (Some(Reviewing), Action::Approve, Completed),
            (Some(Reviewing), Action::Reject, Rejected),
            (Some(Rejected), Action::Resubmit, Pending),
            (Some(Pending), Action::Cancel, Cancelled),
            (Some(Reviewing), Action::Release, Pending),
        ];
        let froms = std::iter::once(None).chain(OrderStatus::ALL.map(Some));
        for from in froms {
            for action in Action::ALL {
                let expected = allowed
                    .iter()
                    .find(|(f, a, _)| *f == from && *a == action)
                    .map(|t| t.2);
                assert_eq!(next_status(from, action), expected, "{from:?} {action}");
            }
        }
    }

    #[test]
    fn codes_round_trip_and_parse_names() {
        for s in OrderStatus::ALL {
            assert_eq!(OrderStatus::from_code(s.code()), Some(s));
            assert_eq!(OrderStatus::parse(s.name()), Some(s));
            assert_eq!(OrderStatus::parse(&s.code().to_string()), Some(s));
        }
        assert_eq!(OrderStatus::from_code(0), None);
        assert_eq!(OrderStatus::parse("done"), None);
    }

    #[test]
    fn order_numbers_are_20_digits_in_china_time_and_distinct() {
        let gen = OrderNoGen::new();
        let t = Utc.with_ymd_and_hms(2021, 6, 16, 5, 41, 6).unwrap();
        let a = gen.next(t);
        let b = gen.next(t);
        assert!(valid_order_no(&a), "{a}");
        assert!(a.starts_with("20210616134106"), "{a}");
        assert_ne!(a, b);
        let c = gen.next_with(t, Some(3_000_042));
        assert_eq!(c, "20210616134106000042");
    }
}
