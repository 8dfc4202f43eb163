//! Where imported bookings stay: the tenant's property, room types from the room categories,
//! rooms from the room numbers, and the rule that no room is sold twice.
//!
//! A room type or room is created the first time a booking (in creation order) names it, with
//! an id derived from the property and its code or number, so a re-run (or a run resumed after
//! a crash) finds the same ones. A room belongs to the room type of the first booking that
//! named it. An active booking whose room another active stay already holds for overlapping
//! nights keeps the booking without the room, and is reported for a person to reassign: the
//! earlier-created booking keeps the room. Checked-out, cancelled and no-show history is not
//! subject to the rule.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{tenant_and_ids, Pending};
use crate::kv_import::ids::{stable_id, Scope};
use crate::kv_import::map::stays::ACTIVE_STATUSES;
use crate::kv_import::map::{Columns, Extra};
use crate::kv_import::report::Reassign;

/// The id of the property the import creates for a tenant (the legacy store's one hotel).
pub fn property_id(tenant: &str) -> Uuid {
    stable_id(Scope::Tenant(tenant), "property", "main")
}

/// Creates a tenant's property where it has none yet: named after the tenant, in the currency
/// its bookings mostly use, its legacy id the tenant's.
pub async fn ensure_property(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    tenant: &str,
    currency: Option<&str>,
) -> Result<Uuid, sqlx::Error> {
    let id = property_id(tenant);
    sqlx::query(
        "insert into public.properties (tenant_id, id, name, currency, legacy_id, created_at)
         select t.id, $2, t.name, coalesce($3, 'USD'), t.external_id, t.created_at
           from public.tenants t where t.id = $1
         on conflict do nothing",
    )
    .bind(tenant_id)
    .bind(id)
    .bind(currency)
    .execute(&mut *conn)
    .await?;
    // a property another way created under this legacy id is the one
    let found: Option<Uuid> = sqlx::query_scalar(
        "select p.id from public.properties p join public.tenants t on t.id = p.tenant_id
          where p.tenant_id = $1 and p.legacy_id = t.external_id",
    )
    .bind(tenant_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(found.unwrap_or(id))
}

/// Room types to create, column by column (for `unnest`).
#[derive(Default)]
struct NewRoomTypes {
    tenant: Vec<Uuid>,
    id: Vec<Uuid>,
    property: Vec<Uuid>,
    code: Vec<String>,
    name: Vec<String>,
    born: Vec<DateTime<Utc>>,
}

/// Rooms to create, column by column (for `unnest`).
#[derive(Default)]
struct NewRooms {
    tenant: Vec<Uuid>,
    id: Vec<Uuid>,
    property: Vec<Uuid>,
    room_type: Vec<Uuid>,
    number: Vec<String>,
    born: Vec<DateTime<Utc>>,
}

/// (tenant, property, room type code in lower case or room number)
type Spot = (Uuid, Uuid, String);

/// The properties, room types and rooms the run has found or created (few: kept for the run,
/// so that most batches need no query for them).
#[derive(Debug, Default, Clone)]
pub struct Places {
    properties: HashMap<Uuid, Uuid>,
    room_types: HashMap<Spot, Uuid>,
    rooms: HashMap<Spot, Uuid>,
}

impl Places {
    /// Adds what a committed batch found or created.
    pub fn learn(&mut self, learned: Places) {
        self.properties.extend(learned.properties);
        self.room_types.extend(learned.room_types);
        self.rooms.extend(learned.rooms);
    }
}

/// Rows completed with property, room type and room; the bookings left without their room; the
/// bookings that exist already; what was found or created (to be learnt once committed).
pub struct Placed {
    pub rows: Vec<Columns>,
    pub reassign: Vec<Reassign>,
    pub existing: HashSet<(Uuid, Uuid)>,
    pub learned: Places,
}

fn uuid_of(row: &Columns, column: &str) -> Uuid {
    row.get(column)
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .unwrap_or_default()
}

/// Finds or creates the property, room type and room of each booking of `batch` (in order).
/// `known` is read only: what this batch finds comes back in [`Placed::learned`], because a
/// batch rolled back to its savepoint takes what it created with it.
pub async fn place(
    conn: &mut PgConnection,
    batch: &[&Pending],
    known: &Places,
) -> Result<Placed, sqlx::Error> {
    let mut rows: Vec<Columns> = batch.iter().map(|p| p.mapped.row.clone()).collect();
    let (tenants, ids) = tenant_and_ids(&rows);
    let mut learned = Places::default();

    // An existing booking stays in its property (the desk may have moved it).
    let found: Vec<(Uuid, Uuid, Uuid)> = sqlx::query_as(
        "select tenant_id, id, property_id from public.reservations
          where (tenant_id, id) in (select * from unnest($1::uuid[], $2::uuid[]))",
    )
    .bind(&tenants)
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let existing: HashMap<(Uuid, Uuid), Uuid> =
        found.into_iter().map(|(t, id, p)| ((t, id), p)).collect();
    let mut property_of = Vec::with_capacity(rows.len());
    for (i, pending) in batch.iter().enumerate() {
        let property = match existing.get(&(tenants[i], ids[i])) {
            Some(property) => *property,
            None => match known
                .properties
                .get(&tenants[i])
                .or_else(|| learned.properties.get(&tenants[i]))
            {
                Some(property) => *property,
                None => {
                    let tenant = pending.mapped.tenant.as_deref().unwrap_or_default();
                    let currency = pending.mapped.row.get("currency").and_then(Value::as_str);
                    let property = ensure_property(conn, tenants[i], tenant, currency).await?;
                    learned.properties.insert(tenants[i], property);
                    property
                }
            },
        };
        property_of.push(property);
    }

    let placements: Vec<&crate::kv_import::map::stays::Placement> = batch
        .iter()
        .map(|p| match &p.mapped.extra {
            Extra::Stay(placement) => placement,
            _ => unreachable!("a reservation always has a placement"),
        })
        .collect();
    let born = |i: usize| -> DateTime<Utc> { batch[i].mapped.sort_at.unwrap_or_default() };
    let legacy_tenant = |i: usize| batch[i].mapped.tenant.clone().unwrap_or_default();
    let type_spot = |i: usize| -> Spot {
        (
            tenants[i],
            property_of[i],
            placements[i].room_type_code.to_lowercase(),
        )
    };

    // Room types: the first booking to name a code names the type.
    let mut wanted: BTreeMap<Spot, usize> = BTreeMap::new();
    for i in 0..rows.len() {
        let spot = type_spot(i);
        if !known.room_types.contains_key(&spot) {
            wanted.entry(spot).or_insert(i);
        }
    }
    if !wanted.is_empty() {
        let mut new = NewRoomTypes::default();
        for ((tenant, property, code), first) in &wanted {
            new.tenant.push(*tenant);
            new.id.push(stable_id(
                Scope::Tenant(&legacy_tenant(*first)),
                "room_type",
                &format!("{property}:{code}"),
            ));
            new.property.push(*property);
            new.code.push(placements[*first].room_type_code.clone());
            new.name.push(placements[*first].room_type_name.clone());
            new.born.push(born(*first));
        }
        sqlx::query(
            "insert into public.room_types (tenant_id, id, property_id, code, name, created_at)
             select * from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::timestamptz[])
             on conflict do nothing",
        )
        .bind(&new.tenant)
        .bind(&new.id)
        .bind(&new.property)
        .bind(&new.code)
        .bind(&new.name)
        .bind(&new.born)
        .execute(&mut *conn)
        .await?;
        let codes: Vec<String> = wanted.keys().map(|(_, _, c)| c.clone()).collect();
        let found: Vec<(Uuid, Uuid, String, Uuid)> = sqlx::query_as(
            "select tenant_id, property_id, lower(code), id from public.room_types
              where deleted_at is null
                and (tenant_id, property_id, lower(code)) in (select * from unnest($1::uuid[], $2::uuid[], $3::text[]))",
        )
        .bind(&new.tenant)
        .bind(&new.property)
        .bind(&codes)
        .fetch_all(&mut *conn)
        .await?;
        learned
            .room_types
            .extend(found.into_iter().map(|(t, p, c, id)| ((t, p, c), id)));
    }
    let type_of = |i: usize| {
        let spot = type_spot(i);
        known
            .room_types
            .get(&spot)
            .or_else(|| learned.room_types.get(&spot))
            .copied()
    };

    // Rooms: the first booking to name a number gives the room its type.
    let room_spot = |i: usize| -> Option<Spot> {
        placements[i]
            .room_number
            .as_ref()
            .map(|n| (tenants[i], property_of[i], n.clone()))
    };
    let mut wanted: BTreeMap<Spot, usize> = BTreeMap::new();
    for i in 0..rows.len() {
        if let Some(spot) = room_spot(i) {
            if !known.rooms.contains_key(&spot) {
                wanted.entry(spot).or_insert(i);
            }
        }
    }
    if !wanted.is_empty() {
        let mut new = NewRooms::default();
        for ((tenant, property, number), first) in &wanted {
            let Some(room_type) = type_of(*first) else {
                continue;
            };
            new.tenant.push(*tenant);
            new.id.push(stable_id(
                Scope::Tenant(&legacy_tenant(*first)),
                "room",
                &format!("{property}:{number}"),
            ));
            new.property.push(*property);
            new.room_type.push(room_type);
            new.number.push(number.clone());
            new.born.push(born(*first));
        }
        sqlx::query(
            "insert into public.rooms (tenant_id, id, property_id, room_type_id, number, created_at)
             select * from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::timestamptz[])
             on conflict do nothing",
        )
        .bind(&new.tenant)
        .bind(&new.id)
        .bind(&new.property)
        .bind(&new.room_type)
        .bind(&new.number)
        .bind(&new.born)
        .execute(&mut *conn)
        .await?;
        let found: Vec<(Uuid, Uuid, String, Uuid)> = sqlx::query_as(
            "select tenant_id, property_id, number, id from public.rooms
              where deleted_at is null
                and (tenant_id, property_id, number) in (select * from unnest($1::uuid[], $2::uuid[], $3::text[]))",
        )
        .bind(&new.tenant)
        .bind(&new.property)
        .bind(&new.number)
        .fetch_all(&mut *conn)
        .await?;
        learned
            .rooms
            .extend(found.into_iter().map(|(t, p, n, id)| ((t, p, n), id)));
    }
    let room_of = |i: usize| {
        room_spot(i).and_then(|spot| {
            known
                .rooms
                .get(&spot)
                .or_else(|| learned.rooms.get(&spot))
                .copied()
        })
    };

    for (i, row) in rows.iter_mut().enumerate() {
        row.insert("property_id", Value::String(property_of[i].to_string()));
        row.insert(
            "room_type_id",
            type_of(i).map_or(Value::Null, |id| Value::String(id.to_string())),
        );
        row.insert(
            "room_id",
            room_of(i).map_or(Value::Null, |id| Value::String(id.to_string())),
        );
    }

    // The overlap rule, against the tables and against earlier bookings of this batch.
    let active = |row: &Columns| {
        row.get("status")
            .and_then(Value::as_str)
            .is_some_and(|s| ACTIVE_STATUSES.contains(&s))
    };
    let candidates: Vec<usize> = (0..rows.len())
        .filter(|i| active(&rows[*i]) && !rows[*i]["room_id"].is_null())
        .collect();
    let mut taken: Vec<bool> = vec![false; rows.len()];
    if !candidates.is_empty() {
        let tenant: Vec<Uuid> = candidates.iter().map(|i| tenants[*i]).collect();
        let id: Vec<Uuid> = candidates.iter().map(|i| ids[*i]).collect();
        let room: Vec<Uuid> = candidates
            .iter()
            .map(|i| uuid_of(&rows[*i], "room_id"))
            .collect();
        let check_in: Vec<NaiveDate> = candidates.iter().map(|i| placements[*i].check_in).collect();
        let check_out: Vec<NaiveDate> = candidates
            .iter()
            .map(|i| placements[*i].check_out)
            .collect();
        let clashing: Vec<i64> = sqlx::query_scalar(
            // lateral with a limit: one probe of the double-booking index per booking (a semi
            // join may hash every active stay of the tenant instead)
            "select b.ord from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::date[], $5::date[])
                    with ordinality as b(tenant_id, id, room_id, check_in, check_out, ord)
              cross join lateral (
                    select 1 from public.reservations r
                     where r.tenant_id = b.tenant_id and r.room_id = b.room_id and r.id <> b.id
                       and r.deleted_at is null and r.status in ('pending', 'confirmed', 'checked_in')
                       and daterange(r.check_in_date, r.check_out_date, '[)')
                           && daterange(b.check_in, b.check_out, '[)')
                     limit 1) clash",
        )
        .bind(&tenant)
        .bind(&id)
        .bind(&room)
        .bind(&check_in)
        .bind(&check_out)
        .fetch_all(&mut *conn)
        .await?;
        for ord in clashing {
            if let Some(i) = usize::try_from(ord - 1)
                .ok()
                .and_then(|o| candidates.get(o))
            {
                taken[*i] = true;
            }
        }
        let mut held: HashMap<(Uuid, Uuid), Vec<(NaiveDate, NaiveDate)>> = HashMap::new();
        for i in &candidates {
            let key = (tenants[*i], uuid_of(&rows[*i], "room_id"));
            let (from, to) = (placements[*i].check_in, placements[*i].check_out);
            let stays = held.entry(key).or_default();
            if !taken[*i] && stays.iter().any(|(f, t)| from < *t && *f < to) {
                taken[*i] = true;
            }
            if !taken[*i] {
                stays.push((from, to));
            }
        }
    }
    let mut reassign = Vec::new();
    for (i, row) in rows.iter_mut().enumerate() {
        if taken[i] {
            row.insert("room_id", Value::Null);
            reassign.push(Reassign {
                key: batch[i].key.clone(),
                room: placements[i].room_number.clone().unwrap_or_default(),
                check_in: placements[i].check_in,
                check_out: placements[i].check_out,
            });
        }
    }
    Ok(Placed {
        rows,
        reassign,
        existing: existing.into_keys().collect(),
        learned,
    })
}
