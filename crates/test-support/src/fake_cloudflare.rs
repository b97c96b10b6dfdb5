//! A local fake of the Cloudflare API v4 endpoints the panel uses, on `127.0.0.1:<port>`.
//!
//! It speaks Cloudflare's envelope `{"success","errors":[{"code","message"}],"messages",
//! "result","result_info"}` and its codes: a request without `Authorization: Bearer …` is HTTP
//! 400 code 6003; a wrong token HTTP 403 code 10000 ("Authentication error"); creating a CNAME
//! whose name is taken is HTTP 400 code 81053 (81057 when the record is identical). A
//! configuration PUT without a catch-all last is refused (400, code 1056), as Cloudflare does.
//!
//! Faults are injected per request ([`Fault`]): the next matching requests answer 429 with
//! `Retry-After`, 5xx, a bad-token error or "record exists". State (records, tunnel
//! configuration, connections) and a log of every request can be read and set by the test.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

/// What a matching request answers instead of doing its work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 429 with `Retry-After: <seconds>` and code 10429.
    RateLimited { retry_after_seconds: u64 },
    /// HTTP `status` (5xx) with code 10001.
    ServerError { status: u16 },
    /// HTTP 403 code 10000, as for a revoked token.
    BadToken,
    /// HTTP 400 with this code (81053 or 81057) on a record create.
    RecordExists { code: i64 },
}

/// One request the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    pub method: String,
    /// Path without the query.
    pub path: String,
    pub query: Option<String>,
    /// Whether the bearer token matched.
    pub authorized: bool,
}

struct Injected {
    fault: Fault,
    method: Option<Method>,
    path_contains: String,
    times: usize,
}

struct Inner {
    token: String,
    records: Vec<Value>,
    tunnel: Value,
    config: Value,
    config_version: i64,
    connections: Vec<Value>,
    requests: Vec<LoggedRequest>,
    faults: VecDeque<Injected>,
    next_id: u64,
}

