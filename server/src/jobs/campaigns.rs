//! Campaign delivery. A campaign launched (`active`) or whose schedule has come (`scheduled`, at
//! `scheduled_at`) has its recipients resolved from its targeting, once; then the pending
//! recipients are sent through the [`Mailer`](super::mail::Mailer), each with its status and a
//! communication log; the counters follow the recipients, and a campaign with nobody left to send
//! to is `completed`.
//!
//! Targeting ([`AUDIENCE`]): guests not deleted nor anonymized, who gave marketing consent and can
//! be reached on the campaign's channel (an e-mail address and `contact_by_email`, or a phone and
//! `contact_by_sms`), narrowed by the audience: everyone, segments, VIP statuses, or loyalty tiers.
//!
//! Recipients are claimed with `FOR UPDATE SKIP LOCKED` in small batches, so workers share a
//! campaign without sending to anybody twice; a worker that dies mid-batch leaves its batch pending
//! (it may then be sent again: e-mail is at-least-once).

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::mail::{Mailer, Outgoing};
use crate::error::Result;

/// Recipients claimed per batch.
pub const BATCH: i64 = 20;

/// The guests a campaign reaches ($1 tenant, $2 campaign).
pub const AUDIENCE: &str = "
    select g.id, g.email, g.phone
      from public.guests g
      join public.marketing_campaigns c on c.tenant_id = g.tenant_id and c.id = $2
     where g.tenant_id = $1 and g.deleted_at is null and g.anonymized_at is null and g.marketing_consent
       and case c.type when 'email' then g.email is not null and g.contact_by_email
                       when 'sms' then g.phone is not null and g.contact_by_sms
                       else true end
       and case c.audience
             when 'segment' then g.segment = any (c.target_segments)
             when 'vip' then g.vip_status = any (c.target_vip_statuses)
             when 'loyalty_tier' then exists (
                 select 1 from public.loyalty_members m
                  where m.tenant_id = g.tenant_id and m.guest_id = g.id and m.deleted_at is null
                    and m.current_tier = any (c.target_loyalty_tiers))
             else true end";

/// What a pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CampaignPass {
    pub launched: usize,
    pub sent: usize,
    pub failed: usize,
    pub completed: usize,
}

