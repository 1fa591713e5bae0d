//! Issue 8, bad input: every case of the corpus gets its documented code through
//! `/receipt/make` (a real `serve`) and through `photo make`, with no panic, no 500, and a
//! peak resident set under 1 GiB per input. The expected codes are the committed table
//! tests/corpus/expected.json; the cases that need a face are made here from
//! ../shared/testdata (the repo holds no portraits).

mod support;

use image::{imageops, DynamicImage, RgbImage};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use support::{b64, code, testdata, Server, BIN};

const GD: &str = "111";
const GIB_KB: u64 = 1024 * 1024;
const FIVE_MB: usize = 5 * 1024 * 1024;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus")
}

#[derive(Debug)]
struct Case {
    name: String,
    /// Expected code through `/receipt/make`.
    make: i64,
    /// Expected code through `photo make` (`None`: the case is about the API's base64 only).
    photo: Option<i64>,
    /// For a made photo: whether the checks report finds the head upright (`roll` passes).
    upright: Option<bool>,
    /// How the bytes travel in the `image` field: `base64`, `mime` (76-column lines),
    /// `data-uri`, or `text` (the file is sent as it is, for the base64 cases).
    send: String,
}

fn table() -> Vec<Case> {
    let text = std::fs::read_to_string(corpus_dir().join("expected.json")).expect("expected.json");
    let v: Value = serde_json::from_str(&text).expect("expected.json is JSON");
    v["cases"]
        .as_object()
        .expect("cases")
        .iter()
        .map(|(name, c)| Case {
            name: name.clone(),
            make: c["make"].as_i64().expect("make code"),
            photo: c["photo"].as_i64(),
            upright: c["upright"].as_bool(),
            send: c["send"].as_str().unwrap_or("base64").to_string(),
        })
        .collect()
}

/// The codes of docs/api.md's table (`| 2001 |`, and the ranges `| 4320–4323 |`).
fn documented_codes() -> BTreeSet<i64> {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/api.md"))
            .expect("docs/api.md");
    let mut out = BTreeSet::new();
    for line in doc.lines() {
        let Some(cell) = line.strip_prefix("| ").and_then(|l| l.split(" |").next()) else {
            continue;
        };
        let nums: Vec<i64> = cell
            .split('–')
            .filter_map(|n| n.trim().parse().ok())
            .collect();
        match nums[..] {
            [n] => {
                out.insert(n);
            }
            [a, b] => out.extend(a..=b),
            _ => {}
        }
    }
    out
}

/// The bytes of a case: a corpus file, or one made here from the test portraits.
fn bytes_of(name: &str) -> Vec<u8> {
    let file = corpus_dir().join(name);
    if file.is_file() {
        return std::fs::read(file).expect("corpus file");
    }
    let obama = || testdata("portraits/obama.jpg");
    match name {
        "made:exactly-5mb.jpg" => pad_jpeg(&obama(), FIVE_MB),
        "made:5mb-plus-1.jpg" => pad_jpeg(&obama(), FIVE_MB + 1),
        "made:base64-line-breaks" | "made:base64-data-uri" => obama(),
        "made:no-face-landscape.jpg" => testdata("no-face/rocket.jpg"),
        "made:two-faces.jpg" => jpeg(&two_faces()),
        "made:face-cut-by-edge.jpg" => jpeg(&crown_cut()),
        "made:rotated-no-exif.jpg" => {
            jpeg(&DynamicImage::ImageRgb8(portrait()).rotate270().to_rgb8())
        }
        "made:face-40px.jpg" => jpeg(&face_40px()),
        "made:very-dark.jpg" => jpeg(&very_dark()),
        _ => match name
            .strip_prefix("made:exif-")
            .and_then(|r| r.strip_suffix(".jpg"))
        {
            Some(o) => exif_rotated(o.parse().expect("orientation")),
            None => panic!("{name}: not in tests/corpus and not a made case"),
        },
    }
}

fn portrait() -> RgbImage {
    image::load_from_memory(&testdata("portraits/obama.jpg"))
        .expect("decode")
        .to_rgb8()
}

fn jpeg(img: &RgbImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("jpeg");
    out.into_inner()
}

