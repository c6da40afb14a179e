//! The OpenAPI 3.1 document, generated (utoipa) from the handlers' annotations and the very
//! types they serialize, so it cannot drift from the responses. Every operation also documents
//! the answers any request can get: 429 (rate limit) and 503 (timeout, dependency down).

use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::error::ErrorBody;

#[derive(OpenApi)]
#[openapi(
    info(title = "ddrm market API", version = "1",
        description = "Catalogue, libraries, earnings, royalty order books and creator uploads over the ddrm index. Errors are `{ \"error\": { \"code\", \"message\" } }`."),
    paths(
        crate::reads::health,
        crate::config::config,
        crate::reads::contents::catalogue,
        crate::reads::contents::content,
        crate::reads::contents::thumbnail,
        crate::reads::contents::preview,
        crate::reads::market::order_book,
        crate::reads::market::trades,
        crate::reads::market::price_history,
        crate::reads::market::yield_history,
        crate::reads::accounts::library,
        crate::reads::accounts::earnings,
        crate::reads::accounts::claims,
        crate::reads::metadata::access,
        crate::reads::metadata::royalty,
        crate::events::stream,
        crate::auth::nonce,
        crate::auth::verify,
        crate::auth::session,
        crate::pc2::upload::start,
        crate::pc2::upload::progress,
    ),
    components(schemas(ErrorBody, crate::events::SaleEvent, crate::events::TradeEvent,
        indexer::read::OrderChange)),
    modifiers(&CommonAnswers)
)]
pub struct ApiDoc;

struct CommonAnswers;

impl Modify for CommonAnswers {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "siwe_session",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "Session token from POST /v1/auth/verify (Sign-In with Ethereum)",
                    ))
                    .build(),
            ),
        );
        let error = |text: &str| -> RefOr<Response> {
            RefOr::T(
                ResponseBuilder::new()
                    .description(text)
                    .content(
                        "application/json",
                        utoipa::openapi::ContentBuilder::new()
                            .schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody")))
                            .build(),
                    )
                    .build(),
            )
        };
        for item in doc.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                let responses = &mut op.responses.responses;
                responses
                    .entry("429".into())
                    .or_insert_with(|| error("too many requests from this IP"));
                responses
                    .entry("503".into())
                    .or_insert_with(|| error("timed out, or a dependency is unavailable"));
                responses
                    .entry("400".into())
                    .or_insert_with(|| error("a malformed request"));
            }
        }
    }
}

/// The document as JSON text, built once.
pub fn json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        ApiDoc::openapi()
            .to_pretty_json()
            .expect("the OpenAPI document serialises")
    })
}

/// `GET /openapi.json`.
pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], json())
}
