//! `photoreceipt specs list|show`: the spec catalogue on the command line.

use anyhow::{bail, Context};
use catalogue::{Band, Catalogue, Filter, Spec};
use clap::{Args, Subcommand};
use std::io::{self, Write};
use std::process::ExitCode;

#[derive(Args)]
pub struct SpecsCmd {
    #[command(subcommand)]
    pub action: SpecsAction,
}

#[derive(Subcommand)]
pub enum SpecsAction {
    /// List specs as a table (or JSON, as `/item/list` shows them).
    List(ListArgs),
    /// Show one spec in detail.
    Show(ShowArgs),
}

#[derive(Args)]
pub struct ListArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Only specs that take receipt orders.
    #[arg(long)]
    pub receipt_only: bool,
    /// Only this country (ISO alpha-2, e.g. CN).
    #[arg(long, value_name = "CC")]
    pub country: Option<String>,
}

#[derive(Args)]
pub struct ShowArgs {
    /// The spec's item_id or slug.
    pub key: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(cmd: SpecsCmd) -> anyhow::Result<ExitCode> {
    let catalogue = Catalogue::try_builtin().context("loading the built-in catalogue")?;
    let mut out = io::stdout().lock();
    let written = match cmd.action {
        SpecsAction::List(args) => list(catalogue, &args, &mut out),
        SpecsAction::Show(args) => {
            let Some(spec) = catalogue.find(&args.key) else {
                bail!(
                    "no spec with item_id or slug `{}` (see `photoreceipt specs list`)",
                    args.key
                );
            };
            show(catalogue, spec, args.json, &mut out)
        }
    };
    match written {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        other => other.map(|()| ExitCode::SUCCESS).map_err(Into::into),
    }
}

fn list(c: &Catalogue, args: &ListArgs, out: &mut impl Write) -> io::Result<()> {
    if let Some(cc) = &args.country {
        let ok = cc.len() == 2 && cc.bytes().all(|b| b.is_ascii_alphabetic());
        if !ok {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("--country takes an ISO alpha-2 code such as CN, not `{cc}`"),
            ));
        }
    }
    let filter = Filter {
        receipt_only: args.receipt_only,
        country: args.country.clone(),
    };
    let specs: Vec<&Spec> = c.select(&filter).collect();
    if args.json {
        let list: Vec<_> = specs.iter().map(|s| s.api()).collect();
        serde_json::to_writer_pretty(&mut *out, &list)?;
        return writeln!(out);
    }
    table(&specs, out)?;
    writeln!(out, "\n{} specs", specs.len())?;
    for a in c.attributions() {
        writeln!(
            out,
            "item_id ≥ 10000: {} {} ({}, {})",
            a.name, a.version, a.license, a.copyright
        )?;
    }
    Ok(())
}

const HEADER: [&str; 9] = [
    "ID", "SLUG", "NAME", "PX", "MM", "DPI", "COLOURS", "KB", "RECEIPT",
];

fn row(s: &Spec) -> [String; 9] {
    let kb = s.kb_target();
    let kb_mark = if s.file_size_min.is_none() && s.file_size_max.is_none() {
        "~"
    } else {
        ""
    };
    let colours: Vec<&str> = s.colors.iter().map(|c| c.name.as_str()).collect();
    [
        s.item_id.to_string(),
        s.slug.clone(),
        s.name.clone(),
        format!("{}×{}", s.width_px, s.height_px),
        format!("{}×{}", num(s.width_mm), num(s.height_mm)),
        s.dpi.to_string(),
        colours.join(","),
        format!("{kb_mark}{}-{}", kb.min, kb.max),
        receipt_cell(s),
    ]
}

fn receipt_cell(s: &Spec) -> String {
    match s.receipt.as_ref().filter(|r| r.enabled) {
        None => "-".into(),
        Some(r) => {
            let print = if r.print_sheet { " +print" } else { "" };
            format!("¥{} {}d{print}", yuan(r.price_fen), r.validity_days)
        }
    }
}

