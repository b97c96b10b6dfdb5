//! Integration tests of the HTTP API: each test runs the API, the outbox relay and the
//! projection consumers in-process over a database and a NATS stream of its own
//! (see [`helpers::TestApp`]), and asserts what a client sees.

mod audit;
mod auth;
mod browser;
mod container_logs;
mod containers;
mod deploy_env;
mod deploys;
mod events;
mod fakes;
mod github_repos;
mod health;
mod helpers;
mod job_queue;
mod jobs;
mod load;
mod login;
mod metadata;
mod nats_access;
mod ownership;
mod ports;
mod projects;
mod security;
mod sessions;
mod settings;
mod sse;
mod streams;
mod strictness;
mod tunnel;
mod tunnel_local;
mod webhook_redeploys;
mod webhooks;
