-- Deploys: what a project runs (its source and compose project), its last deployment, and the
-- encrypted deploy env values beside the event store.

-- The projects read model learns what a project deploys. `kind` is `plain` (created by
-- `POST /api/projects`), `compose` (deploy-existing) or `quick_service`.
alter table projects add column kind            text  not null default 'plain';
-- Explicit compose project name (`-p`), fixed at creation so a rename never orphans containers.
alter table projects add column compose_project text;
-- Where the code comes from: `{"git":{"url":…,"ref":…}}` or `{"folder":{"path":…}}`, plus the
-- compose file path relative to the checkout (null: compose's default names).
alter table projects add column source          jsonb;
alter table projects add column compose_file    text;
-- Quick services: `{"container":…,"target_port":…}` or `{"host_port":…}`.
alter table projects add column quick_service   jsonb;
-- Names (never values) of the deploy env variables.
alter table projects add column env_names       text[] not null default '{}';
-- `created`, `deploying`, `running`, `failed`, `stopped`, `removed`.
alter table projects add column status          text  not null default 'created';
-- The last successful deployment (commit, services, containers, images, ports) and the last
-- failure message, as the API shows them.
alter table projects add column deployment      jsonb;
alter table projects add column last_error      text;
create unique index projects_compose_project on projects (compose_project) where compose_project is not null;

-- Deploy env values, encrypted (XChaCha20-Poly1305 under WARP_SECRET_KEY, like settings
-- secrets). The `Project` aggregate holds only (name, fingerprint) pairs; the value that
-- matches is the row with that fingerprint. `warp secrets rotate` re-encrypts these too.
create table project_env_secrets (
    project_id  uuid   not null,
    name        text   not null,
    fingerprint text   not null,
    nonce       bytea  not null,
    ciphertext  bytea  not null,
    created_at  timestamptz not null default now(),
    primary key (project_id, name, fingerprint)
);
