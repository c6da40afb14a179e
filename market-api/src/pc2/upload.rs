//! Creator uploads to the owner's PC2: a streaming multipart upload spooled to a temporary
//! file under a size limit and the account's quota ([`super::quota`]), packaged by a child
//! process under resource limits ([`super::child`]; the content key, wrapped to the licence
//! network's group key, exists only in that child), pinned to the content store, and answered
//! with the unsigned `ContentRegistry.register` transaction for the creator's own wallet to
//! sign. The server never holds a creator's wallet key.
//!
//! `POST /v1/uploads` returns 202 with an upload id as soon as the body is received; the
//! client follows `GET /v1/uploads/{id}` (state, percent, then the result).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, U256};
use alloy::sol_types::SolCall;
use axum::extract::{Multipart, Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use contracts_bindings::bindings::ContentRegistry;
use contracts_bindings::ops::TermsInput;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use utoipa::ToSchema;

use super::child::{self, ChildFailure};
use super::quota::{QuotaError, Slot};
use super::Owner;
use crate::error::{ApiError, ErrorBody};
use crate::AppState;
use packager::job::{FailureKind, JobSpec};
use packager::PackageReport;

/// Room for the multipart framing and the small text fields beyond the file itself.
pub const MULTIPART_OVERHEAD_BYTES: usize = 64 * 1024;
/// Longest text field.
const MAX_FIELD_BYTES: usize = 4096;
/// Most upload jobs remembered; finished ones are forgotten after [`JOB_RETENTION`].
const MAX_JOBS: usize = 1024;
const JOB_RETENTION: Duration = Duration::from_secs(3600);

/// Where an upload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UploadState {
    Queued,
    Packaging,
    Pinning,
    Ready,
    Failed,
}

/// The unsigned registration transaction: sign and send it from `from`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UnsignedTransaction {
    /// The creator who must sign it (the signed-in account).
    pub from: String,
    /// The ContentRegistry.
    pub to: String,
    /// ABI-encoded `register(registration, holders, amounts)`, 0x-hex.
    pub data: String,
    /// Wei to send (always 0x0).
    pub value: String,
    #[serde(rename = "chainId")]
    pub chain_id: u64,
}

/// A packaged and pinned upload.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UploadResult {
    pub content_id: String,
    pub cid: String,
    pub key_commitment: String,
    /// `media` or `data`.
    pub kind: String,
    pub mime_type: String,
    pub duration_ms: u64,
    pub input_bytes: u64,
    pub output_bytes: u64,
    pub transaction: UnsignedTransaction,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct UploadStatus {
    pub upload_id: String,
    pub state: UploadState,
    /// 0 to 100.
    pub percent: u8,
    /// Set when `state` is `ready`.
    pub result: Option<UploadResult>,
    /// Set when `state` is `failed`.
    pub error: Option<String>,
}

struct Job {
    owner: Address,
    status: UploadStatus,
    finished_at: Option<Instant>,
}

/// The upload jobs of this instance (an upload is followed on the instance that received it).
pub struct Uploads {
    jobs: Mutex<HashMap<String, Job>>,
    /// One packaging job at a time: it is CPU-bound (transcoding, sealing).
    packaging: tokio::sync::Semaphore,
}

impl Default for Uploads {
    fn default() -> Self {
        Self {
            jobs: Mutex::new(HashMap::new()),
            packaging: tokio::sync::Semaphore::new(1),
        }
    }
}

impl Uploads {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Job>> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn update(&self, id: &str, f: impl FnOnce(&mut Job)) {
        if let Some(job) = self.lock().get_mut(id) {
            f(job);
        }
    }

    fn insert(&self, id: String, owner: Address) -> Result<(), ApiError> {
        let mut jobs = self.lock();
        if jobs.len() >= MAX_JOBS {
            jobs.retain(|_, j| j.finished_at.is_none_or(|t| t.elapsed() < JOB_RETENTION));
        }
        if jobs.len() >= MAX_JOBS {
            return Err(ApiError::Unavailable("upload queue (full)"));
        }
        jobs.insert(
            id.clone(),
            Job {
                owner,
                status: UploadStatus {
                    upload_id: id,
                    state: UploadState::Queued,
                    percent: 0,
                    result: None,
                    error: None,
                },
                finished_at: None,
            },
        );
        Ok(())
    }
}

