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

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{tenant_and_ids, Pending};
use crate::kv_import::ids::{stable_id, Scope};
use crate::kv_import::map::stays::ACTIVE_STATUSES;
use crate::kv_import::map::Extra;
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

/// The import property of each tenant seen so far.
#[derive(Debug, Default)]
pub struct Properties {
    by_tenant: HashMap<Uuid, Uuid>,
}

/// Rows completed with property, room type and room, and the bookings left without their room.
pub struct Placed {
    pub rows: Vec<Map<String, Value>>,
    pub reassign: Vec<Reassign>,
}

fn uuid_of(row: &Map<String, Value>, column: &str) -> Uuid {
    row.get(column)
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .unwrap_or_default()
}

/// Finds or creates the property, room type and room of each booking of `batch` (in order).
pub async fn place(
    conn: &mut PgConnection,
    batch: &[&Pending],
    properties: &mut Properties,
) -> Result<Placed, sqlx::Error> {
    let mut rows: Vec<Map<String, Value>> = batch.iter().map(|p| p.mapped.row.clone()).collect();
    let (tenants, ids) = tenant_and_ids(&rows);

    // An existing booking stays in its property (the desk may have moved it).
    let existing: Vec<(Uuid, Uuid, Uuid)> = sqlx::query_as(
        "select tenant_id, id, property_id from public.reservations
          where (tenant_id, id) in (select * from unnest($1::uuid[], $2::uuid[]))",
    )
    .bind(&tenants)
    .bind(&ids)
    .fetch_all(&mut *conn)
    .await?;
    let existing: HashMap<(Uuid, Uuid), Uuid> = existing
        .into_iter()
        .map(|(t, id, p)| ((t, id), p))
        .collect();
    for (i, pending) in batch.iter().enumerate() {
        if let std::collections::hash_map::Entry::Vacant(entry) =
            properties.by_tenant.entry(tenants[i])
        {
            let tenant = pending.mapped.tenant.as_deref().unwrap_or_default();
            let currency = pending.mapped.row.get("currency").and_then(Value::as_str);
            entry.insert(ensure_property(conn, tenants[i], tenant, currency).await?);
        }
    }
    let property_of: Vec<Uuid> = (0..rows.len())
        .map(|i| {
            existing
                .get(&(tenants[i], ids[i]))
                .copied()
                .unwrap_or_else(|| properties.by_tenant[&tenants[i]])
        })
        .collect();

    // Room types: the first booking to name a code names the type.
    let placements: Vec<&crate::kv_import::map::stays::Placement> = batch
        .iter()
        .map(|p| match &p.mapped.extra {
            Extra::Stay(placement) => placement,
            _ => unreachable!("a reservation always has a placement"),
        })
        .collect();
    let born = |i: usize| -> DateTime<Utc> { batch[i].mapped.sort_at.unwrap_or_default() };
    let legacy_tenant = |i: usize| batch[i].mapped.tenant.clone().unwrap_or_default();
    let mut types: BTreeMap<(Uuid, Uuid, String), usize> = BTreeMap::new();
    for (i, placement) in placements.iter().enumerate() {
        types
            .entry((
                tenants[i],
                property_of[i],
                placement.room_type_code.to_lowercase(),
            ))
            .or_insert(i);
    }
    let mut columns = NewRoomTypes::default();
    for ((tenant, property, code), first) in &types {
        columns.tenant.push(*tenant);
        columns.id.push(stable_id(
            Scope::Tenant(&legacy_tenant(*first)),
            "room_type",
            &format!("{property}:{code}"),
        ));
        columns.property.push(*property);
        columns.code.push(placements[*first].room_type_code.clone());
        columns.name.push(placements[*first].room_type_name.clone());
        columns.born.push(born(*first));
    }
    sqlx::query(
        "insert into public.room_types (tenant_id, id, property_id, code, name, created_at)
         select * from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::timestamptz[])
         on conflict do nothing",
    )
    .bind(&columns.tenant)
    .bind(&columns.id)
    .bind(&columns.property)
    .bind(&columns.code)
    .bind(&columns.name)
    .bind(&columns.born)
    .execute(&mut *conn)
    .await?;
    let codes: Vec<String> = types.keys().map(|(_, _, c)| c.clone()).collect();
    let found: Vec<(Uuid, Uuid, String, Uuid)> = sqlx::query_as(
        "select tenant_id, property_id, lower(code), id from public.room_types
          where deleted_at is null
            and (tenant_id, property_id, lower(code)) in (select * from unnest($1::uuid[], $2::uuid[], $3::text[]))",
    )
    .bind(&columns.tenant)
    .bind(&columns.property)
    .bind(&codes)
    .fetch_all(&mut *conn)
    .await?;
    let type_ids: HashMap<(Uuid, Uuid, String), Uuid> = found
        .into_iter()
        .map(|(t, p, c, id)| ((t, p, c), id))
        .collect();
    let type_of = |i: usize| {
        type_ids
            .get(&(
                tenants[i],
                property_of[i],
                placements[i].room_type_code.to_lowercase(),
            ))
            .copied()
    };

    // Rooms: the first booking to name a number gives the room its type.
    let mut rooms: BTreeMap<(Uuid, Uuid, String), usize> = BTreeMap::new();
    for (i, placement) in placements.iter().enumerate() {
        if let Some(number) = &placement.room_number {
            rooms
                .entry((tenants[i], property_of[i], number.clone()))
                .or_insert(i);
        }
    }
    let mut room_columns = NewRooms::default();
    for ((tenant, property, number), first) in &rooms {
        let Some(room_type) = type_of(*first) else {
            continue;
        };
        room_columns.tenant.push(*tenant);
        room_columns.id.push(stable_id(
            Scope::Tenant(&legacy_tenant(*first)),
            "room",
            &format!("{property}:{number}"),
        ));
        room_columns.property.push(*property);
        room_columns.room_type.push(room_type);
        room_columns.number.push(number.clone());
        room_columns.born.push(born(*first));
    }
    sqlx::query(
        "insert into public.rooms (tenant_id, id, property_id, room_type_id, number, created_at)
         select * from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::timestamptz[])
         on conflict do nothing",
    )
    .bind(&room_columns.tenant)
    .bind(&room_columns.id)
    .bind(&room_columns.property)
    .bind(&room_columns.room_type)
    .bind(&room_columns.number)
    .bind(&room_columns.born)
    .execute(&mut *conn)
    .await?;
    let (room_tenants, room_properties, room_numbers): (Vec<Uuid>, Vec<Uuid>, Vec<String>) = {
        let mut out: (Vec<Uuid>, Vec<Uuid>, Vec<String>) = Default::default();
        for (t, p, n) in rooms.keys() {
            out.0.push(*t);
            out.1.push(*p);
            out.2.push(n.clone());
        }
        out
    };
    let found: Vec<(Uuid, Uuid, String, Uuid)> = sqlx::query_as(
        "select tenant_id, property_id, number, id from public.rooms
          where deleted_at is null
            and (tenant_id, property_id, number) in (select * from unnest($1::uuid[], $2::uuid[], $3::text[]))",
    )
    .bind(&room_tenants)
    .bind(&room_properties)
    .bind(&room_numbers)
    .fetch_all(&mut *conn)
    .await?;
    let room_ids: HashMap<(Uuid, Uuid, String), Uuid> = found
        .into_iter()
        .map(|(t, p, n, id)| ((t, p, n), id))
        .collect();

    for (i, row) in rows.iter_mut().enumerate() {
        row.insert(
            "property_id".to_owned(),
            Value::String(property_of[i].to_string()),
        );
        row.insert(
            "room_type_id".to_owned(),
            type_of(i).map_or(Value::Null, |id| Value::String(id.to_string())),
        );
        let room = placements[i]
            .room_number
            .as_ref()
            .and_then(|n| room_ids.get(&(tenants[i], property_of[i], n.clone())));
        row.insert(
            "room_id".to_owned(),
            room.map_or(Value::Null, |id| Value::String(id.to_string())),
        );
    }

    // The overlap rule, against the tables and against earlier bookings of this batch.
    let active = |row: &Map<String, Value>| {
        row.get("status")
            .and_then(Value::as_str)
            .is_some_and(|s| ACTIVE_STATUSES.contains(&s))
    };
    let candidates: Vec<usize> = (0..rows.len())
        .filter(|i| active(&rows[*i]) && !rows[*i]["room_id"].is_null())
        .collect();
    let mut taken: Vec<bool> = vec![false; rows.len()];
    if !candidates.is_empty() {
        let field = |i: usize| (tenants[i], ids[i], uuid_of(&rows[i], "room_id"));
        let (t, (id, room)): (Vec<Uuid>, (Vec<Uuid>, Vec<Uuid>)) = candidates
            .iter()
            .map(|i| {
                let (t, id, room) = field(*i);
                (t, (id, room))
            })
            .unzip();
        let check_in: Vec<NaiveDate> = candidates.iter().map(|i| placements[*i].check_in).collect();
        let check_out: Vec<NaiveDate> = candidates
            .iter()
            .map(|i| placements[*i].check_out)
            .collect();
        let clashing: Vec<i64> = sqlx::query_scalar(
            "select b.ord from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::date[], $5::date[])
                    with ordinality as b(tenant_id, id, room_id, check_in, check_out, ord)
              where exists (
                    select 1 from public.reservations r
                     where r.tenant_id = b.tenant_id and r.room_id = b.room_id and r.id <> b.id
                       and r.deleted_at is null and r.status in ('pending', 'confirmed', 'checked_in')
                       and daterange(r.check_in_date, r.check_out_date, '[)')
                           && daterange(b.check_in, b.check_out, '[)'))",
        )
        .bind(&t)
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
            row.insert("room_id".to_owned(), Value::Null);
            reassign.push(Reassign {
                key: batch[i].key.clone(),
                room: placements[i].room_number.clone().unwrap_or_default(),
                check_in: placements[i].check_in,
                check_out: placements[i].check_out,
            });
        }
    }
    Ok(Placed { rows, reassign })
}
