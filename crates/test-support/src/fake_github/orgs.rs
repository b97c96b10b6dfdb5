//! Org membership: `GET /user/memberships/orgs/{org}`, `GET /orgs/{org}/members/{username}`,
//! `GET /orgs/{org}/public_members/{username}`.

use axum::extract::{Path, State as AxumState};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::{arrive, caller, not_found, simple_user, Shared, Visibility, DOCS};

pub(super) async fn membership(AxumState(state): Shared, Path(org): Path<String>, headers: HeaderMap) -> Response {
    arrive(&state, format!("GET /user/memberships/orgs/{org}")).await;
    let s = state.lock().unwrap();
    let (user, scope) = match caller(&s, &headers) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let key = org.to_ascii_lowercase();
    if s.blocked_orgs.contains(&key) {
        let message = format!("Although you appear to have the correct authorization credentials, the `{org}` organization has enabled OAuth App access restrictions.");
        return (StatusCode::FORBIDDEN, Json(json!({"message": message, "documentation_url": DOCS, "status": "403"}))).into_response();
    }
    let visibility = s.orgs.get(&key).and_then(|members| members.get(&user.login)).copied();
    let Some(visibility) = visibility else { return not_found() };
    // Without read:org, GitHub shows an OAuth app only public memberships.
    if visibility != Visibility::Public && !scope.split(',').any(|s| s == "read:org" || s == "admin:org") {
        return not_found();
    }
    let state_name = if visibility == Visibility::Pending { "pending" } else { "active" };
    Json(json!({
        "url": format!("/orgs/{org}/memberships/{}", user.login),
        "state": state_name,
        "role": "member",
        "organization_url": format!("/orgs/{org}"),
        "organization": {"login": org, "id": 9000},
        "user": simple_user(&user),
    }))
    .into_response()
}

pub(super) async fn member_check(AxumState(state): Shared, Path((org, username)): Path<(String, String)>, headers: HeaderMap) -> Response {
    arrive(&state, format!("GET /orgs/{org}/members/{username}")).await;
    let s = state.lock().unwrap();
    let members = s.orgs.get(&org.to_ascii_lowercase()).cloned().unwrap_or_default();
    let requester_is_member = caller(&s, &headers).is_ok_and(|(u, _)| members.get(&u.login).is_some_and(|v| *v != Visibility::Pending));
    if !requester_is_member {
        let location = format!("/orgs/{org}/public_members/{username}");
        return (StatusCode::FOUND, [(header::LOCATION, location)]).into_response();
    }
    match members.get(&username) {
        Some(Visibility::Public | Visibility::Private) => StatusCode::NO_CONTENT.into_response(),
        _ => not_found(),
    }
}

pub(super) async fn public_member_check(AxumState(state): Shared, Path((org, username)): Path<(String, String)>) -> Response {
    arrive(&state, format!("GET /orgs/{org}/public_members/{username}")).await;
    let s = state.lock().unwrap();
    match s.orgs.get(&org.to_ascii_lowercase()).and_then(|m| m.get(&username)) {
        Some(Visibility::Public) => StatusCode::NO_CONTENT.into_response(),
        _ => not_found(),
    }
}
