//! Processes of a job: argument lists only (never a shell), each in its own process group so
//! cancel and timeout kill everything it started.
//!
//! Every process a job starts carries `WARP_JOB_ID=<job id>` in its environment, which its own
//! children inherit (git's helpers, compose's plugins and builders). When a worker dies without
//! cleaning up (SIGKILL, a crash, the machine's OOM killer), its process groups live on; the
//! worker that recovers the job finds them by that variable in `/proc/<pid>/environ` and kills
//! them ([`kill_orphans`]) before the job is re-queued or failed. A variable survives where a
//! pid or process group would not be trustworthy: pids are reused, and a process may leave its
//! group with `setsid`.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use warp_events::logs::LogStream;

use crate::lines::LineSplitter;
use crate::log::JobLog;
use crate::JobFailure;

/// The environment variable naming the job a process belongs to.
pub const JOB_ID_ENV: &str = "WARP_JOB_ID";

/// Variables a job process inherits from the panel; everything else is cleared.
pub const INHERITED_ENV: &[&str] = &["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "DOCKER_HOST", "SSL_CERT_FILE", "SSL_CERT_DIR"];

/// A process to run: program, arguments, working directory and extra environment. Its
/// `Debug` output names the environment variables, never their values (they may hold
/// credentials).
#[derive(Clone)]
pub struct ProcessSpec {
    pub program: OsString,
    pub args: Vec<OsString>,
    pub cwd: Option<PathBuf>,
    pub env: Vec<(OsString, OsString)>,
}

impl std::fmt::Debug for ProcessSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let env: Vec<_> = self.env.iter().map(|(k, _)| k).collect();
        f.debug_struct("ProcessSpec").field("program", &self.program).field("args", &self.args).field("cwd", &self.cwd).field("env", &env).finish()
    }
}

impl ProcessSpec {
    /// `program` with `args`, in the current directory, with the panel's environment.
    pub fn new<I, A>(program: impl Into<OsString>, args: I) -> Self
    where
        I: IntoIterator<Item = A>,
        A: Into<OsString>,
    {
        Self { program: program.into(), args: args.into_iter().map(Into::into).collect(), cwd: None, env: Vec::new() }
    }

    /// Runs in `dir`.
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// Adds one environment variable.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }
}

/// What supervises one process: the job it belongs to, its log, its cancel and the grace
/// period between SIGTERM and SIGKILL.
#[derive(Clone, Copy)]
pub struct Supervision<'a> {
    pub job_id: Uuid,
    pub log: &'a JobLog,
    pub cancel: &'a CancellationToken,
    pub grace: Duration,
}

/// Runs `spec` with a cleared environment (only [`INHERITED_ENV`], [`JOB_ID_ENV`] and
/// `spec.env`), logging its stdout and stderr line by line. When `cancel` trips, the process
/// group gets SIGTERM, then SIGKILL after `grace`, and the result is [`JobFailure::Stopped`].
/// When the process exits, whatever it left running in its group is killed too.
///
/// # Errors
/// [`JobFailure::Failed`] when the program cannot be started; [`JobFailure::Stopped`] on cancel.
pub async fn run(spec: &ProcessSpec, watch: Supervision<'_>) -> Result<ExitStatus, JobFailure> {
    run_with(spec, watch, false).await.map(|(status, _)| status)
}

/// Most stdout bytes [`run_captured`] keeps; more fails the run.
pub const MAX_CAPTURED: usize = 16 * 1024 * 1024;

/// Like [`run`], but stdout is returned instead of logged (it may hold values that must not
/// reach the job log, e.g. `compose config` output with the deploy env interpolated); stderr is
/// still logged line by line.
///
/// # Errors
/// As [`run`], and [`JobFailure::Failed`] when stdout passes [`MAX_CAPTURED`] bytes.
pub async fn run_captured(spec: &ProcessSpec, watch: Supervision<'_>) -> Result<(ExitStatus, Vec<u8>), JobFailure> {
    let (status, stdout) = run_with(spec, watch, true).await?;
    let stdout = stdout.unwrap_or_default();
    if stdout.len() > MAX_CAPTURED {
        let program = spec.program.to_string_lossy();
        return Err(JobFailure::failed(format!("{program} printed more than {MAX_CAPTURED} bytes")));
    }
    Ok((status, stdout))
}

