-- Event store (postgres-es layout) with a global position and record time, the transactional
-- outbox, the consumer inbox and dead letters, the first projections and API tokens.

-- postgres-es names its columns on insert, so the two extra columns fill themselves.
create table events (
    aggregate_type  text   not null,
    aggregate_id    text   not null,
    sequence        bigint not null check (sequence >= 0),
    event_type      text   not null,
    event_version   text   not null,
    payload         json   not null,
    metadata        json   not null,
    -- Handed out at insert, not at commit: a later commit can hold a lower number.
    global_position bigint generated always as identity,
    recorded_at     timestamptz not null default now(),
    primary key (aggregate_type, aggregate_id, sequence)
);
create unique index events_global_position on events (global_position);

create table snapshots (
    aggregate_type   text   not null,
    aggregate_id     text   not null,
    last_sequence    bigint not null check (last_sequence >= 0),
    current_snapshot bigint not null check (current_snapshot >= 0),
    payload          json   not null,
    primary key (aggregate_type, aggregate_id, last_sequence)
);

-- One row per event, written by trigger in the appending transaction. The relay publishes rows
-- with published_at null and records the JetStream sequence it got back.
create table event_outbox (
    id              bigint generated always as identity primary key,
    global_position bigint not null references events (global_position),
    published_at    timestamptz,
    stream_sequence bigint,
    attempts        integer not null default 0,
    last_error      text
);
create index event_outbox_pending on event_outbox (id) where published_at is null;
create index event_outbox_stream_sequence on event_outbox (stream_sequence) where stream_sequence is not null;

create function events_to_outbox() returns trigger
language plpgsql as $$
begin
    insert into event_outbox (global_position) values (new.global_position);
    perform pg_notify('warp_outbox', '');
    return null;
end;
$$;

create trigger events_to_outbox after insert on events
    for each row execute function events_to_outbox();

-- Consumer idempotency: a message id is processed once per consumer, in the same transaction
-- as the consumer's own effect.
create table consumer_inbox (
    consumer     text not null,
    message_id   text not null,
    processed_at timestamptz not null default now(),
    primary key (consumer, message_id)
);

-- Messages a consumer gave up on after its max deliveries (or could not parse at all).
create table dead_letters (
    id              bigint generated always as identity primary key,
    consumer        text   not null,
    message_id      text,
    subject         text   not null,
    stream_sequence bigint not null,
    deliveries      bigint not null,
    error           text   not null,
    payload         text   not null,
    created_at      timestamptz not null default now(),
    unique (consumer, stream_sequence)
);

-- Read model: projects.
create table projects (
    id          uuid primary key,
    name        text   not null,
    description text,
    subdomain   text,
    archived    boolean not null default false,
    version     bigint not null,
    created_by  text,
    created_at  timestamptz not null,
    updated_at  timestamptz not null
);
create index projects_name on projects (lower(name));

-- Audit trail: one row per event, derived only from the event row so a rebuild reproduces it.
create table audit_log (
    global_position bigint primary key,
    recorded_at     timestamptz not null,
    actor           text,
    action          text   not null,
    aggregate_type  text   not null,
    aggregate_id    text   not null,
    sequence        bigint not null,
    target          text   not null,
    project_id      uuid,
    outcome         text   not null,
    correlation_id  text,
    request_id      text,
    unique (aggregate_type, aggregate_id, sequence)
);
create index audit_log_actor on audit_log (actor, global_position);
create index audit_log_project on audit_log (project_id, global_position);
create index audit_log_action on audit_log (action, global_position);
create index audit_log_recorded_at on audit_log (recorded_at);

-- API tokens: only a SHA-256 of the token is stored.
create table api_tokens (
    id           uuid primary key,
    login        text   not null,
    name         text   not null,
    role         text   not null check (role in ('admin', 'member')),
    token_hash   bytea  not null unique,
    created_at   timestamptz not null default now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);
create index api_tokens_login on api_tokens (login);
