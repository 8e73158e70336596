//! Partner logo validation and normalisation.
//!
//! A logo upload is judged by its **bytes** only (magic numbers), never by the
//! file name or the declared content type. Only PNG, JPEG and WebP are
//! accepted; SVG is refused because it can carry scripts.
//!
//! The checks run cheapest first, so hostile input is refused before any
//! expensive work:
//!
//! 1. size of the upload (at most [`MAX_LOGO_BYTES`]);
//! 2. format sniffed from the first bytes;
//! 3. dimensions read from the header by a small allocation-free parser, so
//!    that a tiny file declaring a huge image is refused with its declared
//!    size before any decoder is built;
//! 4. the `image` crate's own header parser, run under [`image::Limits`];
//! 5. only then the pixels are decoded (still under those limits), converted
//!    to RGBA8, shrunk to at most [`STORED_MAX_SIDE`] and re-encoded as a
//!    fresh PNG that carries no metadata at all (no EXIF, no text, no ICC).
//!
//! [`Logo::parse`] is CPU-heavy and synchronous; run it on a blocking thread.

use std::fmt;
use std::io::Cursor;

use image::codecs::png::{CompressionType, PngEncoder};
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{
    DynamicImage, ExtendedColorType, ImageDecoder, ImageEncoder, ImageError, ImageFormat,
    ImageReader, Limits, RgbaImage,
};

/// Largest accepted upload, in bytes (1 MiB).
pub const MAX_LOGO_BYTES: usize = 1024 * 1024;
/// Smallest accepted side, in pixels.
pub const MIN_SIDE: u32 = 128;
/// Largest accepted side, in pixels.
pub const MAX_SIDE: u32 = 4096;
/// Largest side of the stored PNG; bigger logos are shrunk to this.
pub const STORED_MAX_SIDE: u32 = 512;

/// Longest `Unreadable::reason` we hand back, in characters.
const MAX_REASON_CHARS: usize = 120;

/// Bytes per pixel of the widest buffer any accepted decoder can produce:
/// a 16-bit RGBA PNG (`Rgba16`). JPEG and WebP decode to at most 4 B/px.
const WORST_BYTES_PER_PIXEL: u64 = 8;

/// Working memory allowed to a decoder on top of its output buffer: zlib
/// state, row buffers, and decompressed ICC / EXIF / text chunks (which a
/// hostile 1 MiB PNG could otherwise inflate ~1000×).
const DECODER_MARGIN_BYTES: u64 = 16 * 1024 * 1024;

/// The three accepted logo formats, as detected from the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogoFormat {
    Png,
    Jpeg,
    WebP,
}

impl LogoFormat {
    /// Human name used in messages: "PNG", "JPEG" or "WebP".
    pub fn name(self) -> &'static str {
        match self {
            LogoFormat::Png => "PNG",
            LogoFormat::Jpeg => "JPEG",
            LogoFormat::WebP => "WebP",
        }
    }

    fn image_format(self) -> ImageFormat {
        match self {
            LogoFormat::Png => ImageFormat::Png,
            LogoFormat::Jpeg => ImageFormat::Jpeg,
            LogoFormat::WebP => ImageFormat::WebP,
        }
    }
}

impl fmt::Display for LogoFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a logo was refused. `Display` gives the sentence to show the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogoError {
    #[error("Choose a logo file to upload.")]
    Empty,
    #[error("The logo must be at most 1 MiB; yours is {} MiB.", mib_one_decimal(*.bytes))]
    TooLarge { bytes: usize },
    #[error(
        "The logo is an SVG, which is not accepted: SVG can carry scripts; upload PNG, JPEG or WebP."
    )]
    Svg,
    #[error("{}", unsupported_message(*.detected))]
    Unsupported { detected: Option<&'static str> },
    #[error("The logo must be square (1:1); yours is {width}×{height} pixels.")]
    NotSquare { width: u32, height: u32 },
    #[error("The logo must be at least {min}×{min} pixels; yours is {width}×{height}.", min = MIN_SIDE)]
    TooSmall { width: u32, height: u32 },
    #[error("The logo must be at most {max}×{max} pixels; yours is {width}×{height}.", max = MAX_SIDE)]
    TooBig { width: u32, height: u32 },
    #[error("The logo could not be read as a {format}: {reason}")]
    Unreadable { format: LogoFormat, reason: String },
    /// The decoder failed on this file in a way it does not report as an error (it panicked):
    /// the file is the cause, so the partner is asked for another one.
    #[error(
        "The logo could not be decoded. Open it in an image editor, save it again as PNG, JPEG or WebP, and upload that file."
    )]
    Undecodable,
}

/// Size in MiB with one decimal, rounded **up**, so anything over the limit
/// never reads as "1.0 MiB" (1 MiB + 1 byte shows as "1.1 MiB").
fn mib_one_decimal(bytes: usize) -> String {
    let tenths = (bytes as u128 * 10).div_ceil(MAX_LOGO_BYTES as u128);
    format!("{}.{}", tenths / 10, tenths % 10)
}

fn unsupported_message(detected: Option<&'static str>) -> String {
    match detected {
        Some(name) => {
            let article = match name.as_bytes().first() {
                Some(b'A' | b'E' | b'I' | b'O' | b'U') => "an",
                _ => "a",
            };
            format!("The logo is {article} {name}; upload PNG, JPEG or WebP.")
        }
        None => "The logo is not a recognised image; upload PNG, JPEG or WebP.".to_owned(),
    }
}

