//! Three laptops sync through a proxy that drops, delays, truncates and resets connections
//! mid-request and mid-response and duplicates requests. Their syncs fail often; once the faults
//! stop every laptop converges to the server and nothing was applied twice.

use pms_sync_client::engine::sync_once;
use pms_sync_client::{loyalty, mirror, outbox};
use pms_sync_protocol::wire::PushOp;
use pms_tests::faulty_proxy::FaultyProxy;
use pms_tests::laptops::{mirror_matches_server, object, staff_emails, Laptop};
use pms_tests::{TestDb, TestServer};
use serde_json::json;
use uuid::Uuid;

const ROUNDS: usize = 15;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn laptops_behind_a_faulty_link_converge_and_nothing_applies_twice() {
    let db = TestDb::migrated().await;
    db.seed(1, 20).await;
    let server = TestServer::start(&db).await;
    let proxy = FaultyProxy::start(server.address, 7).await;
    proxy.set_faults(false);
    let mut emails = staff_emails(&db, "front_desk").await;
    emails.extend(staff_emails(&db, "manager").await);
    let mut laptops = Vec::new();
    for (n, email) in emails.iter().take(3).enumerate() {
        let conn = mirror::open_in_memory().expect("mirror");
        let mut laptop =
            Laptop::sign_in_at(&db, &proxy.url, email, &format!("laptop {n}"), conn).await;
        laptop.sync().await;
        laptops.push(laptop);
    }
    let member: Uuid = laptops[0]
        .conn
        .query_row(
            "select id from loyalty_members order by id limit 1",
            [],
            |r| r.get::<_, String>(0),
        )
        .expect("a member")
        .parse()
        .expect("uuid");

    proxy.set_faults(true);
    let (mut attempts, mut failures) = (0, 0);
    for round in 0..ROUNDS {
        for (n, laptop) in laptops.iter_mut().enumerate() {
            outbox::write(
                &mut laptop.conn,
                "guests",
                PushOp::Insert,
                Uuid::now_v7(),
                object(json!({"first_name": format!("L{n}R{round}"), "last_name": "Proxied"})),
            )
            .expect("insert");
            let someone: Uuid = laptop
                .conn
                .query_row(
                    "select id from guests where last_name <> 'Proxied' order by id limit 1",
                    [],
                    |r| r.get::<_, String>(0),
                )
                .expect("a guest")
                .parse()
                .expect("uuid");
            outbox::write(
                &mut laptop.conn,
                "guests",
                PushOp::Update,
                someone,
                object(json!({"notes": format!("laptop {n} round {round}")})),
            )
            .expect("update");
            loyalty::earn(&mut laptop.conn, member, 10, "earn", "proxied earn").expect("earn");
            attempts += 1;
            if let Err(error) = sync_once(&mut laptop.conn, &laptop.remote).await {
                assert!(
                    error.is_transient() || matches!(error, pms_sync_client::Error::Data(_)),
                    "{error}"
                );
                failures += 1;
            }
        }
    }
    let faults = proxy.counts.snapshot();
    for kind in [
        "Delay",
        "ResetMidRequest",
        "TruncateResponse",
        "Refuse",
        "Duplicate",
    ] {
        assert!(
            faults.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} happened: {faults:?}"
        );
    }
    assert!(
        failures > 0,
        "the faults broke some syncs ({attempts} attempts)"
    );

    // The link heals: a few rounds each, and everything agrees.
    proxy.set_faults(false);
    for _ in 0..3 {
        for laptop in &mut laptops {
            laptop.sync().await;
        }
    }
    for (n, laptop) in laptops.iter().enumerate() {
        mirror_matches_server(&db, laptop)
            .await
            .unwrap_or_else(|e| panic!("laptop {n} after the faults:\n{e}"));
        assert!(outbox::entries(&laptop.conn, true)
            .expect("outbox")
            .is_empty());
    }
    let inserted: i64 =
        sqlx::query_scalar("select count(*) from public.guests where last_name = 'Proxied'")
            .fetch_one(&db.pool)
            .await
            .expect("count");
    assert_eq!(inserted, (3 * ROUNDS) as i64, "every guest once");
    let (earned, balance, ledger): (i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from public.loyalty_transactions where member_id = $1 and description = 'proxied earn'),
                (select points_balance from public.loyalty_members where id = $1),
                (select sum(points) from public.loyalty_transactions where member_id = $1)::bigint",
    )
    .bind(member)
    .fetch_one(&db.pool)
    .await
    .expect("ledger");
    assert_eq!(
        earned,
        (3 * ROUNDS) as i64,
        "every earning once, none twice"
    );
    assert_eq!(balance, ledger);
    println!("{attempts} syncs through the faulty link, {failures} failed; faults: {faults:?}");
}
