//! The runtime's attestation key: one per install (per PC2), approved in the on-chain
//! CapsuleRegistry (`approveRuntime(id)`). It attests that a checked capsule's measurement holds
//! the capsule's ephemeral key ([`Attestation`]). Two kinds:
//!
//! - `file-secp256k1` ([`file`]): a key in a file (mode 0600). Its owner can copy it and use it
//!   outside any capsule, so it is for **local development** stacks only; nodes can be told to
//!   refuse it (`--require-hardware-runtime`).
//! - `tpm2-p256` ([`tpm`]): a key made inside a TPM 2.0 that never leaves it; the file holds
//!   only blobs that TPM alone can load.
//!
//! [`RuntimeKey::load`] tells the two apart by the file's contents.

mod file;
mod swtpm;
mod tpm;

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use licence_net_protocol::{Address, Attestation, RuntimeKind, B256};
use zeroize::Zeroizing;

pub use swtpm::{SwTpm, SwTpmError};

/// What can go wrong with the runtime key.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeKeyError {
    #[error("cannot {action} the runtime key file {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the runtime key file {path} is readable by others (mode {mode:o}); chmod 600 it")]
    Permissions { path: PathBuf, mode: u32 },
    #[error("the runtime key file {0} does not hold a hex secp256k1 private key")]
    Malformed(PathBuf),
    #[error("the TPM runtime key file {path} is not valid: {why}")]
    TpmKeyFile { path: PathBuf, why: String },
    #[error("signing the attestation failed")]
    Signing,
    #[error("no TPM answers at {tcti}: {detail}")]
    NoTpm { tcti: String, detail: String },
    #[error("the TPM refused to load the runtime key in {path} (it was made by another TPM, or this TPM was cleared): {detail}")]
    TpmRefusedKey { path: PathBuf, detail: String },
    #[error("cannot {action} the TPM: {detail}")]
    Tpm {
        action: &'static str,
        detail: String,
    },
}

/// This install's runtime attestation key. A file key's secret is zeroized on drop; no key
/// material is ever printed.
pub struct RuntimeKey(Inner);

enum Inner {
    File(file::FileKey),
    Tpm(tpm::TpmKey),
}

impl std::fmt::Debug for RuntimeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RuntimeKey({}, {})", self.kind(), self.address())
    }
}

impl RuntimeKey {
    /// A fresh random file key (not saved).
    pub fn generate() -> Self {
        Self(Inner::File(file::FileKey::generate()))
    }

    /// A file key from its 32 secret bytes.
    pub fn from_bytes(secret: &[u8]) -> Option<Self> {
        file::FileKey::from_bytes(secret).map(|k| Self(Inner::File(k)))
    }

    /// Loads the key in `path`, or creates a file key there when the file does not exist. Two
    /// processes creating it at once end up with the same key.
    pub fn load_or_create(path: &Path) -> Result<Self, RuntimeKeyError> {
        match Self::load(path) {
            Err(RuntimeKeyError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                file::FileKey::create(path).map(|k| Self(Inner::File(k)))
            }
            other => other,
        }
    }

    /// Loads the key in `path`, or makes a new key inside the TPM at `tcti` and saves its
    /// blobs there when the file does not exist. An existing file must hold a TPM key; it is
    /// pointed at `tcti` from now on.
    pub fn load_or_create_tpm(tcti: &str, path: &Path) -> Result<Self, RuntimeKeyError> {
        match Self::load(path) {
            Ok(Self(Inner::Tpm(mut key))) => {
                key.retarget(tcti)?;
                Ok(Self(Inner::Tpm(key)))
            }
            Ok(_) => Err(RuntimeKeyError::TpmKeyFile {
                path: path.to_path_buf(),
                why: "it holds a file-secp256k1 key".into(),
            }),
            Err(RuntimeKeyError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                tpm::TpmKey::create(tcti, path).map(|k| Self(Inner::Tpm(k)))
            }
            Err(e) => Err(e),
        }
    }

    /// Loads the key in `path`: a TPM key file (JSON) or a file key (hex). Refuses a file that
    /// others can read.
    pub fn load(path: &Path) -> Result<Self, RuntimeKeyError> {
        let text = read_private(path)?;
        if text.trim_start().starts_with('{') {
            tpm::TpmKey::parse(path, &text).map(|k| Self(Inner::Tpm(k)))
        } else {
            file::FileKey::parse(path, &text).map(|k| Self(Inner::File(k)))
        }
    }

    /// What holds the key.
    pub fn kind(&self) -> RuntimeKind {
        match &self.0 {
            Inner::File(_) => RuntimeKind::FileSecp256k1,
            Inner::Tpm(_) => RuntimeKind::Tpm2P256,
        }
    }

