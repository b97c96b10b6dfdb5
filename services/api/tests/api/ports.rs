//! `GET /api/ports/{port}` against this machine's real sockets and Docker Engine, through an
//! in-process docker service (`TestApp::spawn_with_docker`).
//!
//! Tests that reach the engine have `docker` or `container` in their names, so nextest runs them
//! in the `docker-engine` group.

use std::net::{Ipv6Addr, SocketAddr, TcpListener, UdpSocket};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;
use warp_test_support::docker::TestContainer;

use crate::helpers::{assert_error, Auth, TestApp};

async fn get_port(app: &TestApp, path: &str) -> Value {
    let response = app.request(Method::GET, path, Auth::Bearer(&app.admin.secret)).await;
    let status = response.status();
    let body: Value = response.json().await.expect("a JSON body");
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// A TCP port nobody listens on right now (the kernel's pick, released again).
fn unused_port() -> u16 {
    TcpListener::bind((Ipv6Addr::UNSPECIFIED, 0)).unwrap().local_addr().unwrap().port()
}

fn this_process_name() -> String {
    std::fs::read_to_string("/proc/self/comm").unwrap().trim_end().to_owned()
}

#[tokio::test]
async fn a_port_nobody_holds_is_free_says_the_docker_service() {
    let app = TestApp::spawn_with_docker().await;
    let port = unused_port();
    let body = get_port(&app, &format!("/api/ports/{port}")).await;
    assert_eq!(body, json!({ "port": port, "protocol": "tcp", "free": true, "holders": [] }));
}

#[tokio::test]
async fn a_host_process_listening_on_the_ipv6_wildcard_is_named_by_the_docker_service() {
    let app = TestApp::spawn_with_docker().await;
    let listener = TcpListener::bind((Ipv6Addr::UNSPECIFIED, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();

    let body = get_port(&app, &format!("/api/ports/{port}?protocol=tcp")).await;
    assert_eq!(body["free"], false, "{body}");
    assert_eq!(
        body["holders"],
        json!([{ "kind": "host_process", "address": "::", "pid": std::process::id(), "command": this_process_name() }])
    );

    let udp = get_port(&app, &format!("/api/ports/{port}?protocol=udp")).await;
    assert_eq!(udp["free"], true, "a TCP listener leaves the UDP port free: {udp}");
    drop(listener);
    let after = get_port(&app, &format!("/api/ports/{port}")).await;
    assert_eq!(after["free"], true, "a closed listener holds nothing: {after}");
}

#[tokio::test]
async fn a_udp_socket_on_the_ipv4_wildcard_is_named_by_the_docker_service() {
    let app = TestApp::spawn_with_docker().await;
    let socket = UdpSocket::bind(SocketAddr::from(([0, 0, 0, 0], 0))).unwrap();
    let port = socket.local_addr().unwrap().port();

    let body = get_port(&app, &format!("/api/ports/{port}?protocol=udp")).await;
    assert_eq!(body["protocol"], "udp");
    assert_eq!(
        body["holders"],
        json!([{ "kind": "host_process", "address": "0.0.0.0", "pid": std::process::id(), "command": this_process_name() }])
    );
}

#[tokio::test]
async fn a_port_published_by_a_container_names_the_container_not_docker_proxy() {
    let app = TestApp::spawn_with_docker().await;
    let port = unused_port();
    let publish = format!("127.0.0.1:{port}:80");
    let container = TestContainer::run("warp-port", &["-p", &publish], "exec sleep 3600");

    let body = get_port(&app, &format!("/api/ports/{port}")).await;
    assert_eq!(body["free"], false, "{body}");
    assert_eq!(
        body["holders"],
        json!([{
            "kind": "container",
            "id": container.id,
            "name": container.name,
            "compose_project": null,
            "compose_service": null,
            "host_ip": "127.0.0.1",
            "project": null,
        }]),
        "the container alone, without the docker-proxy that listens for it"
    );
}

#[tokio::test]
async fn a_compose_container_holding_a_port_carries_its_warp_project() {
    let app = TestApp::spawn_with_docker().await;
    let compose_project = format!("warp-ports-{}", &Uuid::new_v4().simple().to_string()[..8]);
    let project_id = Uuid::new_v4();
    sqlx::query(
        "insert into projects (id, name, version, created_at, updated_at, compose_project) values ($1, 'Shop', 1, now(), now(), $2)",
    )
    .bind(project_id)
    .bind(&compose_project)
    .execute(&app.db.pool)
    .await
    .unwrap();
    let port = unused_port();
    let publish = format!("0.0.0.0:{port}:80");
    let label = format!("com.docker.compose.project={compose_project}");
    let container = TestContainer::run(
        "warp-port-compose",
        &["-p", &publish, "--label", &label, "--label", "com.docker.compose.service=web"],
        "exec sleep 3600",
    );

    let body = get_port(&app, &format!("/api/ports/{port}")).await;
    let holders = body["holders"].as_array().unwrap();
    assert!(!holders.is_empty(), "{body}");
    for holder in holders {
        assert_eq!(holder["kind"], "container", "docker-proxy is not reported: {body}");
        assert_eq!(holder["id"], container.id.as_str());
        assert_eq!(holder["compose_project"], compose_project.as_str());
        assert_eq!(holder["compose_service"], "web");
        assert_eq!(holder["project"], json!({ "id": project_id, "name": "Shop" }));
    }
    assert!(holders.iter().any(|h| h["host_ip"] == "0.0.0.0"), "{body}");

    // A member sees the holder container, but not another user's project.
    let response = app.request(Method::GET, &format!("/api/ports/{port}"), Auth::Bearer(&app.member.secret)).await;
    let body: Value = response.json().await.unwrap();
    assert!(body["holders"].as_array().unwrap().iter().all(|h| h["project"].is_null() && h["kind"] == "container"), "{body}");
}

#[tokio::test]
async fn invalid_ports_and_protocols_are_refused_with_a_json_error() {
    let app = TestApp::spawn().await;
    for bad in ["0", "70000", "abc", "-1", "%20443"] {
        let response = app.request(Method::GET, &format!("/api/ports/{bad}"), Auth::Bearer(&app.member.secret)).await;
        let error = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(error["field"], "port", "{bad}: {error}");
    }
    for query in ["protocol=sctp", "proto=tcp"] {
        let response = app.request(Method::GET, &format!("/api/ports/8080?{query}"), Auth::Bearer(&app.member.secret)).await;
        assert_error(response, StatusCode::BAD_REQUEST, "bad_request").await;
    }
    let response = app.request(Method::GET, "/api/ports/8080", Auth::None).await;
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
}
