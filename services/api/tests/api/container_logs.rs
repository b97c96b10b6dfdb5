//! `GET /api/containers/logs`: one SSE stream over the logs of matching containers, on this
//! machine's real Docker Engine.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use warp_test_support::docker::TestContainer;

use crate::helpers::{assert_error, Auth, TestApp};
use crate::sse::SseReader;

const WAIT: Duration = Duration::from_secs(20);

/// Opens the stream with `query` and reads its `open` event.
async fn open(app: &TestApp, query: &str) -> (SseReader, Value) {
    let path = format!("/api/containers/logs?{query}");
    let response = app.request(Method::GET, &path, Auth::Bearer(&app.admin.secret)).await;
    assert_eq!(response.status(), StatusCode::OK, "GET {path}");
    let mut reader = SseReader::new(response);
    let opened = reader.next(WAIT).await.expect("an open event");
    assert_eq!(opened.event.as_deref(), Some("open"));
    (reader, serde_json::from_str(&opened.data).unwrap())
}

/// `line` events' data until one whose `line` is `last` (included); panics after [`WAIT`].
async fn lines_until(reader: &mut SseReader, last: &str) -> Vec<Value> {
    let mut lines = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let message = reader.next(left).await.unwrap_or_else(|| panic!("no line {last:?} among {lines:?}"));
        if message.event.as_deref() != Some("line") {
            continue;
        }
        let line: Value = serde_json::from_str(&message.data).unwrap();
        let done = line["line"] == last;
        lines.push(line);
        if done {
            return lines;
        }
    }
}

fn texts(lines: &[Value]) -> Vec<&str> {
    lines.iter().map(|l| l["line"].as_str().unwrap()).collect()
}

const SCRIPT: &str = r#"head -c 40000 /dev/zero | tr '\0' x; echo
head -c 70000 /dev/zero | tr '\0' y; echo
printf '\033[31mred\033[0m plain\n'
printf '10%%\r50%%\r100%%\n'
printf 'bad \377 byte\n'
echo oops >&2
sleep 1; echo done
exec sleep 3600"#;

#[tokio::test]
async fn long_lines_colours_carriage_returns_and_invalid_utf8_arrive_as_lines() {
    let app = TestApp::spawn_with_docker().await;
    let container = TestContainer::run("warp-logs", &[], SCRIPT);
    let (mut reader, opened) = open(&app, &format!("filter={}", container.name)).await;
    assert_eq!(opened["containers"][0]["name"], container.name.as_str(), "{opened}");
    let lines = lines_until(&mut reader, "done").await;
    let all = texts(&lines);

    assert!(all.contains(&"x".repeat(40_000).as_str()), "the 40,000-byte line arrives whole, once");
    let cut = all.iter().find(|l| l.starts_with('y')).unwrap();
    assert_eq!(*cut, format!("{} …[truncated]", "y".repeat(64 * 1024)), "a line over 64 KiB is cut with a marker");
    assert!(all.contains(&"\u{1b}[31mred\u{1b}[0m plain"), "colours are kept by default: {all:?}");
    assert!(all.windows(3).any(|w| w == ["10%", "50%", "100%"]), "each \\r ends a line: {all:?}");
    assert!(all.contains(&"bad \u{fffd} byte"), "invalid UTF-8 is replaced: {all:?}");
    let oops = lines.iter().find(|l| l["line"] == "oops").unwrap();
    assert_eq!(oops["stream"], "stderr");
    // Lines of the two streams may interleave differently on re-delivery; check a known one.
    let first = lines.iter().find(|l| l["line"].as_str().unwrap().starts_with('x')).unwrap();
    assert_eq!(first["container_id"], container.id.as_str());
    assert_eq!(first["container_name"], container.name.as_str());
    assert_eq!(first["stream"], "stdout");
    let at: chrono::DateTime<chrono::Utc> = first["timestamp"].as_str().unwrap().parse().unwrap();
    assert!((chrono::Utc::now() - at).num_seconds().abs() < 120, "Docker's timestamp {at}");

    let (mut stripped, _) = open(&app, &format!("filter={}&ansi=strip", container.name)).await;
    let lines = lines_until(&mut stripped, "done").await;
    assert!(texts(&lines).contains(&"red plain"), "ansi=strip removes colour codes");
}