/// A validated logo, re-encoded as a metadata-free PNG.
#[derive(Clone, PartialEq, Eq)]
pub struct Logo {
    png: Vec<u8>,
    side: u32,
    original_side: u32,
    source_format: LogoFormat,
}

// Hand-written so logging a `Logo` prints its size, not ~100 KB of bytes.
impl fmt::Debug for Logo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Logo")
            .field("png_bytes", &self.png.len())
            .field("side", &self.side)
            .field("original_side", &self.original_side)
            .field("source_format", &self.source_format)
            .finish()
    }
}

impl Logo {
    /// Validates an upload and re-encodes it as a PNG without metadata.
    ///
    /// CPU-heavy and synchronous: the caller runs it on a blocking thread.
    pub fn parse(bytes: &[u8]) -> Result<Logo, LogoError> {
        let (format, original_side, mut decoder) = open_checked(bytes)?;
        let unreadable = |e: ImageError| unreadable(format, &e);

        // The JPEG decoder behind `image` runs in lenient mode and paints a
        // cut-off JPEG's missing part grey instead of failing, so catch that.
        if format == LogoFormat::Jpeg && !jpeg_has_end_marker(bytes) {
            return Err(LogoError::Unreadable {
                format,
                reason: "the file is cut short (no end-of-image marker)".to_owned(),
            });
        }

        // EXIF orientation is about to be thrown away with the rest of the
        // metadata, so bake it into the pixels. A broken EXIF block is not a
        // reason to refuse a logo: fall back to "as stored".
        let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);

        // Same bookkeeping as `ImageReader::decode` (which would hide the
        // orientation): the output buffer counts against the budget and the
        // decoder gets what is left as working memory. (The png crate keeps
        // the whole budget it was built with for its own chunk buffers.)
        let mut limits = decode_limits(original_side);
        limits.reserve(decoder.total_bytes()).map_err(unreadable)?;
        decoder.set_limits(limits).map_err(unreadable)?;
        let mut image = DynamicImage::from_decoder(decoder).map_err(unreadable)?;
        image.apply_orientation(orientation);

        let rgba = shrink(image.into_rgba8());
        let side = rgba.width();
        let png = encode_png(&rgba).map_err(|e| LogoError::Unreadable {
            format,
            reason: short_reason(&format!("re-encoding failed: {e}")),
        })?;

        Ok(Logo {
            png,
            side,
            original_side,
            source_format: format,
        })
    }

    /// The re-encoded PNG (the only thing to store or serve).
    pub fn png(&self) -> &[u8] {
        &self.png
    }

    /// Takes the re-encoded PNG out.
    pub fn into_png(self) -> Vec<u8> {
        self.png
    }

    /// Side of the stored PNG, in pixels (at most [`STORED_MAX_SIDE`]).
    pub fn side(&self) -> u32 {
        self.side
    }

    /// Side of the uploaded image, in pixels.
    pub fn original_side(&self) -> u32 {
        self.original_side
    }

    /// Format the upload was detected as.
    pub fn source_format(&self) -> LogoFormat {
        self.source_format
    }
}

/// Only the header check (format + dimensions), no pixel decoding; used by
/// [`Logo::parse`], and by benchmarks.
pub fn inspect(bytes: &[u8]) -> Result<(LogoFormat, u32, u32), LogoError> {
    let (format, side, _decoder) = open_checked(bytes)?;
    Ok((format, side, side))
}

/// Runs every check that needs no pixel decoding and returns the format, the
/// side, and the `image` decoder positioned before the pixel data.
fn open_checked(bytes: &[u8]) -> Result<(LogoFormat, u32, impl ImageDecoder + '_), LogoError> {
    if bytes.is_empty() {
        return Err(LogoError::Empty);
    }
    if bytes.len() > MAX_LOGO_BYTES {
        return Err(LogoError::TooLarge { bytes: bytes.len() });
    }
    let format = sniff(bytes)?;

    // Our own header parse first: it allocates nothing and yields the
    // declared size even for a file that ends right after its header, so the
    // refusal can quote it ("yours is 60000×60000").
    let (width, height) = declared_dimensions(format, bytes)?;
    let side = check_dimensions(width, height)?;

    // Then the real decoder's header parse, under limits. Its dimensions are
    // the ones that will be decoded, so they are checked again.
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.image_format());
    reader.limits(decode_limits(side));
    let decoder = reader.into_decoder().map_err(|e| unreadable(format, &e))?;
    let (width, height) = decoder.dimensions();
    let side = check_dimensions(width, height)?;
    Ok((format, side, decoder))
}

/// Limits for decoding a `side`×`side` image.
///
/// * `max_image_width/height = MAX_SIDE`: the decoders refuse anything larger
///   straight from the header, before allocating.
/// * `max_alloc = side² × 8 B + 16 MiB`: 8 B/px is the widest output any of
///   the three decoders produces (16-bit RGBA PNG), so every image that
///   passed the dimension rules fits (at most 128 MiB + 16 MiB at 4096²),
///   while the 16 MiB margin bounds the decoder's own allocations (zlib and
///   row buffers, and ICC / EXIF / text chunks, the classic decompression
///   bomb in a small PNG). Sizing it per image rather than for the 4096²
///   worst case keeps a 256² logo's budget at ~16.5 MiB instead of 144 MiB.
///   Note that the RGBA8 copy and the resized image are made after decoding
///   and are not counted here (at most +64 MiB at 4096²).
fn decode_limits(side: u32) -> Limits {
    let pixels = u64::from(side) * u64::from(side);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(pixels * WORST_BYTES_PER_PIXEL + DECODER_MARGIN_BYTES);
    limits
}

