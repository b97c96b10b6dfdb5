//! File contents for deploy fixtures: Dockerfiles and compose files that build on
//! [`BUSYBOX_IMAGE`], so nothing is ever pulled.
//!
//! What is real: the builds, containers, networks and published ports on this machine's Docker
//! Engine, driven by whichever compose tool the code under test runs. The compose files use
//! `version: "3.8"`, which Debian's docker-compose 1.29 (v1) and `docker compose` (v2) accept.
//!
//! Shapes, each a list of `(relative path, contents)` to hand to
//! [`FixtureRepo::write_all`](crate::git::FixtureRepo::write_all) or
//! [`FixtureFolder::write_all`](crate::git::FixtureFolder::write_all):
//! - [`two_service_project`] has `web` (busybox httpd serving a page, published on a host port)
//!   and `api` (a second httpd, not published), each built from its own context.
//! - [`unhealthy_project`] is the same with `web` with a healthcheck that never passes.
//! - [`slow_build_project`] has a `web` build that sleeps (never cached), for cancel tests.
//! - [`broken_project`] has a compose file that is not valid YAML.
//!
//! The `*_project` helpers build [`BUSYBOX_IMAGE`] first if it is missing
//! ([`busybox_image`]), so a compose build can start `FROM` it. Pair a deploy with a
//! [`ComposeCleanup`] so its containers, networks and images go away when the test ends.

use crate::docker::{busybox_image, docker, BUSYBOX_IMAGE};

/// The compose file's name in every project fixture.
pub const COMPOSE_FILE: &str = "compose.yaml";

/// What [`two_service_project`]'s `api` service serves at `/`.
pub const API_PAGE: &str = "warp fixture api\n";

/// Health of the `web` service in [`two_service_compose_with`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    /// No healthcheck: the container counts as up once it runs.
    None,
    /// `wget` of its own page every second: healthy within a few seconds.
    Passing,
    /// `["CMD", "false"]` every second, 2 retries: `unhealthy` after about 3 s, never healthy.
    Failing,
}

/// A Dockerfile `FROM warp-test-busybox:latest` that writes `page` (any text, passed as one
/// argument, never through shell parsing) to `/www/index.html` and runs
/// `busybox httpd -f -p 80 -h /www`.
pub fn web_service_dockerfile(page: &str) -> String {
    let script = json("mkdir -p /www && printf '%s' \"$0\" > /www/index.html");
    format!(
        "FROM {BUSYBOX_IMAGE}\n\
         RUN [\"/bin/sh\", \"-c\", {script}, {page}]\n\
         EXPOSE 80\n\
         CMD [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"80\", \"-h\", \"/www\"]\n",
        page = json(page)
    )
}

/// A Dockerfile whose build prints `slow build started`, then `building <n>` once a second
/// for `seconds` seconds, in a `RUN` step that never hits the build cache (a fresh nonce each
/// call); the image would serve `page` like [`web_service_dockerfile`].
///
/// Cancelling it for real (checked here with docker-compose 1.29): compose v1 builds by running
/// a `docker build` child process, and killing only the compose process leaves that child
/// (re-parented to init) and its build running to the end. Killing the whole process group
/// (or the `docker build` child) makes the daemon stop and remove the build container at
/// once. Build containers carry the label `warp.test.fixture=slow-build`, so a test can assert
/// that none is left: `docker ps -q --filter label=warp.test.fixture=slow-build`.
pub fn slow_build_dockerfile(seconds: u32, page: &str) -> String {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let script = json(&format!(
        "echo slow build started; i=0; while [ $i -lt {seconds} ]; do sleep 1; i=$((i+1)); echo building $i; done"
    ));
    let rest = web_service_dockerfile(page);
    let rest = rest.split_once('\n').map_or("", |(_, rest)| rest);
    format!(
        "FROM {BUSYBOX_IMAGE}\nLABEL warp.test.fixture=slow-build\nRUN [\"/bin/sh\", \"-c\", {script}, {nonce}]\n{rest}",
        nonce = json(&nonce)
    )
}

/// A compose file with `web` (built from `./web`, publishing `<web_host_port>:80`) and `api`
/// (built from `./api`, nothing published).
pub fn two_service_compose(web_host_port: u16) -> String {
    two_service_compose_with(web_host_port, Health::None)
}

