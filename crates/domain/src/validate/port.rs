//! TCP/UDP ports.

use serde::{Deserialize, Serialize};

use super::ValidationError;

/// A port number, 1-65535 (0 means "any" to the kernel and is never a valid target).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "u16")]
pub struct Port(u16);

impl Port {
    /// The number.
    pub fn get(self) -> u16 {
        self.0
    }

    /// Parses a number (as JSON gives it) and reports problems under `field`.
    pub fn parse(field: &str, raw: i64) -> Result<Self, ValidationError> {
        match u16::try_from(raw) {
            Ok(port) if port >= 1 => Ok(Self(port)),
            _ => Err(ValidationError::new(field, format!("must be a port between 1 and 65535, got {raw}"))),
        }
    }

    /// Parses decimal text such as `"8080"` (no sign, no spaces) under `field`.
    pub fn parse_text(field: &str, raw: &str) -> Result<Self, ValidationError> {
        if raw.is_empty() || raw.len() > 5 || !raw.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValidationError::new(field, "must be a port number between 1 and 65535 (digits only)"));
        }
        Self::parse(field, raw.parse().unwrap_or(0))
    }
}

impl TryFrom<i64> for Port {
    type Error = ValidationError;

    fn try_from(value: i64) -> Result<Self, Self::Error> {
        Self::parse("port", value)
    }
}

impl From<Port> for u16 {
    fn from(value: Port) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_between_1_and_65535() {
        assert_eq!(Port::parse("port", 1).unwrap().get(), 1);
        assert_eq!(Port::parse("port", 65535).unwrap().get(), 65535);
        for bad in [0, -1, 65536, i64::MAX] {
            let error = Port::parse("host_port", bad).unwrap_err();
            assert_eq!(error.field, "host_port");
            assert!(error.message.contains("1 and 65535"), "{error}");
        }
    }

    #[test]
    fn port_text_is_digits_only() {
        assert_eq!(Port::parse_text("port", "8080").unwrap().get(), 8080);
        for bad in ["", "+80", " 80", "80 ", "0x50", "99999", "8080;id", "-1"] {
            assert!(Port::parse_text("port", bad).is_err(), "{bad:?}");
        }
    }
}
