//! Operator commands that repair the pipeline: `warp dead-letters retry`,
//! `warp read-models rebuild` and `warp outbox stuck|retry|skip`.

use sqlx::PgPool;
use warp_consumer_kit::redrive::{self, Redriven};
use warp_store::outbox;
use warp_store::projections::rebuild::{self, READ_MODELS};

use crate::cli::OutboxAction;

/// Consumers whose handlers this binary can run, by durable name.
const CONSUMERS: [&str; 2] = ["audit", "projections"];

/// Re-drives the dead letters of `consumer` (every known consumer when `None`), or only `id`.
pub async fn retry_dead_letters(pool: &PgPool, consumer: Option<&str>, id: Option<i64>) -> anyhow::Result<()> {
    let consumers: Vec<&str> = match consumer {
        Some(name) if CONSUMERS.contains(&name) => vec![name],
        Some(name) => anyhow::bail!("unknown consumer {name:?}; known: {}", CONSUMERS.join(", ")),
        None => CONSUMERS.to_vec(),
    };
    let mut failed = 0;
    let mut total = 0;
    for name in consumers {
        let done = match name {
            "audit" => redrive::retry(pool, name, &warp_read_models::handlers::audit::AuditHandler, id).await?,
            _ => redrive::retry(pool, name, &warp_read_models::handlers::read_models::ReadModelsHandler, id).await?,
        };
        for (letter, outcome) in &done {
            let what = match outcome {
                Redriven::Applied => "applied".to_owned(),
                Redriven::AlreadyApplied => "already applied".to_owned(),
                Redriven::Failed(error) => {
                    failed += 1;
                    format!("failed again: {error}")
                }
            };
            println!("{}\t{}\t{}\t{what}", letter.id, letter.consumer, letter.message_id.as_deref().unwrap_or("-"));
        }
        total += done.len();
    }
    eprintln!("{total} dead letter(s) re-driven, {failed} failed again");
    if failed > 0 {
        anyhow::bail!("{failed} dead letter(s) still fail; see their errors with `warp dead-letters`");
    }
    Ok(())
}

/// Rebuilds `only` (every read model when `None`): the consumers' read models
/// ([`READ_MODELS`]) and `jobs`, which the database keeps in the appending transaction
/// (`warp_store::projections::jobs::rebuild`, one transaction).
pub async fn rebuild_read_models(pool: &PgPool, only: Option<&str>) -> anyhow::Result<()> {
    let models: Vec<_> = READ_MODELS.iter().filter(|m| only.is_none_or(|name| m.name == name)).collect();
    let jobs = only.is_none_or(|name| name == "jobs");
    if models.is_empty() && !jobs {
        let known: Vec<&str> = READ_MODELS.iter().map(|m| m.name).chain(["jobs"]).collect();
        anyhow::bail!("unknown read model {:?}; known: {}", only.unwrap_or_default(), known.join(", "));
    }
    if jobs {
        let started = std::time::Instant::now();
        let events = warp_store::projections::jobs::rebuild(pool).await?;
        println!("rebuilt the jobs read model from {events} events in {} ms", started.elapsed().as_millis());
    }
    for model in models {
        let report = rebuild::rebuild(pool, model).await?;
        println!(
            "rebuilt the {} read model from {} events in {} ms ({:.0} events/s)",
            model.name, report.events, report.duration_ms, report.events_per_second
        );
    }
    Ok(())
}

/// `warp outbox …`.
pub async fn outbox(pool: &PgPool, action: OutboxAction) -> anyhow::Result<()> {
    match action {
        OutboxAction::Stuck => {
            let rows = outbox::stuck(pool).await?;
            for row in &rows {
                println!(
                    "{}\t{}:{}:{}\t{}\t{} bytes\t{} waiting behind\t{}\t{}",
                    row.id,
                    row.aggregate_type,
                    row.aggregate_id,
                    row.sequence,
                    row.event_type,
                    row.payload_bytes,
                    row.waiting_behind,
                    row.stuck_at.to_rfc3339(),
                    row.last_error.as_deref().unwrap_or("-")
                );
            }
            eprintln!("{} stuck outbox row(s)", rows.len());
        }
        OutboxAction::Retry { id } => {
            let cleared = outbox::retry(pool, id).await?;
            println!("{cleared} stuck row(s) will be tried again");
        }
        OutboxAction::Skip { id } => {
            if !outbox::skip(pool, id).await? {
                anyhow::bail!("no stuck outbox row with id {id}");
            }
            println!("outbox row {id} skipped; run `warp read-models rebuild` and `warp audit rebuild`");
        }
    }
    Ok(())
}
