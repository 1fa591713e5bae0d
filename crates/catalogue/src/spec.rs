//! `Spec`: one document photo format, with every number in output pixels.

use serde::{Deserialize, Serialize};

/// An inclusive band `[min, max]` in output pixels (or KB for file sizes).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Band {
    pub min: f32,
    pub max: f32,
}

impl Band {
    pub fn new(min: f32, max: f32) -> Self {
        Self { min, max }
    }
    pub fn mid(&self) -> f32 {
        (self.min + self.max) / 2.0
    }
    pub fn contains(&self, v: f32) -> bool {
        v >= self.min && v <= self.max
    }
}

/// A background colour a photo of this spec may be made on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Color {
    /// The key in the seed's `list` (`white`, `blue`, `red`, `grey`, `light_blue`, ...).
    pub name: String,
    pub rgb: [u8; 3],
}

impl Color {
    /// `#RRGGBB`, upper case.
    pub fn hex(&self) -> String {
        let [r, g, b] = self.rgb;
        format!("#{r:02X}{g:02X}{b:02X}")
    }

    /// Parses `#RRGGBB` (or `RRGGBB`).
    pub fn parse_hex(s: &str) -> Option<[u8; 3]> {
        let s = s.strip_prefix('#').unwrap_or(s);
        if s.len() != 6 || !s.is_ascii() {
            return None;
        }
        let byte = |i: usize| u8::from_str_radix(&s[i..i + 2], 16).ok();
        Some([byte(0)?, byte(2)?, byte(4)?])
    }
}

/// What kind of document a spec is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    IdCard,
    SocialSecurity,
    DrivingLicence,
    Passport,
    TravelPermit,
    ResidencePermit,
    CommonSize,
    Exam,
    Visa,
    Other,
}

impl Category {
    pub fn as_str(&self) -> &'static str {
        match self {
            Category::IdCard => "id_card",
            Category::SocialSecurity => "social_security",
            Category::DrivingLicence => "driving_licence",
            Category::Passport => "passport",
            Category::TravelPermit => "travel_permit",
            Category::ResidencePermit => "residence_permit",
            Category::CommonSize => "common_size",
            Category::Exam => "exam",
            Category::Visa => "visa",
            Category::Other => "other",
        }
    }
}

/// The validator a receipt param goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamKind {
    /// Mainland mobile number, `1[3-9]` + 9 digits.
    Mobile,
    /// 18-character resident ID number (GB 11643).
    ResidentId,
    /// Person's name in Chinese characters, `·` allowed.
    Name,
    /// City name in Chinese characters.
    City,
    /// Base64 JPEG or PNG picture of the ID card, at most 5 MB.
    IdcardImage,
}

impl ParamKind {
    /// The kind of a seed param field, by its name.
    pub fn for_field(field: &str) -> Option<ParamKind> {
        match field {
            "text_mobile" => Some(ParamKind::Mobile),
            "text_idcard" => Some(ParamKind::ResidentId),
            "text_name" => Some(ParamKind::Name),
            "text_city" => Some(ParamKind::City),
            "image_idcard" => Some(ParamKind::IdcardImage),
            _ => None,
        }
    }
}

/// One `param` field a receipt order of this spec takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParamRule {
    pub field: String,
    pub required: bool,
    pub kind: ParamKind,
}

/// The receipt section of a spec that supports receipts (回执).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptRule {
    pub params: Vec<ParamRule>,
    /// Price of one completed order, in fen (700 = 7 yuan).
    pub price_fen: u32,
    /// Extra price when the order asks for print-and-mail (`is_print`), in fen.
    pub print_price_fen: u32,
    /// How long the receipt stays valid, in days.
    pub validity_days: u32,
    /// Whether a print-layout sheet (`image_print`) is delivered.
    pub print_sheet: bool,
    /// Orders are accepted only while enabled.
    pub enabled: bool,
}

