-- Routes: what each project shows (projections consumer), and what the panel owns at
-- Cloudflare (cloudflare service).

-- {"subdomain","hostname","service_url","state","message","unpublish_at"}; null: no route.
alter table projects add column route jsonb;

-- One row per hostname whose DNS record and/or ingress rule the panel created, so unpublishing
-- removes only what is the panel's. Written by the cloudflare service's jobs and handlers only.
create table cloudflare_routes (
    hostname      text primary key,         -- normal form: lower case, no trailing dot, punycode
    project_id    uuid not null,
    service_url   text not null,
    tunnel_id     text not null,
    dns_record_id text,                     -- null until the record exists (or when it was foreign)
    published_at  timestamptz not null default now(),
    unpublish_at  timestamptz               -- set while an unpublish is scheduled
);

create index cloudflare_routes_due on cloudflare_routes (unpublish_at) where unpublish_at is not null;
create index cloudflare_routes_project on cloudflare_routes (project_id);