/// A JPEG grown to exactly `size` bytes with comment segments after SOI.
fn pad_jpeg(jpeg: &[u8], size: usize) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    let mut need = size - jpeg.len();
    while need > 0 {
        // A COM segment is 4 bytes of marker and length, then up to 65533 bytes; never
        // leave 1–3 bytes over, which no segment could take.
        let mut body = (need - 4).min(65533);
        if (1..4).contains(&(need - 4 - body)) {
            body -= 4;
        }
        out.extend_from_slice(&[0xFF, 0xFE]);
        out.extend_from_slice(&((body + 2) as u16).to_be_bytes());
        out.extend(std::iter::repeat_n(b'x', body));
        need -= body + 4;
    }
    out.extend_from_slice(&jpeg[2..]);
    assert_eq!(out.len(), size);
    out
}

fn two_faces() -> RgbImage {
    let one = portrait();
    let mut both = RgbImage::new(one.width() * 2, one.height());
    imageops::replace(&mut both, &one, 0, 0);
    imageops::replace(&mut both, &one, i64::from(one.width()), 0);
    both
}

/// The portrait with its top 12 % cut away: the crown is out of the frame.
fn crown_cut() -> RgbImage {
    let p = portrait();
    let top = p.height() * 12 / 100;
    imageops::crop_imm(&p, 0, top, p.width(), p.height() - top).to_image()
}

/// The portrait shrunk until the face is about 40 px wide (the face is ~28 % of the width).
fn face_40px() -> RgbImage {
    let p = portrait();
    let w = 140;
    let h = p.height() * w / p.width();
    imageops::resize(&p, w, h, imageops::FilterType::Triangle)
}

/// The portrait at 6 % of its brightness.
fn very_dark() -> RgbImage {
    let mut p = portrait();
    for px in p.pixels_mut() {
        for c in px.0.iter_mut() {
            *c = (u16::from(*c) * 6 / 100) as u8;
        }
    }
    p
}

/// The portrait stored so that EXIF orientation `o` makes it upright again.
fn exif_rotated(o: u16) -> Vec<u8> {
    let up = DynamicImage::ImageRgb8(portrait());
    let stored = match o {
        1 => up,
        2 => up.fliph(),
        3 => up.rotate180(),
        4 => up.flipv(),
        5 => up.rotate90().fliph(),
        6 => up.rotate270(),
        7 => up.rotate270().fliph(),
        8 => up.rotate90(),
        _ => panic!("orientation {o}"),
    };
    let plain = jpeg(&stored.to_rgb8());
    let mut tiff = b"MM\0*\0\0\0\x08\0\x01".to_vec();
    tiff.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1]);
    tiff.extend_from_slice(&o.to_be_bytes());
    tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((2 + 6 + tiff.len()) as u16).to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(&tiff);
    out.extend_from_slice(&plain[2..]);
    out
}

/// Whether the `roll` check of a checks report passes (`None`: no such check).
fn roll_passes(checks: &Value) -> Option<bool> {
    checks["checks"]
        .as_array()?
        .iter()
        .find(|c| c["rule"] == "roll")
        .and_then(|c| c["pass"].as_bool())
}

fn image_field(case: &Case, bytes: &[u8]) -> String {
    match case.send.as_str() {
        "base64" => b64(bytes),
        "text" => String::from_utf8_lossy(bytes).into_owned(),
        "mime" => b64(bytes)
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).expect("ascii"))
            .collect::<Vec<_>>()
            .join("\r\n"),
        "data-uri" => format!("data:image/jpeg;base64,{}", b64(bytes)),
        other => panic!("{}: unknown send {other}", case.name),
    }
}

/// Peak resident set of a process since the last reset, in KB (`VmHWM`).
fn peak_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

/// Resets `VmHWM` to the current resident set (`echo 5 > clear_refs`).
fn reset_peak(pid: u32) {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").expect("clear_refs");
}

/// `photo make FILE --json` in its own process: (code, exit ok, peak RSS in KB from wait4).
// The child is reaped by `wait4` (for its rusage), not `Child::wait`.
#[allow(clippy::zombie_processes)]
fn photo_make(file: &Path, out: &Path) -> (i64, bool, u64, Value) {
    let child = Command::new(BIN)
        .args(["photo", "make", "--spec", GD, "--json", "--out"])
        .arg(out)
        .arg(file)
        .env("PHOTORECEIPT_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn photo make");
    let pid = child.id() as libc::pid_t;
    let (mut so, mut se) = (child.stdout.expect("out"), child.stderr.expect("err"));
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut se, &mut s).ok();
        s
    });
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut so, &mut stdout).expect("stdout");
    let stderr = err_thread.join().expect("stderr thread");
    let mut status = 0;
    // SAFETY: plain wait4 on our own child, with valid out-pointers.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4");
    assert!(
        libc::WIFEXITED(status),
        "photo make died (signal?): {stderr}"
    );
    let ok = libc::WEXITSTATUS(status) == 0;
    let line: Value =
        serde_json::from_str(stdout.lines().next().unwrap_or("null")).unwrap_or(Value::Null);
    let code = if line["files"].is_array() {
        0
    } else {
        line["code"].as_i64().unwrap_or(-1)
    };
    let report = if line.is_null() {
        Value::String(stderr)
    } else {
        line
    };
    (code, ok, usage.ru_maxrss as u64, report)
}

