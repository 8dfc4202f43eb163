//! Campaign delivery against the real Postgres: targeting counts equal hand-written SQL counts,
//! messages go through the file provider and through SMTP to a local sink the test runs, each
//! recipient gets its status and a communication log, and a bad template is recorded, not sent.

use std::sync::{Arc, Mutex};

use pms_server::jobs::campaigns;
use pms_server::jobs::mail::Mailer;
use pms_tests::laptops::first_tenant;
use pms_tests::TestDb;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use uuid::Uuid;

/// The day `TestDb::seed` seeds for: campaigns it schedules after that day are not due yet.
fn seed_day() -> chrono::DateTime<chrono::Utc> {
    pms_tests::SEED_DAY
        .and_hms_opt(12, 0, 0)
        .expect("noon")
        .and_utc()
}

async fn campaign(db: &TestDb, tenant: Uuid, columns: &str, values: &str) -> Uuid {
    sqlx::query_scalar(&format!(
        "insert into public.marketing_campaigns (tenant_id, name, status, {columns}) values ($1, 'Test', 'active', {values}) returning id"
    ))
    .bind(tenant)
    .fetch_one(&db.pool)
    .await
    .expect("campaign")
}

async fn count(db: &TestDb, statement: &str, id: Uuid) -> i64 {
    sqlx::query_scalar(statement)
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"))
}

fn temp_file(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("pms-{name}-{}.jsonl", Uuid::now_v7()))
}

#[tokio::test]
async fn targeting_counts_equal_hand_written_sql_and_every_recipient_is_logged() {
    let db = TestDb::migrated().await;
    db.seed(1, 300).await;
    let tenant = first_tenant(&db).await;
    let tier: String = sqlx::query_scalar(
        "select current_tier from public.loyalty_members where tenant_id = $1 and current_tier is not null
          group by current_tier order by count(*) desc limit 1",
    )
    .bind(tenant)
    .fetch_one(&db.pool)
    .await
    .expect("a tier in use");
    let reachable_by_email = "g.tenant_id = $1 and g.deleted_at is null and g.anonymized_at is null
                              and g.marketing_consent and g.email is not null and g.contact_by_email";
    let cases = [
        (
            campaign(&db, tenant, "type, audience", "'email', 'all_guests'").await,
            format!("select count(*) from public.guests g where {reachable_by_email}"),
        ),
        (
            campaign(&db, tenant, "type, audience, target_segments", "'email', 'segment', '{business,group}'").await,
            format!("select count(*) from public.guests g where {reachable_by_email} and g.segment in ('business', 'group')"),
        ),
        (
            campaign(&db, tenant, "type, audience, target_vip_statuses", "'sms', 'vip', '{vip,vvip}'").await,
            "select count(*) from public.guests g where g.tenant_id = $1 and g.deleted_at is null
               and g.anonymized_at is null and g.marketing_consent and g.phone is not null
               and g.contact_by_sms and g.vip_status in ('vip', 'vvip')"
                .to_owned(),
        ),
        (
            campaign(&db, tenant, "type, audience, target_loyalty_tiers", &format!("'email', 'loyalty_tier', '{{{tier}}}'")).await,
            format!(
                "select count(distinct g.id) from public.guests g join public.loyalty_members m
                   on m.tenant_id = g.tenant_id and m.guest_id = g.id and m.deleted_at is null
                  where {reachable_by_email} and m.current_tier = '{tier}'"
            ),
        ),
    ];
    let outbox = temp_file("campaigns");
    let mailer = Mailer::File {
        path: outbox.clone(),
    };
    let pass = campaigns::run(&db.pool, &mailer, seed_day())
        .await
        .expect("campaigns");
    assert_eq!(pass.launched, 4, "{pass:?}");
    assert_eq!(pass.failed, 0, "{pass:?}");
    let mut total = 0;
    for (id, hand_written) in &cases {
        let expected = count(&db, hand_written, tenant).await;
        assert!(
            expected > 0,
            "the seed gives every audience someone: {hand_written}"
        );
        let (target, sent, status): (i32, i32, String) = sqlx::query_as(
            "select target_count, sent_count, status from public.marketing_campaigns where id = $1",
        )
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .expect("campaign");
        assert_eq!(i64::from(target), expected, "targeting of {hand_written}");
        assert_eq!((sent, status.as_str()), (target, "completed"));
        let logs = count(
            &db,
            "select count(*) from public.communication_logs where campaign_id = $1 and direction = 'outbound' and status = 'sent'",
            *id,
        )
        .await;
        assert_eq!(logs, expected, "one communication log per recipient");
        total += expected;
    }
    let lines = std::fs::read_to_string(&outbox)
        .expect("outbox file")
        .lines()
        .count();
    assert_eq!(lines as i64, total, "one line per message");
    // Nothing is sent twice.
    let again = campaigns::run(&db.pool, &mailer, seed_day())
        .await
        .expect("campaigns");
    assert_eq!(again, campaigns::CampaignPass::default());
    let _ = std::fs::remove_file(outbox);
}

