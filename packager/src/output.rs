//! Outputs written to a temporary file beside their destination and renamed into place when
//! complete, so a failure never leaves a half-written file behind.

use super::*;

/// A file written under a temporary name beside its destination and renamed into place by
/// [`AtomicOutput::commit`]; dropped uncommitted, it is deleted.
pub(crate) struct AtomicOutput {
    path: PathBuf,
    temp: tempfile::NamedTempFile,
    writer: std::io::BufWriter<File>,
}

impl AtomicOutput {
    pub(crate) fn new(path: &Path) -> Result<Self, PackageError> {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let err = |source| PackageError::Output {
            path: path.to_path_buf(),
            source,
        };
        if path.is_dir() {
            return Err(PackageError::Invalid(format!(
                "{} is a directory",
                path.display()
            )));
        }
        // Readable by others like any file a user writes: the .ddrm is encrypted, and a
        // decrypted output is the owner's to share (the key file is the secret, mode 0600).
        let temp = tempfile::Builder::new()
            .prefix(".ddrm-partial-")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644))
            .tempfile_in(dir)
            .map_err(err)?;
        let writer = std::io::BufWriter::with_capacity(1 << 20, temp.reopen().map_err(err)?);
        Ok(Self {
            path: path.to_path_buf(),
            temp,
            writer,
        })
    }

    fn err(&self, source: std::io::Error) -> PackageError {
        PackageError::Output {
            path: self.path.clone(),
            source,
        }
    }

    pub(crate) fn dir(&self) -> &Path {
        self.temp.path().parent().unwrap_or(Path::new("."))
    }

    pub(crate) fn temp_path(&self) -> &Path {
        self.temp.path()
    }

    pub(crate) fn write_all(&mut self, bytes: &[u8]) -> Result<(), PackageError> {
        self.writer.write_all(bytes).map_err(|e| self.err(e))
    }

    pub(crate) fn copy_from(&mut self, src: &mut File) -> Result<(), PackageError> {
        self.writer.flush().map_err(|e| self.err(e))?;
        std::io::copy(src, self.writer.get_mut()).map_err(|e| self.err(e))?;
        Ok(())
    }

    pub(crate) fn reopen(&mut self) -> Result<File, PackageError> {
        self.writer.flush().map_err(|e| self.err(e))?;
        self.temp.reopen().map_err(|e| self.err(e))
    }

    /// Flushes, syncs and renames into place; returns the file's length.
    pub(crate) fn commit(mut self) -> Result<u64, PackageError> {
        self.writer.flush().map_err(|e| self.err(e))?;
        let f = self.temp.as_file();
        f.sync_all().map_err(|e| self.err(e))?;
        let len = f.metadata().map_err(|e| self.err(e))?.len();
        let path = self.path.clone();
        self.temp.persist(&path).map_err(|e| PackageError::Output {
            path,
            source: e.error,
        })?;
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
