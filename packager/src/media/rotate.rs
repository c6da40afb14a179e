//! Display rotation: phones store portrait video as landscape pictures plus a display matrix.
//! The packager applies the rotation to the pixels, because the `.ddrm` track has no place for
//! it and a player should not need to know.

use ffmpeg_next::codec::packet::side_data::Type as SideDataType;
use ffmpeg_next::format::Pixel;
use ffmpeg_next::frame;

/// A quarter-turn rotation to apply to decoded pictures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rotation {
    None,
    /// 90° clockwise.
    Clockwise,
    UpsideDown,
    /// 90° counter-clockwise.
    CounterClockwise,
}

impl Rotation {
    /// The rotation a stream's display matrix asks for (quarter turns only; others are ignored).
    pub(crate) fn of_stream(stream: &ffmpeg_next::format::stream::Stream<'_>) -> Self {
        stream
            .side_data()
            .find(|sd| sd.kind() == SideDataType::DisplayMatrix)
            .and_then(|sd| display_matrix_degrees(sd.data()))
            .map_or(Self::None, Self::from_degrees)
    }

    /// From the clockwise angle in degrees.
    pub(crate) fn from_degrees(degrees: f64) -> Self {
        let d = degrees.rem_euclid(360.0);
        let near = |a: f64| (d - a).abs() < 1.0;
        if near(90.0) {
            Self::Clockwise
        } else if near(180.0) {
            Self::UpsideDown
        } else if near(270.0) {
            Self::CounterClockwise
        } else {
            Self::None
        }
    }

    /// Whether width and height trade places.
    pub(crate) fn swaps_sides(self) -> bool {
        matches!(self, Self::Clockwise | Self::CounterClockwise)
    }

    /// Rotates an 8-bit planar YUV picture (each plane on its own).
    pub(crate) fn apply(self, src: &frame::Video) -> frame::Video {
        if self == Self::None {
            return src.clone();
        }
        let (w, h) = if self.swaps_sides() {
            (src.height(), src.width())
        } else {
            (src.width(), src.height())
        };
        let mut dst = frame::Video::new(Pixel::YUV420P, w, h);
        for plane in 0..src.planes().min(dst.planes()) {
            let (sw, sh) = (
                src.plane_width(plane) as usize,
                src.plane_height(plane) as usize,
            );
            let (dw, dh) = (
                dst.plane_width(plane) as usize,
                dst.plane_height(plane) as usize,
            );
            let (ss, ds) = (src.stride(plane), dst.stride(plane));
            let s = src.data(plane);
            let d = dst.data_mut(plane);
            for y in 0..dh {
                for x in 0..dw {
                    let (sx, sy) = match self {
                        Self::Clockwise => (y, sh.saturating_sub(1 + x)),
                        Self::UpsideDown => (sw.saturating_sub(1 + x), sh.saturating_sub(1 + y)),
                        Self::CounterClockwise => (sw.saturating_sub(1 + y), x),
                        Self::None => (x, y),
                    };
                    if sx < sw && sy < sh {
                        d[y * ds + x] = s[sy * ss + sx];
                    }
                }
            }
        }
        dst.set_pts(src.pts());
        dst
    }
}

/// The clockwise display rotation in degrees of a 3×3 display matrix (nine native-endian i32,
/// 16.16 fixed point for the 2×2 part), as FFmpeg's tools read it.
pub(crate) fn display_matrix_degrees(data: &[u8]) -> Option<f64> {
    if data.len() < 36 {
        return None;
    }
    let m = |i: usize| {
        let b: [u8; 4] = data[i * 4..i * 4 + 4].try_into().ok()?;
        Some(f64::from(i32::from_ne_bytes(b)) / 65536.0)
    };
    let (a, b, c, d) = (m(0)?, m(1)?, m(3)?, m(4)?);
    let (s0, s1) = (a.hypot(c), b.hypot(d));
    if s0 == 0.0 || s1 == 0.0 {
        return None;
    }
    Some((b / s1).atan2(a / s0).to_degrees())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(a: i32, b: i32, c: i32, d: i32) -> Vec<u8> {
        [a, b, 0, c, d, 0, 0, 0, 1 << 30]
            .iter()
            .flat_map(|v| v.to_ne_bytes())
            .collect()
    }

    #[test]
    fn display_matrix_angles() {
        let one = 1 << 16;
        assert_eq!(display_matrix_degrees(&matrix(one, 0, 0, one)), Some(0.0));
        // What av_display_rotation_set(m, 90) stores for a 90° clockwise turn.
        let cw = display_matrix_degrees(&matrix(0, one, -one, 0)).unwrap();
        assert_eq!(Rotation::from_degrees(cw), Rotation::Clockwise);
        let ccw = display_matrix_degrees(&matrix(0, -one, one, 0)).unwrap();
        assert_eq!(Rotation::from_degrees(ccw), Rotation::CounterClockwise);
        let flip = display_matrix_degrees(&matrix(-one, 0, 0, -one)).unwrap();
        assert_eq!(Rotation::from_degrees(flip), Rotation::UpsideDown);
        assert_eq!(display_matrix_degrees(&[0; 10]), None);
        assert_eq!(Rotation::from_degrees(45.0), Rotation::None);
        assert_eq!(Rotation::from_degrees(-90.0), Rotation::CounterClockwise);
    }
}
