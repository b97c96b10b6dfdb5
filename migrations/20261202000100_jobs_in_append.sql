-- The `jobs` read model is kept by the database itself, in the transaction that appends a job
-- event: a job is runnable (and `GET /api/jobs/{id}` answers) the moment its `JobQueued`
-- commits, whether or not the relay or any consumer runs.
--
-- `jobs_apply(e)` is the one place that turns a job event row into the read model; the
-- trigger below calls it for each appended job event, and `jobs_rebuild()` replays the event
-- store through it. Payloads are cqrs-es' serialisation of `warp_events::JobEvent`
-- (externally tagged: `{"JobQueued":{…}}`).

create function jobs_apply(e events) returns void
language plpgsql as $$
declare
    body json := e.payload -> e.event_type;
    job_id uuid := e.aggregate_id::uuid;
begin
    if e.aggregate_type <> 'job' then
        return;
    end if;
    if e.event_type = 'JobQueued' then
        insert into jobs (id, job_type, input, project_id, target, status, max_attempts, timeout_seconds,
                          queue_position, version, created_by, queued_at)
        values (job_id,
                body -> 'input' ->> 'type',
                (body -> 'input')::jsonb,
                (body ->> 'project_id')::uuid,
                -- Events of version 1.0 carry no target; their rule was: project:<id> for a
                -- job naming a project, else tunnel.
                coalesce(body ->> 'target',
                         case when body ->> 'project_id' is not null then 'project:' || (body ->> 'project_id')
                              else 'tunnel' end),
                'queued',
                (body ->> 'max_attempts')::integer,
                (body ->> 'timeout_seconds')::bigint,
                e.global_position,
                e.sequence,
                e.metadata ->> 'actor',
                e.recorded_at)
        on conflict do nothing;
        return;
    end if;
    -- Later events apply only on top of their predecessor (a replay never applies one twice).
    case e.event_type
        when 'JobStarted' then
            update jobs set status = 'running', worker = body ->> 'worker', attempt = (body ->> 'attempt')::integer,
                            started_at = e.recorded_at, version = e.sequence
             where id = job_id and version = e.sequence - 1;
        when 'JobCancelRequested' then
            update jobs set cancel_requested = true, version = e.sequence
             where id = job_id and version = e.sequence - 1;
        when 'JobRequeued' then
            update jobs set status = 'queued', error_message = body ->> 'reason', version = e.sequence
             where id = job_id and version = e.sequence - 1;
        when 'JobSucceeded' then
            update jobs set status = 'succeeded', error_kind = null, finished_at = e.recorded_at, version = e.sequence
             where id = job_id and version = e.sequence - 1;
        when 'JobCancelled' then
            update jobs set status = 'cancelled', error_kind = null, finished_at = e.recorded_at, version = e.sequence
             where id = job_id and version = e.sequence - 1;
        when 'JobTimedOut' then
            update jobs set status = 'timed_out', error_kind = null,
                            error_message = 'timed out after ' || (body ->> 'timeout_seconds') || ' s',
                            finished_at = e.recorded_at, version = e.sequence
             where id = job_id and version = e.sequence - 1;
        when 'JobFailed' then
            update jobs set status = 'failed', error_kind = body ->> 'kind',
                            error_message = coalesce(body ->> 'message', error_message),
                            finished_at = e.recorded_at, version = e.sequence
             where id = job_id and version = e.sequence - 1;
        else
            raise exception 'jobs_apply: unknown job event type %', e.event_type;
    end case;
end;
$$;

create function events_to_jobs() returns trigger
language plpgsql as $$
begin
    perform jobs_apply(new);
    return null;
end;
$$;

create trigger events_to_jobs after insert on events
    for each row when (new.aggregate_type = 'job') execute function events_to_jobs();

-- Replays every job event, in each job's order, into an emptied `jobs` table (in the caller's
-- transaction; the table is locked against concurrent appends meanwhile). Returns the number
-- of events applied.
create function jobs_rebuild() returns bigint
language plpgsql as $$
declare
    e events;
    n bigint := 0;
begin
    lock table jobs in exclusive mode;
    delete from jobs;
    for e in select * from events where aggregate_type = 'job' order by aggregate_id, sequence loop
        perform jobs_apply(e);
        n := n + 1;
    end loop;
    return n;
end;
$$;

-- Until now the `projections` consumer kept this table, possibly behind the store: start from
-- the store.
select jobs_rebuild();
