//! Real Docker Engine fixtures: a locally built busybox image and containers that remove
//! themselves.
//!
//! Nothing can be pulled from a registry here, so [`busybox_image`] builds
//! `warp-test-busybox:latest` `FROM scratch` with Debian's static `/bin/busybox` (package
//! `busybox-static`, installed by `scripts/stack.sh up`) and its applet links. Every
//! [`TestContainer`] gets a unique name and the label `warp.test=<uuid>`, and is removed with
//! `docker rm -f` when dropped, also when the test fails. The docker CLI is run with argument
//! lists, never a shell.

use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// The fixture image's tag.
pub const BUSYBOX_IMAGE: &str = "warp-test-busybox:latest";

/// Builds [`BUSYBOX_IMAGE`] unless it exists (once per test process); returns its tag.
///
/// Test processes that race here (say two test binaries of `cargo test`) may both find the
/// image missing and both build it. That is safe: each `docker build -t` builds in its own
/// temp folder and moves the tag atomically, the second build mostly hits the first one's layer
/// cache (same image id), and an image id that loses the tag stays usable by whatever already
/// started from it.
pub fn busybox_image() -> &'static str {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let exists = docker(&["image", "inspect", "--format", "{{.Id}}", BUSYBOX_IMAGE]).is_ok();
        if exists {
            return;
        }
        let dir = std::env::temp_dir().join(format!("warp-busybox-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("create the image build folder");
        std::fs::copy("/bin/busybox", dir.join("busybox"))
            .expect("copy /bin/busybox (install busybox-static: scripts/stack.sh up does)");
        let dockerfile = "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\nCMD [\"/bin/sh\"]\n";
        std::fs::write(dir.join("Dockerfile"), dockerfile).expect("write the Dockerfile");
        let built = docker(&["build", "-q", "-t", BUSYBOX_IMAGE, dir.to_str().expect("utf-8 temp path")]);
        let _ = std::fs::remove_dir_all(&dir);
        built.expect("build the busybox fixture image");
    });
    BUSYBOX_IMAGE
}

/// A running fixture container, removed (`docker rm -f`) on drop.
#[derive(Debug)]
pub struct TestContainer {
    pub id: String,
    pub name: String,
}

impl TestContainer {
    /// `docker run -d --name <name_prefix>-<8 hex> --label warp.test=<uuid> <extra_args…>
    /// warp-test-busybox:latest sh -c <script>`; `script` runs under busybox `sh` in the
    /// container (end it with `exec sleep 3600` to keep the container running).
    pub fn run(name_prefix: &str, extra_args: &[&str], script: &str) -> Self {
        let image = busybox_image();
        let test_id = uuid::Uuid::new_v4();
        let name = format!("{name_prefix}-{}", &test_id.simple().to_string()[..8]);
        let label = format!("warp.test={test_id}");
        let mut args = vec!["run", "-d", "--name", &name, "--label", &label];
        args.extend_from_slice(extra_args);
        args.extend_from_slice(&[image, "sh", "-c", script]);
        let id = docker(&args).unwrap_or_else(|e| panic!("docker run {name}: {e}"));
        Self { id: id.trim().to_owned(), name }
    }
}

impl Drop for TestContainer {
    fn drop(&mut self) {
        let _ = docker(&["rm", "-f", &self.id]);
    }
}

/// Runs the docker CLI; its stdout, or its stderr as the error.
pub fn docker(args: &[&str]) -> Result<String, String> {
    let output = Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running docker: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}
