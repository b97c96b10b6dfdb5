//! The master key and the settings store at start-up: opening (with the key check), seeding
//! settings from the environment at first boot, and `warp secrets …`.

use std::fmt;

use anyhow::Context;
use clap::Subcommand;
use sqlx::PgPool;
use warp_domain::settings::{apply_patch, RawSettingsPatch};
use warp_events::EventMetadata;
use warp_platform::redact::Redactor;
use warp_platform::secret_key::{SecretKey, SecretKeyArgs};
use warp_store::settings::{self, SettingsStore};

/// `warp secrets …`.
#[derive(Debug, Subcommand)]
pub enum SecretsAction {
    /// Re-encrypt every stored secret under a new master key, in one transaction. The current
    /// key comes from WARP_SECRET_KEY / WARP_SECRET_KEY_FILE.
    Rotate {
        /// The new key (base64 of 32 random bytes).
        #[arg(long = "new-key", env = "WARP_NEW_SECRET_KEY", hide_env_values = true)]
        new_key: String,
    },
    /// Check that the master key opens the stored secrets (exit status 1 if not).
    Check,
    /// Print a new random master key (base64).
    GenerateKey,
}

/// Settings seeded from the environment at first boot (when no settings event exists yet).
/// Afterwards they are ignored: settings change only through `PUT /api/settings`. Lists are
/// comma-separated.
#[derive(Clone, Default, clap::Args)]
#[command(next_help_heading = "Settings seeded at first boot")]
pub struct SeedArgs {
    #[arg(long = "seed-base-domain", env = "WARP_BASE_DOMAIN", global = true)]
    pub base_domain: Option<String>,
    #[arg(long = "seed-github-token", env = "WARP_GITHUB_TOKEN", hide_env_values = true, global = true)]
    pub github_token: Option<String>,
    #[arg(long = "seed-github-api-url", env = "WARP_GITHUB_API_URL", global = true)]
    pub github_api_url: Option<String>,
    #[arg(long = "seed-github-web-url", env = "WARP_GITHUB_WEB_URL", global = true)]
    pub github_web_url: Option<String>,
    #[arg(long = "seed-template-repos", env = "WARP_TEMPLATE_REPOS", global = true)]
    pub template_repos: Option<String>,
    #[arg(long = "seed-allowed-users", env = "WARP_ALLOWED_USERS", global = true)]
    pub allowed_users: Option<String>,
    #[arg(long = "seed-allowed-org", env = "WARP_ALLOWED_ORG", global = true)]
    pub allowed_org: Option<String>,
    #[arg(long = "seed-allowed-orgs", env = "WARP_ALLOWED_ORGS", global = true)]
    pub allowed_orgs: Option<String>,
    #[arg(long = "seed-admins", env = "WARP_ADMINS", global = true)]
    pub admins: Option<String>,
    #[arg(long = "seed-github-client-id", env = "WARP_GITHUB_CLIENT_ID", global = true)]
    pub github_client_id: Option<String>,
    #[arg(long = "seed-github-client-secret", env = "WARP_GITHUB_CLIENT_SECRET", hide_env_values = true, global = true)]
    pub github_client_secret: Option<String>,
    #[arg(long = "seed-github-webhook-secret", env = "WARP_GITHUB_WEBHOOK_SECRET", hide_env_values = true, global = true)]
    pub github_webhook_secret: Option<String>,
    #[arg(long = "seed-public-url", env = "WARP_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    #[arg(long = "seed-cloudflare-api-token", env = "WARP_CLOUDFLARE_API_TOKEN", hide_env_values = true, global = true)]
    pub cloudflare_api_token: Option<String>,
    #[arg(long = "seed-cloudflare-api-url", env = "WARP_CLOUDFLARE_API_URL", global = true)]
    pub cloudflare_api_url: Option<String>,
    #[arg(long = "seed-cloudflare-account-id", env = "WARP_CLOUDFLARE_ACCOUNT_ID", global = true)]
    pub cloudflare_account_id: Option<String>,
    #[arg(long = "seed-cloudflare-zone-id", env = "WARP_CLOUDFLARE_ZONE_ID", global = true)]
    pub cloudflare_zone_id: Option<String>,
    #[arg(long = "seed-tunnel-id", env = "WARP_TUNNEL_ID", global = true)]
    pub tunnel_id: Option<String>,
    #[arg(long = "seed-tunnel-name", env = "WARP_TUNNEL_NAME", global = true)]
    pub tunnel_name: Option<String>,
    #[arg(long = "seed-tunnel-mode", env = "WARP_TUNNEL_MODE", global = true)]
    pub tunnel_mode: Option<String>,
    #[arg(long = "seed-cloudflared-config-path", env = "WARP_CLOUDFLARED_CONFIG_PATH", global = true)]
    pub cloudflared_config_path: Option<String>,
    #[arg(long = "seed-cloudflared-restart", env = "WARP_CLOUDFLARED_RESTART", global = true)]
    pub cloudflared_restart: Option<String>,
    #[arg(long = "seed-cloudflared-container", env = "WARP_CLOUDFLARED_CONTAINER", global = true)]
    pub cloudflared_container: Option<String>,
    #[arg(long = "seed-workspaces-root", env = "WARP_WORKSPACES_ROOT", global = true)]
    pub workspaces_root: Option<String>,
    #[arg(long = "seed-subdomain-rule", env = "WARP_SUBDOMAIN_RULE", global = true)]
    pub subdomain_rule: Option<String>,
}

