//! Receipt param validation, as a merchant's `param` JSON would hit it.

use base64::Engine as _;
use catalogue::{
    validate_params_at, validate_params_str, Catalogue, ImageFormat, ParamError, Spec,
};
use chrono::NaiveDate;
use serde_json::{json, Value};

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// Completes 17 digits with their GB 11643 check character.
fn id_number(d17: &str) -> String {
    let sum: u32 = d17
        .bytes()
        .zip(WEIGHTS)
        .map(|(d, w)| (d - b'0') as u32 * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{d17}{check}")
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
}

fn guangdong() -> &'static Spec {
    Catalogue::builtin()
        .by_slug("cn-driving-licence-guangdong")
        .unwrap()
}

fn good() -> Value {
    json!({
        "text_mobile": "13800138000",
        "text_city": "深圳",
        "text_name": "张三",
        "text_idcard": "11010519491231002X"
    })
}

fn check(params: Value) -> Result<catalogue::ValidatedParams, ParamError> {
    validate_params_at(guangdong(), &params, today())
}

fn with(field: &str, value: Value) -> Value {
    let mut v = good();
    v[field] = value;
    v
}

#[test]
fn the_seed_example_passes_and_is_normalized() {
    let p = check(with("text_idcard", json!("11010519491231002x"))).unwrap();
    assert_eq!(p.mobile.as_deref(), Some("13800138000"));
    assert_eq!(p.city.as_deref(), Some("深圳"));
    assert_eq!(p.name.as_deref(), Some("张三"));
    assert_eq!(p.id_number.unwrap().as_str(), "11010519491231002X");
}

#[test]
fn computed_id_numbers_pass() {
    for d17 in [
        "44030519900307123",
        "52010220001231456",
        "65010119000101001",
    ] {
        let id = id_number(d17);
        let p = check(with("text_idcard", json!(id))).unwrap();
        assert_eq!(p.id_number.unwrap().as_str(), id);
    }
}

#[test]
fn wrong_check_digits_are_refused() {
    let id = id_number("44030519900307123");
    let wrong = if id.ends_with('0') { "1" } else { "0" };
    let bad = format!("{}{wrong}", &id[..17]);
    let e = check(with("text_idcard", json!(bad))).unwrap_err();
    assert_eq!((e.code(), e.field()), (4323, Some("text_idcard")));
    assert!(e.msg().contains("校验位"), "{}", e.msg());
    let e = check(with("text_idcard", json!("110105194912310021"))).unwrap_err();
    assert_eq!(e.code(), 4323);
}

#[test]
fn impossible_birth_dates_are_refused() {
    for d17 in [
        "44030519900230123", // 30 February
        "44030519901301123", // month 13
        "44030518991231123", // before 1900
        "44030520260302123", // after "today"
    ] {
        let e = check(with("text_idcard", json!(id_number(d17)))).unwrap_err();
        assert_eq!(e.code(), 4322, "{d17}");
        assert!(e.msg().contains("出生日期"));
    }
}

#[test]
fn malformed_id_numbers_are_refused() {
    let id = id_number("44030519900307123");
    for bad in [
        &id[..17],
        "4403051990030712345",
        "44030519900307123Y",
        "ABCDEFGHIJKLMNOPQR",
    ] {
        let e = check(with("text_idcard", json!(bad))).unwrap_err();
        assert_eq!(e.code(), 4320, "{bad}");
    }
    let e = check(with("text_idcard", json!(id_number("99030519900307123")))).unwrap_err();
    assert_eq!(e.code(), 4321);
}

#[test]
fn bad_phone_numbers_are_refused() {
    for bad in [
        "12800138000",
        "1380013800",
        "138001380000",
        "1380013800O",
        "+1 4155550100",
    ] {
        let e = check(with("text_mobile", json!(bad))).unwrap_err();
        assert_eq!((e.code(), e.field()), (4310, Some("text_mobile")), "{bad}");
        assert!(e.msg().contains("手机号码"));
        assert!(e.msg_en().contains("mobile"));
    }
    assert!(check(with("text_mobile", json!("+8619912345678"))).is_ok());
}