#[tokio::test]
async fn a_container_started_after_the_client_connected_joins_the_stream() {
    let app = TestApp::spawn_with_docker().await;
    let prefix = format!("warp-late-{}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
    let (mut reader, opened) = open(&app, &format!("filter={prefix}")).await;
    assert_eq!(opened["containers"], serde_json::json!([]), "nothing matches yet");
    let early = TestContainer::run(&prefix, &[], "echo first-hello; exec sleep 3600");
    let lines = lines_until(&mut reader, "first-hello").await;
    assert_eq!(lines.last().unwrap()["container_name"], early.name.as_str());
    let late = TestContainer::run(&prefix, &[], "echo second-hello; exec sleep 3600");
    let lines = lines_until(&mut reader, "second-hello").await;
    assert_eq!(lines.last().unwrap()["container_name"], late.name.as_str());
}

#[tokio::test]
async fn tail_and_since_limit_the_lines_from_before_the_stream_opened() {
    let app = TestApp::spawn_with_docker().await;
    let container = TestContainer::run("warp-tail", &[], "for i in 1 2 3 4 5; do echo l$i; done; sleep 2; echo late; exec sleep 3600");
    let (mut all, _) = open(&app, &format!("filter={}&tail=10000", container.name)).await;
    let lines = lines_until(&mut all, "late").await;
    assert_eq!(texts(&lines), ["l1", "l2", "l3", "l4", "l5", "late"]);

    let (mut tail, _) = open(&app, &format!("filter={}&tail=2", container.name)).await;
    assert_eq!(texts(&lines_until(&mut tail, "late").await), ["l5", "late"]);
    let (mut none, _) = open(&app, &format!("filter={}&tail=0", container.name)).await;
    assert!(none.next(Duration::from_millis(1500)).await.is_none(), "tail=0 sends no old line");

    let l5: chrono::DateTime<chrono::Utc> = lines[4]["timestamp"].as_str().unwrap().parse().unwrap();
    let since = chrono::DateTime::from_timestamp(l5.timestamp() + 1, 0).unwrap().to_rfc3339();
    let query = format!("filter={}&since={}", container.name, since.replace('+', "%2B"));
    let (mut recent, _) = open(&app, &query).await;
    assert_eq!(texts(&lines_until(&mut recent, "late").await), ["late"], "since {since}");
}

#[tokio::test]
async fn invalid_log_queries_are_rejected_with_400() {
    let app = TestApp::spawn().await;
    let too_long = format!("filter={}", "a".repeat(129));
    for query in ["filter=", "filter=a%20b", "filter=a/b", &too_long, "tail=10001", "tail=-1", "tail=many",
        "since=yesterday", "since=-3", "ansi=rainbow", "colour=1"]
    {
        let path = format!("/api/containers/logs?{query}");
        let response = app.request(Method::GET, &path, Auth::Bearer(&app.member.secret)).await;
        assert_error(response, StatusCode::BAD_REQUEST, "bad_request").await;
    }
}

#[tokio::test]
async fn a_secret_setting_printed_by_a_container_is_redacted_from_its_log_stream() {
    let app = TestApp::spawn_with_docker().await;
    let canary = format!("ghp_CANARY{}", uuid::Uuid::new_v4().simple());
    let settings = serde_json::json!({ "github_api_url": crate::fakes::unreachable(), "github_token": canary });
    assert_eq!(app.put_settings(&app.admin, &settings, None).await.status(), StatusCode::OK);
    let prefix = format!("warp-secret-{}", &uuid::Uuid::new_v4().simple().to_string()[..6]);
    let (mut reader, _) = open(&app, &format!("filter={prefix}")).await;
    let _container = TestContainer::run(&prefix, &[], &format!("echo token {canary}; echo done; exec sleep 3600"));
    let lines = lines_until(&mut reader, "done").await;
    assert!(texts(&lines).contains(&"token [REDACTED]"), "{lines:?}");
    assert!(lines.iter().all(|l| !l.to_string().contains(&canary)));
}

#[tokio::test]
async fn lines_after_a_line_docker_split_keep_arriving_in_order_and_once() {
    let app = TestApp::spawn_with_docker().await;
    let script = "head -c 70000 /dev/zero | tr '\\0' y; echo\necho oops >&2\nsleep 3; for i in 1 2 3; do echo late$i; sleep 1; done\nexec sleep 3600";
    let container = TestContainer::run("warp-split", &[], script);
    // The split line is already in the log when the stream opens; later lines follow live.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (mut reader, _) = open(&app, &format!("filter={}", container.name)).await;
    let lines = lines_until(&mut reader, "late3").await;
    let all = texts(&lines);
    let long = all.iter().find(|l| l.starts_with('y')).expect("the long line");
    assert_eq!(*long, format!("{} …[truncated]", "y".repeat(64 * 1024)));
    // Docker copies stdout and stderr through separate pipes, so lines of the two streams
    // printed close together may reach the log in either order; within stdout order holds.
    assert_eq!(all.iter().filter(|l| **l == "oops").count(), 1, "the stderr line arrives once");
    let stdout: Vec<&str> = lines.iter().filter(|l| l["stream"] == "stdout").map(|l| l["line"].as_str().unwrap()).collect();
    assert_eq!(stdout.len(), 4, "{:?}", stdout.iter().map(|l| &l[..l.len().min(8)]).collect::<Vec<_>>());
    assert_eq!(&stdout[0][..4], "yyyy");
    assert_eq!(stdout[1..], ["late1", "late2", "late3"], "each later line once, in order");
}