/// [`two_service_compose`] with a healthcheck on `web`.
pub fn two_service_compose_with(web_host_port: u16, health: Health) -> String {
    let healthcheck = match health {
        Health::None => "",
        Health::Passing => {
            "    healthcheck:\n      test: [\"CMD\", \"wget\", \"-q\", \"-O\", \"/dev/null\", \"http://127.0.0.1/\"]\n      interval: 1s\n      timeout: 1s\n      retries: 3\n"
        }
        Health::Failing => {
            "    healthcheck:\n      test: [\"CMD\", \"false\"]\n      interval: 1s\n      timeout: 1s\n      retries: 2\n"
        }
    };
    format!(
        "version: \"3.8\"\n\
         services:\n  \
           web:\n    \
             build: ./web\n    \
             ports:\n      \
               - \"{web_host_port}:80\"\n\
         {healthcheck}  \
           api:\n    \
             build: ./api\n"
    )
}

/// A compose file that no compose tool can parse (an unclosed flow sequence).
pub fn broken_compose() -> String {
    "version: \"3.8\"\nservices:\n  web:\n    build: [./web\n    ports:\n      - \"80:80\n".to_owned()
}

/// `compose.yaml`, `web/Dockerfile` serving `page`, `api/Dockerfile` serving [`API_PAGE`].
pub fn two_service_project(web_host_port: u16, page: &str) -> Vec<(&'static str, String)> {
    project(two_service_compose(web_host_port), web_service_dockerfile(page))
}

/// [`two_service_project`] whose `web` never turns healthy ([`Health::Failing`]); it still
/// serves `page`.
pub fn unhealthy_project(web_host_port: u16, page: &str) -> Vec<(&'static str, String)> {
    project(two_service_compose_with(web_host_port, Health::Failing), web_service_dockerfile(page))
}

/// [`two_service_project`] whose `web` build takes `build_seconds` ([`slow_build_dockerfile`]).
pub fn slow_build_project(web_host_port: u16, build_seconds: u32) -> Vec<(&'static str, String)> {
    project(two_service_compose(web_host_port), slow_build_dockerfile(build_seconds, "slow\n"))
}

/// A project whose `compose.yaml` is [`broken_compose`] (the Dockerfiles are fine).
pub fn broken_project() -> Vec<(&'static str, String)> {
    project(broken_compose(), web_service_dockerfile("broken\n"))
}

fn project(compose: String, web_dockerfile: String) -> Vec<(&'static str, String)> {
    busybox_image();
    vec![
        (COMPOSE_FILE, compose),
        ("web/Dockerfile", web_dockerfile),
        ("api/Dockerfile", web_service_dockerfile(API_PAGE)),
    ]
}

fn json(text: &str) -> String {
    serde_json::to_string(text).expect("a string serializes")
}

/// A compose project name unique to the test: `<prefix><12 hex>`, lower-case letters and
/// digits only, so v1 and v2 use it unchanged.
pub fn project_name(prefix: &str) -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let prefix: String = prefix.chars().filter(char::is_ascii_alphanumeric).collect();
    format!("{}{}", prefix.to_ascii_lowercase(), &id[..12])
}

/// On drop, removes what compose made for project `name` (as compose normalised it):
/// containers and networks and volumes labelled `com.docker.compose.project=<name>`, and the
/// images compose built (`<name>_<service>` for v1, `<name>-<service>` for v2). Never touches
/// [`BUSYBOX_IMAGE`].
#[derive(Debug)]
pub struct ComposeCleanup {
    pub name: String,
}

impl ComposeCleanup {
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into() }
    }

    /// Removes everything now (also what drop does).
    pub fn clean(&self) {
        let label = format!("label=com.docker.compose.project={}", self.name);
        let listed = |args: &[&str]| -> Vec<String> {
            docker(args).unwrap_or_default().lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect()
        };
        let containers = listed(&["ps", "-aq", "--filter", &label]);
        if !containers.is_empty() {
            let mut args = vec!["rm", "-f", "-v"];
            args.extend(containers.iter().map(String::as_str));
            let _ = docker(&args);
        }
        for network in listed(&["network", "ls", "-q", "--filter", &label]) {
            let _ = docker(&["network", "rm", &network]);
        }
        for volume in listed(&["volume", "ls", "-q", "--filter", &label]) {
            let _ = docker(&["volume", "rm", "-f", &volume]);
        }
        for separator in ['_', '-'] {
            let reference = format!("reference={}{separator}*", self.name);
            for image in listed(&["images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", &reference]) {
                if image != BUSYBOX_IMAGE {
                    let _ = docker(&["rmi", "-f", &image]);
                }
            }
        }
        // A cancelled slow build leaves its untagged `LABEL` layer behind; without `-f` an
        // image that another test's build still uses is kept.
        for image in listed(&["images", "-q", "--filter", "dangling=true", "--filter", "label=warp.test.fixture=slow-build"]) {
            let _ = docker(&["rmi", &image]);
        }
    }
}

impl Drop for ComposeCleanup {
    fn drop(&mut self) {
        self.clean();
    }
}
