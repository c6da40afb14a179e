//! The capsule shipped inside this build: its wasm bytes and the publisher-signed manifest that
//! `build.rs` produced for them.

use std::borrow::Cow;

use licence_net_protocol::{Address, B256};

use crate::manifest::{CapsuleManifest, ManifestError};

static WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/capsule.wasm"));
static MANIFEST: &str = include_str!(concat!(env!("OUT_DIR"), "/capsule.manifest.json"));

/// A capsule as the host receives it: wasm bytes plus the manifest that claims them.
/// Nothing about it is trusted until [`crate::verify`] checks it.
#[derive(Debug, Clone)]
pub struct CapsulePackage {
    pub wasm: Cow<'static, [u8]>,
    pub manifest: CapsuleManifest,
}

impl CapsulePackage {
    /// The measurement the manifest claims (SHA-256 of the wasm when the package is genuine).
    pub fn measurement(&self) -> B256 {
        self.manifest.measurement
    }

    pub fn version(&self) -> u32 {
        self.manifest.version
    }

    pub fn publisher(&self) -> Address {
        self.manifest.publisher
    }

    /// Reads a package from a wasm file and its manifest JSON file.
    pub fn from_parts(wasm: Vec<u8>, manifest_json: &str) -> Result<Self, ManifestError> {
        Ok(Self {
            wasm: Cow::Owned(wasm),
            manifest: CapsuleManifest::from_json(manifest_json)?,
        })
    }
}

/// The capsule built into this binary, with its signed manifest.
pub fn bundled_capsule() -> CapsulePackage {
    CapsulePackage {
        wasm: Cow::Borrowed(WASM),
        manifest: CapsuleManifest::from_json(MANIFEST)
            .expect("build.rs writes a well-formed manifest"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{DEV_PUBLISHER_ADDRESS, DEV_PUBLISHER_KEY};

    #[test]
    fn the_bundled_manifest_measures_the_bundled_wasm_and_is_signed() {
        let c = bundled_capsule();
        assert_eq!(c.measurement(), licence_net_protocol::measure(&c.wasm));
        c.manifest.verify_signature().unwrap();
        assert!(c.version() >= 1);
    }

    #[test]
    fn the_dev_publisher_constants_agree() {
        let key =
            k256::ecdsa::SigningKey::from_slice(&hex::decode(&DEV_PUBLISHER_KEY[2..]).unwrap())
                .unwrap();
        let addr = licence_net_protocol::address_of(key.verifying_key());
        assert_eq!(addr, DEV_PUBLISHER_ADDRESS.parse::<Address>().unwrap());
    }

    #[test]
    fn a_changed_manifest_fails_its_signature() {
        let mut c = bundled_capsule();
        c.manifest.version += 1;
        assert!(c.manifest.verify_signature().is_err());
    }
}
