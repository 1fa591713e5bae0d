//! The receipt param validators: `param` JSON text against every receipt spec, the resident
//! ID parser, and the notice_url check.
#![no_main]

use catalogue::{validate_params_str, Catalogue, ResidentId};
use chrono::NaiveDate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let today = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap_or_default();
    if let Ok(id) = ResidentId::parse(text, today) {
        assert_eq!(id.as_str().len(), 18);
        assert!(id.birth_date().is_some_and(|d| d <= today));
    }
    for spec in Catalogue::builtin().receipt_specs() {
        if let Err(e) = validate_params_str(spec, text) {
            assert!((4301..4400).contains(&e.code()), "{e:?}");
        }
    }
    if let Ok(url) = platform::check_notice_url(text) {
        assert!(url.starts_with("http://") || url.starts_with("https://") || url.contains(':'));
    }
});