/// Applies the size rules in order: too big (also the safety limit), square,
/// too small. Returns the side.
fn check_dimensions(width: u32, height: u32) -> Result<u32, LogoError> {
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(LogoError::TooBig { width, height });
    }
    if width != height {
        return Err(LogoError::NotSquare { width, height });
    }
    if width < MIN_SIDE {
        return Err(LogoError::TooSmall { width, height });
    }
    Ok(width)
}

// ---------------------------------------------------------------------------
// Format detection
// ---------------------------------------------------------------------------

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Detects the format from magic numbers. Accepted formats return `Ok`;
/// SVG and every other recognised or unknown format are refused.
fn sniff(bytes: &[u8]) -> Result<LogoFormat, LogoError> {
    if bytes.starts_with(PNG_SIGNATURE) {
        return Ok(LogoFormat::Png);
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(LogoFormat::Jpeg);
    }
    if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Ok(LogoFormat::WebP);
    }
    if looks_like_svg(bytes) {
        return Err(LogoError::Svg);
    }
    Err(LogoError::Unsupported {
        detected: other_format(bytes),
    })
}

/// SVG (or any XML, which may be SVG): `<svg`, `<?xml` or `<!DOCTYPE svg`
/// after an optional UTF-8 BOM and whitespace; or any markup that mentions
/// `<svg` early on (e.g. behind a leading comment).
fn looks_like_svg(bytes: &[u8]) -> bool {
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = text
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(text.len());
    let text = &text[start..];
    let starts_with_ci = |prefix: &[u8]| {
        text.len() >= prefix.len() && text[..prefix.len()].eq_ignore_ascii_case(prefix)
    };
    if starts_with_ci(b"<svg") || starts_with_ci(b"<?xml") || starts_with_ci(b"<!doctype svg") {
        return true;
    }
    text.first() == Some(&b'<')
        && text[..text.len().min(4096)]
            .windows(4)
            .any(|w| w.eq_ignore_ascii_case(b"<svg"))
}

/// Names a recognised but refused format, for the refusal message.
fn other_format(bytes: &[u8]) -> Option<&'static str> {
    const MAGIC: &[(&[u8], &str)] = &[
        (b"GIF87a", "GIF"),
        (b"GIF89a", "GIF"),
        (b"BM", "BMP"),
        (b"II*\0", "TIFF"),
        (b"MM\0*", "TIFF"),
        (b"\0\0\x01\0", "ICO"),
        (b"\0\0\x02\0", "ICO"),
        (b"\xFF\x0A", "JPEG XL"),
        (b"\0\0\0\x0CJXL \r\n\x87\n", "JPEG XL"),
        (b"\0\0\0\x0CjP  \r\n\x87\n", "JPEG 2000"),
        (b"\xFF\x4F\xFF\x51", "JPEG 2000"),
        (b"8BPS", "PSD"),
        (b"%PDF-", "PDF"),
        (b"qoif", "QOI"),
        (b"DDS ", "DDS"),
        (b"\x76\x2F\x31\x01", "OpenEXR"),
        (b"#?RADIANCE", "Radiance HDR"),
        (b"#?RGBE", "Radiance HDR"),
        (b"farbfeld", "farbfeld"),
    ];
    if let Some((_, name)) = MAGIC.iter().find(|(magic, _)| bytes.starts_with(magic)) {
        return Some(name);
    }
    // ISO-BMFF (HEIF family): size, "ftyp", major brand.
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        return match &bytes[8..12] {
            b"avif" | b"avis" => Some("AVIF"),
            b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" | b"mif1" | b"msf1" => {
                Some("HEIC")
            }
            _ => None,
        };
    }
    None
}

// ---------------------------------------------------------------------------
// Declared dimensions (no allocation, no decoder)
// ---------------------------------------------------------------------------

fn declared_dimensions(format: LogoFormat, bytes: &[u8]) -> Result<(u32, u32), LogoError> {
    let dims = match format {
        LogoFormat::Png => png_dimensions(bytes),
        LogoFormat::Jpeg => jpeg_dimensions(bytes),
        LogoFormat::WebP => webp_dimensions(bytes),
    };
    match dims {
        Some((w, h)) if w > 0 && h > 0 => Ok((w, h)),
        Some(_) => Err(LogoError::Unreadable {
            format,
            reason: "the header declares an empty image".to_owned(),
        }),
        None => Err(LogoError::Unreadable {
            format,
            reason: "the header is missing or cut short".to_owned(),
        }),
    }
}

fn be_u16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn le_u16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn le_u24(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 3)?;
    Some(u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16)
}

fn le_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// PNG: the first chunk must be a 13-byte IHDR; width and height follow.
fn png_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    if be_u32(bytes, 8)? != 13 || bytes.get(12..16)? != b"IHDR" {
        return None;
    }
    Some((be_u32(bytes, 16)?, be_u32(bytes, 20)?))
}