impl fmt::Debug for SeedArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeedArgs").finish_non_exhaustive()
    }
}

fn list(raw: Option<String>) -> Option<Option<Vec<String>>> {
    raw.map(|r| Some(r.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()))
}

impl SeedArgs {
    /// The seeds as a settings patch (unset variables leave the defaults).
    pub fn to_patch(&self) -> RawSettingsPatch {
        let s = self.clone();
        let one = |v: Option<String>| v.map(Some);
        RawSettingsPatch {
            base_domain: one(s.base_domain),
            github_token: one(s.github_token),
            github_api_url: one(s.github_api_url),
            github_web_url: one(s.github_web_url),
            template_repos: list(s.template_repos),
            allowed_users: list(s.allowed_users),
            allowed_org: one(s.allowed_org),
            allowed_orgs: list(s.allowed_orgs),
            admins: list(s.admins),
            github_client_id: one(s.github_client_id),
            github_client_secret: one(s.github_client_secret),
            github_webhook_secret: one(s.github_webhook_secret),
            public_url: one(s.public_url),
            session_idle_seconds: None,
            session_absolute_seconds: None,
            cloudflare_api_token: one(s.cloudflare_api_token),
            cloudflare_api_url: one(s.cloudflare_api_url),
            cloudflare_account_id: one(s.cloudflare_account_id),
            cloudflare_zone_id: one(s.cloudflare_zone_id),
            tunnel_id: one(s.tunnel_id),
            tunnel_name: one(s.tunnel_name),
            tunnel_mode: one(s.tunnel_mode),
            cloudflared_config_path: one(s.cloudflared_config_path),
            cloudflared_restart: one(s.cloudflared_restart),
            cloudflared_container: one(s.cloudflared_container),
            cloudflared_restart_command: None,
            route_grace_seconds: None,
            workspaces_root: one(s.workspaces_root),
            subdomain_rule: one(s.subdomain_rule),
        }
    }
}

/// Loads the master key, opens the settings store (a wrong key stops start-up here, before any
/// service runs, and changes nothing) and applies the environment seeds at first boot.
pub async fn open_settings(pool: &PgPool, key: &SecretKeyArgs, seed: &SeedArgs) -> anyhow::Result<SettingsStore> {
    let key = key.load()?;
    let store = SettingsStore::open(pool.clone(), &key, Redactor::default()).await?;
    seed_first_boot(&store, seed).await?;
    Ok(store)
}

/// Applies `seed` when the settings have never changed; a no-op afterwards.
pub async fn seed_first_boot(store: &SettingsStore, seed: &SeedArgs) -> anyhow::Result<()> {
    let current = store.load().await?;
    if current.version > 0 {
        return Ok(());
    }
    let (values, secrets) = apply_patch(&current.values, seed.to_patch()).map_err(|error| {
        let var = format!("WARP_{}", error.field.to_ascii_uppercase());
        anyhow::anyhow!("the settings seed {var} is invalid: {error}")
    })?;
    let metadata = EventMetadata { actor: Some("system:seed".to_owned()), ..Default::default() };
    match store.change(values, secrets, 0, &metadata).await {
        Ok(after) if after.version > 0 => tracing::info!(settings.version = after.version, "settings seeded from the environment"),
        Ok(_) => {}
        // Another process seeded at the same moment: its seeds win.
        Err(settings::ChangeError::Command(cqrs_es::AggregateError::AggregateConflict)) => {}
        Err(error) => return Err(anyhow::anyhow!(error).context("seeding the settings")),
    }
    Ok(())
}

/// Runs `warp secrets <action>`.
pub async fn run(pool: &PgPool, key: &SecretKeyArgs, action: SecretsAction) -> anyhow::Result<()> {
    match action {
        SecretsAction::GenerateKey => {
            println!("{}", SecretKey::generate().to_base64().as_str());
            Ok(())
        }
        SecretsAction::Check => {
            settings::Keyring::open(pool, &key.load()?).await?;
            println!("the master key opens the stored secrets");
            Ok(())
        }
        SecretsAction::Rotate { new_key } => {
            let old = key.load()?;
            let new = SecretKey::from_base64(&new_key).map_err(|why| anyhow::anyhow!("the new key {why}"))?;
            if old.bytes() == new.bytes() {
                anyhow::bail!("the new key is the current key; generate one with `warp secrets generate-key`");
            }
            let count = settings::rotate(pool, &old, &new).await.context("rotating the master key")?;
            println!(
                "re-encrypted the keyring and {count} secret(s) under the new key; \
                 start the panel with the new key in WARP_SECRET_KEY (or WARP_SECRET_KEY_FILE) from now on"
            );
            Ok(())
        }
    }
}
