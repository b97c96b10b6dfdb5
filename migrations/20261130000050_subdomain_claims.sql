-- Unique subdomains across live projects (each is one hostname under the base domain): claimed
-- like names, before the command that sets one, released on change, archive or failure.
create table subdomain_claims (
    name_key   text primary key,          -- the subdomain (already lower-case)
    project_id uuid not null,
    claimed_at timestamptz not null default now()
);
create index subdomain_claims_project on subdomain_claims (project_id);

insert into subdomain_claims (name_key, project_id)
select lower(subdomain), id from projects where not archived and subdomain is not null
on conflict do nothing;
