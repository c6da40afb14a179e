//! What licence-net's tests add to [`licence_net::testing::Network`]: a test capsule and runtime
//! key approved on chain, a registered content, and requests signed by hand (correct, or
//! changed to be refused).

use std::ops::{Deref, DerefMut};

use contracts_bindings::bindings::CapsuleRegistry;
use contracts_bindings::chain;
use contracts_bindings::ops::{self, HeaderFacts, Purchase};
use k256::ecdsa::SigningKey;
use licence_net::audit::Decision;
use licence_net::dealer;
use licence_net::node::{NodeInfo, Refusal};
use licence_net::KeyShareFile;
use licence_net_client::host_combine::Licence;
use licence_net_client::{ClientError, NodeProblem};
use licence_net_protocol::{
    key_commitment, measure, Attestation, CapsuleSecret, GroupKey, LicenceAsk, OpenShare,
    RequestFields, B256, U256,
};

pub use licence_net::testing::*;

pub const CAPSULE: &[u8] = b"\0asm player capsule v1 (test bytes)";
pub const OTHER_CAPSULE: &[u8] = b"\0asm player capsule v2 (test bytes)";

/// A registered content: its id (bound to its registrant by the header digest), key and key
/// ciphertext.
pub struct Content {
    pub id: U256,
    pub header_digest: B256,
    pub key: [u8; 32],
    pub ciphertext: Vec<u8>,
}

impl Content {
    /// A content `registrant` can register: a random header digest and the id derived from it.
    pub fn of(registrant: alloy::primitives::Address, key: [u8; 32], ciphertext: Vec<u8>) -> Self {
        let header_digest = B256::from(random32());
        Self {
            id: ops::content_id_for(registrant, header_digest),
            header_digest,
            key,
            ciphertext,
        }
    }
}

/// A [`Network`] whose chain approves [`Net::runtime`] and registers [`CAPSULE`] (and
/// [`OTHER_CAPSULE`]), with [`Net::content`] registered by [`CREATOR`] for [`CAPSULE`].
pub struct Net {
    pub network: Network,
    pub runtime: SigningKey,
    pub measurement: B256,
    pub content: Content,
}

impl Deref for Net {
    type Target = Network;
    fn deref(&self) -> &Network {
        &self.network
    }
}

impl DerefMut for Net {
    fn deref_mut(&mut self) -> &mut Network {
        &mut self.network
    }
}

impl Net {
    pub async fn start() -> Self {
        let runtime = SigningKey::random(&mut rand::rngs::OsRng);
        let measurement = measure(CAPSULE);
        let network = Network::start(NetworkOptions {
            approve_runtimes: vec![licence_net_protocol::address_of(runtime.verifying_key())],
            register_capsules: vec![(measurement, 1), (measure(OTHER_CAPSULE), 2)],
            require_hardware_runtime: false,
        })
        .await;
        let mut net = Self {
            network,
            runtime,
            measurement,
            content: Content {
                id: U256::ZERO,
                header_digest: B256::ZERO,
                key: [0; 32],
                ciphertext: Vec::new(),
            },
        };
        net.content = net.register_content(&[measurement]).await;
        net
    }

    /// [`Net::start`], with [`BUYER`] having bought [`Net::content`].
    pub async fn bought() -> Self {
        let net = Self::start().await;
        net.purchase(BUYER, net.content.id, Purchase::Buy).await;
        net
    }

    /// Registers a fresh content of [`CREATOR`] (at [`PRICE`]) allowing `renderers`.
    pub async fn register_content(&self, renderers: &[B256]) -> Content {
        let key = random32();
        // Its id is derived from CREATOR's address and a random header digest, as the packager
        // derives it, so the registry accepts it from CREATOR only.
        let content = Content::of(
            self.creator(),
            key,
            self.group.encrypt(&self.creator(), &key).unwrap(),
        );
        self.register(CREATOR, &content, renderers, PRICE).await;
        content
    }

    /// `account` registers `content` (its id, header digest and key ciphertext as given) at
    /// `price`, allowing this network's capsule: for attacks that register what they did not
    /// package.
    pub async fn register_as(&self, account: usize, content: &Content, price: U256) {
        self.register(account, content, &[self.measurement], price)
            .await;
    }

    async fn register(&self, account: usize, content: &Content, renderers: &[B256], price: U256) {
        let header = HeaderFacts {
            content_id: content.id,
            header_digest: content.header_digest,
            key_commitment: key_commitment(&content.ciphertext),
            renderers: renderers.to_vec(),
        };
        self.mint(account, header, price).await;
    }

