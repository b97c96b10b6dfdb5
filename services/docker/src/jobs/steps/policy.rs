//! The compose policy: what a project's compose model may ask of the Docker host.
//!
//! Compose runs with the Docker daemon's rights, which are root's. A compose file that asks for
//! `privileged`, a host namespace, a device, an unconfined security profile or a bind mount of
//! `/` or of the Docker socket hands its author the host, and with it every secret the panel
//! holds. So before `up`, the deploy checks the resolved model (`compose config` output: env
//! interpolated, `extends` merged, relative paths made absolute) against these rules, each named
//! by a [`ComposeRule`] that an admin may allow for one project:
//!
//! | rule | refused |
//! |---|---|
//! | `privileged` | `privileged: true` |
//! | `cap_add` | `cap_add` beyond Docker's default capability set ([`DEFAULT_CAPABILITIES`]) |
//! | `devices` | `devices`, `device_cgroup_rules` |
//! | `host_namespaces` | `network_mode`, `pid`, `ipc`, `uts`, `userns_mode`, `cgroup` of `host`, or joining a container that is not one of this project's services (`container:<x>`), and `volumes_from: container:<x>` |
//! | `security_opt` | `seccomp`/`apparmor`/`systempaths` `unconfined`, `label` `disable` |
//! | `bind_mounts` | a bind mount (short or long syntax, or a named volume whose driver options bind a host path) whose source, with symlinks followed, is outside the project's source folder |
//! | `docker_socket` | a bind mount of any unix socket (the Docker socket, whatever its path) |
//! | `build_context` | a build context or additional context that is not inside the source folder (a URL included), or a Dockerfile outside it |
//!
//! Image tags a build would overwrite are checked against the engine by the deploy (see
//! [`build_tags`]); that rule is [`ComposeRule::ImageTags`].

use std::collections::BTreeSet;
use std::os::unix::fs::FileTypeExt as _;
use std::path::{Component, Path, PathBuf};

use serde_norway::Value;
use warp_events::project::ComposeRule;
use warp_jobs::{JobContext, JobFailure};

use super::ComposeProject;
use crate::client::DockerClient;

/// Capabilities Docker grants every container by default: adding them back (after a
/// `cap_drop`) gives nothing more. From moby's `oci/caps/defaults.go`.
pub const DEFAULT_CAPABILITIES: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "FSETID",
    "FOWNER",
    "MKNOD",
    "NET_RAW",
    "SETGID",
    "SETUID",
    "SETFCAP",
    "SETPCAP",
    "NET_BIND_SERVICE",
    "SYS_CHROOT",
    "KILL",
    "AUDIT_WRITE",
];

/// One thing the model asks that the policy refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub service: String,
    /// The compose key, e.g. `privileged`, `volumes`, `network_mode`.
    pub key: String,
    pub rule: ComposeRule,
    /// What exactly is refused, e.g. `bind mount of / (outside the project folder)`.
    pub what: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "service {}: {}: {} (rule {})", self.service, self.key, self.what, self.rule.as_str())
    }
}

/// Checks the resolved compose `model` of a project whose source folder is `source_dir`,
/// with the rules in `allowed` lifted. Returns every violation, in service order.
pub fn check(model: &Value, source_dir: &Path, allowed: &BTreeSet<ComposeRule>) -> Vec<Violation> {
    let root = source_dir.canonicalize().unwrap_or_else(|_| source_dir.to_path_buf());
    let mut found = Vec::new();
    let Some(services) = model.get("services").and_then(Value::as_mapping) else { return found };
    let named_volumes = model.get("volumes").and_then(Value::as_mapping);
    for (name, service) in services {
        let name = name.as_str().unwrap_or_default();
        let mut refuse = |key: &str, rule: ComposeRule, what: String| {
            if !allowed.contains(&rule) {
                found.push(Violation { service: name.to_owned(), key: key.to_owned(), rule, what });
            }
        };
        if service.get("privileged").and_then(Value::as_bool) == Some(true) {
            refuse("privileged", ComposeRule::Privileged, "privileged: true".into());
        }
        for cap in strings(service.get("cap_add")) {
            let bare = cap.trim().to_ascii_uppercase();
            let bare = bare.strip_prefix("CAP_").unwrap_or(&bare);
            if !DEFAULT_CAPABILITIES.contains(&bare) {
                refuse("cap_add", ComposeRule::CapAdd, format!("capability {cap}"));
            }
        }
        for key in ["devices", "device_cgroup_rules"] {
            if let Some(first) = service.get(key).and_then(Value::as_sequence).and_then(|s| s.first()) {
                refuse(key, ComposeRule::Devices, format!("{key} {}", show(first)));
            }
        }
        for key in ["network_mode", "pid", "ipc", "uts", "userns_mode", "cgroup"] {
            let Some(mode) = service.get(key).and_then(Value::as_str) else { continue };
            if mode == "host" {
                refuse(key, ComposeRule::HostNamespaces, format!("{key}: host"));
            } else if let Some(other) = mode.strip_prefix("container:") {
                refuse(key, ComposeRule::HostNamespaces, format!("{key}: joins container {other}, which is not a service of this project"));
            }
        }
        for entry in strings(service.get("volumes_from")) {
            if let Some(other) = entry.strip_prefix("container:") {
                refuse("volumes_from", ComposeRule::HostNamespaces, format!("volumes of container {other}"));
            }
        }
        for opt in strings(service.get("security_opt")) {
            if unconfines(&opt) {
                refuse("security_opt", ComposeRule::SecurityOpt, opt.clone());
            }
        }
        for entry in service.get("volumes").and_then(Value::as_sequence).into_iter().flatten() {
            let Some(source) = bind_source(entry, named_volumes) else { continue };
            match mount_verdict(&source, &root) {
                Mount::Inside => {}
                Mount::Socket => refuse("volumes", ComposeRule::DockerSocket, format!("bind mount of the socket {}", source.display())),
                Mount::Outside => refuse("volumes", ComposeRule::BindMounts, format!("bind mount of {} (outside the project folder)", source.display())),
            }
        }
        if let Some(build) = service.get("build") {
            for (key, context) in build_contexts(build) {
                if !is_inside(&context, &root) {
                    refuse(&key, ComposeRule::BuildContext, format!("build context {context} is not inside the project folder"));
                }
            }
            if let (Some(dockerfile), Some(context)) = (build.get("dockerfile").and_then(Value::as_str), build_context(build)) {
                let path = Path::new(&context).join(dockerfile);
                if !is_inside(&path.to_string_lossy(), &root) {
                    refuse("build.dockerfile", ComposeRule::BuildContext, format!("Dockerfile {} is not inside the project folder", path.display()));
                }
            }
        }
    }
    found
}

