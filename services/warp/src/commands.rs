//! What each subcommand does.

use std::time::Duration;

use anyhow::Context;
use sqlx::PgPool;
use warp_consumer_kit::ConsumerOptions;
use warp_domain::validate::GithubLogin;
use warp_platform::nats_auth::{self, NatsScope, NatsUser, SERVICE_USERS};
use warp_platform::{db, nats, shutdown, Shutdown};
use warp_store::tokens::{self, Role};

use crate::cli::{ApiArgs, AuditAction, Cli, Command, TokenAction};

/// Runs the chosen subcommand.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Schema { out } => return write_schema(out),
        Command::NatsAuth { config_out, rotate, test_server } => {
            return write_nats_auth(&cli.nats, config_out, *rotate, *test_server)
        }
        // A Docker host's agent needs NATS and its engine only; with a database it also runs
        // the host's deploy jobs.
        Command::Docker { host, socket, jobs } => {
            let mut config = warp_docker::DockerConfig::from_args(host, socket)?;
            let client = cli.nats.connect(NatsUser::Docker).await?;
            let stop = shutdown::on_signals();
            if cli.database.database_url.is_none() {
                tracing::warn!("WARP_DATABASE_URL is not set: this docker service answers reads only and runs no deploy jobs");
                return warp_docker::run(client, config, stop).await;
            }
            let pool = db::connect(&cli.database).await?;
            warp_store::migrate::run(&pool).await?;
            let settings = crate::secrets::open_settings(&pool, &cli.secret_key, &cli.seed).await?;
            config.redactor = settings.redactor().clone();
            let job_config = warp_docker::JobsConfig::from_args(&config, jobs);
            let (d, j) = tokio::join!(
                stop_all_after(stop.clone(), warp_docker::run(client.clone(), config.clone(), stop.clone())),
                stop_all_after(
                    stop.clone(),
                    warp_docker::run_jobs(pool, client, cli.nats.names(), settings, &config, job_config, stop.clone())
                ),
            );
            return d.and(j);
        }
        _ => {}
    }
    let pool = db::connect(&cli.database).await?;
    warp_store::migrate::run(&pool).await?;
    let names = cli.nats.names();
    match cli.command {
        Command::Api(api) => {
            let settings = crate::secrets::open_settings(&pool, &cli.secret_key, &cli.seed).await?;
            let client = cli.nats.connect(NatsUser::Api).await?;
            let ports = panel_ports(&cli.database, &cli.nats, &api);
            serve_api(pool, client, names, settings, &api, ports, shutdown::on_signals()).await
        }
        Command::Relay(relay) => {
            let client = cli.nats.connect(NatsUser::Relay).await?;
            warp_relay::run(pool, client, names, &relay, shutdown::on_signals()).await
        }
        Command::ReadModels { action: None } => {
            let client = cli.nats.connect(NatsUser::ReadModels).await?;
            warp_read_models::run(pool, client, names, ConsumerOptions::default(), shutdown::on_signals()).await
        }
        Command::Cloudflare { host, args } => {
            let settings = crate::secrets::open_settings(&pool, &cli.secret_key, &cli.seed).await?;
            let client = cli.nats.connect(NatsUser::Cloudflare).await?;
            let config = warp_cloudflare::CloudflareConfig::from_args(&args, &host.host_name);
            warp_cloudflare::run(pool, client, names, settings, config, ConsumerOptions::default(), shutdown::on_signals()).await
        }
        Command::Github { args } => {
            let settings = crate::secrets::open_settings(&pool, &cli.secret_key, &cli.seed).await?;
            let client = cli.nats.connect(NatsUser::Github).await?;
            let config = warp_github::GithubConfig::from_args(&args);
            warp_github::run(pool, client, names, settings, config, ConsumerOptions::default(), shutdown::on_signals()).await
        }
        Command::Audit { action: AuditAction::Rebuild } => {
            let report = warp_store::projections::audit::rebuild(&pool).await?;
            println!(
                "rebuilt the audit trail from {} events in {} ms ({:.0} events/s)",
                report.events, report.duration_ms, report.events_per_second
            );
            Ok(())
        }
        Command::All { api, relay, docker_socket, jobs, cloudflare, github } => {
            let cloudflare = warp_cloudflare::CloudflareConfig::from_args(&cloudflare, &api.docker.host_name);
            let github = warp_github::GithubConfig::from_args(&github);
            let settings = crate::secrets::open_settings(&pool, &cli.secret_key, &cli.seed).await?;
            let mut docker = warp_docker::DockerConfig::from_args(&api.docker, &docker_socket)?;
            docker.redactor = settings.redactor().clone();
            let job_config = warp_docker::JobsConfig::from_args(&docker, &jobs);
            // One connection per service, each as its own NATS user: `warp all` has exactly
            // the rights of the services run apart.
            let api_nats = cli.nats.connect(NatsUser::Api).await?;
            let relay_nats = cli.nats.connect(NatsUser::Relay).await?;
            let read_models_nats = cli.nats.connect(NatsUser::ReadModels).await?;
            let docker_nats = cli.nats.connect(NatsUser::Docker).await?;
            let cloudflare_nats = cli.nats.connect(NatsUser::Cloudflare).await?;
            let github_nats = cli.nats.connect(NatsUser::Github).await?;
            let stop = shutdown::on_signals();
            // When one service stops (an error, or shutdown), stop the others too.
            let (a, r, p, c, g, d, j) = tokio::join!(
                stop_all_after(
                    stop.clone(),
                    serve_api(pool.clone(), api_nats, names.clone(), settings.clone(), &api, panel_ports(&cli.database, &cli.nats, &api), stop.clone())
                ),
                stop_all_after(stop.clone(), warp_relay::run(pool.clone(), relay_nats, names.clone(), &relay, stop.clone())),
                stop_all_after(
                    stop.clone(),
                    warp_read_models::run(pool.clone(), read_models_nats, names.clone(), ConsumerOptions::default(), stop.clone())
                ),
                stop_all_after(
                    stop.clone(),
                    warp_cloudflare::run(
                        pool.clone(),
                        cloudflare_nats,
                        names.clone(),
                        settings.clone(),
                        cloudflare,
                        ConsumerOptions::default(),
                        stop.clone()
                    )
                ),
                stop_all_after(
                    stop.clone(),
                    warp_github::run(pool.clone(), github_nats, names.clone(), settings.clone(), github, ConsumerOptions::default(), stop.clone())
                ),
                stop_all_after(stop.clone(), warp_docker::run(docker_nats.clone(), docker.clone(), stop.clone())),
                stop_all_after(
                    stop.clone(),
                    warp_docker::run_jobs(pool, docker_nats, names, settings, &docker, job_config, stop.clone())
                ),
            );
            a.and(r).and(p).and(c).and(g).and(d).and(j)
        }
        Command::Migrate => {
            let relay = async_nats::jetstream::new(cli.nats.connect(NatsUser::Relay).await?);
            nats::ensure_stream(&relay, &names, Duration::from_secs(30)).await?;
            println!("database migrated; jetstream stream {} applied", names.stream);
            for user in SERVICE_USERS.into_iter().filter(|user| !user.consumers().is_empty()) {
                match cli.nats.login(user) {
                    Ok(login) => {
                        let js = async_nats::jetstream::new(nats::connect(&cli.nats.nats_url, &login).await?);
                        nats::ensure_consumers(&js, &names, user.consumers(), Duration::from_secs(30)).await?;
                        println!("consumers {} applied as NATS user {}", user.consumers().join(", "), user.name());
                    }
                    Err(error) => eprintln!("consumers {} skipped: {error:#}", user.consumers().join(", ")),
                }
            }
            Ok(())
        }
        Command::Token { action } => token(&pool, action).await,
        Command::Secrets { action } => crate::secrets::run(&pool, &cli.secret_key, action).await,
        Command::DeadLetters { action: Some(crate::cli::DeadLetterAction::Retry { consumer, id }), .. } => {
            crate::operations::retry_dead_letters(&pool, consumer.as_deref(), id).await
        }
        Command::ReadModels { action: Some(crate::cli::ReadModelAction::Rebuild { only }) } => {
            crate::operations::rebuild_read_models(&pool, only.as_deref()).await
        }
        Command::Outbox { action } => crate::operations::outbox(&pool, action).await,
        Command::DeadLetters { action: None, consumer, limit } => {
            let letters = warp_consumer_kit::dead_letters::list(&pool, consumer.as_deref(), limit).await?;
            for letter in &letters {
                println!(
                    "{}\t{}\t{}\tseq={}\tdeliveries={}\t{}",
                    letter.created_at.to_rfc3339(),
                    letter.consumer,
                    letter.message_id.as_deref().unwrap_or("-"),
                    letter.stream_sequence,
                    letter.deliveries,
                    letter.error
                );
            }
            eprintln!("{} dead letter(s)", letters.len());
            Ok(())
        }
        Command::Schema { .. } | Command::Docker { .. } | Command::NatsAuth { .. } => unreachable!("handled above"),
    }
}

