//! The Cloudflare client against the fake: envelopes, codes, retries.

use std::time::{Duration, Instant};

use reqwest::Method;
use secrecy::SecretString;
use warp_cloudflare::client::{CloudflareApi, CloudflareClient, CloudflareError, NewDnsRecord};
use warp_cloudflare::config::RetryPolicy;
use warp_test_support::fake_cloudflare::{Fault, FakeCloudflare};

const TOKEN: &str = "cf-canary-token-0123456789abcdef";
const TUNNEL: &str = "6ff42ae2-765d-4adf-8112-31c55c1551ef";
const ZONE: &str = "0123456789abcdef0123456789abcdef";
const ACCOUNT: &str = "fedcba9876543210fedcba9876543210";

fn client(fake: &FakeCloudflare, token: &str) -> CloudflareClient {
    let retry = RetryPolicy { max_attempts: 3, base_backoff: Duration::from_millis(20), max_backoff: Duration::from_secs(2) };
    CloudflareClient::new(&fake.url, SecretString::from(token.to_owned()), retry)
}

fn cname(name: &str) -> NewDnsRecord {
    NewDnsRecord {
        record_type: "CNAME".into(),
        name: name.into(),
        content: format!("{TUNNEL}.cfargotunnel.com"),
        proxied: true,
        ttl: 1,
        comment: Some("warp:project:x".into()),
    }
}

#[tokio::test]
async fn records_are_created_found_by_name_and_an_existing_name_is_a_typed_conflict() {
    let fake = FakeCloudflare::start(TOKEN, TUNNEL).await;
    let cf = client(&fake, TOKEN);
    let created = cf.create_dns_record(ZONE, &cname("shop.example.com")).await.unwrap();
    let found = cf.dns_records(ZONE, "shop.example.com").await.unwrap();
    assert_eq!(found, vec![created.clone()]);
    assert_eq!(found[0].comment.as_deref(), Some("warp:project:x"));
    let again = cf.create_dns_record(ZONE, &cname("shop.example.com")).await.unwrap_err();
    assert_eq!(again, CloudflareError::RecordExists { code: 81057 });
    let mut other = cname("shop.example.com");
    other.content = "elsewhere.example.net".into();
    assert_eq!(cf.create_dns_record(ZONE, &other).await.unwrap_err(), CloudflareError::RecordExists { code: 81053 });
    cf.delete_dns_record(ZONE, &created.id).await.unwrap();
    assert!(cf.dns_records(ZONE, "shop.example.com").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_bad_token_is_refused_with_code_10000_and_the_error_never_shows_it() {
    let fake = FakeCloudflare::start(TOKEN, TUNNEL).await;
    let wrong = "cf-wrong-token-secret-value-42";
    let error = client(&fake, wrong).tunnel(ACCOUNT, TUNNEL).await.unwrap_err();
    assert!(matches!(error, CloudflareError::Unauthorized { status: 403, .. }), "{error:?}");
    assert_eq!(error.codes(), vec![10000]);
    let text = format!("{error} {error:?}");
    assert!(!text.contains(wrong), "{text}");
    assert_eq!(fake.requests().len(), 1, "a refused token is not retried");
}

#[tokio::test]
async fn a_rate_limit_is_retried_after_the_time_retry_after_asks_for() {
    let fake = FakeCloudflare::start(TOKEN, TUNNEL).await;
    fake.inject(Fault::RateLimited { retry_after_seconds: 1 }, None, "/cfd_tunnel/", 1);
    let started = Instant::now();
    let tunnel = client(&fake, TOKEN).tunnel(ACCOUNT, TUNNEL).await.unwrap();
    assert_eq!(tunnel.id, TUNNEL);
    assert!(started.elapsed() >= Duration::from_secs(1), "waited for Retry-After");
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn server_errors_are_retried_then_succeed_and_are_bounded() {
    let fake = FakeCloudflare::start(TOKEN, TUNNEL).await;
    fake.inject(Fault::ServerError { status: 502 }, Some(Method::GET), "/configurations", 2);
    let config = client(&fake, TOKEN).tunnel_configuration(ACCOUNT, TUNNEL).await.unwrap();
    assert_eq!(config.config["ingress"][0]["service"], "http_status:404");
    assert_eq!(fake.requests().len(), 3);

    fake.inject(Fault::ServerError { status: 503 }, None, "/configurations", 10);
    let error = client(&fake, TOKEN).tunnel_configuration(ACCOUNT, TUNNEL).await.unwrap_err();
    assert_eq!(error, CloudflareError::Server { status: 503, attempts: 3 });
    assert_eq!(fake.requests().len(), 6, "three more attempts, then it gives up");
}

#[tokio::test]
async fn a_configuration_put_replaces_the_whole_configuration() {
    let fake = FakeCloudflare::start(TOKEN, TUNNEL).await;
    let cf = client(&fake, TOKEN);
    let config = serde_json::json!({"ingress": [{"hostname": "a.example.com", "service": "http://a:1"}, {"service": "http_status:404"}],
                                     "originRequest": {"connectTimeout": 10}});
    cf.put_tunnel_configuration(ACCOUNT, TUNNEL, &config).await.unwrap();
    assert_eq!(fake.config(), config);
    let refused = serde_json::json!({"ingress": [{"hostname": "a.example.com", "service": "http://a:1"}]});
    let error = cf.put_tunnel_configuration(ACCOUNT, TUNNEL, &refused).await.unwrap_err();
    assert!(matches!(error, CloudflareError::Api { status: 400, .. }), "{error:?}");
    assert_eq!(fake.config(), config);
}
