use cqrs_es::test::TestFramework;
use warp_events::settings::{SecretName, SettingsEvent, TunnelMode};

use super::*;

type SettingsTest = TestFramework<Settings>;

fn patch(json: serde_json::Value) -> RawSettingsPatch {
    serde_json::from_value(json).unwrap()
}

fn values(json: serde_json::Value) -> ValidValues {
    apply_patch(&default_values(), patch(json)).unwrap().0
}

fn change(json: serde_json::Value, secrets: &[(SecretName, SecretUpdate)], expected: Option<u64>) -> SettingsCommand {
    SettingsCommand::Change {
        values: values(json),
        secrets: secrets.iter().cloned().collect(),
        expected_version: expected,
    }
}

#[test]
fn a_change_records_the_changed_fields_and_every_value() {
    let expected = values(serde_json::json!({"base_domain": "Apps.Example.com"})).into_inner();
    SettingsTest::with(())
        .given_no_previous_events()
        .when(change(serde_json::json!({"base_domain": "Apps.Example.com"}), &[], Some(0)))
        .then_expect_events(vec![SettingsEvent::SettingsChanged {
            changed: vec!["base_domain".to_owned()],
            values: Box::new(expected),
        }]);
}

#[test]
fn a_secret_change_records_only_its_fingerprint() {
    SettingsTest::with(())
        .given_no_previous_events()
        .when(change(serde_json::json!({}), &[(SecretName::GithubToken, SecretUpdate::Set("1a2b3c4d".into()))], None))
        .then_expect_events(vec![SettingsEvent::SecretChanged {
            name: SecretName::GithubToken,
            fingerprint: "1a2b3c4d".into(),
        }]);
}

#[test]
fn unchanged_values_and_secrets_record_nothing() {
    let given = SettingsEvent::SecretChanged { name: SecretName::GithubToken, fingerprint: "1a2b3c4d".into() };
    SettingsTest::with(())
        .given(vec![given])
        .when(change(
            serde_json::json!({"github_api_url": "https://api.github.com/"}),
            &[
                (SecretName::GithubToken, SecretUpdate::Set("1a2b3c4d".into())),
                (SecretName::CloudflareApiToken, SecretUpdate::Clear),
            ],
            None,
        ))
        .then_expect_events(vec![]);
}

#[test]
fn clearing_a_set_secret_records_that_it_was_cleared() {
    let given = SettingsEvent::SecretChanged { name: SecretName::CloudflareApiToken, fingerprint: "00ff00ff".into() };
    SettingsTest::with(())
        .given(vec![given])
        .when(change(serde_json::json!({}), &[(SecretName::CloudflareApiToken, SecretUpdate::Clear)], Some(1)))
        .then_expect_events(vec![SettingsEvent::SecretCleared { name: SecretName::CloudflareApiToken }]);
}

#[test]
fn a_change_at_a_stale_version_is_refused() {
    let given = SettingsEvent::SecretCleared { name: SecretName::GithubToken };
    SettingsTest::with(())
        .given(vec![given])
        .when(change(serde_json::json!({"base_domain": "a.example.com"}), &[], Some(0)))
        .then_expect_error(SettingsError::VersionMismatch { expected: 0, actual: 1 });
}

#[test]
fn a_patch_validates_each_field_and_names_the_one_that_is_wrong() {
    let error = apply_patch(&default_values(), patch(serde_json::json!({"base_domain": "https://x.com"}))).unwrap_err();
    assert_eq!(error.field, "base_domain");
    let error = apply_patch(&default_values(), patch(serde_json::json!({"template_repos": ["ok/repo", "bad"]}))).unwrap_err();
    assert_eq!(error.field, "template_repos");
    let error = apply_patch(&default_values(), patch(serde_json::json!({"github_api_url": null}))).unwrap_err();
    assert_eq!((error.field.as_str(), error.message.as_str()), ("github_api_url", "cannot be cleared; give a value"));
    let error = apply_patch(&default_values(), patch(serde_json::json!({"tunnel_mode": "sideways"}))).unwrap_err();
    assert_eq!(error.field, "tunnel_mode");
    let error = apply_patch(&default_values(), patch(serde_json::json!({"github_token": "x"}))).unwrap_err();
    assert_eq!(error.field, "github_token");
}

