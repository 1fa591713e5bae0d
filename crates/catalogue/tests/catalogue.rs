//! The built-in catalogue: loads, is large enough, and every spec is self-consistent.

use catalogue::{Catalogue, Category, Filter, Spec, PALETTE};
use std::collections::HashSet;

fn cat() -> &'static Catalogue {
    Catalogue::try_builtin().expect("built-in catalogue loads")
}

fn spec(slug: &str) -> &'static Spec {
    cat()
        .by_slug(slug)
        .unwrap_or_else(|| panic!("no spec {slug}"))
}

#[test]
fn loads_more_than_260_specs_in_two_id_ranges() {
    let c = cat();
    assert!(c.len() > 260, "only {} specs", c.len());
    let imported = c.iter().filter(|s| s.item_id >= 10_000).count();
    let chinese = c.iter().filter(|s| s.item_id < 1_000).count();
    assert_eq!(
        imported, 248,
        "every passport-photo-specs format is imported"
    );
    assert_eq!(chinese + imported, c.len(), "no id outside the two ranges");
    let countries: HashSet<_> = c
        .iter()
        .filter(|s| s.item_id >= 10_000)
        .map(|s| &s.country)
        .collect();
    assert_eq!(countries.len(), 100);
}

#[test]
fn ids_and_slugs_are_unique() {
    let ids: HashSet<u32> = cat().iter().map(|s| s.item_id).collect();
    let slugs: HashSet<&str> = cat().iter().map(|s| s.slug.as_str()).collect();
    assert_eq!(ids.len(), cat().len());
    assert_eq!(slugs.len(), cat().len());
}

#[test]
fn duplicate_ids_are_refused() {
    let one = r#"{"dataset":"t","specs":[{"item_id":5,"slug":"a","name":"一","name_en":"a",
        "country":"CN","category":"other","width_px":295,"height_px":413,"width_mm":25,
        "height_mm":35,"dpi":300,"colors":["white"],"source":"s"}]}"#;
    let other = one.replace("\"slug\":\"a\"", "\"slug\":\"b\"");
    let err = Catalogue::from_files(&[("1", one), ("2", &other)]).unwrap_err();
    assert!(err.to_string().contains("item_id 5"), "{err}");
    let same_slug = one.replace("\"item_id\":5", "\"item_id\":6");
    let err = Catalogue::from_files(&[("1", one), ("2", &same_slug)]).unwrap_err();
    assert!(err.to_string().contains("slug `a`"), "{err}");
    let bad_colour = one.replace("\"white\"", "\"purple\"");
    assert!(Catalogue::from_files(&[("1", &bad_colour)]).is_err());
}

#[test]
fn px_match_mm_times_dpi_within_two_percent() {
    for s in cat().iter() {
        assert!(
            s.px_mm_mismatch() <= 0.02,
            "{} ({}): {}×{} px vs {}×{} mm at {} dpi",
            s.item_id,
            s.slug,
            s.width_px,
            s.height_px,
            s.width_mm,
            s.height_mm,
            s.dpi
        );
    }
    // Pixel-only standards get nominal mm at 300 dpi, and say so.
    let nominal: Vec<&str> = cat()
        .iter()
        .filter(|s| s.nominal_mm)
        .map(|s| s.slug.as_str())
        .collect();
    assert_eq!(nominal, ["exam-postgraduate-chsi"]);
}

#[test]
fn bands_fit_inside_the_frame() {
    for s in cat().iter() {
        let (w, h) = (s.width_px as f32, s.height_px as f32);
        let id = format!("{} ({})", s.item_id, s.slug);
        for (name, b, limit) in [
            ("head", s.head_height, h),
            ("crown", s.crown_gap, h),
            ("eye", s.eye_line, h),
        ] {
            assert!(
                b.min >= 0.0 && b.min <= b.max && b.max <= limit,
                "{id} {name} {b:?}"
            );
        }
        assert!(
            s.crown_gap.min + s.head_height.min <= h,
            "{id}: chin below the frame"
        );
        assert!(
            s.head_height.min >= 0.4 * h,
            "{id}: head smaller than 40 % of the frame"
        );
        if let Some(f) = s.face_width {
            assert!(
                f.min > 0.0 && f.min <= f.max && f.max <= w,
                "{id} face {f:?}"
            );
        }
        let kb = s.kb_target();
        assert!(kb.min > 0.0 && kb.min < kb.max, "{id} kb {kb:?}");
    }
}

