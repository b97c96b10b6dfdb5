//! Test helpers shared by every integration test binary.
//!
//! # Layout
//! - [`TestDb`]: a fresh Postgres database per test (dropped with it), copied from a template database that holds
//!   the current migrations (built once, under an advisory lock, so parallel test processes
//!   share it safely).
//! - [`TestNats`]: the shared NATS server (`WARP_NATS_URL`) with a stream name and subject
//!   prefix unique to the test, connected as the `test` user; [`TestNats::connect_as`] gives
//!   each service under test a connection as its own user (seeds from `WARP_NATS_KEYS_DIR`,
//!   written by `scripts/stack.sh`).
//! - [`NatsServer`]: a throwaway `nats-server` process (`WARP_NATS_SERVER_BIN`) that a test can
//!   stop and restart on the same port and store, with the same users and permissions.
//! - [`eventually`]: poll until a condition holds or fail with a message.
//! - [`docker`]: the locally built busybox fixture image and self-removing test containers on
//!   the real Docker Engine.
//! - [`git`]: an HTTPS git server (real TLS with its own CA, smart HTTP through
//!   `git http-backend`), fixture repos a test commits to, and plain fixture folders.
//! - [`compose_fixtures`]: Dockerfiles and compose files on the busybox image for deploy tests,
//!   and a cleanup guard for a compose project.
//! - [`fake_cloudflare`]: a local fake of the Cloudflare API (DNS records, tunnel, its
//!   configuration) with injectable faults and inspectable state.
//! - [`fake_github`]: a local GitHub (OAuth web flow with PKCE, `/user`, org membership)
//!   speaking GitHub's documented shapes and error answers.
//! - [`free_port`]: a port nothing listens on right now.
//!
//! Run the tests through `make test`, which starts Postgres and NATS and exports their URLs.

pub mod compose_fixtures;
pub mod docker;
pub mod fake_cloudflare;
pub mod fake_github;
pub mod git;

use std::future::Future;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool};
use warp_platform::nats_auth::{self, NatsScope, NatsUser, SERVICE_USERS};
use warp_platform::{NatsLogin, NatsNames};

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run the tests with `make test`"))
}

/// A database of its own for one test, with every migration applied.
///
/// Named `warp_test_<unix seconds>_<uuid>`. Dropping it drops the database (`with (force)`,
/// ending the connections the test's services still hold), unless `WARP_TEST_KEEP_DB=1` is
/// set, to look at it after a failure. Databases of test processes that were killed before
/// they could drop theirs are swept by the next [`TestDb::new`] once they are
/// [`STALE_AFTER`] old.
pub struct TestDb {
    pub pool: PgPool,
    pub url: String,
    pub name: String,
}

/// Age after which a test database nobody dropped is removed by the next [`TestDb::new`]:
/// longer than any test run (CI stops a run after 90 minutes).
pub const STALE_AFTER: Duration = Duration::from_secs(6 * 3600);

impl TestDb {
    /// Creates `warp_test_<unix seconds>_<uuid>` from the migrated template, after dropping
    /// test databases older than [`STALE_AFTER`].
    pub async fn new() -> Self {
        let admin_url = env("WARP_DATABASE_URL");
        let template = ensure_template(&admin_url).await;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock after 1970").as_secs();
        let name = format!("warp_test_{now}_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&admin_url).await.expect("connect to the admin database");
        sqlx::query("select pg_advisory_lock(7261)").execute(&mut admin).await.unwrap();
        sweep_stale(&mut admin, now).await;
        let created = sqlx::query(&format!("create database {name} template {template}")).execute(&mut admin).await;
        sqlx::query("select pg_advisory_unlock(7261)").execute(&mut admin).await.unwrap();
        created.expect("create the test database");
        let url = with_database(&admin_url, &name);
        let pool = PgPoolOptions::new().max_connections(10).connect(&url).await.expect("connect to the test database");
        Self { pool, url, name }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if std::env::var("WARP_TEST_KEEP_DB").is_ok_and(|v| v == "1") {
            return;
        }
        // Drop may run inside a runtime (end of a `#[tokio::test]`), where blocking on another
        // future is not allowed: drop the database from a thread with a runtime of its own.
        let name = self.name.clone();
        let admin_url = env("WARP_DATABASE_URL");
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&admin_url).await.ok()?;
                sqlx::query(&format!("drop database if exists {name} with (force)")).execute(&mut admin).await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("could not drop test database {}: the next run sweeps it once it is stale", self.name);
        }
    }
}