/// Checks `model` (of `target`, deployed from `source_dir`) against the policy with the
/// project's exceptions, logging the verdict.
///
/// # Errors
/// [`JobFailure::Failed`] listing every violation, before anything ran.
pub fn enforce(job: &JobContext, target: &ComposeProject, model: &Value, source_dir: &Path) -> Result<(), JobFailure> {
    let allowed = &target.project.compose_exceptions;
    let found = check(model, source_dir, allowed);
    if found.is_empty() {
        if !allowed.is_empty() {
            let rules: Vec<&str> = allowed.iter().map(|r| r.as_str()).collect();
            job.log.system(&format!("compose policy: passed, with the exceptions an admin allowed: {}", rules.join(", ")));
        } else {
            job.log.system("compose policy: passed");
        }
        return Ok(());
    }
    let lines: Vec<String> = found.iter().map(ToString::to_string).collect();
    Err(JobFailure::failed(format!(
        "the compose file asks for what the compose policy refuses (an admin can allow a rule for this project):\n{}",
        lines.join("\n")
    )))
}

/// Refuses to build an image under a tag that already exists on the host and is not this
/// project's (from its last good deploy): the build would replace that image for every
/// container that uses it, the panel's own included. Rule [`ComposeRule::ImageTags`].
///
/// # Errors
/// [`JobFailure::Failed`] naming the service and tag; the engine unreachable.
pub async fn check_build_tags(
    job: &JobContext,
    docker: &DockerClient,
    target: &ComposeProject,
    tags: &[(String, String)],
) -> Result<(), JobFailure> {
    if tags.is_empty() || target.project.compose_exceptions.contains(&ComposeRule::ImageTags) {
        return Ok(());
    }
    let engine = docker.engine().await.map_err(|f| JobFailure::failed(f.message))?;
    let ours = |tag: &str, id: &str| {
        target.project.last_good_services.iter().any(|s| same_reference(&s.image, tag) || (!id.is_empty() && s.image_id == id))
    };
    for (service, tag) in tags {
        match engine.inspect_image(tag).await {
            Ok(image) if !ours(tag, image.id.as_deref().unwrap_or_default()) => {
                return Err(JobFailure::failed(format!(
                    "service {service}: image: the build would replace the image {tag}, which exists on this Docker host and is \
                     not this project's (rule image_tags)"
                )));
            }
            Ok(_) => {}
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => {}
            Err(error) => return Err(JobFailure::failed(format!("inspecting image {tag}: {error}"))),
        }
    }
    job.log.system("compose policy: build image tags are new or this project's");
    Ok(())
}

/// Whether two image references name the same tag (`busybox` is `busybox:latest`).
fn same_reference(a: &str, b: &str) -> bool {
    let full = |r: &str| {
        let last = r.rsplit('/').next().unwrap_or(r);
        if last.contains(':') || r.contains('@') {
            r.to_owned()
        } else {
            format!("{r}:latest")
        }
    };
    full(a) == full(b)
}

