//! Guests and what hangs off them: `guest:`, `pref:`, `comm:`.

use serde_json::Value;

use super::{set_created_at, tenant_id, tenant_of, uuid_field, Mapped, Missing, Row, Target};
use crate::kv_import::decode::{Fields, Problem};
use crate::kv_import::keys::{Entity, Key};

/// A reference to a guest of `tenant` (the guest's row must exist or the record is quarantined).
fn guest_link(row: &mut Row, tenant: &str, guest: &str) {
    let id = tenant_id(tenant, "guest", guest);
    row.set("guest_id", id);
    row.link(
        "guest_id",
        Target::Row {
            table: "guests",
            id,
        },
        guest,
        Missing::Quarantine,
    );
}

/// An email as stored: trimmed and lower-cased (emails are compared case-blind; the dumps hold
/// the same address in several cases). Not an address at all: left out, kept in the metadata.
fn email(f: &mut Fields, name: &str) -> Result<Option<String>, Problem> {
    match f.non_blank(name)? {
        None => Ok(None),
        Some(text) => {
            let lower = text.to_lowercase();
            let valid = lower.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty()
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && !lower.chars().any(char::is_whitespace)
            });
            if !valid {
                return Err(Problem::field(
                    name,
                    format!("{text:?} is not an email address"),
                ));
            }
            if lower != text {
                f.note(format!("email lower-cased ({name})"));
            }
            Ok(Some(lower))
        }
    }
}

/// `guest:<tenantId>:<guestId>` → guests. The full name is generated from first and last name;
/// fields without a column (`preferences`, `loyaltyPoints`…) are kept in `metadata.legacy`.
pub fn guest(key: &Key, f: &mut Fields) -> Result<Mapped, Problem> {
    let tenant = tenant_of(key)?;
    let mut row = Row::new();
    row.set("id", tenant_id(tenant, "guest", &key.id));
    row.set("legacy_id", super::legacy_id(&key.id));
    let mut first = f.text("firstName")?.unwrap_or_default();
    let last = f.text("lastName")?.unwrap_or_default();
    let full = f.text("fullName")?;
    if first.is_empty() && last.is_empty() {
        if let Some(full) = full.filter(|n| !n.is_empty()) {
            f.note("only fullName given: kept as the first name");
            first = full;
        }
    }
    if last.is_empty() && !first.is_empty() {
        f.note("empty last name");
    }
    row.set("first_name", first);
    row.set("last_name", last);
    let mut metadata = f.object("metadata")?.unwrap_or_default();
    let email = match email(f, "email") {
        Ok(email) => email,
        Err(problem) => {
            // a typo in an address is no reason to lose the guest
            f.note("not an email address: kept in metadata.legacy");
            metadata
                .entry("legacy")
                .or_insert_with(|| Value::Object(Default::default()))
                .as_object_mut()
                .map(|legacy| legacy.insert("email".to_owned(), Value::String(problem.0)));
            None
        }
    };
    row.set("email", email);
    row.set("phone", f.non_blank("phone")?);
    address(&mut row, f)?;
    row.set("date_of_birth", f.date("dateOfBirth")?);
    row.set("nationality", super::code(f, "nationality", 2)?);
    row.set(
        "segment",
        f.choice("segment", &["regular", "business", "leisure", "group"])?
            .unwrap_or_else(|| "regular".to_owned()),
    );
    row.set(
        "vip_status",
        f.choice("vipStatus", &["none", "regular", "vip", "vvip"])?
            .unwrap_or_else(|| "none".to_owned()),
    );
    // The guest's metrics belong to the server: they are recomputed from the imported stays by
    // the reservations' triggers (`…003100_derived_values.sql`). The legacy figures are still
    // read (and their dirt noted) but not written, so the tables stay consistent with the stays.
    let _legacy_metrics = (
        f.int32_or("totalBookings", 0)?,
        f.cents("totalSpent")?,
        f.cents("lifetimeValue")?,
        f.timestamp("lastStayAt")?,
    );
    // 0 is how the old panel said "not rated"
    let rating = f
        .number("averageRating")?
        .filter(|r| *r != 0.0)
        .map(|r| (r * 100.0).round() / 100.0);
    row.set("average_rating", rating);
    row.set(
        "currency",
        super::code(f, "currency", 3)?.unwrap_or_else(|| "USD".to_owned()),
    );
    let mut consent = match f.object("communicationPreferences")? {
        Some(map) => Fields::new(map),
        None => Fields::new(Default::default()),
    };
    row.set("contact_by_email", consent.boolean_or("email", true)?);
    row.set("contact_by_sms", consent.boolean_or("sms", false)?);
    row.set("contact_by_phone", consent.boolean_or("phone", false)?);
    row.set("marketing_consent", consent.boolean_or("marketing", false)?);
    row.set("tags", f.strings("tags")?);
    row.set("notes", f.non_blank("notes")?);
    set_created_at(&mut row, f)?;
    let unread = f.unread();
    if !unread.is_empty() {
        let legacy = metadata
            .entry("legacy")
            .or_insert_with(|| Value::Object(Default::default()));
        if let Some(legacy) = legacy.as_object_mut() {
            legacy.extend(unread.clone());
        }
        f.ignore(&unread.keys().map(String::as_str).collect::<Vec<_>>());
    }
    row.set("metadata", Value::Object(metadata));
    Ok(row.finish(Entity::Guest, Some(tenant)))
}

