use super::*;

/// A project folder of its own, removed at the end.
struct Folder(PathBuf);

impl Folder {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("warp-policy-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(dir.join("src")).unwrap();
        Self(dir.canonicalize().unwrap())
    }

    fn src(&self) -> PathBuf {
        self.0.join("src")
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The violations of a model whose one service `web` is `service` (YAML, `{SRC}` replaced
/// by the source folder).
fn violations(folder: &Folder, service: &str, extra: &str) -> Vec<String> {
    violations_with(folder, service, extra, &BTreeSet::new())
}

fn violations_with(folder: &Folder, service: &str, extra: &str, allowed: &BTreeSet<ComposeRule>) -> Vec<String> {
    let src = folder.src().display().to_string();
    let yaml = format!("services:\n  web:\n    image: busybox\n{}\n{}", service.replace("{SRC}", &src), extra.replace("{SRC}", &src));
    let model: Value = serde_norway::from_str(&yaml).unwrap();
    check(&model, &folder.src(), allowed).into_iter().map(|v| v.to_string()).collect()
}

#[test]
fn a_plain_service_with_its_own_folder_mounted_passes() {
    let f = Folder::new();
    let service = "    volumes:\n    - {SRC}/data:/data:rw\n    - cache:/cache:rw\n    - type: bind\n      source: {SRC}/conf\n      target: /conf\n    - type: tmpfs\n      target: /tmp\n    cap_add: [NET_BIND_SERVICE, cap_chown]\n    security_opt: ['no-new-privileges:true']\n    network_mode: service:db\n    build:\n      context: {SRC}\n      dockerfile: Dockerfile";
    assert_eq!(violations(&f, service, "volumes:\n  cache: {}"), Vec::<String>::new());
}

#[test]
fn privileged_is_refused_naming_the_service_and_key() {
    let f = Folder::new();
    assert_eq!(violations(&f, "    privileged: true", ""), ["service web: privileged: privileged: true (rule privileged)"]);
}

#[test]
fn capabilities_beyond_dockers_defaults_are_refused() {
    let f = Folder::new();
    let found = violations(&f, "    cap_add: [SYS_ADMIN, ALL, CAP_NET_ADMIN, KILL]", "");
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(found[0].contains("cap_add: capability SYS_ADMIN (rule cap_add)"), "{found:?}");
}

#[test]
fn devices_and_device_rules_are_refused() {
    let f = Folder::new();
    let found = violations(&f, "    devices: ['/dev/sda:/dev/sda']\n    device_cgroup_rules: ['c 1:3 mr']", "");
    assert_eq!(found, ["service web: devices: devices /dev/sda:/dev/sda (rule devices)", "service web: device_cgroup_rules: device_cgroup_rules c 1:3 mr (rule devices)"]);
}

#[test]
fn host_namespaces_and_other_containers_namespaces_are_refused() {
    let f = Folder::new();
    for key in ["network_mode", "pid", "ipc", "uts", "userns_mode", "cgroup"] {
        let found = violations(&f, &format!("    {key}: host"), "");
        assert_eq!(found, [format!("service web: {key}: {key}: host (rule host_namespaces)")]);
    }
    let found = violations(&f, "    network_mode: container:panel-postgres\n    volumes_from: ['container:panel-api']", "");
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].contains("joins container panel-postgres"), "{found:?}");
    assert!(violations(&f, "    ipc: shareable\n    pid: service:db", "").is_empty());
}

#[test]
fn security_options_that_unconfine_are_refused_in_either_spelling() {
    let f = Folder::new();
    let found = violations(&f, "    security_opt: ['seccomp:unconfined', 'apparmor=unconfined', 'label:disable', 'systempaths=unconfined']", "");
    assert_eq!(found.len(), 4, "{found:?}");
}

#[test]
fn bind_mounts_outside_the_folder_are_refused_in_short_long_and_named_volume_syntax() {
    let f = Folder::new();
    let short = violations(&f, "    volumes: ['/:/host:rw']", "");
    assert_eq!(short, ["service web: volumes: bind mount of / (outside the project folder) (rule bind_mounts)"]);
    let long = violations(&f, "    volumes:\n    - type: bind\n      source: /etc\n      target: /etc", "");
    assert_eq!(long, ["service web: volumes: bind mount of /etc (outside the project folder) (rule bind_mounts)"]);
    let named = violations(&f, "    volumes: ['data:/data:rw']", "volumes:\n  data:\n    driver_opts: {type: none, o: bind, device: /root}");
    assert_eq!(named, ["service web: volumes: bind mount of /root (outside the project folder) (rule bind_mounts)"]);
    let dotdot = violations(&f, "    volumes: ['{SRC}/missing/../../../etc:/x:rw']", "");
    assert_eq!(dotdot.len(), 1, "a path that does not exist yet may not climb out: {dotdot:?}");
}

#[test]
fn a_symlink_inside_the_folder_that_points_out_is_followed_and_refused() {
    let f = Folder::new();
    std::os::unix::fs::symlink("/etc", f.src().join("etc")).unwrap();
    let found = violations(&f, "    volumes: ['{SRC}/etc:/etc:ro']", "");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("(rule bind_mounts)"), "{found:?}");
}

#[test]
fn a_unix_socket_is_never_mounted_even_from_inside_the_folder() {
    let f = Folder::new();
    let _listener = std::os::unix::net::UnixListener::bind(f.src().join("docker.sock")).unwrap();
    let found = violations(&f, "    volumes: ['{SRC}/docker.sock:/var/run/docker.sock']", "");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("bind mount of the socket") && found[0].contains("(rule docker_socket)"), "{found:?}");
}

#[test]
fn build_contexts_and_dockerfiles_outside_the_folder_are_refused() {
    let f = Folder::new();
    assert_eq!(violations(&f, "    build: {context: /etc}", "").len(), 1);
    assert_eq!(violations(&f, "    build: {context: 'https://github.com/evil/repo.git'}", "").len(), 1);
    assert_eq!(violations(&f, "    build: {context: '{SRC}', dockerfile: ../../../etc/Dockerfile}", "").len(), 1);
    let extra = violations(&f, "    build:\n      context: '{SRC}'\n      additional_contexts: {secrets: /root, base: 'docker-image://busybox'}", "");
    assert_eq!(extra, ["service web: build.additional_contexts: build context /root is not inside the project folder (rule build_context)"]);
}

#[test]
fn an_admin_exception_lifts_exactly_its_rule() {
    let f = Folder::new();
    let allowed = BTreeSet::from([ComposeRule::Privileged]);
    let found = violations_with(&f, "    privileged: true\n    pid: host", "", &allowed);
    assert_eq!(found, ["service web: pid: pid: host (rule host_namespaces)"]);
}

#[test]
fn build_tags_are_the_images_named_beside_a_build() {
    let model: Value = serde_norway::from_str("services:\n  a: {build: ., image: 'postgres:16'}\n  b: {image: nginx}\n  c: {build: .}").unwrap();
    assert_eq!(build_tags(&model), [("a".to_owned(), "postgres:16".to_owned())]);
}