/// The image tags that services with a `build` would produce (`image:` beside `build:`), as
/// `(service, tag)`. Tags compose derives itself (`<project>-<service>`, `<project>_<service>`)
/// are the project's own and are not listed.
pub fn build_tags(model: &Value) -> Vec<(String, String)> {
    let Some(services) = model.get("services").and_then(Value::as_mapping) else { return Vec::new() };
    services
        .iter()
        .filter(|(_, s)| s.get("build").is_some())
        .filter_map(|(name, s)| Some((name.as_str()?.to_owned(), s.get("image")?.as_str()?.to_owned())))
        .collect()
}

/// Every string of a sequence value (others are skipped).
fn strings(value: Option<&Value>) -> Vec<String> {
    value.and_then(Value::as_sequence).into_iter().flatten().filter_map(|v| v.as_str().map(str::to_owned)).collect()
}

fn show(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => serde_norway::to_string(other).unwrap_or_default().trim().to_owned(),
    }
}

/// Whether a `security_opt` entry turns confinement off (Docker accepts `:` and `=`).
fn unconfines(opt: &str) -> bool {
    let opt = opt.trim().to_ascii_lowercase();
    let Some((key, value)) = opt.split_once([':', '=']) else { return false };
    matches!((key, value), ("seccomp" | "apparmor" | "systempaths", "unconfined") | ("label", "disable"))
}

/// The host path a `volumes:` entry binds, if it binds one: the short syntax `SRC:DST[:MODE]`
/// with an absolute or relative path source, the long syntax with `type: bind`, or a named
/// volume whose top-level definition binds a host path through `driver_opts`
/// (`o: bind`, `device: <path>`).
fn bind_source(entry: &Value, named: Option<&serde_norway::Mapping>) -> Option<PathBuf> {
    let (source, kind) = match entry {
        Value::String(short) => {
            let source = short.split(':').next().unwrap_or_default();
            if source.starts_with('/') || source.starts_with('.') || source.starts_with('~') {
                return Some(PathBuf::from(source));
            }
            (source.to_owned(), "volume")
        }
        Value::Mapping(_) => {
            let kind = entry.get("type").and_then(Value::as_str).unwrap_or("volume");
            let source = entry.get("source").and_then(Value::as_str).unwrap_or_default().to_owned();
            if kind == "bind" {
                return Some(PathBuf::from(source));
            }
            (source, kind)
        }
        _ => return None,
    };
    if kind != "volume" || source.is_empty() {
        return None;
    }
    let options = named?.get(Value::from(source))?.get("driver_opts")?;
    let binds = options.get("o").and_then(Value::as_str).is_some_and(|o| o.split(',').any(|o| o.trim() == "bind"))
        || options.get("type").and_then(Value::as_str) == Some("none");
    let device = options.get("device").and_then(Value::as_str)?;
    binds.then(|| PathBuf::from(device))
}

enum Mount {
    Inside,
    Outside,
    Socket,
}

fn mount_verdict(source: &Path, root: &Path) -> Mount {
    if std::fs::metadata(source).is_ok_and(|m| m.file_type().is_socket()) {
        return Mount::Socket;
    }
    if is_inside(&source.to_string_lossy(), root) {
        Mount::Inside
    } else {
        Mount::Outside
    }
}

/// Whether `path` (absolute, possibly not existing yet: compose creates missing bind sources)
/// is `root` or below it once symlinks are followed. The longest existing ancestor is
/// resolved; the rest must hold no `..`.
fn is_inside(path: &str, root: &Path) -> bool {
    let path = Path::new(path);
    if !path.is_absolute() {
        return false;
    }
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    while !existing.exists() {
        let Some(name) = existing.file_name() else { return false };
        rest.push(name.to_owned());
        if !existing.pop() {
            return false;
        }
    }
    let Ok(mut resolved) = existing.canonicalize() else { return false };
    for name in rest.into_iter().rev() {
        if Path::new(&name).components().any(|c| !matches!(c, Component::Normal(_))) {
            return false;
        }
        resolved.push(name);
    }
    resolved.starts_with(root)
}

/// The main build context (`build: <path>` or `build.context`).
fn build_context(build: &Value) -> Option<String> {
    match build {
        Value::String(context) => Some(context.clone()),
        _ => build.get("context").and_then(Value::as_str).map(str::to_owned),
    }
}

/// Every context of a build, as `(key, context)`: the main one and `additional_contexts`
/// (values that are paths or URLs; `docker-image://` and `service:` references name images,
/// not folders, and are skipped).
fn build_contexts(build: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = build_context(build).map(|c| ("build.context".to_owned(), c)).into_iter().collect();
    let extra = build.get("additional_contexts");
    let pairs: Vec<String> = match extra {
        Some(Value::Mapping(map)) => map.values().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        Some(Value::Sequence(seq)) => {
            seq.iter().filter_map(|v| v.as_str()).filter_map(|s| s.split_once('=').map(|(_, v)| v.to_owned())).collect()
        }
        _ => Vec::new(),
    };
    for context in pairs {
        if !(context.starts_with("docker-image://") || context.starts_with("service:")) {
            out.push(("build.additional_contexts".to_owned(), context));
        }
    }
    out
}

#[cfg(test)]
mod tests;
