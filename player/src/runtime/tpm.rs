//! A `tpm2-p256` runtime key: a restricted P-256 signing key made inside a TPM 2.0, reached
//! through a TSS TCTI (`device:/dev/tpmrm0` on a real machine, `swtpm:host=…,port=…` for a
//! software TPM).
//!
//! Why tss-esapi (the Rust wrapper of the tpm2-tss ESAPI, the TCG's reference stack): it is the
//! maintained TPM stack for Rust, it speaks to kernel resource managers and swtpm alike through
//! TCTIs, and it marshals and unmarshals TPM structures with the TSS's own code; writing our own
//! TPM command marshalling would be new code in the most security-sensitive place.
//!
//! The key file holds only what the TPM gave out: the TCTI, the key's public area and its
//! private blob, which is encrypted under the TPM's storage primary key. The primary key is
//! re-derived from the TPM's owner seed each time from a fixed template, so the blob loads on
//! this TPM and on no other: a copy of the file is useless elsewhere.
//!
//! Attesting: reset PCR 23, extend it with the capsule measurement, quote it with the
//! attestation digest as qualifying data ([`licence_net_protocol::tpm`]). PCR 23 is one per
//! TPM, so attestations on one TPM are serialised by an exclusive lock on the key file.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use licence_net_protocol::{tpm::QUOTE_PCR, Address, Attestation, B256};
use serde::{Deserialize, Serialize};
use tss_esapi::attributes::ObjectAttributesBuilder;
use tss_esapi::handles::{KeyHandle, PcrHandle};
use tss_esapi::interface_types::algorithm::{HashingAlgorithm, PublicAlgorithm};
use tss_esapi::interface_types::ecc::EccCurve;
use tss_esapi::interface_types::resource_handles::Hierarchy;
use tss_esapi::structures::{
    Data, Digest, DigestValues, EccPoint, EccScheme, HashScheme, KeyDerivationFunctionScheme,
    PcrSelectionListBuilder, PcrSlot, Private, Public, PublicBuilder, PublicEccParametersBuilder,
    Signature, SignatureScheme, SymmetricDefinitionObject,
};
use tss_esapi::tcti_ldr::TctiNameConf;
use tss_esapi::traits::{Marshall, UnMarshall};
use tss_esapi::Context;

use super::RuntimeKeyError;

const KIND: &str = "tpm2-p256";

/// The key file's JSON.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    kind: String,
    /// The TCTI that reaches the TPM holding the key.
    tcti: String,
    /// Marshalled `TPMT_PUBLIC` (hex).
    public: String,
    /// The TPM's private blob, encrypted under its storage primary key (hex).
    private: String,
}

/// A TPM-held attestation key: the TCTI and the blobs to load it with.
pub(super) struct TpmKey {
    path: PathBuf,
    tcti: String,
    public: Vec<u8>,
    private: Vec<u8>,
    id: Address,
}

impl TpmKey {
    /// Makes a new key inside the TPM at `tcti` and writes its blobs to `path` (mode 0600,
    /// never replacing an existing file: if one appeared meanwhile, that one is loaded).
    pub fn create(tcti: &str, path: &Path) -> Result<Self, RuntimeKeyError> {
        let mut ctx = connect(tcti)?;
        let primary = storage_primary(&mut ctx)?;
        let created = ctx
            .execute_with_nullauth_session(|c| {
                c.create(primary, signing_template()?, None, None, None, None)
            })
            .map_err(tpm("create the runtime key in"));
        let _ = ctx.flush_context(primary.into());
        let created = created?;
        let public = created
            .out_public
            .marshall()
            .map_err(tpm("marshal the key's public area from"))?;
        let file = KeyFile {
            kind: KIND.into(),
            tcti: tcti.into(),
            public: hex::encode(&public),
            private: hex::encode(created.out_private.value()),
        };
        let text = serde_json::to_string_pretty(&file).expect("key file serializes") + "\n";
        match super::publish_new(path, text.as_bytes())? {
            true => Self::parse(path, &text),
            false => Self::parse(path, &super::read_private(path)?),
        }
    }

    /// Parses a key file's text (`path` names it in errors and is locked while attesting).
    pub fn parse(path: &Path, text: &str) -> Result<Self, RuntimeKeyError> {
        let malformed = |why: &str| RuntimeKeyError::TpmKeyFile {
            path: path.to_path_buf(),
            why: why.to_string(),
        };
        let file: KeyFile = serde_json::from_str(text).map_err(|e| malformed(&e.to_string()))?;
        if file.kind != KIND {
            return Err(malformed("its kind is not tpm2-p256"));
        }
        let public = hex::decode(&file.public).map_err(|_| malformed("public is not hex"))?;
        let private = hex::decode(&file.private).map_err(|_| malformed("private is not hex"))?;
        let id = licence_net_protocol::tpm::TpmPublic::parse(&public)
            .map_err(|e| malformed(&e.to_string()))?
            .runtime_id();
        Ok(Self {
            path: path.to_path_buf(),
            tcti: file.tcti,
            public,
            private,
            id,
        })
    }

