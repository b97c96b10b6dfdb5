-- Runtime settings: the encrypted secret store beside the `settings` aggregate's events.
--
-- Secret values never enter `events`; an event carries only a fingerprint, and the value lives
-- here encrypted (XChaCha20-Poly1305 under WARP_SECRET_KEY), keyed by (name, fingerprint).

-- One row: the fingerprint key (random, 32 bytes) sealed under the master key. Opening it at
-- start-up is the key check: a wrong WARP_SECRET_KEY fails there and changes nothing.
create table secret_keyring (
    id              boolean primary key default true check (id),
    nonce           bytea  not null,
    ciphertext      bytea  not null,
    created_at      timestamptz not null default now(),
    rotated_at      timestamptz
);

-- Encrypted secret values. The current value of a secret is the row whose fingerprint the
-- aggregate holds; superseded rows are deleted after a change.
create table settings_secrets (
    name        text   not null,
    fingerprint text   not null,
    nonce       bytea  not null,
    ciphertext  bytea  not null,
    created_at  timestamptz not null default now(),
    primary key (name, fingerprint)
);

-- The aggregate's state (non-secret values and secret fingerprints) at `version`, so reads do
-- not replay events; rebuilt from the events whenever it is behind them.
create table settings_current (
    id         boolean primary key default true check (id),
    version    bigint not null,
    state      jsonb  not null,
    updated_at timestamptz not null default now()
);
