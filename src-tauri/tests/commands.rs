//! The desk's commands called over IPC on Tauri's mock runtime (no display), each test on its
//! own temporary data folder with a real SQLite mirror: what the UI sends, what it gets back,
//! errors included (their `kind`, fields and the clerk's message).

mod common;

use chrono::{Duration, NaiveDate};
use common::TestDesk;
use serde_json::{json, Value};

fn day(offset: i64) -> NaiveDate {
    chrono::Local::now().date_naive() + Duration::days(offset)
}

#[test]
fn first_run_sets_up_a_local_hotel_through_the_outbox() {
    let desk = TestDesk::new();
    let status = desk.ok("get_app_status", json!({}));
    assert_eq!(status["mode"], "new");
    assert!(status["property"].is_null());

    let property = desk.set_up();
    assert_eq!(property["name"], "Pension Azul");
    assert_eq!(property["currency"], "EUR");
    let status = desk.ok("get_app_status", json!({}));
    assert_eq!(status["mode"], "local");
    assert_eq!(status["role"], "owner");

    // property + 2 room types + 5 rooms, each a change to push on adoption
    assert_eq!(desk.waiting(), 8);
    let conn = desk.desk().conn();
    let state = |key: &str| pms_sync_client::mirror::state(&conn, key).expect("state");
    assert_eq!(state("local_tenant").as_deref(), Some("1"));
    let tenant = state("tenant_id").expect("a tenant id was made");
    let tables: Vec<String> = pms_sync_client::outbox::entries(&conn, false)
        .expect("outbox")
        .into_iter()
        .map(|e| e.table)
        .collect();
    assert_eq!(tables[0], "properties");
    assert_eq!(tables.iter().filter(|t| *t == "rooms").count(), 5);
    assert!(!tables.iter().any(|t| t == "tenants"));
    let room_tenants: i64 = conn
        .query_row(
            "select count(*) from rooms where tenant_id = ?1",
            [&tenant],
            |r| r.get(0),
        )
        .expect("rooms");
    assert_eq!(room_tenants, 5, "rows carry the local tenant");
    let code: String = conn
        .query_row(
            "select code from room_types where name = 'Standard'",
            [],
            |r| r.get(0),
        )
        .expect("room type");
    assert_eq!(code, "STD");
    drop(conn);

    // a local desk has no staff accounts: it never locks
    desk.ok("sign_out", json!({}));
    assert_eq!(desk.ok("get_app_status", json!({}))["locked"], false);
    desk.ok("get_today", json!({}));

    let again = desk.err("setup_local_hotel", json!({"input": {
        "property_name": "Other", "currency": "EUR", "room_types": [
            {"code": "A", "name": "A", "base_rate_cents": 1, "max_occupancy": 1, "rooms": ["1"]}]}}));
    assert_eq!(again["kind"], "AlreadySetUp");
}

#[test]
fn setup_mistakes_name_the_field_and_write_nothing() {
    let desk = TestDesk::new();
    let input = |name: &str, currency: &str, rooms: Value| {
        json!({"input": {"property_name": name, "currency": currency, "room_types": [
            {"code": "STD", "name": "Standard", "base_rate_cents": 9000, "max_occupancy": 2, "rooms": rooms}]}})
    };
    let error = desk.err("setup_local_hotel", input(" ", "EUR", json!(["1"])));
    assert_eq!(
        (error["kind"].as_str(), error["field"].as_str()),
        (Some("Validation"), Some("property_name"))
    );
    let error = desk.err("setup_local_hotel", input("Azul", "euro", json!(["1"])));
    assert_eq!(error["field"], "currency");
    let error = desk.err(
        "setup_local_hotel",
        input("Azul", "EUR", json!(["101", "102", "101"])),
    );
    assert_eq!(error["field"], "room_types.0.rooms");
    assert_eq!(error["message"], "Room 101 is listed twice.");
    assert_eq!(desk.ok("get_app_status", json!({}))["mode"], "new");
    assert_eq!(desk.waiting(), 0);
}

#[test]
fn a_new_guest_is_one_change_waiting_and_found_by_search() {
    let desk = TestDesk::new();
    desk.set_up();
    let before = desk.waiting();
    let profile = desk.ok(
        "create_guest",
        json!({"input": {"first_name": "Marta", "last_name": "Sousa", "email": "marta@example.com", "country_code": "pt"}}),
    );
    assert_eq!(profile["guest"]["full_name"], "Marta Sousa");
    assert_eq!(profile["guest"]["country_code"], "PT");
    assert_eq!(profile["pending_sync"], true);
    assert_eq!(desk.waiting(), before + 1, "1 change waiting");

    let hits = desk.ok("search_guests", json!({"term": "sous"}));
    assert_eq!(hits[0]["full_name"], "Marta Sousa");
    let hits = desk.ok("search_guests", json!({"term": "marta@ex"}));
    assert_eq!(hits.as_array().map(Vec::len), Some(1));

    // an edit sends only what changed
    let id = profile["guest"]["id"].as_str().expect("id").to_owned();
    desk.ok(
        "update_guest",
        json!({"id": id, "input": {"first_name": "Marta", "last_name": "Sousa", "email": "marta@example.com",
                                    "country_code": "PT", "city": "Braga"}}),
    );
    let conn = desk.desk().conn();
    let last = pms_sync_client::outbox::entries(&conn, false)
        .expect("outbox")
        .pop()
        .expect("an entry");
    assert_eq!(last.table, "guests");
    assert_eq!(last.values.keys().collect::<Vec<_>>(), vec!["city"]);
    drop(conn);

    let error = desk.err(
        "create_guest",
        json!({"input": {"first_name": "", "last_name": " "}}),
    );
    assert_eq!(
        (error["kind"].as_str(), error["field"].as_str()),
        (Some("Validation"), Some("last_name"))
    );
    let error = desk.err(
        "create_guest",
        json!({"input": {"first_name": "A", "last_name": "B", "email": "nope"}}),
    );
    assert_eq!(error["field"], "email");
}

