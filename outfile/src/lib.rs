//! The one way ddrm writes an output file the user named (`package`, `decrypt`, `play`): all
//! or nothing.
//!
//! A regular (or new) destination is written to a temporary file beside it and renamed over it
//! by [`Output::commit`]; dropped uncommitted, the temporary file is deleted. So a failure, a
//! kill or a crash leaves either the old file or the new one, never half of one that a later
//! run would trust: the rename is atomic within the directory.
//!
//! A destination that exists and is not a regular file (`/dev/null`, a FIFO, a terminal, a
//! block device) is written in place and never replaced. Renaming a temporary file over it is
//! what a program running as root once did to `/dev/null`: the device became a mode-0600
//! regular file and every other program that opened it failed. The trade-off: such a
//! destination gets bytes as they are written, so a failure leaves it with part of the output;
//! a reader of a device or pipe sees a stream, not a file, and must judge it by its end.
//!
//! A directory is refused. A symbolic link to a device or FIFO is written through; a symbolic
//! link to a regular file is replaced by the new file (the rename's own semantics), and the file
//! it named is left as it was.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// An output file being written; see the crate's documentation.
#[derive(Debug)]
pub struct Output {
    path: PathBuf,
    sink: Sink,
}

#[derive(Debug)]
enum Sink {
    Beside(tempfile::NamedTempFile),
    InPlace(File),
}

/// What went wrong, with the destination it concerns.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{0} is a directory")]
    IsDirectory(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl OutputError {
    fn io(path: &Path, source: io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Whether an output to `path` would be written in place: it exists and is neither a regular
/// file nor a directory (a device, a FIFO, a socket). Opening a FIFO for writing waits for a
/// reader, so a caller that cannot stream asks this first.
pub fn writes_in_place(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

impl Output {
    /// Starts writing `path`. A new or regular file gets a temporary file beside it with
    /// `mode` permissions; anything else that exists is opened for writing as it is.
    pub fn create(path: &Path, mode: u32) -> Result<Self, OutputError> {
        let sink = match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => return Err(OutputError::IsDirectory(path.to_path_buf())),
            Ok(m) if !m.is_file() => Sink::InPlace(
                OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|e| OutputError::io(path, e))?,
            ),
            _ => {
                let dir = path
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .unwrap_or(Path::new("."));
                Sink::Beside(
                    tempfile::Builder::new()
                        .prefix(".ddrm-partial-")
                        .permissions(std::os::unix::fs::PermissionsExt::from_mode(mode))
                        .tempfile_in(dir)
                        .map_err(|e| OutputError::io(path, e))?,
                )
            }
        };
        Ok(Self {
            path: path.to_path_buf(),
            sink,
        })
    }

    /// The destination named.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the destination is written in place (it is not a regular file): its bytes
    /// cannot be read back or rewritten, and nothing is renamed.
    pub fn in_place(&self) -> bool {
        matches!(self.sink, Sink::InPlace(_))
    }

    /// The file being written.
    pub fn file(&mut self) -> &mut File {
        match &mut self.sink {
            Sink::Beside(temp) => temp.as_file_mut(),
            Sink::InPlace(file) => file,
        }
    }

    /// Where the bytes are being written: the temporary file, or the destination itself. For
    /// a tool that writes by path (FFmpeg's muxers).
    pub fn writing_path(&self) -> &Path {
        match &self.sink {
            Sink::Beside(temp) => temp.path(),
            Sink::InPlace(_) => &self.path,
        }
    }

    /// A second handle on the file being written, to read it back (a temporary file only).
    pub fn reopen(&self) -> Result<File, OutputError> {
        match &self.sink {
            Sink::Beside(temp) => temp.reopen().map_err(|e| OutputError::io(&self.path, e)),
            Sink::InPlace(_) => Err(OutputError::io(
                &self.path,
                io::Error::other("not a regular file: it cannot be read back"),
            )),
        }
    }

    /// Syncs the file and renames it into place (a destination written in place is only
    /// flushed); returns the destination.
    pub fn commit(self) -> Result<PathBuf, OutputError> {
        let Self { path, sink } = self;
        match sink {
            Sink::Beside(temp) => {
                temp.as_file()
                    .sync_all()
                    .map_err(|e| OutputError::io(&path, e))?;
                temp.persist(&path)
                    .map_err(|e| OutputError::io(&path, e.error))?;
            }
            Sink::InPlace(mut file) => {
                io::Write::flush(&mut file).map_err(|e| OutputError::io(&path, e))?;
            }
        }
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};

    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut n: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        n.sort();
        n
    }

    #[test]
    fn a_file_is_replaced_only_on_commit_and_a_dropped_output_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.bin");
        assert!(!writes_in_place(&path), "a new file");
        std::fs::write(&path, b"old").unwrap();
        assert!(!writes_in_place(&path), "a regular file");
        let mut out = Output::create(&path, 0o644).unwrap();
        assert!(!out.in_place());
        out.file().write_all(b"half").unwrap();
        drop(out);
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(names(dir.path()), ["out.bin"]);

        let mut out = Output::create(&path, 0o600).unwrap();
        out.file().write_all(b"new").unwrap();
        let mut back = String::new();
        out.reopen().unwrap().read_to_string(&mut back).unwrap();
        assert_eq!(back, "new");
        assert_eq!(out.commit().unwrap(), path);
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(names(dir.path()), ["out.bin"]);
    }

    #[test]
    fn a_fifo_behind_a_link_is_written_in_place_and_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("out.fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo (coreutils) runs");
        assert!(made.success());
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&fifo, &link).unwrap();
        let reading = fifo.clone();
        let reader = std::thread::spawn(move || std::fs::read(&reading).unwrap());

        assert!(writes_in_place(&link));
        let mut out = Output::create(&link, 0o644).unwrap();
        assert!(out.in_place());
        assert_eq!(out.writing_path(), link);
        assert!(out.reopen().is_err(), "a stream cannot be read back");
        out.file().write_all(b"streamed").unwrap();
        assert_eq!(out.commit().unwrap(), link);
        assert_eq!(reader.join().unwrap(), b"streamed");
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
        assert_eq!(names(dir.path()), ["link", "out.fifo"]);
    }

    #[test]
    fn a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = Output::create(dir.path(), 0o644).unwrap_err();
        assert!(matches!(err, OutputError::IsDirectory(_)), "{err}");
        assert!(err.to_string().ends_with("is a directory"), "{err}");
    }
}
