//! Deploy env in a request: `{"NAME": "value", …}`.

use std::collections::BTreeMap;

use secrecy::{ExposeSecret as _, SecretString};
use uuid::Uuid;
use warp_domain::validate::EnvVarName;
use warp_domain::ValidationError;

/// Most variables in one deploy env.
pub const MAX_VARS: usize = 100;
/// Longest value, bytes.
pub const MAX_VALUE_LEN: usize = 4096;

/// Registers `vars` as project `project_id`'s deploy env with the redactor (values it held
/// before stay masked), so that project's relayed log lines mask them at once. They mask only
/// that project's output (see `Redactor::set_project_secrets`): its jobs' logs (scope: the
/// project id) and its containers' logs (scope: its compose project).
pub fn register(
    redactor: &warp_platform::redact::Redactor,
    project_id: Uuid,
    compose_project: &str,
    vars: &BTreeMap<EnvVarName, SecretString>,
) {
    let values: Vec<String> = vars.values().map(|v| v.expose_secret().to_owned()).collect();
    redactor.set_project_secrets(&project_id.to_string(), values.clone());
    redactor.set_project_secrets(compose_project, values);
}

/// Validates names (env var name rule) and values: at most [`MAX_VALUE_LEN`] bytes, and none of
/// `'`, `\`, `${`, a line break or NUL. Values are written single-quoted to compose's env
/// file, and these are what one of the compose front ends does not read back literally there
/// (checked with docker-compose 1.29.2 on python-dotenv 0.21, and compose-go's dotenv parser of
/// compose v2): a quote or line break ends the value, v1 turns `\\` into `\` and a trailing
/// `\` swallows the closing quote (v2 too), and v1 interpolates `${NAME}` even inside single
/// quotes. Values are any other text, kept byte-exact; they are secrets from here on.
///
/// # Errors
/// A [`ValidationError`] under `env.<NAME>` (never quoting the value).
pub fn parse(raw: BTreeMap<String, String>) -> Result<BTreeMap<EnvVarName, SecretString>, ValidationError> {
    if raw.len() > MAX_VARS {
        return Err(ValidationError::new("env", format!("at most {MAX_VARS} variables")));
    }
    let mut vars = BTreeMap::new();
    for (name, value) in raw {
        // The field names the variable (cut, so a huge key does not come back whole).
        let shown: String = name.chars().take(64).collect();
        let name = EnvVarName::parse(&format!("env.{shown}"), &name)?;
        let field = format!("env.{}", name.as_str());
        if value.len() > MAX_VALUE_LEN {
            return Err(ValidationError::new(field, format!("is longer than {MAX_VALUE_LEN} bytes")));
        }
        if value.contains(['\'', '\\', '\n', '\r', '\0']) || value.contains("${") {
            return Err(ValidationError::new(
                field,
                "must not contain a single quote, a backslash, \"${\", a line break or NUL (compose's env file cannot carry them literally)",
            ));
        }
        vars.insert(name, SecretString::from(value));
    }
    Ok(vars)
}

/// Who a new project is: its id, name, subdomain and compose project.
pub(super) struct NewProject<'a> {
    pub id: Uuid,
    pub name: &'a warp_domain::validate::ProjectName,
    pub subdomain: Option<&'a warp_domain::validate::Subdomain>,
    pub compose_project: &'a warp_domain::validate::ComposeProjectName,
}

/// Creates project `new` whose deploy env is `env`, by `command` (given the values'
/// fingerprints): the name and
/// subdomain are claimed first (409 when taken), the values stored encrypted, then the command
/// runs. When a step fails, the claims and the stored values go again and nothing is recorded.
/// On success the values are registered with the redactor for the project's output.
///
/// # Errors
/// 409 for a taken name or subdomain; what the command's aggregate refused; 500 for storage.
pub(super) async fn create_with_env(
    state: &crate::AppState,
    ctx: &crate::routes::CommandContext,
    new: NewProject<'_>,
    env: &BTreeMap<EnvVarName, SecretString>,
    command: impl FnOnce(BTreeMap<EnvVarName, String>) -> warp_domain::ProjectCommand,
) -> crate::error::ApiResult<()> {
    use crate::error::ApiError;
    use warp_store::project_names;

    let NewProject { id, name, subdomain, compose_project } = new;
    let label = subdomain.map(|s| s.as_str());
    if let Some(which) = project_names::claim_new_project(&state.pool, name.as_str(), label, id).await? {
        return Err(super::create::taken(which, name.as_str(), label));
    }
    let store = warp_store::deploy_env::DeployEnvStore::new(state.pool.clone(), state.settings.keyring().clone());
    let created = async {
        let fingerprints = store.store(id, env).await.map_err(ApiError::Internal)?;
        warp_store::event_store::execute_project(&state.projects, id, command(fingerprints), &ctx.metadata)
            .await
            .map_err(ApiError::from)
    };
    if let Err(error) = created.await {
        // Nothing refers to the values stored for this id: delete them with the name claim.
        store.delete_all(id).await?;
        project_names::release_new_project(&state.pool, name.as_str(), id).await?;
        return Err(error);
    }
    register(state.settings.redactor(), id, compose_project.as_str(), env);
    Ok(())
}