#[test]
fn a_taken_room_is_refused_and_not_offered() {
    let desk = TestDesk::new();
    desk.set_up();
    let first = desk
        .book("Ines Prata", "101", day(10), 3)
        .expect("room 101 is free");
    assert_eq!(first["room_number"], "101");
    assert_eq!(first["nights"], 3);
    assert_eq!(first["total_amount_cents"], 30000);
    assert_eq!(first["balance_due_cents"], 30000);
    assert_eq!(
        first["confirmation_number"], 1,
        "a local hotel numbers its own bookings"
    );
    let waiting = desk.waiting();

    // overlapping by one night
    let taken = desk
        .book("Rui Lobo", "101", day(12), 2)
        .expect_err("101 is taken on the 12th");
    assert_eq!(taken["kind"], "RoomTaken");
    assert_eq!(taken["room"], "101");
    assert!(taken["message"]
        .as_str()
        .is_some_and(|m| m.contains("already booked")));
    assert_eq!(desk.waiting(), waiting, "nothing written");

    // arriving the day the first guest leaves is fine
    desk.book("Rui Lobo", "101", day(13), 2)
        .expect("back to back");

    let free = desk.ok(
        "find_available_rooms",
        json!({"check_in": day(11).to_string(), "check_out": day(12).to_string()}),
    );
    let numbers: Vec<&str> = free
        .as_array()
        .expect("rooms")
        .iter()
        .filter_map(|r| r["number"].as_str())
        .collect();
    assert!(!numbers.contains(&"101"));
    assert!(numbers.contains(&"102") && numbers.contains(&"201"));

    // out of order: not offered, not bookable
    desk.ok(
        "set_room_status",
        json!({"room_id": desk.room("202"), "status": "out_of_order"}),
    );
    let free = desk.ok(
        "find_available_rooms",
        json!({"check_in": day(1).to_string(), "check_out": day(2).to_string()}),
    );
    assert!(!free
        .as_array()
        .expect("rooms")
        .iter()
        .any(|r| r["number"] == "202"));
    let refused = desk
        .book("Ana Reis", "202", day(1), 1)
        .expect_err("out of order");
    assert_eq!(refused["kind"], "RoomOutOfOrder");

    let backwards = desk.err(
        "create_reservation",
        json!({"input": {"guest_name": "Ana Reis", "room_id": desk.room("102"),
                         "check_in": day(5).to_string(), "check_out": day(4).to_string()}}),
    );
    assert_eq!(backwards["kind"], "DatesOutOfOrder");
    let bad_date = desk.err(
        "find_available_rooms",
        json!({"check_in": "25/12/2026", "check_out": day(4).to_string()}),
    );
    assert_eq!(
        (bad_date["kind"].as_str(), bad_date["field"].as_str()),
        (Some("Validation"), Some("check_in"))
    );
}

#[test]
fn changing_dates_or_room_checks_availability_and_the_total_follows() {
    let desk = TestDesk::new();
    desk.set_up();
    let stay = desk.book("Ines Prata", "101", day(10), 2).expect("booked");
    desk.book("Rui Lobo", "102", day(10), 5).expect("booked");
    let id = stay["id"].as_str().expect("id");
    let moved = desk.err(
        "change_reservation",
        json!({"input": {"id": id, "check_in": day(10).to_string(), "check_out": day(12).to_string(), "room_id": desk.room("102")}}),
    );
    assert_eq!(moved["kind"], "RoomTaken");
    // longer stay in its own room: its own nights do not count against it
    let longer = desk.ok(
        "change_reservation",
        json!({"input": {"id": id, "check_in": day(10).to_string(), "check_out": day(14).to_string(), "room_id": desk.room("101")}}),
    );
    assert_eq!(longer["nights"], 4);
    assert_eq!(longer["total_amount_cents"], 40000);
    let upgraded = desk.ok(
        "change_reservation",
        json!({"input": {"id": id, "check_in": day(10).to_string(), "check_out": day(14).to_string(), "room_id": desk.room("201")}}),
    );
    assert_eq!(upgraded["room_number"], "201");
    assert_eq!(upgraded["room_type_name"], "Deluxe");
}

