//! The HTTPS git server: real TLS, real clones, the fixture repo's commits, branches and tags.

use std::path::Path;
use std::process::Output;

use warp_test_support::git::{git_command, FixtureFolder, GitServer, AUTHOR_EMAIL};

fn clone_dir(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("warp-clone-{name}-{}", uuid::Uuid::new_v4().simple()))
}

fn run(mut command: std::process::Command) -> Output {
    command.output().expect("run git")
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "git failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

fn head_of(server: &GitServer, dir: &Path) -> String {
    let mut git = server.git();
    git.arg("-C").arg(dir).args(["rev-parse", "HEAD"]);
    stdout(&run(git))
}

#[tokio::test]
async fn a_clone_that_trusts_the_ca_gets_the_latest_commit() {
    let server = GitServer::start().await;
    let repo = server.create_repo("app");
    repo.write("README.md", "first\n");
    repo.commit("first");
    repo.write("README.md", "second\n");
    repo.write("web/index.html", "<p>hi</p>\n");
    let latest = repo.commit("second");
    let dest = clone_dir("latest");

    let mut git = server.git();
    git.args(["clone", "-q", &server.url("app")]).arg(&dest);
    stdout(&run(git));

    assert_eq!(head_of(&server, &dest), latest);
    assert_eq!(std::fs::read_to_string(dest.join("README.md")).unwrap(), "second\n");
    assert_eq!(std::fs::read_to_string(dest.join("web/index.html")).unwrap(), "<p>hi</p>\n");
    let mut log = server.git();
    log.arg("-C").arg(&dest).args(["log", "-1", "--format=%ae %s"]);
    assert_eq!(stdout(&run(log)), format!("{AUTHOR_EMAIL} second"));
    assert!(
        server.request_log().iter().any(|r| r.starts_with("GET /app.git/info/refs?service=git-upload-pack")),
        "the clone went through smart HTTP: {:?}",
        server.request_log()
    );
    let _ = std::fs::remove_dir_all(&dest);
}

#[tokio::test]
async fn a_clone_that_does_not_trust_the_ca_fails_on_the_certificate() {
    let server = GitServer::start().await;
    let repo = server.create_repo("app");
    repo.write("README.md", "hello\n");
    repo.commit("first");
    let dest = clone_dir("untrusted");
    let home = clone_dir("home");
    std::fs::create_dir_all(&home).unwrap();

    let mut git = git_command(&home);
    git.args(["clone", "-q", &server.url("app")]).arg(&dest);
    let output = run(git);

    assert!(!output.status.success(), "cloning without the CA must fail");
    let stderr = String::from_utf8_lossy(&output.stderr).to_lowercase();
    assert!(stderr.contains("certificate"), "the failure names the certificate: {stderr}");
    assert!(!dest.join("README.md").exists());
    assert_eq!(server.requests(), 0, "no HTTP request got through the TLS handshake");
    let _ = std::fs::remove_dir_all(&home);
}

#[tokio::test]
async fn shallow_clones_of_a_branch_and_a_tag_and_a_fetch_by_sha_work_over_localhost() {
    let server = GitServer::start().await;
    let repo = server.create_repo("app");
    repo.write("VERSION", "1\n");
    let first = repo.commit("one");
    repo.tag("v1");
    repo.branch("release");
    repo.write("VERSION", "2\n");
    let release = repo.commit("two");
    repo.checkout("main");

    let branch_dir = clone_dir("branch");
    let mut git = server.git();
    git.args(["clone", "-q", "--depth", "1", "--branch", "release", &server.localhost_url("app")]).arg(&branch_dir);
    stdout(&run(git));
    assert_eq!(head_of(&server, &branch_dir), release);

    let tag_dir = clone_dir("tag");
    let mut git = server.git();
    git.args(["clone", "-q", "--depth", "1", "--branch", "v1", &server.url("app")]).arg(&tag_dir);
    stdout(&run(git));
    assert_eq!(std::fs::read_to_string(tag_dir.join("VERSION")).unwrap(), "1\n");

    let sha_dir = clone_dir("sha");
    let mut init = server.git();
    init.args(["init", "-q"]).arg(&sha_dir);
    stdout(&run(init));
    let mut fetch = server.git();
    fetch.arg("-C").arg(&sha_dir).args(["fetch", "-q", "--depth", "1", &server.url("app"), &first]);
    stdout(&run(fetch));
    let mut checkout = server.git();
    checkout.arg("-C").arg(&sha_dir).args(["checkout", "-q", "FETCH_HEAD"]);
    stdout(&run(checkout));
    assert_eq!(head_of(&server, &sha_dir), first);

    for dir in [branch_dir, tag_dir, sha_dir] {
        let _ = std::fs::remove_dir_all(dir);
    }
}

#[tokio::test]
async fn a_repo_that_does_not_exist_is_not_found() {
    let server = GitServer::start().await;
    let dest = clone_dir("missing");
    let mut git = server.git();
    git.args(["clone", "-q", &server.url("nope")]).arg(&dest);
    let output = run(git);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("not found") || stderr.contains("404"), "{stderr}");
}

#[tokio::test]
async fn dropping_the_server_stops_it_and_removes_its_files() {
    let server = GitServer::start().await;
    let port = server.port();
    let repos = server.repos_dir();
    assert!(repos.exists());
    drop(server);
    assert!(!repos.exists());
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "nothing listens on {port}");
}

#[test]
fn a_fixture_folder_holds_its_files_under_its_root_until_dropped() {
    let folder = FixtureFolder::new("site");
    folder.write_all([("compose.yaml", "services: {}\n"), ("web/Dockerfile", "FROM scratch\n")]);
    assert_eq!(folder.path(), folder.root().join("site"));
    assert_eq!(std::fs::read_to_string(folder.path().join("web/Dockerfile")).unwrap(), "FROM scratch\n");
    let root = folder.root().to_owned();
    drop(folder);
    assert!(!root.exists());
}

#[test]
#[should_panic(expected = "must be relative")]
fn a_fixture_path_cannot_leave_its_folder() {
    let folder = FixtureFolder::new("site");
    folder.write("../escape", "x");
}
