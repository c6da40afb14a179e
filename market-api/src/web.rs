//! The web app's built files (`web/dist`) at `/`, behind every API route.
//!
//! The app routes on the client (`/content/0x…`, `/library`), so a path that names no file and
//! has no extension gets `index.html`; a missing file with an extension (a stale
//! `/assets/index-abc.js`) stays a 404, so a browser never runs HTML as a script. API paths
//! (`/v1/…`, `/openapi.json`) are never answered from the folder. Vite names every file under
//! `assets/` by its content hash, so those are cached for good; `index.html` is revalidated on
//! every load so a new build shows at once.

use std::path::Path;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

use crate::{ApiError, AppState};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

fn is_api(path: &str) -> bool {
    path == "/v1" || path.starts_with("/v1/") || path == "/openapi.json"
}

/// A client-side route: the last segment names no file.
fn is_client_route(path: &str) -> bool {
    !path.rsplit('/').next().unwrap_or("").contains('.')
}

/// Anything no API route matched: the web app's files when `web_dir` exists, else a JSON 404.
pub(crate) async fn fallback(State(state): State<AppState>, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    if is_api(&path) {
        if path.starts_with("/v1/uploads") && state.config().pc2.is_none() {
            return ApiError::NotFound(
                "this server is a public market and accepts no upload: upload to your own PC2 \
                 (ddrm serve with the pc2 role)"
                    .into(),
            )
            .into_response();
        }
        return ApiError::NotFound(format!("no endpoint {path}")).into_response();
    }
    match state.config().web_dir.as_deref().filter(|d| d.is_dir()) {
        Some(dir) => serve_file(dir, &path, req).await,
        None => ApiError::NotFound(format!(
            "{path}: no web UI is installed (build it with `npm run build` in web/, or pass --web-dir)"
        ))
        .into_response(),
    }
}

async fn serve_file(dir: &Path, path: &str, req: Request) -> Response {
    let client_route = is_client_route(path);
    let (parts, body) = req.into_parts();
    let files = ServeDir::new(dir).append_index_html_on_directories(true);
    let mut resp = match files
        .oneshot(Request::from_parts(parts.clone(), body))
        .await
    {
        Ok(resp) if resp.status() == StatusCode::NOT_FOUND && client_route => {
            let index = ServeFile::new(dir.join("index.html"));
            match index
                .oneshot(Request::from_parts(parts, Body::empty()))
                .await
            {
                Ok(resp) => resp.map(Body::new),
                Err(never) => match never {},
            }
        }
        Ok(resp) => resp.map(Body::new),
        Err(never) => match never {},
    };
    if resp.status() == StatusCode::NOT_FOUND {
        return ApiError::NotFound(format!("no file {path}")).into_response();
    }
    let cache = if path.starts_with("/assets/") {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_paths_and_client_routes_are_told_apart() {
        for api in ["/v1", "/v1/contents", "/v1/nothing/at/all", "/openapi.json"] {
            assert!(is_api(api), "{api}");
        }
        for web in ["/", "/v1x", "/library", "/content/0xab", "/index.html"] {
            assert!(!is_api(web), "{web}");
        }
        for route in ["/", "/library", "/content/0xab12", "/content/"] {
            assert!(is_client_route(route), "{route}");
        }
        for file in ["/assets/index-3f2a.js", "/favicon.ico", "/index.html"] {
            assert!(!is_client_route(file), "{file}");
        }
    }
}