/// Fills `{{first_name}}`, `{{last_name}}` and `{{full_name}}`; any other placeholder is an error
/// (a bad template is reported, never sent half-filled).
pub fn render(template: &str, first: &str, last: &str) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| "the template has an unclosed {{".to_owned())?;
        match after[..end].trim() {
            "first_name" => out.push_str(first),
            "last_name" => out.push_str(last),
            "full_name" => out.push_str(format!("{first} {last}").trim()),
            other => {
                return Err(format!(
                    "the template has an unknown placeholder {{{{{other}}}}}"
                ))
            }
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// One pass as of `now` (the worker passes the wall clock; tests pin it, so a seeded schedule
/// does not fall due as the calendar moves on).
pub async fn run(pool: &PgPool, mailer: &Mailer, now: DateTime<Utc>) -> Result<CampaignPass> {
    let mut pass = CampaignPass {
        launched: launch_due(pool, now).await?,
        ..CampaignPass::default()
    };
    loop {
        let (sent, failed) = send_batch(pool, mailer).await?;
        pass.sent += sent;
        pass.failed += failed;
        if sent + failed == 0 {
            break;
        }
    }
    pass.completed = complete_finished(pool).await?;
    Ok(pass)
}

/// A launched campaign with nobody left to send to ($1 tenant).
const FINISHED: &str = "
    c.tenant_id = $1 and c.status = 'active' and c.target_count > 0
    and not exists (select 1 from public.campaign_recipients r
                     where r.tenant_id = c.tenant_id and r.campaign_id = c.id and r.status = 'pending')";

/// Marks finished campaigns `completed`, one tenant per transaction with its feed head first.
async fn complete_finished(pool: &PgPool) -> Result<usize> {
    let tenants: Vec<Uuid> = sqlx::query_scalar(&format!(
        "select distinct t.id from public.tenants t
          where exists (select 1 from public.marketing_campaigns c where {})",
        FINISHED.replace("$1", "t.id")
    ))
    .fetch_all(pool)
    .await?;
    let mut completed = 0;
    for tenant in tenants {
        let mut tx = pool.begin().await?;
        super::lock_tenant_feed(&mut tx, tenant).await?;
        completed += sqlx::query(&format!(
            "update public.marketing_campaigns c set status = 'completed' where {FINISHED}"
        ))
        .bind(tenant)
        .execute(&mut *tx)
        .await?
        .rows_affected() as usize;
        tx.commit().await?;
    }
    Ok(completed)
}

/// A campaign launched or whose schedule has come, not resolved yet ($1 now).
const DUE: &str = "
    c.deleted_at is null and c.target_count = 0
    and (c.status = 'active' or (c.status = 'scheduled' and c.scheduled_at <= $1))
    and not exists (select 1 from public.campaign_recipients r
                     where r.tenant_id = c.tenant_id and r.campaign_id = c.id)";

/// Resolves the recipients of campaigns launched or due, once each.
///
/// A due campaign is found without a lock, then claimed under its tenant's feed head: the order
/// every writer of a tenant follows. A desk pushing an edit of the campaign holds the head and
/// then wants the row; a job that locked the row first and then waited for the head would close
/// a circle Postgres ends by failing one of them. Two workers on one tenant queue on the head,
/// and the second finds the campaign no longer due.
async fn launch_due(pool: &PgPool, now: DateTime<Utc>) -> Result<usize> {
    let mut launched = 0;
    loop {
        let due: Option<(Uuid, Uuid)> = sqlx::query_as(&format!(
            "select c.tenant_id, c.id from public.marketing_campaigns c where {DUE} limit 1"
        ))
        .bind(now)
        .fetch_optional(pool)
        .await?;
        let Some((tenant, campaign)) = due else {
            return Ok(launched);
        };
        let mut tx = pool.begin().await?;
        super::lock_tenant_feed(&mut tx, tenant).await?;
        let still_due: Option<Uuid> = sqlx::query_scalar(&format!(
            "select c.id from public.marketing_campaigns c
              where c.tenant_id = $2 and c.id = $3 and {DUE}
                for update"
        ))
        .bind(now)
        .bind(tenant)
        .bind(campaign)
        .fetch_optional(&mut *tx)
        .await?;
        if still_due.is_none() {
            tx.commit().await?;
            continue;
        }
        let resolved = sqlx::query(&format!(
            "insert into public.campaign_recipients (tenant_id, campaign_id, guest_id, email, phone)
             select $1, $2, a.id, a.email, a.phone from ({AUDIENCE}) a
             on conflict (tenant_id, campaign_id, guest_id) do nothing"
        ))
        .bind(tenant)
        .bind(campaign)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        sqlx::query(
            "update public.marketing_campaigns
                set status = case when $3 = 0 then 'completed' else 'active' end, target_count = $3
              where tenant_id = $1 and id = $2",
        )
        .bind(tenant)
        .bind(campaign)
        .bind(i32::try_from(resolved).unwrap_or(i32::MAX))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        launched += 1;
    }
}

/// A claimed recipient and what its message needs.
#[derive(sqlx::FromRow)]
struct Pending {
    id: Uuid,
    campaign_id: Uuid,
    guest_id: Uuid,
    email: Option<String>,
    phone: Option<String>,
    channel: String,
    first_name: String,
    last_name: String,
    subject: Option<String>,
    message: Option<String>,
}

/// Sends one batch of one tenant's pending recipients; returns (sent, failed).
///
/// The recipients are claimed (`FOR UPDATE SKIP LOCKED`: no other worker, and no retention
/// purge, touches them), the messages sent, and only then the outcomes written under the
/// tenant's feed head, so the desk's pushes never wait for a mail server. No desk writes a
/// recipient (they are the server's), so holding them before the head cannot close a circle.
async fn send_batch(pool: &PgPool, mailer: &Mailer) -> Result<(usize, usize)> {
    let mut tx = pool.begin().await?;
    let tenant: Option<Uuid> = sqlx::query_scalar(
        "select r.tenant_id
           from public.campaign_recipients r
           join public.marketing_campaigns c on c.tenant_id = r.tenant_id and c.id = r.campaign_id
          where r.status = 'pending' and c.status = 'active'
          limit 1
            for update of r skip locked",
    )
    .fetch_optional(&mut *tx)
    .await?;
    let Some(tenant) = tenant else {
        return Ok((0, 0));
    };
    let batch: Vec<Pending> = sqlx::query_as(
        "select r.id, r.campaign_id, r.guest_id, r.email, r.phone, c.type as channel,
                g.first_name, g.last_name, c.subject, c.message
           from public.campaign_recipients r
           join public.marketing_campaigns c on c.tenant_id = r.tenant_id and c.id = r.campaign_id
           join public.guests g on g.tenant_id = r.tenant_id and g.id = r.guest_id
          where r.tenant_id = $1 and r.status = 'pending' and c.status = 'active'
          limit $2
            for update of r skip locked",
    )
    .bind(tenant)
    .bind(BATCH)
    .fetch_all(&mut *tx)
    .await?;

    let mut outcomes = Vec::with_capacity(batch.len());
    for pending in batch {
        let outcome = deliver(mailer, &pending).await;
        outcomes.push((pending, outcome));
    }

    super::lock_tenant_feed(&mut tx, tenant).await?;
    let (mut sent, mut failed) = (0, 0);
    let mut campaigns = Vec::new();
    for (pending, outcome) in outcomes {
        match outcome {
            Ok(Delivered { to, subject, body }) => {
                sqlx::query(
                    "update public.campaign_recipients set status = 'sent', sent_at = now(), error = null
                      where tenant_id = $1 and id = $2",
                )
                .bind(tenant)
                .bind(pending.id)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "insert into public.communication_logs (tenant_id, guest_id, type, direction, subject, message,
                                                            to_email, to_phone, status, related_type, related_id,
                                                            campaign_id, sent_at)
                     values ($1, $2, case when $3 = 'sms' then 'sms' else 'email' end, 'outbound', $4, $5,
                             case when $3 = 'sms' then null else $6 end, case when $3 = 'sms' then $6 end,
                             'sent', 'campaign', $7::text, $7, now())",
                )
                .bind(tenant)
                .bind(pending.guest_id)
                .bind(&pending.channel)
                .bind(subject)
                .bind(body)
                .bind(to)
                .bind(pending.campaign_id)
                .execute(&mut *tx)
                .await?;
                sent += 1;
            }
            Err(reason) => {
                sqlx::query(
                    "update public.campaign_recipients set status = 'failed', error = $3
                      where tenant_id = $1 and id = $2",
                )
                .bind(tenant)
                .bind(pending.id)
                .bind(&reason)
                .execute(&mut *tx)
                .await?;
                failed += 1;
            }
        }
        if !campaigns.contains(&pending.campaign_id) {
            campaigns.push(pending.campaign_id);
        }
    }
    for campaign in campaigns {
        refresh_counters(&mut tx, tenant, campaign).await?;
    }
    tx.commit().await?;
    Ok((sent, failed))
}

