use cqrs_es::test::TestFramework;
use warp_events::ProjectEvent;

use super::*;
use warp_events::project::DeployAction;

type ProjectTest = TestFramework<Project>;

fn created(name: &str) -> ProjectEvent {
    ProjectEvent::ProjectCreated { name: name.to_owned(), description: None, subdomain: None }
}

fn name(raw: &str) -> crate::validate::ProjectName {
    raw.to_owned().try_into().unwrap()
}

#[test]
fn creating_a_project_records_its_name_and_settings() {
    ProjectTest::with(())
        .given_no_previous_events()
        .when(ProjectCommand::Create {
            name: name("shop"),
            description: Some("the shop".to_owned().try_into().unwrap()),
            subdomain: Some("Shop".to_owned().try_into().unwrap()),
        })
        .then_expect_events(vec![ProjectEvent::ProjectCreated {
            name: "shop".to_owned(),
            description: Some("the shop".to_owned()),
            subdomain: Some("shop".to_owned()),
        }]);
}

#[test]
fn creating_twice_is_refused() {
    ProjectTest::with(())
        .given(vec![created("shop")])
        .when(ProjectCommand::Create { name: name("shop"), description: None, subdomain: None })
        .then_expect_error(ProjectError::AlreadyExists);
}

#[test]
fn update_renames_and_changes_settings_in_one_step() {
    ProjectTest::with(())
        .given(vec![created("shop")])
        .when(ProjectCommand::Update {
            name: Some(name("store")),
            description: None,
            subdomain: Some(Some("store".to_owned().try_into().unwrap())),
            deployment: None,
            expected_version: Some(1),
        })
        .then_expect_events(vec![
            ProjectEvent::ProjectRenamed { from: "shop".to_owned(), to: "store".to_owned() },
            ProjectEvent::ProjectSettingsUpdated { description: None, subdomain: Some("store".to_owned()) },
        ]);
}

#[test]
fn update_with_unchanged_values_records_nothing() {
    ProjectTest::with(())
        .given(vec![created("shop")])
        .when(ProjectCommand::Update {
            name: Some(name("shop")),
            description: Some(None),
            subdomain: None,
            deployment: None,
            expected_version: None,
        })
        .then_expect_events(vec![]);
}

#[test]
fn update_at_a_stale_version_is_refused() {
    ProjectTest::with(())
        .given(vec![created("shop"), ProjectEvent::ProjectRenamed { from: "shop".into(), to: "store".into() }])
        .when(ProjectCommand::Update {
            name: Some(name("other")),
            description: None,
            subdomain: None,
            deployment: None,
            expected_version: Some(1),
        })
        .then_expect_error(ProjectError::VersionMismatch { expected: 1, actual: 2 });
}

#[test]
fn commands_on_a_missing_project_are_refused() {
    ProjectTest::with(())
        .given_no_previous_events()
        .when(ProjectCommand::Archive { expected_version: None })
        .then_expect_error(ProjectError::NotFound);
}

#[test]
fn an_archived_project_refuses_changes() {
    ProjectTest::with(())
        .given(vec![created("shop"), ProjectEvent::ProjectArchived {}])
        .when(ProjectCommand::Update {
            name: Some(name("store")),
            description: None,
            subdomain: None,
            deployment: None,
            expected_version: None,
        })
        .then_expect_error(ProjectError::Archived);
}

fn configured() -> Vec<ProjectEvent> {
    vec![
        created("shop"),
        ProjectEvent::DeploymentConfigured {
            source: warp_events::project::ProjectSource::Folder { path: "shop".into() },
            compose_file: None,
            compose_project: "warp-shop-0a1b2c3d".into(),
        },
    ]
}

#[test]
fn a_deployable_project_records_its_source_and_env_fingerprints_never_values() {
    let env = std::collections::BTreeMap::from([("TOKEN".to_owned().try_into().unwrap(), "1a2b3c4d".to_owned())]);
    ProjectTest::with(())
        .given_no_previous_events()
        .when(ProjectCommand::CreateDeployable {
            name: name("shop"),
            subdomain: None,
            source: warp_events::project::ProjectSource::Folder { path: "shop".into() },
            compose_file: None,
            compose_project: "warp-shop-0a1b2c3d".to_owned().try_into().unwrap(),
            env,
        })
        .then_expect_events(vec![
            configured()[0].clone(),
            configured()[1].clone(),
            ProjectEvent::DeployEnvChanged { vars: [("TOKEN".to_owned(), "1a2b3c4d".to_owned())].into() },
        ]);
}