    /// The runtime id: what `approveRuntime` approves on chain.
    pub fn address(&self) -> Address {
        match &self.0 {
            Inner::File(k) => k.address(),
            Inner::Tpm(k) => k.id(),
        }
    }

    /// The TCTI of a TPM key's TPM; `None` for a file key.
    pub fn tcti(&self) -> Option<&str> {
        match &self.0 {
            Inner::File(_) => None,
            Inner::Tpm(k) => Some(k.tcti()),
        }
    }

    /// Attests "capsule `measurement` holds the secret of `capsule_key`" at `issued_at`
    /// (unix s).
    pub fn attest(
        &self,
        measurement: B256,
        capsule_key: B256,
        issued_at: u64,
    ) -> Result<Attestation, RuntimeKeyError> {
        match &self.0 {
            Inner::File(k) => k.attest(measurement, capsule_key, issued_at),
            Inner::Tpm(k) => k.attest(measurement, capsule_key, issued_at),
        }
    }
}

/// Reads a key file that only its owner may read.
fn read_private(path: &Path) -> Result<Zeroizing<String>, RuntimeKeyError> {
    let io = |action| {
        move |source| RuntimeKeyError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    };
    let meta = std::fs::metadata(path).map_err(io("read"))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(RuntimeKeyError::Permissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(Zeroizing::new(
        std::fs::read_to_string(path).map_err(io("read"))?,
    ))
}

/// Writes `contents` to a new temporary file beside `path` (mode 0600, synced) and returns
/// its path.
fn write_beside(path: &Path, contents: &[u8]) -> std::io::Result<PathBuf> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| {
            f.write_all(contents)?;
            f.sync_all()
        });
    match written {
        Ok(()) => Ok(tmp),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Writes `contents` to a new file at `path` (mode 0600, synced), never replacing an existing
/// one: `Ok(false)` when another process created it first.
fn publish_new(path: &Path, contents: &[u8]) -> Result<bool, RuntimeKeyError> {
    let tmp = write_beside(path, contents);
    // A hard link never replaces an existing file: if another process won the race, its key
    // is the one.
    let linked = tmp.and_then(|tmp| {
        let linked = std::fs::hard_link(&tmp, path);
        let _ = std::fs::remove_file(&tmp);
        linked
    });
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(source) => Err(RuntimeKeyError::Io {
            action: "create",
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Replaces the file at `path` with `contents` (mode 0600, synced, renamed into place).
fn replace(path: &Path, contents: &[u8]) -> Result<(), RuntimeKeyError> {
    let renamed = write_beside(path, contents).and_then(|tmp| {
        std::fs::rename(&tmp, path).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
    });
    renamed.map_err(|source| RuntimeKeyError::Io {
        action: "replace",
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_key_is_private_reloads_and_attests() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/runtime.key");
        let a = RuntimeKey::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let b = RuntimeKey::load_or_create(&path).unwrap();
        assert_eq!(a.address(), b.address());
        assert_eq!(a.kind(), RuntimeKind::FileSecp256k1);
        let secret = std::fs::read_to_string(&path).unwrap();
        assert!(!format!("{a:?}").contains(secret.trim().trim_start_matches("0x")));

        let att = a
            .attest(B256::repeat_byte(1), B256::repeat_byte(2), 1_000)
            .unwrap();
        assert_eq!(att.runtime, a.address());
        assert_eq!(att.kind, RuntimeKind::FileSecp256k1);
        att.verify(1_001).unwrap();
    }

    #[test]
    fn a_key_file_others_can_read_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runtime.key");
        RuntimeKey::load_or_create(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            RuntimeKey::load(&path),
            Err(RuntimeKeyError::Permissions { mode: 0o644, .. })
        ));
        std::fs::write(dir.path().join("bad.key"), "zz").unwrap();
        std::fs::set_permissions(
            dir.path().join("bad.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        assert!(matches!(
            RuntimeKey::load(&dir.path().join("bad.key")),
            Err(RuntimeKeyError::Malformed(_))
        ));
    }

    #[test]
    fn a_file_key_is_not_taken_for_a_tpm_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runtime.key");
        RuntimeKey::load_or_create(&path).unwrap();
        // The TCTI is never reached: the file already holds a key of the other kind.
        assert!(matches!(
            RuntimeKey::load_or_create_tpm("swtpm:host=127.0.0.1,port=1", &path),
            Err(RuntimeKeyError::TpmKeyFile { .. })
        ));
    }
}
