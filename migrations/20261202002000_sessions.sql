-- GitHub login: pending OAuth attempts and server-side sessions.
--
-- Neither table holds a secret in the clear: the OAuth `state`, the browser-binding cookie and
-- the session cookie are stored as SHA-256 hashes; the PKCE verifier and the user's GitHub
-- token are sealed (XChaCha20-Poly1305 under WARP_SECRET_KEY, like settings secrets).

-- One row per `GET /auth/login`; deleted when its callback arrives (single use) or after it
-- expired (10 minutes).
create table login_attempts (
    state_hash      bytea primary key,
    browser_hash    bytea not null,
    verifier_nonce  bytea not null,
    verifier_sealed bytea not null,
    return_to       text  not null,
    created_at      timestamptz not null default now(),
    expires_at      timestamptz not null
);
create index login_attempts_expiry on login_attempts (expires_at);

-- One row per admitted login. `id` is the `session` aggregate's id (public, in events and the
-- audit trail); the cookie is only known by its hash. A session is live while `ended_at` is
-- null and neither timeout has passed (timeouts come from the settings at each request).
create table sessions (
    id               uuid primary key,
    cookie_hash      bytea not null unique,
    github_user_id   bigint not null,
    login            text  not null,
    role             text  not null check (role in ('admin', 'member')),
    -- The user's GitHub token, for membership re-checks; never leaves the server, and is only
    -- sent to the API it was issued for (`token_api_url`, github_api_url at login).
    token_nonce      bytea,
    token_sealed     bytea,
    token_api_url    text,
    created_at       timestamptz not null default now(),
    last_seen_at     timestamptz not null default now(),
    -- When GitHub last confirmed the user's org membership (the epoch when it never did).
    checked_at       timestamptz not null default now(),
    ended_at         timestamptz,
    end_reason       text
);
create index sessions_live on sessions (github_user_id) where ended_at is null;
