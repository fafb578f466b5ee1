//! JPEG frames to H.264: decoded with zune-jpeg straight to I420 (JPEG's own YCbCr, its chroma
//! halved and both mapped to the limited range H.264 decoders expect, with no detour through RGB)
//! and encoded with OpenH264 for real-time screen content (Annex-B NAL units, a keyframe on
//! request and every few seconds).

use crate::StreamError;
use openh264::encoder::{
    BitRate, Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, RateControlMode,
    UsageType,
};
use openh264::formats::{RgbSliceU8, YUVBuffer, YUVSource};
use openh264::OpenH264API;

/// An encoded frame.
#[derive(Debug, Clone)]
pub struct EncodedFrame {
    /// H.264 Annex-B NAL units.
    pub data: Vec<u8>,
    /// Whether it is a keyframe (IDR): a new viewer can start here.
    pub keyframe: bool,
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
}

/// A JPEG decoded to I420 (limited-range BT.601, as H.264 decoders read it), cropped to even
/// dimensions (I420 needs them).
pub struct YuvFrame {
    /// Luma, `width` bytes per row.
    pub y: Vec<u8>,
    /// Blue-difference chroma at half width and height.
    pub u: Vec<u8>,
    /// Red-difference chroma at half width and height.
    pub v: Vec<u8>,
    /// Width in pixels (even).
    pub width: usize,
    /// Height in pixels (even).
    pub height: usize,
}

impl YUVSource for YuvFrame {
    fn dimensions(&self) -> (usize, usize) {
        (self.width, self.height)
    }

    fn strides(&self) -> (usize, usize, usize) {
        (self.width, self.width / 2, self.width / 2)
    }

    fn y(&self) -> &[u8] {
        &self.y
    }

    fn u(&self) -> &[u8] {
        &self.u
    }

    fn v(&self) -> &[u8] {
        &self.v
    }
}

/// Full-range (JPEG) luma to limited range: 0-255 to 16-235.
fn luma_table() -> [u8; 256] {
    std::array::from_fn(|i| (16 + (i as u32 * 219 + 127) / 255) as u8)
}

/// Full-range (JPEG) chroma to limited range: 0-255 around 128 to 16-240 around 128.
fn chroma_table() -> [u8; 256] {
    std::array::from_fn(|i| {
        (128 + ((i as i32 - 128) * 224 + 127 * (i as i32 - 128).signum()) / 255) as u8
    })
}

impl YuvFrame {
    /// Planes from JPEG's full-resolution, full-range YCbCr (3 bytes a pixel, `w` a row): luma
    /// mapped to limited range, chroma averaged over each 2x2 block and mapped likewise. This
    /// replaces a YCbCr-to-RGB conversion and an RGB-to-YUV one, which cost six times the decode.
    pub fn from_ycbcr(ycc: &[u8], w: usize, width: usize, height: usize) -> Self {
        let (luma, chroma) = (luma_table(), chroma_table());
        let (hw, hh) = (width / 2, height / 2);
        let mut y = Vec::with_capacity(width * height);
        for row in ycc.chunks_exact(w * 3).take(height) {
            y.extend(
                row[..width * 3]
                    .chunks_exact(3)
                    .map(|p| luma[p[0] as usize]),
            );
        }
        let (mut u, mut v) = (Vec::with_capacity(hw * hh), Vec::with_capacity(hw * hh));
        for j in 0..hh {
            let top = &ycc[2 * j * w * 3..][..width * 3];
            let bottom = &ycc[(2 * j + 1) * w * 3..][..width * 3];
            for (a, b) in top.chunks_exact(6).zip(bottom.chunks_exact(6)) {
                let avg = |k: usize| {
                    (a[k] as u16 + a[k + 3] as u16 + b[k] as u16 + b[k + 3] as u16 + 2) / 4
                };
                u.push(chroma[avg(1) as usize]);
                v.push(chroma[avg(2) as usize]);
            }
        }
        Self {
            y,
            u,
            v,
            width,
            height,
        }
    }

    /// Planes from RGB8 pixels (`width` x `height`, both even), converted as OpenH264 does.
    pub fn from_rgb(rgb: &[u8], width: usize, height: usize) -> Self {
        let b = YUVBuffer::from_rgb_source(RgbSliceU8::new(rgb, (width, height)));
        Self {
            y: b.y().to_vec(),
            u: b.u().to_vec(),
            v: b.v().to_vec(),
            width,
            height,
        }
    }
}

/// Decode a screencast JPEG straight to I420.
pub fn decode_jpeg(jpeg: &[u8]) -> Result<YuvFrame, StreamError> {
    use zune_jpeg::zune_core::colorspace::ColorSpace;
    use zune_jpeg::zune_core::options::DecoderOptions;
    let opts = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::YCbCr);
    let mut d = zune_jpeg::JpegDecoder::new_with_options(jpeg, opts);
    let ycc = d.decode().map_err(|e| StreamError::Decode(e.to_string()))?;
    let (w, h) = d
        .dimensions()
        .ok_or_else(|| StreamError::Decode("no dimensions".into()))?;
    let (ew, eh) = (w & !1, h & !1);
    if ew == 0 || eh == 0 || ycc.len() < w * h * 3 {
        return Err(StreamError::Decode(format!("a {w}x{h} frame is too small")));
    }
    Ok(YuvFrame::from_ycbcr(&ycc, w, ew, eh))
}

