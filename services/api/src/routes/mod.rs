//! One module per area; one file per action.

pub mod audit;
pub mod auth;
pub mod containers;
pub mod dead_letters;
pub mod events;
pub mod github;
pub mod health;
pub mod hooks;
pub mod jobs;
pub mod projects;
pub mod settings;
pub mod tokens;
pub mod tunnel;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::{Deserialize, Deserializer, Serialize};
use warp_events::EventMetadata;

use crate::error::ApiError;
use crate::extract::CurrentUser;
use crate::request_id::RequestIds;

/// Who issues a command and under which ids: becomes the events' metadata.
#[derive(Debug, Clone)]
pub struct CommandContext {
    pub user: CurrentUser,
    pub metadata: EventMetadata,
}

impl<S: Send + Sync> FromRequestParts<S> for CommandContext {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        let ids = parts.extensions.get::<RequestIds>().cloned();
        let metadata = EventMetadata {
            actor: Some(user.0.login.clone()),
            request_id: ids.as_ref().map(|i| i.request_id.clone()),
            correlation_id: ids.map(|i| i.correlation_id),
            causation_id: None,
        };
        Ok(Self { user, metadata })
    }
}

/// A page of items and the cursor of the next page (`null` on the last page).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T, C> {
    pub items: Vec<T>,
    pub next_cursor: Option<C>,
}

impl<T, C> Page<T, C> {
    /// A page from `items` fetched with `limit`: a full page has a next cursor, from `cursor`.
    pub fn new(items: Vec<T>, limit: i64, cursor: impl Fn(&T) -> C) -> Self {
        let next_cursor = if items.len() as i64 == limit { items.last().map(cursor) } else { None };
        Self { items, next_cursor }
    }
}

/// Serde helper for `Option<Option<T>>` fields: absent → `None`, `null` → `Some(None)`.
pub fn present<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
