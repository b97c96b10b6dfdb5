//! Rebuilds this crate when a migration is added, removed or changed: `sqlx::migrate!` embeds
//! the `migrations/` folder at compile time, and cargo would not notice a new file there
//! otherwise (sqlx's `migrate!` documentation, "triggering recompilation on migration changes").
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