#[test]
fn only_compose_projects_accept_deploy_requests() {
    let job_id = uuid::Uuid::nil();
    ProjectTest::with(())
        .given(vec![created("plain")])
        .when(ProjectCommand::RequestDeployment { job_id, action: DeployAction::Deploy })
        .then_expect_error(ProjectError::NotDeployable);
    ProjectTest::with(())
        .given(configured())
        .when(ProjectCommand::RequestDeployment { job_id, action: DeployAction::Stop })
        .then_expect_events(vec![ProjectEvent::DeploymentRequested { job_id, action: DeployAction::Stop }]);
}

#[test]
fn asking_again_for_a_job_the_project_waits_on_records_nothing() {
    let job_id = uuid::Uuid::from_u128(7);
    let mut given = configured();
    given.push(ProjectEvent::DeploymentRequested { job_id, action: DeployAction::Deploy });
    ProjectTest::with(())
        .given(given.clone())
        .when(ProjectCommand::RequestDeployment { job_id, action: DeployAction::Deploy })
        .then_expect_events(vec![]);
    given.push(ProjectEvent::ProjectArchived {});
    ProjectTest::with(())
        .given(given)
        .when(ProjectCommand::RequestDeployment { job_id: uuid::Uuid::from_u128(8), action: DeployAction::Deploy })
        .then_expect_error(ProjectError::Archived);
}

#[test]
fn a_webhook_outcome_is_recorded_bounded_and_remembered() {
    let job_id = uuid::Uuid::from_u128(9);
    let ensured = ProjectEvent::GithubWebhookEnsured {
        job_id,
        repo: "octo/shop".into(),
        hook_id: 12,
        url: "https://panel.example.com/hooks/github".into(),
        change: warp_events::github_delivery::WebhookChange::Created,
        secret_fingerprint: "1a2b3c4d".into(),
    };
    ProjectTest::with(())
        .given(configured())
        .when(ProjectCommand::RecordWebhookEnsured {
            job_id,
            repo: "octo/shop".into(),
            hook_id: 12,
            url: "https://panel.example.com/hooks/github".into(),
            change: warp_events::github_delivery::WebhookChange::Created,
            secret_fingerprint: "1a2b3c4d".into(),
        })
        .then_expect_events(vec![ensured.clone()]);
    let mut project = Project::default();
    for event in configured().into_iter().chain([ensured]) {
        project.apply(event);
    }
    assert_eq!(project.webhook.as_ref().map(|w| (w.hook_id, w.secret_fingerprint.as_str())), Some((12, "1a2b3c4d")));
    ProjectTest::with(())
        .given(configured())
        .when(ProjectCommand::RecordWebhookFailed { job_id, repo: "octo/shop".into(), message: format!("no admin rights\n{}", "x".repeat(9000)) })
        .then_expect_events(vec![ProjectEvent::GithubWebhookFailed {
            job_id,
            repo: "octo/shop".into(),
            message: crate::bounded::message(&format!("no admin rights\n{}", "x".repeat(9000))),
        }]);
}

#[test]
fn a_worker_report_is_recorded_even_after_the_project_was_archived() {
    let mut given = configured();
    given.push(ProjectEvent::ProjectArchived {});
    let job_id = uuid::Uuid::nil();
    ProjectTest::with(())
        .given(given)
        .when(ProjectCommand::RecordDeploymentFailed { job_id, message: "boom".into(), containers_changed: true, rolled_back_to: None })
        .then_expect_events(vec![ProjectEvent::DeploymentFailed {
            job_id,
            message: "boom".into(),
            containers_changed: true,
            rolled_back_to: None,
        }]);
}

#[test]
fn a_route_needs_a_subdomain() {
    ProjectTest::with(())
        .given(configured())
        .when(ProjectCommand::RequestRoute { service_url: "http://localhost:8080".into() })
        .then_expect_error(ProjectError::NoSubdomain);
}

