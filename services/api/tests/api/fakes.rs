//! Local stand-ins for the GitHub and Cloudflare APIs, speaking the real endpoints, payloads
//! and error codes of the token checks.

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

/// A GitHub token the fake GitHub accepts.
pub const GOOD_GITHUB_TOKEN: &str = "ghp_GoodToken0123456789abcdefghijklmnop";
/// A Cloudflare token the fake Cloudflare reports active.
pub const GOOD_CLOUDFLARE_TOKEN: &str = "cfGoodToken_0123456789abcdefghijklmnopq";
/// A Cloudflare token the fake Cloudflare reports disabled.
pub const DISABLED_CLOUDFLARE_TOKEN: &str = "cfDisabledToken_0123456789abcdefghijklm";

fn bearer(headers: &HeaderMap) -> String {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned()
}

async fn github_user(headers: HeaderMap) -> impl IntoResponse {
    if bearer(&headers) == GOOD_GITHUB_TOKEN {
        (StatusCode::OK, Json(json!({"login": "octocat", "id": 1})))
    } else {
        let body = json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"});
        (StatusCode::UNAUTHORIZED, Json(body))
    }
}

async fn cloudflare_verify(headers: HeaderMap) -> impl IntoResponse {
    let token = bearer(&headers);
    let result = |status: &str| json!({"success": true, "errors": [], "messages": [], "result": {"id": "f267e341", "status": status}});
    if token == GOOD_CLOUDFLARE_TOKEN {
        (StatusCode::OK, Json(result("active")))
    } else if token == DISABLED_CLOUDFLARE_TOKEN {
        (StatusCode::OK, Json(result("disabled")))
    } else {
        let body = json!({"success": false, "errors": [{"code": 1000, "message": "Invalid API Token"}], "messages": [], "result": null});
        (StatusCode::UNAUTHORIZED, Json(body))
    }
}

/// Serves `router` on 127.0.0.1:<free port> until the test ends; returns `http://127.0.0.1:<port>`.
async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    address
}

/// A fake GitHub API; its base URL.
pub async fn github() -> String {
    serve(Router::new().route("/user", get(github_user))).await
}

/// A fake Cloudflare API; its base URL (ending in `/client/v4`).
pub async fn cloudflare() -> String {
    let base = serve(Router::new().route("/client/v4/user/tokens/verify", get(cloudflare_verify))).await;
    format!("{base}/client/v4")
}

/// A base URL where nothing listens (connection refused).
pub fn unreachable() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    format!("http://127.0.0.1:{port}")
}