#[test]
fn a_patch_checks_settings_that_depend_on_each_other() {
    let error = apply_patch(&default_values(), patch(serde_json::json!({"tunnel_mode": "local"}))).unwrap_err();
    assert_eq!(error.field, "cloudflared_config_path");
    let error = apply_patch(&default_values(), patch(serde_json::json!({"cloudflared_restart": "container"}))).unwrap_err();
    assert_eq!(error.field, "cloudflared_container");
    let (ok, _) = apply_patch(
        &default_values(),
        patch(serde_json::json!({"tunnel_mode": "local", "cloudflared_config_path": "/etc/cloudflared/config.yml"})),
    )
    .unwrap();
    assert_eq!(ok.get().tunnel_mode, TunnelMode::Local);
}

#[test]
fn list_settings_drop_duplicates_case_insensitively() {
    let v = values(serde_json::json!({"allowed_users": ["Octo", "octo", "hubot"]}));
    assert_eq!(v.get().allowed_users, vec!["Octo".to_owned(), "hubot".to_owned()]);
}

#[test]
fn the_workspaces_root_may_not_be_a_system_folder() {
    for bad in ["/", "/etc", "/etc/warp", "/usr/local/warp", "/proc/1", "/run/x"] {
        let error = apply_patch(&default_values(), patch(serde_json::json!({"workspaces_root": bad}))).expect_err(bad);
        assert_eq!(error.field, "workspaces_root", "{bad}");
    }
    for good in ["/var/lib/warp/workspaces", "/srv/apps", "/home/ops/apps", "/etcetera"] {
        assert!(apply_patch(&default_values(), patch(serde_json::json!({"workspaces_root": good}))).is_ok(), "{good}");
    }
}

#[test]
fn login_settings_are_validated_and_the_idle_timeout_may_not_exceed_the_absolute_one() {
    let v = values(serde_json::json!({
        "allowed_users": ["octocat", "583231"], "admins": ["Hubot"], "allowed_orgs": ["octo-org"],
        "github_client_id": "Ov23liAbc.def_1", "public_url": "https://Panel.Example.com/",
        "session_idle_seconds": 600, "session_absolute_seconds": 3600,
    }));
    assert_eq!(v.get().public_url.as_deref(), Some("https://panel.example.com"));
    assert_eq!((v.get().session_idle_seconds, v.get().session_absolute_seconds), (600, 3600));
    for (field, bad) in [
        ("allowed_users", serde_json::json!(["0123"])),
        ("admins", serde_json::json!(["-x"])),
        ("allowed_orgs", serde_json::json!(["a b"])),
        ("github_client_id", serde_json::json!("-rf")),
        ("public_url", serde_json::json!("https://panel.example.com/app")),
        ("session_idle_seconds", serde_json::json!(10)),
        ("session_absolute_seconds", serde_json::json!(99_999_999)),
        ("github_client_secret", serde_json::json!("short")),
    ] {
        let error = apply_patch(&default_values(), patch(serde_json::json!({ field: bad }))).expect_err(field);
        assert_eq!(error.field, field);
    }
    let error = apply_patch(&default_values(), patch(serde_json::json!({"session_idle_seconds": 7200, "session_absolute_seconds": 3600})))
        .expect_err("idle longer than absolute");
    assert_eq!(error.field, "session_idle_seconds");
}

#[test]
fn settings_stored_before_login_existed_read_with_login_defaults() {
    let mut old = serde_json::to_value(default_values()).unwrap();
    for field in ["allowed_orgs", "admins", "github_client_id", "public_url", "session_idle_seconds", "session_absolute_seconds"] {
        old.as_object_mut().unwrap().remove(field);
    }
    let read: warp_events::SettingValues = serde_json::from_value(old).unwrap();
    assert_eq!(read, default_values());
}
