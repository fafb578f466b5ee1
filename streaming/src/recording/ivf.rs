//! The IVF container, as the recorder hands frames to ffmpeg: a 32-byte file header, then per
//! frame its size and its time in milliseconds. ffmpeg's IVF reader takes H.264 (fourcc `H264`),
//! so each frame keeps its own capture time through to the MP4 (raw H.264 carries none).

/// The file header: IVF version 0, the picture size, a time base of one millisecond.
pub fn header(width: u16, height: u16) -> [u8; 32] {
    let mut h = [0u8; 32];
    h[0..4].copy_from_slice(b"DKIF");
    h[4..6].copy_from_slice(&0u16.to_le_bytes());
    h[6..8].copy_from_slice(&32u16.to_le_bytes());
    h[8..12].copy_from_slice(b"H264");
    h[12..14].copy_from_slice(&width.to_le_bytes());
    h[14..16].copy_from_slice(&height.to_le_bytes());
    // Time base: 1/1000 s (denominator, then numerator).
    h[16..20].copy_from_slice(&1000u32.to_le_bytes());
    h[20..24].copy_from_slice(&1u32.to_le_bytes());
    // Frame count (unknown while writing) and reserved.
    h
}

/// A frame's header: its size in bytes and its time in milliseconds.
pub fn frame_header(len: usize, pts_ms: u64) -> [u8; 12] {
    let mut h = [0u8; 12];
    h[0..4].copy_from_slice(&(len as u32).to_le_bytes());
    h[4..12].copy_from_slice(&pts_ms.to_le_bytes());
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_laid_out_as_ivf_says() {
        let h = header(1280, 720);
        assert_eq!(&h[0..4], b"DKIF");
        assert_eq!(u16::from_le_bytes([h[6], h[7]]), 32);
        assert_eq!(&h[8..12], b"H264");
        assert_eq!(u16::from_le_bytes([h[12], h[13]]), 1280);
        assert_eq!(u16::from_le_bytes([h[14], h[15]]), 720);
        assert_eq!(u32::from_le_bytes([h[16], h[17], h[18], h[19]]), 1000);
        let f = frame_header(4321, 5_100);
        assert_eq!(u32::from_le_bytes([f[0], f[1], f[2], f[3]]), 4321);
        assert_eq!(u64::from_le_bytes(f[4..12].try_into().unwrap()), 5_100);
    }
}
