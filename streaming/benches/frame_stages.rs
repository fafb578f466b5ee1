//! Where a frame's CPU goes in the service's own code, the two ways to turn a screencast JPEG
//! into the encoder's I420 side by side in one run: decoding to RGB then converting (the path
//! before) and decoding JPEG's YCbCr straight to I420 (the path now), then the H.264 encode.
//! The frames are ffmpeg's `testsrc2` pattern (Debian's ffmpeg), as JPEG at quality 80-ish.
//!
//! `cargo bench -p streaming --bench frame_stages [-- WIDTH HEIGHT FRAMES]` (1280 720 60)

use std::process::Command;
use std::time::Instant;
use streaming::encode::{decode_jpeg, FrameEncoder, YuvFrame};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn jpegs(w: usize, h: usize, n: usize) -> Vec<Vec<u8>> {
    let dir = std::env::temp_dir().join(format!("bas-frames-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let status = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
        ])
        .arg(format!("testsrc2=size={w}x{h}:rate=10"))
        .args(["-frames:v", &n.to_string(), "-q:v", "4"])
        .arg(dir.join("f%04d.jpg"))
        .status()
        .expect("ffmpeg (Debian's package) makes the frames");
    assert!(status.success());
    let out = (1..=n)
        .map(|i| std::fs::read(dir.join(format!("f{i:04}.jpg"))).unwrap())
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    out
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (w, h, n) = (
        *args.first().unwrap_or(&1280),
        *args.get(1).unwrap_or(&720),
        *args.get(2).unwrap_or(&60),
    );
    let frames = jpegs(w, h, n);
    let (mut before, mut now, mut encode) = (Vec::new(), Vec::new(), Vec::new());
    let mut encoder = FrameEncoder::new(10, (w * h) as u32, 40).unwrap();
    for jpeg in &frames {
        use zune_jpeg::zune_core::colorspace::ColorSpace;
        use zune_jpeg::zune_core::options::DecoderOptions;
        let t = Instant::now();
        let opts = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::RGB);
        let rgb = zune_jpeg::JpegDecoder::new_with_options(jpeg, opts)
            .decode()
            .unwrap();
        let old = YuvFrame::from_rgb(&rgb, w, h);
        before.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        let picture = decode_jpeg(jpeg).unwrap();
        now.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(old.y.len(), picture.y.len());
        let t = Instant::now();
        encoder.encode(&picture).unwrap();
        encode.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let (b, a, e) = (median(before), median(now), median(encode));
    println!("{w}x{h}, {n} frames, medians:");
    println!("| stage | ms per frame |");
    println!("|---|---|");
    println!("| JPEG to I420 through RGB (before) | {b:.2} |");
    println!("| JPEG to I420 straight from YCbCr (now) | {a:.2} |");
    println!("| H.264 encode (OpenH264) | {e:.2} |");
    println!(
        "our CPU per frame: {:.2} ms before, {:.2} ms now ({:.2}x)",
        b + e,
        a + e,
        (b + e) / (a + e)
    );
}
