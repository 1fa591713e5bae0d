//! Signed file URLs: a forged (path, expires, sign) never verifies; a URL the signer made
//! verifies, and changing any byte of its path, expiry or signature breaks it.
#![no_main]

use chrono::{TimeDelta, TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use server::UrlSigner;

fuzz_target!(|data: &[u8]| {
    let signer = UrlSigner::new("http://h", b"fuzz-secret".to_vec(), TimeDelta::hours(1));
    let now = Utc
        .with_ymd_and_hms(2026, 12, 4, 8, 0, 0)
        .single()
        .unwrap_or_default();
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\n');
    let (path, exp, sign) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    let exp: i64 = exp.trim().parse().unwrap_or(now.timestamp() + 60);
    // Guessing a valid HMAC is out of reach: anything the fuzzer writes must fail.
    assert!(
        !signer.verify(path, exp, sign, now),
        "forged signature verified"
    );

    let key = path.trim_start_matches('/');
    let url = signer.url(key, now);
    let p = format!("/files/{key}");
    let (rest, s) = url.rsplit_once("&sign=").unwrap_or_default();
    let e = rest
        .rsplit_once("?expires=")
        .map_or(0, |(_, e)| e.parse().unwrap_or(0));
    let s = s.to_string();
    assert!(signer.verify(&p, e, &s, now), "own URL refused: {url}");
    assert!(
        !signer.verify(&p, e, &s, now + TimeDelta::hours(2)),
        "expired URL accepted"
    );
    if let Some(i) = data.first().map(|b| usize::from(*b) % p.len().max(1)) {
        let mut tampered = p.clone().into_bytes();
        tampered[i] ^= 1;
        let tampered = String::from_utf8_lossy(&tampered);
        if tampered != p {
            assert!(
                !signer.verify(&tampered, e, &s, now),
                "tampered path accepted"
            );
        }
    }
    assert!(!signer.verify(&p, e + 1, &s, now), "moved expiry accepted");
});