/// Drops `warp_test_<secs>_…` databases created more than [`STALE_AFTER`] before `now` (unix
/// seconds). Errors are ignored: a database that cannot be dropped now is tried again by the
/// next test. (Databases of the older `warp_test_<uuid>` naming are left alone: a checkout from
/// before this naming may be testing on them right now.)
async fn sweep_stale(admin: &mut PgConnection, now: u64) {
    let names: Vec<String> = sqlx::query_scalar("select datname from pg_database where datname like 'warp\\_test\\_%'")
        .fetch_all(&mut *admin)
        .await
        .unwrap_or_default();
    for name in names {
        let created = name.strip_prefix("warp_test_").and_then(|rest| rest.split_once('_')).and_then(|(secs, _)| secs.parse::<u64>().ok());
        if created.is_some_and(|created| now.saturating_sub(created) > STALE_AFTER.as_secs()) {
            let _ = sqlx::query(&format!("drop database if exists {name} with (force)")).execute(&mut *admin).await;
        }
    }
}

/// `url` with its database name replaced by `database`.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let base = base.rsplit_once('/').map_or(base, |(head, _)| head);
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

/// The name of a template database holding the current migrations; created if missing.
async fn ensure_template(admin_url: &str) -> String {
    let mut digest: u64 = 0xcbf2_9ce4_8422_2325;
    for migration in warp_store::migrate::MIGRATOR.iter() {
        for byte in migration.checksum.iter() {
            digest = (digest ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    let template = format!("warp_tpl_{digest:016x}");
    let mut admin = PgConnection::connect(admin_url).await.expect("connect to the admin database");
    sqlx::query("select pg_advisory_lock(7261)").execute(&mut admin).await.unwrap();
    let exists: bool = sqlx::query_scalar("select exists(select 1 from pg_database where datname = $1)")
        .bind(&template)
        .fetch_one(&mut admin)
        .await
        .unwrap();
    if !exists {
        let building = format!("{template}_building");
        sqlx::query(&format!("drop database if exists {building}")).execute(&mut admin).await.unwrap();
        sqlx::query(&format!("create database {building}")).execute(&mut admin).await.unwrap();
        // One plain connection, closed before the rename: a pool's connection can outlive
        // `Pool::close` (it is returned by a spawned task), and Postgres refuses to rename a
        // database somebody is connected to.
        let mut conn = PgConnection::connect(&with_database(admin_url, &building)).await.unwrap();
        warp_store::migrate::MIGRATOR.run(&mut conn).await.expect("migrate the template database");
        conn.close().await.unwrap();
        // The backend of the closed connection may still be exiting for a moment (55006
        // "being accessed by other users"): wait for it rather than fail the first test.
        let rename = format!("alter database {building} rename to {template}");
        let mut attempt = 0;
        while let Err(error) = sqlx::query(&rename).execute(&mut admin).await {
            let busy = error.as_database_error().and_then(|e| e.code()).is_some_and(|code| code == "55006");
            attempt += 1;
            assert!(busy && attempt < 100, "renaming the template database: {error}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
    sqlx::query("select pg_advisory_unlock(7261)").execute(&mut admin).await.unwrap();
    template
}

/// The folder of the NATS user seeds of the test stack (`WARP_NATS_KEYS_DIR`).
pub fn nats_keys_dir() -> PathBuf {
    PathBuf::from(env("WARP_NATS_KEYS_DIR"))
}

/// The login of `user` on the test stack's NATS servers.
pub fn nats_login(user: NatsUser) -> NatsLogin {
    let seed = nats_auth::read_seed(&nats_keys_dir(), user)
        .unwrap_or_else(|error| panic!("{error:#}: run the tests with `make test` (scripts/stack.sh writes the seeds)"));
    NatsLogin { user, seed }
}

/// The shared NATS server with names unique to this test.
pub struct TestNats {
    /// Connected as the `test` user, which may do anything: for the test's own setup and
    /// probes. Hand services [`TestNats::connect_as`] connections instead.
    pub client: async_nats::Client,
    pub js: async_nats::jetstream::Context,
    pub names: NatsNames,
    pub url: String,
}

impl TestNats {
    /// Connects to `WARP_NATS_URL` and picks a fresh stream name and subject prefix.
    pub async fn new() -> Self {
        Self::at(&env("WARP_NATS_URL")).await
    }

    /// Same, on the server at `url`.
    pub async fn at(url: &str) -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let names = NatsNames { stream: format!("T_{id}"), subject_prefix: format!("t{id}.events") };
        let client = warp_platform::nats::connect(url, &nats_login(NatsUser::Test)).await.expect("connect to nats");
        let js = async_nats::jetstream::new(client.clone());
        Self { client, js, names, url: url.to_owned() }
    }

    /// A connection to this server as `user`, with that user's permissions only.
    pub async fn connect_as(&self, user: NatsUser) -> async_nats::Client {
        warp_platform::nats::connect(&self.url, &nats_login(user)).await.expect("connect to nats")
    }

    /// Creates this test's stream and consumers.
    pub async fn apply_definitions(&self) {
        warp_platform::nats::apply_definitions(&self.js, &self.names, Duration::from_secs(20))
            .await
            .expect("apply jetstream definitions");
    }
}

impl Drop for TestNats {
    /// Deletes the test's stream (its messages and consumers), unless `WARP_TEST_KEEP_DB=1`:
    /// the shared server would otherwise keep every test's stream on disk and in memory.
    fn drop(&mut self) {
        if std::env::var("WARP_TEST_KEEP_DB").is_ok_and(|v| v == "1") {
            return;
        }
        // As for `TestDb`: a thread with a runtime of its own, since Drop may run inside one.
        let (url, stream) = (self.url.clone(), self.names.stream.clone());
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let client = warp_platform::nats::connect(&url, &nats_login(NatsUser::Test)).await.ok()?;
                let deleted = async_nats::jetstream::new(client.clone()).delete_stream(&stream).await.ok();
                let _ = client.drain().await;
                deleted
            })
        })
        .join();
    }
}

/// Returns once the server has processed everything `client` (a `test` user connection) sent
/// before, e.g. a probe's subscription: a message to a fresh subject of its own comes back.
/// (`flush` only writes the socket; NATS orders the messages of one connection only.)
pub async fn nats_round_trip(client: &async_nats::Client) {
    use futures::StreamExt;
    let subject = format!("warp.test.round-trip.{}", uuid::Uuid::new_v4().simple());
    let mut echo = client.subscribe(subject.clone()).await.expect("subscribe to the round trip");
    client.publish(subject, "".into()).await.expect("publish the round trip");
    tokio::time::timeout(Duration::from_secs(10), echo.next()).await.expect("the round trip comes back");
}

/// A `nats-server` process of the test's own, with JetStream and a store folder that survives
/// [`NatsServer::stop`] + [`NatsServer::start_again`]. It knows the same users, with the same
/// permissions, as the shared test server.
pub struct NatsServer {
    child: Option<Child>,
    pub port: u16,
    store: PathBuf,
    config: PathBuf,
}

impl NatsServer {
    /// Starts `WARP_NATS_SERVER_BIN` on a free port and waits until it accepts connections.
    pub async fn start() -> Self {
        let port = free_port();
        let root = std::env::temp_dir().join(format!("warp-nats-{}", uuid::Uuid::new_v4().simple()));
        let (store, config) = (root.join("store"), root.join("auth.conf"));
        std::fs::create_dir_all(&root).expect("create the nats-server folder");
        let users: Vec<_> = SERVICE_USERS
            .iter()
            .chain([&NatsUser::Test])
            .map(|user| (*user, nats_auth::public_key(&nats_login(*user).seed).expect("a valid seed")))
            .collect();
        std::fs::write(&config, nats_auth::server_config(&users, &NatsScope::test_server())).expect("write auth.conf");
        let mut server = Self { child: None, port, store, config };
        server.start_again().await;
        server
    }

    /// The client URL.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts the server again on the same port and store.
    pub async fn start_again(&mut self) {
        let child = Command::new(env("WARP_NATS_SERVER_BIN"))
            .arg("-c")
            .arg(&self.config)
            .args(["-js", "-a", "127.0.0.1", "-p", &self.port.to_string(), "-sd"])
            .arg(&self.store)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn nats-server");
        self.child = Some(child);
        eventually(Duration::from_secs(10), "nats-server accepts connections", || async {
            std::net::TcpStream::connect(("127.0.0.1", self.port)).ok().map(|_| ())
        })
        .await;
    }

    /// Kills the server (SIGKILL) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
        if let Some(root) = self.store.parent() {
            let _ = std::fs::remove_dir_all(root);
        }
    }
}

/// A TCP port on `127.0.0.1` that was free a moment ago (bind to port 0, read, release).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Polls `probe` every 20 ms until it returns `Some`, or panics after `timeout` naming `what`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting until {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