/// The form fields of an upload besides the file.
#[derive(Debug, Default)]
struct Form {
    title: Option<String>,
    description: Option<String>,
    /// The creator's picture, spooled into the job's folder.
    thumbnail: Option<std::path::PathBuf>,
    /// The creator's clear preview, spooled into the job's folder.
    preview: Option<std::path::PathBuf>,
    creator_name: String,
    as_data: bool,
    terms: TermsInput,
    payment_token: Address,
    split: Option<Vec<(Address, u16)>>,
    renderers: Vec<[u8; 32]>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SplitEntry {
    holder: String,
    shares: u16,
}

fn parse_field(form: &mut Form, name: &str, value: String) -> Result<(), ApiError> {
    let bad = |what: &str| ApiError::BadRequest(format!("field {name}: {what}"));
    let int = |v: &str| -> Result<U256, ApiError> {
        if v.is_empty() || v.len() > 78 || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("expected a decimal integer"));
        }
        U256::from_str_radix(v, 10).map_err(|_| bad("integer too large"))
    };
    let small = |v: &str| -> Result<u32, ApiError> {
        u32::try_from(int(v)?).map_err(|_| bad("must be below 2^32"))
    };
    match name {
        "title" => form.title = Some(value),
        "description" => form.description = Some(value),
        "creator_name" => form.creator_name = value,
        "as_data" => {
            form.as_data = match value.as_str() {
                "true" => true,
                "false" => false,
                _ => return Err(bad("expected true or false")),
            }
        }
        "price" => form.terms.price = int(&value)?,
        "rent_price" => form.terms.rent_price = int(&value)?,
        "rent_period" => form.terms.rent_period = small(&value)?,
        "subscription_price" => form.terms.subscription_price = int(&value)?,
        "subscription_period" => form.terms.subscription_period = small(&value)?,
        "max_editions" => form.terms.max_editions = small(&value)?,
        "resale_royalty_bps" => {
            form.terms.resale_royalty_bps =
                u16::try_from(small(&value)?).map_err(|_| bad("at most 65535"))?
        }
        "payment_token" => {
            form.payment_token = value.parse().map_err(|_| bad("expected a 0x address"))?
        }
        "split" => {
            let entries: Vec<SplitEntry> = serde_json::from_str(&value).map_err(|e| {
                bad(&format!(
                    "expected [{{\"holder\": \"0x…\", \"shares\": n}}]: {e}"
                ))
            })?;
            let mut split = Vec::with_capacity(entries.len());
            for e in entries {
                let holder: Address = e.holder.parse().map_err(|_| bad("bad holder address"))?;
                if holder.is_zero() || e.shares == 0 {
                    return Err(bad(
                        "holders must be non-zero addresses with non-zero shares",
                    ));
                }
                split.push((holder, e.shares));
            }
            form.split = Some(split);
        }
        "renderers" => {
            for r in value.split(',').map(str::trim).filter(|r| !r.is_empty()) {
                let mut m = [0u8; 32];
                hex::decode_to_slice(r.strip_prefix("0x").unwrap_or(r), &mut m)
                    .map_err(|_| bad("each renderer is 64 hex digits"))?;
                form.renderers.push(m);
            }
        }
        other => {
            return Err(ApiError::BadRequest(format!("unknown field {other:?}")));
        }
    }
    Ok(())
}

