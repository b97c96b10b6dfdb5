//! The `events` table as a `cqrs-es` event repository: reads through `postgres-es`, appends in
//! one statement.
//!
//! `postgres-es` appends a command's events in a transaction of its own: `BEGIN`, one `INSERT`
//! per event, `COMMIT`, three round trips or more for every command. A single `INSERT` is
//! atomic by itself, so [`EventRepository::persist`] writes all of a command's events with one
//! statement and no explicit transaction: either every event (with its outbox row and
//! `NOTIFY`, written by the `events` triggers) commits, or none does. Reads, replays and
//! snapshots are `postgres-es`' own ([`PostgresEventRepository`]).
//!
//! Errors: a unique violation of the `events` primary key (another command appended the same
//! aggregate sequence first) is [`PersistenceError::OptimisticLockError`], which `cqrs-es`
//! reports as `AggregateConflict`; connection failures are `ConnectionError`; anything else
//! is `UnknownError`.

use cqrs_es::persist::{PersistedEventRepository, PersistenceError, ReplayStream, SerializedEvent, SerializedSnapshot};
use cqrs_es::Aggregate;
use postgres_es::PostgresEventRepository;
use serde_json::Value;
use sqlx::PgPool;

/// The constraint whose violation means "this aggregate sequence is taken".
const SEQUENCE_TAKEN: &str = "events_pkey";

/// Event repository on the `events` table of `pool` (see the module docs).
pub struct EventRepository {
    pool: PgPool,
    reads: PostgresEventRepository,
}

impl EventRepository {
    /// A repository on `pool`.
    pub fn new(pool: PgPool) -> Self {
        Self { reads: PostgresEventRepository::new(pool.clone()), pool }
    }

    /// Appends `events` (in order: their `global_position`s follow the slice) in one statement.
    async fn append(&self, events: &[SerializedEvent]) -> Result<(), PersistenceError> {
        let texts = |field: fn(&SerializedEvent) -> &str| events.iter().map(|e| field(e).to_owned()).collect::<Vec<String>>();
        let json = |field: fn(&SerializedEvent) -> &Value| events.iter().map(|e| field(e).to_string()).collect::<Vec<String>>();
        let sequences: Vec<i64> = events
            .iter()
            .map(|e| i64::try_from(e.sequence))
            .collect::<Result<_, _>>()
            .map_err(|e| PersistenceError::UnknownError(Box::new(e)))?;
        sqlx::query(
            "insert into events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata)
             select aggregate_type, aggregate_id, sequence, event_type, event_version, payload::json, metadata::json
               from unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[])
                    with ordinality as e(aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata, nth)
              order by nth",
        )
        .bind(texts(|e| &e.aggregate_type))
        .bind(texts(|e| &e.aggregate_id))
        .bind(sequences)
        .bind(texts(|e| &e.event_type))
        .bind(texts(|e| &e.event_version))
        .bind(json(|e| &e.payload))
        .bind(json(|e| &e.metadata))
        .execute(&self.pool)
        .await
        .map_err(persistence_error)?;
        Ok(())
    }
}

impl PersistedEventRepository for EventRepository {
    async fn get_events<A: Aggregate>(&self, aggregate_id: &str) -> Result<Vec<SerializedEvent>, PersistenceError> {
        self.reads.get_events::<A>(aggregate_id).await
    }

    async fn get_last_events<A: Aggregate>(&self, aggregate_id: &str, last_sequence: usize) -> Result<Vec<SerializedEvent>, PersistenceError> {
        self.reads.get_last_events::<A>(aggregate_id, last_sequence).await
    }

    async fn get_snapshot<A: Aggregate>(&self, aggregate_id: &str) -> Result<Option<SerializedSnapshot>, PersistenceError> {
        self.reads.get_snapshot::<A>(aggregate_id).await
    }

    /// Appends `events` in one statement. A snapshot update (none of the panel's frameworks
    /// keeps snapshots) goes to `postgres-es`, which writes events and snapshot in one
    /// transaction.
    async fn persist<A: Aggregate>(&self, events: &[SerializedEvent], snapshot_update: Option<(String, Value, usize)>) -> Result<(), PersistenceError> {
        match snapshot_update {
            Some(_) => self.reads.persist::<A>(events, snapshot_update).await,
            None if events.is_empty() => Ok(()),
            None => self.append(events).await,
        }
    }

    async fn stream_events<A: Aggregate>(&self, aggregate_id: &str) -> Result<ReplayStream, PersistenceError> {
        self.reads.stream_events::<A>(aggregate_id).await
    }

    async fn stream_all_events<A: Aggregate>(&self) -> Result<ReplayStream, PersistenceError> {
        self.reads.stream_all_events::<A>().await
    }
}

/// The `cqrs-es` error for a failed append (see the module docs).
fn persistence_error(error: sqlx::Error) -> PersistenceError {
    match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() && db.constraint() == Some(SEQUENCE_TAKEN) => {
            PersistenceError::OptimisticLockError
        }
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => {
            PersistenceError::ConnectionError(Box::new(error))
        }
        _ => PersistenceError::UnknownError(Box::new(error)),
    }
}
