//! Trusted-dealer key generation: `ddrm licence keygen`.
//!
//! The dealer draws the master secret, splits it into one share per node and writes
//! `DIR/node-<i>.share` (i = 1..=N, mode 0600) and `DIR/group.pub`. A dealer knows the master key
//! while it runs: use it for local stacks and tests; production networks use distributed key
//! generation, whose nodes write the same share file format.

use std::io::Write;
use std::path::{Path, PathBuf};

use k256::ecdsa::SigningKey;
use licence_net_protocol::{address_of, GroupKey};
use threshold_crypto::SecretKeySet;

use crate::share::{KeyShareFile, ShareError};

/// Errors of key generation.
#[derive(Debug, thiserror::Error)]
pub enum DealerError {
    #[error("invalid parameters: {0}")]
    Params(&'static str),
    #[error(transparent)]
    Share(#[from] ShareError),
}

/// What the dealer wrote.
#[derive(Debug)]
pub struct Dealt {
    pub group: GroupKey,
    pub group_path: PathBuf,
    pub share_paths: Vec<PathBuf>,
}

/// The file name of node `i`'s share (1-based, as shown to operators).
pub fn share_file_name(node_number: usize) -> String {
    format!("node-{node_number}.share")
}

/// Generates a group of `nodes` shares of which `threshold` are needed to decrypt, into `dir`.
/// Refuses to overwrite existing key files; writes each file atomically.
pub fn deal(nodes: usize, threshold: usize, dir: &Path) -> Result<Dealt, DealerError> {
    if nodes == 0 || nodes > 256 {
        return Err(DealerError::Params("--nodes must be between 1 and 256"));
    }
    if threshold == 0 || threshold > nodes {
        return Err(DealerError::Params(
            "--threshold must be between 1 and --nodes",
        ));
    }
    create_private_dir(dir)?;
    let group_path = dir.join("group.pub");
    let share_paths: Vec<PathBuf> = (1..=nodes).map(|i| dir.join(share_file_name(i))).collect();
    for p in std::iter::once(&group_path).chain(&share_paths) {
        if p.exists() {
            return Err(ShareError::Exists {
                path: p.display().to_string(),
            }
            .into());
        }
    }
    let mut rng = rand07::rngs::OsRng;
    let sks = SecretKeySet::random(threshold - 1, &mut rng);
    let mut operators: Vec<SigningKey> = (0..nodes).map(|_| operator_key()).collect();
    let group = GroupKey::new(
        sks.public_keys(),
        nodes,
        threshold,
        operators
            .iter()
            .map(|k| address_of(k.verifying_key()))
            .collect(),
    )
    .map_err(|_| DealerError::Params("inconsistent group parameters"))?;
    for (index, path) in share_paths.iter().enumerate().rev() {
        let file = KeyShareFile {
            index,
            nodes,
            threshold,
            group_key_id: group.id(),
            share: sks.secret_key_share(index),
            operator: operators.pop().expect("one operator key per node"),
        };
        write_new(path, file.to_json().as_bytes(), 0o600)?;
    }
    drop(sks);
    write_new(&group_path, group.to_json().as_bytes(), 0o644)?;
    Ok(Dealt {
        group,
        group_path,
        share_paths,
    })
}

/// A fresh secp256k1 operator key from the operating system's randomness.
pub fn operator_key() -> SigningKey {
    SigningKey::random(&mut rand_core::OsRng)
}

fn create_private_dir(dir: &Path) -> Result<(), ShareError> {
    let err = |source| ShareError::Write {
        path: dir.display().to_string(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(err)?;
    }
    Ok(())
}

/// Writes `bytes` to a new file at `path` with `mode`, atomically (temp file + link), never
/// replacing an existing file.
pub fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), ShareError> {
    let err = |source| ShareError::Write {
        path: path.display().to_string(),
        source,
    };
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(err)?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    tmp.write_all(bytes).map_err(err)?;
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist_noclobber(path).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            ShareError::Exists {
                path: path.display().to_string(),
            }
        } else {
            err(e.error)
        }
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use licence_net_protocol::{Address, PreparedCiphertext};

    #[test]
    fn three_of_five_decrypts_and_two_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let dealt = deal(5, 3, dir.path()).unwrap();
        let text = std::fs::read_to_string(&dealt.group_path).unwrap();
        let group = GroupKey::from_json(&text).unwrap();
        assert_eq!(group, dealt.group);
        assert_eq!((group.nodes(), group.threshold()), (5, 3));

        let creator = Address::repeat_byte(0xC1);
        let bytes = group
            .encrypt(&creator, b"content key, 32 bytes long......")
            .unwrap();
        let ct = PreparedCiphertext::decode(&bytes, &creator)
            .unwrap()
            .ciphertext()
            .clone();
        let shares: Vec<_> = dealt
            .share_paths
            .iter()
            .map(|p| KeyShareFile::load(p, &group).unwrap())
            .collect();
        let dec: Vec<_> = shares
            .iter()
            .map(|s| (s.index, s.share.decrypt_share_no_verify(&ct)))
            .collect();
        let pks = group.public_key_set();
        let three = pks
            .decrypt(dec[1..4].iter().map(|(i, d)| (*i, d)), &ct)
            .unwrap();
        assert_eq!(three, b"content key, 32 bytes long......");
        assert!(pks
            .decrypt(dec[..2].iter().map(|(i, d)| (*i, d)), &ct)
            .is_err());
    }

    #[test]
    fn share_files_are_private_and_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let dealt = deal(3, 2, dir.path()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&dealt.share_paths[0])
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = deal(3, 2, dir.path()).unwrap_err();
        assert!(again.to_string().contains("already exists"), "{again}");
    }

    #[test]
    fn share_of_another_group_is_refused() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let da = deal(3, 2, a.path()).unwrap();
        let db = deal(3, 2, b.path()).unwrap();
        let err = KeyShareFile::load(&da.share_paths[0], &db.group).unwrap_err();
        assert!(matches!(err, ShareError::WrongGroup { .. }), "{err}");
    }

    #[test]
    fn bad_parameters_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(deal(5, 6, dir.path()).is_err());
        assert!(deal(5, 0, dir.path()).is_err());
        assert!(deal(0, 0, dir.path()).is_err());
    }
}
