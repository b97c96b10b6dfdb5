//! The security suite, NATS part: the server refuses clients without a known key, and each
//! service's user may publish and subscribe only to its own subjects (only the relay publishes
//! events; only the docker service answers `warp.docker.>`). Runs on the shared test server,
//! whose users and permissions are written by `warp nats-auth --test-server`.

use std::time::Duration;

use async_nats::jetstream;
use secrecy::ExposeSecret;
use tokio::sync::mpsc;
use warp_platform::nats_auth;
use warp_platform::NatsUser;
use warp_test_support::{nats_login, TestNats};

/// A connection as `user` whose server errors (permission violations) are collected.
async fn connect_recording(nats: &TestNats, user: NatsUser) -> (async_nats::Client, mpsc::UnboundedReceiver<String>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let client = async_nats::ConnectOptions::new()
        .nkey(nats_login(user).seed.expose_secret().to_owned())
        .custom_inbox_prefix(user.inbox_prefix())
        .event_callback(move |event| {
            let tx = tx.clone();
            async move {
                if let async_nats::Event::ServerError(error) = event {
                    let _ = tx.send(error.to_string());
                }
            }
        })
        .connect(&nats.url)
        .await
        .unwrap_or_else(|error| panic!("{user:?} connects: {error}"));
    (client, rx)
}

/// Waits for the server to report a violation that contains `needle`.
async fn violation(errors: &mut mpsc::UnboundedReceiver<String>, needle: &str) -> String {
    let wait = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(error) = errors.recv().await {
            if error.contains(needle) {
                return error;
            }
        }
        panic!("the connection closed without reporting {needle:?}");
    });
    wait.await.unwrap_or_else(|_| panic!("the server reported no violation containing {needle:?}"))
}

async fn stream_messages(nats: &TestNats) -> u64 {
    let mut stream = nats.js.get_stream(&nats.names.stream).await.unwrap();
    stream.info().await.unwrap().state.messages
}

#[tokio::test]
async fn nats_refuses_a_client_without_credentials() {
    let nats = TestNats::new().await;
    let error = async_nats::ConnectOptions::new().connect(&nats.url).await.expect_err("an anonymous client is refused");
    assert_eq!(error.kind(), async_nats::ConnectErrorKind::AuthorizationViolation, "{error}");
}

#[tokio::test]
async fn nats_refuses_a_key_it_does_not_know_even_under_a_service_name() {
    let nats = TestNats::new().await;
    let dir = std::env::temp_dir().join(format!("warp-nk-{}", uuid::Uuid::new_v4().simple()));
    let stranger = nats_auth::ensure_seed(&dir, NatsUser::Relay, false).unwrap();
    let error = async_nats::ConnectOptions::new()
        .name("warp-relay")
        .nkey(stranger.expose_secret().to_owned())
        .connect(&nats.url)
        .await
        .expect_err("an unknown key is refused");
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(error.kind(), async_nats::ConnectErrorKind::AuthorizationViolation, "{error}");
    // And the real relay key gets in.
    async_nats::ConnectOptions::new()
        .nkey(nats_login(NatsUser::Relay).seed.expose_secret().to_owned())
        .connect(&nats.url)
        .await
        .expect("the relay's own key is accepted");
}

#[tokio::test]
async fn only_the_relay_may_publish_events() {
    let nats = TestNats::new().await;
    nats.apply_definitions().await;
    let subject = nats.names.event_subject("project", "p1", "ProjectCreated");
    for user in [NatsUser::Api, NatsUser::ReadModels, NatsUser::Docker] {
        let (client, mut errors) = connect_recording(&nats, user).await;
        client.publish(subject.clone(), "{}".into()).await.unwrap();
        client.flush().await.unwrap();
        let error = violation(&mut errors, "Permissions Violation for Publish").await;
        assert!(error.contains(&subject), "{user:?}: {error}");
    }
    assert_eq!(stream_messages(&nats).await, 0, "no other service's publish reached the stream");

    let relay = jetstream::new(nats.connect_as(NatsUser::Relay).await);
    relay.publish(subject, "{}".into()).await.unwrap().await.expect("the stream acks the relay's event");
    assert_eq!(stream_messages(&nats).await, 1);
}

#[tokio::test]
async fn only_the_docker_service_may_answer_docker_requests() {
    let nats = TestNats::new().await;
    let subject = warp_events::subjects::docker_request_subject(&format!("t{}", uuid::Uuid::new_v4().simple()), "health");
    for user in [NatsUser::Api, NatsUser::Relay, NatsUser::ReadModels] {
        let (client, mut errors) = connect_recording(&nats, user).await;
        let _subscription = client.subscribe(subject.clone()).await.unwrap();
        client.flush().await.unwrap();
        let error = violation(&mut errors, "Permissions Violation for Subscription").await;
        assert!(error.contains(&subject), "{user:?}: {error}");
    }

    let docker = nats.connect_as(NatsUser::Docker).await;
    let mut requests = docker.subscribe(subject.clone()).await.unwrap();
    docker.flush().await.unwrap();
    tokio::spawn(async move {
        use futures::StreamExt;
        while let Some(request) = requests.next().await {
            if let Some(reply) = request.reply {
                docker.publish(reply, "pong".into()).await.unwrap();
            }
        }
    });
    let api = nats.connect_as(NatsUser::Api).await;
    let answer = api.request(subject, "ping".into()).await.expect("the docker service answers the api");
    assert_eq!(&answer.payload[..], b"pong");
}

#[tokio::test]
async fn the_api_cannot_read_another_services_durable_consumer() {
    let nats = TestNats::new().await;
    nats.apply_definitions().await;
    let (client, mut errors) = connect_recording(&nats, NatsUser::Api).await;
    let js = jetstream::new(client);
    let stream = js.get_stream(&nats.names.stream).await.expect("the api may look the stream up");
    let taken = stream.get_consumer::<jetstream::consumer::pull::Config>("audit").await;
    assert!(taken.is_err(), "the api reached the audit consumer");
    let error = violation(&mut errors, "Permissions Violation for Publish").await;
    assert!(error.contains(".audit"), "{error}");
}
