//! `PUT /api/settings`.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Deserialize;
use warp_domain::settings::{apply_patch, present, RawSettingsPatch};
use warp_domain::ValidationError;
use warp_events::SecretName;
use warp_store::settings::ChangeError;

use super::view::SettingsView;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, IfMatch};
use crate::routes::CommandContext;
use crate::AppState;

/// Body of `PUT /api/settings`: a merge. An absent field stays as it is, `null` clears an
/// optional setting (refused for required ones), a value replaces it. Lists are replaced whole.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSettings {
    /// Base domain (RFC 1123 hostname, lower-cased; punycode for IDNs): projects are published as
    /// `<subdomain>.<base_domain>`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Hostname)]
    pub base_domain: Option<Option<String>>,
    /// GitHub token (20-255 of `[A-Za-z0-9_-]`); checked with `GET {github_api_url}/user`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Password)]
    pub github_token: Option<Option<String>>,
    /// GitHub API base URL (https; http only to localhost). Default `https://api.github.com`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = "uri")]
    pub github_api_url: Option<Option<String>>,
    /// GitHub web base URL. Default `https://github.com`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = "uri")]
    pub github_web_url: Option<Option<String>>,
    /// Template repositories, `owner/name`, at most 100.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>)]
    pub template_repos: Option<Option<Vec<String>>>,
    /// GitHub users allowed to log in, at most 100: logins, or numeric user ids as strings of
    /// digits (a digits-only entry is always an id).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>)]
    pub allowed_users: Option<Option<Vec<String>>>,
    /// GitHub organisation whose active members may log in.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub allowed_org: Option<Option<String>>,
    /// More GitHub organisations whose active members may log in, at most 100.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>)]
    pub allowed_orgs: Option<Option<Vec<String>>>,
    /// GitHub users (logins or numeric ids) who log in as admins, at most 100; they need not be
    /// listed in `allowed_users`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>)]
    pub admins: Option<Option<Vec<String>>>,
    /// Client id of the GitHub OAuth app (1-100 of `[A-Za-z0-9._-]`).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub github_client_id: Option<Option<String>>,
    /// Client secret of the GitHub OAuth app (20-255 of `[A-Za-z0-9_-]`); stored encrypted.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Password)]
    pub github_client_secret: Option<Option<String>>,
    /// Secret GitHub signs webhook deliveries with (20-255 visible ASCII characters, e.g.
    /// `openssl rand -hex 32`); stored encrypted, shown only as a fingerprint. Until it is set,
    /// `POST /hooks/github` refuses every delivery.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Password)]
    pub github_webhook_secret: Option<Option<String>>,
    /// The panel's public URL as browsers reach it (`https://panel.example.com`, no path): the
    /// OAuth callback is `<public_url>/auth/callback`, webhooks the panel creates deliver to
    /// `<public_url>/hooks/github`; https makes cookies `Secure`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = "uri")]
    pub public_url: Option<Option<String>>,
    /// Session idle timeout in seconds (60-604800, default 1800).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u64>)]
    pub session_idle_seconds: Option<Option<u64>>,
    /// Session absolute timeout in seconds (300-2592000, default 28800).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u64>)]
    pub session_absolute_seconds: Option<Option<u64>>,
    /// Cloudflare API token; checked with `GET {cloudflare_api_url}/user/tokens/verify`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Password)]
    pub cloudflare_api_token: Option<Option<String>>,
    /// Cloudflare API base URL. Default `https://api.cloudflare.com/client/v4`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = "uri")]
    pub cloudflare_api_url: Option<Option<String>>,
    /// Cloudflare account id (32 hex digits).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub cloudflare_account_id: Option<Option<String>>,
    /// Cloudflare zone id of the base domain (32 hex digits).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub cloudflare_zone_id: Option<Option<String>>,
    /// Tunnel id (UUID).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub tunnel_id: Option<Option<String>>,
    /// Tunnel name.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub tunnel_name: Option<Option<String>>,
    /// `remote` (tunnel configuration through the API) or `local` (a cloudflared `config.yml`).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "remote")]
    pub tunnel_mode: Option<Option<String>>,
    /// Absolute path of cloudflared's `config.yml`; required for tunnel mode `local`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub cloudflared_config_path: Option<Option<String>>,
    /// `none`, `container` (restart the container named by `cloudflared_container`) or
    /// `command` (run `cloudflared_restart_command`).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "none")]
    pub cloudflared_restart: Option<Option<String>>,
    /// Docker container name of cloudflared (`[a-zA-Z0-9][a-zA-Z0-9_.-]+`).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub cloudflared_container: Option<Option<String>>,
    /// Program and arguments that restart cloudflared when `cloudflared_restart` is
    /// `command`: an absolute program path first; run as an argument list, never a shell.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>)]
    pub cloudflared_restart_command: Option<Option<Vec<String>>>,
    /// Seconds before a withdrawn route is unpublished (0-86400; default 600).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u64>)]
    pub route_grace_seconds: Option<Option<u64>>,
    /// Absolute folder holding project workspaces.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub workspaces_root: Option<Option<String>>,
    /// `explicit` (only a subdomain given for a project is published) or `from_name`.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, example = "explicit")]
    pub subdomain_rule: Option<Option<String>>,
}