    /// Points the key at the TPM now reachable at `tcti` (a software TPM's port changes between
    /// runs) and records that in its file, replaced atomically.
    pub fn retarget(&mut self, tcti: &str) -> Result<(), RuntimeKeyError> {
        if self.tcti == tcti {
            return Ok(());
        }
        let file = KeyFile {
            kind: KIND.into(),
            tcti: tcti.into(),
            public: hex::encode(&self.public),
            private: hex::encode(&self.private),
        };
        let text = serde_json::to_string_pretty(&file).expect("key file serializes") + "\n";
        super::replace(&self.path, text.as_bytes())?;
        self.tcti = tcti.into();
        Ok(())
    }

    /// The runtime id approved on chain: `keccak256(x ‖ y)[12..]`.
    pub fn id(&self) -> Address {
        self.id
    }

    /// The TCTI the key is reached through.
    pub fn tcti(&self) -> &str {
        &self.tcti
    }

    /// Loads the key into its TPM, sets PCR 23 to the measurement and quotes it over the
    /// attestation digest.
    pub fn attest(
        &self,
        measurement: B256,
        capsule_key: B256,
        issued_at: u64,
    ) -> Result<Attestation, RuntimeKeyError> {
        // PCR 23 is shared by everything on this TPM: one attestation at a time per key file
        // (threads and processes alike; the lock ends when `_lock` is dropped).
        let _lock = std::fs::File::open(&self.path)
            .and_then(|f| f.lock().map(|()| f))
            .map_err(|source| RuntimeKeyError::Io {
                action: "lock",
                path: self.path.clone(),
                source,
            })?;
        let digest = Attestation::digest_for(&measurement, &capsule_key, issued_at);
        let mut ctx = connect(&self.tcti)?;
        let primary = storage_primary(&mut ctx)?;
        let loaded = self.load(&mut ctx, primary);
        let _ = ctx.flush_context(primary.into());
        let key = loaded?;
        let quoted = quote(&mut ctx, key, &measurement, &digest);
        let _ = ctx.flush_context(key.into());
        let (quote, signature) = quoted?;
        Attestation::from_tpm_quote(
            measurement,
            capsule_key,
            issued_at,
            self.public.clone(),
            quote,
            signature,
        )
        .map_err(|e| RuntimeKeyError::Tpm {
            action: "check the quote from",
            detail: e.to_string(),
        })
    }

    fn load(&self, ctx: &mut Context, primary: KeyHandle) -> Result<KeyHandle, RuntimeKeyError> {
        let public = Public::unmarshall(&self.public).map_err(tpm("read the public area for"))?;
        let private = Private::try_from(self.private.clone()).map_err(tpm("read the blob for"))?;
        ctx.execute_with_nullauth_session(|c| c.load(primary, private, public))
            .map_err(|e| RuntimeKeyError::TpmRefusedKey {
                path: self.path.clone(),
                detail: e.to_string(),
            })
    }
}

fn tpm(action: &'static str) -> impl Fn(tss_esapi::Error) -> RuntimeKeyError {
    move |e| RuntimeKeyError::Tpm {
        action,
        detail: e.to_string(),
    }
}

fn connect(tcti: &str) -> Result<Context, RuntimeKeyError> {
    let conf = TctiNameConf::from_str(tcti).map_err(|e| RuntimeKeyError::Tpm {
        action: "parse the TCTI of",
        detail: e.to_string(),
    })?;
    Context::new(conf).map_err(|e| RuntimeKeyError::NoTpm {
        tcti: tcti.to_string(),
        detail: e.to_string(),
    })
}

/// What both keys are: fixed to this TPM and their parent, generated inside it, used with their
/// (empty) auth value, restricted (they work only on structures the TPM made), exempt from
/// dictionary-attack lockout.
fn resident_restricted_attributes() -> ObjectAttributesBuilder {
    ObjectAttributesBuilder::new()
        .with_fixed_tpm(true)
        .with_fixed_parent(true)
        .with_sensitive_data_origin(true)
        .with_user_with_auth(true)
        .with_restricted(true)
        .with_no_da(true)
}

