-- Jobs: the read model of the Job aggregate, and the log lines jobs produce.

create table jobs (
    id               uuid primary key,
    job_type         text    not null,
    input            jsonb   not null,
    project_id       uuid,
    -- Jobs with the same target run one at a time, in queue order.
    target           text    not null,
    status           text    not null,
    attempt          integer not null default 0,
    max_attempts     integer not null,
    timeout_seconds  bigint  not null,
    cancel_requested boolean not null default false,
    worker           text,
    error_kind       text,
    error_message    text,
    -- global_position of the JobQueued event: the order within a target.
    queue_position   bigint  not null,
    version          bigint  not null,
    created_by       text,
    queued_at        timestamptz not null,
    started_at       timestamptz,
    finished_at      timestamptz
);
create index jobs_queued on jobs (target, queue_position) where status = 'queued';
create index jobs_running on jobs (target) where status = 'running';
create index jobs_listing on jobs (queued_at desc, id desc);
create index jobs_project on jobs (project_id, queued_at desc);

-- Wakes job runners when a job is queued or ends.
create function jobs_notify() returns trigger
language plpgsql as $$
begin
    perform pg_notify('warp_jobs', new.target);
    return null;
end;
$$;
create trigger jobs_notify after insert or update of status on jobs
    for each row execute function jobs_notify();

-- Every line a job produced, already redacted. Written by the job runner.
create table job_logs (
    job_id uuid   not null,
    seq    bigint not null,
    at     timestamptz not null,
    stream text   not null check (stream in ('stdout', 'stderr', 'system')),
    line   text   not null,
    primary key (job_id, seq)
);
