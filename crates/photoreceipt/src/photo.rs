//! `photoreceipt photo make`: ID photos offline, no server.

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use engine::sheet::Paper;
use engine::{Engine, EngineError, MakeOptions};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use server::codes::ApiError;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Args)]
pub struct PhotoCmd {
    #[command(subcommand)]
    pub action: PhotoAction,
}

#[derive(Subcommand)]
pub enum PhotoAction {
    /// Make ID photos from portraits (files or folders).
    Make(MakeArgs),
}

#[derive(Args)]
pub struct MakeArgs {
    /// Portraits (JPEG or PNG), or folders of them.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// The spec: an item_id or a slug (see `photoreceipt specs list`).
    #[arg(long)]
    spec: String,
    /// Background colours, comma-separated; all of the spec's by default.
    #[arg(long, value_delimiter = ',')]
    color: Option<Vec<String>>,
    /// Where the files go.
    #[arg(long, default_value = ".")]
    out: PathBuf,
    /// Also make a print sheet.
    #[arg(long, value_enum)]
    sheet: Vec<SheetArg>,
    /// Print one JSON object per photo instead of the table.
    #[arg(long)]
    json: bool,
    /// Where the models are (default: $PHOTORECEIPT_MODELS_DIR, ./models).
    #[arg(long, env = "PHOTORECEIPT_MODELS_DIR")]
    models: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum SheetArg {
    #[value(name = "6inch")]
    SixInch,
    #[value(name = "5inch")]
    FiveInch,
    A4,
}

impl SheetArg {
    fn paper(self) -> (Paper, &'static str) {
        match self {
            SheetArg::SixInch => (Paper::SixInch, "6inch"),
            SheetArg::FiveInch => (Paper::FiveInch, "5inch"),
            SheetArg::A4 => (Paper::A4, "a4"),
        }
    }
}

pub fn run(cmd: PhotoCmd) -> anyhow::Result<ExitCode> {
    match cmd.action {
        PhotoAction::Make(args) => make(args),
    }
}

fn make(args: MakeArgs) -> anyhow::Result<ExitCode> {
    let catalogue = catalogue::Catalogue::builtin();
    let Some(spec) = catalogue.find(&args.spec) else {
        bail!(
            "unknown spec {:?}: see `photoreceipt specs list`",
            args.spec
        );
    };
    let photo_spec = platform::photo_spec::photo_spec(spec);
    let files = collect_inputs(&args.inputs)?;
    let dir = args
        .models
        .clone()
        .unwrap_or_else(engine::vision::Models::default_dir);
    let engine = Engine::load(&dir).with_context(|| {
        format!(
            "loading models from {} (run scripts/fetch-models)",
            dir.display()
        )
    })?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let opts = MakeOptions {
        colors: args.color.clone(),
        png: true,
        sheets: args.sheet.iter().map(|s| s.paper().0).collect(),
        ..Default::default()
    };
    let bar = ProgressBar::new(files.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    if files.len() < 2 {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let results: Vec<_> = files
        .par_iter()
        .map(|f| {
            let r = make_one(&engine, f, &photo_spec, &opts, &args);
            bar.inc(1);
            (f, r)
        })
        .collect();
    bar.finish_and_clear();
    let mut failed = 0;
    for (file, result) in results {
        match result {
            Ok(line) => println!("{line}"),
            Err(Refusal::Engine(e)) => {
                failed += 1;
                let api = ApiError::from(&e);
                if args.json {
                    println!(
                        "{}",
                        serde_json::json!({"input": file, "code": api.code, "msg": api.msg, "msg_en": api.msg_en})
                    );
                } else {
                    eprintln!(
                        "{}: refused, code {}: {} ({})",
                        file.display(),
                        api.code,
                        api.msg,
                        api.msg_en
                    );
                }
            }
            Err(Refusal::Io(e)) => {
                failed += 1;
                eprintln!("{}: {e:#}", file.display());
            }
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

enum Refusal {
    Engine(EngineError),
    Io(anyhow::Error),
}

fn make_one(
    engine: &Engine,
    file: &Path,
    spec: &engine::PhotoSpec,
    opts: &MakeOptions,
    args: &MakeArgs,
) -> Result<String, Refusal> {
    let bytes = std::fs::read(file)
        .with_context(|| format!("reading {}", file.display()))
        .map_err(Refusal::Io)?;
    let made = engine.make(&bytes, spec, opts).map_err(Refusal::Engine)?;
    let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("photo");
    let base = format!("{stem}-{}", spec.slug);
    let mut written = Vec::new();
    let mut write = |name: String, data: &[u8]| -> Result<(), Refusal> {
        let path = args.out.join(&name);
        std::fs::write(&path, data)
            .with_context(|| format!("writing {}", path.display()))
            .map_err(Refusal::Io)?;
        written.push(path);
        Ok(())
    };
    for p in &made.photos {
        write(format!("{base}-{}.jpg", p.color.name), &p.jpeg)?;
    }
    if let Some(png) = &made.png {
        write(format!("{base}.png"), png)?;
    }
    for (paper, jpeg) in &made.sheets {
        let name = args
            .sheet
            .iter()
            .map(|s| s.paper())
            .find(|(p, _)| p == paper)
            .map(|(_, n)| n)
            .unwrap_or("sheet");
        write(format!("{base}-sheet-{name}.jpg"), jpeg)?;
    }
    if args.json {
        let v = serde_json::json!({"input": file, "files": written, "checks": made.report});
        return Ok(v.to_string());
    }
    Ok(render_report(file, &written, &made.report))
}

fn render_report(file: &Path, written: &[PathBuf], report: &engine::checks::Report) -> String {
    let mut s = format!(
        "{}: {}\n",
        file.display(),
        if report.pass {
            "all checks pass"
        } else {
            "some checks fail"
        }
    );
    for p in written {
        s += &format!("  wrote {}\n", p.display());
    }
    for c in &report.checks {
        let range = c
            .expected
            .map(|b| format!(" [{:.1}, {:.1}]", b.min, b.max.min(9999.0)))
            .unwrap_or_default();
        s += &format!(
            "  {:<5} {:<17} {:>8.2}{range}  {}\n",
            if c.pass { "ok" } else { "FAIL" },
            c.rule,
            c.value,
            if c.pass { "" } else { c.msg_en }
        );
    }
    s.trim_end().to_string()
}

/// Files as given, and the JPEG/PNG files inside given folders (sorted).
fn collect_inputs(inputs: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in inputs {
        if p.is_dir() {
            let mut found: Vec<_> = std::fs::read_dir(p)
                .with_context(|| format!("reading {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| {
                    let ext = f
                        .extension()
                        .and_then(|e| e.to_str())
                        .unwrap_or("")
                        .to_ascii_lowercase();
                    matches!(ext.as_str(), "jpg" | "jpeg" | "png")
                })
                .collect();
            found.sort();
            out.extend(found);
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            bail!("{} does not exist", p.display());
        }
    }
    Ok(out)
}
