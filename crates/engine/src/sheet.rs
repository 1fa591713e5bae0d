//! Print sheets: copies of ID photos laid out on photo paper at 300 dpi, with cut marks.
//!
//! Cells are never rescaled: each photo's pixels are copied 1:1, so a photo must already be at
//! 300 dpi (a spec at another dpi is resampled by the caller first, e.g. `raster::resize_rgb`
//! to round(mm / 25.4 × 300) px). Margins are 3 mm, gaps 2 mm; both paper orientations are
//! tried and the one holding more copies wins (the sheet image is then portrait or landscape).

use crate::encode::encode_jpeg;
use crate::EngineError;
use image::RgbImage;

pub const SHEET_DPI: u32 = 300;
/// 3 mm at 300 dpi.
pub const MARGIN_PX: u32 = 35;
/// 2 mm at 300 dpi.
pub const GAP_PX: u32 = 24;
/// Length of a cut mark; under half a gap, so marks of neighbouring cells never touch.
pub const MARK_PX: u32 = 10;
const MARK_GREY: [u8; 3] = [150, 150, 150];
/// JPEG quality of a sheet: it is printed, not uploaded.
pub const SHEET_QUALITY: u8 = 95;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paper {
    /// 4R, 6 × 4 in: 1800 × 1200.
    SixInch,
    /// 3R, 5 × 3.5 in: 1500 × 1050.
    FiveInch,
    /// 210 × 297 mm: 2480 × 3508.
    A4,
}

impl Paper {
    /// Pixels at 300 dpi, in the paper's usual orientation.
    pub fn size_px(self) -> (u32, u32) {
        match self {
            Paper::SixInch => (1800, 1200),
            Paper::FiveInch => (1500, 1050),
            Paper::A4 => (2480, 3508),
        }
    }
}

/// How many copies of one photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Copies {
    /// As many as fit (only when the sheet holds a single photo).
    Fill,
    Exactly(u32),
}

