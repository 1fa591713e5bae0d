//! `photoreceipt specs`: run the built binary and read what it prints.

use serde_json::Value;
use std::process::{Command, Output};

fn specs(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_photoreceipt"))
        .arg("specs")
        .args(args)
        .output()
        .expect("run photoreceipt")
}

fn stdout(args: &[&str]) -> String {
    let out = specs(args);
    assert!(
        out.status.success(),
        "specs {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn json(args: &[&str]) -> Value {
    serde_json::from_str(&stdout(args)).expect("valid JSON")
}

#[test]
fn list_prints_a_table_of_more_than_260_specs() {
    let text = stdout(&["list"]);
    let lines: Vec<&str> = text.lines().collect();
    for col in [
        "ID", "SLUG", "NAME", "PX", "MM", "DPI", "COLOURS", "KB", "RECEIPT",
    ] {
        assert!(lines[0].contains(col), "header lacks {col}: {}", lines[0]);
    }
    let rows = lines.iter().skip(1).take_while(|l| !l.is_empty()).count();
    assert!(rows > 260, "{rows} rows");
    assert!(text.contains(&format!("\n{rows} specs\n")));
    let id_card = lines
        .iter()
        .find(|l| l.starts_with("101 "))
        .expect("row 101");
    for part in [
        "cn-id-card",
        "居民身份证",
        "358×441",
        "26×32",
        "350",
        "white",
        "14-20",
        "¥7.00 60d",
    ] {
        assert!(id_card.contains(part), "row 101 lacks {part}: {id_card}");
    }
    assert!(
        text.contains("passport-photo-specs 1.3.0 (MIT"),
        "attribution"
    );
}

#[test]
fn table_columns_line_up_with_chinese_names() {
    let text = stdout(&["list", "--country", "CN"]);
    let rows: Vec<&str> = text.lines().take_while(|l| !l.is_empty()).collect();
    let px_col = |line: &str| {
        // The PX cell starts where the digits before the first `×` start.
        let before = match line.find("PX") {
            Some(cut) => &line[..cut],
            None => line[..line.find('×').unwrap()].trim_end_matches(|c: char| c.is_ascii_digit()),
        };
        before
            .chars()
            .map(|c| if c as u32 >= 0x2E80 { 2 } else { 1 })
            .sum::<usize>()
    };
    let want = px_col(rows[0]);
    for r in &rows[1..] {
        assert_eq!(px_col(r), want, "misaligned: {r}");
    }
}

#[test]
fn list_filters_by_country_and_receipt() {
    let cn = json(&["list", "--json", "--country", "cn"]);
    let cn = cn.as_array().unwrap();
    assert!(cn.len() > 20);
    assert!(cn.iter().all(|s| s["country"] == "CN"));

    let receipt = json(&["list", "--json", "--receipt-only"]);
    let slugs: Vec<&str> = receipt
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs.len(), 8);
    assert!(slugs.contains(&"cn-driving-licence-guangdong"));
    assert!(receipt
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["is_receipt"] == true));

    let text = stdout(&["list", "--receipt-only"]);
    assert!(text.contains("¥7.00 180d +print"), "{text}");
    assert!(!text.contains("size-1-inch"));
}

#[test]
fn list_json_uses_the_item_list_field_names() {
    let all = json(&["list", "--json"]);
    let all = all.as_array().unwrap();
    assert!(all.len() > 260);
    let gd = all.iter().find(|s| s["item_id"] == 111).unwrap();
    assert_eq!(gd["width_px"], 260);
    assert_eq!(gd["height_px"], 378);
    assert_eq!(gd["width_mm"], 22.0);
    assert_eq!(gd["dpi"], 300);
    assert_eq!(gd["colors"][0]["name"], "white");
    assert_eq!(gd["file_size_min"], 14);
    assert_eq!(gd["file_size_max"], 30);
    assert_eq!(gd["is_receipt"], true);
    assert_eq!(gd["price"], 7.0);
    let params: Vec<&str> = gd["receipt_param"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(
        params,
        [
            "text_mobile",
            "text_city",
            "text_name",
            "text_idcard",
            "image_idcard"
        ]
    );
}

#[test]
fn show_by_id_and_by_slug() {
    let by_id = stdout(&["show", "110"]);
    let by_slug = stdout(&["show", "cn-driving-licence"]);
    assert_eq!(by_id, by_slug);
    for part in [
        "机动车驾驶证",
        "260×378 px, 22×32 mm, 300 dpi",
        "head height  224-260 px",
        "crown gap    10-20 px",
        "face width   165-189 px",
        "file size    14-30 KB (standard)",
        "param      text_idcard (required, resident_id)",
    ] {
        assert!(by_id.contains(part), "show 110 lacks {part:?}:\n{by_id}");
    }
    let v = json(&["show", "us-passport", "--json"]);
    assert_eq!(
        (v["width_px"].as_u64(), v["country"].as_str()),
        (Some(600), Some("US"))
    );
    assert!(stdout(&["show", "us-passport"]).contains("licence      passport-photo-specs MIT"));
}

#[test]
fn unknown_spec_fails_with_a_clear_message() {
    for key in ["999999", "no-such-spec"] {
        let out = specs(&["show", key]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("no spec with item_id or slug `{key}`")),
            "{err}"
        );
        assert!(out.stdout.is_empty());
    }
    let out = specs(&["list", "--country", "China"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ISO alpha-2"));
}
