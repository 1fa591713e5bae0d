//! Request parsing: form-urlencoded and JSON bodies, and the base64 `image` field.
#![no_main]

use libfuzzer_sys::fuzz_target;
use server::forms::Fields;
use server::upload;

fuzz_target!(|data: &[u8]| {
    let f = Fields::from_urlencoded(data);
    let _ = f.get("key");
    let _ = f.flag("is_print");
    let _ = Fields::from_json(data).map(|f| f.require("param").map(str::len));
    let text = String::from_utf8_lossy(data);
    if let Ok(bytes) = upload::decode_base64(&text) {
        assert!(bytes.len() <= engine::intake::MAX_BYTES + 2);
        let _ = upload::check_image(&bytes);
    }
});