#[test]
fn changing_a_compose_projects_source_records_its_new_configuration_and_keeps_the_compose_name() {
    let source = warp_events::project::ProjectSource::Git { url: "https://github.com/a/b.git".into(), git_ref: "main".into() };
    ProjectTest::with(())
        .given(configured())
        .when(ProjectCommand::Update {
            name: None,
            description: None,
            subdomain: None,
            deployment: Some(SourceChange { source: Some(source.clone()), compose_file: None }),
            expected_version: None,
        })
        .then_expect_events(vec![ProjectEvent::DeploymentConfigured {
            source,
            compose_file: None,
            compose_project: "warp-shop-0a1b2c3d".into(),
        }]);
    ProjectTest::with(())
        .given(vec![created("plain")])
        .when(ProjectCommand::Update {
            name: None,
            description: None,
            subdomain: None,
            deployment: Some(SourceChange::default()),
            expected_version: None,
        })
        .then_expect_error(ProjectError::NotDeployable);
}

#[test]
fn a_requested_job_that_ended_without_an_outcome_is_recorded_as_a_failed_deploy_once() {
    let job_id = uuid::Uuid::from_u128(9);
    let mut given = configured();
    given.push(ProjectEvent::DeploymentRequested { job_id, action: DeployAction::Deploy });
    let failed = ProjectEvent::DeploymentFailed {
        job_id,
        message: "interrupted: its worker stopped while running it".into(),
        containers_changed: true,
        rolled_back_to: None,
    };
    ProjectTest::with(())
        .given(given.clone())
        .when(ProjectCommand::RecordJobEnded { job_id, message: "interrupted: its worker stopped while running it".into() })
        .then_expect_events(vec![failed.clone()]);
    // Recorded already (by the worker, or by an earlier delivery): nothing more.
    given.push(failed);
    ProjectTest::with(())
        .given(given)
        .when(ProjectCommand::RecordJobEnded { job_id, message: "again".into() })
        .then_expect_events(vec![]);
}

#[test]
fn a_job_the_project_never_requested_records_nothing_when_it_ends() {
    ProjectTest::with(())
        .given(configured())
        .when(ProjectCommand::RecordJobEnded { job_id: uuid::Uuid::from_u128(10), message: "failed".into() })
        .then_expect_events(vec![]);
}

#[test]
fn stop_records_the_containers_the_engine_showed_afterwards() {
    let job_id = uuid::Uuid::from_u128(11);
    ProjectTest::with(())
        .given(configured())
        .when(ProjectCommand::RecordLifecycle { job_id, action: DeployAction::Stop, services: Vec::new() })
        .then_expect_events(vec![ProjectEvent::ProjectStopped { job_id, services: Some(Vec::new()) }]);
}

fn with_subdomain() -> ProjectEvent {
    ProjectEvent::ProjectCreated { name: "shop".into(), description: None, subdomain: Some("shop".into()) }
}

fn requested() -> ProjectEvent {
    ProjectEvent::RouteRequested { subdomain: "shop".into(), service_url: "http://localhost:8080".into() }
}

#[test]
fn withdrawing_a_requested_route_is_recorded_and_withdrawing_none_records_nothing() {
    ProjectTest::with(())
        .given(vec![with_subdomain(), requested()])
        .when(ProjectCommand::WithdrawRoute)
        .then_expect_events(vec![ProjectEvent::RouteWithdrawn {}]);
    ProjectTest::with(()).given(vec![with_subdomain()]).when(ProjectCommand::WithdrawRoute).then_expect_events(vec![]);
}

#[test]
fn an_unpublish_is_scheduled_once_per_hostname() {
    let job_id = uuid::Uuid::now_v7();
    let at = chrono::Utc::now();
    let published = ProjectEvent::RoutePublished {
        job_id,
        hostname: "shop.example.com".into(),
        service_url: "http://localhost:8080".into(),
    };
    let scheduled = ProjectEvent::RouteUnpublishScheduled { hostname: "shop.example.com".into(), at };
    ProjectTest::with(())
        .given(vec![with_subdomain(), requested(), published.clone()])
        .when(ProjectCommand::ScheduleRouteUnpublish { hostname: "shop.example.com".into(), at })
        .then_expect_events(vec![scheduled.clone()]);
    ProjectTest::with(())
        .given(vec![with_subdomain(), requested(), published, scheduled])
        .when(ProjectCommand::ScheduleRouteUnpublish { hostname: "shop.example.com".into(), at })
        .then_expect_events(vec![]);
}

