//! Deploy env changes that race each other.

use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;
use warp_store::deploy_env::DeployEnvStore;

use crate::helpers::TestApp;

#[tokio::test]
async fn concurrent_redeploys_with_env_never_delete_the_live_values() {
    // No deploy runner: the jobs stay queued; only the env bookkeeping is under test.
    let app = TestApp::spawn().await;
    let body = json!({"name": "racy", "source": {"folder": {"path": "racy"}}, "env": {"TOKEN": "first"}});
    let response = app.deploy_existing(&app.admin, &body).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED, "{}", response.text().await.unwrap());
    let accepted: serde_json::Value = response.json().await.unwrap();
    let project: Uuid = accepted["project_id"].as_str().unwrap().parse().unwrap();

    let store = DeployEnvStore::new(app.db.pool.clone(), app.settings.keyring().clone());
    for round in 0..5 {
        let requests = (0..8).map(|i| {
            let env = json!({"env": {"TOKEN": format!("value-{round}-{i}"), "OTHER": format!("o-{i}")}});
            let app = &app;
            async move { app.project_action(&app.admin, project, "deploy", Some(&env)).await.status() }
        });
        let statuses = futures::future::join_all(requests).await;
        assert!(statuses.contains(&StatusCode::ACCEPTED), "{statuses:?}");
        assert!(statuses.iter().all(|s| *s == StatusCode::ACCEPTED || *s == StatusCode::CONFLICT), "{statuses:?}");

        let live = warp_store::event_store::load_project(&app.db.pool, project).await.unwrap().env;
        assert_eq!(live.len(), 2, "{live:?}");
        let values = store.open(project, &live).await.unwrap_or_else(|e| panic!("round {round}: the live values are readable: {e:#}"));
        assert_eq!(values.len(), 2);
    }
    // The values no change refers to any more are gone after the next change.
    let response = app.project_action(&app.admin, project, "deploy", Some(&json!({"env": {"TOKEN": "last"}}))).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let stored: i64 = sqlx::query_scalar("select count(*) from project_env_secrets").fetch_one(&app.db.pool).await.unwrap();
    assert_eq!(stored, 1);
}
