//! The desk's own operations (the functions its Tauri commands call) on the mirror the initial
//! sync filled: guest search as you type, the Today screen, availability, the tape chart, and a
//! local write with its outbox entry.

use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use chrono::Days;
use pms_desk::commands::{guests, reservations, today};
use pms_sync_client::mirror;
use rusqlite::Connection;

use crate::fixture::seeded_day;
use crate::report::{Figure, Percentiles, Run, Target};

const SECTION: &str = "Local operations on the synced mirror (the desk's functions)";

pub fn measure(mirror_path: &Path, run: &mut Run) -> Result<()> {
    let mut conn = mirror::open(mirror_path)?;
    let guests_held: i64 = conn.query_row("select count(*) from guests", [], |r| r.get(0))?;
    let suffix = format!("({guests_held} guests)");

    let names = sample(&conn, "full_name")?;
    let emails = sample(&conn, "email")?;
    let phones = sample(&conn, "phone")?;
    for (what, terms) in [
        ("names", &names),
        ("e-mails", &emails),
        ("phone numbers", &phones),
    ] {
        let mut samples = typing(&conn, terms)?;
        let keystrokes = samples.len();
        let p = Percentiles::of(&mut samples);
        add_percentiles(
            run,
            &format!("guest search, {what} typed a key at a time {suffix}"),
            p,
            Target::below(5.0),
            &format!("{keystrokes} keystrokes over {} {what}", terms.len()),
        );
    }

    let day = seeded_day();
    let mut samples = Vec::new();
    for round in 0..3u64 {
        for offset in 0..31u64 {
            let date = day - Days::new(15) + Days::new(offset);
            let started = Instant::now();
            let screen = today::today(&conn, date)?;
            samples.push(ms(started));
            if round == 0 && offset == 15 {
                println!(
                    "  (today: {} arrivals, {} departures, {} in house)",
                    screen.arrivals.len(),
                    screen.departures.len(),
                    screen.in_house.len()
                );
            }
        }
    }
    add_percentiles(
        run,
        "Today screen for a date: arrivals, departures, in house, occupancy, to clean",
        Percentiles::of(&mut samples),
        Target::below(5.0),
        "today::today for 31 dates around the seeded day, 3 rounds",
    );

    let mut samples = Vec::new();
    let mut rooms_offered = 0;
    for offset in 0..30u64 {
        let arrival = day + Days::new(offset);
        let started = Instant::now();
        let offers = reservations::available_rooms(&conn, arrival, arrival + Days::new(30), None)?;
        samples.push(ms(started));
        rooms_offered = rooms_offered.max(offers.len());
    }
    let rooms_in_property: i64 = conn.query_row(
        "select count(*) from rooms where property_id = (select id from properties where deleted_at is null order by name limit 1)",
        [],
        |r| r.get(0),
    )?;
    add_percentiles(
        run,
        &format!("availability: {rooms_in_property} rooms x 30 nights"),
        Percentiles::of(&mut samples),
        Target::below(20.0),
        "reservations::available_rooms for a 30-night stay, 30 arrival dates",
    );

    let mut samples = Vec::new();
    for offset in 0..30u64 {
        let started = Instant::now();
        reservations::tape_chart(&conn, day + Days::new(offset), 30)?;
        samples.push(ms(started));
    }
    add_percentiles(
        run,
        &format!("tape chart: {rooms_in_property} rooms x 30 days"),
        Percentiles::of(&mut samples),
        None,
        "reservations::tape_chart, 30 start dates",
    );

    let ids: Vec<String> = {
        let mut statement = conn.prepare("select id from guests order by id limit 2000")?;
        let rows = statement.query_map([], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    // As on the desk: the screens' connection leaves checkpoints to the sync task, which wakes
    // after every local change (its round, then a passive checkpoint on its own connection).
    mirror::leave_checkpoints_to_sync(&conn)?;
    let (wake, woken) = std::sync::mpsc::channel::<()>();
    let sync_task = {
        let path = mirror_path.to_owned();
        std::thread::spawn(move || -> Result<()> {
            let conn = mirror::open(&path)?;
            while woken.recv().is_ok() {
                while woken.try_recv().is_ok() {}
                mirror::checkpoint(&conn)?;
            }
            Ok(())
        })
    };
    let mut samples = Vec::with_capacity(ids.len());
    for (n, id) in ids.iter().enumerate() {
        let id = id.parse()?;
        let started = Instant::now();
        pms_desk::db::update(
            &mut conn,
            "guests",
            id,
            serde_json::json!({ "notes": format!("bench note {n}") }),
        )?;
        samples.push(ms(started));
        let _ = wake.send(());
    }
    drop(wake);
    sync_task
        .join()
        .map_err(|_| anyhow::anyhow!("the checkpointing thread panicked"))??;
    add_percentiles(
        run,
        "local write of a guest with its outbox entry",
        Percentiles::of(&mut samples),
        Target::below(1.0),
        "pms_desk::db::update (one transaction: row, outbox, clock), 2,000 guests; a thread checkpoints after each, as the desk's sync task does",
    );
    Ok(())
}

/// Every 500th value of `column` among the guests (up to 200), as typed by a clerk.
fn sample(conn: &Connection, column: &str) -> Result<Vec<String>> {
    let mut statement = conn.prepare(&format!(
        "select {column} from (
             select {column}, row_number() over (order by id) as n from guests
              where {column} is not null and {column} <> '')
          where n % 500 = 0 limit 200"
    ))?;
    let all: Vec<String> = statement
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(all)
}

/// The time of each keystroke's search while each term is typed from its first character.
fn typing(conn: &Connection, terms: &[String]) -> Result<Vec<f64>> {
    let mut samples = Vec::new();
    for term in terms {
        let chars: Vec<char> = term.chars().collect();
        for typed in 1..=chars.len().min(16) {
            let prefix: String = chars[..typed].iter().collect();
            let started = Instant::now();
            guests::search(conn, &prefix, 20)?;
            samples.push(ms(started));
        }
    }
    Ok(samples)
}

fn ms(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1000.0
}

fn add_percentiles(
    run: &mut Run,
    name: &str,
    p: Percentiles,
    p99_target: Option<Target>,
    how: &str,
) {
    run.add(Figure {
        section: SECTION.to_owned(),
        name: format!("{name}, p50"),
        value: p.p50,
        unit: "ms".to_owned(),
        target: None,
        how: how.to_owned(),
    });
    run.add(Figure {
        section: SECTION.to_owned(),
        name: format!("{name}, p99"),
        value: p.p99,
        unit: "ms".to_owned(),
        target: p99_target,
        how: format!("max {:.2} ms", p.max),
    });
}
