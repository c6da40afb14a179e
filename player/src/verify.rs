//! The checks before a capsule is instantiated: its bytes against its manifest, the manifest's
//! signature, and the chain (publisher allowed, capsule registered and active, renderer allowed
//! for this content). Every chain read has a timeout.

use std::borrow::Cow;
use std::time::Duration;

use contracts_bindings::bindings::{CapsuleRegistry, ContentRegistry};
use contracts_bindings::{Chain, Deployment};
use licence_net_protocol::{measure, B256, U256};

use crate::{CapsulePackage, PlayError};

/// Time allowed to each chain read.
pub const CHAIN_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A capsule whose bytes match its publisher-signed manifest.
#[derive(Debug, Clone)]
pub struct Verified {
    pub wasm: Cow<'static, [u8]>,
    pub measurement: B256,
    pub package: CapsulePackage,
}

/// Checks the capsule's SHA-256 against its manifest, then the manifest's signature.
pub fn verify_package(package: &CapsulePackage) -> Result<Verified, PlayError> {
    let actual = measure(&package.wasm);
    if actual != package.manifest.measurement {
        return Err(PlayError::CapsuleTampered {
            claimed: package.manifest.measurement,
            actual,
        });
    }
    package
        .manifest
        .verify_signature()
        .map_err(|_| PlayError::ManifestSignature(package.manifest.publisher))?;
    Ok(Verified {
        wasm: package.wasm.clone(),
        measurement: actual,
        package: package.clone(),
    })
}

async fn timed<T, E: std::fmt::Display>(
    what: &str,
    fut: impl std::future::IntoFuture<Output = Result<T, E>>,
) -> Result<T, PlayError> {
    match tokio::time::timeout(CHAIN_READ_TIMEOUT, fut.into_future()).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(PlayError::Chain(format!("{what}: {e}"))),
        Err(_) => Err(PlayError::Chain(format!(
            "{what}: no answer within {CHAIN_READ_TIMEOUT:?}"
        ))),
    }
}

/// Checks on chain that the capsule's publisher is allowed, the capsule is registered and not
/// revoked, and `content` allows it as a renderer.
pub async fn check_on_chain(
    chain: &Chain,
    deployment: &Deployment,
    verified: &Verified,
    content: U256,
) -> Result<(), PlayError> {
    let c = &deployment.contracts;
    let capsules = CapsuleRegistry::new(c.capsule_registry, &chain.provider);
    let publisher = verified.package.manifest.publisher;
    if !timed(
        "CapsuleRegistry.isPublisher",
        capsules.isPublisher(publisher).call(),
    )
    .await?
    {
        return Err(PlayError::PublisherNotAllowed(publisher));
    }
    if !timed(
        "CapsuleRegistry.isCapsuleActive",
        capsules.isCapsuleActive(verified.measurement).call(),
    )
    .await?
    {
        return Err(PlayError::CapsuleNotRegistered(verified.measurement));
    }
    let contents = ContentRegistry::new(c.content_registry, &chain.provider);
    if !timed(
        "ContentRegistry.isRendererAllowed",
        contents
            .isRendererAllowed(content, verified.measurement)
            .call(),
    )
    .await?
    {
        return Err(PlayError::RendererNotAllowed {
            content,
            measurement: verified.measurement,
        });
    }
    Ok(())
}
