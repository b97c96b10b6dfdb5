-- The audit trail has one key: the event's global position. The second unique key on
-- (aggregate_type, aggregate_id, sequence) repeated what the event store already guarantees
-- for `events` (one row per position, and one per aggregate sequence), and maintaining it
-- was a sixth index on every audit insert: the live consumer and the rebuild both got slower
-- for no rule of their own.
alter table audit_log drop constraint if exists audit_log_aggregate_type_aggregate_id_sequence_key;
