//! What a play writes: audio as WAV and video as YUV4MPEG2, each to a temporary file beside
//! its destination, renamed into place only when playback ended well.

use super::*;

pub(super) struct SharedOutputs {
    pub(super) outputs: Arc<Mutex<Outputs>>,
    pub(super) on_first_output: Option<Box<dyn FnOnce() + Send>>,
}

impl SharedOutputs {
    fn presented(&mut self) {
        if let Some(tell) = self.on_first_output.take() {
            tell();
        }
    }
}

impl Presenter for SharedOutputs {
    fn audio(&mut self, interleaved: &[f32], _pts_us: i64) -> io::Result<()> {
        // A file holds the samples in the order presented: playing from a start time or
        // without seeks, that is presentation order.
        self.outputs
            .lock()
            .expect("outputs lock")
            .audio(interleaved)?;
        self.presented();
        Ok(())
    }
    fn video(&mut self, planes: &[u8], pts_us: i64) -> io::Result<()> {
        self.outputs
            .lock()
            .expect("outputs lock")
            .video(planes, pts_us)?;
        self.presented();
        Ok(())
    }
    fn event(&mut self, event: &Event) {
        self.outputs.lock().expect("outputs lock").event(event)
    }
}

/// Output files, written to temporary files beside their destination.
pub(super) struct Outputs {
    audio: Option<(tempfile::NamedTempFile, PathBuf)>,
    video: Option<(tempfile::NamedTempFile, PathBuf)>,
    audio_started: bool,
    video_header: Option<String>,
    video_frame_len: usize,
    sample_rate: u32,
    channels: u16,
    video_frames: u64,
}

fn temp_beside(path: &Path) -> Result<(tempfile::NamedTempFile, PathBuf), PlayError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let file = tempfile::Builder::new()
        .prefix(".ddrm-play-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| PlayError::Output(format!("{}: {e}", path.display())))?;
    Ok((file, path.to_path_buf()))
}

/// Size of the WAV header written before the samples (RIFF + fmt with extension size + data).
const WAV_HEADER: u64 = 46;

impl Outputs {
    pub(super) fn new(audio: Option<&Path>, video: Option<&Path>) -> Result<Self, PlayError> {
        Ok(Self {
            audio: audio.map(temp_beside).transpose()?,
            video: video.map(temp_beside).transpose()?,
            audio_started: false,
            video_header: None,
            video_frame_len: 0,
            sample_rate: 0,
            channels: 0,
            video_frames: 0,
        })
    }

    fn event(&mut self, event: &Event) {
        if let Some((sample_rate, channels)) = event.audio_format() {
            self.sample_rate = sample_rate;
            self.channels = channels;
        }
        if let Event::Video {
            width,
            height,
            frame_rate_num,
            frame_rate_den,
            ..
        } = event
        {
            self.video_header = Some(format!(
                "YUV4MPEG2 W{width} H{height} F{frame_rate_num}:{frame_rate_den} Ip A1:1 C420jpeg\n"
            ));
            let (w, h) = (*width as usize, *height as usize);
            self.video_frame_len = w * h + 2 * (w.div_ceil(2) * h.div_ceil(2));
        }
    }

    fn audio(&mut self, interleaved: &[f32]) -> io::Result<()> {
        let Some((file, _)) = self.audio.as_mut() else {
            return Err(io::Error::other("no audio output was asked for"));
        };
        if self.channels == 0 {
            return Err(io::Error::other("audio before its format"));
        }
        if !self.audio_started {
            file.write_all(&[0u8; WAV_HEADER as usize])?;
            self.audio_started = true;
        }
        let mut bytes = Vec::with_capacity(interleaved.len() * 4);
        for s in interleaved {
            bytes.extend_from_slice(&s.to_le_bytes());
        }
        file.write_all(&bytes)?;
        Ok(())
    }

    fn video(&mut self, planes: &[u8], _pts_us: i64) -> io::Result<()> {
        let (Some((file, _)), Some(header)) = (self.video.as_mut(), self.video_header.as_ref())
        else {
            return Err(io::Error::other(
                "video without an output or before its format",
            ));
        };
        if planes.len() != self.video_frame_len {
            return Err(io::Error::other("a video frame of the wrong size"));
        }
        if self.video_frames == 0 {
            file.write_all(header.as_bytes())?;
        }
        file.write_all(b"FRAME\n")?;
        file.write_all(planes)?;
        self.video_frames += 1;
        Ok(())
    }

    /// Drops the temporary files: nothing is left behind.
    pub(super) fn discard(self) {}

    /// Finishes the files and renames them into place.
    pub(super) fn commit(mut self) -> Result<(Option<PathBuf>, Option<PathBuf>), PlayError> {
        let out = |e: io::Error| PlayError::Output(e.to_string());
        if let Some((file, _)) = self.audio.as_mut() {
            if !self.audio_started {
                return Err(PlayError::Unsupported(
                    "the content has no audio to write".into(),
                ));
            }
            let f = file.as_file_mut();
            let data_len = f.seek(SeekFrom::End(0)).map_err(out)? - WAV_HEADER;
            f.seek(SeekFrom::Start(0)).map_err(out)?;
            f.write_all(&wav_header(self.sample_rate, self.channels, data_len))
                .map_err(out)?;
            f.sync_all().map_err(out)?;
        }
        if let Some((file, _)) = self.video.as_mut() {
            if self.video_frames == 0 {
                return Err(PlayError::Unsupported(
                    "the content has no video to write".into(),
                ));
            }
            file.as_file_mut().sync_all().map_err(out)?;
        }
        let persist = |slot: Option<(tempfile::NamedTempFile, PathBuf)>| {
            slot.map(|(file, path)| {
                file.persist(&path)
                    .map(|_| path.clone())
                    .map_err(|e| PlayError::Output(format!("{}: {}", path.display(), e.error)))
            })
            .transpose()
        };
        Ok((persist(self.audio.take())?, persist(self.video.take())?))
    }
}

/// A WAV header for 32-bit float samples (WAVE_FORMAT_IEEE_FLOAT, with the fact-less 18-byte
/// `fmt ` chunk).
fn wav_header(rate: u32, channels: u16, data_len: u64) -> [u8; WAV_HEADER as usize] {
    let data_len = u32::try_from(data_len).unwrap_or(u32::MAX);
    let block_align = channels * 4;
    let mut h = [0u8; WAV_HEADER as usize];
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&(data_len.saturating_add(WAV_HEADER as u32 - 8)).to_le_bytes());
    h[8..12].copy_from_slice(b"WAVE");
    h[12..16].copy_from_slice(b"fmt ");
    h[16..20].copy_from_slice(&18u32.to_le_bytes());
    h[20..22].copy_from_slice(&3u16.to_le_bytes());
    h[22..24].copy_from_slice(&channels.to_le_bytes());
    h[24..28].copy_from_slice(&rate.to_le_bytes());
    h[28..32].copy_from_slice(&(rate * u32::from(block_align)).to_le_bytes());
    h[32..34].copy_from_slice(&block_align.to_le_bytes());
    h[34..36].copy_from_slice(&32u16.to_le_bytes());
    h[36..38].copy_from_slice(&0u16.to_le_bytes());
    h[38..42].copy_from_slice(b"data");
    h[42..46].copy_from_slice(&data_len.to_le_bytes());
    h
}
