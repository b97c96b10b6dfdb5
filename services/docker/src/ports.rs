//! Who holds a host port: running containers that publish it, and host processes listening on
//! it.
//!
//! - Containers come from the engine's container list (`GET /containers/json`, published ports
//!   only).
//! - Host listeners come from `/proc/net/{tcp,tcp6}` (state `LISTEN`) and `/proc/net/{udp,udp6}`
//!   (unconnected sockets), read in this process's network namespace: run the docker service in
//!   the host's namespace to see the host's listeners. Each socket's inode is matched against
//!   `/proc/<pid>/fd` to name its process; a process whose descriptors may not be read is
//!   reported without pid and command.
//! - Docker's userland proxy (`docker-proxy`) listens on every published port: where a listed
//!   container explains it, only the container is reported.
//!
//! The deploy executor calls [`holders`] per wanted port and keeps [`conflicts`].

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};

use bollard::query_parameters::ListContainersOptionsBuilder;
use procfs::net::{TcpState, UdpState};
use procfs::process::FDTarget;
use warp_events::docker::{DockerFailure, DockerFailureKind, PortHolder, PortProtocol};

use crate::client::{self, DockerClient, CALL_TIMEOUT};

/// Process name of Docker's userland proxy.
pub const DOCKER_PROXY: &str = "docker-proxy";

/// Every holder of `port`/`protocol` on this host: containers first (ordered by name), then
/// host processes (ordered by address and pid). Empty when the port is free.
///
/// # Errors
/// `bad_request` for port 0; `engine_unreachable` when the engine does not answer; `internal`
/// when `/proc/net` cannot be read.
pub async fn holders(client: &DockerClient, port: u16, protocol: PortProtocol) -> Result<Vec<PortHolder>, DockerFailure> {
    if port == 0 {
        return Err(crate::requests::bad_request("port must be between 1 and 65535".into()));
    }
    let containers = container_holders(client, port, protocol).await?;
    let processes = tokio::task::spawn_blocking(move || host_listeners(port, protocol))
        .await
        .map_err(|e| internal(format!("reading /proc/net panicked: {e}")))??;
    Ok(merge(containers, processes))
}

/// Whether two local addresses can clash on one port: a wildcard (`0.0.0.0`, `::`, or empty)
/// overlaps every address; otherwise only equal addresses overlap (`::ffff:a.b.c.d` equals
/// `a.b.c.d`).
pub fn addresses_overlap(a: &str, b: &str) -> bool {
    let (a, b) = (normalise(a), normalise(b));
    match (a, b) {
        (None, _) | (_, None) => true,
        (Some(a), Some(b)) => a == b,
    }
}

/// The holders that stand in the way of publishing the port on `address` for compose project
/// `own_project`: those whose address overlaps `address`, except containers of `own_project`
/// (its previous containers, replaced on redeploy).
pub fn conflicts(holders: &[PortHolder], own_project: Option<&str>, address: &str) -> Vec<PortHolder> {
    holders
        .iter()
        .filter(|holder| match holder {
            PortHolder::Container { compose_project, host_ip, .. } => {
                let own = own_project.is_some() && compose_project.as_deref() == own_project;
                !own && addresses_overlap(host_ip, address)
            }
            PortHolder::HostProcess { address: held, .. } => addresses_overlap(held, address),
        })
        .cloned()
        .collect()
}

/// `containers` followed by `processes`, leaving out `docker-proxy` listeners whose address
/// overlaps a listed container's.
pub fn merge(containers: Vec<PortHolder>, processes: Vec<PortHolder>) -> Vec<PortHolder> {
    let published: Vec<&str> = containers
        .iter()
        .filter_map(|c| match c {
            PortHolder::Container { host_ip, .. } => Some(host_ip.as_str()),
            PortHolder::HostProcess { .. } => None,
        })
        .collect();
    let explained = |holder: &PortHolder| match holder {
        PortHolder::HostProcess { address, command: Some(command), .. } if command == DOCKER_PROXY => {
            published.iter().any(|ip| addresses_overlap(ip, address))
        }
        _ => false,
    };
    let processes: Vec<PortHolder> = processes.into_iter().filter(|p| !explained(p)).collect();
    containers.into_iter().chain(processes).collect()
}

