//! The HTTPS side of [`super::GitServer`]: a self-signed CA and a `localhost`/`127.0.0.1`
//! certificate from `rcgen`, TLS from `tokio-rustls`, HTTP/1.1 from `hyper`, and each request
//! answered by git's own smart-HTTP CGI program, `git http-backend`.
//!
//! The server runs on a thread and runtime of its own, so a test that blocks its runtime
//! (a `std::process::Command` running `git clone` in a current-thread `#[tokio::test]`) cannot
//! starve it.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

/// PEM of a fresh CA, and a TLS config whose leaf certificate that CA signed for
/// `localhost` and `127.0.0.1`.
pub(super) fn tls_config() -> (String, rustls::ServerConfig) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.distinguished_name.push(DnType::CommonName, "warp test git CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_key = KeyPair::generate().expect("generate the CA key");
    let ca = CertifiedIssuer::self_signed(ca_params, ca_key).expect("self-sign the CA");

    let mut leaf_params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).expect("leaf params");
    leaf_params.distinguished_name.push(DnType::CommonName, "localhost");
    let leaf_key = KeyPair::generate().expect("generate the server key");
    let leaf = leaf_params.signed_by(&leaf_key, &ca).expect("sign the server certificate");

    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let chain: Vec<CertificateDer<'static>> = vec![leaf.der().clone(), ca.der().clone()];
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("tls versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server certificate");
    (ca.pem(), config)
}

/// What the serving thread shares with [`super::GitServer`].
pub(super) struct Running {
    pub addr: SocketAddr,
    pub shutdown: Option<oneshot::Sender<()>>,
    pub thread: Option<std::thread::JoinHandle<()>>,
}

/// Binds `127.0.0.1:0` and serves the bare repos under `project_root` until `shutdown` fires.
/// Every request line (`GET /app.git/info/refs?service=git-upload-pack`) is appended to `log`.
pub(super) fn spawn(
    tls: rustls::ServerConfig,
    project_root: PathBuf,
    home: PathBuf,
    log: Arc<Mutex<Vec<String>>>,
    access: Arc<Mutex<super::Access>>,
) -> Running {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the git server");
    listener.set_nonblocking(true).expect("non-blocking listener");
    let addr = listener.local_addr().expect("local address");
    let (shutdown, mut stop) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("warp-git-server".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("git server runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
                let backend = Arc::new(Backend { project_root, home, log, access });
                loop {
                    let (tcp, _) = tokio::select! {
                        _ = &mut stop => break,
                        accepted = listener.accept() => match accepted {
                            Ok(accepted) => accepted,
                            Err(_) => continue,
                        },
                    };
                    let acceptor = acceptor.clone();
                    let backend = backend.clone();
                    tokio::spawn(async move {
                        // A client that does not trust the CA aborts the handshake: that is the
                        // point of the CA, not a server error.
                        let Ok(tls) = acceptor.accept(tcp).await else { return };
                        let service = hyper::service::service_fn(move |req| {
                            let backend = backend.clone();
                            async move { Ok::<_, Infallible>(backend.answer(req).await) }
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(tls), service)
                            .await;
                    });
                }
            });
            // Dropping the runtime here drops every connection task and kills any
            // `git http-backend` still running (`kill_on_drop`).
        })
        .expect("spawn the git server thread");
    Running { addr, shutdown: Some(shutdown), thread: Some(thread) }
}

struct Backend {
    project_root: PathBuf,
    home: PathBuf,
    log: Arc<Mutex<Vec<String>>>,
    access: Arc<Mutex<super::Access>>,
}

