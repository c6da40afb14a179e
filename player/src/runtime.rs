//! The runtime's attestation key: one secp256k1 key per install (per PC2), kept in a file only
//! its owner can read, approved in the on-chain CapsuleRegistry (`approveRuntime(address)`).
//! It signs [`Attestation`]s binding a checked capsule's measurement to the capsule's ephemeral
//! key.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use licence_net_protocol::{address_of, Address, Attestation, B256};
use zeroize::Zeroizing;

/// What can go wrong with the runtime key file.
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
    #[error("signing the attestation failed")]
    Signing,
}

/// The runtime's attestation key. The secret is zeroized on drop and never printed.
pub struct RuntimeKey {
    key: k256::ecdsa::SigningKey,
}

impl std::fmt::Debug for RuntimeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RuntimeKey({})", self.address())
    }
}

impl RuntimeKey {
    /// A fresh random key (not saved).
    pub fn generate() -> Self {
        Self {
            key: k256::ecdsa::SigningKey::random(&mut rand_core::OsRng),
        }
    }

    /// A key from its 32 secret bytes.
    pub fn from_bytes(secret: &[u8]) -> Option<Self> {
        k256::ecdsa::SigningKey::from_slice(secret)
            .ok()
            .map(|key| Self { key })
    }

    /// Loads the key in `path` (hex, one line, mode 0600), or creates it there when the file
    /// does not exist. Two processes creating it at once end up with the same key.
    pub fn load_or_create(path: &Path) -> Result<Self, RuntimeKeyError> {
        match Self::load(path) {
            Err(RuntimeKeyError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                Self::create(path)
            }
            other => other,
        }
    }

    /// Loads the key in `path`; refuses a file that others can read.
    pub fn load(path: &Path) -> Result<Self, RuntimeKeyError> {
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
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(io("read"))?);
        let bytes = Zeroizing::new(
            hex::decode(text.trim().trim_start_matches("0x"))
                .map_err(|_| RuntimeKeyError::Malformed(path.to_path_buf()))?,
        );
        Self::from_bytes(&bytes).ok_or_else(|| RuntimeKeyError::Malformed(path.to_path_buf()))
    }

    fn create(path: &Path) -> Result<Self, RuntimeKeyError> {
        let io = |action| {
            move |source| RuntimeKeyError::Io {
                action,
                path: path.to_path_buf(),
                source,
            }
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io("create the folder of"))?;
        }
        let key = Self::generate();
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let text = Zeroizing::new(format!("0x{}\n", hex::encode(key.key.to_bytes())));
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()
        };
        let written = write();
        // A hard link never replaces an existing file: if another process won the race, its
        // key is the one.
        let linked = written.and_then(|()| std::fs::hard_link(&tmp, path));
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => Ok(key),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Self::load(path),
            Err(e) => Err(io("create")(e)),
        }
    }

    /// The key's Ethereum address: what `approveRuntime` approves on chain.
    pub fn address(&self) -> Address {
        address_of(self.key.verifying_key())
    }

    /// Signs "capsule `measurement` holds the secret of `capsule_key`" at `issued_at` (unix s).
    pub fn attest(
        &self,
        measurement: B256,
        capsule_key: B256,
        issued_at: u64,
    ) -> Result<Attestation, RuntimeKeyError> {
        Attestation::sign(&self.key, measurement, capsule_key, issued_at)
            .map_err(|_| RuntimeKeyError::Signing)
    }
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
        assert!(!format!("{a:?}").contains(&hex::encode(a.key.to_bytes())));

        let att = a
            .attest(B256::repeat_byte(1), B256::repeat_byte(2), 1_000)
            .unwrap();
        assert_eq!(att.runtime, a.address());
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
}
