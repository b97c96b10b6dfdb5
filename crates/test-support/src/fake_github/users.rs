//! Users: `GET /user`.

use axum::extract::State as AxumState;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::{arrive, caller, simple_user, Shared};

pub(super) async fn user(AxumState(state): Shared, headers: HeaderMap) -> Response {
    arrive(&state, "GET /user".into()).await;
    let s = state.lock().unwrap();
    match caller(&s, &headers) {
        Ok((user, _)) => Json(simple_user(&user)).into_response(),
        Err(response) => *response,
    }
}

