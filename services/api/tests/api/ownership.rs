//! What a member may read and reach beyond their own projects: nothing, and ids of other
//! users' things behave exactly like ids that do not exist.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use warp_test_support::docker::TestContainer;

use crate::helpers::{assert_error, Auth, TestApp, CATCH_UP};

async fn create(app: &TestApp, token: &crate::helpers::Token, name: &str) -> String {
    let response = app
        .client
        .post(format!("{}/api/projects", app.address))
        .bearer_auth(&token.secret)
        .json(&json!({"name": name}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned()
}

async fn get(app: &TestApp, token: &crate::helpers::Token, path: &str) -> Value {
    let response = app.request(Method::GET, path, Auth::Bearer(&token.secret)).await;
    assert_eq!(response.status(), StatusCode::OK, "GET {path}");
    response.json().await.unwrap()
}

#[tokio::test]
async fn a_member_reads_only_the_audit_rows_of_their_own_projects_and_actions() {
    let app = TestApp::spawn().await;
    let theirs = create(&app, &app.admin, "admins-project").await;
    let mine = create(&app, &app.member, "members-project").await;
    warp_test_support::eventually(CATCH_UP, "both projects are audited", || async {
        let rows = get(&app, &app.admin, "/api/audit").await;
        let text = rows.to_string();
        (text.contains(&theirs) && text.contains(&mine)).then_some(())
    })
    .await;
    let rows = get(&app, &app.member, "/api/audit").await;
    let text = rows.to_string();
    assert!(text.contains(&mine), "{text}");
    assert!(!text.contains(&theirs) && !text.contains("admins-project"), "{text}");
    let filtered = get(&app, &app.member, &format!("/api/audit?project={theirs}")).await;
    assert_eq!(filtered["items"], json!([]), "filtering by another user's project shows nothing");
}

#[tokio::test]
async fn a_list_cursor_naming_another_users_project_pages_like_an_unknown_id() {
    let app = TestApp::spawn().await;
    let theirs = create(&app, &app.admin, "first-admin").await;
    create(&app, &app.member, "member-one").await;
    create(&app, &app.member, "member-two").await;
    warp_test_support::eventually(CATCH_UP, "the member's projects are listed", || async {
        (get(&app, &app.member, "/api/projects").await["items"].as_array().unwrap().len() == 2).then_some(())
    })
    .await;
    let page = |after: String| {
        let app = &app;
        async move {
            let response = app.request(Method::GET, &format!("/api/projects?after={after}"), Auth::Bearer(&app.member.secret)).await;
            (response.status(), response.text().await.unwrap())
        }
    };
    let after_theirs = page(theirs.clone()).await;
    let after_unknown = page(uuid::Uuid::now_v7().to_string()).await;
    assert_eq!(after_theirs, after_unknown);
    assert_eq!(after_theirs.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_quick_service_container_of_another_user_or_a_host_port_is_out_of_a_members_reach() {
    let app = TestApp::spawn_with_docker().await;
    let other = TestContainer::run("warp-other", &["--label", "com.docker.compose.project=someone-else"], "exec sleep 3600");
    let by_member = app.quick_service(&app.member, &json!({"name": "grab", "container": other.name, "subdomain": "grab"})).await;
    let body = assert_error(by_member, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let missing = app.quick_service(&app.member, &json!({"name": "gone", "container": "warp-no-such-container", "subdomain": "gone"})).await;
    let unknown = assert_error(missing, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(body["field"], unknown["field"]);
    assert_eq!(
        body["message"].as_str().unwrap().replace(&other.name, "X"),
        unknown["message"].as_str().unwrap().replace("warp-no-such-container", "X"),
        "another user's container answers like one that does not run"
    );
    let port = app.quick_service(&app.member, &json!({"name": "port", "host_port": 9, "subdomain": "port"})).await;
    assert_error(port, StatusCode::FORBIDDEN, "forbidden").await;
    let api_port: i64 = app.address.rsplit(':').next().unwrap().parse().unwrap();
    let own = app.quick_service(&app.admin, &json!({"name": "self", "host_port": api_port, "subdomain": "self"})).await;
    let body = assert_error(own, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(body["field"], "host_port");
    let by_admin = app.quick_service(&app.admin, &json!({"name": "admins", "container": other.name, "subdomain": "admins"})).await;
    assert_eq!(by_admin.status(), StatusCode::ACCEPTED, "an admin reaches every container");
}