#[test]
fn every_spec_fits_a_real_face() {
    // The eye line of a real head sits 42–50 % of the way from crown to chin.
    for s in cat().iter() {
        for ratio in [0.42, 0.46, 0.50] {
            let p = s.placement(ratio).unwrap_or_else(|| {
                panic!("{} ({}) cannot fit eye ratio {ratio}", s.item_id, s.slug)
            });
            assert!(s.head_height.contains(p.head_height));
            assert!(s.crown_gap.contains(p.crown_gap));
            assert!(s.eye_line.contains(p.eye_line));
            assert!(p.crown_gap + p.head_height <= s.height_px as f32);
        }
    }
}

#[test]
fn an_impossible_spec_has_no_placement() {
    let json = r#"{"dataset":"t","specs":[{"item_id":5,"slug":"a","name":"一","name_en":"a",
        "country":"CN","category":"other","width_px":300,"height_px":400,"dpi":300,
        "colors":["white"],"source":"s","head_height":{"px":[300,320]},
        "crown_gap":{"px":[80,100]},"eye_line":{"px":[100,150]}}]}"#;
    let c = Catalogue::from_files(&[("t", json)]).unwrap();
    assert_eq!(c.get(5).unwrap().placement(0.46), None);
}

#[test]
fn colours_are_named_like_the_seed() {
    let named: HashSet<&str> = PALETTE.iter().map(|(n, _)| *n).collect();
    for s in cat().iter() {
        assert!(!s.colors.is_empty(), "{}", s.slug);
        let names: HashSet<&str> = s.colors.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names.len(), s.colors.len(), "{} repeats a colour", s.slug);
        assert!(
            names.iter().all(|n| named.contains(n)),
            "{}: {names:?}",
            s.slug
        );
    }
    assert_eq!(spec("cn-id-card").color("white").unwrap().hex(), "#FFFFFF");
    assert_eq!(spec("size-1-inch").color("blue").unwrap().hex(), "#438EDB");
    assert_eq!(spec("us-passport").colors[0].hex(), "#FFFFFF");
}

#[test]
fn official_chinese_numbers_are_kept() {
    let id = spec("cn-id-card");
    assert_eq!((id.width_px, id.height_px, id.dpi), (358, 441, 350));
    assert_eq!((id.crown_gap.min, id.crown_gap.max), (7.0, 21.0));
    let face = id.face_width.unwrap();
    assert_eq!((face.min, face.max), (193.0, 221.0));
    assert_eq!(
        id.eye_line.max,
        441.0 - 207.0,
        "eyes at least 207 px above the bottom"
    );

    let dl = spec("cn-driving-licence");
    assert_eq!((dl.width_px, dl.height_px, dl.dpi), (260, 378, 300));
    assert_eq!((dl.head_height.min, dl.head_height.max), (224.0, 260.0));
    assert_eq!((dl.crown_gap.min, dl.crown_gap.max), (10.0, 20.0));

    let edl = spec("cn-e-driving-licence");
    assert_eq!((edl.width_px, edl.height_px), (520, 756));
    // Same mm limits as the licence: 19–22 mm head at 756/32 px per mm.
    assert_eq!((edl.head_height.min, edl.head_height.max), (449.0, 520.0));

    let chsi = spec("exam-postgraduate-chsi");
    assert_eq!((chsi.width_px, chsi.height_px), (480, 640));
    assert_eq!(chsi.colors.len(), 1);
    assert_eq!(chsi.colors[0].name, "blue");
    assert_eq!(
        (chsi.file_size_min, chsi.file_size_max),
        (Some(100), Some(500))
    );

    for (slug, w, h) in [
        ("size-1-inch", 295, 413),
        ("size-small-1-inch", 260, 378),
        ("size-large-1-inch", 390, 567),
        ("size-2-inch", 413, 579),
        ("size-small-2-inch", 413, 531),
        ("exam-cet", 144, 192),
        ("exam-teacher-qualification", 295, 413),
        ("exam-computer-rank", 390, 567),
        ("visa-us", 600, 600),
    ] {
        let s = spec(slug);
        assert_eq!((s.width_px, s.height_px), (w, h), "{slug}");
    }
}