/// The owner hierarchy's P-256 storage primary, from a fixed template: the same key on every
/// call on one TPM (derived from its owner seed), another key on any other TPM.
fn storage_primary(ctx: &mut Context) -> Result<KeyHandle, RuntimeKeyError> {
    let attributes = resident_restricted_attributes()
        .with_decrypt(true)
        .build()
        .map_err(tpm("build the storage key template for"))?;
    let template = PublicBuilder::new()
        .with_public_algorithm(PublicAlgorithm::Ecc)
        .with_name_hashing_algorithm(HashingAlgorithm::Sha256)
        .with_object_attributes(attributes)
        .with_ecc_parameters(
            PublicEccParametersBuilder::new_restricted_decryption_key(
                SymmetricDefinitionObject::AES_128_CFB,
                EccCurve::NistP256,
            )
            .build()
            .map_err(tpm("build the storage key template for"))?,
        )
        .with_ecc_unique_identifier(EccPoint::default())
        .build()
        .map_err(tpm("build the storage key template for"))?;
    ctx.execute_with_nullauth_session(|c| {
        c.create_primary(Hierarchy::Owner, template, None, None, None, None)
    })
    .map(|p| p.key_handle)
    .map_err(tpm("create the storage primary key in"))
}

/// The runtime key: restricted (it signs only what the TPM made, such as quotes), fixed to this
/// TPM and parent, generated inside it; ECDSA P-256 with SHA-256.
fn signing_template() -> tss_esapi::Result<Public> {
    let attributes = resident_restricted_attributes()
        .with_sign_encrypt(true)
        .build()?;
    PublicBuilder::new()
        .with_public_algorithm(PublicAlgorithm::Ecc)
        .with_name_hashing_algorithm(HashingAlgorithm::Sha256)
        .with_object_attributes(attributes)
        .with_ecc_parameters(
            PublicEccParametersBuilder::new()
                .with_ecc_scheme(EccScheme::EcDsa(HashScheme::new(HashingAlgorithm::Sha256)))
                .with_curve(EccCurve::NistP256)
                .with_is_signing_key(true)
                .with_restricted(true)
                .with_key_derivation_function_scheme(KeyDerivationFunctionScheme::Null)
                .build()?,
        )
        .with_ecc_unique_identifier(EccPoint::default())
        .build()
}

/// Resets PCR 23, extends it with `measurement`, and quotes it over `digest`. Returns the
/// marshalled `TPMS_ATTEST` and the signature `r ‖ s`.
fn quote(
    ctx: &mut Context,
    key: KeyHandle,
    measurement: &B256,
    digest: &B256,
) -> Result<(Vec<u8>, [u8; 64]), RuntimeKeyError> {
    debug_assert_eq!(QUOTE_PCR, 23);
    let mut values = DigestValues::new();
    values.set(
        HashingAlgorithm::Sha256,
        Digest::try_from(measurement.to_vec()).map_err(tpm("hash for"))?,
    );
    ctx.execute_with_nullauth_session(|c| {
        c.pcr_reset(PcrHandle::Pcr23)?;
        c.pcr_extend(PcrHandle::Pcr23, values)
    })
    .map_err(tpm("set PCR 23 in"))?;
    let selection = PcrSelectionListBuilder::new()
        .with_selection(HashingAlgorithm::Sha256, &[PcrSlot::Slot23])
        .build()
        .map_err(tpm("select PCR 23 in"))?;
    let scheme = SignatureScheme::EcDsa {
        hash_scheme: HashScheme::new(HashingAlgorithm::Sha256),
    };
    let qualifying = Data::try_from(digest.to_vec()).map_err(tpm("quote with"))?;
    let (attest, signature) = ctx
        .execute_with_nullauth_session(|c| c.quote(key, qualifying, scheme, selection))
        .map_err(tpm("quote PCR 23 with"))?;
    let attest = attest.marshall().map_err(tpm("marshal the quote of"))?;
    let Signature::EcDsa(ecdsa) = signature else {
        return Err(RuntimeKeyError::Tpm {
            action: "read the quote's signature from",
            detail: "it is not an ECDSA signature".into(),
        });
    };
    let mut rs = [0u8; 64];
    let (r, s) = rs.split_at_mut(32);
    for (half, value) in [
        (r, ecdsa.signature_r().value()),
        (s, ecdsa.signature_s().value()),
    ] {
        if value.len() > 32 {
            return Err(RuntimeKeyError::Tpm {
                action: "read the quote's signature from",
                detail: "a scalar is longer than 32 bytes".into(),
            });
        }
        half[32 - value.len()..].copy_from_slice(value);
    }
    Ok((attest, rs))
}
