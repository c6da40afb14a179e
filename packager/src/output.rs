//! Outputs written to a temporary file beside their destination and renamed into place when
//! complete, so a failure never leaves a half-written file behind.

use super::*;

/// An output the user named, written through [`outfile::Output`] (all or nothing for a file,
/// in place for a device or FIFO) behind a buffer; dropped uncommitted, nothing is left.
pub(crate) struct AtomicOutput {
    out: outfile::Output,
    writer: std::io::BufWriter<File>,
    /// Bytes written through this type (a tool writing by path is not counted).
    written: u64,
}

fn output_error(e: outfile::OutputError) -> PackageError {
    match e {
        outfile::OutputError::IsDirectory(path) => {
            PackageError::Invalid(format!("{} is a directory", path.display()))
        }
        outfile::OutputError::Io { path, source } => PackageError::Output { path, source },
    }
}

impl AtomicOutput {
    pub(crate) fn new(path: &Path) -> Result<Self, PackageError> {
        // Readable by others like any file a user writes: the .ddrm is encrypted, and a
        // decrypted output is the owner's to share (the key file is the secret, mode 0600).
        let mut out = outfile::Output::create(path, 0o644).map_err(output_error)?;
        let handle = out.file().try_clone().map_err(|e| PackageError::Output {
            path: path.to_path_buf(),
            source: e,
        })?;
        Ok(Self {
            out,
            writer: std::io::BufWriter::with_capacity(1 << 20, handle),
            written: 0,
        })
    }

    fn err(&self, source: std::io::Error) -> PackageError {
        PackageError::Output {
            path: self.out.path().to_path_buf(),
            source,
        }
    }

    /// The destination's folder (where scratch files go, on the same file system).
    pub(crate) fn dir(&self) -> &Path {
        self.out
            .path()
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
    }

    /// Where the bytes go, for a tool that writes by path.
    pub(crate) fn temp_path(&self) -> &Path {
        self.out.writing_path()
    }

    pub(crate) fn write_all(&mut self, bytes: &[u8]) -> Result<(), PackageError> {
        self.writer.write_all(bytes).map_err(|e| self.err(e))?;
        self.written += bytes.len() as u64;
        Ok(())
    }

    pub(crate) fn copy_from(&mut self, src: &mut File) -> Result<(), PackageError> {
        self.writer.flush().map_err(|e| self.err(e))?;
        self.written += std::io::copy(src, self.writer.get_mut()).map_err(|e| self.err(e))?;
        Ok(())
    }

    pub(crate) fn reopen(&mut self) -> Result<File, PackageError> {
        self.writer.flush().map_err(|e| self.err(e))?;
        self.out.reopen().map_err(output_error)
    }

    /// Flushes, syncs and moves into place; returns the output's length (of a device or FIFO:
    /// the bytes written through this type).
    pub(crate) fn commit(mut self) -> Result<u64, PackageError> {
        self.writer.flush().map_err(|e| self.err(e))?;
        let len = if self.out.in_place() {
            self.written
        } else {
            let meta = self.out.file().metadata();
            meta.map_err(|e| self.err(e))?.len()
        };
        self.out.commit().map_err(output_error)?;
        Ok(len)
    }
}

/// Writes a new file readable only by its owner, atomically; never replaces an existing file.
pub(crate) fn write_private_new(path: &Path, bytes: &[u8]) -> Result<(), PackageError> {
    let err = |source| PackageError::Output {
        path: path.to_path_buf(),
        source,
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(err)?;
    tmp.write_all(bytes).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist_noclobber(path).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            PackageError::Exists {
                path: path.to_path_buf(),
            }
        } else {
            err(e.error)
        }
    })?;
    Ok(())
}