/// Checks the terms and split as the contract will, before any packaging.
fn validate(
    form: &Form,
    creator: Address,
) -> Result<(ContentRegistry::Terms, Vec<(Address, u16)>), ApiError> {
    let terms = form
        .terms
        .to_terms()
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let split = form
        .split
        .clone()
        .unwrap_or_else(|| vec![(creator, 10_000)]);
    let sum: u32 = split.iter().map(|(_, s)| u32::from(*s)).sum();
    if sum != contracts_bindings::units::TOTAL_SHARES {
        return Err(ApiError::BadRequest(format!(
            "split shares sum to {sum}, not 10000 (10,000 shares = 100 %)"
        )));
    }
    if split.len() > 100 {
        return Err(ApiError::BadRequest("at most 100 royalty holders".into()));
    }
    Ok((terms, split))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UploadAccepted {
    pub upload_id: String,
    /// Where to follow it.
    pub status_url: String,
}

/// The multipart form of an upload (documentation only: the handler streams it).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The file (streamed; never held in memory).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    title: Option<String>,
    /// Shown on the content's page (at most 4096 bytes).
    description: Option<String>,
    /// A PNG, JPEG or WebP picture (at most 1 MiB) for catalogues [default for video: a frame
    /// of its first second].
    #[schema(value_type = Option<String>, format = Binary)]
    thumbnail: Option<Vec<u8>>,
    /// A clear preview anyone may see (at most 8 MiB): a picture, an MP4 or WebM clip, or an
    /// MP3, Ogg or WAV sound.
    #[schema(value_type = Option<String>, format = Binary)]
    preview: Option<Vec<u8>>,
    creator_name: Option<String>,
    /// `true` packages media as opaque data.
    as_data: Option<String>,
    /// Perpetual price in base units (decimal).
    price: Option<String>,
    rent_price: Option<String>,
    /// Seconds.
    rent_period: Option<String>,
    subscription_price: Option<String>,
    subscription_period: Option<String>,
    max_editions: Option<String>,
    resale_royalty_bps: Option<String>,
    /// 0x address; absent for the native token.
    payment_token: Option<String>,
    /// JSON `[{"holder": "0x…", "shares": 8000}, …]` summing to 10000; default: all to the creator.
    split: Option<String>,
    /// Comma-separated renderer measurements (64 hex digits each).
    renderers: Option<String>,
}

/// Receives a file and starts packaging it.
#[utoipa::path(post, path = "/v1/uploads", tag = "uploads",
    security(("siwe_session" = [])),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses((status = 202, body = UploadAccepted), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn start(
    State(state): State<AppState>,
    owner: Owner,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<(StatusCode, Json<UploadAccepted>), ApiError> {
    let pc2 = state.pc2()?;
    let limit = pc2.max_upload_bytes;
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit.saturating_add(MULTIPART_OVERHEAD_BYTES as u64)) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let quotas = &state.inner.quotas;
    let mut slot = quotas
        .start(owner.address, pc2.quota)
        .map_err(quota_refusal)?;
    let left = quotas.left(owner.address, pc2.quota);
    if declared.is_some_and(|n| n.saturating_sub(MULTIPART_OVERHEAD_BYTES as u64) > left) {
        return Err(quota_refusal(QuotaError::Bytes {
            limit: pc2.quota.bytes_per_day,
            left,
        }));
    }
    let multipart = multipart.map_err(|e| ApiError::UnsupportedMediaType(e.body_text()))?;
    tokio::fs::create_dir_all(&pc2.work_dir)
        .await
        .map_err(ApiError::internal)?;
    let work = tempfile::Builder::new()
        .prefix("upload-")
        .tempdir_in(&pc2.work_dir)
        .map_err(ApiError::internal)?;
    let received = read_form(multipart, work.path(), limit, &mut slot)
        .await
        .and_then(|(form, spooled)| {
            let (input, size, original) =
                spooled.ok_or_else(|| ApiError::bad("missing the file field"))?;
            let (terms, split) = validate(&form, owner.address)?;
            Ok((form, input, size, original, terms, split))
        });
    let (mut form, input, input_bytes, original, terms, split) = match received {
        Ok(received) => received,
        Err(e) => {
            // Refused before any packaging: the bytes do not count against the account.
            slot.refund();
            return Err(e);
        }
    };
    if form.title.is_none() {
        form.title = Some(
            Path::new(&original)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "upload".into()),
        );
    }
    let mut raw = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut raw);
    let id = hex::encode(raw);
    state.inner.uploads.insert(id.clone(), owner.address)?;
    spawn_job(
        state.clone(),
        PackJob {
            id: id.clone(),
            creator: owner.address,
            work,
            input,
            input_bytes,
            form,
            terms,
            split,
            _slot: slot,
        },
    );
    Ok((
        StatusCode::ACCEPTED,
        Json(UploadAccepted {
            status_url: format!("/v1/uploads/{id}"),
            upload_id: id,
        }),
    ))
}

/// The uploaded file: where it was spooled, its size and its original name.
type Spooled = (std::path::PathBuf, u64, String);

/// A quota refusal as the uploader reads it.
fn quota_refusal(e: QuotaError) -> ApiError {
    ApiError::QuotaExceeded(e.to_string())
}

/// A multipart failure: a body over the limit, or a malformed one.
fn multipart_error(e: axum::extract::multipart::MultipartError, limit: u64) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge { limit }
    } else {
        ApiError::BadRequest(format!("malformed multipart body: {}", e.body_text()))
    }
}

