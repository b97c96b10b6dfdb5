//! `/api/projects`: create, read, list, rename, archive, and the requests that are refused.

use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{assert_error, TestApp};

#[tokio::test]
async fn creating_a_project_answers_201_with_its_location_and_it_becomes_readable() {
    let app = TestApp::spawn().await;
    let body = json!({ "name": "shop", "description": "the web shop", "subdomain": "Shop" });
    let response = app.create_project(&app.member, &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    let id = created["id"].as_str().expect("an id").to_owned();
    assert_eq!(location, format!("/api/projects/{id}"));
    assert_eq!(created["name"], "shop");
    assert_eq!(created["description"], "the web shop");
    assert_eq!(created["subdomain"], "shop", "subdomains are lower-cased");
    assert_eq!(created["version"], 1);
    assert_eq!(created["archived"], false);
    assert_eq!(created["created_by"], app.member.login.as_str());

    let read = app.project_eventually(id.parse().unwrap(), "the project is readable", |_| true).await;
    for field in ["id", "name", "description", "subdomain", "version", "archived", "created_by"] {
        assert_eq!(read[field], created[field], "field {field}");
    }
    let response = app.get_project(&app.member, &id).await;
    assert_eq!(response.headers()["etag"], "\"1\"");

    let listed: Value = app.list_projects(&app.member, &[]).await.json().await.unwrap();
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{listed}");
    assert_eq!(items[0]["id"], id.as_str());
    assert_eq!(items[0]["name"], "shop");
}

#[tokio::test]
async fn a_renamed_project_shows_its_new_name_and_version() {
    let app = TestApp::spawn().await;
    let id = app.create_named("shop").await;
    app.project_eventually(id, "the project is projected", |_| true).await;

    let response = app.update_project(&app.admin, &id.to_string(), &json!({ "name": "store" }), None).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let read = app.project_eventually(id, "the new name is visible", |p| p["name"] == "store").await;
    assert_eq!(read["version"], 2);
    assert_eq!(app.get_project(&app.admin, &id.to_string()).await.headers()["etag"], "\"2\"");
    let listed: Value = app.list_projects(&app.admin, &[]).await.json().await.unwrap();
    assert_eq!(listed["items"][0]["name"], "store");
}

#[tokio::test]
async fn an_archived_project_refuses_further_changes_with_409() {
    let app = TestApp::spawn().await;
    let id = app.create_named("old-site").await.to_string();
    assert_eq!(app.archive_project(&app.admin, &id).await.status(), StatusCode::NO_CONTENT);

    let rename = app.update_project(&app.admin, &id, &json!({ "name": "new-site" }), None).await;
    assert_error(rename, StatusCode::CONFLICT, "conflict").await;
    assert_error(app.archive_project(&app.admin, &id).await, StatusCode::CONFLICT, "conflict").await;

    let id = id.parse().unwrap();
    app.project_eventually(id, "the project shows as archived", |p| p["archived"] == true).await;
    let listed: Value = app.list_projects(&app.admin, &[]).await.json().await.unwrap();
    assert_eq!(listed["items"], json!([]), "archived projects are hidden by default");
    let listed: Value = app.list_projects(&app.admin, &[("include_archived", "true")]).await.json().await.unwrap();
    assert_eq!(listed["items"][0]["archived"], true, "{listed}");
}

#[tokio::test]
async fn a_second_project_with_a_taken_name_is_refused_with_409() {
    let app = TestApp::spawn().await;
    let id = app.create_named("shop").await;
    app.project_eventually(id, "the first project is projected", |_| true).await;

    for name in ["shop", "SHOP"] {
        let response = app.create_project(&app.admin, &json!({ "name": name })).await;
        assert_error(response, StatusCode::CONFLICT, "conflict").await;
    }
    let other = app.create_named("blog").await;
    app.project_eventually(other, "the second project is projected", |_| true).await;
    let rename = app.update_project(&app.admin, &other.to_string(), &json!({ "name": "Shop" }), None).await;
    assert_error(rename, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(app.stored_events(None).await.len(), 2, "only the two creations were stored");
}

#[tokio::test]
async fn reading_or_changing_an_unknown_project_answers_404() {
    let app = TestApp::spawn().await;
    let id = Uuid::new_v4().to_string();
    assert_error(app.get_project(&app.admin, &id).await, StatusCode::NOT_FOUND, "not_found").await;
    let rename = app.update_project(&app.admin, &id, &json!({ "name": "x" }), None).await;
    assert_error(rename, StatusCode::NOT_FOUND, "not_found").await;
    assert_error(app.archive_project(&app.admin, &id).await, StatusCode::NOT_FOUND, "not_found").await;
}

#[tokio::test]
async fn invalid_project_names_are_refused_with_422_and_store_no_event() {
    let app = TestApp::spawn().await;
    let too_long = "a".repeat(65);
    for name in ["a;b", "$(id)", "-rf", "", too_long.as_str(), "../x", "a\nb", "shop ", "naïve"] {
        let response = app.create_project(&app.admin, &json!({ "name": name })).await;
        let error = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(error["field"], "name", "name {name:?}");
    }
    let response = app.create_project(&app.admin, &json!({ "name": "ok", "subdomain": "not a label" })).await;
    let error = assert_error(response, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(error["field"], "subdomain");

    let id = app.create_named("valid").await.to_string();
    let rename = app.update_project(&app.admin, &id, &json!({ "name": "$(reboot)" }), None).await;
    let error = assert_error(rename, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(error["field"], "name");

    let events = app.stored_events(None).await;
    assert_eq!(events.len(), 1, "only the valid project was stored: {events:?}");
}

#[tokio::test]
async fn a_body_with_an_unknown_field_is_refused_with_400() {
    let app = TestApp::spawn().await;
    let response = app.create_project(&app.admin, &json!({ "name": "shop", "owner": "mallory" })).await;
    let error = assert_error(response, StatusCode::BAD_REQUEST, "bad_request").await;
    assert!(error["message"].as_str().unwrap().contains("owner"), "{error}");

    let id = app.create_named("shop").await.to_string();
    let response = app.update_project(&app.admin, &id, &json!({ "archived": true }), None).await;
    assert_error(response, StatusCode::BAD_REQUEST, "bad_request").await;
    assert_eq!(app.stored_events(None).await.len(), 1);
}

#[tokio::test]
async fn malformed_json_is_refused_with_400() {
    let app = TestApp::spawn().await;
    for body in ["{\"name\": ", "not json", "[]", "{\"name\": 42}", "{}"] {
        let response = app.create_project_raw(&app.admin, body).await;
        assert_error(response, StatusCode::BAD_REQUEST, "bad_request").await;
    }
    assert!(app.stored_events(None).await.is_empty());
}

#[tokio::test]
async fn a_project_path_that_is_not_a_uuid_is_refused_with_400() {
    let app = TestApp::spawn().await;
    for id in ["not-a-uuid", "1", "..%2F..%2Fetc"] {
        assert_error(app.get_project(&app.admin, id).await, StatusCode::BAD_REQUEST, "bad_request").await;
        let rename = app.update_project(&app.admin, id, &json!({ "name": "x" }), None).await;
        assert_error(rename, StatusCode::BAD_REQUEST, "bad_request").await;
        assert_error(app.archive_project(&app.admin, id).await, StatusCode::BAD_REQUEST, "bad_request").await;
    }
}

#[tokio::test]
async fn concurrent_renames_of_the_same_version_let_exactly_one_through() {
    let app = TestApp::spawn().await;
    let id = app.create_named("shop").await;
    let read = app.project_eventually(id, "the project is at version 1", |p| p["version"] == 1).await;
    assert_eq!(read["version"], 1);

    let id_text = id.to_string();
    let (to_left, to_right) = (json!({ "name": "left" }), json!({ "name": "right" }));
    let (left, right) = tokio::join!(
        app.update_project(&app.admin, &id_text, &to_left, Some("\"1\"")),
        app.update_project(&app.admin, &id_text, &to_right, Some("\"1\"")),
    );
    let mut statuses = [left.status(), right.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::NO_CONTENT, StatusCode::CONFLICT]);
    let loser = if left.status() == StatusCode::CONFLICT { left } else { right };
    assert_error(loser, StatusCode::CONFLICT, "conflict").await;

    let events = app.stored_events(Some(id)).await;
    let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(types, ["ProjectCreated", "ProjectRenamed"]);

    let stale = app.update_project(&app.admin, &id_text, &json!({ "name": "late" }), Some("\"1\"")).await;
    assert_error(stale, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(app.stored_events(Some(id)).await.len(), 2);
}

#[tokio::test]
async fn projects_are_listed_oldest_first_in_pages() {
    let app = TestApp::spawn().await;
    let mut ids = Vec::new();
    for name in ["one", "two", "three"] {
        let id = app.create_named(name).await;
        app.project_eventually(id, "the project is projected", |_| true).await;
        ids.push(id.to_string());
    }
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..3 {
        let mut query = vec![("limit", "2")];
        if let Some(cursor) = &after {
            query.push(("after", cursor.as_str()));
        }
        let page: Value = app.list_projects(&app.admin, &query).await.json().await.unwrap();
        seen.extend(page["items"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(cursor) => after = Some(cursor.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ids);
    let bad = app.list_projects(&app.admin, &[("limit", "many")]).await;
    assert_error(bad, StatusCode::BAD_REQUEST, "bad_request").await;
}

#[tokio::test]
async fn a_malformed_if_match_is_refused_with_400_and_a_stale_one_with_409() {
    let app = TestApp::spawn().await;
    let id = app.create_named("shop").await.to_string();
    let rename = json!({ "name": "store" });
    let malformed = app.update_project(&app.admin, &id, &rename, Some("\"latest\"")).await;
    assert_error(malformed, StatusCode::BAD_REQUEST, "bad_request").await;
    let stale = app.update_project(&app.admin, &id, &rename, Some("\"7\"")).await;
    assert_error(stale, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(app.update_project(&app.admin, &id, &rename, Some("\"1\"")).await.status(), StatusCode::NO_CONTENT);
    let read = app.project_eventually(id.parse().unwrap(), "the rename is visible", |p| p["name"] == "store").await;
    assert_eq!(read["version"], 2);
}

/// Names are claimed beside the event store, not checked against the read model, so a
/// duplicate is refused even when no projection has caught up (this app runs none).
#[tokio::test]
async fn a_duplicate_name_sent_before_the_read_model_caught_up_is_refused_with_409() {
    let app = TestApp::spawn_without_projections().await;
    let (lower, upper) = (json!({ "name": "shop" }), json!({ "name": "Shop" }));
    let (first, second) = tokio::join!(app.create_project(&app.admin, &lower), app.create_project(&app.admin, &upper));
    let mut statuses = [first.status(), second.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::CONFLICT]);
    assert_eq!(app.stored_events(None).await.len(), 1, "only one project was created");
}

#[tokio::test]
async fn an_archived_or_renamed_project_gives_its_name_back() {
    let app = TestApp::spawn_without_projections().await;
    let created = app.create_project(&app.admin, &json!({ "name": "shop" })).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = created.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let rename = json!({ "name": "store" });
    assert_eq!(app.update_project(&app.admin, &id, &rename, None).await.status(), StatusCode::NO_CONTENT);
    let reuse = app.create_project(&app.admin, &json!({ "name": "shop" })).await;
    assert_eq!(reuse.status(), StatusCode::CREATED, "the old name is free after the rename");
    let taken = app.create_project(&app.admin, &json!({ "name": "store" })).await;
    assert_error(taken, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(app.archive_project(&app.admin, &id).await.status(), StatusCode::NO_CONTENT);
    let after_archive = app.create_project(&app.admin, &json!({ "name": "store" })).await;
    assert_eq!(after_archive.status(), StatusCode::CREATED, "an archived project's name is free");
}

#[tokio::test]
async fn concurrent_renames_of_one_project_leave_exactly_its_final_name_taken() {
    let app = TestApp::spawn_without_projections().await;
    let created = app.create_project(&app.admin, &json!({ "name": "origin" })).await;
    let id = created.json::<serde_json::Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let names: Vec<String> = (0..8).map(|i| format!("candidate-{i}")).collect();
    let renames = names.iter().map(|name| {
        let body = json!({ "name": name });
        let (app, id) = (&app, id.clone());
        async move { app.update_project(&app.admin, &id, &body, None).await.status() }
    });
    for status in futures::future::join_all(renames).await {
        assert_eq!(status, StatusCode::NO_CONTENT);
    }
    let mut refused = 0;
    for name in names.iter().chain([&"origin".to_owned()]) {
        let status = app.create_project(&app.admin, &json!({ "name": name })).await.status();
        if status == StatusCode::CONFLICT {
            refused += 1;
        } else {
            assert_eq!(status, StatusCode::CREATED);
        }
    }
    assert_eq!(refused, 1, "only the project's final name is still claimed");
}

#[tokio::test]
async fn a_project_list_cursor_that_names_no_project_is_refused_with_400() {
    let app = TestApp::spawn().await;
    let query = [("after", uuid::Uuid::now_v7().to_string())];
    let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_error(app.list_projects(&app.admin, &query).await, StatusCode::BAD_REQUEST, "bad_request").await;
}

#[tokio::test]
async fn a_subdomain_belongs_to_one_live_project_at_a_time() {
    let app = TestApp::spawn().await;
    let first = app.create_project(&app.admin, &json!({ "name": "shop", "subdomain": "shop" })).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first_id = first.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let clash = app.create_project(&app.admin, &json!({ "name": "store", "subdomain": "Shop" })).await;
    let body = assert_error(clash, StatusCode::CONFLICT, "conflict").await;
    assert!(body["message"].as_str().unwrap().contains("subdomain"), "{body}");
    // The refused create left its name free.
    let store = app.create_project(&app.admin, &json!({ "name": "store" })).await;
    assert_eq!(store.status(), StatusCode::CREATED);
    let store_id = store.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let taken = app.update_project(&app.admin, &store_id, &json!({ "subdomain": "shop" }), None).await;
    assert_error(taken, StatusCode::CONFLICT, "conflict").await;
    // Moving the first project away frees the label.
    let moved = app.update_project(&app.admin, &first_id, &json!({ "subdomain": "old-shop" }), None).await;
    assert_eq!(moved.status(), StatusCode::NO_CONTENT);
    let now_free = app.update_project(&app.admin, &store_id, &json!({ "subdomain": "shop" }), None).await;
    assert_eq!(now_free.status(), StatusCode::NO_CONTENT);
    // Archiving gives it back too.
    assert_eq!(app.archive_project(&app.admin, &store_id).await.status(), StatusCode::NO_CONTENT);
    let again = app.create_project(&app.admin, &json!({ "name": "again", "subdomain": "shop" })).await;
    assert_eq!(again.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn deploy_existing_takes_a_github_repository_by_owner_and_name_and_refuses_other_shapes() {
    let app = TestApp::spawn().await;
    for bad in ["octo", "octo/", "-octo/shop", "octo/shop/x", "octo/../x", "octo/shop.git", "oc--to/shop", "octo/sh op"] {
        let body = json!({"name": "gh", "source": {"github": {"repo": bad, "ref": "main"}}});
        let error = assert_error(app.deploy_existing(&app.admin, &body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(error["field"], "source.github.repo", "repo {bad:?}");
    }
    let both = json!({"name": "gh", "source": {"github": {"repo": "octo/shop"}, "folder": {"path": "shop"}}});
    let error = assert_error(app.deploy_existing(&app.admin, &both).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(error["field"], "source");
    assert!(app.stored_events(None).await.is_empty(), "a refused source stores nothing");

    let body = json!({"name": "gh", "source": {"github": {"repo": "octo-org/shop.web_1", "ref": "main"}}});
    let response = app.deploy_existing(&app.admin, &body).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED, "{}", response.text().await.unwrap());
    let accepted: Value = response.json().await.unwrap();
    let id: Uuid = accepted["project_id"].as_str().unwrap().parse().unwrap();
    let view = app.project_eventually(id, "has its source", |p| p["source"].is_object()).await;
    assert_eq!(view["source"], json!({"github": {"repo": "octo-org/shop.web_1", "ref": "main"}}));
}