#[test]
fn receipt_specs_are_the_seeds() {
    let receipt: HashSet<&str> = cat().receipt_specs().map(|s| s.slug.as_str()).collect();
    let want: HashSet<&str> = [
        "cn-id-card",
        "cn-social-security-card",
        "cn-residence-permit",
        "cn-driving-licence",
        "cn-driving-licence-guangdong",
        "cn-passport",
        "cn-hk-macau-permit",
        "cn-taiwan-permit",
    ]
    .into();
    assert_eq!(receipt, want);
    for s in cat().receipt_specs() {
        let r = s.receipt.as_ref().unwrap();
        assert_eq!((r.price_fen, r.print_price_fen), (700, 700), "{}", s.slug);
        assert!(r.validity_days >= 60, "{}", s.slug);
        assert!(r.params.iter().any(|p| p.required), "{}", s.slug);
    }
    let gd = spec("cn-driving-licence-guangdong")
        .receipt
        .as_ref()
        .unwrap();
    let fields: Vec<(&str, bool)> = gd
        .params
        .iter()
        .map(|p| (p.field.as_str(), p.required))
        .collect();
    assert_eq!(
        fields,
        [
            ("text_mobile", true),
            ("text_city", true),
            ("text_name", true),
            ("text_idcard", true),
            ("image_idcard", false)
        ]
    );
    let sheets: HashSet<&str> = cat()
        .receipt_specs()
        .filter(|s| s.receipt.as_ref().unwrap().print_sheet)
        .map(|s| s.slug.as_str())
        .collect();
    assert_eq!(
        sheets,
        ["cn-driving-licence-guangdong", "cn-hk-macau-permit"].into()
    );
}

#[test]
fn lookups_and_filters() {
    let c = cat();
    assert_eq!(c.find("101").unwrap().slug, "cn-id-card");
    assert_eq!(c.find(" CN-ID-CARD ").unwrap().item_id, 101);
    assert!(c.find("999999").is_none());
    assert!(c.find("no-such-spec").is_none());
    let us = c.find("us-passport").unwrap();
    assert_eq!(c.get(us.item_id).unwrap().slug, "us-passport");

    let cn = Filter {
        country: Some("cn".into()),
        ..Filter::default()
    };
    let cn: Vec<&Spec> = c.select(&cn).collect();
    assert!(cn.len() > 20 && cn.iter().all(|s| s.country == "CN"));
    let receipt = Filter {
        receipt_only: true,
        ..Filter::default()
    };
    assert_eq!(c.select(&receipt).count(), 8);
    assert!(c
        .iter()
        .any(|s| s.category == Category::Visa && s.country == "JP"));
}

#[test]
fn attribution_of_the_import_is_kept() {
    let a = &cat().attributions()[0];
    assert_eq!(
        (a.name.as_str(), a.license.as_str()),
        ("passport-photo-specs", "MIT")
    );
    assert!(a.copyright.contains("whitetirocket"));
    let imported = cat().iter().filter(|s| s.item_id >= 10_000);
    for s in imported {
        assert!(
            s.source.starts_with("passport-photo-specs 1.3.0 (MIT"),
            "{}",
            s.slug
        );
    }
}

#[test]
fn api_json_has_the_item_list_fields() {
    let v = spec("cn-driving-licence-guangdong").to_api_json();
    for key in [
        "item_id",
        "name",
        "name_en",
        "slug",
        "country",
        "category",
        "width_px",
        "height_px",
        "width_mm",
        "height_mm",
        "dpi",
        "colors",
        "file_size_min",
        "file_size_max",
        "is_receipt",
        "receipt_param",
        "price",
        "price_fen",
        "validity_days",
        "print_sheet",
        "source",
        "head_height_px",
        "crown_gap_px",
        "eye_line_px",
        "face_width_px",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["item_id"], 111);
    assert_eq!(v["is_receipt"], true);
    assert_eq!(v["price"], 7.0);
    assert_eq!(v["price_fen"], 700);
    assert_eq!(v["print_sheet"], true);
    assert_eq!(v["colors"][0]["rgb"], "#FFFFFF");
    assert_eq!(v["receipt_param"][0], "text_mobile");
    assert_eq!(v["receipt_params"][4]["kind"], "idcard_image");
    assert_eq!(v["file_size_min"], 14);
    assert_eq!(v["head_height_px"]["min"], 224.0);

    let plain = spec("size-1-inch").to_api_json();
    assert_eq!(plain["is_receipt"], false);
    assert!(plain["price"].is_null());
    assert_eq!(plain["receipt_param"], serde_json::json!([]));
    assert!(plain["file_size_min"].as_u64().unwrap() < plain["file_size_max"].as_u64().unwrap());
}
