//! A merchant's answer to a callback: the verdict on status + body, the `Retry-After` header,
//! and the head kept for the attempt log.
#![no_main]

use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use platform::callback::{delivery, response_head, schedule};

fuzz_target!(|data: &[u8]| {
    let (status, body) = match data {
        [a, b, rest @ ..] => (u16::from_be_bytes([*a, *b]), rest),
        _ => return,
    };
    if delivery::judge(status, body).is_ok() {
        assert!((200..300).contains(&status));
    }
    let text = String::from_utf8_lossy(body);
    let head = response_head(&text);
    assert!(text.starts_with(&head));
    let now = Utc
        .with_ymd_and_hms(2026, 12, 4, 8, 0, 0)
        .single()
        .unwrap_or_default();
    let _ = schedule::parse_retry_after(&text, now);
});