/// The fake server; stops when dropped.
pub struct FakeCloudflare {
    /// Base URL, the `cloudflare_api_url` setting: `http://127.0.0.1:<port>/client/v4`.
    pub url: String,
    inner: Arc<Mutex<Inner>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeCloudflare {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Shared = Arc<Mutex<Inner>>;

impl FakeCloudflare {
    /// Starts a fake accepting `token`, with tunnel `tunnel_id` (healthy, one connection,
    /// remotely managed) whose configuration is only the catch-all `http_status:404`.
    pub async fn start(token: &str, tunnel_id: &str) -> Self {
        let inner = Arc::new(Mutex::new(Inner {
            token: token.to_owned(),
            records: Vec::new(),
            tunnel: json!({"id": tunnel_id, "name": "warp-test", "status": "healthy", "remote_config": true}),
            config: json!({"ingress": [{"service": "http_status:404"}]}),
            config_version: 1,
            connections: vec![json!({"id": "c0ffee00-0000-4000-8000-000000000001", "version": "2024.1.0",
                                     "conns": [{"colo_name": "fra06", "is_pending_reconnect": false}]})],
            requests: Vec::new(),
            faults: VecDeque::new(),
            next_id: 1,
        }));
        let app = Router::new()
            .route("/client/v4/user/tokens/verify", get(verify))
            .route("/client/v4/zones/{zone}/dns_records", get(list_records).post(create_record))
            .route("/client/v4/zones/{zone}/dns_records/{id}", axum::routing::patch(update_record).delete(delete_record))
            .route("/client/v4/accounts/{account}/cfd_tunnel/{tunnel}", get(tunnel))
            .route("/client/v4/accounts/{account}/cfd_tunnel/{tunnel}/connections", get(connections))
            .route("/client/v4/accounts/{account}/cfd_tunnel/{tunnel}/configurations", get(get_config).put(put_config))
            .layer(axum::middleware::from_fn_with_state(inner.clone(), gate))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await.expect("bind the fake Cloudflare");
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url: format!("http://{addr}/client/v4"), inner, task }
    }

    /// The next `times` requests whose method is `method` (any when `None`) and whose path
    /// contains `path_contains` answer `fault`.
    pub fn inject(&self, fault: Fault, method: Option<Method>, path_contains: &str, times: usize) {
        let mut inner = self.inner.lock().unwrap();
        inner.faults.push_back(Injected { fault, method, path_contains: path_contains.to_owned(), times });
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.inner.lock().unwrap().requests.clone()
    }

    /// Every DNS record (Cloudflare's JSON shape).
    pub fn records(&self) -> Vec<Value> {
        self.inner.lock().unwrap().records.clone()
    }

    /// Adds a record as if made by hand (no comment unless given).
    pub fn add_record(&self, name: &str, content: &str, comment: Option<&str>) -> String {
        let mut inner = self.inner.lock().unwrap();
        let id = format!("{:032x}", inner.next_id);
        inner.next_id += 1;
        let record = json!({"id": id, "type": "CNAME", "name": name, "content": content, "proxied": true, "ttl": 1, "comment": comment});
        inner.records.push(record);
        id
    }

    /// The tunnel's configuration (the `config` object).
    pub fn config(&self) -> Value {
        self.inner.lock().unwrap().config.clone()
    }

    /// Sets the tunnel's configuration (the `config` object) as if edited in the dashboard.
    pub fn set_config(&self, config: Value) {
        self.inner.lock().unwrap().config = config;
    }

    /// Sets fields of the tunnel object (e.g. `{"status":"down"}` or `{"remote_config":false}`).
    pub fn set_tunnel(&self, fields: Value) {
        let mut inner = self.inner.lock().unwrap();
        if let (Some(t), Some(f)) = (inner.tunnel.as_object_mut(), fields.as_object()) {
            for (k, v) in f {
                t.insert(k.clone(), v.clone());
            }
        }
    }

    /// Sets the tunnel's connected cloudflared clients (empty: no connection).
    pub fn set_connections(&self, connections: Vec<Value>) {
        self.inner.lock().unwrap().connections = connections;
    }
}

fn envelope(status: StatusCode, result: Value) -> Response {
    (status, Json(json!({"success": true, "errors": [], "messages": [], "result": result}))).into_response()
}

fn failure(status: StatusCode, code: i64, message: &str) -> Response {
    (status, Json(json!({"success": false, "errors": [{"code": code, "message": message}], "messages": [], "result": null})))
        .into_response()
}

async fn gate(State(inner): State<Shared>, method: Method, uri: Uri, headers: HeaderMap, request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).map(str::to_owned);
    let fault = {
        let mut inner = inner.lock().unwrap();
        let authorized = bearer.as_deref() == Some(inner.token.as_str());
        inner.requests.push(LoggedRequest {
            method: method.to_string(),
            path: uri.path().to_owned(),
            query: uri.query().map(str::to_owned),
            authorized,
        });
        if bearer.is_none() {
            return failure(StatusCode::BAD_REQUEST, 6003, "Invalid request headers");
        }
        if !authorized {
            return failure(StatusCode::FORBIDDEN, 10000, "Authentication error");
        }
        let index = inner
            .faults
            .iter()
            .position(|f| f.method.as_ref().is_none_or(|m| *m == method) && uri.path().contains(&f.path_contains));
        index.map(|i| {
            let entry = &mut inner.faults[i];
            entry.times -= 1;
            let fault = entry.fault.clone();
            if entry.times == 0 {
                inner.faults.remove(i);
            }
            fault
        })
    };
    match fault {
        Some(Fault::RateLimited { retry_after_seconds }) => {
            let mut response = failure(StatusCode::TOO_MANY_REQUESTS, 10429, "Rate limited");
            response.headers_mut().insert("retry-after", retry_after_seconds.to_string().parse().unwrap());
            response
        }
        Some(Fault::ServerError { status }) => failure(StatusCode::from_u16(status).unwrap(), 10001, "Internal server error"),
        Some(Fault::BadToken) => failure(StatusCode::FORBIDDEN, 10000, "Authentication error"),
        Some(Fault::RecordExists { code }) => failure(StatusCode::BAD_REQUEST, code, "An A, AAAA, or CNAME record with that host already exists."),
        None => next.run(request).await,
    }
}

async fn verify() -> Response {
    envelope(StatusCode::OK, json!({"id": "0000", "status": "active"}))
}

#[derive(serde::Deserialize)]
struct RecordQuery {
    name: Option<String>,
    #[serde(rename = "type")]
    record_type: Option<String>,
}

async fn list_records(State(inner): State<Shared>, Path(_zone): Path<String>, Query(q): Query<RecordQuery>) -> Response {
    let inner = inner.lock().unwrap();
    let found: Vec<Value> = inner
        .records
        .iter()
        .filter(|r| q.name.as_deref().is_none_or(|n| r["name"].as_str() == Some(n)))
        .filter(|r| q.record_type.as_deref().is_none_or(|t| r["type"].as_str() == Some(t)))
        .cloned()
        .collect();
    let count = found.len();
    (StatusCode::OK, Json(json!({"success": true, "errors": [], "messages": [], "result": found,
        "result_info": {"page": 1, "per_page": 100, "count": count, "total_count": count}})))
        .into_response()
}