    /// Starts, in place of node `index`, a corrupted node: it keeps the node's operator key (so
    /// its responses are signed correctly) but holds the share of another group, so every
    /// decryption share it releases is wrong.
    pub async fn corrupt_node(&mut self, index: usize) {
        let other_dir = tempfile::tempdir().unwrap();
        let other = dealer::deal(NODES, THRESHOLD, other_dir.path()).unwrap();
        let other_group =
            GroupKey::from_json(&std::fs::read_to_string(&other.group_path).unwrap()).unwrap();
        let mut bad = KeyShareFile::load(&other.share_paths[index], &other_group).unwrap();
        let group_key_id = self.group.id();
        self.restart_node(index, |config| {
            bad.group_key_id = group_key_id;
            std::mem::swap(&mut bad.operator, &mut config.share.operator);
            config.share = bad;
        })
        .await;
    }

    /// A correct request for `content` by `account`, with its capsule secret.
    pub fn ask(&self, account: usize, content: &Content) -> (LicenceAsk, CapsuleSecret) {
        self.ask_with(account, content, |_, _| {})
    }

    /// A request built then changed by `edit` (on the fields before signing and on the
    /// attestation inputs), signed by `account`'s wallet.
    pub fn ask_with(
        &self,
        account: usize,
        content: &Content,
        edit: impl FnOnce(&mut RequestFields, &mut AttestationInputs),
    ) -> (LicenceAsk, CapsuleSecret) {
        self.ask_signed_by(&self.wallet(account), content, edit)
    }

    /// Like [`Self::ask_with`], signed by any wallet key (a fresh account costs nothing).
    pub fn ask_signed_by(
        &self,
        wallet: &SigningKey,
        content: &Content,
        edit: impl FnOnce(&mut RequestFields, &mut AttestationInputs),
    ) -> (LicenceAsk, CapsuleSecret) {
        let capsule = CapsuleSecret::generate();
        let mut att = AttestationInputs {
            measurement: self.measurement,
            runtime: self.runtime.clone(),
            issued_at: now(),
            ciphertext: content.ciphertext.clone(),
        };
        let mut fields = RequestFields {
            chain_id: self.dep.chain_id,
            access_contract: self.dep.contracts.access,
            content_id: content.id,
            key_commitment: B256::ZERO,
            capsule_key: capsule.public_key(),
            attestation_hash: B256::ZERO,
            nonce: B256::from(random32()),
            expiry: now() + 120,
        };
        edit(&mut fields, &mut att);
        let attestation = Attestation::sign(
            &att.runtime,
            att.measurement,
            fields.capsule_key,
            att.issued_at,
        )
        .unwrap();
        fields.attestation_hash = attestation.hash();
        fields.key_commitment = key_commitment(&att.ciphertext);
        let request = fields.sign(wallet).unwrap();
        (
            LicenceAsk {
                request,
                attestation,
                key_ciphertext: att.ciphertext.into(),
            },
            capsule,
        )
    }

    /// Hands node `index` a correct request of `account` for [`Net::content`].
    pub async fn post_to(
        &self,
        index: usize,
        account: usize,
    ) -> Result<licence_net_protocol::LicenceResponse, Refusal> {
        post(self.state(index), &self.ask(account, &self.content).0).await
    }

    /// Checks that `licence` opens to [`Net::content`]'s key.
    pub fn assert_opens(&self, licence: &Licence) {
        assert_eq!(
            licence.content_key(&self.group).unwrap().as_slice(),
            &self.content.key
        );
    }

    /// `account` asks the network for this network's content; the licence's shares must
    /// combine to its content key.
    pub async fn expect_licensed(&self, account: usize) -> Licence {
        self.licensed(account, false).await
    }

    /// Like [`Self::expect_licensed`], waiting for every node's answer
    /// ([`licence_net_client::LicenceClient::request_all`]).
    pub async fn expect_licensed_by_all(&self, account: usize) -> Licence {
        self.licensed(account, true).await
    }

    async fn licensed(&self, account: usize, every_node: bool) -> Licence {
        let (ask, capsule) = self.ask(account, &self.content);
        let (client, creator) = (self.client(), self.creator());
        let licence = if every_node {
            client.request_all(&ask, &creator, &capsule).await
        } else {
            client.request(&ask, &creator, &capsule).await
        };
        let licence = licence.expect("licence");
        self.assert_opens(&licence);
        licence
    }