fn table(specs: &[&Spec], out: &mut impl Write) -> io::Result<()> {
    let rows: Vec<[String; 9]> = specs.iter().map(|s| row(s)).collect();
    let mut widths = HEADER.map(display_width);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(display_width(cell));
        }
    }
    let header = HEADER.map(String::from);
    for r in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (i, (cell, w)) in r.iter().zip(widths).enumerate() {
            line.push_str(cell);
            if i + 1 < r.len() {
                line.push_str(&" ".repeat(w - display_width(cell) + 2));
            }
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

fn show(c: &Catalogue, s: &Spec, json: bool, out: &mut impl Write) -> io::Result<()> {
    if json {
        serde_json::to_writer_pretty(&mut *out, &s.api())?;
        return writeln!(out);
    }
    let kb = s.kb_target();
    let kb_from = match (s.file_size_min, s.file_size_max) {
        (None, None) => "default band",
        (Some(_), Some(_)) => "standard",
        _ => "standard, gap filled by default",
    };
    let mm_note = if s.nominal_mm {
        " (nominal: the standard gives px only)"
    } else {
        ""
    };
    let colours: Vec<String> = s
        .colors
        .iter()
        .map(|c| format!("{} {}", c.name, c.hex()))
        .collect();
    writeln!(out, "item_id      {}", s.item_id)?;
    writeln!(out, "slug         {}", s.slug)?;
    writeln!(out, "name         {}", s.name)?;
    writeln!(out, "name_en      {}", s.name_en)?;
    writeln!(out, "country      {}", s.country)?;
    writeln!(out, "category     {}", s.category.as_str())?;
    writeln!(
        out,
        "size         {}×{} px, {}×{} mm{mm_note}, {} dpi",
        s.width_px,
        s.height_px,
        num(s.width_mm),
        num(s.height_mm),
        s.dpi
    )?;
    writeln!(out, "colours      {}", colours.join(", "))?;
    writeln!(out, "head height  {} (crown to chin)", band(s.head_height))?;
    writeln!(
        out,
        "crown gap    {} (top edge to crown)",
        band(s.crown_gap)
    )?;
    writeln!(out, "eye line     {} (top edge to eyes)", band(s.eye_line))?;
    let face = s.face_width.map(band).unwrap_or_else(|| "-".into());
    writeln!(out, "face width   {face}")?;
    writeln!(out, "file size    {}-{} KB ({kb_from})", kb.min, kb.max)?;
    writeln!(out, "format       {}", s.format)?;
    receipt_lines(s, out)?;
    writeln!(out, "source       {}", s.source)?;
    for (i, note) in s.notes.iter().enumerate() {
        let label = if i == 0 {
            "notes       "
        } else {
            "            "
        };
        writeln!(out, "{label} - {note}")?;
    }
    if s.item_id >= 10_000 {
        for a in c.attributions() {
            writeln!(
                out,
                "licence      {} {}: {}",
                a.name, a.license, a.copyright
            )?;
        }
    }
    Ok(())
}

fn receipt_lines(s: &Spec, out: &mut impl Write) -> io::Result<()> {
    let Some(r) = s.receipt.as_ref() else {
        return writeln!(out, "receipt      no");
    };
    let state = if r.enabled { "yes" } else { "disabled" };
    writeln!(
        out,
        "receipt      {state}: ¥{} per order (print ¥{}), valid {} days, print sheet {}",
        yuan(r.price_fen),
        yuan(r.print_price_fen),
        r.validity_days,
        if r.print_sheet { "yes" } else { "no" }
    )?;
    for p in &r.params {
        let need = if p.required { "required" } else { "optional" };
        let kind = serde_json::to_value(p.kind).unwrap_or_default();
        writeln!(
            out,
            "  param      {} ({need}, {})",
            p.field,
            kind.as_str().unwrap_or("")
        )?;
    }
    Ok(())
}

fn band(b: Band) -> String {
    format!("{}-{} px", b.min, b.max)
}

fn yuan(fen: u32) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

/// `35` for whole numbers, `40.64` otherwise.
fn num(v: f32) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// Terminal columns of `s`: wide (CJK, full-width) characters take two.
fn display_width(s: &str) -> usize {
    s.chars()
        .map(|c| match c as u32 {
            0x1100..=0x115F
            | 0x2E80..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x20000..=0x3FFFD => 2,
            _ => 1,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_characters_take_two_columns() {
        assert_eq!(display_width("一寸"), 4);
        assert_eq!(display_width("a·b"), 3);
        assert_eq!(display_width("驾驶证（广东回执）"), 18);
    }

    #[test]
    fn money_and_numbers() {
        assert_eq!(yuan(700), "7.00");
        assert_eq!(yuan(1205), "12.05");
        assert_eq!(num(35.0), "35");
        assert_eq!(num(40.64), "40.64");
    }
}
