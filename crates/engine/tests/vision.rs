//! The networks on real photographs (`/work/shared/testdata`, or `$PHOTORECEIPT_TESTDATA`).
//! Models come from `Models::default_dir()`; missing models fail the tests (run
//! `scripts/fetch-models`).

use std::path::PathBuf;
use std::sync::OnceLock;

use engine::vision::Models;
use engine::{Face, Landmarks};
use image::RgbImage;

fn models() -> &'static Models {
    static MODELS: OnceLock<Models> = OnceLock::new();
    MODELS.get_or_init(|| {
        let dir = Models::default_dir();
        Models::load(&dir).unwrap_or_else(|e| {
            panic!(
                "models not loadable from {}: {e}\n=> run scripts/fetch-models",
                dir.display()
            )
        })
    })
}

fn testdata() -> PathBuf {
    std::env::var_os("PHOTORECEIPT_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata")
        })
}

fn photo(rel: &str) -> RgbImage {
    let path = testdata().join(rel);
    image::open(&path)
        .unwrap_or_else(|e| panic!("cannot open test photo {}: {e}", path.display()))
        .to_rgb8()
}

const PORTRAITS: [&str; 4] = [
    "portraits/obama.jpg",
    "portraits/obama2.jpg",
    "portraits/biden.jpg",
    "portraits/astronaut.png",
];

fn one_face(rel: &str) -> (RgbImage, Face) {
    let img = photo(rel);
    let faces = models().detect_faces(&img).expect("detection runs");
    assert_eq!(
        faces.len(),
        1,
        "{rel}: expected exactly one face, got {faces:?}"
    );
    let face = faces.into_iter().next().expect("one face");
    (img, face)
}

#[test]
fn each_portrait_has_exactly_one_face_with_plausible_features() {
    for rel in PORTRAITS {
        let (img, face) = one_face(rel);
        let b = face.bbox;
        let [right_eye, left_eye, nose, mouth, ..] = face.keypoints;
        assert!(b.w > 20.0 && b.h > 20.0, "{rel}: tiny box {b:?}");
        assert!(
            b.x >= -b.w * 0.1 && b.right() <= img.width() as f32 + b.w * 0.1,
            "{rel}: box off image {b:?}"
        );
        assert!(
            right_eye.x < left_eye.x,
            "{rel}: subject's right eye is on the image's left"
        );
        let eyes_y = right_eye.y.max(left_eye.y);
        assert!(
            eyes_y < nose.y && nose.y < mouth.y,
            "{rel}: eyes above nose above mouth: {face:?}"
        );
        let eye_dist = right_eye.dist(left_eye);
        assert!(
            eye_dist > 0.25 * b.w && eye_dist < 0.6 * b.w,
            "{rel}: eye distance {eye_dist} vs box width {}",
            b.w
        );
        for p in [right_eye, left_eye, nose, mouth] {
            assert!(
                p.x > b.x && p.x < b.right() && p.y > b.y && p.y < b.bottom(),
                "{rel}: {p:?} outside {b:?}"
            );
        }
    }
}

#[test]
fn no_face_in_photos_without_people() {
    for rel in ["no-face/coffee.png", "no-face/rocket.jpg"] {
        let faces = models().detect_faces(&photo(rel)).expect("detection runs");
        assert!(faces.is_empty(), "{rel}: expected no face, got {faces:?}");
    }
}

#[test]
fn two_portraits_side_by_side_give_two_faces() {
    let (a, b) = (
        photo("portraits/obama.jpg"),
        photo("portraits/astronaut.png"),
    );
    let b = image::imageops::resize(
        &b,
        a.height() * b.width() / b.height(),
        a.height(),
        image::imageops::FilterType::Triangle,
    );
    let mut both = RgbImage::new(a.width() + b.width(), a.height());
    image::imageops::replace(&mut both, &a, 0, 0);
    image::imageops::replace(&mut both, &b, i64::from(a.width()), 0);
    let faces = models().detect_faces(&both).expect("detection runs");
    assert_eq!(faces.len(), 2, "expected two faces, got {faces:?}");
    let split = a.width() as f32;
    let lefts = faces.iter().filter(|f| f.bbox.center().x < split).count();
    assert_eq!(lefts, 1, "one face on each side: {faces:?}");
}