    /// `account` asks for [`Net::content`] with a correct request; every node must refuse it
    /// with `code` (see [`Self::expect_refused`]).
    pub async fn expect_account_refused(&self, account: usize, code: &str) -> String {
        self.expect_edit_refused(account, |_, _| {}, code).await
    }

    /// `account` asks for [`Net::content`] with a request changed by `edit`; every node must
    /// refuse it with `code` (see [`Self::expect_refused`]).
    pub async fn expect_edit_refused(
        &self,
        account: usize,
        edit: impl FnOnce(&mut RequestFields, &mut AttestationInputs),
        code: &str,
    ) -> String {
        let (ask, capsule) = self.ask_with(account, &self.content, edit);
        self.expect_refused(&ask, &capsule, code).await
    }

    /// Asks the network, expecting every node to refuse with `code`; checks each node's audit
    /// log recorded that refusal. Returns the client's error text.
    pub async fn expect_refused(
        &self,
        ask: &LicenceAsk,
        capsule: &CapsuleSecret,
        code: &str,
    ) -> String {
        let err = self
            .client()
            .request(ask, &self.creator(), capsule)
            .await
            .expect_err("the licence must be refused");
        let text = err.to_string();
        let ClientError::NotEnough {
            valid,
            answered,
            failures,
            ..
        } = &err
        else {
            panic!("unexpected error: {err}");
        };
        assert_eq!(*valid, 0, "{text}");
        assert_eq!(*answered, NODES, "{text}");
        for f in failures {
            match &f.problem {
                NodeProblem::Refused { code: c, .. } => assert_eq!(c, code, "{text}"),
                other => panic!("node {:?} did not refuse: {other}", f.node_index),
            }
        }
        assert!(text.contains(code), "{text}");
        for i in 0..NODES {
            let last = self.last_audit(i);
            assert_eq!(
                last.facts.reason.as_deref(),
                Some(code),
                "node {i}: {last:?}"
            );
            assert_eq!(last.decision, Decision::Refused);
        }
        text
    }

    pub async fn revoke_capsule(&self, measurement: B256) {
        let c = self.chain_as(DEPLOYER).await;
        let registry = CapsuleRegistry::new(self.dep.contracts.capsule_registry, &c.provider);
        let sent = registry.revokeCapsule(measurement).send().await;
        chain::confirm("revokeCapsule", sent).await.unwrap();
    }

    /// Revokes [`Net::runtime`].
    pub async fn revoke_runtime(&self) {
        let c = self.chain_as(DEPLOYER).await;
        let registry = CapsuleRegistry::new(self.dep.contracts.capsule_registry, &c.provider);
        let runtime = licence_net_protocol::address_of(self.runtime.verifying_key());
        let sent = registry.revokeRuntime(runtime).send().await;
        chain::confirm("revokeRuntime", sent).await.unwrap();
    }

    /// Crafts chain state the registry never writes: `ContentRegistry.contentOfCommitment(creator,
    /// commitment)` answers `content` (anvil_setStorageAt on the mapping's slot, then a block).
    pub async fn forge_commitment_owner(
        &self,
        creator: alloy::primitives::Address,
        commitment: B256,
        content: U256,
    ) {
        use alloy::primitives::keccak256;
        use alloy::sol_types::SolValue;
        // `_contentOfCommitment` is storage slot 6 (`forge inspect ContentRegistry storageLayout`).
        let inner = keccak256((creator, U256::from(6u8)).abi_encode());
        let slot = keccak256((commitment, inner).abi_encode());
        self.anvil_call(
            "anvil_setStorageAt",
            (
                self.dep.contracts.content_registry,
                slot,
                B256::from(content.to_be_bytes::<32>()),
            ),
        )
        .await;
        self.mine().await;
    }
}

/// A node's `GET /v1/info`, over HTTP.
pub async fn info_over_http(url: &str) -> NodeInfo {
    let body = reqwest::Client::new()
        .get(format!("{url}/v1/info"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    serde_json::from_slice(&body).unwrap()
}

/// What the attestation and ciphertext of a test request are made of.
pub struct AttestationInputs {
    pub measurement: B256,
    pub runtime: SigningKey,
    pub issued_at: u64,
    pub ciphertext: Vec<u8>,
}
