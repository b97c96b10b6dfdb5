//! Events of the `GithubDelivery` aggregate: GitHub webhook deliveries the panel accepted
//! (aggregate type `github_delivery`, one aggregate per delivery, id
//! [`delivery_aggregate_id`] of GitHub's `X-GitHub-Delivery` GUID).
//!
//! One aggregate per delivery id is what makes a replayed delivery harmless: the aggregate
//! refuses a second receipt, so a delivery GitHub (or anyone holding a captured request) sends
//! again records nothing and queues nothing.

use cqrs_es::DomainEvent;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Aggregate type under which delivery events are stored and published.
pub const AGGREGATE_TYPE: &str = "github_delivery";

/// The aggregate id of the delivery GitHub names `delivery_id` (its `X-GitHub-Delivery`
/// header): a UUIDv5 of it, so every receipt of one delivery lands on one aggregate.
pub fn delivery_aggregate_id(delivery_id: &str) -> Uuid {
    /// Namespace of delivery aggregate ids (a random UUID, fixed forever).
    const NAMESPACE: Uuid = Uuid::from_u128(0x3b1e_52c4_7a0d_4e96_8f21_c5d9_0a6b_e374);
    Uuid::new_v5(&NAMESPACE, delivery_id.as_bytes())
}

/// Every fact about a delivery. Serialised externally tagged, e.g.
/// `{"GithubPushReceived":{"delivery_id":"…","repo":"octo/shop","ref":"refs/heads/main",…}}`.
/// Every string is bounded (`warp_domain::bounded::short`, ≤ 256 bytes, one line).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum GithubDeliveryEvent {
    /// GitHub delivered a `push` event with a valid `X-Hub-Signature-256`.
    GithubPushReceived {
        /// GitHub's `X-GitHub-Delivery` GUID.
        delivery_id: String,
        /// `repository.full_name`: `owner/name` as GitHub spells it.
        repo: String,
        /// The full ref pushed: `refs/heads/<branch>` or `refs/tags/<tag>`.
        #[serde(rename = "ref")]
        git_ref: String,
        /// The commit the ref points at after the push (40 hex digits; all zeros for a
        /// deletion).
        after: String,
        /// Whether the push deleted the ref.
        deleted: bool,
        /// `repository.default_branch`, what a project deployed at `HEAD` follows.
        default_branch: Option<String>,
        /// Who pushed: `pusher.name` (a GitHub login for pushes over git).
        pusher: Option<String>,
    },
}

impl GithubDeliveryEvent {
    /// Event type names, as stored in `events.event_type`, one per variant.
    pub const TYPES: [&'static str; 1] = ["GithubPushReceived"];
}

impl DomainEvent for GithubDeliveryEvent {
    fn event_type(&self) -> String {
        match self {
            GithubDeliveryEvent::GithubPushReceived { .. } => "GithubPushReceived".to_owned(),
        }
    }

    fn event_version(&self) -> String {
        "1.0".to_owned()
    }
}

/// What the panel did about the webhook on a project's repository
/// ([`crate::ProjectEvent::GithubWebhookEnsured`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WebhookChange {
    /// No hook pointed at the panel: one was created.
    Created,
    /// The panel's hook existed with other settings (events, content type, secret, inactive):
    /// it was updated.
    Updated,
    /// The panel's hook existed as wanted, with the secret the project's last
    /// `GithubWebhookEnsured` recorded (GitHub never shows a hook's secret, so the fingerprint
    /// recorded then is what tells): nothing was sent.
    Unchanged,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_delivery_id_is_one_aggregate() {
        let id = "72d3162e-cc78-11e3-81ab-4c9367dc0958";
        assert_eq!(delivery_aggregate_id(id), delivery_aggregate_id(id));
        assert_ne!(delivery_aggregate_id(id), delivery_aggregate_id("72d3162e-cc78-11e3-81ab-4c9367dc0959"));
    }
}