/// One document photo format.
///
/// Geometry bands are in output pixels, measured from the top edge of the photo
/// (see the crate docs for the defaults used where a standard is silent).
#[derive(Debug, Clone, PartialEq)]
pub struct Spec {
    /// Stable forever: merchants store it.
    pub item_id: u32,
    pub slug: String,
    /// Chinese name.
    pub name: String,
    pub name_en: String,
    /// ISO 3166-1 alpha-2 (`CN`, `US`, ...; `EU` for Schengen).
    pub country: String,
    pub category: Category,
    pub width_px: u32,
    pub height_px: u32,
    pub width_mm: f32,
    pub height_mm: f32,
    pub dpi: u32,
    /// True when the standard gives pixels only and mm were derived at `dpi`.
    pub nominal_mm: bool,
    pub colors: Vec<Color>,
    /// Crown (top of hair) to chin.
    pub head_height: Band,
    /// Top edge to crown.
    pub crown_gap: Band,
    /// Top edge to the eye line (centre of the pupils).
    pub eye_line: Band,
    /// Face width, where the standard defines it.
    pub face_width: Option<Band>,
    /// File size band from the standard, in KB (1 KB = 1024 bytes).
    pub file_size_min: Option<u32>,
    pub file_size_max: Option<u32>,
    /// Output format, `jpg`.
    pub format: String,
    /// Where the numbers come from.
    pub source: String,
    /// Free-text requirements (expression, clothes, ...), for people.
    pub notes: Vec<String>,
    pub receipt: Option<ReceiptRule>,
}

/// Where the crown and chin go for a face whose eye line sits at `eye_ratio`
/// of the way from crown to chin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    pub crown_gap: f32,
    pub head_height: f32,
    pub eye_line: f32,
}

impl Spec {
    /// True when the spec takes receipt orders now.
    pub fn is_receipt(&self) -> bool {
        self.receipt.as_ref().is_some_and(|r| r.enabled)
    }

    pub fn color(&self, name: &str) -> Option<&Color> {
        self.colors.iter().find(|c| c.name == name)
    }

    /// The file-size band the engine should aim for, in KB: the standard's band,
    /// with the gaps filled by [`default_kb_band`].
    pub fn kb_target(&self) -> Band {
        let (dmin, dmax) = default_kb_band(self.width_px, self.height_px);
        let max = self
            .file_size_max
            .unwrap_or(dmax.max(self.file_size_min.unwrap_or(0) * 2));
        let min = match self.file_size_min {
            Some(min) => min,
            None if dmin < max => dmin,
            None => max / 3,
        };
        Band::new(min as f32, max as f32)
    }

    /// The largest relative gap between px and mm × dpi / 25.4, over both axes.
    pub fn px_mm_mismatch(&self) -> f32 {
        let axis = |px: u32, mm: f32| {
            let want = mm * self.dpi as f32 / 25.4;
            ((px as f32 - want) / want).abs()
        };
        axis(self.width_px, self.width_mm).max(axis(self.height_px, self.height_mm))
    }

    /// A crown gap and head height inside the bands that put the eye line of a
    /// face with this `eye_ratio` (crown→eye / crown→chin) inside the eye band,
    /// with the chin inside the frame. The head height nearest the band's middle wins.
    pub fn placement(&self, eye_ratio: f32) -> Option<Placement> {
        let frame = self.height_px as f32;
        let (hb, cb, eb) = (self.head_height, self.crown_gap, self.eye_line);
        let steps = 200;
        (0..=steps)
            .map(|i| hb.min + (hb.max - hb.min) * i as f32 / steps as f32)
            .filter_map(|h| {
                let lo = cb.min.max(eb.min - eye_ratio * h).max(0.0);
                let hi = cb.max.min(eb.max - eye_ratio * h).min(frame - h);
                (lo <= hi).then(|| {
                    let c = (lo + hi) / 2.0;
                    Placement {
                        crown_gap: c,
                        head_height: h,
                        eye_line: c + eye_ratio * h,
                    }
                })
            })
            .min_by(|a, b| {
                let da = (a.head_height - hb.mid()).abs();
                let db = (b.head_height - hb.mid()).abs();
                da.total_cmp(&db)
            })
    }
}

/// The KB band used where a standard gives none: scaled with the pixel count
/// (about what JPEG at quality 85–95 gives for a portrait on a plain background).
/// min = pixels / 12000 clamped to 8..=60, max = pixels / 2000 clamped to 40..=300.
pub fn default_kb_band(width_px: u32, height_px: u32) -> (u32, u32) {
    let pixels = width_px as u64 * height_px as u64;
    let min = (pixels / 12_000).clamp(8, 60) as u32;
    let max = (pixels / 2_000).clamp(40, 300) as u32;
    (min, max)
}
