//! Three laptops issue guest invoices offline (`pms-client invoice`), killed with SIGKILL at
//! random points mid-issue, then sync: every number is unique, each laptop's series is gapless
//! on the laptop and on the server, nothing is refused, and every invoice's PDF, read back with
//! `pdftotext`, shows its number, its lines and its totals.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use pms_sync_client::{guest_invoice, guest_invoice_pdf, mirror};
use pms_sync_protocol::money::format_minor;
use pms_tests::laptops::{staff_emails, PASSWORD};
use pms_tests::{set_password, TestDb, TestServer};
use rand::{Rng, SeedableRng};
use tokio::process::Command;
use uuid::Uuid;

const LAPTOPS: usize = 3;
const STAYS_PER_LAPTOP: usize = 6;

fn pms_client(db: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pms-client"));
    command.arg("--db").arg(db).env("PMS_PASSWORD", PASSWORD);
    command
}

async fn run_ok(mut command: Command, what: &str) {
    let output = command.output().await.expect(what);
    assert!(
        output.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The numbers a laptop's mirror holds in its own series, in order.
fn numbers_on_laptop(path: &Path) -> (String, Vec<i64>) {
    let conn = mirror::open(path).expect("open");
    let device = pms_sync_client::session_file::load(path)
        .expect("session")
        .expect("signed in")
        .device_id;
    let (series, _) = guest_invoice::own_series(&conn, Some(device))
        .expect("series")
        .expect("the laptop has its series");
    let mut statement = conn
        .prepare("select number from guest_invoices where series_id = ?1 order by number")
        .expect("prepare");
    let numbers = statement
        .query_map([&series], |r| r.get(0))
        .expect("numbers")
        .collect::<Result<Vec<i64>, _>>()
        .expect("rows");
    (series, numbers)
}

fn pdf_text(pdf: &[u8], dir: &Path, name: &str) -> String {
    let path = dir.join(format!("{name}.pdf"));
    std::fs::write(&path, pdf).expect("write the PDF");
    let output = std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) runs");
    assert!(output.status.success(), "pdftotext failed on {name}");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_laptops_issuing_invoices_offline_with_kills_keep_every_series_gapless() {
    let db = TestDb::migrated().await;
    db.seed(1, 60).await;
    let server = TestServer::start(&db).await;
    let emails = staff_emails(&db, "front_desk").await;
    let dir = std::env::temp_dir().join(format!("pms-killinvoice-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("temp dir");

    // Stays to invoice, a different set for each laptop.
    let stays: Vec<Uuid> = sqlx::query_scalar(
        "select id from public.reservations where status in ('confirmed', 'checked_in')
          and deleted_at is null order by id limit $1",
    )
    .bind((LAPTOPS * STAYS_PER_LAPTOP) as i64)
    .fetch_all(&db.pool)
    .await
    .expect("stays");
    assert_eq!(stays.len(), LAPTOPS * STAYS_PER_LAPTOP);

    let mut laptops: Vec<PathBuf> = Vec::new();
    for i in 0..LAPTOPS {
        let email = &emails[i % emails.len()];
        set_password(&db.pool, email, PASSWORD).await;
        let path = dir.join(format!("laptop-{i}.sqlite3"));
        let mut login = pms_client(&path);
        login.args(["login", "--server", &server.base_url, "--email", email]);
        login.args(["--device-name", &format!("desk {i}")]);
        run_ok(login, "login").await;
        let mut sync = pms_client(&path);
        sync.arg("sync");
        run_ok(sync, "first sync").await;
        laptops.push(path);
    }

    // Offline: each laptop invoices its stays; runs are killed at random points and run again
    // until the invoice is issued. The kill points are drawn within twice the time a whole run
    // takes on this machine (the quickest run not killed), so about half the runs die
    // whether the machine is fast or slow.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(17);
    let mut kills = 0;
    for (i, path) in laptops.iter().enumerate() {
        let mut whole_run: Option<Duration> = None;
        for stay in &stays[i * STAYS_PER_LAPTOP..(i + 1) * STAYS_PER_LAPTOP] {
            let charge = 1_000 + rng.random_range(0..9_000_i64);
            let mut attempts = 0;
            loop {
                attempts += 1;
                assert!(attempts < 50, "stay {stay} never got its invoice");
                let mut command = pms_client(path);
                command
                    .args(["invoice", "--reservation", &stay.to_string()])
                    .args(["--charge", &charge.to_string(), "--description", "Minibar"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
                let started = std::time::Instant::now();
                let mut child = command.spawn().expect("pms-client invoice");
                let deadline = match whole_run {
                    Some(run) => run.mul_f64(rng.random_range(0.0..2.0)),
                    None => Duration::from_secs(60),
                };
                match tokio::time::timeout(deadline, child.wait()).await {
                    Ok(status) => {
                        let status = status.expect("wait");
                        if status.success() {
                            // the quickest whole run: a first run slowed by a busy machine
                            // would stretch every later deadline past the runs it should kill
                            let took = started.elapsed();
                            whole_run = Some(whole_run.map_or(took, |run| run.min(took)));
                            break;
                        }
                        let output = child.wait_with_output().await.expect("output");
                        panic!(
                            "invoice failed: {}",
                            String::from_utf8_lossy(&output.stderr)
                        );
                    }
                    Err(_) => {
                        child.kill().await.expect("SIGKILL");
                        kills += 1;
                    }
                }
            }
        }
        // Gapless on the laptop, whatever was killed.
        let (_, numbers) = numbers_on_laptop(path);
        let expected: Vec<i64> = (1..=numbers.len() as i64).collect();
        assert_eq!(numbers, expected, "laptop {i}'s series on the laptop");
        assert!(
            numbers.len() >= STAYS_PER_LAPTOP,
            "laptop {i} issued {numbers:?}"
        );
    }
    println!("{kills} runs were killed before they finished");
    assert!(kills >= 5, "only {kills} runs were killed mid-issue");

    // Online again: every invoice reaches the server, in its series, gapless and unique.
    for path in &laptops {
        let mut sync = pms_client(path);
        sync.arg("sync");
        run_ok(sync, "sync").await;
    }
    for (i, path) in laptops.iter().enumerate() {
        let (series, numbers) = numbers_on_laptop(path);
        let on_server: Vec<i32> = sqlx::query_scalar(
            "select number from public.guest_invoices where series_id = $1::uuid order by number",
        )
        .bind(&series)
        .fetch_all(&db.pool)
        .await
        .expect("the server's invoices");
        let on_server: Vec<i64> = on_server.into_iter().map(i64::from).collect();
        assert_eq!(on_server, numbers, "laptop {i}'s series on the server");
        let conn = mirror::open(path).expect("open");
        let conflicts: i64 = conn
            .query_row("select count(*) from conflicts", [], |r| r.get(0))
            .expect("conflicts");
        assert_eq!(conflicts, 0, "laptop {i} has no refused change");
    }
    let (all, distinct): (i64, i64) = sqlx::query_as(
        "select count(*), count(distinct (s.prefix, g.number))
           from public.guest_invoices g join public.guest_invoice_series s on s.id = g.series_id
          where s.device_id is not null",
    )
    .fetch_one(&db.pool)
    .await
    .expect("numbers");
    assert_eq!(all, distinct, "every number is unique");

    // Every invoice's PDF shows its number, its lines and its totals.
    for path in &laptops {
        let conn = mirror::open(path).expect("open");
        let ids: Vec<String> = conn
            .prepare("select id from guest_invoices where series_id in (select id from guest_invoice_series where device_id is not null)")
            .expect("prepare")
            .query_map([], |r| r.get(0))
            .expect("ids")
            .collect::<Result<_, _>>()
            .expect("rows");
        for id in ids {
            let invoice = guest_invoice::get(&conn, id.parse().expect("uuid")).expect("invoice");
            let document = guest_invoice::document(&conn, &invoice).expect("document");
            let pdf = guest_invoice_pdf::render(&document).expect("the PDF");
            let text = pdf_text(&pdf, &dir, &invoice.number_label);
            assert!(text.contains(&invoice.number_label), "{text}");
            for line in &invoice.lines {
                assert!(
                    text.contains(&line.description),
                    "{}: {text}",
                    line.description
                );
                let amount = format_minor(line.amount_minor, &invoice.currency);
                let digits = amount.trim_end_matches(&invoice.currency).trim();
                assert!(text.contains(digits), "{amount}: {text}");
            }
            let total = format_minor(invoice.total_minor, &invoice.currency);
            let digits = total.trim_end_matches(&invoice.currency).trim();
            assert!(text.contains(digits), "total {total}: {text}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