async fn run_with(spec: &ProcessSpec, watch: Supervision<'_>, capture_stdout: bool) -> Result<(ExitStatus, Option<Vec<u8>>), JobFailure> {
    let Supervision { job_id, log, cancel, grace } = watch;
    let mut command = tokio::process::Command::new(&spec.program);
    command
        .args(&spec.args)
        // The panel's own environment holds its secrets (WARP_SECRET_KEY, the database URL):
        // a job gets only a small allow-list plus what its spec names.
        .env_clear()
        .envs(INHERITED_ENV.iter().filter_map(|key| std::env::var_os(key).map(|value| (*key, value))))
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .env(JOB_ID_ENV, job_id.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(dir) = &spec.cwd {
        command.current_dir(dir);
    }
    let program = spec.program.to_string_lossy().into_owned();
    let mut child = command
        .spawn()
        .map_err(|error| JobFailure::failed(format!("could not start {program}: {error}")))?;
    let group = child.id().map(|pid| Pid::from_raw(pid as i32));
    let (stdout, captured) = match child.stdout.take() {
        Some(out) if capture_stdout => (None, Some(tokio::spawn(collect(out)))),
        Some(out) => (Some(tokio::spawn(pump(out, log.clone(), LogStream::Stdout))), None),
        None => (None, None),
    };
    let stderr = child.stderr.take().map(|err| tokio::spawn(pump(err, log.clone(), LogStream::Stderr)));

    let outcome = tokio::select! {
        status = child.wait() => status.map_err(|e| JobFailure::failed(format!("waiting for {program}: {e}"))),
        _ = cancel.cancelled() => {
            signal_group(group, Signal::SIGTERM);
            tokio::select! {
                _ = child.wait() => {}
                _ = tokio::time::sleep(grace) => {
                    log.system(&format!("{program} did not stop within {} s of SIGTERM; sending SIGKILL", grace.as_secs()));
                    signal_group(group, Signal::SIGKILL);
                    let _ = child.wait().await;
                }
            }
            Err(JobFailure::Stopped)
        }
    };
    // Anything the process left behind in its group would keep our pipes open.
    signal_group(group, Signal::SIGKILL);
    for reader in [stdout, stderr].into_iter().flatten() {
        let _ = tokio::time::timeout(Duration::from_secs(5), reader).await;
    }
    let status = outcome?;
    let captured = match captured {
        Some(reader) => tokio::time::timeout(Duration::from_secs(5), reader).await.ok().and_then(Result::ok),
        None => None,
    };
    Ok((status, captured))
}

/// Reads `source` to the end, keeping at most one byte more than [`MAX_CAPTURED`].
async fn collect(source: impl AsyncRead + Unpin) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = source.take(MAX_CAPTURED as u64 + 1).read_to_end(&mut out).await;
    out
}

fn signal_group(group: Option<Pid>, signal: Signal) {
    if let Some(group) = group {
        // ESRCH (group already gone) is fine.
        let _ = killpg(group, signal);
    }
}

async fn pump(mut source: impl AsyncRead + Unpin, log: JobLog, stream: LogStream) {
    let mut splitter = LineSplitter::default();
    let mut buffer = vec![0u8; 8192];
    loop {
        match source.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                for line in splitter.push(&buffer[..n]) {
                    log.line(stream, &line);
                }
            }
        }
    }
    if let Some(line) = splitter.finish() {
        log.line(stream, &line);
    }
}

/// Kills (SIGKILL) every process on this machine whose environment says it belongs to job
/// `job_id` ([`JOB_ID_ENV`]), and returns how many there were. Used when a job is recovered
/// from a worker that died: whatever it started must not run on (a half-finished `compose up`,
/// a build). Processes whose environment cannot be read (another user's, or gone meanwhile)
/// are skipped; this process itself never matches.
pub fn kill_orphans(job_id: Uuid) -> usize {
    let needle = format!("{JOB_ID_ENV}={job_id}");
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else { return 0 };
    let mut killed = 0;
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<u32>().ok()) else { continue };
        if pid == me {
            continue;
        }
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else { continue };
        if environ.split(|b| *b == 0).any(|var| var == needle.as_bytes()) {
            let Ok(raw) = i32::try_from(pid) else { continue };
            if kill(Pid::from_raw(raw), Signal::SIGKILL).is_ok() {
                killed += 1;
            }
        }
    }
    killed
}
