//! One file per NATS request-reply action; [`dispatch`] routes a request by the subject's action.

pub mod connect_network;
pub mod container_info;
pub mod containers;
pub mod health;
pub mod logs_close;
pub mod logs_keepalive;
pub mod logs_open;
pub mod ports;
pub mod restart_container;

use serde::de::DeserializeOwned;
use serde::Serialize;
use warp_events::docker::{DockerFailure, DockerFailureKind, DockerReply};
use warp_events::subjects;

use crate::Context;

/// Answers one request: `action` is what follows `warp.docker.<host>.` in the subject. Returns
/// the JSON reply (a `DockerReply`).
pub async fn dispatch(ctx: &Context, action: &str, payload: &[u8]) -> Vec<u8> {
    match action {
        subjects::DOCKER_CONTAINERS => reply(containers::handle(ctx).await),
        subjects::DOCKER_HEALTH => reply(health::handle(ctx).await),
        subjects::DOCKER_PORTS => match parse(payload) {
            Ok(query) => reply(ports::handle(ctx, query).await),
            Err(failure) => reply::<()>(Err(failure)),
        },
        subjects::DOCKER_LOGS_OPEN => match parse(payload) {
            Ok(request) => reply(logs_open::handle(ctx, request).await),
            Err(failure) => reply::<()>(Err(failure)),
        },
        subjects::DOCKER_CONTAINER_INFO => match parse(payload) {
            Ok(request) => reply(container_info::handle(ctx, request).await),
            Err(failure) => reply::<()>(Err(failure)),
        },
        subjects::DOCKER_CONNECT_NETWORK => match parse(payload) {
            Ok(request) => reply(connect_network::handle(ctx, request).await),
            Err(failure) => reply::<()>(Err(failure)),
        },
        subjects::DOCKER_RESTART_CONTAINER => match parse(payload) {
            Ok(request) => reply(restart_container::handle(ctx, request).await),
            Err(failure) => reply::<()>(Err(failure)),
        },
        subjects::DOCKER_LOGS_KEEPALIVE => reply(parse(payload).map(|r| logs_keepalive::handle(ctx, r))),
        subjects::DOCKER_LOGS_CLOSE => reply(parse(payload).map(|r| logs_close::handle(ctx, r))),
        other => reply::<()>(Err(bad_request(format!("unknown docker action {other:?}")))),
    }
}

fn parse<T: DeserializeOwned>(payload: &[u8]) -> Result<T, DockerFailure> {
    serde_json::from_slice(payload).map_err(|e| bad_request(format!("unreadable request: {e}")))
}

fn reply<T: Serialize>(result: Result<T, DockerFailure>) -> Vec<u8> {
    let reply = match result {
        Ok(value) => DockerReply::Ok(value),
        Err(failure) => DockerReply::Error(failure),
    };
    serde_json::to_vec(&reply).expect("a docker reply serialises")
}

/// A `bad_request` failure.
pub fn bad_request(message: String) -> DockerFailure {
    DockerFailure { kind: DockerFailureKind::BadRequest, message }
}