#[test]
fn check_in_and_out_move_the_stay_and_the_room() {
    let desk = TestDesk::new();
    desk.set_up();
    let stay = desk.book("Ines Prata", "103", day(0), 2).expect("booked");
    let id = stay["id"].as_str().expect("id");
    let today = desk.ok("get_today", json!({}));
    assert!(today["arrivals"]
        .as_array()
        .expect("arrivals")
        .iter()
        .any(|r| r["id"] == id));
    assert_eq!(today["occupancy"]["occupied"], 1);
    assert_eq!(today["occupancy"]["sellable"], 5);
    assert_eq!(today["occupancy"]["percent"], 20);

    let early = desk.err(
        "reservation_action",
        json!({"id": id, "action": "check_out"}),
    );
    assert_eq!(early["kind"], "InvalidTransition");
    assert_eq!(
        early["message"],
        "This booking is confirmed; it cannot be checked out."
    );

    let checked_in = desk.ok(
        "reservation_action",
        json!({"id": id, "action": "check_in"}),
    );
    assert_eq!(checked_in["reservation"]["status"], "checked_in");
    let today = desk.ok("get_today", json!({}));
    assert_eq!(today["in_house"][0]["id"], id);

    let cancel = desk.err("reservation_action", json!({"id": id, "action": "cancel"}));
    assert_eq!(cancel["kind"], "InvalidTransition");

    desk.ok(
        "record_payment",
        json!({"payment": {"reservation_id": id, "amount_minor": 5000, "method": "card"}}),
    );
    let paid = desk.ok("get_reservation", json!({"id": id}));
    assert_eq!(paid["payment_status"], "partial");
    assert_eq!(paid["balance_due_cents"], 15000);
    // The payment is an entry on the stay's guest folio, and the folio's balance shows it.
    let folio = desk.ok("get_folio", json!({"reservation_id": id}));
    let entries = folio["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 1, "{folio}");
    assert_eq!(
        (
            entries[0]["kind"].as_str(),
            entries[0]["amount_minor"].as_i64(),
            entries[0]["payment_method"].as_str(),
            entries[0]["currency"].as_str()
        ),
        (Some("payment"), Some(5000), Some("card"), Some("EUR"))
    );
    assert_eq!(folio["balance"]["paid_minor"], 5000);
    assert_eq!(folio["balance"]["balance_minor"], -5000);
    // A card number typed as the reference is refused with a message for the clerk.
    let card = desk.err(
        "record_payment",
        json!({"payment": {"reservation_id": id, "amount_cents": 1000, "method": "card",
                            "reference": "4111 1111 1111 1111"}}),
    );
    assert_eq!(
        (card["kind"].as_str(), card["field"].as_str()),
        (Some("Validation"), Some("reference"))
    );
    assert!(card["message"]
        .as_str()
        .is_some_and(|m| m.contains("looks like a card number")));
    desk.ok(
        "record_payment",
        json!({"payment": {"reservation_id": id, "amount_minor": 15000, "method": "cash"}}),
    );
    let paid = desk.ok("get_reservation", json!({"id": id}));
    assert_eq!(
        (
            paid["payment_status"].as_str(),
            paid["balance_due_cents"].as_i64()
        ),
        (Some("paid"), Some(0))
    );
    let folio = desk.ok("get_folio", json!({"reservation_id": id}));
    assert_eq!(folio["entries"].as_array().map(Vec::len), Some(2));
    assert_eq!(folio["balance"]["paid_minor"], 20000);
    let zero = desk.err(
        "record_payment",
        json!({"payment": {"reservation_id": id, "amount_cents": 0, "method": "cash"}}),
    );
    assert_eq!(zero["field"], "amount");

    let out = desk.ok(
        "reservation_action",
        json!({"id": id, "action": "check_out"}),
    );
    assert_eq!(out["reservation"]["status"], "checked_out");
    assert_eq!(out["points_earned"], 0, "no loyalty membership");
    let rooms = desk.ok("list_rooms", json!({}));
    let room = rooms
        .as_array()
        .expect("rooms")
        .iter()
        .find(|r| r["number"] == "103")
        .expect("103");
    assert_eq!(
        room["housekeeping_status"], "dirty",
        "check-out marks the room dirty"
    );
    let today = desk.ok("get_today", json!({}));
    assert!(today["rooms_to_clean"]
        .as_array()
        .expect("list")
        .iter()
        .any(|r| r["number"] == "103"));
    assert!(today["in_house"].as_array().expect("list").is_empty());
}

#[test]
fn a_cancelled_or_no_show_booking_frees_its_room() {
    let desk = TestDesk::new();
    desk.set_up();
    let stay = desk.book("Ines Prata", "101", day(3), 2).expect("booked");
    desk.ok(
        "reservation_action",
        json!({"id": stay["id"], "action": "cancel", "reason": "Flight cancelled"}),
    );
    let again = desk
        .book("Rui Lobo", "101", day(3), 2)
        .expect("the room is free again");
    desk.ok(
        "reservation_action",
        json!({"id": again["id"], "action": "no_show"}),
    );
    desk.book("Ana Reis", "101", day(3), 2)
        .expect("free after a no-show");
    let found = desk.ok("search_reservations", json!({"text": "rui"}));
    assert!(
        found.as_array().expect("list").is_empty(),
        "a typed name without a profile is not a guest"
    );
    let chart = desk.ok(
        "get_tape_chart",
        json!({"start": day(0).to_string(), "days": 30}),
    );
    assert_eq!(chart["rooms"].as_array().map(Vec::len), Some(5));
    let stays = chart["stays"].as_array().expect("stays");
    assert_eq!(
        stays.len(),
        1,
        "cancelled and no-show stays are off the chart"
    );
    assert_eq!(stays[0]["guest_name"], "Ana Reis");
}

#[test]
fn the_demo_fills_every_screen_and_check_out_earns_points() {
    let desk = TestDesk::new();
    let property = desk.ok("load_demo", json!({}));
    assert_eq!(property["currency"], "EUR");
    assert_eq!(desk.ok("get_app_status", json!({}))["mode"], "demo");
    let today = desk.ok("get_today", json!({}));
    assert!(!today["in_house"].as_array().expect("list").is_empty());
    assert!(!today["arrivals"].as_array().expect("list").is_empty());
    assert!(!today["rooms_to_clean"].as_array().expect("list").is_empty());
    assert!(today["occupancy"]["percent"]
        .as_i64()
        .is_some_and(|p| p > 0));
    let chart = desk.ok(
        "get_tape_chart",
        json!({"start": day(0).to_string(), "days": 30}),
    );
    assert!(chart["stays"].as_array().expect("stays").len() > 20);
    assert_eq!(
        desk.ok("list_campaigns", json!({}))
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    let programs = desk.ok("list_programs", json!({}));
    assert_eq!(programs[0]["tiers"][1]["name"], "Gold");

    // a member with no stays yet: book, check in, check out → stay points + the first-stay bonus
    let conn = desk.desk().conn();
    let (guest, member): (String, String) = conn
        .query_row(
            "select m.guest_id, m.id from loyalty_members m where m.current_tier = 'Silver'
               and not exists (select 1 from loyalty_transactions t where t.member_id = m.id) limit 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("a member without stays");
    drop(conn);
    let free = desk.ok(
        "find_available_rooms",
        json!({"check_in": day(0).to_string(), "check_out": day(2).to_string()}),
    );
    let room = free[0]["id"]
        .as_str()
        .expect("a free room tonight")
        .to_owned();
    let rate = free[0]["base_rate_cents"].as_i64().expect("rate");
    let stay = desk.ok(
        "create_reservation",
        json!({"input": {"guest_id": guest, "room_id": room, "check_in": day(0).to_string(), "check_out": day(2).to_string()}}),
    );
    desk.ok(
        "reservation_action",
        json!({"id": stay["id"], "action": "check_in"}),
    );
    let out = desk.ok(
        "reservation_action",
        json!({"id": stay["id"], "action": "check_out"}),
    );
    let expected = rate * 2 / 100 + 250;
    assert_eq!(out["points_earned"], expected);
    let profile = desk.ok("get_guest", json!({"id": guest}));
    assert_eq!(profile["loyalty"][0]["available_points"], expected);
    let stays = profile["stays"].as_array().expect("stays");
    let this_stay = stays
        .iter()
        .find(|s| s["id"] == stay["id"])
        .expect("the stay in the profile");
    assert_eq!(this_stay["status"], "checked_out");

    let too_many = desk.err(
        "redeem_points",
        json!({"input": {"member_id": member, "points": expected + 1}}),
    );
    assert_eq!(too_many["kind"], "NotEnoughPoints");
    assert_eq!(too_many["available"], expected);
    let left = desk.ok(
        "redeem_points",
        json!({"input": {"member_id": member, "points": 100}}),
    );
    assert_eq!(left, expected - 100);
    let ledger = desk.ok("member_ledger", json!({"member_id": member}));
    assert_eq!(ledger.as_array().map(Vec::len), Some(3));
}

#[test]
fn housekeeping_statuses_are_checked() {
    let desk = TestDesk::new();
    desk.set_up();
    let room = desk.room("101");
    let updated = desk.ok(
        "set_room_status",
        json!({"room_id": room, "status": "inspected"}),
    );
    assert_eq!(updated["housekeeping_status"], "inspected");
    assert_eq!(updated["pending_sync"], true);
    let error = desk.err(
        "set_room_status",
        json!({"room_id": room, "status": "sparkling"}),
    );
    assert_eq!(error["field"], "status");
    let missing = desk.err(
        "get_reservation",
        json!({"id": uuid::Uuid::now_v7().to_string()}),
    );
    assert_eq!(missing["kind"], "NotFound");
}

#[test]
fn a_second_app_on_the_same_data_folder_is_refused() {
    let desk = TestDesk::new();
    let _held = pms_desk::lock::acquire(&desk.dir).expect("the first app");
    assert!(pms_desk::lock::acquire(&desk.dir).is_err());
}

#[test]
fn a_campaign_audience_is_previewed_and_a_draft_created_by_managers_only() {
    let desk = TestDesk::new();
    desk.ok("load_demo", json!({}));
    let expected: i64 = desk
        .desk()
        .conn()
        .query_row(
            "select count(*) from guests where segment = 'leisure' and marketing_consent = 1 and email is not null",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert!(expected > 0);
    let count = desk.ok(
        "preview_audience",
        json!({"audience": {"audience": "segment", "target_segments": ["leisure"]}, "kind": "email"}),
    );
    assert_eq!(count, expected);
    let all = desk.ok(
        "preview_audience",
        json!({"audience": {"audience": "all_guests"}, "kind": "email"}),
    );
    assert!(all.as_i64() > count.as_i64());
    let gold = desk.ok(
        "preview_audience",
        json!({"audience": {"audience": "loyalty_tier", "target_loyalty_tiers": ["Gold"]}, "kind": "push"}),
    );
    assert!(gold
        .as_i64()
        .is_some_and(|n| n >= 0 && n < all.as_i64().unwrap_or(0)));
    let empty = desk.err(
        "preview_audience",
        json!({"audience": {"audience": "vip"}, "kind": "email"}),
    );
    assert_eq!(empty["field"], "target_vip_statuses");

    let input = json!({"input": {"name": "Spring", "kind": "email", "subject": "Spring by the sea",
                                 "audience": "segment", "target_segments": ["leisure", "business"]}});
    let campaign = desk.ok("create_campaign", input.clone());
    assert_eq!(campaign["status"], "draft");
    assert_eq!(campaign["target_segments"], json!(["leisure", "business"]));
    assert_eq!(
        desk.ok("list_campaigns", json!({}))
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    let no_subject = desk.err(
        "create_campaign",
        json!({"input": {"name": "X", "kind": "email", "audience": "all_guests"}}),
    );
    assert_eq!(no_subject["field"], "subject");

    pms_sync_client::mirror::set_state(&desk.desk().conn(), "desk_staff_role", "front_desk")
        .expect("role");
    let refused = desk.err("create_campaign", input);
    assert_eq!(refused["field"], "role");
    assert_eq!(
        desk.ok("list_campaigns", json!({}))
            .as_array()
            .map(Vec::len),
        Some(3)
    );
}

#[test]
fn merging_a_duplicate_moves_its_stays_and_fills_the_blanks() {
    let desk = TestDesk::new();
    desk.set_up();
    let keep = desk.ok(
        "create_guest",
        json!({"input": {"first_name": "Ana", "last_name": "Reis", "email": "ana@example.com"}}),
    );
    let dupe = desk.ok(
        "create_guest",
        json!({"input": {"first_name": "Ana", "last_name": "Reis", "phone": "+351 912 000 111", "city": "Porto", "notes": "Likes a quiet room"}}),
    );
    let (keep_id, dupe_id) = (keep["guest"]["id"].clone(), dupe["guest"]["id"].clone());
    let stay = desk.ok(
        "create_reservation",
        json!({"input": {"guest_id": dupe_id, "room_id": desk.room("101"), "check_in": day(3).to_string(), "check_out": day(5).to_string()}}),
    );
    let merged = desk.ok(
        "merge_guests",
        json!({"keep_id": keep_id, "duplicate_id": dupe_id}),
    );
    assert_eq!(
        merged["guest"]["email"], "ana@example.com",
        "the kept guest's own values stay"
    );
    assert_eq!(
        merged["guest"]["phone"], "+351 912 000 111",
        "blanks filled from the duplicate"
    );
    assert_eq!(merged["guest"]["city"], "Porto");
    assert_eq!(merged["guest"]["notes"], "Likes a quiet room");
    assert_eq!(merged["stays"][0]["id"], stay["id"]);
    let gone = desk.err("get_guest", json!({"id": dupe_id}));
    assert_eq!(gone["kind"], "NotFound");
    let hits = desk.ok("search_guests", json!({"term": "Reis"}));
    assert_eq!(
        hits.as_array().map(Vec::len),
        Some(1),
        "the duplicate is out of search"
    );
    let itself = desk.err(
        "merge_guests",
        json!({"keep_id": keep_id, "duplicate_id": keep_id}),
    );
    assert_eq!(itself["field"], "duplicate_id");
}

/// An owner's laptop holds every hotel of the group: the desk chooses the one it works for, and
/// its screens follow; an unknown property is refused and changes nothing.
#[test]
fn the_desk_chooses_which_property_it_works_for() {
    let desk = TestDesk::new();
    desk.set_up();
    let first = desk.ok("get_app_status", json!({}))["property"]["id"].clone();
    // A second hotel of the group, as a sync would bring it: a property with one room.
    let second = uuid::Uuid::now_v7();
    {
        let mut conn = desk.desk().conn();
        pms_desk::db::insert(
            &mut conn,
            "properties",
            second,
            json!({"name": "Casa Verde", "currency": "EUR", "timezone": "Europe/Lisbon"}),
        )
        .expect("a second property");
        pms_desk::db::insert(
            &mut conn,
            "rooms",
            uuid::Uuid::now_v7(),
            json!({"property_id": second.to_string(), "number": "9", "housekeeping_status": "clean"}),
        )
        .expect("its room");
    }
    let names: Vec<Value> = desk
        .ok("list_properties", json!({}))
        .as_array()
        .expect("properties")
        .iter()
        .map(|p| p["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("Casa Verde"), json!("Pension Azul")]);
    assert_eq!(
        desk.ok("get_app_status", json!({}))["property"]["id"],
        first,
        "the hotel set up here stays chosen"
    );

    let chosen = desk.ok("set_desk_property", json!({"id": second.to_string()}));
    assert_eq!(chosen["name"], "Casa Verde");
    assert_eq!(
        desk.ok("get_app_status", json!({}))["property"]["name"],
        "Casa Verde"
    );
    let rooms = desk.ok("list_rooms", json!({}));
    let numbers: Vec<&str> = rooms
        .as_array()
        .expect("rooms")
        .iter()
        .filter_map(|r| r["number"].as_str())
        .collect();
    assert_eq!(numbers, vec!["9"], "the rooms of the chosen hotel only");

    let unknown = desk.err(
        "set_desk_property",
        json!({"id": uuid::Uuid::now_v7().to_string()}),
    );
    assert_eq!(unknown["kind"], "NotFound");
    assert_eq!(
        desk.ok("get_app_status", json!({}))["property"]["name"],
        "Casa Verde"
    );
}

#[test]
fn check_out_with_a_balance_needs_a_manager_s_reason_kept_on_the_folio() {
    let desk = TestDesk::new();
    desk.set_up();
    let stay = desk.book("Rui Lopes", "102", day(0), 1).expect("booked");
    let id = stay["id"].as_str().expect("id");
    desk.ok(
        "reservation_action",
        json!({"id": id, "action": "check_in"}),
    );
    // an extra the guest has not paid
    let folio = desk.ok(
        "post_charge",
        json!({"charge": {"reservation_id": id, "description": "Minibar", "unit_price_minor": 4500,
                          "quantity": 1, "charge_type": "minibar"}}),
    );
    assert_eq!(folio["balance"]["balance_minor"], 4500, "{folio}");
    // a card number typed as the extra's description is refused with the clerk's message
    let card = desk.err(
        "post_charge",
        json!({"charge": {"reservation_id": id, "description": "paid by 4111-1111-1111-1111",
                          "unit_price_minor": 100, "charge_type": "other"}}),
    );
    assert_eq!(card["field"], "description");
    assert!(card["message"]
        .as_str()
        .is_some_and(|m| m.contains("looks like a card number")));

    for reason in [json!(null), json!("  ")] {
        let refused = desk.err(
            "reservation_action",
            json!({"id": id, "action": "check_out", "override_reason": reason}),
        );
        assert_eq!(refused["kind"], "balance_due", "{refused}");
        assert!(
            refused["message"]
                .as_str()
                .is_some_and(|m| m.contains("45.00")),
            "{refused}"
        );
    }
    let still_in = desk.ok("get_reservation", json!({"id": id}));
    assert_eq!(still_in["status"], "checked_in");

    // the owner of this local hotel lets the guest go; the reason is on an override entry
    let out = desk.ok(
        "reservation_action",
        json!({"id": id, "action": "check_out", "override_reason": "Company pays by transfer"}),
    );
    assert_eq!(out["reservation"]["status"], "checked_out");
    let folio = desk.ok("get_folio", json!({"reservation_id": id}));
    let overrides: Vec<&serde_json::Value> = folio["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["kind"] == "override")
        .collect();
    assert_eq!(overrides.len(), 1, "{folio}");
    assert_eq!(overrides[0]["amount_minor"], 4500);
    assert!(overrides[0]["description"]
        .as_str()
        .is_some_and(|d| d.contains("Company pays by transfer")));
    // the override records the balance; it does not pay it
    assert_eq!(folio["balance"]["balance_minor"], 4500);
}

#[test]
fn an_open_desk_runs_the_night_audits_it_missed_by_itself() {
    let desk = TestDesk::with_sync();
    desk.set_up();
    let day = desk.ok("get_business_day", json!({}));
    let lisbon_now = chrono::Utc::now().with_timezone(&chrono_tz::Europe::Lisbon);
    let lisbon_today = lisbon_now.date_naive();
    // A business date is audited by itself after 02:00 of the next day (the default audit hour):
    // before 02:00 at the hotel, yesterday is still open.
    let open_after = if chrono::Timelike::hour(&lisbon_now) >= 2 {
        lisbon_today
    } else {
        lisbon_today - chrono::Duration::days(1)
    };
    assert_eq!(day["business_date"], lisbon_today.to_string());
    assert_eq!(day["audit_due"], false);
    // The desk was shut for a long weekend: its last audit closed the day before yesterday's eve.
    let property = day["property_id"].as_str().expect("property").to_owned();
    let last = lisbon_today - chrono::Duration::days(3);
    {
        let conn = rusqlite::Connection::open(desk.dir.join(pms_desk::state::DATABASE_FILE))
            .expect("the mirror");
        conn.execute(
            "insert into night_audits (id, property_id, business_date) values (?1, ?2, ?3)",
            rusqlite::params![uuid::Uuid::now_v7().to_string(), property, last.to_string()],
        )
        .expect("an old audit");
    }
    desk.ok("sync_now", json!({}));
    let started = std::time::Instant::now();
    loop {
        let day = desk.ok("get_business_day", json!({}));
        // the days up to yesterday closed one by one; today stays open until its audit hour
        if day["business_date"] == open_after.to_string() {
            assert_eq!(day["audit_due"], false);
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "the desk did not audit the missed days: {day}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let conn = rusqlite::Connection::open(desk.dir.join(pms_desk::state::DATABASE_FILE))
        .expect("the mirror");
    let closed: Vec<String> = conn
        .prepare("select business_date from night_audits order by business_date")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("audits")
        .collect::<Result<_, _>>()
        .expect("rows");
    let expected: Vec<String> = last
        .iter_days()
        .take_while(|date| *date < open_after)
        .map(|date| date.to_string())
        .collect();
    assert!(expected.len() >= 2, "{expected:?}");
    assert_eq!(closed, expected);
}

#[test]
fn today_is_the_property_s_day_in_its_time_zone_not_the_laptop_s() {
    // 11:30 UTC on 5 December: already 00:30 on the 6th in Auckland (UTC+13 in summer), still
    // 03:30 on the 5th in Los Angeles (UTC−8). The laptop's own zone (UTC here) never counts.
    let instant = chrono::DateTime::parse_from_rfc3339("2026-12-05T11:30:00Z")
        .expect("an instant")
        .with_timezone(&chrono::Utc);
    let fifth = NaiveDate::from_ymd_opt(2026, 12, 5).expect("a date");
    let sixth = fifth.succ_opt().expect("a date");
    for (zone, property_today) in [("Pacific/Auckland", sixth), ("America/Los_Angeles", fifth)] {
        let desk = TestDesk::new();
        desk.ok(
            "setup_local_hotel",
            json!({"input": {
                "property_name": "Zone Inn", "currency": "EUR", "timezone": zone,
                "room_types": [{"code": "STD", "name": "Standard", "base_rate_cents": 10000,
                                "max_occupancy": 2, "rooms": ["1", "2"]}]
            }}),
        );
        desk.desk().pin_clock(Some(instant));
        desk.book("Ana Fifth", "1", fifth, 2)
            .expect("arrives on the 5th");
        desk.book("Ben Sixth", "2", sixth, 2)
            .expect("arrives on the 6th");

        let status = desk.ok("get_app_status", json!({}));
        assert_eq!(status["today"], property_today.to_string(), "{zone}");
        let today = desk.ok("get_today", json!({}));
        assert_eq!(today["date"], property_today.to_string(), "{zone}");
        let arrivals: Vec<&str> = today["arrivals"]
            .as_array()
            .expect("arrivals")
            .iter()
            .filter_map(|r| r["guest_name"].as_str())
            .collect();
        let expected = if property_today == fifth {
            "Ana Fifth"
        } else {
            "Ben Sixth"
        };
        assert_eq!(arrivals, [expected], "{zone}: arrivals of its own today");
        assert_eq!(
            desk.ok("get_business_day", json!({}))["business_date"],
            property_today.to_string(),
            "{zone}: the business date before any audit"
        );
    }
}

#[test]
fn reports_cover_a_range_and_export_as_csv() {
    // saved, not handed to a viewer
    std::env::set_var("PMS_NO_VIEWER", "1");
    let desk = TestDesk::new();
    desk.ok("load_demo", json!({}));
    let today: NaiveDate = desk.ok("get_app_status", json!({}))["today"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .expect("today");
    let (from, to) = (today - Duration::days(29), today);
    let args = json!({"from": from.to_string(), "to": to.to_string()});
    let report = desk.ok("get_report", args.clone());
    assert_eq!(report["days"].as_array().map(Vec::len), Some(30));
    assert_eq!(report["currency"], "EUR");
    assert!(
        report["totals"]["rooms_sold"]
            .as_i64()
            .is_some_and(|n| n > 0),
        "{report}"
    );
    assert!(report["days"][0]["occupancy_percent"].is_number());

    let path = desk.ok("export_report_csv", args);
    let text = std::fs::read_to_string(path.as_str().expect("a path")).expect("the CSV");
    assert_eq!(text.lines().count(), 32, "header, 30 nights, total");
    let guests = desk.ok("export_guests_csv", json!({}));
    let text = std::fs::read_to_string(guests.as_str().expect("a path")).expect("the CSV");
    assert!(text.starts_with("first_name,last_name,email"));
    assert!(text.lines().count() > 100, "the demo's guests");

    let backwards = desk.err(
        "get_report",
        json!({"from": to.to_string(), "to": from.to_string()}),
    );
    assert_eq!(backwards["field"], "to");
}

/// A PDF's text as `pdftotext -layout` reads it (poppler-utils), and `pdfinfo`'s report.
fn pdf_text_and_info(path: &Value) -> (String, String) {
    let path = path.as_str().expect("a path");
    let run = |tool: &str, args: &[&str]| {
        let out = std::process::Command::new(tool)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("run {tool} (poppler-utils): {e}"));
        assert!(
            out.status.success(),
            "{tool}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("UTF-8 from poppler")
    };
    (
        run("pdftotext", &["-layout", "-enc", "UTF-8", path, "-"]),
        run("pdfinfo", &[path]),
    )
}

/// The line of a printed list that holds `guest`, which must also hold each of `also`.
fn assert_row(text: &str, guest: &str, also: &[&str]) {
    assert!(
        text.lines()
            .any(|l| l.contains(guest) && also.iter().all(|a| l.contains(a))),
        "no line with {guest} and {also:?} in:\n{text}"
    );
}

#[test]
fn each_list_a_registration_card_and_the_outage_pack_print_with_names_rooms_and_balances() {
    std::env::set_var("PMS_NO_VIEWER", "1");
    let desk = TestDesk::new();
    desk.set_up();
    // 10:00 on 5 December in Lisbon (UTC+0 in winter): the pack covers the 5th and the 6th.
    let now = chrono::DateTime::parse_from_rfc3339("2026-12-05T10:00:00Z")
        .expect("an instant")
        .with_timezone(&chrono::Utc);
    desk.desk().pin_clock(Some(now));
    let date = |d: u32| NaiveDate::from_ymd_opt(2026, 12, d).expect("a date");
    let id = |stay: &Value| stay["id"].as_str().expect("id").to_owned();

    // In the house: Ines leaves today owing a minibar; Carla paid ahead and is in credit.
    let ines = id(&desk.book("Ines Prata", "101", date(3), 2).expect("booked"));
    let carla = id(&desk.book("Carla Dias", "202", date(4), 4).expect("booked"));
    for stay in [&ines, &carla] {
        desk.ok(
            "reservation_action",
            json!({"id": stay, "action": "check_in"}),
        );
    }
    desk.ok(
        "post_charge",
        json!({"charge": {"reservation_id": ines, "description": "Minibar", "unit_price_minor": 4500,
                          "quantity": 1, "charge_type": "minibar"}}),
    );
    desk.ok(
        "record_payment",
        json!({"payment": {"reservation_id": carla, "amount_minor": 10000, "method": "card"}}),
    );
    // To come: Rui today, Marta tomorrow, Zeca in a fortnight (outside the next 24 hours).
    let rui = id(&desk.book("Rui Lobo", "102", date(5), 3).expect("booked"));
    desk.book("Marta Sousa", "201", date(6), 2).expect("booked");
    desk.book("Zeca Longe", "103", date(20), 2).expect("booked");

    let print = |kind: &str| desk.ok("print_paperwork", json!({"kind": kind}));

    let (text, info) = pdf_text_and_info(&print("arrivals"));
    assert!(
        info.contains("595 x 842"),
        "A4 for a hotel in Portugal: {info}"
    );
    assert!(text.contains("Arrivals 2026-12-05"), "{text}");
    assert_row(&text, "Rui Lobo", &["102", "2026-12-08"]);
    assert!(
        !text.contains("Marta Sousa") && !text.contains("Ines Prata"),
        "{text}"
    );

    let (text, _) = pdf_text_and_info(&print("departures"));
    assert!(text.contains("Departures 2026-12-05"), "{text}");
    assert_row(&text, "Ines Prata", &["101", "45.00 EUR"]);
    assert!(!text.contains("Carla Dias"), "{text}");

    let (text, _) = pdf_text_and_info(&print("in_house"));
    assert_row(&text, "Ines Prata", &["101", "45.00 EUR"]);
    assert_row(&text, "Carla Dias", &["202", "-100.00 EUR"]);
    assert!(text.contains("Total: 2"), "{text}");
    assert!(!text.contains("Rui Lobo"), "{text}");

    let (text, _) = pdf_text_and_info(&print("housekeeping"));
    assert!(text.contains("Housekeeping 2026-12-05"), "{text}");
    assert_row(&text, "Ines Prata", &["101", "leaves"]);
    assert_row(&text, "Rui Lobo arrives", &["102"]);
    assert!(
        text.lines().any(|l| l.trim_start().starts_with("103")),
        "{text}"
    );

    let card = desk.ok("print_registration_card", json!({"reservation_id": rui}));
    let (text, info) = pdf_text_and_info(&card);
    let pages = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .map(str::trim);
    assert_eq!(pages, Some("1"), "one page per card: {info}");
    for wanted in [
        "Registration card",
        "Rui Lobo",
        "102",
        "Standard",
        "2026-12-05",
        "2026-12-08",
        "Identity document",
        "Guest's signature",
    ] {
        assert!(text.contains(wanted), "{wanted:?} not on the card:\n{text}");
    }

    // The outage pack: both days' arrivals and departures, the house, housekeeping, and a card
    // for each arrival still to come in the next 24 hours.
    let pack = print("outage_pack");
    assert!(
        pack.as_str()
            .is_some_and(|p| p.ends_with("2026-12-05-outage-pack.pdf")),
        "{pack}"
    );
    let (text, _) = pdf_text_and_info(&pack);
    for wanted in [
        "Arrivals 2026-12-05",
        "Arrivals 2026-12-06",
        "Departures 2026-12-05",
        "Departures 2026-12-06",
        "In house 2026-12-05",
        "Housekeeping 2026-12-05",
    ] {
        assert!(text.contains(wanted), "{wanted:?} not in the pack:\n{text}");
    }
    assert_row(&text, "Rui Lobo", &["102"]);
    assert_row(&text, "Marta Sousa", &["201"]);
    assert_row(&text, "Carla Dias", &["202", "-100.00 EUR"]);
    assert_row(&text, "Ines Prata", &["101", "45.00 EUR"]);
    assert_eq!(
        text.matches("Guest's signature").count(),
        2,
        "cards for Rui and Marta, not for guests already in:\n{text}"
    );
    assert!(!text.contains("Zeca Longe"), "{text}");

    // In the clerk's language, and on Letter once the hotel is in the United States.
    let (text, _) = pdf_text_and_info(&desk.ok(
        "print_paperwork",
        json!({"kind": "arrivals", "language": "es"}),
    ));
    assert!(text.contains("Llegadas 2026-12-05"), "{text}");
    desk.desk()
        .conn()
        .execute("update properties set country_code = 'US'", [])
        .expect("the country");
    let (_, info) = pdf_text_and_info(&print("in_house"));
    assert!(
        info.contains("612 x 792"),
        "Letter in the United States: {info}"
    );

    // Cards for a day nobody arrives on: the clerk is told so.
    let none = desk.err(
        "print_paperwork",
        json!({"kind": "registration_cards", "date": "2026-12-24"}),
    );
    assert_eq!(none["kind"], "NoArrivals", "{none}");
    assert!(none["message"]
        .as_str()
        .is_some_and(|m| m.contains("2026-12-24")));
}

/// A hotel alone on its laptop has no server to number its bookings or count its guests' stays:
/// the desk does both, by the server's rules (not "number on sync", not "0 bookings").
#[test]
fn a_local_hotel_numbers_its_bookings_and_counts_its_guests_stays() {
    let desk = TestDesk::new();
    desk.set_up();
    let guest = desk.ok(
        "create_guest",
        json!({"input": {"first_name": "Rui", "last_name": "Lopes"}}),
    );
    let guest_id = guest["guest"]["id"].as_str().expect("id").to_owned();
    let book = |room: &str, from: i64, nights: i64| {
        desk.ok(
            "create_reservation",
            json!({"input": {"guest_id": guest_id, "room_id": desk.room(room),
                   "check_in": day(from).to_string(), "check_out": day(from + nights).to_string()}}),
        )
    };
    let stays = [book("101", 0, 2), book("102", 5, 1), book("103", 9, 1)];
    assert_eq!(
        stays
            .iter()
            .map(|s| s["confirmation_number"].clone())
            .collect::<Vec<_>>(),
        vec![json!(1), json!(2), json!(3)],
        "numbered from the first booking"
    );
    let found = desk.ok("search_reservations", json!({"text": "#2"}));
    assert_eq!(found[0]["id"], stays[1]["id"], "{found}");

    // one cancelled; one stayed and left
    desk.ok(
        "reservation_action",
        json!({"id": stays[2]["id"], "action": "cancel"}),
    );
    desk.ok(
        "reservation_action",
        json!({"id": stays[0]["id"], "action": "check_in"}),
    );
    desk.ok(
        "reservation_action",
        json!({"id": stays[0]["id"], "action": "check_out", "override_reason": "Pays by transfer"}),
    );
    let profile = desk.ok("get_guest", json!({"id": guest_id}));
    assert_eq!(profile["guest"]["total_bookings"], 2, "{profile}");
    assert_eq!(
        profile["guest"]["total_spent_cents"], stays[0]["total_amount_cents"],
        "what the checked-out stay came to"
    );
    assert!(stays[0]["total_amount_cents"]
        .as_i64()
        .is_some_and(|t| t > 0));
}

#[test]
fn check_in_captures_the_registration_which_prints_and_goes_when_the_property_s_retention_ends() {
    std::env::set_var("PMS_NO_VIEWER", "1");
    let desk = TestDesk::new();
    desk.set_up();
    let at = |text: &str| {
        chrono::DateTime::parse_from_rfc3339(text)
            .expect("an instant")
            .with_timezone(&chrono::Utc)
    };
    desk.desk().pin_clock(Some(at("2026-12-05T10:00:00Z")));
    let guest = desk.ok(
        "create_guest",
        json!({"input": {"first_name": "Ines", "last_name": "Prata"}}),
    );
    let stay = desk.ok(
        "create_reservation",
        json!({"input": {"guest_id": guest["guest"]["id"], "room_id": desk.room("101"),
                         "check_in": "2026-12-05", "check_out": "2026-12-07", "adults": 2}}),
    );
    let id = stay["id"].as_str().expect("id");
    let capture = |input: Value| {
        desk.call(
            "capture_registration",
            json!({"reservation_id": id, "input": input}),
        )
    };
    let passport = |number: &str, expires_on: &str| json!({"kind": "passport", "number": number, "issuing_country": "pt", "expires_on": expires_on});

    // What the rules refuse names the field, in the clerk's words, and writes nothing.
    let before = desk.waiting();
    let expired =
        capture(json!({"document": passport("P1234567", "2026-12-04")})).expect_err("expired");
    assert_eq!(expired["field"], "document_expires_on", "{expired}");
    assert!(expired["message"]
        .as_str()
        .is_some_and(|m| m.contains("expired on 2026-12-04")));
    let card = capture(json!({"document": passport("4111 1111 1111 1111", "2030-01-01")}))
        .expect_err("card");
    assert_eq!(card["field"], "document number", "{card}");
    let unborn = capture(json!({"date_of_birth": "2027-01-01"})).expect_err("future");
    assert_eq!(unborn["field"], "date_of_birth");
    assert_eq!(desk.waiting(), before, "a refused capture writes nothing");

    // Captured at check-in; a corrected number replaces the stay's document, never adds one.
    let registration = capture(json!({"date_of_birth": "1980-02-29", "nationality": "pt",
                                      "document": passport("P1234567", "2030-01-01")}))
    .expect("captured");
    assert_eq!(registration["nationality"], "PT");
    assert_eq!(registration["document"]["number"], "P1234567");
    // kept 365 days (the default) after the check-out on the 7th
    assert_eq!(registration["document"]["kept_until"], "2027-12-06");
    let registration =
        capture(json!({"document": passport("P7654321", "2030-01-01")})).expect("corrected");
    assert_eq!(registration["document"]["number"], "P7654321");
    assert_eq!(
        registration["date_of_birth"], "1980-02-29",
        "kept from the first capture"
    );
    let documents = |desk: &TestDesk| -> i64 {
        desk.desk()
            .conn()
            .query_row("select count(*) from guest_documents", [], |r| r.get(0))
            .expect("count")
    };
    assert_eq!(documents(&desk), 1);
    desk.ok(
        "reservation_action",
        json!({"id": id, "action": "check_in"}),
    );

    let printed = desk.ok("print_registration_card", json!({"reservation_id": id}));
    let (text, _) = pdf_text_and_info(&printed);
    for expected in [
        "Ines Prata",
        "passport",
        "P7654321",
        "2030-01-01",
        "1980-02-29",
        "PT",
    ] {
        assert!(text.contains(expected), "{expected} on the card:\n{text}");
    }

    // The booking's history says what happened, in order.
    let history = desk.ok("booking_history", json!({"id": id}));
    let actions: Vec<&str> = history
        .as_array()
        .expect("lines")
        .iter()
        .filter_map(|line| line["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        ["booked", "registered", "registered", "checked_in"]
    );

    // The owner keeps documents 30 days after check-out: still there on the 30th day after the
    // 7th (5 January in Lisbon), gone on the next, offline, and no longer printed.
    assert_eq!(desk.ok("set_document_retention", json!({"days": 30})), 30);
    let refused = desk.err("set_document_retention", json!({"days": 0}));
    assert_eq!(refused["field"], "days");
    desk.desk().pin_clock(Some(at("2027-01-05T23:30:00Z")));
    assert_eq!(
        pms_desk::sync_task::purge_expired_documents(desk.desk()).expect("purge"),
        0
    );
    assert_eq!(documents(&desk), 1);
    desk.desk().pin_clock(Some(at("2027-01-06T00:30:00Z")));
    assert_eq!(
        pms_desk::sync_task::purge_expired_documents(desk.desk()).expect("purge"),
        1
    );
    assert_eq!(documents(&desk), 0);
    let waiting_documents: i64 = desk
        .desk()
        .conn()
        .query_row(
            "select count(*) from outbox where table_name = 'guest_documents' and status = 'pending'",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(
        waiting_documents, 0,
        "nothing left to send of a purged document"
    );
    assert!(desk.ok("get_registration", json!({"reservation_id": id}))["document"].is_null());
    let printed = desk.ok("print_registration_card", json!({"reservation_id": id}));
    let (text, _) = pdf_text_and_info(&printed);
    assert!(
        text.contains("Ines Prata") && !text.contains("P7654321"),
        "{text}"
    );
}

#[test]
fn a_guest_s_preferences_are_edited_by_the_server_s_rules_and_calls_and_notes_are_logged() {
    let desk = TestDesk::new();
    desk.set_up();
    let profile = desk.ok(
        "create_guest",
        json!({"input": {"first_name": "Marta", "last_name": "Sousa"}}),
    );
    let guest = profile["guest"]["id"].as_str().expect("id").to_owned();
    assert!(profile["preferences"].is_null());
    let save = |changes: Value| {
        desk.call(
            "save_guest_preferences",
            json!({"guest_id": guest, "changes": changes}),
        )
    };

    let floor =
        save(json!({"bed_type": "king", "floor_preference": "specific"})).expect_err("no floor");
    assert_eq!(floor["field"], "specific_floor", "{floor}");
    let bed = save(json!({"bed_type": "waterbed"})).expect_err("not a bed type");
    assert_eq!(bed["field"], "bed_type");
    let saved = save(json!({"bed_type": "king", "floor_preference": "specific", "specific_floor": "3",
                            "allergies": "nuts, shellfish", "wake_up_call": true, "wake_up_time": "6:45"}))
    .expect("saved");
    let preferences = &saved["preferences"];
    assert_eq!(preferences["bed_type"], "king");
    assert_eq!(preferences["specific_floor"], 3);
    assert_eq!(preferences["allergies"], json!(["nuts", "shellfish"]));
    assert_eq!(preferences["wake_up_time"], "06:45:00");
    // one record per guest, under the id every desk derives for it
    let guest_uuid = uuid::Uuid::parse_str(&guest).expect("uuid");
    assert_eq!(
        preferences["id"],
        pms_sync_protocol::derived::guest_preferences_id(guest_uuid).to_string()
    );
    let saved = save(json!({"bed_type": "twin"})).expect("changed");
    assert_eq!(saved["preferences"]["bed_type"], "twin");
    assert_eq!(
        saved["preferences"]["allergies"],
        json!(["nuts", "shellfish"]),
        "left as it was"
    );
    let records: i64 = desk
        .desk()
        .conn()
        .query_row(
            "select count(*) from guest_preferences where guest_id = ?1",
            [&guest],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(records, 1);

    let log = |entry: Value| {
        desk.call(
            "log_communication",
            json!({"guest_id": guest, "entry": entry}),
        )
    };
    let empty = log(json!({"kind": "note", "message": "  "})).expect_err("empty");
    assert_eq!(empty["field"], "message");
    let card =
        log(json!({"kind": "call", "message": "paid with 4111 1111 1111 1111"})).expect_err("card");
    assert!(
        card["message"]
            .as_str()
            .is_some_and(|m| m.contains("card number")),
        "{card}"
    );
    log(json!({"kind": "call", "inbound": true, "subject": "Late arrival", "message": "Arrives after 23:00"}))
        .expect("logged");
    let logged = log(json!({"kind": "note", "message": "Prefers the quiet side"})).expect("logged");
    let kinds: Vec<(&str, &str)> = logged["communications"]
        .as_array()
        .expect("communications")
        .iter()
        .map(|c| {
            (
                c["kind"].as_str().unwrap_or(""),
                c["direction"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(kinds.len(), 2, "{logged}");
    assert!(
        kinds.contains(&("phone", "inbound")) && kinds.contains(&("in_person", "inbound")),
        "{kinds:?}"
    );
}

#[test]
fn owners_set_up_loyalty_programs_with_climbing_tiers_and_the_front_desk_cannot() {
    let desk = TestDesk::new();
    desk.set_up();
    let program = |name: &str, tiers: Value| {
        json!({"name": name, "enabled": true, "points_per_currency_unit": 2.0,
               "first_stay_bonus_points": 100, "point_value_cents": 0.5,
               "minimum_redemption_points": 500, "points_expiry_days": 730, "tiers": tiers})
    };
    let tiers = json!([
        {"name": "Silver", "required_points": 1000, "multiplier": 1.25, "benefits": ["Late check-out"]},
        {"name": "Gold", "required_points": 5000, "multiplier": 1.5}
    ]);
    let listed = desk.ok(
        "create_loyalty_program",
        json!({"input": program("Azul Club", tiers)}),
    );
    let created = listed
        .as_array()
        .expect("programs")
        .iter()
        .find(|p| p["name"] == "Azul Club")
        .expect("created")
        .clone();
    assert_eq!(created["currency"], "EUR", "the property's currency");
    assert_eq!(created["points_per_currency_unit"], 2.0);
    assert_eq!(created["tiers"][0]["benefits"], json!(["Late check-out"]));
    assert_eq!(created["points_expiry_days"], 730);

    let falling = json!([
        {"name": "Gold", "required_points": 5000, "multiplier": 1.5},
        {"name": "Silver", "required_points": 1000, "multiplier": 1.25}
    ]);
    let refused = desk.err(
        "create_loyalty_program",
        json!({"input": program("Other", falling)}),
    );
    assert_eq!(refused["field"], "tiers", "{refused}");

    let id = created["id"].as_str().expect("id");
    let renamed = json!([
        {"name": "Silver", "required_points": 800, "multiplier": 1.25},
        {"name": "Platinum", "required_points": 8000, "multiplier": 2.0}
    ]);
    let listed = desk.ok(
        "update_loyalty_program",
        json!({"id": id, "input": program("Azul Club", renamed)}),
    );
    let updated = listed
        .as_array()
        .expect("programs")
        .iter()
        .find(|p| p["id"] == id)
        .expect("kept");
    let names: Vec<&str> = updated["tiers"]
        .as_array()
        .expect("tiers")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names, ["Silver", "Platinum"]);
    assert_eq!(updated["tiers"][0]["required_points"], 800);

    pms_sync_client::mirror::set_state(&desk.desk().conn(), "desk_staff_role", "front_desk")
        .expect("front desk");
    let front_desk = desk.err(
        "create_loyalty_program",
        json!({"input": program("Mine", json!([]))}),
    );
    assert_eq!(front_desk["kind"], "ManagersOnly");
}