#[test]
fn every_corpus_file_gets_its_documented_code_in_bounded_memory() {
    let cases = table();
    let documented = documented_codes();
    let names: BTreeSet<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    for f in std::fs::read_dir(corpus_dir()).expect("corpus") {
        let name = f.expect("entry").file_name().to_string_lossy().into_owned();
        assert!(
            name == "expected.json" || names.contains(name.as_str()),
            "tests/corpus/{name} has no expected code in expected.json"
        );
    }
    let mut s = Server::start(&["--rate-limit", "0", "--make-workers", "1"]);
    let (_, key) = s.create_app("Hostile", "0", false);
    let pid = s.child.id();
    let work = tempfile::tempdir().expect("tempdir");
    let mut report = BTreeMap::new();
    let mut failures = Vec::new();
    for case in &cases {
        for c in [Some(case.make), case.photo].into_iter().flatten() {
            assert!(
                c == 0 || documented.contains(&c),
                "{}: code {c} is not in docs/api.md",
                case.name
            );
        }
        let bytes = bytes_of(&case.name);
        reset_peak(pid);
        let image = image_field(case, &bytes);
        let (status, v) = s.post(
            "/receipt/make",
            &[("key", &key), ("item_id", GD), ("image", &image)],
        );
        drop(image);
        let server_kb = peak_kb(pid);
        let got = v["code"].as_i64().unwrap_or(-1);
        if got != case.make || !matches!(status, 200 | 413) {
            failures.push(format!(
                "make {}: HTTP {status}, expected {}: {v}",
                case.name, case.make
            ));
        }
        if let Some(up) = case.upright {
            let roll = roll_passes(&v["data"]["checks"]);
            if roll != Some(up) {
                failures.push(format!(
                    "make {}: roll check {roll:?}, expected upright {up}",
                    case.name
                ));
            }
        }
        let mut photo_kb = 0;
        if let Some(expected) = case.photo {
            let file = work.path().join(case.name.replace(':', "-"));
            std::fs::write(&file, &bytes).expect("write input");
            let (got, ok, kb, out) = photo_make(&file, &work.path().join("out"));
            photo_kb = kb;
            if got != expected || ok != (expected == 0) {
                failures.push(format!(
                    "photo make {}: expected {expected}, got {got} (exit ok {ok}): {out}",
                    case.name
                ));
            }
            if let Some(up) = case.upright {
                let roll = roll_passes(&out["checks"]);
                if roll != Some(up) {
                    failures.push(format!(
                        "photo make {}: roll check {roll:?}, expected upright {up}",
                        case.name
                    ));
                }
            }
            assert!(kb < GIB_KB, "photo make {}: peak RSS {kb} KB", case.name);
        }
        assert!(
            server_kb < GIB_KB,
            "serve on {}: peak RSS {server_kb} KB",
            case.name
        );
        report.insert(case.name.clone(), (got, server_kb / 1024, photo_kb / 1024));
    }
    for (name, (got, serve_mb, photo_mb)) in &report {
        println!("{name:32} code {got:>5}  serve peak {serve_mb:>4} MB  photo make peak {photo_mb:>4} MB");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        s.child.try_wait().expect("try_wait").is_none(),
        "serve exited"
    );
}

/// POSTs raw bytes (any content type, any bytes) and returns the status and the JSON answer.
fn raw_post(base: &str, path: &str, ctype: &str, body: &[u8]) -> (u16, Value) {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .expect("timeout");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("write head");
    stream.write_all(body).expect("write body");
    let mut buf = Vec::new();
    let _ = stream.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

fn form(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        s.append_pair(k, v);
    }
    s.finish().into_bytes()
}

