//! Request parsing: form-urlencoded and JSON bodies, and the base64 `image` field.
//! The streaming decoder must agree with `form_urlencoded` however the body is cut.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use server::forms::Fields;
use server::upload;
use server::urlencoded::{FormDecoder, FormValue};

fn texts(pairs: Vec<(String, FormValue)>) -> Vec<(String, String)> {
    pairs
        .into_iter()
        .map(|(k, v)| match v {
            FormValue::Text(t) => (k, t),
            FormValue::Long(b) => (k, String::from_utf8(b.to_vec()).expect("long values are ASCII")),
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let f = Fields::from_urlencoded(data);
    let _ = f.get("key");
    let _ = f.flag("is_print");
    let want: Vec<(String, String)> = url::form_urlencoded::parse(data)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let chunk = 1 + data.first().map_or(0, |b| *b as usize);
    let mut d = FormDecoder::default();
    for part in data.chunks(chunk) {
        d.push(part);
    }
    assert_eq!(texts(d.finish()), want);
    let _ = Fields::from_json(data).map(|f| f.require("param").map(str::len));
    let text = String::from_utf8_lossy(data);
    if let Ok(bytes) = upload::decode_base64(&text) {
        assert!(bytes.len() <= engine::intake::MAX_BYTES + 2);
        let _ = upload::check_image(&bytes);
    }
    let _ = upload::decode_base64_buf(BytesMut::from(data));
});
