//! `photoreceipt order`: the built binary on the same data dir as a live platform (as a
//! running `serve` would hold it).

use platform::{Bytes, FixedItems, ItemTerms, NewPic, OrderStatus, Platform, Submission};
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_photoreceipt"))
        .args(args)
        .env("PHOTORECEIPT_DATA_DIR", dir)
        .env("PHOTORECEIPT_LOG", "warn")
        .output()
        .expect("run photoreceipt")
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn refused(dir: &Path, args: &[&str]) -> String {
    let out = run(dir, args);
    assert!(!out.status.success(), "{args:?} should fail");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn jpeg(tag: &[u8]) -> Bytes {
    let mut v = vec![0xFF, 0xD8, 0xFF, 0xE0];
    v.extend_from_slice(tag);
    Bytes::from(v)
}

/// A live platform (a stand-in for `serve`) with an app of 20 yuan and two pending orders.
struct Live {
    dir: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
    p: Platform,
    app: platform::App,
    orders: Vec<String>,
}

fn live() -> Live {
    let dir = tempfile::tempdir().expect("tmp");
    let created: Value = serde_json::from_str(&ok(
        dir.path(),
        &[
            "app",
            "create",
            "--name",
            "Shop",
            "--balance-yuan",
            "20",
            "--json",
        ],
    ))
    .expect("json");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let items = FixedItems::new().with(
        111,
        ItemTerms {
            price_fen: 700,
            print_price_fen: None,
        },
    );
    let p = rt
        .block_on(Platform::open_embedded(
            dir.path(),
            Default::default(),
            Arc::new(items),
        ))
        .expect("open");
    let app = rt
        .block_on(p.authenticate(created["key"].as_str().expect("key")))
        .expect("auth");
    let mut orders = Vec::new();
    for _ in 0..2 {
        let new = NewPic {
            item_id: 111,
            photos: vec![("white".into(), jpeg(b"photo"))],
            checks: json!({}),
            ..Default::default()
        };
        let pic = rt.block_on(p.store_pic(&app, new)).expect("pic");
        let sub = Submission {
            pic_id: pic.pic_id,
            notice_url: "https://shop.example/cb".into(),
            params: json!({"text_name": "张三"}),
            is_print: false,
            print_param: None,
        };
        orders.push(rt.block_on(p.submit(&app, sub)).expect("submit").order_no);
    }
    Live {
        dir,
        rt,
        p,
        app,
        orders,
    }
}

#[test]
fn list_take_approve_and_the_live_platform_sees_it() {
    let l = live();
    let d = l.dir.path();
    let (a, b) = (&l.orders[0], &l.orders[1]);

    let pending = ok(d, &["order", "list", "--status", "1"]);
    assert!(
        pending.contains(a) && pending.contains(b) && pending.contains("2 orders"),
        "{pending}"
    );
    assert!(ok(d, &["order", "list", "--status", "completed"]).contains("0 orders"));

    let err = refused(d, &["order", "approve", a, "--receipt-no", "GD1"]);
    assert!(err.contains("cannot approve"), "{err}");

    assert!(ok(d, &["order", "take", a, "--as", "alice"]).contains("reviewing (2)"));
    let receipt = d.join("receipt.jpg");
    std::fs::write(&receipt, jpeg(b"the receipt")).expect("write");
    let out = ok(
        d,
        &[
            "order",
            "approve",
            a,
            "--receipt-no",
            "GD1",
            "--receipt-image",
            receipt.to_str().expect("p"),
        ],
    );
    assert!(out.contains("completed (3)"), "{out}");

    // The live platform reads what the CLI wrote.
    let order = l.rt.block_on(l.p.order(a)).expect("order");
    assert_eq!(order.status, OrderStatus::Completed);
    assert_eq!(order.receipt_no.as_deref(), Some("GD1"));
    let stored =
        l.rt.block_on(l.p.blob(order.receipt_key.as_deref().expect("key")))
            .expect("blob");
    assert_eq!(stored, jpeg(b"the receipt"));
    assert_eq!(
        l.rt.block_on(l.p.app(l.app.app_id))
            .expect("app")
            .balance_fen,
        2000 - 700
    );

    let shown: Value = serde_json::from_str(&ok(d, &["order", "show", a, "--json"])).expect("json");
    let statuses: Vec<i64> = shown["callbacks"]
        .as_array()
        .expect("cbs")
        .iter()
        .filter_map(|c| c["status"].as_i64())
        .collect();
    assert_eq!(statuses, [2, 3]);
    let actors: Vec<&str> = shown["events"]
        .as_array()
        .expect("ev")
        .iter()
        .filter_map(|e| e["actor"].as_str())
        .collect();
    assert_eq!(
        actors,
        [format!("app:{}", l.app.app_id).as_str(), "alice", "cli"]
    );
    let text = ok(d, &["order", "show", a]);
    assert!(
        text.contains("receipt:    GD1") && text.contains("张三"),
        "{text}"
    );

    assert!(refused(d, &["order", "approve", a, "--receipt-no", "GD1"]).contains("completed (3)"));
    assert_eq!(
        l.rt.block_on(l.p.app(l.app.app_id))
            .expect("app")
            .balance_fen,
        1300,
        "charged once"
    );
}

#[test]
fn reject_needs_review_first_and_a_reason() {
    let l = live();
    let d = l.dir.path();
    let b = &l.orders[1];
    assert!(
        refused(d, &["order", "reject", b, "--reason", "ears hidden"]).contains("cannot reject")
    );
    ok(d, &["order", "take", b]);
    assert!(refused(d, &["order", "reject", b, "--reason", "  "]).contains("reason"));
    assert!(ok(d, &["order", "reject", b, "--reason", "ears hidden"]).contains("rejected (-1)"));
    let rejected = ok(d, &["order", "list", "--status", "-1"]);
    assert!(
        rejected.contains(b.as_str()) && rejected.contains("1 orders"),
        "{rejected}"
    );
    let order = l.rt.block_on(l.p.order(b)).expect("order");
    assert_eq!(order.reject_msg.as_deref(), Some("ears hidden"));
    assert!(refused(d, &["order", "show", "20990101000000000000"]).contains("not found"));
    assert!(refused(d, &["order", "list", "--status", "9"]).contains("unknown status"));
}

#[test]
fn release_hands_an_order_back_without_a_callback() {
    let l = live();
    let d = l.dir.path();
    let a = &l.orders[0];
    ok(d, &["order", "take", a]);
    assert!(ok(d, &["order", "release", a]).contains("pending (1)"));
    let shown: Value = serde_json::from_str(&ok(d, &["order", "show", a, "--json"])).expect("json");
    assert_eq!(shown["callbacks"].as_array().map(Vec::len), Some(1));
    assert_eq!(shown["order"]["status"], 1);
}

#[test]
fn two_processes_taking_one_order_one_wins_while_the_live_platform_writes() {
    let l = live();
    let d = l.dir.path().to_path_buf();
    let a = l.orders[0].clone();
    let takers: Vec<_> = ["alice", "bob"]
        .into_iter()
        .map(|who| {
            let (d, a) = (d.clone(), a.clone());
            std::thread::spawn(move || run(&d, &["order", "take", &a, "--as", who]))
        })
        .collect();
    // Meanwhile the live platform (as `serve` would) takes the other order.
    let other =
        l.rt.block_on(l.p.take(&l.orders[1], "carol"))
            .expect("live write");
    let outs: Vec<Output> = takers
        .into_iter()
        .map(|t| t.join().expect("join"))
        .collect();
    let wins = outs.iter().filter(|o| o.status.success()).count();
    assert_eq!(
        wins,
        1,
        "{:?}",
        outs.iter()
            .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
            .collect::<Vec<_>>()
    );
    let loser = outs.iter().find(|o| !o.status.success()).expect("loser");
    assert!(String::from_utf8_lossy(&loser.stderr).contains("cannot take"));
    assert_eq!(other.status, OrderStatus::Reviewing);
    let shown: Value =
        serde_json::from_str(&ok(&d, &["order", "show", &a, "--json"])).expect("json");
    assert_eq!(
        shown["callbacks"].as_array().map(Vec::len),
        Some(1),
        "one callback 2"
    );
}
