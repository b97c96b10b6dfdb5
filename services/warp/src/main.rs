//! `warp`: every Warp Panel service and operator command in one binary.
//!
//! Each service also runs alone (`warp api`, `warp relay`, `warp audit`) so it can be scaled
//! and restarted on its own; `warp all` runs them together in one process.

mod cli;
mod commands;
mod operations;
mod secrets;

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    warp_platform::telemetry::init(cli.log_format);
    match commands::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // Logs go to stderr too: one line is enough.
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
