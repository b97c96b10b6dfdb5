//! What a compose file would run: its services and the host ports they publish, read from
//! `compose config` output (the file with env interpolated and defaults applied) with
//! `serde_norway`.

use std::collections::BTreeSet;

use serde_norway::Value;

/// A host port a service publishes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct WantedPort {
    pub service: String,
    /// Host address (`""` when compose binds every address).
    pub host_ip: String,
    pub port: u16,
    /// `tcp` or `udp`.
    pub protocol: String,
}

/// The services and published ports of a compose project.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub services: BTreeSet<String>,
    pub ports: Vec<WantedPort>,
}

/// Parses `compose config` output.
///
/// # Errors
/// A sentence when the YAML is not a compose model (no `services` mapping) or a port entry
/// cannot be read.
pub fn parse(yaml: &[u8]) -> Result<Plan, String> {
    from_model(&read_model(yaml)?)
}

/// `compose config` output as a YAML value.
///
/// # Errors
/// When it is not YAML.
pub fn read_model(yaml: &[u8]) -> Result<Value, String> {
    serde_norway::from_slice(yaml).map_err(|e| format!("reading compose config output: {e}"))
}

/// The plan of a compose model read with [`read_model`].
///
/// # Errors
/// As [`parse`].
pub fn from_model(model: &Value) -> Result<Plan, String> {
    let services = model
        .get("services")
        .and_then(Value::as_mapping)
        .ok_or("the compose file defines no services")?;
    let mut plan = Plan::default();
    for (name, service) in services {
        let name = name.as_str().ok_or("a service name is not text")?.to_owned();
        if let Some(ports) = service.get("ports").and_then(Value::as_sequence) {
            for entry in ports {
                plan.ports.extend(port_entry(&name, entry)?);
            }
        }
        plan.services.insert(name);
    }
    plan.ports.sort();
    plan.ports.dedup();
    Ok(plan)
}

/// One `ports:` entry: the short syntax (`"8080:80"`, `"127.0.0.1:8080:80/udp"`,
/// `"8000-8001:80-81"`, `"80"`) or the long syntax (`{target, published, host_ip, protocol}`).
/// Entries without a host port (compose picks an ephemeral one) publish nothing to check.
fn port_entry(service: &str, entry: &Value) -> Result<Vec<WantedPort>, String> {
    let bad = || format!("service {service}: cannot read port entry {entry:?}");
    let (host_ip, published, protocol) = match entry {
        Value::Mapping(_) => {
            let published = match entry.get("published") {
                None | Some(Value::Null) => return Ok(Vec::new()),
                Some(Value::Number(n)) => n.to_string(),
                Some(Value::String(s)) => s.clone(),
                Some(_) => return Err(bad()),
            };
            let host_ip = entry.get("host_ip").and_then(Value::as_str).unwrap_or_default().to_owned();
            let protocol = entry.get("protocol").and_then(Value::as_str).unwrap_or("tcp").to_owned();
            (host_ip, published, protocol)
        }
        Value::String(_) | Value::Number(_) => {
            let text = match entry {
                Value::Number(n) => n.to_string(),
                other => other.as_str().unwrap_or_default().to_owned(),
            };
            let (mapping, protocol) = text.split_once('/').map_or((text.as_str(), "tcp"), |(m, p)| (m, p));
            // The container port is last; an IPv6 host address is bracketed.
            let Some((host, _container)) = mapping.rsplit_once(':') else { return Ok(Vec::new()) };
            let (host_ip, published) = match host.rsplit_once(':') {
                Some((ip, port)) => (ip.trim_start_matches('[').trim_end_matches(']').to_owned(), port.to_owned()),
                None => (String::new(), host.to_owned()),
            };
            (host_ip, published, protocol.to_owned())
        }
        _ => return Err(bad()),
    };
    if published.is_empty() {
        return Ok(Vec::new());
    }
    let (first, last) = match published.split_once('-') {
        Some((a, b)) => (a.parse::<u16>().map_err(|_| bad())?, b.parse::<u16>().map_err(|_| bad())?),
        None => {
            let port = published.parse::<u16>().map_err(|_| bad())?;
            (port, port)
        }
    };
    if first == 0 || last < first {
        return Err(bad());
    }
    Ok((first..=last)
        .map(|port| WantedPort { service: service.to_owned(), host_ip: host_ip.clone(), port, protocol: protocol.clone() })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_port_syntax_give_the_host_ports() {
        let yaml = br#"
services:
  web:
    image: x
    ports:
      - "8080:80"
      - "127.0.0.1:8443:443/tcp"
      - "[::1]:9000:9000"
      - "8000-8001:80-81"
      - "5353:53/udp"
      - "3000"
  api:
    image: y
    ports:
      - target: 80
        published: "9090"
        host_ip: 0.0.0.0
        protocol: tcp
      - target: 81
        published: 9091
      - target: 82
  worker:
    image: z
"#;
        let plan = parse(yaml).unwrap();
        assert_eq!(plan.services.iter().map(String::as_str).collect::<Vec<_>>(), ["api", "web", "worker"]);
        let ports: Vec<_> = plan.ports.iter().map(|p| (p.service.as_str(), p.host_ip.as_str(), p.port, p.protocol.as_str())).collect();
        assert_eq!(
            ports,
            [
                ("api", "", 9091, "tcp"),
                ("api", "0.0.0.0", 9090, "tcp"),
                ("web", "", 5353, "udp"),
                ("web", "", 8000, "tcp"),
                ("web", "", 8001, "tcp"),
                ("web", "", 8080, "tcp"),
                ("web", "127.0.0.1", 8443, "tcp"),
                ("web", "::1", 9000, "tcp"),
            ]
        );
    }

    #[test]
    fn a_model_without_services_or_with_a_bad_port_is_refused() {
        assert!(parse(b"version: '3'\n").is_err());
        assert!(parse(b"services:\n  web:\n    ports: ['99999:80']\n").is_err());
    }
}