#[test]
fn removing_or_archiving_a_project_drops_the_route_it_asked_for() {
    let mut project = Project::default();
    for event in [with_subdomain(), requested()] {
        project.apply(event);
    }
    assert!(project.route.is_some());
    project.apply(ProjectEvent::ProjectStopped { job_id: uuid::Uuid::now_v7(), services: None });
    assert!(project.route.is_some(), "a stopped container keeps its route");
    project.apply(ProjectEvent::ProjectRemoved { job_id: uuid::Uuid::now_v7(), volumes_removed: false });
    assert!(project.route.is_none());
}

/// The event `command` records on a deployable project, as the relay would publish it, with
/// the longest metadata the API lets through.
fn published_size(command: ProjectCommand) -> (ProjectEvent, usize) {
    let configured = ProjectEvent::DeploymentConfigured {
        source: warp_events::project::ProjectSource::Folder { path: "app".into() },
        compose_file: None,
        compose_project: "warp-shop-0a1b2c3d".into(),
    };
    let events = ProjectTest::with(()).given(vec![created("shop"), configured]).when(command).inspect_result().unwrap();
    let event = events.into_iter().next().unwrap();
    let envelope = warp_events::EventEnvelope {
        aggregate_type: "project".into(),
        aggregate_id: uuid::Uuid::nil().to_string(),
        sequence: i64::MAX,
        event_type: cqrs_es::DomainEvent::event_type(&event),
        event_version: "1.0".into(),
        global_position: i64::MAX,
        recorded_at: chrono::Utc::now(),
        payload: serde_json::to_value(&event).unwrap(),
        metadata: warp_events::EventMetadata {
            actor: Some("a".repeat(64)),
            request_id: Some("r".repeat(128)),
            correlation_id: Some("c".repeat(128)),
            causation_id: Some("m".repeat(256)),
        },
    };
    let size = serde_json::to_vec(&envelope).unwrap().len();
    (event, size)
}

#[test]
fn a_failed_deploy_quoting_huge_control_character_lines_records_a_publishable_event() {
    // 20 container log lines of 200 KB each, full of escapes, quotes and backslashes (which
    // JSON doubles): the raw message alone is 4 MB.
    let line = format!("\u{1b}[1;31m{}\u{0}\u{8}\"\\{}", "\u{1}".repeat(50_000), "\"".repeat(150_000));
    let message = format!("container web exited with code 1; its last lines:\n{}", vec![line; 20].join("\n"));
    assert!(message.len() > 4_000_000);
    let job_id = uuid::Uuid::now_v7();
    let command = ProjectCommand::RecordDeploymentFailed { job_id, message, containers_changed: true, rolled_back_to: None };
    let (event, size) = published_size(command);
    assert!(size <= warp_events::MAX_ENVELOPE_BYTES, "envelope of {size} bytes");
    let ProjectEvent::DeploymentFailed { message, .. } = event else { panic!("{event:?}") };
    assert!(message.starts_with("container web exited with code 1; its last lines:\n"), "the reason stays readable");
    assert!(!message.chars().any(|c| c.is_control() && c != '\n'), "no control characters");
    assert!(message.contains(crate::bounded::CUT_MARK));
}

#[test]
fn a_deployment_with_endless_services_and_ports_records_a_publishable_event() {
    let huge = "\"".repeat(100_000);
    let port = warp_events::docker::PublishedPort {
        host_ip: huge.clone(),
        host_port: 80,
        container_port: 80,
        protocol: huge.clone(),
    };
    let service = warp_events::project::DeployedService {
        service: huge.clone(),
        container_id: huge.clone(),
        container_name: huge.clone(),
        image: huge.clone(),
        image_id: huge.clone(),
        state: huge.clone(),
        health: Some(huge.clone()),
        ports: vec![port; 100],
    };
    let command = ProjectCommand::RecordDeploymentSucceeded { job_id: uuid::Uuid::now_v7(), commit: Some(huge), services: vec![service; 200] };
    let (_, size) = published_size(command);
    assert!(size <= warp_events::MAX_ENVELOPE_BYTES, "envelope of {size} bytes");
}