/// Walks the JPEG marker segments that follow SOI and returns the first
/// marker for which `wanted` holds, with the offset of its marker byte.
/// Gives up at SOS or EOI when not wanted (entropy-coded data follows SOS).
fn jpeg_find_marker(bytes: &[u8], wanted: impl Fn(u8) -> bool) -> Option<(u8, usize)> {
    let mut i = 2; // after SOI
    loop {
        if *bytes.get(i)? != 0xFF {
            return None;
        }
        while *bytes.get(i)? == 0xFF {
            i += 1; // the marker's 0xFF, plus optional fill bytes
        }
        let marker = bytes[i];
        if wanted(marker) {
            return Some((marker, i));
        }
        match marker {
            // Standalone markers carry no length.
            0x01 | 0xD0..=0xD7 => {
                i += 1;
                continue;
            }
            0xD9 | 0xDA => return None,
            _ => {}
        }
        let length = usize::from(be_u16(bytes, i + 1)?);
        if length < 2 {
            return None;
        }
        i += 1 + length;
    }
}

/// JPEG: the first SOFn frame header (SOF0..SOF15 except DHT C4, JPG C8
/// and DAC CC) holds length(2) precision(1) height(2) width(2).
fn jpeg_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    let is_sof = |m: u8| matches!(m, 0xC0..=0xCF) && !matches!(m, 0xC4 | 0xC8 | 0xCC);
    let (_, i) = jpeg_find_marker(bytes, is_sof)?;
    let height = be_u16(bytes, i + 4)?;
    let width = be_u16(bytes, i + 6)?;
    Some((u32::from(width), u32::from(height)))
}

/// True when an EOI marker (FF D9) follows the first start-of-scan. Inside
/// entropy-coded data a 0xFF byte is always followed by 0x00 or a restart
/// marker, so FF D9 after SOS can only be the real end of the image. The
/// segment walk skips an EXIF thumbnail (with its own SOS and EOI) inside
/// APP1. Trailing bytes after EOI (some cameras append data) are allowed.
fn jpeg_has_end_marker(bytes: &[u8]) -> bool {
    let Some((_, sos)) = jpeg_find_marker(bytes, |m| m == 0xDA) else {
        return false;
    };
    // Usually the very last two bytes, so search from the end.
    bytes[sos..].windows(2).rev().any(|w| w == [0xFF, 0xD9])
}

