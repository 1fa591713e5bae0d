//! Shared by the engine's benchmarks: inputs from bench/out, the spec, the bare libjpeg-turbo
//! round trip every make is compared with, and per-stage timing from the pipeline's spans.
#![allow(dead_code)]

use engine::{Engine, MakeOptions, PhotoSpec};
use std::cell::RefCell;
use std::path::PathBuf;
use std::time::Instant;
use tracing::span;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

#[path = "../../tests/common/mod.rs"]
mod tests_common;
pub use tests_common::spec;

/// The spec every benchmark makes: 一寸, 295×413 px, three colours (white, blue, red).
pub const SPEC: &str = "size-1-inch";

/// Inputs made by `bench/make-inputs.py`.
pub const INPUTS: [&str; 5] = ["12mp", "12mp-prog", "12mp-rot", "1mp", "1mp-prog"];

pub fn input_dir() -> PathBuf {
    std::env::var_os("BENCH_INPUTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../bench/out"))
}

/// The bytes of one input, or `None` (with a hint) when bench/make-inputs.py has not run.
pub fn input(name: &str) -> Option<Vec<u8>> {
    let path = input_dir().join(format!("{name}.jpg"));
    match std::fs::read(&path) {
        Ok(b) => Some(b),
        Err(e) => {
            eprintln!(
                "skipping {name}: {} ({e}); run bench/make-inputs.py",
                path.display()
            );
            None
        }
    }
}

pub fn engine() -> Engine {
    let dir = engine::vision::Models::default_dir();
    Engine::load(&dir).unwrap_or_else(|e| {
        panic!(
            "models missing in {} ({e}): run scripts/fetch-models",
            dir.display()
        )
    })
}

/// What `/receipt/make` asks for: every colour and the transparent PNG (no print sheet).
pub fn options() -> MakeOptions {
    MakeOptions {
        png: true,
        ..Default::default()
    }
}

pub fn make_once(engine: &Engine, bytes: &[u8], spec: &PhotoSpec) {
    let made = engine.make(bytes, spec, &options()).expect("make");
    assert!(!made.photos.is_empty());
}

/// A bare libjpeg-turbo round trip of the whole file: full-size decode to RGB, then encode at
/// quality 90, 4:2:0. Decoder, encoder and pixel buffer are reused, as the engine does.
pub struct RoundTrip {
    dec: turbojpeg::Decompressor,
    enc: turbojpeg::Compressor,
    pixels: Vec<u8>,
}

impl RoundTrip {
    pub fn new() -> Self {
        let mut enc = turbojpeg::Compressor::new().expect("compressor");
        enc.set_quality(90).expect("quality");
        enc.set_subsamp(turbojpeg::Subsamp::Sub2x2)
            .expect("subsamp");
        Self {
            dec: turbojpeg::Decompressor::new().expect("decompressor"),
            enc,
            pixels: Vec::new(),
        }
    }

    /// Returns the encoded size.
    pub fn run(&mut self, bytes: &[u8]) -> usize {
        let head = self.dec.read_header(bytes).expect("header");
        let (w, h) = (head.width, head.height);
        self.pixels.resize(w * h * 3, 0);
        let img = turbojpeg::Image {
            pixels: self.pixels.as_mut_slice(),
            width: w,
            pitch: w * 3,
            height: h,
            format: turbojpeg::PixelFormat::RGB,
        };
        self.dec.decompress(bytes, img).expect("decode");
        let img = turbojpeg::Image {
            pixels: self.pixels.as_slice(),
            width: w,
            pitch: w * 3,
            height: h,
            format: turbojpeg::PixelFormat::RGB,
        };
        self.enc.compress_to_vec(img).expect("encode").len()
    }
}

impl Default for RoundTrip {
    fn default() -> Self {
        Self::new()
    }
}

/// Pipeline stages, in order: the names of `make.rs`'s spans.
pub const STAGES: [&str; 13] = [
    "decode_analysis",
    "detect",
    "decode_work",
    "mesh",
    "segment",
    "segment_head",
    "crop",
    "matte",
    "foreground",
    "checks",
    "encode",
    "png",
    "sheets",
];

thread_local! {
    /// Milliseconds per stage of the makes on this thread since the last `take_stages`.
    static STAGE_MS: RefCell<Vec<(&'static str, f64)>> = const { RefCell::new(Vec::new()) };
}

/// A tracing layer adding each engine span's time to this thread's `STAGE_MS`.
struct StageTimes;

impl<S: tracing::Subscriber + for<'a> LookupSpan<'a>> Layer<S> for StageTimes {
    fn on_enter(&self, id: &span::Id, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(Instant::now());
        }
    }

    fn on_exit(&self, id: &span::Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let Some(t) = span.extensions_mut().remove::<Instant>() else {
            return;
        };
        let ms = t.elapsed().as_secs_f64() * 1e3;
        STAGE_MS.with(|s| s.borrow_mut().push((span.name(), ms)));
    }
}

/// Records the engine's stage spans (debug level, target `engine`) for `take_stages`.
pub fn record_stages() {
    let filter =
        tracing_subscriber::filter::Targets::new().with_target("engine", tracing::Level::DEBUG);
    let subscriber = tracing_subscriber::registry().with(StageTimes.with_filter(filter));
    tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
}

/// Milliseconds per stage (summed over repeats of a name) since the last call, on this thread.
pub fn take_stages() -> Vec<(&'static str, f64)> {
    let raw = STAGE_MS.with(|s| std::mem::take(&mut *s.borrow_mut()));
    let mut out: Vec<(&'static str, f64)> = Vec::new();
    for (name, ms) in raw {
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some(e) => e.1 += ms,
            None => out.push((name, ms)),
        }
    }
    out
}

pub fn median(v: &mut [f64]) -> f64 {
    quantile(v, 0.5)
}

pub fn quantile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let i = ((v.len() - 1) as f64 * q).round() as usize;
    v[i]
}