/// Runs `service`, then trips `stop` whatever the outcome.
async fn stop_all_after(stop: Shutdown, service: impl std::future::Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    let result = service.await;
    if let Err(error) = &result {
        tracing::error!(error = %format!("{error:#}"), "a service failed; stopping the others");
    }
    stop.cancel();
    result
}

async fn serve_api(
    pool: PgPool,
    client: async_nats::Client,
    names: warp_platform::NatsNames,
    settings: warp_store::settings::SettingsStore,
    api: &ApiArgs,
    panel_ports: Vec<u16>,
    stop: Shutdown,
) -> anyhow::Result<()> {
    // The API redacts container log lines again: it must know the deploy env values too.
    let env = warp_store::deploy_env::DeployEnvStore::new(pool.clone(), settings.keyring().clone());
    env.register_all(settings.redactor()).await?;
    let state = warp_api::AppState::new(pool, client, names, settings)
        .with_docker_host(api.docker.host_name.clone())
        .with_panel_ports(panel_ports);
    warp_api::serve(state, api.listen, stop).await
}

/// The ports of the panel itself: the API's listen port and the ports of the database and
/// NATS URLs (their scheme's default when the URL names none).
fn panel_ports(database: &warp_platform::DatabaseArgs, nats: &warp_platform::NatsArgs, api: &ApiArgs) -> Vec<u16> {
    let mut ports = vec![api.listen.port()];
    let urls = [database.database_url.as_ref().map(|u| u.expose().to_owned()), Some(nats.nats_url.clone())];
    for url in urls.into_iter().flatten() {
        for one in url.split(',') {
            if let Ok(parsed) = url::Url::parse(one.trim()) {
                let default = match parsed.scheme() {
                    "postgres" | "postgresql" => Some(5432),
                    "nats" | "tls" => Some(4222),
                    _ => None,
                };
                ports.extend(parsed.port().or(default));
            }
        }
    }
    ports.sort_unstable();
    ports.dedup();
    ports
}

