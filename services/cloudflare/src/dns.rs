//! The DNS step of a route: a proxied CNAME `<hostname>` → `<tunnel-id>.cfargotunnel.com`.
//!
//! The record is looked up first (Cloudflare answers 81053/81057 to a create whose name is
//! taken). It is the panel's when its comment starts with [`RECORD_COMMENT_PREFIX`]; the
//! comment names the project. A record of the panel's is reused (and pointed at the tunnel,
//! proxied, commented for this project, when it is not already), unless another live
//! project owns it; any other record is a conflict that names it.

use uuid::Uuid;
use warp_domain::validate::hostname::normalize;
use warp_domain::validate::Hostname;

use crate::client::{CloudflareApi, CloudflareError, DnsRecord, NewDnsRecord};
use crate::tunnel::{record_comment, TunnelSettings, RECORD_COMMENT_PREFIX};

/// Who holds a hostname in the panel's `cloudflare_routes` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holder {
    pub project_id: Uuid,
    /// Whether its unpublish is scheduled (then another project may take the name over).
    pub unpublishing: bool,
}

/// Makes sure `hostname` is the panel's CNAME to the tunnel for `project_id`; returns the
/// record id. `log` receives one line per decision.
pub async fn ensure_record(
    api: &dyn CloudflareApi,
    settings: &TunnelSettings,
    hostname: &Hostname,
    project_id: Uuid,
    holder: Option<Holder>,
    log: &(dyn Fn(&str) + Send + Sync),
) -> Result<String, String> {
    let wanted = NewDnsRecord {
        record_type: "CNAME".into(),
        name: hostname.as_str().to_owned(),
        content: settings.cname_target(),
        proxied: true,
        ttl: 1,
        comment: Some(record_comment(project_id)),
    };
    for _ in 0..2 {
        let existing = lookup(api, settings, hostname).await?;
        let Some(record) = existing.first() else {
            match api.create_dns_record(&settings.zone_id, &wanted).await {
                Ok(created) => {
                    log(&format!("DNS: created proxied CNAME {} → {}", hostname, wanted.content));
                    return Ok(created.id);
                }
                Err(CloudflareError::RecordExists { code }) => {
                    log(&format!("DNS: Cloudflare says the record exists (code {code}); looking it up again"));
                    continue;
                }
                Err(error) => return Err(format!("DNS: creating {hostname}: {error}")),
            }
        };
        let ours = record.comment.as_deref().is_some_and(|c| c.starts_with(RECORD_COMMENT_PREFIX));
        let held_by_other = holder.is_some_and(|h| h.project_id != project_id && !h.unpublishing);
        if !ours || held_by_other || existing.len() > 1 {
            return Err(conflict(hostname, record, held_by_other));
        }
        let points = record.record_type == "CNAME" && normalize(&record.content) == wanted.content && record.proxied;
        if points && record.comment == wanted.comment {
            log(&format!("DNS: {hostname} already is the panel's CNAME to the tunnel"));
            return Ok(record.id.clone());
        }
        api.update_dns_record(&settings.zone_id, &record.id, &wanted)
            .await
            .map_err(|e| format!("DNS: updating {hostname}: {e}"))?;
        log(&format!("DNS: pointed the panel's record {hostname} at the tunnel for this project"));
        return Ok(record.id.clone());
    }
    Err(format!("DNS: {hostname} exists but could not be read back; try again"))
}

/// Deletes the panel's record for `hostname` (only one whose comment marks it as the
/// panel's). Returns whether one was deleted.
pub async fn remove_record(
    api: &dyn CloudflareApi,
    settings: &TunnelSettings,
    hostname: &Hostname,
    log: &(dyn Fn(&str) + Send + Sync),
) -> Result<bool, String> {
    let existing = lookup(api, settings, hostname).await?;
    let mut removed = false;
    for record in existing.iter().filter(|r| r.comment.as_deref().is_some_and(|c| c.starts_with(RECORD_COMMENT_PREFIX))) {
        match api.delete_dns_record(&settings.zone_id, &record.id).await {
            Ok(()) | Err(CloudflareError::Api { status: 404, .. }) => {
                log(&format!("DNS: deleted the panel's record {hostname}"));
                removed = true;
            }
            Err(error) => return Err(format!("DNS: deleting {hostname}: {error}")),
        }
    }
    if !removed {
        log(&format!("DNS: no record of the panel's named {hostname}; nothing to delete"));
    }
    Ok(removed)
}

async fn lookup(api: &dyn CloudflareApi, settings: &TunnelSettings, hostname: &Hostname) -> Result<Vec<DnsRecord>, String> {
    let found = api.dns_records(&settings.zone_id, hostname.as_str()).await.map_err(|e| format!("DNS: looking up {hostname}: {e}"))?;
    Ok(found.into_iter().filter(|r| normalize(&r.name) == hostname.as_str()).collect())
}

fn conflict(hostname: &Hostname, record: &DnsRecord, held_by_other: bool) -> String {
    let whose = match (&record.comment, held_by_other) {
        (_, true) => "a record of another Warp project".to_owned(),
        (Some(c), false) if !c.is_empty() => format!("not created by the panel, comment {c:?}"),
        _ => "not created by the panel".to_owned(),
    };
    format!(
        "conflict: the DNS record {} already exists ({} → {}, id {}, {whose}); remove it in Cloudflare or choose another subdomain",
        hostname, record.record_type, record.content, record.id
    )
}