#[test]
fn a_small_face_in_a_12_mp_frame_is_found() {
    let person = photo("portraits/biden.jpg");
    let (w, h) = (person.width() / 2, person.height() / 2);
    let person = image::imageops::resize(&person, w, h, image::imageops::FilterType::Triangle);
    let mut frame = RgbImage::from_pixel(4000, 3000, image::Rgb([120, 130, 140]));
    let (x, y) = (2600, 3000 - h);
    image::imageops::replace(&mut frame, &person, i64::from(x), i64::from(y));
    let faces = models().detect_faces(&frame).expect("detection runs");
    assert_eq!(faces.len(), 1, "{faces:?}");
    let b = faces[0].bbox;
    // The face is about 160 px wide, in the upper part of the pasted person.
    assert!(b.w > 100.0 && b.w < 250.0, "{b:?}");
    assert!(
        b.x > x as f32
            && b.right() < (x + w) as f32
            && b.y > y as f32
            && b.bottom() < (y + h / 3) as f32,
        "{b:?}"
    );
}

#[test]
fn mesh_chin_is_below_the_mouth_near_the_bottom_of_the_box() {
    for rel in PORTRAITS {
        let (img, face) = one_face(rel);
        let mesh = models().face_mesh_scored(&img, &face).expect("mesh runs");
        assert!(
            mesh.presence > 0.5,
            "{rel}: face presence {}",
            mesh.presence
        );
        let lm = &mesh.landmarks;
        assert_eq!(lm.points.len(), 468);
        let chin = lm.chin();
        let mouth = lm.at(Landmarks::LOWER_LIP_INNER);
        let b = face.bbox;
        assert!(
            chin.y > mouth.y + 0.05 * b.h,
            "{rel}: chin {chin:?} not below mouth {mouth:?}"
        );
        assert!(
            (chin.y - b.bottom()).abs() < 0.25 * b.h,
            "{rel}: chin y {} far from box bottom {} (h {})",
            chin.y,
            b.bottom(),
            b.h
        );
        // The mesh's eyes agree with the detector's keypoints.
        let tol = 0.12 * b.w;
        assert!(
            lm.right_eye().dist(face.keypoints[0]) < tol,
            "{rel}: right eye disagrees"
        );
        assert!(
            lm.left_eye().dist(face.keypoints[1]) < tol,
            "{rel}: left eye disagrees"
        );
    }
}

#[test]
fn mesh_follows_a_rolled_face() {
    let (img, face) = one_face("portraits/obama.jpg");
    let upright = models()
        .face_mesh(&img, &face)
        .expect("mesh runs")
        .roll_deg();
    let turned = image::imageops::rotate90(&img);
    let faces = models().detect_faces(&turned).expect("detection runs");
    assert_eq!(faces.len(), 1, "rotated portrait: {faces:?}");
    let roll = models()
        .face_mesh(&turned, &faces[0])
        .expect("mesh runs")
        .roll_deg();
    // Rotating the photo 90° clockwise turns the eye line by +90°.
    assert!(
        (roll - upright - 90.0).abs() < 6.0,
        "roll {roll} vs upright {upright}"
    );
}

#[test]
fn segmentation_separates_the_person_from_the_background() {
    let (img, face) = one_face("portraits/obama.jpg");
    let mask = models().segment(&img).expect("segmentation runs");
    assert_eq!(mask.data.len(), (mask.width * mask.height) as usize);
    let c = face.bbox.center();
    let (w, h) = (img.width() as f32, img.height() as f32);
    let at_face = mask.sample(c.x / w, c.y / h);
    assert!(at_face > 0.8, "face centre {at_face}");
    for (u, v) in [(0.03, 0.03), (0.97, 0.03)] {
        let corner = mask.sample(u, v);
        assert!(corner < 0.2, "top corner ({u}, {v}): {corner}");
    }
}