/// `None` for a wildcard, else the address (IPv4-mapped IPv6 as IPv4; unparsable text as is).
fn normalise(address: &str) -> Option<String> {
    let trimmed = address.trim().trim_start_matches('[').trim_end_matches(']');
    match trimmed.parse::<IpAddr>() {
        Ok(ip) => {
            let ip = canonical(ip);
            (!ip.is_unspecified()).then(|| ip.to_string())
        }
        Err(_) => (!trimmed.is_empty()).then(|| trimmed.to_owned()),
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// Running containers publishing `port`/`protocol`, one holder per host address.
async fn container_holders(client: &DockerClient, port: u16, protocol: PortProtocol) -> Result<Vec<PortHolder>, DockerFailure> {
    let docker = client.engine().await?;
    let options = ListContainersOptionsBuilder::default().all(false).build();
    let listed = match tokio::time::timeout(CALL_TIMEOUT, docker.list_containers(Some(options))).await {
        Err(_) => return Err(client.failure(bollard::errors::Error::RequestTimeoutError).await),
        Ok(Err(error)) => return Err(client.failure(error).await),
        Ok(Ok(listed)) => listed,
    };
    let mut holders = BTreeSet::new();
    for container in listed {
        let labels = container.labels.unwrap_or_default();
        let name = client::container_name(container.names.as_ref());
        for published in container.ports.unwrap_or_default() {
            let typ = published.typ.map_or_else(|| "tcp".to_owned(), |t| t.to_string());
            if published.public_port != Some(port) || typ != protocol.as_str() {
                continue;
            }
            holders.insert((
                name.clone(),
                published.ip.unwrap_or_default(),
                container.id.clone().unwrap_or_default(),
                labels.get("com.docker.compose.project").cloned(),
                labels.get("com.docker.compose.service").cloned(),
            ));
        }
    }
    Ok(holders
        .into_iter()
        .map(|(name, host_ip, id, compose_project, compose_service)| PortHolder::Container {
            id,
            name,
            compose_project,
            compose_service,
            host_ip,
        })
        .collect())
}

/// Sockets of this network namespace listening on `port`/`protocol`, with their processes.
fn host_listeners(port: u16, protocol: PortProtocol) -> Result<Vec<PortHolder>, DockerFailure> {
    let sockets = listening_sockets(port, protocol)?;
    if sockets.is_empty() {
        return Ok(Vec::new());
    }
    let owners = socket_owners(&sockets.iter().map(|(_, inode)| *inode).collect());
    let mut holders = BTreeSet::new();
    for (address, inode) in sockets {
        let owner = owners.get(&inode);
        holders.insert((address, owner.map(|o| o.0), owner.and_then(|o| o.1.clone())));
    }
    Ok(holders
        .into_iter()
        .map(|(address, pid, command)| PortHolder::HostProcess { address: address.to_string(), pid, command })
        .collect())
}

/// (local address, socket inode) of each listening socket on `port`.
fn listening_sockets(port: u16, protocol: PortProtocol) -> Result<Vec<(IpAddr, u64)>, DockerFailure> {
    let on_port = |local: SocketAddr| local.port() == port;
    let mut sockets = Vec::new();
    match protocol {
        PortProtocol::Tcp => {
            for table in [read_table("tcp", procfs::net::tcp())?, read_table("tcp6", procfs::net::tcp6())?] {
                sockets.extend(
                    table
                        .into_iter()
                        .filter(|s| s.state == TcpState::Listen && on_port(s.local_address))
                        .map(|s| (canonical(s.local_address.ip()), s.inode)),
                );
            }
        }
        PortProtocol::Udp => {
            for table in [read_table("udp", procfs::net::udp())?, read_table("udp6", procfs::net::udp6())?] {
                sockets.extend(
                    table
                        .into_iter()
                        .filter(|s| s.state == UdpState::Close && on_port(s.local_address))
                        .map(|s| (canonical(s.local_address.ip()), s.inode)),
                );
            }
        }
    }
    Ok(sockets)
}

/// A `/proc/net` table; a missing one (e.g. `tcp6` without IPv6) is empty.
fn read_table<T>(name: &str, table: procfs::ProcResult<Vec<T>>) -> Result<Vec<T>, DockerFailure> {
    match table {
        Ok(rows) => Ok(rows),
        Err(procfs::ProcError::NotFound(_)) => Ok(Vec::new()),
        Err(error) => Err(internal(format!("reading /proc/net/{name}: {error}"))),
    }
}

/// pid and process name owning each of `inodes`, for the processes whose `fd` folder may be
/// read (the lowest pid where several share a socket).
fn socket_owners(inodes: &BTreeSet<u64>) -> HashMap<u64, (u32, Option<String>)> {
    let mut owners = HashMap::new();
    let Ok(processes) = procfs::process::all_processes() else { return owners };
    for process in processes.flatten() {
        let Ok(fds) = process.fd() else { continue };
        for fd in fds.flatten() {
            if let FDTarget::Socket(inode) = fd.target {
                if inodes.contains(&inode) && !owners.contains_key(&inode) {
                    let command = process.stat().ok().map(|s| s.comm);
                    let pid = u32::try_from(process.pid()).unwrap_or_default();
                    owners.insert(inode, (pid, command));
                }
            }
        }
        if owners.len() == inodes.len() {
            break;
        }
    }
    owners
}

fn internal(message: String) -> DockerFailure {
    DockerFailure { kind: DockerFailureKind::Internal, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(project: Option<&str>, host_ip: &str) -> PortHolder {
        PortHolder::Container {
            id: "c1".into(),
            name: "web-1".into(),
            compose_project: project.map(Into::into),
            compose_service: Some("web".into()),
            host_ip: host_ip.into(),
        }
    }

    fn process(address: &str, command: &str) -> PortHolder {
        PortHolder::HostProcess { address: address.into(), pid: Some(42), command: Some(command.into()) }
    }

    #[test]
    fn wildcards_overlap_every_address_and_other_addresses_only_themselves() {
        for wildcard in ["0.0.0.0", "::", "", "[::]"] {
            for other in ["0.0.0.0", "::", "127.0.0.1", "::1", "10.1.2.3", ""] {
                assert!(addresses_overlap(wildcard, other), "{wildcard} vs {other}");
                assert!(addresses_overlap(other, wildcard), "{other} vs {wildcard}");
            }
        }
        assert!(addresses_overlap("127.0.0.1", "127.0.0.1"));
        assert!(addresses_overlap("::ffff:127.0.0.1", "127.0.0.1"));
        assert!(!addresses_overlap("127.0.0.1", "10.0.0.1"));
        assert!(!addresses_overlap("127.0.0.1", "::1"));
    }

    #[test]
    fn docker_proxy_is_left_out_where_a_container_publishes_the_port() {
        let merged = merge(vec![container(None, "0.0.0.0")], vec![process("0.0.0.0", DOCKER_PROXY), process("::1", "nginx")]);
        assert_eq!(merged, vec![container(None, "0.0.0.0"), process("::1", "nginx")]);
    }

    #[test]
    fn docker_proxy_without_a_listed_container_is_reported() {
        let merged = merge(vec![container(None, "127.0.0.1")], vec![process("10.0.0.1", DOCKER_PROXY)]);
        assert_eq!(merged, vec![container(None, "127.0.0.1"), process("10.0.0.1", DOCKER_PROXY)]);
        assert_eq!(merge(vec![], vec![process("::", DOCKER_PROXY)]), vec![process("::", DOCKER_PROXY)]);
    }

    #[test]
    fn own_previous_containers_and_other_addresses_are_not_conflicts() {
        let holders = vec![container(Some("shop"), "0.0.0.0"), container(Some("blog"), "127.0.0.1"), process("::1", "sshd")];
        assert_eq!(conflicts(&holders, Some("shop"), "0.0.0.0"), holders[1..].to_vec());
        assert_eq!(conflicts(&holders, Some("shop"), "10.0.0.1"), Vec::<PortHolder>::new());
        assert_eq!(conflicts(&holders, Some("blog"), "::1"), vec![container(Some("shop"), "0.0.0.0"), process("::1", "sshd")]);
        assert_eq!(conflicts(&holders, None, "127.0.0.1").len(), 2, "unlabelled projects own nothing");
    }
}