/// Reads every field: the file is spooled into `work` (at most `limit` bytes, one file field),
/// the others are parsed into the form.
async fn read_form(
    mut multipart: Multipart,
    work: &Path,
    limit: u64,
    slot: &mut Slot,
) -> Result<(Form, Option<Spooled>), ApiError> {
    let mut form = Form::default();
    let mut spooled: Option<Spooled> = None;
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| multipart_error(e, limit))?
    {
        let name = field.name().unwrap_or("").to_owned();
        if name == "file" {
            if spooled.is_some() {
                return Err(ApiError::bad("more than one file field"));
            }
            let original = field.file_name().unwrap_or("upload").to_owned();
            let path = work.join(format!("input{}", safe_extension(&original)));
            let size = spool_file(&mut field, &path, limit, slot).await?;
            spooled = Some((path, size, original));
        } else if let Some((slot_of, max)) = match name.as_str() {
            "thumbnail" => Some((&mut form.thumbnail, packager::MAX_THUMBNAIL)),
            "preview" => Some((&mut form.preview, packager::MAX_PREVIEW)),
            _ => None,
        } {
            if slot_of.is_some() {
                return Err(ApiError::BadRequest(format!("more than one {name} field")));
            }
            let path = work.join(&name);
            spool_file(&mut field, &path, max, slot)
                .await
                .map_err(|e| match e {
                    ApiError::PayloadTooLarge { .. } => {
                        ApiError::BadRequest(format!("the {name} is larger than {max} bytes"))
                    }
                    e => e,
                })?;
            *slot_of = Some(path);
        } else {
            let value = read_text_field(&mut field, &name, limit).await?;
            parse_field(&mut form, &name, value)?;
        }
    }
    Ok((form, spooled))
}

/// Streams the file field to `path`, counting its bytes against `limit` and charging them to
/// the account's quota as they arrive; returns its size.
async fn spool_file(
    field: &mut axum::extract::multipart::Field<'_>,
    path: &Path,
    limit: u64,
    slot: &mut Slot,
) -> Result<u64, ApiError> {
    let mut out = tokio::fs::File::create(path)
        .await
        .map_err(ApiError::internal)?;
    let mut size = 0u64;
    while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(e, limit))? {
        size += chunk.len() as u64;
        if size > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        slot.charge(chunk.len() as u64).map_err(quota_refusal)?;
        out.write_all(&chunk).await.map_err(ApiError::internal)?;
    }
    out.flush().await.map_err(ApiError::internal)?;
    if size == 0 {
        return Err(ApiError::bad("the file is empty"));
    }
    Ok(size)
}

/// A text field, at most [`MAX_FIELD_BYTES`] of UTF-8.
async fn read_text_field(
    field: &mut axum::extract::multipart::Field<'_>,
    name: &str,
    limit: u64,
) -> Result<String, ApiError> {
    let mut value = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(e, limit))? {
        value.extend_from_slice(&chunk);
        if value.len() > MAX_FIELD_BYTES {
            return Err(ApiError::BadRequest(format!(
                "field {name} longer than {MAX_FIELD_BYTES} bytes"
            )));
        }
    }
    String::from_utf8(value).map_err(|_| ApiError::BadRequest(format!("field {name} is not UTF-8")))
}

/// Runs the job in the background and records how it ended in its status.
fn spawn_job(state: AppState, job: PackJob) {
    tokio::spawn(async move {
        let id = job.id.clone();
        let outcome = run_job(&state, job).await;
        state.inner.uploads.update(&id, |j| {
            j.finished_at = Some(Instant::now());
            match outcome {
                Ok(result) => {
                    j.status.state = UploadState::Ready;
                    j.status.percent = 100;
                    j.status.result = Some(result);
                }
                Err(failure) => {
                    j.status.state = UploadState::Failed;
                    j.status.error = Some(failure.to_string());
                }
            }
        });
    });
}

/// `.ext` of a client's file name when it is short and plain, so FFmpeg can probe by it.
fn safe_extension(name: &str) -> String {
    Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .filter(|e| !e.is_empty() && e.len() <= 8 && e.bytes().all(|b| b.is_ascii_alphanumeric()))
        .map(|e| format!(".{}", e.to_ascii_lowercase()))
        .unwrap_or_default()
}

