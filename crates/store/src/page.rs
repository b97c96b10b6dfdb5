//! Cursor pagination: opaque-enough cursors over a monotonically ordered key.

/// Largest page any list endpoint returns.
pub const MAX_LIMIT: i64 = 500;
/// Page size when the client names none.
pub const DEFAULT_LIMIT: i64 = 50;

/// A page size clamped to `1..=MAX_LIMIT`.
pub fn clamp_limit(limit: Option<i64>) -> i64 {
    limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
}
