//! JPEG frames to H.264: decoded with zune-jpeg, converted to I420 and encoded with OpenH264 for
//! real-time screen content (Annex-B NAL units, a keyframe on request and every few seconds).

use crate::StreamError;
use openh264::encoder::{
    BitRate, Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, RateControlMode,
    UsageType,
};
use openh264::formats::{RgbSliceU8, YUVBuffer};
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

/// A JPEG decoded to RGB, cropped to even dimensions (I420 needs them).
pub struct RgbFrame {
    /// RGB8 pixels, row after row.
    pub rgb: Vec<u8>,
    /// Width in pixels (even).
    pub width: usize,
    /// Height in pixels (even).
    pub height: usize,
}

/// Decode a JPEG to RGB.
pub fn decode_jpeg(jpeg: &[u8]) -> Result<RgbFrame, StreamError> {
    use zune_jpeg::zune_core::colorspace::ColorSpace;
    use zune_jpeg::zune_core::options::DecoderOptions;
    let opts = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::RGB);
    let mut d = zune_jpeg::JpegDecoder::new_with_options(jpeg, opts);
    let rgb = d.decode().map_err(|e| StreamError::Decode(e.to_string()))?;
    let (w, h) = d
        .dimensions()
        .ok_or_else(|| StreamError::Decode("no dimensions".into()))?;
    let (ew, eh) = (w & !1, h & !1);
    if ew == 0 || eh == 0 {
        return Err(StreamError::Decode(format!("a {w}x{h} frame is too small")));
    }
    let rgb = if ew == w && eh == h {
        rgb
    } else {
        let mut out = Vec::with_capacity(ew * eh * 3);
        for row in rgb.chunks_exact(w * 3).take(eh) {
            out.extend_from_slice(&row[..ew * 3]);
        }
        out
    };
    Ok(RgbFrame {
        rgb,
        width: ew,
        height: eh,
    })
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

    /// Encode one RGB frame.
    pub fn encode(&mut self, frame: &RgbFrame) -> Result<EncodedFrame, StreamError> {
        if self.want_keyframe {
            self.encoder.force_intra_frame();
            self.want_keyframe = false;
        }
        let yuv =
            YUVBuffer::from_rgb_source(RgbSliceU8::new(&frame.rgb, (frame.width, frame.height)));
        let out = self
            .encoder
            .encode(&yuv)
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
        let frame = RgbFrame {
            rgb,
            width: w,
            height: h,
        };
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
        use openh264::formats::YUVSource;
        assert_eq!(decoded.dimensions(), (w, h));
    }

    #[test]
    fn broken_jpegs_are_an_error() {
        assert!(decode_jpeg(b"\xFF\xD8\xFF\xE0 not really").is_err());
    }
}
