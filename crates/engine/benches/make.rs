//! Criterion: `Engine::make` end to end on one thread and two makes on two threads, the bare
//! libjpeg-turbo round trip of the same file it is compared with, and the intake and encode
//! stages on their own. Inputs: `bench/make-inputs.py` (run by bench/engine.sh).
//!
//! ```text
//! cargo bench -p engine --bench make                 # everything
//! cargo bench -p engine --bench make -- 'make/12mp'  # a filter
//! ```

#[path = "common/mod.rs"]
mod common;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use engine::{encode, intake};
use std::hint::black_box;
use std::time::Duration;

fn inputs() -> Vec<(&'static str, Vec<u8>)> {
    common::INPUTS
        .iter()
        .filter_map(|&n| common::input(n).map(|b| (n, b)))
        .collect()
}

fn round_trip(c: &mut Criterion) {
    let mut g = c.benchmark_group("roundtrip");
    g.sample_size(20).measurement_time(Duration::from_secs(4));
    for (name, bytes) in inputs() {
        let mut rt = common::RoundTrip::new();
        g.bench_function(name, |b| b.iter(|| rt.run(black_box(&bytes))));
    }
    g.finish();
}

fn make(c: &mut Criterion) {
    let engine = common::engine();
    let spec = common::spec(common::SPEC);
    let mut g = c.benchmark_group("make");
    g.sample_size(20).measurement_time(Duration::from_secs(6));
    for (name, bytes) in inputs() {
        g.throughput(Throughput::Elements(1));
        g.bench_function(name, |b| {
            b.iter(|| common::make_once(&engine, black_box(&bytes), &spec))
        });
    }
    g.finish();
}

/// Two makes at once on two threads: the time for the pair, and photos per second.
fn make_two_threads(c: &mut Criterion) {
    let engine = common::engine();
    let spec = common::spec(common::SPEC);
    let mut g = c.benchmark_group("make_x2");
    g.sample_size(15).measurement_time(Duration::from_secs(6));
    for (name, bytes) in inputs() {
        g.throughput(Throughput::Elements(2));
        g.bench_function(name, |b| {
            b.iter(|| {
                std::thread::scope(|s| {
                    s.spawn(|| common::make_once(&engine, &bytes, &spec));
                    common::make_once(&engine, &bytes, &spec);
                })
            })
        });
    }
    g.finish();
}

/// Intake on its own: the 1/8-scale analysis decode, the work decodes, the full decode.
fn decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode");
    g.sample_size(20).measurement_time(Duration::from_secs(3));
    for (name, bytes) in inputs() {
        for scale in [8u32, 4, 2, 1] {
            g.bench_function(format!("{name}/1:{scale}"), |b| {
                b.iter(|| {
                    let d = intake::decode_at_scale(black_box(&bytes), scale).expect("decode");
                    intake::recycle(d.image);
                })
            });
        }
    }
    g.finish();
}

/// The KB-band search: one 一寸 photo (295×413, its 10–60 KB band) and a tight band.
fn encode_band(c: &mut Criterion) {
    let Some(bytes) = common::input("1mp") else {
        return;
    };
    let spec = common::spec(common::SPEC);
    let img = intake::decode(&bytes, None).expect("decode").image;
    let photo = engine::raster::resize_rgb(&img, spec.width_px, spec.height_px).expect("resize");
    let (lo, hi) = (spec.file_size_kb.min, spec.file_size_kb.max);
    let mut g = c.benchmark_group("encode");
    g.sample_size(30);
    g.bench_function("band", |b| {
        b.iter_batched(
            || photo.clone(),
            |p| encode::encode_jpeg_in_band(&p, spec.dpi, lo, hi).expect("encode"),
            BatchSize::SmallInput,
        )
    });
    // A tight band: the ID card's 14–20 KB at 358×441, which needs a quality search.
    let id_card = engine::raster::resize_rgb(&img, 358, 441).expect("resize");
    g.bench_function("band_14_20kb", |b| {
        b.iter(|| {
            encode::encode_jpeg_in_band(black_box(&id_card), 350, 14.0, 20.0).expect("encode")
        })
    });
    g.bench_function("one_jpeg_q90", |b| {
        b.iter(|| encode::encode_jpeg(black_box(&photo), 90, spec.dpi).expect("encode"))
    });
    g.finish();
}

criterion_group!(
    benches,
    round_trip,
    make,
    make_two_threads,
    decode,
    encode_band
);
criterion_main!(benches);