/// Why a job failed; the message is what the creator is shown (details go to the log).
#[derive(Debug, thiserror::Error)]
enum JobFailure {
    #[error("the server is shutting down")]
    ShuttingDown,
    #[error("packaging stopped unexpectedly")]
    PackagingStopped,
    #[error("the file could not be packaged as media: {0}")]
    NotMedia(String),
    /// The packager's own explanation of an input it refuses.
    #[error("{0}")]
    Invalid(String),
    #[error("packaging failed")]
    PackagingFailed,
    /// The child hit one of its resource limits, or its wall-clock time.
    #[error("{0}")]
    Limit(String),
    #[error("the content store refused the file")]
    StoreRefused,
    #[error("the chain did not answer in time")]
    ChainTimeout,
    #[error("the chain could not be read")]
    ChainUnreadable,
    #[error("content {0} is already registered")]
    AlreadyRegistered(String),
    #[error("the catalogue database is unavailable")]
    CatalogueUnavailable,
}

struct PackJob {
    id: String,
    creator: Address,
    work: tempfile::TempDir,
    input: std::path::PathBuf,
    input_bytes: u64,
    form: Form,
    terms: ContentRegistry::Terms,
    split: Vec<(Address, u16)>,
    /// The account's upload slot, given back when the job ends.
    _slot: Slot,
}

/// Packages, pins and builds the transaction; a failure's message is shown to the creator.
async fn run_job(state: &AppState, job: PackJob) -> Result<UploadResult, JobFailure> {
    let uploads = &state.inner.uploads;
    let _permit = uploads
        .packaging
        .acquire()
        .await
        .map_err(|_| JobFailure::ShuttingDown)?;
    uploads.update(&job.id, |j| j.status.state = UploadState::Packaging);
    let output = job.work.path().join("content.ddrm");
    let report = package(state, &job, &output).await?;
    uploads.update(&job.id, |j| {
        j.status.state = UploadState::Pinning;
        j.status.percent = 90;
    });
    let cid = pin(state, &job.id, &output).await?;
    let content_id = U256::from_be_bytes(report.content_id.0);
    refuse_registered(state, content_id, &report).await?;
    let call = registration(&job, &report, content_id, &cid);
    let kind = crate::facts::kind_text(report.kind).to_owned();
    record_facts(state, &job, &report, &output).await?;
    let cfg = state.config();
    Ok(UploadResult {
        content_id: report.content_id.to_hex(),
        cid: cid.to_string(),
        key_commitment: format!("0x{}", hex::encode(report.key_commitment)),
        kind,
        mime_type: report.mime_type,
        duration_ms: report.duration_ms,
        input_bytes: report.input_bytes,
        output_bytes: report.output_bytes,
        transaction: UnsignedTransaction {
            from: job.creator.to_checksum(None),
            to: cfg.deployment.contracts.content_registry.to_checksum(None),
            data: format!("0x{}", hex::encode(call.abi_encode())),
            value: "0x0".into(),
            chain_id: cfg.deployment.chain_id,
        },
    })
}

/// Packages the spooled input into `output` in a child process under the PC2's limits,
/// reporting progress as the first 90 % of the job.
async fn package(
    state: &AppState,
    job: &PackJob,
    output: &Path,
) -> Result<PackageReport, JobFailure> {
    let pc2 = state.pc2().map_err(|_| JobFailure::PackagingStopped)?;
    let spec = JobSpec {
        input: job.input.clone(),
        output: output.to_path_buf(),
        group_key: pc2.group_key.to_json(),
        renderers: job.form.renderers.clone(),
        title: job.form.title.clone(),
        creator: job.form.creator_name.clone(),
        creator_account: job.creator,
        as_data: job.form.as_data,
        description: job.form.description.clone(),
        thumbnail: job.form.thumbnail.clone(),
        preview: job.form.preview.clone(),
        limits: pc2.packager.limits.for_input(job.input_bytes),
    };
    let uploads = &state.inner.uploads;
    child::run(&pc2.packager, &spec, |done, total| {
        // Packaging is the first 90 %; pinning the rest.
        let pct = (done.min(total) * 90).checked_div(total).unwrap_or(0) as u8;
        uploads.update(&job.id, |j| j.status.percent = pct);
    })
    .await
    .map_err(|e| match e {
        ChildFailure::Failed {
            kind: FailureKind::NotMedia,
            message,
        } => JobFailure::NotMedia(message),
        ChildFailure::Failed {
            kind: FailureKind::Invalid,
            message,
        } => JobFailure::Invalid(message),
        e @ (ChildFailure::Limit(_) | ChildFailure::TimedOut(_)) => {
            JobFailure::Limit(e.to_string())
        }
        ChildFailure::Failed { message, .. } => {
            tracing::warn!(upload = %job.id, error = %message, "packaging an upload failed");
            JobFailure::PackagingFailed
        }
        e @ (ChildFailure::Spawn(_) | ChildFailure::Crashed(_) | ChildFailure::Protocol(_)) => {
            tracing::warn!(upload = %job.id, error = ?e, "the packaging child failed");
            JobFailure::PackagingStopped
        }
    })
}