#[test]
fn hostile_params_get_their_codes() {
    let s = Server::start(&["--rate-limit", "0"]);
    let (_, key) = s.create_app("Hostile", "100", false);
    let d = support::Direct::open(s.data_dir());
    let app = d.app(&key);
    let pic = d.passing_pic(&app, 111);
    let notice = "https://shop.example/notify";
    let good: Value = serde_json::from_str(&support::gd_param()).expect("param");
    let with = |field: &str, value: Value| {
        let mut p = good.clone();
        p[field] = value;
        p.to_string()
    };
    let huge = "张".repeat(400_000);
    let long_url = format!("https://shop.example/{}", "a".repeat(2980));
    let documented = documented_codes();
    // (what, param, notice_url, expected code, field named)
    let cases: Vec<(&str, String, &str, i64, Option<&str>)> = vec![
        (
            "bad ID check digit",
            with("text_idcard", "110105194912310021".into()),
            notice,
            4323,
            Some("param.text_idcard"),
        ),
        (
            "17-character ID",
            with("text_idcard", "11010519491231002".into()),
            notice,
            4320,
            Some("param.text_idcard"),
        ),
        (
            "ID with letters",
            with("text_idcard", "1101051949123100ZZ".into()),
            notice,
            4320,
            Some("param.text_idcard"),
        ),
        (
            "bad mobile",
            with("text_mobile", "2380013800".into()),
            notice,
            4310,
            Some("param.text_mobile"),
        ),
        (
            "mobile with letters",
            with("text_mobile", "1380013800a".into()),
            notice,
            4310,
            Some("param.text_mobile"),
        ),
        (
            "param an array",
            "[1,2]".into(),
            notice,
            4301,
            Some("param"),
        ),
        (
            "param a string",
            "\"x\"".into(),
            notice,
            4301,
            Some("param"),
        ),
        ("param a number", "12".into(), notice, 4301, Some("param")),
        (
            "param not JSON",
            "{\"text_name\":".into(),
            notice,
            4302,
            Some("param"),
        ),
        (
            "unknown param field",
            with("text_shoe_size", "42".into()),
            notice,
            4304,
            Some("param.text_shoe_size"),
        ),
        (
            "param value not a string",
            with("text_name", serde_json::json!({"a": 1})),
            notice,
            4306,
            Some("param.text_name"),
        ),
        (
            "huge name",
            with("text_name", Value::String(huge.clone())),
            notice,
            4303,
            Some("param.text_name"),
        ),
        (
            "deep JSON",
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
            notice,
            4302,
            Some("param"),
        ),
        (
            "notice_url file://",
            support::gd_param(),
            "file:///etc/passwd",
            4001,
            Some("notice_url"),
        ),
        (
            "notice_url gopher://",
            support::gd_param(),
            "gopher://shop.example:70/_x",
            4001,
            Some("notice_url"),
        ),
        (
            "notice_url 3000 chars",
            support::gd_param(),
            &long_url,
            4001,
            Some("notice_url"),
        ),
        (
            "notice_url no host",
            support::gd_param(),
            "http://",
            4001,
            Some("notice_url"),
        ),
    ];
    let mut failures = Vec::new();
    for (what, param, url, expected, field) in &cases {
        assert!(
            documented.contains(expected),
            "{what}: {expected} not documented"
        );
        let (status, v) = s.post(
            "/receipt/submit",
            &[
                ("key", &key),
                ("pic_id", &pic),
                ("notice_url", url),
                ("param", param),
            ],
        );
        let ok =
            status == 200 && code(&v) == *expected && field.is_none_or(|f| v["data"]["field"] == f);
        if !ok {
            failures.push(format!(
                "{what}: HTTP {status}, expected {expected} {field:?}: {v}"
            ));
        }
        let msg_ok = v["msg"]
            .as_str()
            .is_some_and(|m| !m.is_empty() && m.len() < 2000);
        if !msg_ok {
            failures.push(format!("{what}: msg missing or huge"));
        }
    }

    // The body itself: not an object, not UTF-8, broken multipart; huge top-level strings.
    let json = "application/json";
    let urlenc = "application/x-www-form-urlencoded";
    let huge_key = "k".repeat(1_000_000);
    let huge_item = "9".repeat(1_000_000);
    // The whole param valid but for a name that is not UTF-8, percent-escaped or raw.
    let name_marker = with("text_name", "NAME".into());
    let mut bad_utf8_form = form(&[("key", &key), ("pic_id", &pic), ("notice_url", notice)]);
    bad_utf8_form.extend_from_slice(b"&param=");
    let escaped = form(&[("p", &name_marker)]);
    let escaped = String::from_utf8(escaped[2..].to_vec()).expect("ascii");
    bad_utf8_form.extend_from_slice(escaped.replace("NAME", "%FF%FE").as_bytes());
    let mut raw_bad_utf8 = form(&[("key", &key), ("pic_id", &pic), ("notice_url", notice)]);
    raw_bad_utf8.extend_from_slice(b"&param=");
    let (before, after) = name_marker.split_once("NAME").expect("marker");
    raw_bad_utf8.extend_from_slice(before.as_bytes());
    raw_bad_utf8.extend_from_slice(b"\xC3\x28\xFF");
    raw_bad_utf8.extend_from_slice(after.as_bytes());
    let bad_mp =
        b"--b\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\n\xFF\xFE\r\n--b--\r\n"
            .to_vec();
    let raw_cases: Vec<(&str, &str, String, Vec<u8>, i64)> = vec![
        (
            "JSON array body",
            "/receipt/submit",
            json.into(),
            b"[1,2,3]".to_vec(),
            1003,
        ),
        (
            "JSON string body",
            "/receipt/make",
            json.into(),
            b"\"image\"".to_vec(),
            1003,
        ),
        (
            "JSON truncated",
            "/receipt/make",
            json.into(),
            b"{\"key\":".to_vec(),
            1003,
        ),
        (
            "JSON not UTF-8",
            "/receipt/submit",
            json.into(),
            b"{\"key\":\"\xFF\xFE\"}".to_vec(),
            1003,
        ),
        (
            "form param not UTF-8 (escaped)",
            "/receipt/submit",
            urlenc.into(),
            bad_utf8_form,
            4330,
        ),
        (
            "form param not UTF-8 (raw)",
            "/receipt/submit",
            urlenc.into(),
            raw_bad_utf8,
            4330,
        ),
        (
            "multipart text not UTF-8",
            "/receipt/make",
            "multipart/form-data; boundary=b".into(),
            bad_mp,
            1002,
        ),
        (
            "multipart broken",
            "/receipt/make",
            "multipart/form-data; boundary=b".into(),
            b"--b\r\nxx".to_vec(),
            1003,
        ),
        (
            "huge key",
            "/user/info",
            urlenc.into(),
            form(&[("key", &huge_key)]),
            1101,
        ),
        (
            "huge item_id",
            "/receipt/make",
            urlenc.into(),
            form(&[("key", &key), ("item_id", &huge_item), ("image", "AAAA")]),
            3001,
        ),
        (
            "huge pic_id",
            "/receipt/submit",
            urlenc.into(),
            form(&[
                ("key", &key),
                ("pic_id", &huge_item),
                ("notice_url", notice),
                ("param", &support::gd_param()),
            ]),
            3101,
        ),
        (
            "huge order_no",
            "/receipt/query",
            urlenc.into(),
            form(&[("key", &key), ("order_no", &huge_item)]),
            5001,
        ),
        (
            "huge is_print",
            "/receipt/submit",
            urlenc.into(),
            form(&[
                ("key", &key),
                ("pic_id", &pic),
                ("notice_url", notice),
                ("param", &support::gd_param()),
                ("is_print", &huge_item),
            ]),
            1002,
        ),
    ];
    for (what, path, ctype, body, expected) in &raw_cases {
        assert!(
            documented.contains(expected),
            "{what}: {expected} not documented"
        );
        let (status, v) = raw_post(&s.base, path, ctype, body);
        let short = v.to_string().chars().take(300).collect::<String>();
        if status != 200 || v["code"].as_i64() != Some(*expected) {
            failures.push(format!(
                "{what}: HTTP {status}, expected {expected}: {short}"
            ));
        }
        if v.to_string().len() > 4000 {
            failures.push(format!(
                "{what}: the answer echoes the huge input ({} bytes)",
                v.to_string().len()
            ));
        }
    }

    // Unknown top-level fields are ignored (as the seed does); the order goes through.
    let (status, v) = s.post(
        "/receipt/submit",
        &[
            ("key", &key),
            ("pic_id", &pic),
            ("notice_url", notice),
            ("param", &support::gd_param()),
            ("colour_of_socks", "red"),
        ],
    );
    if status != 200 || code(&v) != 0 {
        failures.push(format!("unknown top-level field: {v}"));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
