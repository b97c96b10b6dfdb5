//! Cloudflare identifiers: account and zone ids, tunnel ids and names.

use serde::{Deserialize, Serialize};

use super::ValidationError;

/// A Cloudflare account or zone id: 32 lower-case hex digits, as the dashboard and API show them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CloudflareId(String);

impl CloudflareId {
    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses `raw` (upper-case hex is lower-cased) and reports problems under `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        let id = raw.to_ascii_lowercase();
        if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Self(id))
        } else {
            Err(ValidationError::new(field, "must be a Cloudflare id: 32 hex digits"))
        }
    }
}

impl TryFrom<String> for CloudflareId {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("cloudflare_id", &value)
    }
}

impl From<CloudflareId> for String {
    fn from(value: CloudflareId) -> Self {
        value.0
    }
}

/// A Cloudflare Tunnel id: a UUID in its hyphenated lower-case form
/// (`6ff42ae2-765d-4adf-8112-31c55c1551ef`), the first label of `<id>.cfargotunnel.com`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TunnelId(String);

impl TunnelId {
    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses `raw` and reports problems under `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        let id = raw.to_ascii_lowercase();
        let groups: Vec<&str> = id.split('-').collect();
        let shape = [8, 4, 4, 4, 12];
        let ok = groups.len() == 5
            && groups.iter().zip(shape).all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()));
        if ok {
            Ok(Self(id))
        } else {
            Err(ValidationError::new(field, "must be a tunnel id: a UUID such as 6ff42ae2-765d-4adf-8112-31c55c1551ef"))
        }
    }
}

impl TryFrom<String> for TunnelId {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("tunnel_id", &value)
    }
}

impl From<TunnelId> for String {
    fn from(value: TunnelId) -> Self {
        value.0
    }
}

/// A tunnel name (`cloudflared tunnel create <name>`): 1-64 ASCII letters, digits, `.`, `_` or
/// `-`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TunnelName(String);

impl TunnelName {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses `raw` and reports problems under `field`.
    pub fn parse(field: &str, raw: &str) -> Result<Self, ValidationError> {
        let first_ok = raw.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
        let rest_ok = raw.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if raw.len() <= 64 && first_ok && rest_ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ValidationError::new(
                field,
                "must be a tunnel name: 1-64 ASCII letters, digits, '.', '_' or '-', starting with a letter or digit",
            ))
        }
    }
}

impl TryFrom<String> for TunnelName {
    type Error = ValidationError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse("tunnel_name", &value)
    }
}

impl From<TunnelName> for String {
    fn from(value: TunnelName) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloudflare_ids_are_32_hex_digits() {
        assert_eq!(CloudflareId::parse("zone_id", &"AB".repeat(16)).unwrap().as_str(), "ab".repeat(16));
        for bad in [String::new(), "a".repeat(31), "g".repeat(32), format!("{};x", "a".repeat(30))] {
            assert_eq!(CloudflareId::parse("zone_id", &bad).expect_err(&bad).field, "zone_id");
        }
    }

    #[test]
    fn tunnel_ids_are_uuids_and_tunnel_names_are_plain() {
        assert!(TunnelId::parse("tunnel_id", "6FF42AE2-765d-4adf-8112-31c55c1551ef").is_ok());
        for bad in ["", "6ff42ae2765d4adf811231c55c1551ef", "6ff42ae2-765d-4adf-8112-31c55c1551eg", "../x"] {
            assert!(TunnelId::parse("tunnel_id", bad).is_err(), "{bad}");
        }
        assert!(TunnelName::parse("tunnel_name", "warp-home.1").is_ok());
        for bad in ["", "-x", "a b", "a/b", "a;b", &"a".repeat(65)] {
            assert!(TunnelName::parse("tunnel_name", bad).is_err(), "{bad}");
        }
    }
}