/// A message sent: to whom, and its rendered subject and body (for the communication log).
struct Delivered {
    to: String,
    subject: String,
    body: String,
}

/// Renders and sends one recipient's message; the reason when it cannot be sent.
async fn deliver(mailer: &Mailer, pending: &Pending) -> Result<Delivered, String> {
    let channel = &pending.channel;
    let to = if channel == "sms" {
        pending.phone.clone()
    } else {
        pending.email.clone()
    }
    .ok_or_else(|| format!("the guest has no {channel} address"))?;
    let (first, last) = (&pending.first_name, &pending.last_name);
    let subject = render(pending.subject.as_deref().unwrap_or_default(), first, last)?;
    let body = render(pending.message.as_deref().unwrap_or_default(), first, last)?;
    mailer
        .send(&Outgoing {
            channel: channel.clone(),
            to: to.clone(),
            subject: subject.clone(),
            body: body.clone(),
        })
        .await
        .map_err(|e| e.0)?;
    Ok(Delivered { to, subject, body })
}

/// The counters follow the recipients (the rates are generated from them).
async fn refresh_counters(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    tenant: Uuid,
    campaign: Uuid,
) -> Result<()> {
    sqlx::query(
        "update public.marketing_campaigns c set
             target_count = r.total, sent_count = r.sent, delivered_count = r.delivered,
             opened_count = r.opened, clicked_count = r.clicked, converted_count = r.converted,
             bounced_count = r.bounced, unsubscribed_count = r.unsubscribed
           from (select count(*) as total,
                        count(*) filter (where status in ('sent', 'delivered', 'opened', 'clicked', 'converted')) as sent,
                        count(*) filter (where status in ('delivered', 'opened', 'clicked', 'converted')) as delivered,
                        count(*) filter (where status in ('opened', 'clicked', 'converted')) as opened,
                        count(*) filter (where status in ('clicked', 'converted')) as clicked,
                        count(*) filter (where status = 'converted') as converted,
                        count(*) filter (where status = 'bounced') as bounced,
                        count(*) filter (where status = 'unsubscribed') as unsubscribed
                   from public.campaign_recipients where tenant_id = $1 and campaign_id = $2) r
          where c.tenant_id = $1 and c.id = $2",
    )
    .bind(tenant)
    .bind(campaign)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn placeholders_are_filled_and_unknown_ones_refused() {
        assert_eq!(
            render("Dear {{ first_name }}, {{full_name}}!", "Ana", "Lima").as_deref(),
            Ok("Dear Ana, Ana Lima!")
        );
        assert_eq!(
            render("no placeholders", "a", "b").as_deref(),
            Ok("no placeholders")
        );
        assert!(render("Hi {{nickname}}", "a", "b").is_err_and(|e| e.contains("{{nickname}}")));
        assert!(render("Hi {{first_name", "a", "b").is_err_and(|e| e.contains("unclosed")));
    }
}