/// `address`: an object (`line1`/`street`, `line2`, `city`, `region`/`state`, `postalCode`/`zip`,
/// `country`) or one line of text.
fn address(row: &mut Row, f: &mut Fields) -> Result<(), Problem> {
    let columns = [
        "address_line1",
        "address_line2",
        "city",
        "region",
        "postal_code",
        "country_code",
    ];
    for column in columns {
        row.set(column, Value::Null);
    }
    match f.raw("address") {
        None => {}
        Some(Value::String(line)) => {
            row.set("address_line1", Some(line.trim()).filter(|l| !l.is_empty()));
        }
        Some(Value::Object(map)) => {
            let mut a = Fields::new(map);
            let first = |a: &mut Fields, names: &[&str]| -> Result<Option<String>, Problem> {
                for name in names {
                    if let Some(v) = a.non_blank(name)? {
                        return Ok(Some(v));
                    }
                }
                Ok(None)
            };
            row.set(
                "address_line1",
                first(&mut a, &["line1", "street", "address1"])?,
            );
            row.set("address_line2", first(&mut a, &["line2", "address2"])?);
            row.set("city", first(&mut a, &["city"])?);
            row.set("region", first(&mut a, &["region", "state"])?);
            row.set(
                "postal_code",
                first(&mut a, &["postalCode", "zip", "postcode"])?,
            );
            let country = first(&mut a, &["countryCode", "country"])?;
            match country {
                Some(c) if c.len() == 2 && c.chars().all(|ch| ch.is_ascii_alphabetic()) => {
                    row.set("country_code", c.to_ascii_uppercase());
                }
                Some(_) => f.note("address country is not a 2-letter code: not imported"),
                None => {}
            }
            for (name, _) in a.unread() {
                f.note(format!(
                    "address field without a column, not imported: {name}"
                ));
            }
        }
        Some(other) => {
            return Err(Problem::field(
                "address",
                format!("expected an object or text, found {}", other),
            ))
        }
    }
    Ok(())
}

/// `pref:<tenantId>:<guestId>` → guest_preferences (one per guest).
pub fn preference(key: &Key, f: &mut Fields) -> Result<Mapped, Problem> {
    let tenant = tenant_of(key)?;
    let guest = &key.id;
    if let Some(named) = f.non_blank("guestId")? {
        if &named != guest {
            f.note("guestId differs from the key: the key's guest used");
        }
    }
    let mut row = Row::new();
    row.set("id", tenant_id(tenant, "pref", guest));
    row.set(
        "legacy_id",
        f.non_blank("id")?
            .unwrap_or_else(|| format!("pref_{guest}")),
    );
    guest_link(&mut row, tenant, guest);
    row.set("room_type", f.non_blank("roomType")?);
    row.set(
        "bed_type",
        f.choice("bedType", &["king", "queen", "twin", "double"])?,
    );
    row.set(
        "smoking",
        f.choice(
            "smokingPreference",
            &["smoking", "non_smoking", "no_preference"],
        )?,
    );
    let mut floor = f.choice("floorPreference", &["low", "mid", "high", "specific"])?;
    let mut specific = f.int32("specificFloor")?;
    match (floor.as_deref(), specific) {
        (None, Some(_)) => floor = Some("specific".to_owned()),
        (Some("specific"), None) => {
            f.note("floorPreference specific without specificFloor: not set");
            floor = None;
        }
        (Some(other), Some(_)) if other != "specific" => {
            f.note("specificFloor given with another floorPreference: not imported");
            specific = None;
        }
        _ => {}
    }
    row.set("floor_preference", floor);
    row.set("specific_floor", specific);
    row.set("view_preference", f.non_blank("viewPreference")?);
    row.set("pillow_type", f.non_blank("pillowType")?);
    row.set(
        "room_temperature_c",
        f.number("roomTemperature")?
            .map(|t| (t * 10.0).round() / 10.0),
    );
    row.set("newspaper", f.non_blank("newspaper")?);
    row.set("dietary_restrictions", f.strings("dietaryRestrictions")?);
    row.set("allergies", f.strings("allergies")?);
    row.set("favorite_foods", f.strings("favoriteFood")?);
    row.set("favorite_drinks", f.strings("favoriteDrinks")?);
    row.set(
        "housekeeping_time",
        f.choice(
            "housekeepingTime",
            &["morning", "afternoon", "evening", "skip"],
        )?,
    );
    let mut wake_up = f.boolean_or("wakeUpCall", false)?;
    let wake_up_time = f.time_of_day("wakeUpTime")?;
    if wake_up && wake_up_time.is_none() {
        f.note("wakeUpCall without wakeUpTime: no wake-up call set");
        wake_up = false;
    }
    row.set("wake_up_call", wake_up);
    row.set(
        "wake_up_time",
        wake_up_time.map(|t| t.format("%H:%M:%S").to_string()),
    );
    row.set(
        "occasion_type",
        f.choice(
            "occasionType",
            &["birthday", "anniversary", "honeymoon", "business"],
        )?,
    );
    row.set("occasion_date", f.date("occasionDate")?);
    row.set("special_requests", f.strings("specialRequests")?);
    row.set("accessibility_needs", f.strings("accessibilityNeeds")?);
    row.set("preferred_language", f.non_blank("preferredLanguage")?);
    row.set("notes", f.non_blank("notes")?);
    set_created_at(&mut row, f)?;
    Ok(row.finish(Entity::GuestPreference, Some(tenant)))
}