#[test]
fn models_are_shared_across_threads() {
    let img = photo("portraits/obama2.jpg");
    let counts: Vec<usize> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| models().detect_faces(&img).map(|f| f.len())))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread").expect("detect"))
            .collect()
    });
    assert_eq!(counts, vec![1; 4]);
}

/// A minimal ONNX model in protobuf wire format: alpha = mean of R, G, B, input 1×3×64×48 (NCHW),
/// output 1×1×64×48. Stands in for an operator's `matting.onnx`.
fn mean_matting_onnx() -> Vec<u8> {
    fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    fn field(out: &mut Vec<u8>, num: u64, bytes: &[u8]) {
        varint(out, num << 3 | 2);
        varint(out, bytes.len() as u64);
        out.extend_from_slice(bytes);
    }
    fn int(out: &mut Vec<u8>, num: u64, v: u64) {
        varint(out, num << 3);
        varint(out, v);
    }
    fn tensor_info(name: &str, dims: &[u64]) -> Vec<u8> {
        let mut shape = Vec::new();
        for &d in dims {
            let mut dim = Vec::new();
            int(&mut dim, 1, d); // dim_value
            field(&mut shape, 1, &dim);
        }
        let mut tensor = Vec::new();
        int(&mut tensor, 1, 1); // elem_type FLOAT
        field(&mut tensor, 2, &shape);
        let mut ty = Vec::new();
        field(&mut ty, 1, &tensor);
        let mut info = Vec::new();
        field(&mut info, 1, name.as_bytes());
        field(&mut info, 2, &ty);
        info
    }
    let mut axes = Vec::new();
    field(&mut axes, 1, b"axes");
    int(&mut axes, 8, 1); // ints: [1]
    int(&mut axes, 20, 7); // type INTS
    let mut keep = Vec::new();
    field(&mut keep, 1, b"keepdims");
    int(&mut keep, 3, 1);
    int(&mut keep, 20, 2); // type INT
    let mut node = Vec::new();
    field(&mut node, 1, b"image");
    field(&mut node, 2, b"alpha");
    field(&mut node, 4, b"ReduceMean");
    field(&mut node, 5, &axes);
    field(&mut node, 5, &keep);
    let mut graph = Vec::new();
    field(&mut graph, 1, &node);
    field(&mut graph, 2, b"mean_matting");
    field(&mut graph, 11, &tensor_info("image", &[1, 3, 64, 48]));
    field(&mut graph, 12, &tensor_info("alpha", &[1, 1, 64, 48]));
    let mut opset = Vec::new();
    int(&mut opset, 2, 13);
    let mut model = Vec::new();
    int(&mut model, 1, 8); // ir_version
    field(&mut model, 7, &graph);
    field(&mut model, 8, &opset);
    model
}

#[test]
fn an_operator_matting_model_replaces_selfie_segmentation() {
    let src = Models::default_dir();
    models(); // fails with the fetch hint if models are missing
    let dir = tempfile::tempdir().expect("temp dir");
    for entry in std::fs::read_dir(&src).expect("models dir") {
        let path = entry.expect("entry").path();
        if let Some(name) = path.file_name() {
            std::os::unix::fs::symlink(&path, dir.path().join(name)).expect("symlink");
        }
    }
    std::fs::write(dir.path().join("matting.onnx"), mean_matting_onnx()).expect("write model");
    let with_matting = Models::load(dir.path()).expect("load with matting.onnx");
    assert!(with_matting.has_matting() && !models().has_matting());
    // Left half white, right half black: the mean-of-RGB "alpha" is 1 then 0.
    let img = RgbImage::from_fn(300, 200, |x, _| {
        if x < 150 {
            image::Rgb([255; 3])
        } else {
            image::Rgb([0; 3])
        }
    });
    let mask = with_matting.segment(&img).expect("matting runs");
    assert_eq!((mask.width, mask.height), (48, 64));
    assert!(
        mask.sample(0.2, 0.5) > 0.99 && mask.sample(0.8, 0.5) < 0.01,
        "{:?}",
        &mask.data[..48]
    );
}