/// WebP: RIFF container; the first chunk is VP8 (lossy), VP8L (lossless)
/// or VP8X (extended, canvas size).
fn webp_dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    match bytes.get(12..16)? {
        b"VP8 " => {
            // 3-byte frame tag, start code, then 14-bit width and height.
            if bytes.get(23..26)? != [0x9D, 0x01, 0x2A] {
                return None;
            }
            let width = le_u16(bytes, 26)? & 0x3FFF;
            let height = le_u16(bytes, 28)? & 0x3FFF;
            Some((u32::from(width), u32::from(height)))
        }
        b"VP8L" => {
            if *bytes.get(20)? != 0x2F {
                return None;
            }
            let bits = le_u32(bytes, 21)?;
            Some(((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1))
        }
        b"VP8X" => Some((le_u24(bytes, 24)? + 1, le_u24(bytes, 27)? + 1)),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Errors from the image crate
// ---------------------------------------------------------------------------

fn unreadable(format: LogoFormat, error: &ImageError) -> LogoError {
    let message = error.to_string();
    // "Format error decoding Png: Corrupt deflate stream" → the part after
    // the prefix; the message already names the format.
    let reason = message
        .strip_prefix("Format error decoding ")
        .and_then(|rest| rest.split_once(": "))
        .map_or(message.as_str(), |(_, detail)| detail);
    LogoError::Unreadable {
        format,
        reason: short_reason(reason),
    }
}

/// One line, no control characters, collapsed spaces, at most
/// [`MAX_REASON_CHARS`] characters (cut on a char boundary, with "…").
/// Decoding runs on in-memory bytes, so no path can appear in the message;
/// the cut keeps a decoder's debug dump from reaching the user.
fn short_reason(raw: &str) -> String {
    let cleaned = raw
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if cleaned.is_empty() {
        return "unknown error".to_owned();
    }
    if cleaned.chars().count() <= MAX_REASON_CHARS {
        return cleaned;
    }
    let mut cut: String = cleaned.chars().take(MAX_REASON_CHARS - 1).collect();
    cut.truncate(cut.trim_end().len());
    cut.push('…');
    cut
}

// ---------------------------------------------------------------------------
// Normalisation
// ---------------------------------------------------------------------------

/// Shrinks to `STORED_MAX_SIDE` when larger; smaller logos keep their size
/// (upscaling would only blur them).
///
/// Filter: Catmull-Rom. It is as sharp as Lanczos3 for downscaling, rings
/// less around the hard flat-colour edges logos are made of, and its smaller
/// support makes it cheaper (4096 → 512 is the worst case).
///
/// `imageops::resize` assumes premultiplied alpha; logos with transparency
/// are premultiplied first, or the colour hidden under fully transparent
/// pixels (often black) would bleed into the edges as a dark fringe.
fn shrink(mut rgba: RgbaImage) -> RgbaImage {
    let side = rgba.width();
    if side <= STORED_MAX_SIDE {
        return rgba;
    }
    // Plain slice loops: this code is compiled at the caller's opt-level and
    // runs over up to 16 M pixels.
    let translucent = rgba.chunks_exact(4).any(|p| p[3] != u8::MAX);
    if translucent {
        for p in rgba.chunks_exact_mut(4) {
            let a = u32::from(p[3]);
            if a != 255 {
                for c in &mut p[..3] {
                    *c = ((u32::from(*c) * a + 127) / 255) as u8;
                }
            }
        }
    }
    // Through `DynamicImage` rather than `imageops::resize` directly: the
    // latter is generic and would be compiled at the caller's opt-level,
    // which makes it several times slower in dev builds.
    let mut small = DynamicImage::ImageRgba8(rgba)
        .resize_exact(STORED_MAX_SIDE, STORED_MAX_SIDE, FilterType::CatmullRom)
        .into_rgba8();
    if translucent {
        for p in small.chunks_exact_mut(4) {
            let a = u32::from(p[3]);
            match a {
                0 => p.copy_from_slice(&[0; 4]),
                255 => {}
                _ => {
                    for c in &mut p[..3] {
                        *c = ((u32::from(*c) * 255 + a / 2) / a).min(255) as u8;
                    }
                }
            }
        }
    }
    small
}

/// Encodes RGBA8 as a PNG with only IHDR, IDAT and IEND chunks: the encoder
/// is given no ICC profile or EXIF, so nothing from the upload survives.
///
/// `CompressionType::Fast` (fdeflate): several times faster than `Default`
/// for output only a few percent larger, and the image is at most 512×512
/// (≤ 1 MiB raw), so the stored file stays small either way while the
/// blocking thread is freed sooner.
fn encode_png(rgba: &RgbaImage) -> Result<Vec<u8>, ImageError> {
    let mut out = Vec::new();
    let encoder = PngEncoder::new_with_quality(
        &mut out,
        CompressionType::Fast,
        image::codecs::png::FilterType::Adaptive,
    );
    encoder.write_image(
        rgba.as_raw(),
        rgba.width(),
        rgba.height(),
        ExtendedColorType::Rgba8,
    )?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgba;
    use image::codecs::jpeg::JpegEncoder;
    use image::codecs::webp::WebPEncoder;
    use std::time::{Duration, Instant};

    // -- helpers ------------------------------------------------------------

    /// Logo-like: flat 16-pixel tiles of varying colour.
    fn picture(width: u32, height: u32) -> RgbaImage {
        RgbaImage::from_fn(width, height, |x, y| {
            let (tx, ty) = ((x / 16) as u8, (y / 16) as u8);
            Rgba([tx.wrapping_mul(37), ty.wrapping_mul(59), tx ^ ty, 255])
        })
    }

    fn png_of(image: &RgbaImage) -> Vec<u8> {
        let mut out = Vec::new();
        PngEncoder::new(&mut out)
            .write_image(
                image.as_raw(),
                image.width(),
                image.height(),
                ExtendedColorType::Rgba8,
            )
            .unwrap();
        out
    }

    fn png(width: u32, height: u32) -> Vec<u8> {
        png_of(&picture(width, height))
    }

    fn jpeg(side: u32) -> Vec<u8> {
        let rgb = DynamicImage::ImageRgba8(picture(side, side)).into_rgb8();
        let mut out = Vec::new();
        JpegEncoder::new_with_quality(&mut out, 85)
            .write_image(rgb.as_raw(), side, side, ExtendedColorType::Rgb8)
            .unwrap();
        out
    }

    fn webp(side: u32) -> Vec<u8> {
        let image = picture(side, side);
        let mut out = Vec::new();
        WebPEncoder::new_lossless(&mut out)
            .write_image(image.as_raw(), side, side, ExtendedColorType::Rgba8)
            .unwrap();
        out
    }

    fn crc32(parts: &[&[u8]]) -> u32 {
        let mut crc = u32::MAX;
        for byte in parts.iter().flat_map(|p| p.iter()) {
            crc ^= u32::from(*byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut out = (data.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc32(&[kind, data]).to_be_bytes());
        out
    }

    /// Signature + IHDR (8-bit RGBA) and nothing else: 33 bytes.
    fn png_header_only(width: u32, height: u32) -> Vec<u8> {
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
        let mut out = PNG_SIGNATURE.to_vec();
        out.extend(chunk(b"IHDR", &ihdr));
        out
    }

    /// Inserts a chunk right after IHDR.
    fn with_chunk_after_ihdr(png: &[u8], kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let after_ihdr = 8 + 8 + 13 + 4;
        let mut out = png[..after_ihdr].to_vec();
        out.extend(chunk(kind, data));
        out.extend_from_slice(&png[after_ihdr..]);
        out
    }

    fn chunk_types(png: &[u8]) -> Vec<String> {
        let mut types = Vec::new();
        let mut i = 8;
        while i + 8 <= png.len() {
            let len = be_u32(png, i).unwrap() as usize;
            types.push(String::from_utf8_lossy(&png[i + 4..i + 8]).into_owned());
            i += 12 + len;
        }
        types
    }

    fn decode_png(bytes: &[u8]) -> DynamicImage {
        image::load_from_memory_with_format(bytes, ImageFormat::Png).unwrap()
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    // -- accepted -----------------------------------------------------------

    #[test]
    fn a_valid_256_by_256_png_is_accepted_and_stored_as_a_png_that_decodes() {
        let logo = Logo::parse(&png(256, 256)).unwrap();
        assert_eq!(logo.source_format(), LogoFormat::Png);
        assert_eq!(logo.original_side(), 256);
        assert_eq!(logo.side(), 256);
        assert!(logo.png().starts_with(PNG_SIGNATURE));
        let stored = decode_png(logo.png());
        assert_eq!((stored.width(), stored.height()), (256, 256));
        assert_eq!(stored.to_rgba8(), picture(256, 256), "pixels kept as is");
    }

    #[test]
    fn a_1024_by_1024_png_is_resized_to_512_by_512() {
        let logo = Logo::parse(&png(1024, 1024)).unwrap();
        assert_eq!(logo.original_side(), 1024);
        assert_eq!(logo.side(), STORED_MAX_SIDE);
        let stored = decode_png(&logo.clone().into_png());
        assert_eq!((stored.width(), stored.height()), (512, 512));
    }

    #[test]
    fn a_logo_smaller_than_512_keeps_its_size() {
        let logo = Logo::parse(&png(200, 200)).unwrap();
        assert_eq!((logo.side(), logo.original_side()), (200, 200));
    }

    #[test]
    fn a_jpeg_is_detected_by_its_bytes_even_if_its_file_name_says_png() {
        let _file_name = "logo.png"; // never looked at: there is no parameter for it
        let bytes = jpeg(300);
        assert_eq!(inspect(&bytes), Ok((LogoFormat::Jpeg, 300, 300)));
        let logo = Logo::parse(&bytes).unwrap();
        assert_eq!(logo.source_format(), LogoFormat::Jpeg);
        assert!(logo.png().starts_with(PNG_SIGNATURE));
        assert_eq!(decode_png(logo.png()).width(), 300);
    }

    #[test]
    fn a_lossless_webp_is_accepted_and_stored_as_png() {
        let bytes = webp(640);
        assert_eq!(inspect(&bytes), Ok((LogoFormat::WebP, 640, 640)));
        let logo = Logo::parse(&bytes).unwrap();
        assert_eq!(logo.source_format(), LogoFormat::WebP);
        assert_eq!((logo.original_side(), logo.side()), (640, 512));
        assert_eq!(decode_png(logo.png()).width(), 512);
    }

    /// A 4096×4096 16-bit RGBA PNG, all zero, with its zlib stream written
    /// by hand (fixed-Huffman "258 more zeros" matches): encoding 128 MiB
    /// of pixels with the `image` encoder takes ~10 s in a debug build.
    fn png_4096_rgba16_zeros() -> Vec<u8> {
        const SIDE: u32 = 4096;
        let total = u64::from(SIDE) * (1 + u64::from(SIDE) * 8); // filter byte + row
        let mut bits = BitWriter::default();
        bits.put(0b1, 1); // BFINAL
        bits.put(0b01, 2); // BTYPE = fixed Huffman
        bits.put_code(0x30, 8); // literal 0
        let mut left = total - 1;
        while left >= 258 {
            bits.put_code(0xC5, 8); // length 258 (symbol 285)
            bits.put_code(0, 5); // distance 1
            left -= 258;
        }
        for _ in 0..left {
            bits.put_code(0x30, 8);
        }
        bits.put_code(0, 7); // end of block
        let mut zlib = vec![0x78, 0x01];
        zlib.extend(bits.finish());
        let adler = ((total % 65_521) << 16) | 1; // Adler-32 of zeros
        zlib.extend_from_slice(&(adler as u32).to_be_bytes());

        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&SIDE.to_be_bytes());
        ihdr.extend_from_slice(&SIDE.to_be_bytes());
        ihdr.extend_from_slice(&[16, 6, 0, 0, 0]); // 16-bit RGBA
        let mut out = PNG_SIGNATURE.to_vec();
        out.extend(chunk(b"IHDR", &ihdr));
        out.extend(chunk(b"IDAT", &zlib));
        out.extend(chunk(b"IEND", &[]));
        out
    }

    #[derive(Default)]
    struct BitWriter {
        out: Vec<u8>,
        acc: u64,
        len: u32,
    }

    impl BitWriter {
        /// Writes `n` bits of `value`, least significant first.
        fn put(&mut self, value: u32, n: u32) {
            self.acc |= u64::from(value) << self.len;
            self.len += n;
            while self.len >= 8 {
                self.out.push(self.acc as u8);
                self.acc >>= 8;
                self.len -= 8;
            }
        }

        /// Writes a Huffman code, most significant bit first.
        fn put_code(&mut self, code: u32, n: u32) {
            self.put(code.reverse_bits() >> (32 - n), n);
        }

        fn finish(mut self) -> Vec<u8> {
            if self.len > 0 {
                self.out.push(self.acc as u8);
            }
            self.out
        }
    }

    #[test]
    fn a_4096_square_16_bit_png_fits_the_decoding_budget() {
        // Worst case for memory: 8 bytes per pixel at the largest size.
        let bytes = png_4096_rgba16_zeros();
        assert!(bytes.len() <= MAX_LOGO_BYTES, "{} bytes", bytes.len());
        let logo = Logo::parse(&bytes).unwrap();
        assert_eq!((logo.original_side(), logo.side()), (4096, 512));
        let stored = decode_png(logo.png()).to_rgba8();
        assert!(stored.pixels().all(|p| p.0 == [0; 4]));
    }

    #[test]
    fn transparent_pixels_do_not_darken_the_edges_when_shrinking() {
        // Left half opaque white, right half fully transparent *black*.
        let image = RgbaImage::from_fn(1024, 1024, |x, _| {
            if x < 512 {
                Rgba([255, 255, 255, 255])
            } else {
                Rgba([0, 0, 0, 0])
            }
        });
        let logo = Logo::parse(&png_of(&image)).unwrap();
        let stored = decode_png(logo.png()).to_rgba8();
        for p in stored.pixels().filter(|p| p.0[3] > 16) {
            assert!(p.0[..3].iter().all(|&c| c >= 250), "fringe pixel {p:?}");
        }
    }

    #[test]
    fn exif_orientation_is_applied_before_the_metadata_is_dropped() {
        // Left half red, right half blue; EXIF says "rotate 90° clockwise".
        let image = RgbaImage::from_fn(256, 256, |x, _| {
            if x < 128 {
                Rgba([255, 0, 0, 255])
            } else {
                Rgba([0, 0, 255, 255])
            }
        });
        let exif: &[u8] = &[
            b'M', b'M', 0, 42, 0, 0, 0, 8, // TIFF header, IFD at 8
            0, 1, // one entry
            0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, // Orientation = 6
            0, 0, 0, 0, // no next IFD
        ];
        let mut bytes = Vec::new();
        let mut encoder = PngEncoder::new(&mut bytes);
        encoder.set_exif_metadata(exif.to_vec()).unwrap();
        encoder
            .write_image(image.as_raw(), 256, 256, ExtendedColorType::Rgba8)
            .unwrap();
        assert!(chunk_types(&bytes).contains(&"eXIf".to_owned()));

        let logo = Logo::parse(&bytes).unwrap();
        assert!(!chunk_types(logo.png()).contains(&"eXIf".to_owned()));
        let stored = decode_png(logo.png()).to_rgba8();
        assert_eq!(stored.get_pixel(128, 10).0, [255, 0, 0, 255], "red on top");
        assert_eq!(stored.get_pixel(128, 245).0, [0, 0, 255, 255], "blue below");
    }

    #[test]
    fn metadata_is_stripped_a_text_chunk_does_not_survive() {
        let original =
            with_chunk_after_ihdr(&png(256, 256), b"tEXt", b"Comment\0secret internal note");
        assert!(contains(&original, b"tEXt"));
        let logo = Logo::parse(&original).unwrap();
        assert!(!contains(logo.png(), b"tEXt"));
        assert!(!contains(logo.png(), b"secret"));
        let types = chunk_types(logo.png());
        assert!(
            types
                .iter()
                .all(|t| ["IHDR", "IDAT", "IEND"].contains(&t.as_str())),
            "{types:?}"
        );
    }

    // -- refused by size rules ----------------------------------------------

    #[test]
    fn a_300_by_200_png_is_refused_as_not_square_with_its_size() {
        let err = Logo::parse(&png(300, 200)).unwrap_err();
        assert_eq!(
            err,
            LogoError::NotSquare {
                width: 300,
                height: 200
            }
        );
        assert_eq!(
            err.to_string(),
            "The logo must be square (1:1); yours is 300×200 pixels."
        );
    }

    #[test]
    fn a_64_by_64_png_is_refused_as_too_small_with_its_size() {
        let err = Logo::parse(&png(64, 64)).unwrap_err();
        assert_eq!(
            err,
            LogoError::TooSmall {
                width: 64,
                height: 64
            }
        );
        assert_eq!(
            err.to_string(),
            "The logo must be at least 128×128 pixels; yours is 64×64."
        );
    }

    #[test]
    fn a_png_header_claiming_5000_by_5000_is_refused_as_too_big() {
        let err = Logo::parse(&png_header_only(5000, 5000)).unwrap_err();
        assert_eq!(
            err,
            LogoError::TooBig {
                width: 5000,
                height: 5000
            }
        );
        assert_eq!(
            err.to_string(),
            "The logo must be at most 4096×4096 pixels; yours is 5000×5000."
        );
    }

    #[test]
    fn a_tiny_png_declaring_60000_by_60000_is_refused_as_too_big_quickly() {
        let bytes = png_header_only(60_000, 60_000);
        assert!(bytes.len() < 50, "{} bytes", bytes.len());
        let started = Instant::now();
        let err = Logo::parse(&bytes).unwrap_err();
        assert!(started.elapsed() < Duration::from_millis(100));
        assert_eq!(
            err,
            LogoError::TooBig {
                width: 60_000,
                height: 60_000
            }
        );
        assert!(err.to_string().ends_with("yours is 60000×60000."));
    }

    #[test]
    fn an_upload_over_1_mib_is_refused_as_too_large_before_decoding() {
        // A real PNG padded past the limit: refused on length alone.
        let mut bytes = png(256, 256);
        bytes.resize(MAX_LOGO_BYTES + 1, 0);
        assert_eq!(
            Logo::parse(&bytes),
            Err(LogoError::TooLarge {
                bytes: MAX_LOGO_BYTES + 1
            })
        );
        assert_eq!(
            inspect(&bytes),
            Err(LogoError::TooLarge {
                bytes: MAX_LOGO_BYTES + 1
            })
        );
    }

    #[test]
    fn exactly_1_mib_is_not_refused_for_its_size() {
        let mut bytes = png(256, 256);
        bytes.resize(MAX_LOGO_BYTES, 0); // trailing garbage after IEND
        assert!(!matches!(
            Logo::parse(&bytes),
            Err(LogoError::TooLarge { .. })
        ));
    }

    #[test]
    fn the_too_large_message_shows_mib_with_one_decimal() {
        let err = LogoError::TooLarge { bytes: 1_468_006 }; // 1.4 MiB
        assert_eq!(
            err.to_string(),
            "The logo must be at most 1 MiB; yours is 1.4 MiB."
        );
        let just_over = LogoError::TooLarge {
            bytes: MAX_LOGO_BYTES + 1,
        };
        assert!(just_over.to_string().ends_with("yours is 1.1 MiB."));
        let big = LogoError::TooLarge {
            bytes: 10 * MAX_LOGO_BYTES,
        };
        assert!(big.to_string().ends_with("yours is 10.0 MiB."));
    }

    // -- refused by format ----------------------------------------------------

    #[test]
    fn an_svg_is_refused_because_it_can_carry_scripts() {
        let samples: [&[u8]; 4] = [
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>",
            b"\xEF\xBB\xBF  \n<?xml version=\"1.0\"?><svg/>",
            b"<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" \"\"><svg/>",
            b"<!-- made by hand -->\n<SVG/>",
        ];
        for bytes in samples {
            let err = Logo::parse(bytes).unwrap_err();
            assert_eq!(err, LogoError::Svg);
            assert!(
                err.to_string()
                    .contains("SVG can carry scripts; upload PNG, JPEG or WebP")
            );
        }
    }

    #[test]
    fn a_gif_is_refused_naming_the_gif_format() {
        // GIF89a, 256×256 logical screen, no colour table, then trailer.
        let bytes: &[u8] = b"GIF89a\x00\x01\x00\x01\x00\x00\x00\x3B";
        let err = Logo::parse(bytes).unwrap_err();
        assert_eq!(
            err,
            LogoError::Unsupported {
                detected: Some("GIF")
            }
        );
        assert_eq!(
            err.to_string(),
            "The logo is a GIF; upload PNG, JPEG or WebP."
        );
    }

    #[test]
    fn other_recognised_formats_are_named_and_unknown_bytes_are_refused() {
        let bmp = Logo::parse(b"BM\x36\x00\x0c\x00\x00\x00").unwrap_err();
        assert_eq!(
            bmp.to_string(),
            "The logo is a BMP; upload PNG, JPEG or WebP."
        );
        let avif = Logo::parse(b"\0\0\0\x1cftypavif\0\0\0\0").unwrap_err();
        assert_eq!(
            avif.to_string(),
            "The logo is an AVIF; upload PNG, JPEG or WebP."
        );
        let text = Logo::parse(b"hello, I am not an image").unwrap_err();
        assert_eq!(text, LogoError::Unsupported { detected: None });
        assert!(text.to_string().contains("upload PNG, JPEG or WebP"));
    }

    #[test]
    fn an_empty_upload_asks_for_a_file() {
        assert_eq!(Logo::parse(&[]), Err(LogoError::Empty));
        assert_eq!(inspect(&[]), Err(LogoError::Empty));
        assert_eq!(
            LogoError::Empty.to_string(),
            "Choose a logo file to upload."
        );
    }

    // -- refused as unreadable ----------------------------------------------

    #[test]
    fn a_truncated_png_is_refused_as_unreadable_without_panicking() {
        let full = png(256, 256);
        let err = Logo::parse(&full[..full.len() / 2]).unwrap_err();
        let LogoError::Unreadable { format, reason } = &err else {
            panic!("expected Unreadable, got {err:?}");
        };
        assert_eq!(*format, LogoFormat::Png);
        assert!(!reason.is_empty() && reason.chars().count() <= MAX_REASON_CHARS);
        assert!(
            err.to_string()
                .starts_with("The logo could not be read as a PNG: ")
        );
    }

    #[test]
    fn a_truncated_jpeg_and_webp_are_refused_as_unreadable() {
        for (bytes, expected) in [(jpeg(256), LogoFormat::Jpeg), (webp(256), LogoFormat::WebP)] {
            for cut in [bytes.len() / 2, 40, 20, 13] {
                match Logo::parse(&bytes[..cut]) {
                    Err(LogoError::Unreadable { format, .. }) => assert_eq!(format, expected),
                    other => panic!("{expected:?} cut at {cut}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn a_png_with_a_sound_header_but_corrupt_pixels_passes_inspect_but_not_parse() {
        let mut bytes = png(256, 256);
        let idat = bytes.windows(4).position(|w| w == b"IDAT").unwrap();
        for b in &mut bytes[idat + 4..idat + 64] {
            *b = !*b;
        }
        assert_eq!(inspect(&bytes), Ok((LogoFormat::Png, 256, 256)));
        let err = Logo::parse(&bytes).unwrap_err();
        let LogoError::Unreadable { format, reason } = &err else {
            panic!("expected Unreadable, got {err:?}");
        };
        assert_eq!(*format, LogoFormat::Png);
        assert!(!reason.contains("Format error"), "{reason}");
    }

    #[test]
    fn an_unreadable_reason_is_one_short_line() {
        let long = format!("line one\nline\ttwo {}", "x".repeat(500));
        let reason = short_reason(&long);
        assert!(reason.starts_with("line one line two x"));
        assert!(reason.ends_with('…'));
        assert_eq!(reason.chars().count(), MAX_REASON_CHARS);
        assert_eq!(short_reason("  "), "unknown error");
    }

    // -- header parsing -----------------------------------------------------

    #[test]
    fn inspect_reads_format_and_size_of_each_format() {
        assert_eq!(inspect(&png(300, 300)), Ok((LogoFormat::Png, 300, 300)));
        assert_eq!(inspect(&jpeg(128)), Ok((LogoFormat::Jpeg, 128, 128)));
        assert_eq!(inspect(&webp(1024)), Ok((LogoFormat::WebP, 1024, 1024)));
    }

    #[test]
    fn format_names_read_as_users_know_them() {
        assert_eq!(LogoFormat::Png.name(), "PNG");
        assert_eq!(LogoFormat::Jpeg.name(), "JPEG");
        assert_eq!(LogoFormat::WebP.name(), "WebP");
    }
}