/// `comm:<tenantId>:<guestId>:<commId>` → communication_logs.
pub fn communication(key: &Key, f: &mut Fields) -> Result<Mapped, Problem> {
    let tenant = tenant_of(key)?;
    let guest = key.parent.clone().unwrap_or_default();
    if let Some(named) = f.non_blank("guestId")? {
        if named != guest {
            f.note("guestId differs from the key: the key's guest used");
        }
    }
    let mut row = Row::new();
    row.set("id", tenant_id(tenant, "comm", &key.id));
    row.set("legacy_id", super::legacy_id(&key.id));
    guest_link(&mut row, tenant, &guest);
    row.set(
        "type",
        f.choice(
            "type",
            &["email", "sms", "phone", "in_person", "chat", "other"],
        )?
        .ok_or_else(|| Problem::missing("type"))?,
    );
    row.set(
        "direction",
        f.choice("direction", &["inbound", "outbound"])?
            .ok_or_else(|| Problem::missing("direction"))?,
    );
    row.set("subject", f.non_blank("subject")?);
    row.set("message", f.text("message")?);
    row.set("from_user", uuid_field(f, "fromUser")?);
    row.set("from_email", email(f, "fromEmail")?);
    row.set("from_phone", f.non_blank("fromPhone")?);
    row.set("to_email", email(f, "toEmail")?);
    row.set("to_phone", f.non_blank("toPhone")?);
    row.set(
        "status",
        f.choice(
            "status",
            &["sent", "delivered", "read", "failed", "bounced"],
        )?
        .unwrap_or_else(|| "sent".to_owned()),
    );
    row.set("related_type", f.non_blank("relatedType")?);
    row.set("related_id", f.non_blank("relatedId")?);
    row.set("campaign_id", Value::Null);
    if let Some(campaign) = f.non_blank("campaignId")? {
        let id = tenant_id(tenant, "campaign", &campaign);
        row.set("campaign_id", id);
        row.link(
            "campaign_id",
            Target::Row {
                table: "marketing_campaigns",
                id,
            },
            &campaign,
            Missing::Clear("campaign gone: communication imported without it"),
        );
    }
    row.set("sent_at", f.timestamp("sentAt")?);
    row.set("delivered_at", f.timestamp("deliveredAt")?);
    row.set("read_at", f.timestamp("readAt")?);
    row.set("error", f.non_blank("error")?);
    set_created_at(&mut row, f)?;
    Ok(row.finish(Entity::CommunicationLog, Some(tenant)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::test_support::*;
    use super::*;

    fn sample_guest() -> Value {
        json!({"id": "guest_1704099600_abc", "tenantId": "T-101", "firstName": "Chloé", "lastName": "Müller",
               "fullName": "Chloé Müller", "email": "chloe.muller.0@mail.example", "phone": "+44 20 7946 0001",
               "segment": "Leisure", "vipStatus": "VIP", "totalBookings": 0, "totalSpent": 0, "lifetimeValue": 0,
               "communicationPreferences": {"email": true, "sms": true, "phone": false, "marketing": false},
               "tags": ["returning"], "createdAt": "2024-01-01T10:00:00.000Z"})
    }

    #[test]
    fn a_guest_from_the_sample() {
        let m = ok(
            Entity::Guest,
            "guest:T-101:guest_1704099600_abc",
            sample_guest(),
        );
        assert_eq!(
            col(&m, "id"),
            &json!(tenant_id("T-101", "guest", "guest_1704099600_abc"))
        );
        assert_eq!(col(&m, "legacy_id"), &json!("guest_1704099600_abc"));
        assert_eq!(col(&m, "first_name"), &json!("Chloé"));
        assert_eq!(col(&m, "segment"), &json!("leisure"));
        assert_eq!(col(&m, "vip_status"), &json!("vip"));
        assert_eq!(col(&m, "contact_by_sms"), &json!(true));
        assert_eq!(col(&m, "metadata"), &json!({}));
        assert!(m.notes.is_empty(), "{:?}", m.notes);
    }

    #[test]
    fn the_dirt_of_the_sample_is_repaired_with_notes() {
        let mut g = sample_guest();
        g["email"] = json!("CHLOE.MULLER.3@MAIL.EXAMPLE");
        g["totalSpent"] = json!("125000");
        g["lastName"] = json!("");
        let m = ok(Entity::Guest, "guest:T-101:g", g.clone());
        assert_eq!(col(&m, "email"), &json!("chloe.muller.3@mail.example"));
        assert!(
            !m.row.contains_key("total_spent_cents"),
            "metrics are the server's, recomputed from the stays"
        );
        assert_eq!(col(&m, "last_name"), &json!(""));
        for note in [
            "email lower-cased",
            "number stored as a string (totalSpent)",
            "empty last name",
        ] {
            assert!(has_note(&m, note), "{note}: {:?}", m.notes);
        }
        let twice = serde_json::to_string(&g.to_string()).expect("json");
        let decoded = crate::kv_import::map::map_record(
            Entity::Guest,
            "guest:T-101:g",
            &twice,
            Default::default(),
        )
        .expect("mapped");
        assert!(has_note(&decoded, "double-encoded"));
        assert_eq!(decoded.row, m.row);
    }

    #[test]
    fn fields_without_a_column_go_to_the_metadata() {
        let mut g = sample_guest();
        g["loyaltyTier"] = json!("Gold");
        g["preferences"] = json!({"pillow": "soft"});
        g["email"] = json!("not an address");
        let m = ok(Entity::Guest, "guest:T-101:g", g);
        assert_eq!(col(&m, "email"), &Value::Null);
        let legacy = &col(&m, "metadata")["legacy"];
        assert_eq!(legacy["loyaltyTier"], json!("Gold"));
        assert_eq!(legacy["preferences"], json!({"pillow": "soft"}));
        assert!(legacy["email"]
            .as_str()
            .unwrap_or_default()
            .contains("not an address"));
    }

    #[test]
    fn a_wrong_typed_field_names_the_field() {
        let mut g = sample_guest();
        g["totalBookings"] = json!({"n": 3});
        assert_eq!(
            problem(Entity::Guest, "guest:T-101:g", g),
            "field totalBookings: expected a whole number, found object {\"n\":3}"
        );
    }

    #[test]
    fn a_preference_needs_its_guest_and_normalises_choices() {
        let m = ok(
            Entity::GuestPreference,
            "pref:T-101:guest_1",
            json!({"id": "pref_guest_1", "guestId": "guest_1", "bedType": "king", "smokingPreference": "non-smoking",
                   "floorPreference": "high", "dietaryRestrictions": ["vegetarian"], "allergies": [],
                   "housekeepingTime": "morning", "wakeUpCall": true, "wakeUpTime": "07:30", "preferredLanguage": "en"}),
        );
        assert_eq!(col(&m, "smoking"), &json!("non_smoking"));
        assert_eq!(col(&m, "wake_up_time"), &json!("07:30:00"));
        assert_eq!(
            m.links[0].target,
            Target::Row {
                table: "guests",
                id: tenant_id("T-101", "guest", "guest_1")
            }
        );
        assert_eq!(m.links[0].missing, Missing::Quarantine);
    }

    #[test]
    fn a_communication_links_guest_and_campaign() {
        let m = ok(
            Entity::CommunicationLog,
            "comm:T-101:guest_1:comm_1",
            json!({"guestId": "guest_1", "type": "email", "direction": "outbound", "subject": "Your stay",
                   "message": "Hello", "status": "delivered", "campaignId": "campaign_1",
                   "sentAt": "2024-01-01T10:00:00.000Z", "fromUser": "user_17"}),
        );
        assert_eq!(m.links.len(), 2);
        assert_eq!(col(&m, "from_user"), &Value::Null);
        assert!(has_note(&m, "fromUser is not a UUID"));
        assert!(problem(
            Entity::CommunicationLog,
            "comm:T-1:g:c",
            json!({"type": "email"})
        )
        .contains("direction"));
    }
}
