//! Capsule tests against real components (ffmpeg, the packager, real key shares).

mod support;
mod video;
