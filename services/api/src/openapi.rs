//! The OpenAPI document's header; paths come from the routes (see [`crate::openapi_document`]).

use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Warp Panel API", description = "Self-hosted deploy panel: commands append events, reads come from projections."),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "GitHub login and browser sessions"),
        (name = "projects", description = "Projects"),
        (name = "audit", description = "Audit trail"),
        (name = "events", description = "The event store"),
        (name = "tokens", description = "API tokens"),
        (name = "containers", description = "Running containers and their live logs (from the docker service)"),
        (name = "settings", description = "Runtime settings (secrets masked)"),
        (name = "tunnel", description = "The Cloudflare Tunnel: status and the configuration the panel would write"),
        (name = "github", description = "What the panel's GitHub token can see (from the github service)"),
        (name = "hooks", description = "Webhooks from outside systems (GitHub), authenticated by their signatures"),
        (name = "operations", description = "Operator tools"),
        (name = "health", description = "Health"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "warp_session",
                "Browser session from GitHub login (`__Host-warp_session` over https); state changes also need X-CSRF-Token",
            ))),
        );
    }
}

/// The document's header: info, tags, security scheme. Paths are added by the routers.
pub fn base() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

