//! What each subcommand does.

use std::time::Duration;

use anyhow::Context;
use sqlx::PgPool;
use warp_consumer_kit::ConsumerOptions;
use warp_domain::validate::GithubLogin;
use warp_platform::{db, nats, shutdown, Shutdown};
use warp_store::tokens::{self, Role};

use crate::cli::{ApiArgs, AuditAction, Cli, Command, TokenAction};

/// Runs the chosen subcommand.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Schema { out } => return write_schema(out),
        // A Docker host's agent needs NATS and its engine only; with a database it also runs
        // the host's deploy jobs.
        Command::Docker { host, socket, jobs } => {
            let mut config = warp_docker::DockerConfig::from_args(host, socket)?;
            let client = nats::connect(&cli.nats.nats_url, "warp-docker").await?;
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
            let client = nats::connect(&cli.nats.nats_url, "warp-api").await?;
            let ports = panel_ports(&cli.database, &cli.nats, &api);
            serve_api(pool, client, names, settings, &api, ports, shutdown::on_signals()).await
        }
        Command::Relay(relay) => {
            let client = nats::connect(&cli.nats.nats_url, "warp-relay").await?;
            warp_relay::run(pool, client, names, &relay, shutdown::on_signals()).await
        }
        Command::ReadModels { action: None } => {
            let client = nats::connect(&cli.nats.nats_url, "warp-read-models").await?;
            warp_read_models::run(pool, client, names, ConsumerOptions::default(), shutdown::on_signals()).await
        }
        Command::Cloudflare { host, args } => {
            let settings = crate::secrets::open_settings(&pool, &cli.secret_key, &cli.seed).await?;
            let client = nats::connect(&cli.nats.nats_url, "warp-cloudflare").await?;
            let config = warp_cloudflare::CloudflareConfig::from_args(&args, &host.host_name);
            warp_cloudflare::run(pool, client, names, settings, config, ConsumerOptions::default(), shutdown::on_signals()).await
        }
        Command::Audit { action: AuditAction::Rebuild } => {
            let report = warp_store::projections::audit::rebuild(&pool).await?;
            println!(
                "rebuilt the audit trail from {} events in {} ms ({:.0} events/s)",
                report.events, report.duration_ms, report.events_per_second
            );
            Ok(())
        }
        Command::All { api, relay, docker_socket, jobs, cloudflare } => {
            let cloudflare = warp_cloudflare::CloudflareConfig::from_args(&cloudflare, &api.docker.host_name);
            let settings = crate::secrets::open_settings(&pool, &cli.secret_key, &cli.seed).await?;
            let mut docker = warp_docker::DockerConfig::from_args(&api.docker, &docker_socket)?;
            docker.redactor = settings.redactor().clone();
            let job_config = warp_docker::JobsConfig::from_args(&docker, &jobs);
            let client = nats::connect(&cli.nats.nats_url, "warp").await?;
            let stop = shutdown::on_signals();
            // When one service stops (an error, or shutdown), stop the others too.
            let (a, r, p, d, j, c) = tokio::join!(
                stop_all_after(
                    stop.clone(),
                    serve_api(pool.clone(), client.clone(), names.clone(), settings.clone(), &api, panel_ports(&cli.database, &cli.nats, &api), stop.clone())
                ),
                stop_all_after(stop.clone(), warp_relay::run(pool.clone(), client.clone(), names.clone(), &relay, stop.clone())),
                stop_all_after(
                    stop.clone(),
                    warp_read_models::run(pool.clone(), client.clone(), names.clone(), ConsumerOptions::default(), stop.clone())
                ),
                stop_all_after(
                    stop.clone(),
                    warp_cloudflare::run(
                        pool.clone(),
                        client.clone(),
                        names.clone(),
                        settings.clone(),
                        cloudflare,
                        ConsumerOptions::default(),
                        stop.clone()
                    )
                ),
                stop_all_after(stop.clone(), warp_docker::run(client.clone(), docker.clone(), stop.clone())),
                stop_all_after(stop.clone(), warp_docker::run_jobs(pool, client, names, settings, &docker, job_config, stop.clone())),
            );
            a.and(r).and(p).and(d).and(j).and(c)
        }
        Command::Migrate => {
            let client = nats::connect(&cli.nats.nats_url, "warp-migrate").await?;
            let js = async_nats::jetstream::new(client);
            nats::apply_definitions(&js, &names, Duration::from_secs(30)).await?;
            println!("database migrated; jetstream stream {} and consumers applied", names.stream);
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
        Command::Schema { .. } | Command::Docker { .. } => unreachable!("handled above"),
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

fn write_schema(out: &std::path::Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    std::fs::write(out.join("events.schema.json"), warp_events::schema::events_schema_json())?;
    std::fs::write(out.join("openapi.json"), warp_api::openapi_json())?;
    println!("wrote {}/events.schema.json and {}/openapi.json", out.display(), out.display());
    Ok(())
}
