//! The pc2 role: the owner's own server. A creator's file is packaged here, on the owner's
//! machine, so its plaintext and content key never reach anyone else's server; a public
//! market instance runs without this role and accepts no upload.
//!
//! - Owner-only: every pc2 route takes an [`Owner`], a signed-in (SIWE) account that is one of
//!   [`Pc2Config::owners`]; anyone else is refused with 403, signed in or not.
//! - Uploads ([`upload`]): streamed to a temporary file under a size limit and the account's
//!   quota ([`quota`]), packaged by a child process under resource limits ([`child`]), pinned,
//!   and answered with the unsigned registration for the owner's own wallet.

pub mod child;
pub mod quota;
pub mod upload;

use std::path::PathBuf;

use alloy::primitives::Address;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use licence_net_protocol::GroupKey;

use crate::auth::Creator;
use crate::error::ApiError;
use crate::AppState;

pub use child::{ChildLimits, PackagerCommand};
pub use quota::Quota;

/// Everything the pc2 role needs.
#[derive(Clone)]
pub struct Pc2Config {
    /// The accounts this PC2 serves (at least one).
    pub owners: Vec<Address>,
    /// The licence network's group key: content keys are wrapped to it.
    pub group_key: GroupKey,
    /// Where uploads are spooled and packaged (temporary folders, removed when done).
    pub work_dir: PathBuf,
    pub max_upload_bytes: u64,
    pub quota: Quota,
    /// The packaging child and its limits.
    pub packager: PackagerCommand,
}

impl std::fmt::Debug for Pc2Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pc2Config")
            .field("owners", &self.owners)
            .field("work_dir", &self.work_dir)
            .field("max_upload_bytes", &self.max_upload_bytes)
            .field("quota", &self.quota)
            .field("packager", &self.packager)
            .finish_non_exhaustive()
    }
}

/// A signed-in owner of this PC2: extracting it fails with 401 without a live session and
/// with 403 for any other account.
#[derive(Debug, Clone, Copy)]
pub struct Owner {
    pub address: Address,
}

impl FromRequestParts<AppState> for Owner {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let creator = Creator::from_request_parts(parts, state).await?;
        let pc2 = state.pc2()?;
        if !pc2.owners.contains(&creator.address) {
            return Err(ApiError::Forbidden(
                "this PC2 serves its owner only: sign in with an owner's account, or upload to your own PC2"
                    .into(),
            ));
        }
        Ok(Self {
            address: creator.address,
        })
    }
}
