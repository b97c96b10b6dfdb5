//! The `GithubDelivery` aggregate: one GitHub webhook delivery (aggregate type
//! `github_delivery`, id `warp_events::github_delivery::delivery_aggregate_id` of the delivery GUID).
//!
//! It is the one place that decides a delivery is new: the first `ReceivePush` records
//! `GithubPushReceived`, any later one for the same delivery id is refused
//! ([`DeliveryError::AlreadyReceived`]). Two receipts racing each other both try to append the
//! aggregate's first event; the event store's primary key lets one through and the other's
//! retry is refused the same way.

use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use warp_events::GithubDeliveryEvent;

use crate::bounded;

/// Commands of the `GithubDelivery` aggregate. The fields come from a delivery whose signature
/// was checked; `handle` bounds every string (one line, ≤ 256 bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryCommand {
    /// Record a `push` delivery: emits `GithubPushReceived`. Only on a new aggregate.
    ReceivePush {
        delivery_id: String,
        repo: String,
        git_ref: String,
        after: String,
        deleted: bool,
        default_branch: Option<String>,
        pusher: Option<String>,
    },
}

/// Why the aggregate refuses a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// This delivery id was received before (GitHub's redelivery, or a replayed request).
    #[error("this delivery was already received")]
    AlreadyReceived,
}

/// State of one delivery, rebuilt from its events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GithubDelivery {
    pub received: bool,
}

impl Aggregate for GithubDelivery {
    const TYPE: &'static str = warp_events::github_delivery::AGGREGATE_TYPE;
    type Command = DeliveryCommand;
    type Event = GithubDeliveryEvent;
    type Error = DeliveryError;
    type Services = ();

    async fn handle(&mut self, command: Self::Command, _: &Self::Services, sink: &EventSink<Self>) -> Result<(), Self::Error> {
        match command {
            DeliveryCommand::ReceivePush { delivery_id, repo, git_ref, after, deleted, default_branch, pusher } => {
                if self.received {
                    return Err(DeliveryError::AlreadyReceived);
                }
                let event = GithubDeliveryEvent::GithubPushReceived {
                    delivery_id: bounded::short(&delivery_id),
                    repo: bounded::short(&repo),
                    git_ref: bounded::short(&git_ref),
                    after: bounded::short(&after),
                    deleted,
                    default_branch: bounded::short_opt(default_branch),
                    pusher: bounded::short_opt(pusher),
                };
                sink.write(event, self).await;
            }
        }
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            GithubDeliveryEvent::GithubPushReceived { .. } => self.received = true,
        }
    }
}

#[cfg(test)]
mod tests {
    use cqrs_es::test::TestFramework;

    use super::*;

    fn push(delivery_id: &str, pusher: &str) -> DeliveryCommand {
        DeliveryCommand::ReceivePush {
            delivery_id: delivery_id.into(),
            repo: "octo/shop".into(),
            git_ref: "refs/heads/main".into(),
            after: "a".repeat(40),
            deleted: false,
            default_branch: Some("main".into()),
            pusher: Some(pusher.into()),
        }
    }

    #[test]
    fn a_push_delivery_is_recorded_once_with_bounded_fields() {
        let long_pusher = format!("octo\n{}", "x".repeat(1000));
        let recorded = GithubDeliveryEvent::GithubPushReceived {
            delivery_id: "d-1".into(),
            repo: "octo/shop".into(),
            git_ref: "refs/heads/main".into(),
            after: "a".repeat(40),
            deleted: false,
            default_branch: Some("main".into()),
            pusher: Some(bounded::short(&long_pusher)),
        };
        TestFramework::<GithubDelivery>::with(())
            .given_no_previous_events()
            .when(push("d-1", &long_pusher))
            .then_expect_events(vec![recorded.clone()]);
        let GithubDeliveryEvent::GithubPushReceived { pusher, .. } = &recorded;
        assert!(pusher.as_ref().unwrap().len() <= bounded::MAX_SHORT_BYTES && !pusher.as_ref().unwrap().contains('\n'));
        TestFramework::<GithubDelivery>::with(())
            .given(vec![recorded])
            .when(push("d-1", "octo"))
            .then_expect_error(DeliveryError::AlreadyReceived);
    }
}
