//! Image intake: sniff, header parsing (JPEG SOF, PNG IHDR, EXIF orientation) and decode.
//! Whatever the bytes, an answer (a header or an EngineError), never a panic; a header that
//! passes is within the documented bounds.
#![no_main]

use engine::intake;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = intake::sniff(data);
    let o = intake::orientation(data);
    assert!((1..=8).contains(&o));
    let Ok(h) = intake::inspect(data) else {
        return;
    };
    assert!(h.width > 0 && h.height > 0);
    assert!(h.width < intake::MAX_SIDE && h.height < intake::MAX_SIDE);
    // Decoding a real 35 MP image is legitimate but slow; the fuzzer's small images cover the
    // decoders, the big ones are the corpus test's job.
    if u64::from(h.width) * u64::from(h.height) <= 1 << 20 {
        if let Ok(d) = intake::decode(data, Some(256)) {
            assert!(d.image.width() > 0 && d.image.height() > 0);
        }
    }
});
