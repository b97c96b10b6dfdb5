//! Integration tests of the cloudflare service: the API client against the local fake
//! Cloudflare, and routes published end to end.

mod client;
