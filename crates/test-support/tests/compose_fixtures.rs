//! The compose fixtures on the real Docker Engine, with the compose tool of this machine.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use warp_test_support::compose_fixtures::{
    broken_project, project_name, two_service_project, unhealthy_project, ComposeCleanup, API_PAGE,
};
use warp_test_support::docker::docker;
use warp_test_support::git::FixtureFolder;
use warp_test_support::{eventually, free_port};

/// `docker-compose` (v1) where installed, else `docker compose` (v2).
fn compose(dir: &Path, project: &str, args: &[&str]) -> Output {
    let v1 = Command::new("docker-compose").arg("version").stdout(Stdio::null()).stderr(Stdio::null()).status();
    let mut command = if v1.is_ok_and(|s| s.success()) {
        Command::new("docker-compose")
    } else {
        let mut docker = Command::new("docker");
        docker.arg("compose");
        docker
    };
    command.current_dir(dir).args(["-p", project]).args(args).stdin(Stdio::null());
    command.output().expect("run the compose tool")
}

fn assert_ok(output: &Output) {
    assert!(output.status.success(), "compose failed: {}", String::from_utf8_lossy(&output.stderr));
}

async fn http_get(port: u16, path: &str) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    let status = head.lines().next()?.split_whitespace().nth(1)?;
    (status == "200").then(|| body.to_owned())
}

#[tokio::test]
async fn the_two_service_project_builds_and_serves_its_page_on_the_host_port() {
    let folder = FixtureFolder::new("site");
    let port = free_port();
    let page = "<h1>it's \"deployed\" $HOME</h1>\n";
    folder.write_all(two_service_project(port, page));
    let name = project_name("warpfx");
    let _cleanup = ComposeCleanup::new(&name);

    assert_ok(&compose(folder.path(), &name, &["up", "--build", "-d"]));

    let served = eventually(Duration::from_secs(20), "web serves its page", || http_get(port, "/")).await;
    assert_eq!(served, page);
    let api = docker(&["exec", &format!("{name}_api_1"), "wget", "-q", "-O", "-", "http://127.0.0.1/"])
        .or_else(|_| docker(&["exec", &format!("{name}-api-1"), "wget", "-q", "-O", "-", "http://127.0.0.1/"]))
        .expect("api answers inside its container");
    assert_eq!(api, API_PAGE);
}

#[tokio::test]
async fn the_unhealthy_project_runs_but_its_web_service_turns_unhealthy() {
    let folder = FixtureFolder::new("sick");
    let port = free_port();
    folder.write_all(unhealthy_project(port, "sick\n"));
    let name = project_name("warpfx");
    let _cleanup = ComposeCleanup::new(&name);

    assert_ok(&compose(folder.path(), &name, &["up", "--build", "-d"]));

    let label = format!("label=com.docker.compose.project={name}");
    let web = eventually(Duration::from_secs(10), "the web container exists", || async {
        let ids = docker(&["ps", "-q", "--filter", &label, "--filter", "label=com.docker.compose.service=web"]).ok()?;
        ids.lines().next().map(str::to_owned)
    })
    .await;
    eventually(Duration::from_secs(20), "web is unhealthy", || async {
        let status = docker(&["inspect", "-f", "{{.State.Health.Status}}", &web]).ok()?;
        (status.trim() == "unhealthy").then_some(())
    })
    .await;
    assert_eq!(http_get(port, "/").await.as_deref(), Some("sick\n"), "it still serves");
}

#[test]
fn the_broken_project_is_refused_by_the_compose_tool() {
    let folder = FixtureFolder::new("broken");
    folder.write_all(broken_project());
    let name = project_name("warpfx");

    let output = compose(folder.path(), &name, &["config", "-q"]);

    assert!(!output.status.success(), "a broken compose file must not validate");
    assert!(!String::from_utf8_lossy(&output.stderr).trim().is_empty(), "the tool says why");
}