#[test]
fn names_and_cities() {
    assert!(check(with("text_name", json!("买买提·艾力"))).is_ok());
    for bad in ["张", "Zhang San", "张三3", "·张三"] {
        assert_eq!(
            check(with("text_name", json!(bad))).unwrap_err().code(),
            4330
        );
    }
    assert!(check(with("text_city", json!("广州市"))).is_ok());
    for bad in ["深", "shenzhen", "深圳 南山"] {
        assert_eq!(
            check(with("text_city", json!(bad))).unwrap_err().code(),
            4340
        );
    }
}

#[test]
fn missing_unknown_and_wrong_typed_fields() {
    let mut v = good();
    v.as_object_mut().unwrap().remove("text_city");
    let e = check(v).unwrap_err();
    assert_eq!((e.code(), e.field()), (4305, Some("text_city")));
    assert!(e.msg().contains("text_city") && e.msg_en().contains("text_city"));

    let e = check(with("text_city", json!(""))).unwrap_err();
    assert_eq!(e.code(), 4305, "an empty string is missing");

    let e = check(with("text_email", json!("a@b.c"))).unwrap_err();
    assert_eq!((e.code(), e.field()), (4304, Some("text_email")));

    let e = check(with("text_mobile", json!(13800138000u64))).unwrap_err();
    assert_eq!(e.code(), 4306);

    for not_object in [json!([1, 2]), json!("text"), json!(7)] {
        assert_eq!(check(not_object).unwrap_err().code(), 4301);
    }
    let e = check(with("text_name", json!("张".repeat(1000)))).unwrap_err();
    assert_eq!((e.code(), e.field()), (4303, Some("text_name")));
}

#[test]
fn param_strings_from_the_form() {
    let spec = guangdong();
    let ok = validate_params_str(spec, &good().to_string());
    assert!(ok.is_ok(), "{ok:?}");
    assert_eq!(
        validate_params_str(spec, "{not json").unwrap_err().code(),
        4302
    );
    assert_eq!(validate_params_str(spec, "").unwrap_err().code(), 4305);
    let plain = Catalogue::builtin().by_slug("size-1-inch").unwrap();
    assert!(validate_params_str(plain, "").is_ok());
    assert_eq!(
        validate_params_str(plain, r#"{"text_name":"张三"}"#)
            .unwrap_err()
            .code(),
        4304
    );
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn idcard_images() {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend_from_slice(&[0u8; 100]);
    let p = check(with("image_idcard", json!(b64(&png)))).unwrap();
    let img = p.idcard_image.unwrap();
    assert_eq!((img.format, img.bytes.len()), (ImageFormat::Png, png.len()));

    let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0];
    let wrapped = format!("data:image/jpeg;base64,{}\n", b64(&jpeg));
    let p = check(with("image_idcard", json!(wrapped))).unwrap();
    assert_eq!(p.idcard_image.unwrap().format, ImageFormat::Jpeg);

    let e = check(with("image_idcard", json!(b64(b"GIF89a......")))).unwrap_err();
    assert_eq!((e.code(), e.field()), (4351, Some("image_idcard")));
    let e = check(with("image_idcard", json!("not base64 !!"))).unwrap_err();
    assert_eq!(e.code(), 4350);

    let mut big = jpeg.to_vec();
    big.resize(5 * 1024 * 1024 + 1, 0);
    let e = check(with("image_idcard", json!(b64(&big)))).unwrap_err();
    assert_eq!(e.code(), 4352);
    // The optional image may be left out.
    assert!(check(good()).unwrap().idcard_image.is_none());
}

#[test]
fn codes_are_distinct_and_in_range() {
    let f = || "f".to_string();
    let errors = [
        ParamError::NotObject,
        ParamError::InvalidJson,
        ParamError::TooLarge { field: f() },
        ParamError::UnknownField { field: f() },
        ParamError::Missing { field: f() },
        ParamError::NotString { field: f() },
        ParamError::Mobile { field: f() },
        ParamError::Name { field: f() },
        ParamError::City { field: f() },
        ParamError::ImageBase64 { field: f() },
        ParamError::ImageFormat { field: f() },
        ParamError::ImageTooLarge { field: f() },
    ];
    let mut codes: Vec<u32> = errors.iter().map(ParamError::code).collect();
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), errors.len());
    for e in &errors {
        assert!((4301..=4399).contains(&e.code()));
        assert!(e.msg().chars().any(|c| c as u32 > 0x2E80), "{}", e.msg());
        assert!(!e.msg_en().is_empty());
    }
}
