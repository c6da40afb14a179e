//! ERC-1155 token metadata (`GET /v1/metadata/access/{id}`, `GET /v1/metadata/royalty/{id}`):
//! the JSON the `uri(id)` of the access and royalty-share contracts points wallets and outside
//! marketplaces to, shaped by the ERC-1155 metadata JSON schema (`name`, `description`,
//! `image`, `decimals`, `properties`).
//!
//! Both contracts number their tokens by content id, and clients substitute `{id}` as the
//! standard says: 64 lowercase hex digits, no `0x`. Exactly that form is accepted (anything
//! else is a 400 saying so), so one token has one URL. The facts come from the index and the
//! catalogue facts ([`crate::facts`]); a content whose header has not been read yet is named by
//! its id.

use axum::extract::{Path, State};
use axum::Json;
use indexer::read::{ContentRow, TermsRow};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorBody};
use crate::migrations::CONTENT_FACTS;
use crate::AppState;

/// ERC-1155 metadata of one token.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenMetadata {
    /// The content's title (the royalty token's: "<title> — royalty shares").
    pub name: String,
    pub description: String,
    /// A picture of the token; absent while the API has none for this content.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Always 0: access tokens and royalty shares are whole units.
    pub decimals: u8,
    pub properties: TokenProperties,
}

/// What the token is of: the content and how it is sold.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenProperties {
    /// `access` or `royalty`.
    pub token: String,
    /// 0x + 64 hex digits (the token id).
    pub content_id: String,
    /// `media` or `data`; null while the content's header has not been read.
    pub kind: Option<String>,
    pub mime_type: Option<String>,
    /// The creator's account.
    pub creator: String,
    pub creator_name: Option<String>,
    /// Where the encrypted `.ddrm` is (IPFS).
    pub cid: String,
    /// 0x000…000 for the chain's native token.
    pub payment_token: String,
    /// The native token's symbol when the content is paid in it; null for an ERC-20.
    pub payment_symbol: Option<String>,
    /// The access terms as last set on chain, in base units of the payment token.
    pub terms: TermsRow,
    /// A readable summary of `terms`.
    pub terms_summary: String,
    /// Royalty shares per content (royalty tokens only).
    pub total_shares: Option<u32>,
}

/// Which of the two token contracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Access,
    Royalty,
}

/// Parses an ERC-1155 `{id}`: exactly 64 lowercase hex digits; the content id it names.
fn token_id_param(s: &str) -> Result<String, ApiError> {
    if s.len() != 64 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return Err(ApiError::bad(
            "a token id is 64 lowercase hex digits without 0x (ERC-1155 {id} substitution)",
        ));
    }
    Ok(format!("0x{s}"))
}

/// How the content is offered, in base units (`price 1000; rent 10 per 3600 s`).
fn terms_summary(t: &TermsRow, unit: &str) -> String {
    let mut parts = Vec::new();
    if t.price != "0" {
        parts.push(format!("buy {} {unit}", t.price));
    }
    if t.rent_price != "0" {
        parts.push(format!(
            "rent {} {unit} per {} s",
            t.rent_price, t.rent_period
        ));
    }
    if t.subscription_price != "0" {
        parts.push(format!(
            "subscribe {} {unit} per {} s",
            t.subscription_price, t.subscription_period
        ));
    }
    if parts.is_empty() {
        return "not offered".into();
    }
    if t.max_editions > 0 {
        parts.push(format!("{} editions at most", t.max_editions));
    }
    parts.join("; ")
}

