//! Print sheets: how many copies fit, cells copied 1:1, cut marks in the gaps, mixed sheets.

use engine::encode::jfif_density;
use engine::sheet::{self, Cell, Copies, Paper, SheetOptions, GAP_PX, MARGIN_PX};
use engine::{intake, raster, EngineError};
use image::{imageops, RgbImage};

const PORTRAITS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/testdata/portraits"
);

fn photo(name: &str, w: u32, h: u32) -> RgbImage {
    let bytes = std::fs::read(format!("{PORTRAITS}/{name}")).unwrap();
    raster::resize_rgb(&intake::decode(&bytes, None).unwrap().image, w, h).unwrap()
}

/// Copies of a w×h cell that fit, by plain geometry, in the better paper orientation.
fn geometric_count(paper: Paper, w: u32, h: u32) -> usize {
    let (pw, ph) = paper.size_px();
    let fit = |avail: u32, cell: u32| (avail - 2 * MARGIN_PX + GAP_PX) / (cell + GAP_PX);
    let a = fit(pw, w) * fit(ph, h);
    let b = fit(ph, w) * fit(pw, h);
    a.max(b) as usize
}

fn cell_pixels(sheet: &RgbImage, c: &Cell) -> RgbImage {
    imageops::crop_imm(sheet, c.x, c.y, c.w, c.h).to_image()
}

fn overlaps(a: &Cell, b: &Cell) -> bool {
    a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h
}

fn check_cells(layout: &sheet::Layout) {
    for (i, a) in layout.cells.iter().enumerate() {
        assert!(a.x >= MARGIN_PX && a.y >= MARGIN_PX, "{a:?} in the margin");
        assert!(a.x + a.w <= layout.width - MARGIN_PX && a.y + a.h <= layout.height - MARGIN_PX);
        for b in &layout.cells[i + 1..] {
            assert!(!overlaps(a, b), "{a:?} overlaps {b:?}");
        }
    }
}

#[test]
fn one_inch_fills_a_six_inch_sheet() {
    let layout = sheet::layout(Paper::SixInch, &[(295, 413, Copies::Fill)]).unwrap();
    assert_eq!(
        layout.cells.len(),
        geometric_count(Paper::SixInch, 295, 413)
    );
    // 3 mm margins, 2 mm gaps: 3 × 4 on the sheet turned portrait beats 5 × 2 landscape.
    assert_eq!(layout.cells.len(), 12);
    assert_eq!((layout.width, layout.height), (1200, 1800));
    check_cells(&layout);
    for (paper, w, h) in [
        (Paper::FiveInch, 295, 413),
        (Paper::A4, 295, 413),
        (Paper::SixInch, 413, 579),
        (Paper::A4, 390, 567),
        (Paper::SixInch, 358, 441),
    ] {
        let l = sheet::layout(paper, &[(w, h, Copies::Fill)]).unwrap();
        assert_eq!(
            l.cells.len(),
            geometric_count(paper, w, h),
            "{paper:?} {w}x{h}"
        );
        check_cells(&l);
    }
}

#[test]
fn cells_are_the_photo_pixel_for_pixel() {
    let one_inch = photo("obama.jpg", 295, 413);
    let s = sheet::render_sheet(
        Paper::SixInch,
        &[(&one_inch, Copies::Fill)],
        &SheetOptions::default(),
    )
    .unwrap();
    assert_eq!(s.image.dimensions(), (s.layout.width, s.layout.height));
    for c in &s.layout.cells {
        assert!(
            cell_pixels(&s.image, c) == one_inch,
            "cell {c:?} differs from the photo"
        );
    }
    // The paper is white away from cells and marks, e.g. the middle of a gap.
    let (a, b) = (s.layout.cells[0], s.layout.cells[1]);
    let gap_x = a.x + a.w + (b.x - a.x - a.w) / 2;
    assert_eq!(s.image.get_pixel(gap_x, a.y + a.h / 2).0, [255; 3]);
    // Cut marks: grey just outside each corner, along the cell's edges.
    let grey = |x: u32, y: u32| {
        let p = s.image.get_pixel(x, y).0;
        p[0] == p[1] && p[1] == p[2] && p[0] < 200
    };
    for c in &s.layout.cells {
        assert!(
            grey(c.x - 3, c.y) && grey(c.x, c.y - 3),
            "top-left mark of {c:?}"
        );
        assert!(
            grey(c.x + c.w + 2, c.y + c.h - 1),
            "bottom-right mark of {c:?}"
        );
    }
    let plain = sheet::render_sheet(
        Paper::SixInch,
        &[(&one_inch, Copies::Fill)],
        &SheetOptions { cut_marks: false },
    )
    .unwrap();
    let c = plain.layout.cells[0];
    assert_eq!(plain.image.get_pixel(c.x - 3, c.y).0, [255; 3]);
}

#[test]
fn mixed_sheet_four_one_inch_and_two_two_inch() {
    let one = photo("obama.jpg", 295, 413);
    let two = photo("biden.jpg", 413, 579);
    let s = sheet::render_sheet(
        Paper::SixInch,
        &[(&one, Copies::Exactly(4)), (&two, Copies::Exactly(2))],
        &SheetOptions::default(),
    )
    .unwrap();
    check_cells(&s.layout);
    let count = |i: usize| s.layout.cells.iter().filter(|c| c.photo == i).count();
    assert_eq!((count(0), count(1)), (4, 2));
    for c in &s.layout.cells {
        let src = if c.photo == 0 { &one } else { &two };
        assert!(cell_pixels(&s.image, c) == *src, "cell {c:?}");
    }
    let jpeg = s.to_jpeg().unwrap();
    assert_eq!(jfif_density(&jpeg), Some((1, 300, 300)));
    let back = intake::decode(&jpeg, None).unwrap().image;
    assert_eq!(back.dimensions(), (s.layout.width, s.layout.height));
    // The caption strip lies below every cell.
    let (_, y, _, h) = s.layout.caption_area;
    assert!(s.layout.cells.iter().all(|c| c.y + c.h < y) && h > 0);
}

#[test]
fn too_many_copies_is_an_error_not_a_squeeze() {
    let err = sheet::layout(Paper::SixInch, &[(295, 413, Copies::Exactly(13))]).unwrap_err();
    assert!(
        matches!(err, EngineError::SpecUnmet { ref rule, .. } if rule == "print_sheet"),
        "{err:?}"
    );
    assert!(sheet::layout(Paper::SixInch, &[(295, 413, Copies::Exactly(12))]).is_ok());
    assert!(sheet::layout(
        Paper::SixInch,
        &[
            (413, 579, Copies::Exactly(3)),
            (295, 413, Copies::Exactly(8))
        ]
    )
    .is_err());
    assert!(sheet::layout(Paper::SixInch, &[(2000, 413, Copies::Fill)]).is_err());
}
