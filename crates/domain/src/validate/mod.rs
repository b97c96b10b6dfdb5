//! The validation layer: raw strings become domain types here, or a [`ValidationError`] that
//! names the field and says what is wrong.
//!
//! Rules are deliberately narrow (allow-lists of characters, bounded lengths) because values
//! travel on to compose project names, hostnames and file paths.

mod names;

pub use names::{Description, GithubLogin, ProjectName, Subdomain};

/// A value that failed validation: `field` is the JSON field name as the client sent it,
/// `message` says what is wrong in words a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: String,
    pub message: String,
}

impl ValidationError {
    /// An error for `field` with `message`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }

    /// The same error reported under another field name (e.g. when a type is reused).
    pub fn for_field(mut self, field: impl Into<String>) -> Self {
        self.field = field.into();
        self
    }
}
