-- Outbox rows the relay can never publish (larger than NATS accepts) are set aside instead of
-- being retried forever: `stuck_at` says when. Later rows of the same aggregate wait behind
-- a stuck row (per-aggregate order); rows of other aggregates do not.
-- An operator may retry a stuck row (clear `stuck_at`) or skip it (`skipped_at`): a skipped
-- row is never published and its aggregate's later rows go on.
alter table event_outbox add column stuck_at timestamptz;
alter table event_outbox add column skipped_at timestamptz;
create index event_outbox_stuck on event_outbox (id)
    where stuck_at is not null and published_at is null and skipped_at is null;
