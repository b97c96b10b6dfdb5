//! The job queue seen from the API: commands from one client never lose to the panel's own
//! writes (job runners recording outcomes on the same project).

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use uuid::Uuid;
use warp_domain::ProjectCommand;
use warp_events::job::{DeployInput, StopInput};
use warp_events::project::DeployAction;
use warp_events::EventMetadata;
use warp_jobs::{Executor, JobContext, JobFailure, Runner, RunnerConfig};
use warp_store::event_store::{self, ProjectCqrs};

use crate::helpers::TestApp;

/// A deploy that succeeds at once, recording it on the project as the docker service would.
struct InstantDeploy(ProjectCqrs);

impl Executor for InstantDeploy {
    type Input = DeployInput;

    async fn run(&self, input: DeployInput, job: &JobContext) -> Result<(), JobFailure> {
        let record = ProjectCommand::RecordDeploymentSucceeded { job_id: job.job_id, commit: None, services: Vec::new() };
        event_store::execute_project(&self.0, input.project_id, record, &worker()).await.map_err(|e| JobFailure::failed(e.to_string()))
    }
}

/// A stop that reports its outcome on the project several times in quick succession: a
/// worker writing to the project while its owner sends the next command.
struct ChattyStop(ProjectCqrs);

impl Executor for ChattyStop {
    type Input = StopInput;

    async fn run(&self, input: StopInput, job: &JobContext) -> Result<(), JobFailure> {
        for _ in 0..3 {
            let record = ProjectCommand::RecordLifecycle { job_id: job.job_id, action: DeployAction::Stop, services: Vec::new() };
            event_store::execute_project(&self.0, input.project_id, record, &worker())
                .await
                .map_err(|e| JobFailure::failed(e.to_string()))?;
        }
        Ok(())
    }
}

fn worker() -> EventMetadata {
    EventMetadata { actor: Some("system:test-worker".into()), ..Default::default() }
}

#[tokio::test]
async fn a_hundred_commands_sent_one_at_a_time_while_jobs_write_to_the_project_never_answer_409() {
    let app = TestApp::spawn().await;
    let projects = event_store::project_cqrs(app.db.pool.clone());
    let config = RunnerConfig {
        worker: "test-worker".into(),
        max_parallel: 4,
        poll_interval: Duration::from_millis(50),
        ..Default::default()
    };
    let runner = Runner::new(app.db.pool.clone(), app.docker_nats.clone(), app.redactor.clone(), config)
        .register(InstantDeploy(projects.clone()))
        .register(ChattyStop(projects));
    tokio::spawn(Arc::new(runner).run(app.shutdown()));

    let response = app.deploy_existing(&app.member, &json!({"name": "busy", "source": {"folder": {"path": "busy"}}})).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let project: Uuid = response.json::<Value>().await.unwrap()["project_id"].as_str().unwrap().parse().unwrap();
    let mut refused = Vec::new();
    let mut jobs = Vec::new();
    for _ in 0..100 {
        let response = app.project_action(&app.member, project, "stop", None).await;
        match response.status() {
            StatusCode::ACCEPTED => jobs.push(response.json::<Value>().await.unwrap()["job_id"].as_str().unwrap().to_owned()),
            status => refused.push(format!("{status}: {}", response.text().await.unwrap())),
        }
        // Give the runner a moment to start writing while the next command is on its way.
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    assert!(refused.is_empty(), "{} of 100 commands were refused: {:?}", refused.len(), refused.first());
    let last = app.job_finished(jobs.last().unwrap(), Duration::from_secs(60)).await;
    assert_eq!(last["status"], "succeeded", "{last}");
}
