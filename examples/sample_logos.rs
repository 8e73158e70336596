//! Writes the images the benchmark (`scripts/bench.sh`) and the fuzz seeds (`fuzz/seeds/`)
//! use, deterministically:
//!
//! * `logo-512.png`: a 512×512 RGBA logo (flat shapes, anti-aliased edges, a gradient);
//! * `upload-1mib.png`: a noisy square RGB PNG just under 1 MiB (a worst-case upload);
//! * `huge-60000.png`: a 45-byte PNG whose header declares 60000×60000;
//! * `seed-*.{png,jpg,webp}`: small 128×128 logos in every accepted format and colour type.
//!
//! `cargo run --release --example sample_logos -- DIR`

use std::io::Cursor;
use std::path::Path;

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{DynamicImage, ImageEncoder, ImageFormat, Rgba, RgbaImage};
use partner_registry::domain::logo::MAX_LOGO_BYTES;

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    let dir = Path::new(&dir);
    std::fs::create_dir_all(dir).expect("create the output folder");
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(dir.join(name), bytes).expect("write a sample");
        println!("{name}: {} bytes", bytes.len());
    };

    write(
        "logo-512.png",
        &encode(&DynamicImage::ImageRgba8(logo(512)), ImageFormat::Png),
    );
    write("upload-1mib.png", &noisy_png_just_under(MAX_LOGO_BYTES));
    write("huge-60000.png", &png_header_only(60_000, 60_000));

    let small = DynamicImage::ImageRgba8(logo(128));
    write("seed-rgba8.png", &encode(&small, ImageFormat::Png));
    write(
        "seed-rgb8.png",
        &encode(&DynamicImage::ImageRgb8(small.to_rgb8()), ImageFormat::Png),
    );
    write(
        "seed-l8.png",
        &encode(
            &DynamicImage::ImageLuma8(small.to_luma8()),
            ImageFormat::Png,
        ),
    );
    write(
        "seed-rgba16.png",
        &encode(
            &DynamicImage::ImageRgba16(small.to_rgba16()),
            ImageFormat::Png,
        ),
    );
    write(
        "seed.jpg",
        &encode(&DynamicImage::ImageRgb8(small.to_rgb8()), ImageFormat::Jpeg),
    );
    write("seed.webp", &encode(&small, ImageFormat::WebP));
}

fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).expect("encode a sample");
    out.into_inner()
}

/// A flat-colour logo: a gradient disc with a ring and a transparent corner, anti-aliased.
fn logo(side: u32) -> RgbaImage {
    let s = side as f32;
    RgbaImage::from_fn(side, side, |x, y| {
        let (fx, fy) = (x as f32 + 0.5, y as f32 + 0.5);
        let d = ((fx - s / 2.0).powi(2) + (fy - s / 2.0).powi(2)).sqrt() / s;
        let coverage = |edge: f32| ((edge - d) * s).clamp(0.0, 1.0);
        let disc = coverage(0.45);
        let ring = coverage(0.30) - coverage(0.22);
        let r = (40.0 + 180.0 * fx / s) as u8;
        let g = (90.0 + 100.0 * fy / s) as u8;
        let base = Rgba([r, g, 200, (disc * 255.0) as u8]);
        let white = ring.clamp(0.0, 1.0);
        let mix = |c: u8| (f32::from(c) * (1.0 - white) + 255.0 * white) as u8;
        Rgba([mix(base[0]), mix(base[1]), mix(base[2]), base[3]])
    })
}

/// Random RGB noise barely compresses: the largest square side whose PNG fits in `limit`.
fn noisy_png_just_under(limit: usize) -> Vec<u8> {
    let mut side = 600u32;
    loop {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let pixels: Vec<u8> = (0..side * side * 3)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 24) as u8
            })
            .collect();
        let mut out = Vec::new();
        PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::NoFilter)
            .write_image(&pixels, side, side, image::ExtendedColorType::Rgb8)
            .expect("encode noise");
        if out.len() <= limit {
            return out;
        }
        side -= 2;
    }
}

/// Signature, an IHDR declaring `width`×`height` RGBA8, and IEND: no pixel data at all.
fn png_header_only(width: u32, height: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32(kind.iter().chain(data)).to_be_bytes());
}

fn crc32<'a>(bytes: impl Iterator<Item = &'a u8>) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
