//! One change at a time per project, for the steps around a command that the aggregate cannot
//! guard alone (name and subdomain claims, deploy env values).
//!
//! A lock is a transaction-scoped advisory lock (`pg_advisory_xact_lock`) on a connection of
//! the pool, so it works across API processes and every connection stays inside the bounded
//! pool. Waiting happens in memory first: requests for the same project queue on an in-process
//! mutex, and at most [`ProjectLocks::max_held`] locks (connections) are held at once, so
//! hundreds of waiting requests never take the connections that the lock holders' own
//! commands, the relay and the consumers need.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use sqlx::{PgPool, Postgres, Transaction};
use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

/// Second argument of `hashtextextended` for project locks (keeps them apart from other
/// advisory locks of the panel).
const LOCK_SEED: i64 = 11;

/// The project locks of one process; cheap to clone.
#[derive(Clone)]
pub struct ProjectLocks {
    pool: PgPool,
    local: Arc<Mutex<HashMap<Uuid, Weak<tokio::sync::Mutex<()>>>>>,
    held: Arc<Semaphore>,
    max_held: usize,
}

impl ProjectLocks {
    /// Locks on `pool`: at most half of its connections (at least one) are held by locks. A
    /// lock holder needs one more connection for its command, so holders never take the whole
    /// pool and always make progress.
    pub fn new(pool: PgPool) -> Self {
        let max_held = (pool.options().get_max_connections() as usize / 2).max(1);
        Self { pool, local: Default::default(), held: Arc::new(Semaphore::new(max_held)), max_held }
    }

    /// Most locks held at once by this process (each holds one pooled connection).
    pub fn max_held(&self) -> usize {
        self.max_held
    }

    /// Waits for the lock of `project_id`. Released when the returned guard is dropped.
    ///
    /// # Errors
    /// When no pooled connection is available within the pool's acquire timeout, or Postgres
    /// refuses the lock.
    pub async fn acquire(&self, project_id: Uuid) -> sqlx::Result<ProjectLock> {
        let local = self.local_mutex(project_id).lock_owned().await;
        let permit = self.held.clone().acquire_owned().await.expect("the semaphore is never closed");
        let mut tx = self.pool.begin().await?;
        sqlx::query("select pg_advisory_xact_lock(hashtextextended($1, $2))")
            .bind(project_id.to_string())
            .bind(LOCK_SEED)
            .execute(&mut *tx)
            .await?;
        Ok(ProjectLock { tx: Some(tx), _permit: permit, _local: local })
    }

    fn local_mutex(&self, project_id: Uuid) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.local.lock().expect("the lock map is never poisoned");
        if let Some(existing) = map.get(&project_id).and_then(Weak::upgrade) {
            return existing;
        }
        map.retain(|_, weak| weak.strong_count() > 0);
        let mutex = Arc::new(tokio::sync::Mutex::new(()));
        map.insert(project_id, Arc::downgrade(&mutex));
        mutex
    }
}

/// A held project lock (see [`ProjectLocks::acquire`]).
pub struct ProjectLock {
    tx: Option<Transaction<'static, Postgres>>,
    _permit: OwnedSemaphorePermit,
    _local: OwnedMutexGuard<()>,
}

impl ProjectLock {
    /// Releases the lock now (ends its transaction); dropping the guard does the same.
    pub async fn release(mut self) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.rollback().await;
        }
    }
}
