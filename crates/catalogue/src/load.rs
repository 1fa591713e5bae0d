//! Reading the data files (JSON) into `Spec`s: units, defaults and sanity checks.

use crate::spec::{Band, Category, Color, ParamKind, ParamRule, ReceiptRule, Spec};
use crate::CatalogueError;
use serde::Deserialize;

/// Head height (crown to chin) where a standard is silent: fraction of frame height.
pub const DEFAULT_HEAD_RATIO: [f32; 2] = [0.60, 0.78];
/// Crown gap (top edge to crown) where a standard is silent: fraction of frame height.
pub const DEFAULT_CROWN_RATIO: [f32; 2] = [0.05, 0.14];
/// Eye line (top edge to pupils) where a standard gives no head figures: fraction of frame height.
pub const DEFAULT_EYE_RATIO: [f32; 2] = [0.36, 0.52];
/// Where the eye line sits from crown to chin on real faces, with margin; used to
/// derive the eye band from the head and crown bands.
pub const EYE_IN_HEAD: [f32; 2] = [0.40, 0.55];
/// dpi assumed when a standard gives pixels only.
pub const DEFAULT_DPI: u32 = 300;
/// Receipt prices where the data gives none (the seed: 7 yuan per order, 7 yuan print).
pub const DEFAULT_PRICE_FEN: u32 = 700;
pub const DEFAULT_PRINT_PRICE_FEN: u32 = 700;

/// The named background colours (see the crate docs for where the values come from).
pub const PALETTE: &[(&str, [u8; 3])] = &[
    ("white", [0xFF, 0xFF, 0xFF]),
    ("blue", [0x43, 0x8E, 0xDB]),
    ("red", [0xFF, 0x00, 0x00]),
    ("grey", [0xE6, 0xE6, 0xE6]),
    ("light_blue", [0x80, 0xCF, 0xFF]),
    ("dark_blue", [0x4B, 0x61, 0x90]),
    ("cream", [0xF0, 0xED, 0xE8]),
];