/// One placed copy: `photo` indexes the request list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    pub photo: usize,
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub width: u32,
    pub height: u32,
    pub cells: Vec<Cell>,
    /// Free strip (x, y, w, h) under the lowest cell and its cut marks, for a caption such as
    /// the receipt number; at least most of the bottom margin.
    pub caption_area: (u32, u32, u32, u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SheetOptions {
    pub cut_marks: bool,
}

impl Default for SheetOptions {
    fn default() -> Self {
        Self { cut_marks: true }
    }
}

/// A rendered sheet and where each copy went.
#[derive(Debug, Clone)]
pub struct Sheet {
    pub image: RgbImage,
    pub layout: Layout,
}

impl Sheet {
    /// The sheet as a 300-dpi JPEG.
    pub fn to_jpeg(&self) -> Result<Vec<u8>, EngineError> {
        encode_jpeg(&self.image, SHEET_QUALITY, SHEET_DPI)
    }
}

fn unfit(detail: String) -> EngineError {
    EngineError::SpecUnmet {
        rule: "print_sheet".into(),
        detail,
    }
}

/// Place `(width_px, height_px, copies)` requests on the paper. `Fill` fills a uniform grid;
/// exact counts are shelf-packed, and an error says when they don't all fit.
pub fn layout(paper: Paper, requests: &[(u32, u32, Copies)]) -> Result<Layout, EngineError> {
    let (pw, ph) = paper.size_px();
    let orientations = [(pw, ph), (ph, pw)];
    if let [(w, h, Copies::Fill)] = requests {
        let best = orientations
            .iter()
            .map(|&(sw, sh)| grid(sw, sh, *w, *h))
            .max_by_key(|l| l.cells.len())
            .filter(|l| !l.cells.is_empty());
        return best.ok_or_else(|| unfit(format!("a {w}x{h} photo does not fit on {paper:?}")));
    }
    let mut items = Vec::new();
    for (i, &(w, h, copies)) in requests.iter().enumerate() {
        let Copies::Exactly(n) = copies else {
            return Err(EngineError::Internal(
                "Copies::Fill on a mixed sheet".into(),
            ));
        };
        items.extend(std::iter::repeat_n((i, w, h), n as usize));
    }
    if items.is_empty() {
        return Err(unfit("no copies requested".into()));
    }
    // Tallest first, so each shelf's height is set by its first item.
    items.sort_by_key(|&(i, _, h)| (std::cmp::Reverse(h), i));
    orientations
        .iter()
        .find_map(|&(sw, sh)| shelves(sw, sh, &items))
        .ok_or_else(|| unfit(format!("{} copies do not fit on {paper:?}", items.len())))
}

/// A centred uniform grid of w×h cells on a sw×sh sheet.
fn grid(sw: u32, sh: u32, w: u32, h: u32) -> Layout {
    let fit = |avail: u32, cell: u32| {
        if cell == 0 || avail < cell {
            0
        } else {
            (avail - cell) / (cell + GAP_PX) + 1
        }
    };
    let (cols, rows) = (fit(sw - 2 * MARGIN_PX, w), fit(sh - 2 * MARGIN_PX, h));
    let span = |n: u32, cell: u32| n * cell + n.saturating_sub(1) * GAP_PX;
    let (x0, y0) = ((sw - span(cols, w)) / 2, (sh - span(rows, h)) / 2);
    let cells = (0..rows)
        .flat_map(|r| (0..cols).map(move |c| (r, c)))
        .map(|(r, c)| Cell {
            photo: 0,
            x: x0 + c * (w + GAP_PX),
            y: y0 + r * (h + GAP_PX),
            w,
            h,
        })
        .collect();
    finish(sw, sh, cells)
}

/// Shelf packing of `(photo, w, h)` items, then centred as a block; None if they don't fit.
fn shelves(sw: u32, sh: u32, items: &[(usize, u32, u32)]) -> Option<Layout> {
    let (right, bottom) = (sw - MARGIN_PX, sh - MARGIN_PX);
    let (mut x, mut y, mut shelf_h) = (MARGIN_PX, MARGIN_PX, 0);
    let mut cells = Vec::with_capacity(items.len());
    for &(photo, w, h) in items {
        if x + w > right && x > MARGIN_PX {
            (x, y, shelf_h) = (MARGIN_PX, y + shelf_h + GAP_PX, 0);
        }
        if x + w > right || y + h > bottom {
            return None;
        }
        cells.push(Cell { photo, x, y, w, h });
        x += w + GAP_PX;
        shelf_h = shelf_h.max(h);
    }
    let used_w = cells.iter().map(|c| c.x + c.w).max()? - MARGIN_PX;
    let used_h = cells.iter().map(|c| c.y + c.h).max()? - MARGIN_PX;
    let (dx, dy) = ((sw - used_w) / 2 - MARGIN_PX, (sh - used_h) / 2 - MARGIN_PX);
    for c in &mut cells {
        (c.x, c.y) = (c.x + dx, c.y + dy);
    }
    Some(finish(sw, sh, cells))
}

fn finish(width: u32, height: u32, cells: Vec<Cell>) -> Layout {
    let lowest = cells.iter().map(|c| c.y + c.h).max().unwrap_or(0);
    let top = (lowest + MARK_PX + 2).min(height);
    Layout {
        width,
        height,
        cells,
        caption_area: (0, top, width, height - top),
    }
}

/// Lay out and draw a sheet: white paper, photos copied 1:1, optional cut marks.
pub fn render_sheet(
    paper: Paper,
    photos: &[(&RgbImage, Copies)],
    opts: &SheetOptions,
) -> Result<Sheet, EngineError> {
    let requests: Vec<_> = photos
        .iter()
        .map(|(img, n)| (img.width(), img.height(), *n))
        .collect();
    let layout = layout(paper, &requests)?;
    let mut image = RgbImage::from_pixel(layout.width, layout.height, image::Rgb([255; 3]));
    for cell in &layout.cells {
        let src = photos[cell.photo].0;
        let row = cell.w as usize * 3;
        let stride = layout.width as usize * 3;
        let (dst, raw) = (&mut *image, src.as_raw());
        for r in 0..cell.h as usize {
            let d = (cell.y as usize + r) * stride + cell.x as usize * 3;
            dst[d..d + row].copy_from_slice(&raw[r * row..(r + 1) * row]);
        }
    }
    if opts.cut_marks {
        draw_cut_marks(&mut image, &layout.cells);
    }
    Ok(Sheet { image, layout })
}

/// At each cell corner, extend the cell's edges outward by `MARK_PX` into the gap or margin,
/// never over a photo.
fn draw_cut_marks(img: &mut RgbImage, cells: &[Cell]) {
    let (w, h) = (img.width() as i64, img.height() as i64);
    let covered = |x: i64, y: i64| {
        cells.iter().any(|c| {
            x >= c.x as i64 && x < (c.x + c.w) as i64 && y >= c.y as i64 && y < (c.y + c.h) as i64
        })
    };
    let m = MARK_PX as i64;
    for c in cells {
        let (x0, y0) = (c.x as i64, c.y as i64);
        let (x1, y1) = (x0 + c.w as i64 - 1, y0 + c.h as i64 - 1);
        for k in 1..=m {
            let points = [
                (x0 - k, y0),
                (x0 - k, y1),
                (x1 + k, y0),
                (x1 + k, y1),
                (x0, y0 - k),
                (x1, y0 - k),
                (x0, y1 + k),
                (x1, y1 + k),
            ];
            for (x, y) in points {
                if x >= 0 && y >= 0 && x < w && y < h && !covered(x, y) {
                    img.put_pixel(x as u32, y as u32, image::Rgb(MARK_GREY));
                }
            }
        }
    }
}
