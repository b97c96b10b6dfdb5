-- Unique project names across aggregates: a claim is taken before the command that uses a
-- name and released when the name is given up (rename, archive) or the command fails.
create table project_name_claims (
    name_key   text primary key,          -- lower(name)
    project_id uuid not null,
    claimed_at timestamptz not null default now()
);
create index project_name_claims_project on project_name_claims (project_id);

insert into project_name_claims (name_key, project_id)
select lower(name), id from projects where not archived
on conflict do nothing;
