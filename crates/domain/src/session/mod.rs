//! The `Session` aggregate: one GitHub login attempt that reached GitHub (aggregate type
//! `session`, id a UUIDv7 chosen by the API). It is either refused (its only event) or starts
//! a session, which ends once.
//!
//! [`Allowlist`] is the rule of who is admitted and with which role; the API applies it at
//! login and again while the session lives.

mod allowlist;

use chrono::{DateTime, Utc};
use cqrs_es::event_sink::EventSink;
use cqrs_es::Aggregate;
use serde::{Deserialize, Serialize};
use warp_events::session::{AdmittedBy, EndReason, RefusalReason, SessionEvent};

pub use allowlist::Allowlist;

/// Commands of the `Session` aggregate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionCommand {
    /// Record an admitted login: emits `SessionStarted`. Only on a new aggregate.
    Start {
        github_user_id: u64,
        login: String,
        /// `admin` or `member`.
        role: String,
        admitted_by: AdmittedBy,
        org: Option<String>,
        expires_at: DateTime<Utc>,
    },
    /// Record a refused login: emits `LoginRefused`. Only on a new aggregate.
    RefuseLogin { github_user_id: Option<u64>, login: Option<String>, reason: RefusalReason, detail: Option<String> },
    /// End a live session: emits `SessionEnded`.
    End { reason: EndReason },
}

/// Why the aggregate refuses a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("this login attempt is already recorded")]
    AlreadyRecorded,
    #[error("no session was started under this id")]
    NotStarted,
    #[error("the session has already ended")]
    AlreadyEnded,
}

/// Where a login attempt stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionStatus {
    /// Nothing recorded yet.
    #[default]
    New,
    Refused,
    Active,
    Ended,
}

/// State of one login attempt, rebuilt from its events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub status: SessionStatus,
    pub login: Option<String>,
}

impl Aggregate for Session {
    const TYPE: &'static str = warp_events::session::AGGREGATE_TYPE;
    type Command = SessionCommand;
    type Event = SessionEvent;
    type Error = SessionError;
    type Services = ();

    async fn handle(&mut self, command: Self::Command, _: &Self::Services, sink: &EventSink<Self>) -> Result<(), Self::Error> {
        let event = match command {
            SessionCommand::Start { github_user_id, login, role, admitted_by, org, expires_at } => {
                if self.status != SessionStatus::New {
                    return Err(SessionError::AlreadyRecorded);
                }
                SessionEvent::SessionStarted { github_user_id, login, role, admitted_by, org, expires_at }
            }
            SessionCommand::RefuseLogin { github_user_id, login, reason, detail } => {
                if self.status != SessionStatus::New {
                    return Err(SessionError::AlreadyRecorded);
                }
                SessionEvent::LoginRefused { github_user_id, login, reason, detail }
            }
            SessionCommand::End { reason } => match self.status {
                SessionStatus::Active => SessionEvent::SessionEnded { reason },
                SessionStatus::Ended => return Err(SessionError::AlreadyEnded),
                SessionStatus::New | SessionStatus::Refused => return Err(SessionError::NotStarted),
            },
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: Self::Event) {
        match event {
            SessionEvent::SessionStarted { login, .. } => {
                self.status = SessionStatus::Active;
                self.login = Some(login);
            }
            SessionEvent::LoginRefused { login, .. } => {
                self.status = SessionStatus::Refused;
                self.login = login;
            }
            SessionEvent::SessionEnded { .. } => self.status = SessionStatus::Ended,
        }
    }
}

#[cfg(test)]
mod tests {
    use cqrs_es::test::TestFramework;

    use super::*;

    fn started() -> SessionEvent {
        SessionEvent::SessionStarted {
            github_user_id: 1,
            login: "octocat".into(),
            role: "member".into(),
            admitted_by: AdmittedBy::AllowedUser,
            org: None,
            expires_at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        }
    }

    #[test]
    fn a_started_session_ends_once() {
        TestFramework::<Session>::with(())
            .given(vec![started()])
            .when(SessionCommand::End { reason: EndReason::Logout })
            .then_expect_events(vec![SessionEvent::SessionEnded { reason: EndReason::Logout }]);
        TestFramework::<Session>::with(())
            .given(vec![started(), SessionEvent::SessionEnded { reason: EndReason::Logout }])
            .when(SessionCommand::End { reason: EndReason::IdleTimeout })
            .then_expect_error(SessionError::AlreadyEnded);
    }

    #[test]
    fn a_refused_login_has_no_session_to_end() {
        let refused = SessionEvent::LoginRefused { github_user_id: Some(2), login: Some("eve".into()), reason: RefusalReason::NotAllowlisted, detail: None };
        TestFramework::<Session>::with(())
            .given(vec![refused])
            .when(SessionCommand::End { reason: EndReason::Logout })
            .then_expect_error(SessionError::NotStarted);
    }
}
