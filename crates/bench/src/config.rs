//! The run's knobs, all from `WARP_BENCH_*` environment variables (documented in
//! `docs/BENCH.md`).

use std::path::PathBuf;

/// What one run measures and how much load it applies.
#[derive(Debug, Clone)]
pub struct Knobs {
    /// `WARP_BENCH_SCENARIOS`: comma-separated scenario numbers to run (default all, 1-7).
    pub scenarios: Vec<u8>,
    /// `WARP_BENCH_SECONDS`: seconds of load per concurrency level in scenario 1, for warp and
    /// for raw each (default 5).
    pub load_seconds: u64,
    /// `WARP_BENCH_LATENCY_SAMPLES`: commands timed one at a time in scenario 2 (default 200).
    pub latency_samples: usize,
    /// `WARP_BENCH_CATCHUP_EVENTS`: events appended while the read models are stopped (default
    /// 100000, scenario 3).
    pub catch_up_events: usize,
    /// `WARP_BENCH_CATCHUP_BUDGET`: longest wait for the catch-up, seconds (default 120).
    pub catch_up_budget: u64,
    /// `WARP_BENCH_REPLAY_EVENTS`: events the audit rebuild replays (default 200000, scenario 4).
    pub replay_events: usize,
    /// `WARP_BENCH_DEPLOY_RUNS`: deploys (and raw compose ups) in scenario 5 (default 5).
    pub deploy_runs: usize,
    /// `WARP_BENCH_LOG_SECONDS`: how long the log container writes in scenario 6 (default 30).
    pub log_seconds: u64,
    /// `WARP_BENCH_LOG_RATE`: lines per second it writes (default 1000).
    pub log_rate: u64,
    /// `WARP_BENCH_WARP_BIN`: the `warp` binary to start (default `warp` beside this binary,
    /// i.e. `target/release/warp`).
    pub warp_bin: PathBuf,
}

impl Knobs {
    /// Reads the environment; unparsable values fall back to the defaults.
    pub fn from_env() -> Self {
        let scenarios = std::env::var("WARP_BENCH_SCENARIOS")
            .ok()
            .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
            .unwrap_or_else(|| (1..=7).collect());
        let warp_bin = std::env::var_os("WARP_BENCH_WARP_BIN").map(PathBuf::from).unwrap_or_else(|| {
            let exe = std::env::current_exe().unwrap_or_default();
            exe.with_file_name("warp")
        });
        Self {
            scenarios,
            load_seconds: number("WARP_BENCH_SECONDS", 5),
            latency_samples: number("WARP_BENCH_LATENCY_SAMPLES", 200),
            catch_up_events: number("WARP_BENCH_CATCHUP_EVENTS", 100_000),
            catch_up_budget: number("WARP_BENCH_CATCHUP_BUDGET", 120),
            replay_events: number("WARP_BENCH_REPLAY_EVENTS", 200_000),
            deploy_runs: number("WARP_BENCH_DEPLOY_RUNS", 5),
            log_seconds: number("WARP_BENCH_LOG_SECONDS", 30),
            log_rate: number("WARP_BENCH_LOG_RATE", 1000),
            warp_bin,
        }
    }

    pub fn runs(&self, scenario: u8) -> bool {
        self.scenarios.contains(&scenario)
    }

    /// The knobs as JSON, for `results.json`.
    pub fn to_json(&self) -> serde_json::Map<String, serde_json::Value> {
        let value = serde_json::json!({
            "WARP_BENCH_SCENARIOS": self.scenarios,
            "WARP_BENCH_SECONDS": self.load_seconds,
            "WARP_BENCH_LATENCY_SAMPLES": self.latency_samples,
            "WARP_BENCH_CATCHUP_EVENTS": self.catch_up_events,
            "WARP_BENCH_CATCHUP_BUDGET": self.catch_up_budget,
            "WARP_BENCH_REPLAY_EVENTS": self.replay_events,
            "WARP_BENCH_DEPLOY_RUNS": self.deploy_runs,
            "WARP_BENCH_LOG_SECONDS": self.log_seconds,
            "WARP_BENCH_LOG_RATE": self.log_rate,
            "WARP_BENCH_WARP_BIN": self.warp_bin.display().to_string(),
        });
        match value {
            serde_json::Value::Object(map) => map,
            _ => unreachable!("a json object"),
        }
    }
}

fn number<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default)
}