impl Backend {
    async fn answer(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let line = format!("{} {}", req.method(), req.uri());
        self.log.lock().unwrap().push(line);
        let path = req.uri().path().trim_start_matches('/');
        let repo = path.split_once(".git/").map(|(repo, _)| repo.to_owned()).unwrap_or_default();
        let authorization = req.headers().get(hyper::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let (delay, hidden, token) = {
            let mut access = self.access.lock().unwrap();
            access.authorizations.extend(authorization.clone());
            let hidden = access.hidden_until.get(&repo).is_some_and(|until| std::time::Instant::now() < *until);
            (access.delay, hidden, access.private.get(&repo).cloned())
        };
        tokio::time::sleep(delay).await;
        if hidden {
            return plain(StatusCode::NOT_FOUND, "Repository not found.\n".into());
        }
        if let Some(token) = token {
            if !basic_password_is(authorization.as_deref(), &token) {
                let mut response = plain(StatusCode::UNAUTHORIZED, "Authentication required\n".into());
                response.headers_mut().insert(hyper::header::WWW_AUTHENTICATE, "Basic realm=\"GitHub\"".parse().unwrap());
                return response;
            }
        }
        match self.cgi(req).await {
            Ok(response) => response,
            Err(error) => plain(StatusCode::INTERNAL_SERVER_ERROR, format!("git http-backend: {error}\n")),
        }
    }

    /// Runs `git http-backend` as a CGI program (RFC 3875) for one request.
    async fn cgi(&self, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, String> {
        let (parts, body) = req.into_parts();
        let body = body.collect().await.map_err(|e| format!("reading the request body: {e}"))?.to_bytes();
        let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();

        let mut command = super::git_command(&self.home);
        command
            .arg("http-backend")
            .env("GIT_PROJECT_ROOT", &self.project_root)
            .env("GIT_HTTP_EXPORT_ALL", "1")
            .env("GATEWAY_INTERFACE", "CGI/1.1")
            .env("SERVER_PROTOCOL", "HTTP/1.1")
            .env("REQUEST_METHOD", parts.method.as_str())
            .env("PATH_INFO", parts.uri.path())
            .env("QUERY_STRING", parts.uri.query().unwrap_or(""))
            .env("CONTENT_TYPE", header("content-type"))
            .env("CONTENT_LENGTH", body.len().to_string())
            .env("HTTP_CONTENT_ENCODING", header("content-encoding"))
            .env("GIT_PROTOCOL", header("git-protocol"))
            .env("REMOTE_ADDR", "127.0.0.1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = tokio::process::Command::from(command)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("spawning: {e}"))?;
        let mut stdin = child.stdin.take().expect("piped stdin");
        let mut stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let feed = async move {
            let _ = stdin.write_all(&body).await;
            drop(stdin);
        };
        let mut out = Vec::new();
        let mut err = Vec::new();
        let (_, read_out, _) = tokio::join!(feed, stdout.read_to_end(&mut out), stderr.read_to_end(&mut err));
        read_out.map_err(|e| format!("reading its output: {e}"))?;
        let status = child.wait().await.map_err(|e| format!("waiting: {e}"))?;
        if !status.success() && out.is_empty() {
            return Err(format!("{status}: {}", String::from_utf8_lossy(&err).trim()));
        }
        parse_cgi(&out)
    }
}

/// Splits a CGI answer into headers (`Status:` gives the code) and body.
fn parse_cgi(out: &[u8]) -> Result<Response<Full<Bytes>>, String> {
    let (head, body) = find(out, b"\r\n\r\n")
        .map(|i| (&out[..i], &out[i + 4..]))
        .or_else(|| find(out, b"\n\n").map(|i| (&out[..i], &out[i + 2..])))
        .ok_or("no end of headers in its output")?;
    let mut response = Response::builder().status(StatusCode::OK);
    for line in String::from_utf8_lossy(head).lines() {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value.split_whitespace().next().and_then(|c| c.parse::<u16>().ok()).unwrap_or(500);
            response = response.status(code);
        } else {
            response = response.header(name.trim(), value);
        }
    }
    response.body(Full::new(Bytes::copy_from_slice(body))).map_err(|e| format!("bad CGI headers: {e}"))
}

/// Whether `authorization` is `Basic base64(<any user>:<token>)`.
fn basic_password_is(authorization: Option<&str>, token: &str) -> bool {
    use base64::Engine as _;
    let Some(encoded) = authorization.and_then(|a| a.strip_prefix("Basic ")) else { return false };
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else { return false };
    String::from_utf8_lossy(&decoded).split_once(':').is_some_and(|(_, password)| password == token)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn plain(status: StatusCode, text: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(text)));
    *response.status_mut() = status;
    response
}

/// Writes `pem` to `dir/ca.pem` and returns the path.
pub(super) fn write_ca(dir: &Path, pem: &str) -> PathBuf {
    let path = dir.join("ca.pem");
    std::fs::write(&path, pem).expect("write the CA certificate");
    path
}