/// Pins the packaged file in the content store.
async fn pin(state: &AppState, id: &str, output: &Path) -> Result<store::Cid, JobFailure> {
    state
        .config()
        .store
        .add_file_pinned(output)
        .await
        .map_err(|e| {
            tracing::warn!(upload = %id, error = %e, "pinning an upload failed");
            JobFailure::StoreRefused
        })
}

/// Refuses a content the registry already holds (asked within the chain timeout).
async fn refuse_registered(
    state: &AppState,
    content_id: U256,
    report: &PackageReport,
) -> Result<(), JobFailure> {
    let cfg = state.config();
    let registry = ContentRegistry::new(
        cfg.deployment.contracts.content_registry,
        &cfg.chain.provider,
    );
    let registered =
        tokio::time::timeout(cfg.chain_timeout, registry.isRegistered(content_id).call())
            .await
            .map_err(|_| JobFailure::ChainTimeout)?
            .map_err(|_| JobFailure::ChainUnreadable)?;
    if registered {
        return Err(JobFailure::AlreadyRegistered(report.content_id.to_hex()));
    }
    Ok(())
}

/// The `ContentRegistry.register` call the creator's wallet signs.
fn registration(
    job: &PackJob,
    report: &PackageReport,
    content_id: U256,
    cid: &store::Cid,
) -> ContentRegistry::registerCall {
    let registration = ContentRegistry::Registration {
        contentId: content_id,
        // The registry recomputes the id from the sender and this digest: the package names
        // `job.creator`, so only the signed-in creator can send this registration.
        headerDigest: B256::from(report.header_digest),
        cid: cid.to_string(),
        keyCommitment: B256::from(report.key_commitment),
        renderers: job.form.renderers.iter().copied().map(B256::from).collect(),
        paymentToken: job.form.payment_token,
        terms: job.terms.clone(),
    };
    ContentRegistry::registerCall {
        r: registration,
        holders: job.split.iter().map(|(a, _)| *a).collect(),
        amounts: job.split.iter().map(|(_, s)| *s).collect(),
    }
}

/// Records the catalogue facts of the package's header (title, creator name, kind,
/// description, thumbnail) in the API's table, as the header backfill would.
async fn record_facts(
    state: &AppState,
    job: &PackJob,
    report: &PackageReport,
    output: &Path,
) -> Result<(), JobFailure> {
    let output = output.to_path_buf();
    let header = tokio::task::spawn_blocking(move || packager::inspect(&output))
        .await
        .map_err(|_| JobFailure::PackagingStopped)?
        .map_err(|e| {
            tracing::warn!(upload = %job.id, error = %e, "reading a packaged header failed");
            JobFailure::PackagingFailed
        })?
        .header;
    let facts = crate::facts::Facts::of_header(report.content_id.to_hex(), &header);
    if let Err(e) = crate::facts::record(state, &facts).await {
        tracing::warn!(upload = %job.id, error = %e, "recording an upload's catalogue facts failed");
        return Err(JobFailure::CatalogueUnavailable);
    }
    Ok(())
}

/// Where an upload is; only its creator may ask.
#[utoipa::path(get, path = "/v1/uploads/{upload_id}", tag = "uploads",
    security(("siwe_session" = [])),
    params(("upload_id" = String, Path, description = "from POST /v1/uploads")),
    responses((status = 200, body = UploadStatus), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn progress(
    State(state): State<AppState>,
    owner: Owner,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<UploadStatus>, ApiError> {
    let jobs = state.inner.uploads.lock();
    match jobs.get(&id) {
        Some(job) if job.owner == owner.address => Ok(Json(job.status.clone())),
        _ => Err(ApiError::NotFound(format!(
            "no upload {}",
            id.chars().take(64).collect::<String>()
        ))),
    }
}