/// Attribution of an imported data set.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Attribution {
    pub name: String,
    pub version: String,
    pub license: String,
    pub copyright: String,
    pub url: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    dataset: String,
    #[serde(default)]
    attribution: Option<Attribution>,
    specs: Vec<RawSpec>,
    /// Ids no longer in use; never given out again.
    #[serde(default)]
    #[allow(dead_code)]
    retired: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    item_id: u32,
    slug: String,
    name: String,
    name_en: String,
    country: String,
    category: Category,
    width_px: u32,
    height_px: u32,
    width_mm: Option<f32>,
    height_mm: Option<f32>,
    dpi: Option<u32>,
    colors: Vec<RawColor>,
    head_height: Option<RawBand>,
    crown_gap: Option<RawBand>,
    eye_line: Option<RawBand>,
    face_width: Option<RawBand>,
    file_size_min: Option<u32>,
    file_size_max: Option<u32>,
    format: Option<String>,
    source: String,
    #[serde(default)]
    notes: Vec<String>,
    receipt: Option<RawReceipt>,
    /// The key of the format in an imported data set (kept for re-imports).
    #[allow(dead_code)]
    upstream_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawColor {
    Named(String),
    Rgb { name: String, rgb: String },
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum RawBand {
    Px([f32; 2]),
    Mm([f32; 2]),
    /// Fraction of the frame height (of the width for face width).
    Ratio([f32; 2]),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReceipt {
    params: Vec<RawParam>,
    price_fen: Option<u32>,
    print_price_fen: Option<u32>,
    validity_days: u32,
    #[serde(default)]
    print_sheet: bool,
    #[serde(default = "yes")]
    enabled: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParam {
    field: String,
    required: bool,
}

/// Parses one data file.
pub(crate) fn parse_file(
    name: &str,
    text: &str,
) -> Result<(Vec<Spec>, Option<Attribution>), CatalogueError> {
    let raw: RawFile = serde_json::from_str(text).map_err(|source| CatalogueError::Parse {
        file: name.to_string(),
        source,
    })?;
    let dataset = raw.dataset;
    let specs = raw
        .specs
        .into_iter()
        .map(|r| {
            let id = r.item_id;
            build(r).map_err(|reason| CatalogueError::Invalid {
                file: dataset.clone(),
                item_id: id,
                reason,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((specs, raw.attribution))
}

/// Scale of one axis: pixels per mm and the frame size in px.
#[derive(Clone, Copy)]
struct Axis {
    px_per_mm: f32,
    frame: f32,
}

fn to_px(band: RawBand, axis: Axis) -> Band {
    let [a, b] = match band {
        RawBand::Px(v) => v,
        RawBand::Mm(v) => v.map(|x| x * axis.px_per_mm),
        RawBand::Ratio(v) => v.map(|x| x * axis.frame),
    };
    Band::new(a.round(), b.round())
}

fn build(r: RawSpec) -> Result<Spec, String> {
    check_ident(&r)?;
    if r.width_px == 0 || r.height_px == 0 {
        return Err("width_px and height_px must be positive".into());
    }
    let dpi = r.dpi.unwrap_or(DEFAULT_DPI);
    let nominal = |px: u32| (px as f32 * 25.4 / dpi as f32 * 100.0).round() / 100.0;
    let nominal_mm = r.width_mm.is_none() || r.height_mm.is_none();
    let width_mm = r.width_mm.unwrap_or_else(|| nominal(r.width_px));
    let height_mm = r.height_mm.unwrap_or_else(|| nominal(r.height_px));
    if dpi == 0 || width_mm <= 0.0 || height_mm <= 0.0 {
        return Err("dpi and mm must be positive".into());
    }
    let v = Axis {
        px_per_mm: r.height_px as f32 / height_mm,
        frame: r.height_px as f32,
    };
    let h = Axis {
        px_per_mm: r.width_px as f32 / width_mm,
        frame: r.width_px as f32,
    };
    let geometry = geometry(&r, v);
    let face_width = r.face_width.map(|b| to_px(b, h));
    let spec = Spec {
        item_id: r.item_id,
        slug: r.slug,
        name: r.name,
        name_en: r.name_en,
        country: r.country,
        category: r.category,
        width_px: r.width_px,
        height_px: r.height_px,
        width_mm,
        height_mm,
        dpi,
        nominal_mm,
        colors: r.colors.into_iter().map(color).collect::<Result<_, _>>()?,
        head_height: geometry[0],
        crown_gap: geometry[1],
        eye_line: geometry[2],
        face_width,
        file_size_min: r.file_size_min,
        file_size_max: r.file_size_max,
        format: r.format.unwrap_or_else(|| "jpg".into()),
        source: r.source,
        notes: r.notes,
        receipt: r.receipt.map(receipt).transpose()?,
    };
    check_spec(&spec)?;
    Ok(spec)
}

/// Head height, crown gap and eye line in px, filling gaps with the defaults.
fn geometry(r: &RawSpec, v: Axis) -> [Band; 3] {
    let frame = v.frame;
    let default = |ratio: [f32; 2]| to_px(RawBand::Ratio(ratio), v);
    let head = r.head_height.map(|b| to_px(b, v));
    let crown = r.crown_gap.map(|b| to_px(b, v));
    let eye = match (r.eye_line, head, crown) {
        (Some(b), _, _) => to_px(b, v),
        (None, None, None) => default(DEFAULT_EYE_RATIO),
        (None, _, _) => {
            let head = head.unwrap_or_else(|| default(DEFAULT_HEAD_RATIO));
            let crown = crown.unwrap_or_else(|| default(DEFAULT_CROWN_RATIO));
            let lo = crown.min + EYE_IN_HEAD[0] * head.min;
            let hi = crown.max + EYE_IN_HEAD[1] * head.max;
            Band::new(lo.round().max(0.0), hi.round().min(frame))
        }
    };
    [
        head.unwrap_or_else(|| default(DEFAULT_HEAD_RATIO)),
        crown.unwrap_or_else(|| default(DEFAULT_CROWN_RATIO)),
        eye,
    ]
}

fn color(c: RawColor) -> Result<Color, String> {
    match c {
        RawColor::Named(name) => PALETTE
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, rgb)| Color {
                name: n.to_string(),
                rgb: *rgb,
            })
            .ok_or_else(|| format!("unknown colour name `{name}`")),
        RawColor::Rgb { name, rgb } => match Color::parse_hex(&rgb) {
            Some(rgb) => Ok(Color { name, rgb }),
            None => Err(format!("colour `{name}`: bad rgb `{rgb}`")),
        },
    }
}

fn receipt(r: RawReceipt) -> Result<ReceiptRule, String> {
    let mut params: Vec<ParamRule> = Vec::with_capacity(r.params.len());
    for p in r.params {
        let kind = ParamKind::for_field(&p.field)
            .ok_or_else(|| format!("unknown receipt param `{}`", p.field))?;
        if params.iter().any(|q| q.field == p.field) {
            return Err(format!("receipt param `{}` twice", p.field));
        }
        params.push(ParamRule {
            field: p.field,
            required: p.required,
            kind,
        });
    }
    Ok(ReceiptRule {
        params,
        price_fen: r.price_fen.unwrap_or(DEFAULT_PRICE_FEN),
        print_price_fen: r.print_price_fen.unwrap_or(DEFAULT_PRINT_PRICE_FEN),
        validity_days: r.validity_days,
        print_sheet: r.print_sheet,
        enabled: r.enabled,
    })
}

fn check_ident(r: &RawSpec) -> Result<(), String> {
    if r.item_id == 0 {
        return Err("item_id must be positive".into());
    }
    let slug_ok = !r.slug.is_empty()
        && r.slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !slug_ok {
        return Err(format!(
            "slug `{}` must be lower-case ascii, digits and -",
            r.slug
        ));
    }
    let country_ok = r.country.len() == 2 && r.country.bytes().all(|b| b.is_ascii_uppercase());
    if !country_ok {
        return Err(format!("country `{}` must be ISO alpha-2", r.country));
    }
    if r.name.trim().is_empty() || r.name_en.trim().is_empty() || r.source.trim().is_empty() {
        return Err("name, name_en and source must not be empty".into());
    }
    Ok(())
}

fn check_spec(s: &Spec) -> Result<(), String> {
    if s.colors.is_empty() {
        return Err("no background colour".into());
    }
    let bands = [
        ("head_height", Some(s.head_height)),
        ("crown_gap", Some(s.crown_gap)),
        ("eye_line", Some(s.eye_line)),
        ("face_width", s.face_width),
    ];
    for (name, band) in bands {
        if let Some(b) = band {
            if !(b.min >= 0.0 && b.min <= b.max) {
                return Err(format!("{name}: bad band {}..{}", b.min, b.max));
            }
        }
    }
    if let (Some(min), Some(max)) = (s.file_size_min, s.file_size_max) {
        if min > max {
            return Err(format!("file size band {min}..{max} KB is empty"));
        }
    }
    Ok(())
}
