//! A platform on a temporary data dir (SQLite, or PostgreSQL under [`both_backends!`]), a
//! manual clock, and helpers.
#![allow(dead_code)]

#[path = "../backends/mod.rs"]
pub mod backends;
pub use backends::*;

use bytes::Bytes;
use chrono::{TimeZone, Utc};
use platform::{
    App, FixedItems, ItemTerms, ManualClock, NewApp, NewPic, Pic, Platform, Settings, Submission,
};
use serde_json::json;
use std::sync::Arc;

/// Receipt item, 7 yuan, print +10 yuan.
pub const ITEM: i64 = 111;
/// Receipt item without print-and-mail, 3 yuan.
pub const ITEM_NO_PRINT: i64 = 101;
pub const PRICE: i64 = 700;
pub const PRINT_PRICE: i64 = 1000;

pub struct Env {
    pub dir: tempfile::TempDir,
    pub p: Platform,
    pub clock: Arc<ManualClock>,
    pub db: TestDb,
}

pub async fn env() -> Env {
    env_with(Settings::default()).await
}

fn items() -> FixedItems {
    FixedItems::new()
        .with(
            ITEM,
            ItemTerms {
                price_fen: PRICE,
                print_price_fen: Some(PRINT_PRICE),
            },
        )
        .with(
            ITEM_NO_PRINT,
            ItemTerms {
                price_fen: 300,
                print_price_fen: None,
            },
        )
}

pub async fn env_with(settings: Settings) -> Env {
    let dir = tempfile::tempdir().expect("tempdir");
    let items = items();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2025, 3, 3, 2, 0, 0).unwrap(),
    ));
    let db = TestDb::new(dir.path());
    let p = db
        .open(dir.path(), settings, Arc::new(items))
        .await
        .with_clock(clock.clone());
    Env { dir, p, clock, db }
}

impl Env {
    /// Another node on the same database and blobs (its own pools and counters), same clock.
    pub async fn another_node(&self) -> Platform {
        let settings = self.p.settings().clone();
        self.db
            .open(self.dir.path(), settings, Arc::new(items()))
            .await
            .with_clock(self.clock.clone())
    }

    pub async fn app(&self, balance_fen: i64, sandbox: bool) -> App {
        self.p
            .create_app(NewApp {
                name: "Shop".into(),
                balance_fen,
                sandbox,
                ..Default::default()
            })
            .await
            .expect("create app")
            .app
    }

    pub async fn pic(&self, app: &App) -> Pic {
        self.pic_of(app, ITEM).await
    }

    pub async fn pic_of(&self, app: &App, item_id: i64) -> Pic {
        let new = NewPic {
            item_id,
            photos: vec![
                ("white".into(), jpeg(b"white")),
                ("blue".into(), jpeg(b"blue")),
            ],
            original: Some(jpeg(b"original")),
            transparent_png: Some(Bytes::from_static(b"\x89PNG\r\n\x1a\npng")),
            print_sheet: None,
            checks: json!({"ok": true}),
        };
        self.p.store_pic(app, new).await.expect("store pic")
    }

    /// A pending order of a fresh pic.
    pub async fn submit(&self, app: &App) -> platform::Order {
        let pic = self.pic(app).await;
        self.p
            .submit(app, submission(&pic.pic_id))
            .await
            .expect("submit")
    }

    /// Rows in `table` (optionally filtered by a WHERE clause).
    pub async fn count(&self, table: &str, filter: &str) -> i64 {
        self.db.count(table, filter).await
    }

    pub async fn balance(&self, app: &App) -> i64 {
        self.p.app(app.app_id).await.expect("app").balance_fen
    }

    pub fn blob_file(&self, key: &str) -> std::path::PathBuf {
        self.dir.path().join("blobs").join(key)
    }
}

pub fn jpeg(tag: &[u8]) -> Bytes {
    let mut v = vec![0xFF, 0xD8, 0xFF, 0xE0];
    v.extend_from_slice(tag);
    Bytes::from(v)
}

pub fn submission(pic_id: &str) -> Submission {
    Submission {
        pic_id: pic_id.to_string(),
        notice_url: "https://shop.example/notify".into(),
        params: json!({"text_mobile": "13800138000", "text_name": "张三"}),
        is_print: false,
        print_param: None,
    }
}

pub fn print_param() -> serde_json::Value {
    json!({"name":"张三","phone":"13800138000","province":"广东","city":"深圳",
           "district":"南山","address":"科技园 1 号"})
}
