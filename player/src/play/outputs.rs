//! What a play writes when asked to (`--audio-out`, `--video-out`): audio as WAV and video as
//! YUV4MPEG2, each through [`outfile`]: to a temporary file beside its destination, renamed into
//! place only when playback ended well; a device or FIFO (`/dev/null`) is written in place as a
//! stream (a WAV header with unknown lengths) and never replaced.

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

/// Output files (see [`Sink`]).
pub(super) struct Outputs {
    audio: Option<Sink>,
    video: Option<Sink>,
    audio_started: bool,
    video_header: Option<String>,
    video_frame_len: usize,
    sample_rate: u32,
    channels: u16,
    video_frames: u64,
}

/// One output file, written through [`outfile::Output`]: all or nothing for a file, in place
/// for a device or FIFO.
type Sink = outfile::Output;

fn open_sink(path: &Path) -> Result<Sink, PlayError> {
    outfile::Output::create(path, 0o600).map_err(|e| match e {
        outfile::OutputError::IsDirectory(_) => PlayError::BadInput(e.to_string()),
        outfile::OutputError::Io { .. } => PlayError::Output(e.to_string()),
    })
}

/// Size of the WAV header written before the samples (RIFF + fmt with extension size + data).
const WAV_HEADER: u64 = 46;

impl Outputs {
    pub(super) fn new(audio: Option<&Path>, video: Option<&Path>) -> Result<Self, PlayError> {
        Ok(Self {
            audio: audio.map(open_sink).transpose()?,
            video: video.map(open_sink).transpose()?,
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
        let Some(sink) = self.audio.as_mut() else {
            return Err(io::Error::other("no audio output was asked for"));
        };
        if self.channels == 0 {
            return Err(io::Error::other("audio before its format"));
        }
        if !self.audio_started {
            // A file gets its lengths when playback ends; a stream says "unknown" (the largest
            // lengths, as streaming WAV writers do).
            let header = if sink.in_place() {
                wav_header(self.sample_rate, self.channels, u64::MAX)
            } else {
                [0u8; WAV_HEADER as usize]
            };
            sink.file().write_all(&header)?;
            self.audio_started = true;
        }
        let file = sink.file();
        let mut bytes = Vec::with_capacity(interleaved.len() * 4);
        for s in interleaved {
            bytes.extend_from_slice(&s.to_le_bytes());
        }
        file.write_all(&bytes)?;
        Ok(())
    }

    fn video(&mut self, planes: &[u8], _pts_us: i64) -> io::Result<()> {
        let (Some(sink), Some(header)) = (self.video.as_mut(), self.video_header.as_ref()) else {
            return Err(io::Error::other(
                "video without an output or before its format",
            ));
        };
        if planes.len() != self.video_frame_len {
            return Err(io::Error::other("a video frame of the wrong size"));
        }
        let file = sink.file();
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
        if let Some(sink) = self.audio.as_mut() {
            if !self.audio_started {
                return Err(PlayError::Unsupported(
                    "the content has no audio to write".into(),
                ));
            }
            if !sink.in_place() {
                let f = sink.file();
                let data_len = f.seek(SeekFrom::End(0)).map_err(out)? - WAV_HEADER;
                f.seek(SeekFrom::Start(0)).map_err(out)?;
                f.write_all(&wav_header(self.sample_rate, self.channels, data_len))
                    .map_err(out)?;
            }
        }
        if self.video.is_some() && self.video_frames == 0 {
            return Err(PlayError::Unsupported(
                "the content has no video to write".into(),
            ));
        }
        let finish = |sink: Sink| sink.commit().map_err(|e| PlayError::Output(e.to_string()));
        let audio = self.audio.take().map(finish).transpose()?;
        let video = self.video.take().map(finish).transpose()?;
        Ok((audio, video))
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

#[cfg(test)]
mod tests {
    use std::os::unix::fs::FileTypeExt;

    use super::*;

    /// A FIFO in a fresh directory (what `/dev/null` and other devices are to `Sink`: an
    /// existing file that is not a regular one), and a thread reading all it receives.
    fn fifo(dir: &Path) -> (PathBuf, std::thread::JoinHandle<Vec<u8>>) {
        let path = dir.join("out.fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .expect("mkfifo (coreutils) runs");
        assert!(made.success(), "mkfifo {}", path.display());
        let reading = path.clone();
        let reader = std::thread::spawn(move || std::fs::read(&reading).expect("read the FIFO"));
        (path, reader)
    }

    fn audio_format() -> Event {
        Event::Audio {
            codec: "aac".into(),
            sample_rate: 48_000,
            channels: 2,
        }
    }

    #[test]
    fn a_destination_that_is_not_a_regular_file_is_written_in_place_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let (path, reader) = fifo(dir.path());
        // Reached through a symbolic link too: the link stays, the FIFO behind it is written.
        let link = dir.path().join("link.wav");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let mut out = Outputs::new(Some(link.as_path()), None).unwrap();
        out.event(&audio_format());
        out.audio(&[0.5, -0.5, 0.25, -0.25]).unwrap();
        let (written, _) = out.commit().unwrap();
        assert_eq!(written.as_deref(), Some(link.as_path()));
        let got = reader.join().unwrap();
        // A streaming WAV header (lengths unknown) and the samples, in order.
        assert_eq!(
            &got[..WAV_HEADER as usize],
            &wav_header(48_000, 2, u64::MAX)
        );
        let samples: Vec<f32> = got[WAV_HEADER as usize..]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        assert_eq!(samples, [0.5, -0.5, 0.25, -0.25]);
        // Still a FIFO behind a symlink, and nothing else was left in the directory.
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(std::fs::metadata(&path).unwrap().file_type().is_fifo());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn a_regular_destination_is_replaced_only_when_playback_ends_well() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("song.wav");
        std::fs::write(&path, b"the old file").unwrap();
        // Discarded (playback failed): the old file stays, no temporary file is left.
        let mut out = Outputs::new(Some(path.as_path()), None).unwrap();
        out.event(&audio_format());
        out.audio(&[0.5, -0.5]).unwrap();
        out.discard();
        assert_eq!(std::fs::read(&path).unwrap(), b"the old file");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // Committed: replaced by a WAV whose header carries the real lengths.
        let mut out = Outputs::new(Some(path.as_path()), None).unwrap();
        out.event(&audio_format());
        out.audio(&[0.5, -0.5]).unwrap();
        out.commit().unwrap();
        let got = std::fs::read(&path).unwrap();
        assert_eq!(&got[..WAV_HEADER as usize], &wav_header(48_000, 2, 8));
        assert_eq!(got.len(), WAV_HEADER as usize + 8);
        assert!(std::fs::metadata(&path).unwrap().is_file());
    }
}
