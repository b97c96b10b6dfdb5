//! The results of one run: rows of (scenario, figure, warp value, raw value), printed as a
//! Markdown table and written to `bench/results.json`.

use serde::Serialize;

/// Which way a figure is better, so the table can say how warp compares with raw.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    /// Rates: ratio = warp / raw (1.0 = as fast as raw).
    Higher,
    /// Times and sizes: ratio = warp / raw (1.0 = as quick as raw).
    Lower,
}

/// One figure of one scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// `1 throughput` … `7 memory`.
    pub scenario: String,
    /// What is measured, e.g. `POST /api/projects, concurrency 16`.
    pub figure: String,
    /// Unit of `warp` and `raw` (`req/s`, `ms`, `MiB`, `events/s`, `lines`).
    pub unit: String,
    /// The panel's value.
    pub warp: f64,
    /// The raw baseline measured in the same run, when the figure has one.
    pub raw: Option<f64>,
    /// What the raw baseline is.
    pub raw_what: String,
    pub better: Better,
    /// The target, in words (`≥ 50% of raw`, `p99 < 10 ms`).
    pub target: String,
    /// Whether the target was met (None: the figure has no target).
    pub met: Option<bool>,
}

impl Row {
    /// warp / raw, when there is a raw value that is not zero.
    pub fn ratio(&self) -> Option<f64> {
        self.raw.filter(|raw| *raw != 0.0).map(|raw| self.warp / raw)
    }
}

/// Every row of a run plus the machine it ran on.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// `nproc` of the machine.
    pub cores: usize,
    /// When the run started, RFC 3339.
    pub started_at: String,
    /// Knobs the run used (`WARP_BENCH_*` values).
    pub settings: serde_json::Map<String, serde_json::Value>,
    pub rows: Vec<Row>,
    /// Scenarios that failed to run, with the error.
    pub skipped: Vec<(String, String)>,
}

impl Report {
    pub fn push(&mut self, row: Row) {
        println!("  {} — {}: {} {} (raw {})", row.scenario, row.figure, number(row.warp), row.unit, row.raw.map_or("-".into(), number));
        self.rows.push(row);
    }

    /// The Markdown table of every row.
    pub fn table(&self) -> String {
        let mut out = format!("warp-bench on {} cores, started {}\n\n", self.cores, self.started_at);
        out.push_str("| scenario | figure | warp | raw | warp/raw | target | met |\n|---|---|---|---|---|---|---|\n");
        for row in &self.rows {
            let raw = row.raw.map_or("—".to_owned(), |raw| format!("{} ({})", number(raw), row.raw_what));
            let ratio = row.ratio().map_or("—".to_owned(), |r| format!("{r:.2}"));
            let met = match row.met {
                Some(true) => "yes",
                Some(false) => "no",
                None => "—",
            };
            out.push_str(&format!(
                "| {} | {} | {} {} | {raw} | {ratio} | {} | {met} |\n",
                row.scenario,
                row.figure,
                number(row.warp),
                row.unit,
                row.target
            ));
        }
        for (scenario, error) in &self.skipped {
            out.push_str(&format!("\nnot measured: {scenario}: {error}\n"));
        }
        out
    }
}

/// A number with at most one decimal, none above 100.
pub fn number(value: f64) -> String {
    if value.abs() >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}