fn metadata(token: Token, c: ContentRow, chain_id: u64, public_url: &str) -> TokenMetadata {
    // The index stores addresses as 0x-hex text; the zero address is the native token.
    let native = c
        .payment_token
        .parse::<alloy::primitives::Address>()
        .is_ok_and(|a| a.is_zero());
    let payment_symbol =
        native.then(|| contracts_bindings::chain::native_symbol(chain_id).to_owned());
    let unit = match &payment_symbol {
        Some(symbol) => format!("base units of {symbol}"),
        None => format!("base units of token {}", c.payment_token),
    };
    let title = c
        .title
        .clone()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| format!("ddrm content {}", c.content_id));
    let what = match (&c.kind, &c.mime_type) {
        (Some(kind), Some(mime)) => format!("a {kind} content ({mime})"),
        _ => "a content".to_owned(),
    };
    let (name, description, total_shares) = match token {
        Token::Access => (
            title.clone(),
            format!(
                "Access to \"{title}\", {what} sold on ddrm: the holder may play or open it \
                 through the licence network. Terms: {}.",
                terms_summary(&c.terms, &unit)
            ),
            None,
        ),
        Token::Royalty => (
            format!("{title} — royalty shares"),
            format!(
                "Royalty shares of \"{title}\", {what} sold on ddrm: each of the {} shares \
                 earns an equal part of the content's revenue (sales, rentals, subscriptions, \
                 resale royalties), claimable on chain.",
                contracts_bindings::units::TOTAL_SHARES
            ),
            Some(contracts_bindings::units::TOTAL_SHARES),
        ),
    };
    // The creator's own words first, when the header carries them.
    let description = match c.description.as_deref().filter(|d| !d.is_empty()) {
        Some(own) => format!("{own}\n\n{description}"),
        None => description,
    };
    let image = c
        .thumbnail_type
        .is_some()
        .then(|| format!("{public_url}/v1/contents/{}/thumbnail", c.content_id));
    TokenMetadata {
        name,
        description,
        image,
        decimals: 0,
        properties: TokenProperties {
            token: match token {
                Token::Access => "access",
                Token::Royalty => "royalty",
            }
            .into(),
            terms_summary: terms_summary(&c.terms, &unit),
            content_id: c.content_id,
            kind: c.kind,
            mime_type: c.mime_type,
            creator: c.creator,
            creator_name: c.creator_name,
            cid: c.cid,
            payment_token: c.payment_token,
            payment_symbol,
            terms: c.terms,
            total_shares,
        },
    }
}

async fn answer(state: &AppState, token: Token, id: &str) -> Result<Json<TokenMetadata>, ApiError> {
    let id = token_id_param(id)?;
    let record = state
        .config()
        .db
        .content(CONTENT_FACTS, &id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no registered content {id}")))?;
    let config = state.config();
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.siwe_domain));
    Ok(Json(metadata(
        token,
        record.content,
        config.deployment.chain_id,
        public_url.trim_end_matches('/'),
    )))
}

/// ERC-1155 metadata of a content's access token (`Access.uri`).
#[utoipa::path(get, path = "/v1/metadata/access/{id}", tag = "metadata",
    params(("id" = String, Path, pattern = "^[0-9a-f]{64}$",
        description = "the token id (= content id): 64 lowercase hex digits, no 0x")),
    responses((status = 200, body = TokenMetadata), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn access(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<TokenMetadata>, ApiError> {
    answer(&state, Token::Access, &id).await
}

/// ERC-1155 metadata of a content's royalty shares (`RoyaltyShares.uri`).
#[utoipa::path(get, path = "/v1/metadata/royalty/{id}", tag = "metadata",
    params(("id" = String, Path, pattern = "^[0-9a-f]{64}$",
        description = "the token id (= content id): 64 lowercase hex digits, no 0x")),
    responses((status = 200, body = TokenMetadata), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn royalty(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<TokenMetadata>, ApiError> {
    answer(&state, Token::Royalty, &id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_erc1155_id_form_is_accepted() {
        let id = "ab".repeat(32);
        assert_eq!(token_id_param(&id).unwrap(), format!("0x{id}"));
        for bad in [
            format!("0x{}", &id[2..]),
            id.to_uppercase(),
            id[..63].to_owned(),
            format!("{id}0"),
            "12345".to_owned(),
            String::new(),
        ] {
            assert!(token_id_param(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn terms_read_as_a_summary() {
        let mut t = TermsRow {
            price: "0".into(),
            rent_price: "0".into(),
            rent_period: 0,
            subscription_price: "0".into(),
            subscription_period: 0,
            max_editions: 0,
            resale_royalty_bps: 0,
        };
        assert_eq!(terms_summary(&t, "wei"), "not offered");
        t.price = "1000".into();
        t.rent_price = "10".into();
        t.rent_period = 3600;
        t.max_editions = 5;
        assert_eq!(
            terms_summary(&t, "wei"),
            "buy 1000 wei; rent 10 wei per 3600 s; 5 editions at most"
        );
    }
}