fn repo_requested(job_id: uuid::Uuid) -> ProjectEvent {
    ProjectEvent::RepoCreationRequested {
        job_id,
        template: "octo/template-web".into(),
        owner: None,
        name: "shop".into(),
        private: true,
        deploy: true,
        compose_project: "warp-shop-0a1b2c3d".into(),
    }
}

#[test]
fn creating_from_a_template_records_the_repository_request() {
    let job_id = uuid::Uuid::now_v7();
    ProjectTest::with(())
        .given_no_previous_events()
        .when(ProjectCommand::CreateFromTemplate {
            name: name("shop"),
            subdomain: None,
            template: crate::validate::RepoSlug::parse("template", "octo/template-web").unwrap(),
            owner: None,
            repo_name: crate::validate::RepoName::parse("name", "shop").unwrap(),
            private: true,
            deploy: true,
            compose_project: "warp-shop-0a1b2c3d".to_owned().try_into().unwrap(),
            env: Default::default(),
            job_id,
        })
        .then_expect_events(vec![created("shop"), repo_requested(job_id)]);
}

#[test]
fn a_created_repository_makes_the_project_deploy_from_its_default_branch() {
    let job_id = uuid::Uuid::now_v7();
    ProjectTest::with(())
        .given(vec![created("shop"), repo_requested(job_id)])
        .when(ProjectCommand::RecordRepoCreated {
            job_id,
            repo: crate::validate::RepoSlug::parse("repo", "octo/shop").unwrap(),
            html_url: "https://github.com/octo/shop".into(),
            default_branch: "trunk".into(),
        })
        .then_expect_events(vec![
            ProjectEvent::RepoCreated {
                job_id,
                repo: "octo/shop".into(),
                html_url: "https://github.com/octo/shop".into(),
                default_branch: "trunk".into(),
            },
            ProjectEvent::DeploymentConfigured {
                source: warp_events::project::ProjectSource::Github { repo: "octo/shop".into(), git_ref: "trunk".into() },
                compose_file: None,
                compose_project: "warp-shop-0a1b2c3d".into(),
            },
        ]);
}

#[test]
fn a_failed_creation_names_the_repository_it_left_on_github() {
    let job_id = uuid::Uuid::now_v7();
    let repo_created = ProjectEvent::RepoCreated {
        job_id,
        repo: "octo/shop".into(),
        html_url: "https://github.com/octo/shop".into(),
        default_branch: "main".into(),
    };
    ProjectTest::with(())
        .given(vec![created("shop"), repo_requested(job_id), repo_created])
        .when(ProjectCommand::RecordRepoCreationFailed { job_id, message: "clone failed".into() })
        .then_expect_events(vec![ProjectEvent::RepoCreationFailed {
            job_id,
            message: "clone failed".into(),
            repo_left: Some("octo/shop".into()),
        }]);
}

#[test]
fn a_repository_report_of_another_job_is_refused() {
    let job_id = uuid::Uuid::now_v7();
    let other = uuid::Uuid::now_v7();
    ProjectTest::with(())
        .given(vec![created("shop"), repo_requested(job_id)])
        .when(ProjectCommand::RecordRepoCloned { job_id: other, commit: "abc".into() })
        .then_expect_error(ProjectError::NotCreatingRepo(other));
}

#[test]
fn a_creation_job_that_ended_without_a_report_fails_the_creation() {
    let job_id = uuid::Uuid::now_v7();
    ProjectTest::with(())
        .given(vec![created("shop"), repo_requested(job_id)])
        .when(ProjectCommand::RecordJobEnded { job_id, message: "the worker stopped".into() })
        .then_expect_events(vec![ProjectEvent::RepoCreationFailed { job_id, message: "the worker stopped".into(), repo_left: None }]);
}