async fn token(pool: &PgPool, action: TokenAction) -> anyhow::Result<()> {
    match action {
        TokenAction::Create { login, name, admin } => {
            let login = GithubLogin::try_from(login)?;
            let role = if admin { Role::Admin } else { Role::Member };
            let (info, secret) = tokens::create(pool, login.as_str(), &name, role).await?;
            eprintln!("token {} for {} ({}) created; it is shown once:", info.id, info.login, info.role.as_str());
            println!("{secret}");
            Ok(())
        }
        TokenAction::List { login } => {
            for t in tokens::list(pool, login.as_deref()).await? {
                let state = if t.revoked_at.is_some() { "revoked" } else { "active" };
                println!("{}\t{}\t{}\t{}\t{}\t{}", t.id, t.login, t.role.as_str(), t.name, state, t.created_at.to_rfc3339());
            }
            Ok(())
        }
        TokenAction::Revoke { id } => {
            if tokens::revoke(pool, id, None).await? {
                println!("token {id} revoked");
                Ok(())
            } else {
                anyhow::bail!("no live token with id {id}")
            }
        }
    }
}

/// `warp nats-auth`: seeds for every user (created when missing, or all new with `rotate`),
/// then the server config listing their public keys.
fn write_nats_auth(
    args: &warp_platform::NatsArgs,
    config_out: &std::path::Path,
    rotate: bool,
    test_server: bool,
) -> anyhow::Result<()> {
    let dir = args.keys_dir.as_deref().context("set WARP_NATS_KEYS_DIR (or --nats-keys-dir): the folder for the user seeds")?;
    let (scope, users) = if test_server {
        (NatsScope::test_server(), [SERVICE_USERS.as_slice(), &[NatsUser::Test]].concat())
    } else {
        (NatsScope::exact(&args.names()), SERVICE_USERS.to_vec())
    };
    let mut keys = Vec::new();
    for user in users {
        let seed = nats_auth::ensure_seed(dir, user, rotate)?;
        keys.push((user, nats_auth::public_key(&seed)?));
    }
    let config = nats_auth::server_config(&keys, &scope);
    let tmp = config_out.with_extension("tmp");
    std::fs::write(&tmp, config).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, config_out).with_context(|| format!("writing {}", config_out.display()))?;
    eprintln!(
        "wrote {} ({} users); seeds in {}{}",
        config_out.display(),
        keys.len(),
        dir.display(),
        if rotate { " (all new: reload the server and restart the services)" } else { "" }
    );
    Ok(())
}

fn write_schema(out: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    std::fs::write(out.join("events.schema.json"), warp_events::schema::events_schema_json())?;
    std::fs::write(out.join("openapi.json"), warp_api::openapi_json())?;
    println!("wrote {}/events.schema.json and {}/openapi.json", out.display(), out.display());
    Ok(())
}