async fn create_record(State(inner): State<Shared>, Path(_zone): Path<String>, Json(body): Json<Value>) -> Response {
    let mut inner = inner.lock().unwrap();
    let name = body["name"].as_str().unwrap_or_default().to_owned();
    if let Some(existing) = inner.records.iter().find(|r| r["name"].as_str() == Some(&name)) {
        return if existing["content"] == body["content"] {
            failure(StatusCode::BAD_REQUEST, 81057, "The record already exists.")
        } else {
            failure(StatusCode::BAD_REQUEST, 81053, "An A, AAAA, or CNAME record with that host already exists.")
        };
    }
    let id = format!("{:032x}", inner.next_id);
    inner.next_id += 1;
    let mut record = body.clone();
    record["id"] = json!(id);
    inner.records.push(record.clone());
    envelope(StatusCode::OK, record)
}

async fn update_record(State(inner): State<Shared>, Path((_zone, id)): Path<(String, String)>, Json(body): Json<Value>) -> Response {
    let mut inner = inner.lock().unwrap();
    let Some(record) = inner.records.iter_mut().find(|r| r["id"].as_str() == Some(&id)) else {
        return failure(StatusCode::NOT_FOUND, 81044, "Record does not exist.");
    };
    if let (Some(r), Some(b)) = (record.as_object_mut(), body.as_object()) {
        for (k, v) in b {
            r.insert(k.clone(), v.clone());
        }
    }
    envelope(StatusCode::OK, record.clone())
}

async fn delete_record(State(inner): State<Shared>, Path((_zone, id)): Path<(String, String)>) -> Response {
    let mut inner = inner.lock().unwrap();
    let before = inner.records.len();
    inner.records.retain(|r| r["id"].as_str() != Some(&id));
    if inner.records.len() == before {
        return failure(StatusCode::NOT_FOUND, 81044, "Record does not exist.");
    }
    envelope(StatusCode::OK, json!({"id": id}))
}

fn known_tunnel(inner: &Inner, tunnel: &str) -> bool {
    inner.tunnel["id"].as_str() == Some(tunnel)
}

async fn tunnel(State(inner): State<Shared>, Path((_account, id)): Path<(String, String)>) -> Response {
    let inner = inner.lock().unwrap();
    if !known_tunnel(&inner, &id) {
        return failure(StatusCode::NOT_FOUND, 1002, "Tunnel not found");
    }
    envelope(StatusCode::OK, inner.tunnel.clone())
}

async fn connections(State(inner): State<Shared>, Path((_account, id)): Path<(String, String)>) -> Response {
    let inner = inner.lock().unwrap();
    if !known_tunnel(&inner, &id) {
        return failure(StatusCode::NOT_FOUND, 1002, "Tunnel not found");
    }
    envelope(StatusCode::OK, json!(inner.connections))
}

async fn get_config(State(inner): State<Shared>, Path((_account, id)): Path<(String, String)>) -> Response {
    let inner = inner.lock().unwrap();
    if !known_tunnel(&inner, &id) {
        return failure(StatusCode::NOT_FOUND, 1002, "Tunnel not found");
    }
    envelope(StatusCode::OK, json!({"tunnel_id": id, "version": inner.config_version, "config": inner.config, "source": "cloudflare"}))
}

async fn put_config(State(inner): State<Shared>, Path((_account, id)): Path<(String, String)>, Json(body): Json<Value>) -> Response {
    let mut inner = inner.lock().unwrap();
    if !known_tunnel(&inner, &id) {
        return failure(StatusCode::NOT_FOUND, 1002, "Tunnel not found");
    }
    let ingress = body["config"]["ingress"].as_array().cloned().unwrap_or_default();
    let last_is_catch_all = ingress.last().is_some_and(|r| r.get("hostname").is_none_or(Value::is_null) && r.get("path").is_none_or(Value::is_null));
    if !last_is_catch_all {
        return failure(StatusCode::BAD_REQUEST, 1056, "Validation failed: the last ingress rule must match all hostnames");
    }
    inner.config = body["config"].clone();
    inner.config_version += 1;
    envelope(StatusCode::OK, json!({"tunnel_id": id, "version": inner.config_version, "config": inner.config, "source": "cloudflare"}))
}