/// A local SMTP sink: accepts every message and keeps (recipient, data).
async fn smtp_sink() -> (u16, Arc<Mutex<Vec<(String, String)>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    let messages: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let kept = messages.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let kept = kept.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 sink ESMTP\r\n").await;
                let (mut to, mut data, mut in_data) = (String::new(), String::new(), false);
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        if line == "." {
                            in_data = false;
                            kept.lock().expect("sink").push((to.clone(), data.clone()));
                            let _ = write.write_all(b"250 2.0.0 queued\r\n").await;
                        } else {
                            data.push_str(&line);
                            data.push('\n');
                        }
                        continue;
                    }
                    let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 sink\r\n",
                        "RCPT" => {
                            to = line.clone();
                            b"250 2.1.5 ok\r\n"
                        }
                        "DATA" => {
                            in_data = true;
                            data.clear();
                            b"354 go ahead\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        }
                        _ => b"250 ok\r\n",
                    };
                    let _ = write.write_all(reply).await;
                }
            });
        }
    });
    (port, messages)
}

#[tokio::test]
async fn an_smtp_round_trip_and_a_bad_template_recorded_not_sent() {
    let db = TestDb::migrated().await;
    db.seed(1, 20).await;
    let tenant = first_tenant(&db).await;
    // Exactly three guests in the audience.
    sqlx::query("update public.guests set marketing_consent = false where tenant_id = $1")
        .bind(tenant)
        .execute(&db.pool)
        .await
        .expect("no consent");
    let chosen: Vec<Uuid> = sqlx::query_scalar(
        "update public.guests set marketing_consent = true, contact_by_email = true,
                email = 'guest' || substr(id::text, 1, 8) || '@example.com'
          where id in (select id from public.guests where tenant_id = $1 and anonymized_at is null order by id limit 3)
          returning id",
    )
    .bind(tenant)
    .fetch_all(&db.pool)
    .await
    .expect("three guests");
    assert_eq!(chosen.len(), 3);
    let good = campaign(
        &db,
        tenant,
        "type, audience, subject, message",
        "'email', 'all_guests', 'Hello {{first_name}}', 'Dear {{full_name}}, spring rooms are open.'",
    )
    .await;

    let (port, messages) = smtp_sink().await;
    let mailer = Mailer::smtp(
        &format!("smtp://127.0.0.1:{port}"),
        "Hotel <no-reply@example.com>",
    )
    .expect("mailer");
    let pass = campaigns::run(&db.pool, &mailer, seed_day())
        .await
        .expect("campaigns");
    assert_eq!((pass.sent, pass.failed), (3, 0), "{pass:?}");
    let received = messages.lock().expect("sink").clone();
    assert_eq!(received.len(), 3);
    for id in &chosen {
        let (first, email): (String, String) =
            sqlx::query_as("select first_name, email from public.guests where id = $1")
                .bind(id)
                .fetch_one(&db.pool)
                .await
                .expect("guest");
        let (_, data) = received
            .iter()
            .find(|(to, _)| to.contains(&email))
            .unwrap_or_else(|| panic!("no message to {email}: {received:?}"));
        assert!(data.contains(&format!("Subject: Hello {first}")), "{data}");
        assert!(data.contains("spring rooms are open"), "{data}");
    }
    let status: String =
        sqlx::query_scalar("select status from public.marketing_campaigns where id = $1")
            .bind(good)
            .fetch_one(&db.pool)
            .await
            .expect("status");
    assert_eq!(status, "completed");

    // A template with an unknown placeholder: every recipient failed with the reason, nothing sent.
    let bad = campaign(
        &db,
        tenant,
        "type, audience, subject, message",
        "'email', 'all_guests', 'Hi {{nickname}}', 'x'",
    )
    .await;
    let pass = campaigns::run(&db.pool, &mailer, seed_day())
        .await
        .expect("campaigns");
    assert_eq!((pass.sent, pass.failed), (0, 3), "{pass:?}");
    let errors: Vec<String> = sqlx::query_scalar(
        "select error from public.campaign_recipients where campaign_id = $1 and status = 'failed'",
    )
    .bind(bad)
    .fetch_all(&db.pool)
    .await
    .expect("errors");
    assert_eq!(errors.len(), 3);
    assert!(
        errors.iter().all(|e| e.contains("{{nickname}}")),
        "{errors:?}"
    );
    assert_eq!(
        messages.lock().expect("sink").len(),
        3,
        "nothing more reached the mail server"
    );
}