/// An H.264 encoder for one session's video.
pub struct FrameEncoder {
    encoder: Encoder,
    want_keyframe: bool,
}

impl FrameEncoder {
    /// An encoder for `fps` frames per second at `bitrate` bits per second, with a keyframe at
    /// least every `keyframe_every` frames.
    pub fn new(fps: u32, bitrate: u32, keyframe_every: u32) -> Result<Self, StreamError> {
        let config = EncoderConfig::new()
            .usage_type(UsageType::ScreenContentRealTime)
            .max_frame_rate(FrameRate::from_hz(fps.max(1) as f32))
            .bitrate(BitRate::from_bps(bitrate))
            .skip_frames(false)
            // Buffer-based rate control keeps every frame (the others want frame skipping),
            // and the screen-content mode has no adaptive quantisation or background detection:
            // asking for them only makes OpenH264 print warnings (on stdout, which is the MCP
            // stdio transport).
            .rate_control_mode(RateControlMode::Bufferbased)
            .adaptive_quantization(false)
            .background_detection(false)
            .intra_frame_period(IntraFramePeriod::from_num_frames(keyframe_every.max(1)));
        let encoder = Encoder::with_api_config(OpenH264API::from_source(), config)
            .map_err(|e| StreamError::Encode(e.to_string()))?;
        Ok(Self {
            encoder,
            want_keyframe: true,
        })
    }

    /// Make the next frame a keyframe (a viewer joined, or asked for one).
    pub fn request_keyframe(&mut self) {
        self.want_keyframe = true;
    }

    /// Encode one frame.
    pub fn encode(&mut self, frame: &YuvFrame) -> Result<EncodedFrame, StreamError> {
        if self.want_keyframe {
            self.encoder.force_intra_frame();
            self.want_keyframe = false;
        }
        let out = self
            .encoder
            .encode(frame)
            .map_err(|e| StreamError::Encode(e.to_string()))?;
        Ok(EncodedFrame {
            keyframe: matches!(out.frame_type(), FrameType::IDR | FrameType::I),
            data: out.to_vec(),
            width: frame.width,
            height: frame.height,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_through_h264_at_their_size() {
        // A 64x48 gradient, as RGB, then through the encoder and OpenH264's decoder.
        let (w, h) = (64, 48);
        let rgb: Vec<u8> = (0..w * h)
            .flat_map(|i| [(i % w * 4) as u8, (i / w * 5) as u8, 128])
            .collect();
        let mut enc = FrameEncoder::new(10, 500_000, 20).unwrap();
        let frame = YuvFrame::from_rgb(&rgb, w, h);
        let first = enc.encode(&frame).unwrap();
        assert!(first.keyframe, "the first frame is a keyframe");
        let second = enc.encode(&frame).unwrap();
        assert!(!second.keyframe);
        enc.request_keyframe();
        assert!(
            enc.encode(&frame).unwrap().keyframe,
            "a keyframe on request"
        );
        let mut dec = openh264::decoder::Decoder::new().unwrap();
        let decoded = dec.decode(&first.data).unwrap().expect("a picture");
        assert_eq!(decoded.dimensions(), (w, h));
    }

    #[test]
    fn a_jpeg_decodes_to_the_planes_an_rgb_conversion_gives() {
        // A 160x90 colour test pattern: decoded straight to I420, and through RGB as before.
        let jpeg = include_bytes!("fixtures/frame.jpg");
        let direct = decode_jpeg(jpeg).unwrap();
        use zune_jpeg::zune_core::colorspace::ColorSpace;
        use zune_jpeg::zune_core::options::DecoderOptions;
        let opts = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::RGB);
        let rgb = zune_jpeg::JpegDecoder::new_with_options(jpeg, opts)
            .decode()
            .unwrap();
        let via_rgb = YuvFrame::from_rgb(&rgb, 160, 90);
        assert_eq!((direct.width, direct.height), (160, 90));
        for (name, a, b) in [
            ("y", &direct.y, &via_rgb.y),
            ("u", &direct.u, &via_rgb.u),
            ("v", &direct.v, &via_rgb.v),
        ] {
            assert_eq!(a.len(), b.len(), "{name}");
            let diff: u64 = a.iter().zip(b).map(|(x, y)| x.abs_diff(*y) as u64).sum();
            let mean = diff as f64 / a.len() as f64;
            assert!(mean < 2.0, "{name} plane differs by {mean:.2} on average");
        }
        // Limited range: black and white map to 16 and 235, neutral chroma stays 128.
        assert_eq!((luma_table()[0], luma_table()[255]), (16, 235));
        assert_eq!(
            (chroma_table()[0], chroma_table()[128], chroma_table()[255]),
            (16, 128, 240)
        );
    }

    #[test]
    fn broken_jpegs_are_an_error() {
        assert!(decode_jpeg(b"\xFF\xD8\xFF\xE0 not really").is_err());
    }
}
