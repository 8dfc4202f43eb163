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
    pass.completed = sqlx::query(
        "update public.marketing_campaigns c set status = 'completed'
          where c.status = 'active' and c.target_count > 0
            and not exists (select 1 from public.campaign_recipients r
                             where r.tenant_id = c.tenant_id and r.campaign_id = c.id and r.status = 'pending')",
    )
    .execute(pool)
    .await?
    .rows_affected() as usize;
    Ok(pass)
}

/// Resolves the recipients of campaigns launched or due, once each.
async fn launch_due(pool: &PgPool, now: DateTime<Utc>) -> Result<usize> {
    let mut launched = 0;
    loop {
        let mut tx = pool.begin().await?;
        let due: Option<(Uuid, Uuid)> = sqlx::query_as(
            "select tenant_id, id from public.marketing_campaigns
              where deleted_at is null and target_count = 0
                and (status = 'active' or (status = 'scheduled' and scheduled_at <= $1))
                and not exists (select 1 from public.campaign_recipients r
                                 where r.tenant_id = marketing_campaigns.tenant_id and r.campaign_id = marketing_campaigns.id)
              limit 1
                for update skip locked",
        )
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((tenant, campaign)) = due else {
            return Ok(launched);
        };
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

/// Sends one batch of pending recipients; returns (sent, failed).
async fn send_batch(pool: &PgPool, mailer: &Mailer) -> Result<(usize, usize)> {
    let mut tx = pool.begin().await?;
    type Pending = (
        Uuid,
        Uuid,
        Uuid,
        Uuid,
        Option<String>,
        Option<String>,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
    );
    let batch: Vec<Pending> = sqlx::query_as(
        "select r.tenant_id, r.id, r.campaign_id, r.guest_id, r.email, r.phone, c.type,
                g.first_name, g.last_name, c.subject, c.message
           from public.campaign_recipients r
           join public.marketing_campaigns c on c.tenant_id = r.tenant_id and c.id = r.campaign_id
           join public.guests g on g.tenant_id = r.tenant_id and g.id = r.guest_id
          where r.status = 'pending' and c.status = 'active'
          limit $1
            for update of r skip locked",
    )
    .bind(BATCH)
    .fetch_all(&mut *tx)
    .await?;
    let (mut sent, mut failed) = (0, 0);
    let mut campaigns = Vec::new();
    for (
        tenant,
        recipient,
        campaign,
        guest,
        email,
        phone,
        channel,
        first,
        last,
        subject,
        message,
    ) in batch
    {
        let to = if channel == "sms" { phone } else { email };
        let rendered =
            render(subject.as_deref().unwrap_or_default(), &first, &last).and_then(|subject| {
                Ok((
                    subject,
                    render(message.as_deref().unwrap_or_default(), &first, &last)?,
                ))
            });
        let outcome = match (&to, rendered) {
            (None, _) => Err(format!("the guest has no {channel} address")),
            (_, Err(bad_template)) => Err(bad_template),
            (Some(to), Ok((subject, body))) => mailer
                .send(&Outgoing {
                    channel: channel.clone(),
                    to: to.clone(),
                    subject: subject.clone(),
                    body: body.clone(),
                })
                .await
                .map(|()| (subject, body))
                .map_err(|e| e.0),
        };
        match outcome {
            Ok((subject, body)) => {
                sqlx::query(
                    "update public.campaign_recipients set status = 'sent', sent_at = now(), error = null
                      where tenant_id = $1 and id = $2",
                )
                .bind(tenant)
                .bind(recipient)
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
                .bind(guest)
                .bind(&channel)
                .bind(subject)
                .bind(body)
                .bind(to)
                .bind(campaign)
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
                .bind(recipient)
                .bind(&reason)
                .execute(&mut *tx)
                .await?;
                failed += 1;
            }
        }
        if !campaigns.contains(&(tenant, campaign)) {
            campaigns.push((tenant, campaign));
        }
    }
    for (tenant, campaign) in campaigns {
        refresh_counters(&mut tx, tenant, campaign).await?;
    }
    tx.commit().await?;
    Ok((sent, failed))
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