impl From<UpdateSettings> for RawSettingsPatch {
    fn from(b: UpdateSettings) -> Self {
        RawSettingsPatch {
            base_domain: b.base_domain,
            github_token: b.github_token,
            github_api_url: b.github_api_url,
            github_web_url: b.github_web_url,
            template_repos: b.template_repos,
            allowed_users: b.allowed_users,
            allowed_org: b.allowed_org,
            allowed_orgs: b.allowed_orgs,
            admins: b.admins,
            github_client_id: b.github_client_id,
            github_client_secret: b.github_client_secret,
            github_webhook_secret: b.github_webhook_secret,
            public_url: b.public_url,
            session_idle_seconds: b.session_idle_seconds,
            session_absolute_seconds: b.session_absolute_seconds,
            cloudflare_api_token: b.cloudflare_api_token,
            cloudflare_api_url: b.cloudflare_api_url,
            cloudflare_account_id: b.cloudflare_account_id,
            cloudflare_zone_id: b.cloudflare_zone_id,
            tunnel_id: b.tunnel_id,
            tunnel_name: b.tunnel_name,
            tunnel_mode: b.tunnel_mode,
            cloudflared_config_path: b.cloudflared_config_path,
            cloudflared_restart: b.cloudflared_restart,
            cloudflared_container: b.cloudflared_container,
            cloudflared_restart_command: b.cloudflared_restart_command,
            route_grace_seconds: b.route_grace_seconds,
            workspaces_root: b.workspaces_root,
            subdomain_rule: b.subdomain_rule,
        }
    }
}

/// Changes settings (admin only). Every field is validated first; changed tokens are then
/// checked against their APIs (a rejection is a 422 and changes nothing; an unreachable API
/// saves the token unchecked and says so in `checks`). Records `SettingsChanged` and, per
/// changed secret, `SecretChanged`/`SecretCleared` carrying only a fingerprint. Optional
/// `If-Match: "<version>"`.
#[utoipa::path(
    put, path = "/api/settings", tag = "settings",
    params(("If-Match" = Option<String>, Header, description = "Expected settings version")),
    request_body = UpdateSettings,
    responses(
        (status = 200, description = "The settings after the change", body = SettingsView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, description = "Stale If-Match or a concurrent change", body = ErrorBody),
        (status = 422, description = "A field is invalid or a token was rejected by its API", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn put_settings(
    State(state): State<AppState>,
    ctx: CommandContext,
    IfMatch(expected): IfMatch,
    ApiJson(body): ApiJson<UpdateSettings>,
) -> ApiResult<impl IntoResponse> {
    ctx.user.require_admin()?;
    let current = state.settings.load().await.map_err(store_error)?;
    if let Some(expected) = expected.filter(|e| *e != current.version) {
        return Err(ApiError::Conflict(format!(
            "the settings are at version {}, the request expected version {expected}; read them again",
            current.version
        )));
    }
    let (values, secrets) = apply_patch(&current.values, body.into())?;
    // A stored token is never sent to a host it was not given for: moving an API URL needs the
    // token again (else an admin could send the stored token to a server of theirs).
    let moved = |old: &str, new: &str, secret: SecretName, sent: bool| old != new && current.secrets.contains_key(&secret) && !sent;
    if moved(&current.values.github_api_url, &values.get().github_api_url, SecretName::GithubToken, secrets.github_token.is_some()) {
        return Err(ApiError::Validation(ValidationError::new(
            "github_token",
            "changing github_api_url needs github_token again (a stored token is never sent to a new host)",
        )));
    }
    if moved(&current.values.cloudflare_api_url, &values.get().cloudflare_api_url, SecretName::CloudflareApiToken, secrets.cloudflare_api_token.is_some()) {
        return Err(ApiError::Validation(ValidationError::new(
            "cloudflare_api_token",
            "changing cloudflare_api_url needs cloudflare_api_token again (a stored token is never sent to a new host)",
        )));
    }
    if moved(&current.values.github_web_url, &values.get().github_web_url, SecretName::GithubClientSecret, secrets.github_client_secret.is_some()) {
        return Err(ApiError::Validation(ValidationError::new(
            "github_client_secret",
            "changing github_web_url needs github_client_secret again (a stored secret is never sent to a new host)",
        )));
    }
    let redactor = state.settings.redactor();
    let mut checks = Vec::new();
    if let Some(Some(token)) = &secrets.github_token {
        checks.push(state.token_checks.github(&values.get().github_api_url, token, redactor).await?);
    }
    if let Some(Some(token)) = &secrets.cloudflare_api_token {
        checks.push(state.token_checks.cloudflare(&values.get().cloudflare_api_url, token, redactor).await?);
    }
    let after = match state.settings.change(values, secrets, current.version, &ctx.metadata).await {
        Ok(after) => after,
        Err(ChangeError::Command(error)) => return Err(error.into()),
        Err(ChangeError::Store(error)) => return Err(store_error(error)),
    };
    if after.version != current.version {
        tracing::info!(settings.version = after.version, "settings changed");
    }
    let mut view = SettingsView::of(&after);
    view.checks = checks;
    Ok(([(header::ETAG, format!("\"{}\"", view.version))], axum::Json(view)))
}

/// A settings store failure: 503 when Postgres is unreachable, else 500.
pub fn store_error(error: anyhow::Error) -> ApiError {
    match error.downcast::<sqlx::Error>() {
        Ok(sql) => sql.into(),
        Err(other) => ApiError::Internal(other),
    }
}
