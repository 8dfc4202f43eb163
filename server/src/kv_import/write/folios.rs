//! A legacy booking's paid amount as its opening payment.
//!
//! The old panel kept what a stay had paid as a number (`depositPaid` → `deposit_paid_cents`). In
//! the new system a stay's paid amount is derived from its folio entries as soon as it has any
//! (`app.stay_payment`): the first payment the desk takes on an imported stay would otherwise
//! replace the legacy amount with its own. So each imported stay with a paid amount gets it as a
//! payment on its guest folio (opened here if need be: kind guest, open, the stay's currency),
//! method `other`, dated the day the stay was booked (its arrival where the store kept no booking
//! time), with a derived id ([`opening_payment_id`]).
//!
//! Written once: only for a stay without any folio entry, and `on conflict do nothing`, so a
//! re-run inserts nothing, and a stay born in the new system (its paid amount already its
//! entries', written back by the dual-write) gets no second payment. The stay's paid amount and
//! status do not move: the mapper derives the status from the paid amount by the database's rule
//! (`map::stays`). A folio the stay already has in another currency, or closed, takes no opening
//! payment (the stay keeps its amount until someone looks at it).

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::kv_import::ids::opening_payment_id;
use crate::kv_import::map::Columns;

/// What the opening payment says it is.
pub const DESCRIPTION: &str = "Paid before the move (legacy system)";

/// Opening payments, column by column (for `unnest`).
#[derive(Default)]
struct Openings {
    tenant: Vec<Uuid>,
    stay: Vec<Uuid>,
    property: Vec<Uuid>,
    folio: Vec<Uuid>,
    entry: Vec<Uuid>,
    currency: Vec<String>,
    amount: Vec<i64>,
    business_date: Vec<NaiveDate>,
    at: Vec<DateTime<Utc>>,
}

fn text<'a>(row: &'a Columns, column: &str) -> Option<&'a str> {
    row.get(column).and_then(Value::as_str)
}

fn uuid_in(row: &Columns, column: &str) -> Option<Uuid> {
    text(row, column).and_then(|s| Uuid::parse_str(s).ok())
}

/// Writes the opening payment of each booking of `rows` (written reservations, with their
/// property) that has a paid amount and no folio entries yet.
pub async fn opening_payments(
    conn: &mut PgConnection,
    rows: &[Columns],
) -> Result<(), sqlx::Error> {
    let mut openings = Openings::default();
    for row in rows {
        let paid = row
            .get("deposit_paid_cents")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        let (Some(tenant), Some(stay), Some(property), Some(currency)) = (
            uuid_in(row, "tenant_id"),
            uuid_in(row, "id"),
            uuid_in(row, "property_id"),
            text(row, "currency"),
        ) else {
            continue;
        };
        if paid <= 0 {
            continue;
        }
        let created = text(row, "created_at")
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|at| at.with_timezone(&Utc));
        let check_in =
            text(row, "check_in_date").and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok());
        let Some(at) = created.or_else(|| {
            check_in
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|d| d.and_utc())
        }) else {
            continue;
        };
        openings.tenant.push(tenant);
        openings.stay.push(stay);
        openings.property.push(property);
        openings
            .folio
            .push(pms_sync_protocol::derived::guest_folio_id(stay));
        openings.entry.push(opening_payment_id(stay));
        openings.currency.push(currency.to_owned());
        openings.amount.push(paid);
        openings.business_date.push(at.date_naive());
        openings.at.push(at);
    }
    if openings.stay.is_empty() {
        return Ok(());
    }
    let folios = format!(
        "insert into public.folios (tenant_id, id, property_id, reservation_id, kind, status, currency,
                                    created_at, updated_at)
         select o.tenant_id, o.folio_id, o.property_id, o.stay_id, 'guest', 'open', o.currency, o.at, o.at
           from {OPENINGS}
          where {WITHOUT_ENTRIES}
         on conflict do nothing"
    );
    bound(&folios, &openings).execute(&mut *conn).await?;
    let entries = format!(
        "insert into public.folio_entries (tenant_id, id, folio_id, reservation_id, kind, amount_minor,
                                          currency, business_date, description, payment_method,
                                          created_at, updated_at)
         select o.tenant_id, o.entry_id, f.id, o.stay_id, 'payment', o.amount, o.currency,
                o.business_date, '{DESCRIPTION}', 'other', o.at, o.at
           from {OPENINGS}
           join public.folios f on f.tenant_id = o.tenant_id and f.id = o.folio_id
                               and f.reservation_id = o.stay_id
          where f.status = 'open' and f.currency = o.currency and {WITHOUT_ENTRIES}
          order by o.at, o.stay_id
         on conflict do nothing"
    );
    bound(&entries, &openings).execute(&mut *conn).await?;
    Ok(())
}

/// The openings as typed rows `o`.
const OPENINGS: &str =
    "unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::text[],
                               $7::bigint[], $8::date[], $9::timestamptz[])
                        as o(tenant_id, stay_id, property_id, folio_id, entry_id, currency, amount,
                             business_date, at)";

/// The stay of `o` has no folio entry yet.
const WITHOUT_ENTRIES: &str = "not exists (select 1 from public.folio_entries e
                                            where e.tenant_id = o.tenant_id and e.reservation_id = o.stay_id)";

fn bound<'q>(
    sql: &'q str,
    openings: &'q Openings,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    sqlx::query(sql)
        .bind(&openings.tenant)
        .bind(&openings.stay)
        .bind(&openings.property)
        .bind(&openings.folio)
        .bind(&openings.entry)
        .bind(&openings.currency)
        .bind(&openings.amount)
        .bind(&openings.business_date)
        .bind(&openings.at)
}
