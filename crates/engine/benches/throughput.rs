//! Throughput, latency percentiles, per-stage medians and peak memory of `Engine::make`, on one
//! worker and on two in parallel, next to a bare libjpeg-turbo round trip of the same file
//! measured in the same run. Prints Markdown tables (bench/engine.sh puts them in bench/out).
//!
//! ```text
//! cargo bench -p engine --bench throughput -- [--reps N] [INPUT…]   # INPUT: 12mp, 1mp-prog, …
//! ```

#[path = "common/mod.rs"]
mod common;

use common::{median, quantile, RoundTrip};
use std::time::Instant;

struct Args {
    reps: usize,
    inputs: Vec<String>,
    /// Where to write the summary as JSON (for bench/engine.sh's ratios).
    json: Option<String>,
}

fn args() -> Args {
    let mut reps = 30;
    let mut inputs = Vec::new();
    let mut json = None;
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--bench" => {}
            "--reps" => reps = it.next().and_then(|v| v.parse().ok()).unwrap_or(reps),
            "--json" => json = it.next(),
            _ => inputs.push(a),
        }
    }
    if inputs.is_empty() {
        inputs = common::INPUTS.iter().map(|s| s.to_string()).collect();
    }
    Args { reps, inputs, json }
}

/// Peak resident memory since the last reset, in MB (Linux: VmHWM; reset via clear_refs).
fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn reset_peak_rss() {
    // "5" resets the peak resident set size (Linux ≥ 4.0); harmless if refused.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// One worker's make latencies (ms) and each make's stage times.
type WorkerTimes = (Vec<f64>, Vec<Vec<(&'static str, f64)>>);

/// One run of `workers` threads, each making `reps` photos from `bytes`.
struct Run {
    latencies: Vec<f64>,
    stages: Vec<(&'static str, Vec<f64>)>,
    photos_per_s: f64,
    peak_mb: f64,
}

fn run(engine: &engine::Engine, bytes: &[u8], workers: usize, reps: usize) -> Run {
    let spec = common::spec(common::SPEC);
    // Warm-up: sessions for every worker, buffer pool, allocator.
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                common::make_once(engine, bytes, &spec);
                common::take_stages();
            });
        }
    });
    reset_peak_rss();
    let start = Instant::now();
    let per_worker: Vec<WorkerTimes> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let (mut lat, mut st) = (Vec::new(), Vec::new());
                    for _ in 0..reps {
                        let t = Instant::now();
                        common::make_once(engine, bytes, &spec);
                        lat.push(t.elapsed().as_secs_f64() * 1e3);
                        st.push(common::take_stages());
                    }
                    (lat, st)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("worker"))
            .collect()
    });
    let wall = start.elapsed().as_secs_f64();
    let peak_mb = peak_rss_mb();
    let mut latencies = Vec::new();
    let mut stages: Vec<(&'static str, Vec<f64>)> =
        common::STAGES.iter().map(|&n| (n, Vec::new())).collect();
    for (lat, st) in per_worker {
        latencies.extend(lat);
        for one in st {
            for (name, v) in &mut stages {
                v.push(one.iter().find(|(n, _)| n == name).map_or(0.0, |e| e.1));
            }
        }
    }
    Run {
        photos_per_s: (workers * reps) as f64 / wall,
        latencies,
        stages,
        peak_mb,
    }
}

fn round_trip_ms(bytes: &[u8], reps: usize) -> f64 {
    let mut rt = RoundTrip::new();
    rt.run(bytes);
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let s = Instant::now();
            std::hint::black_box(rt.run(bytes));
            s.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    median(&mut t)
}

fn main() {
    let a = args();
    common::record_stages();
    let t = Instant::now();
    let engine = common::engine();
    eprintln!("models loaded in {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
    println!(
        "| input | workers | make p50 ms | p90 ms | photos/s | round trip p50 ms | p50 / round trip | peak RSS MB |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut stage_rows = Vec::new();
    let mut summary = Vec::new();
    for name in &a.inputs {
        let Some(bytes) = common::input(name) else {
            continue;
        };
        let rt = round_trip_ms(&bytes, a.reps.max(10));
        for workers in [1usize, 2] {
            let mut r = run(&engine, &bytes, workers, a.reps);
            let p50 = median(&mut r.latencies);
            let p90 = quantile(&mut r.latencies, 0.9);
            println!(
                "| {name} | {workers} | {p50:.1} | {p90:.1} | {:.1} | {rt:.1} | {:.2} | {:.0} |",
                r.photos_per_s,
                p50 / rt,
                r.peak_mb
            );
            summary.push(format!(
                "\"{name}/{workers}\": {{\"p50_ms\": {p50:.2}, \"p90_ms\": {p90:.2}, \"photos_per_s\": {:.2}, \"round_trip_ms\": {rt:.2}, \"peak_rss_mb\": {:.1}}}",
                r.photos_per_s, r.peak_mb
            ));
            let cells: Vec<String> = r
                .stages
                .iter_mut()
                .map(|(_, v)| format!("{:.1}", median(v)))
                .collect();
            stage_rows.push(format!("| {name} | {workers} | {} |", cells.join(" | ")));
        }
    }
    println!();
    println!("Per-stage medians, ms:");
    println!();
    println!("| input | workers | {} |", common::STAGES.join(" | "));
    println!("|---|---|{}", "---|".repeat(common::STAGES.len()));
    for row in stage_rows {
        println!("{row}");
    }
    if let Some(path) = a.json {
        let body = format!("{{\n{}\n}}\n", summary.join(",\n"));
        if let Err(e) = std::fs::write(&path, body) {
            eprintln!("cannot write {path}: {e}");
        }
    }
}
