//! Completing mapped rows with what only the tables know: the tenant's id, whether referenced
//! rows exist, the plan of a name, the tenant of a webhook, the program and guest of a member.
//!
//! One query per kind of reference and batch. A reference the table requires that points at
//! nothing makes the record a problem (quarantined, saying which reference); an optional one is
//! cleared, with a note (a booking whose guest was deleted keeps the booked name, without the
//! link).

use std::collections::{HashMap, HashSet};

use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::decode::Problem;
use super::map::{Mapped, Missing, Target};

/// What the run has learnt about tenants (few, so kept for the whole run).
#[derive(Debug, Default)]
pub struct Resolver {
    tenants: HashMap<String, Option<Uuid>>,
}

impl Resolver {
    /// The tenant's id by its legacy id, where imported (after the tenants have been written).
    pub async fn tenant(
        &mut self,
        conn: &mut PgConnection,
        legacy: &str,
    ) -> Result<Option<Uuid>, sqlx::Error> {
        self.load_tenants(conn, &[legacy.to_owned()]).await?;
        Ok(self.tenants.get(legacy).copied().flatten())
    }

    /// Forgets tenants looked up before they were written.
    pub fn forget_tenants(&mut self) {
        self.tenants.clear();
    }

    async fn load_tenants(
        &mut self,
        conn: &mut PgConnection,
        wanted: &[String],
    ) -> Result<(), sqlx::Error> {
        let unknown: Vec<&String> = wanted
            .iter()
            .filter(|t| !self.tenants.contains_key(*t))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        let found: Vec<(String, Uuid)> = sqlx::query_as(
            "select external_id, id from public.tenants where external_id = any($1)",
        )
        .bind(&unknown)
        .fetch_all(&mut *conn)
        .await?;
        for legacy in unknown {
            self.tenants.insert(legacy.clone(), None);
        }
        for (legacy, id) in found {
            self.tenants.insert(legacy, Some(id));
        }
        Ok(())
    }

    /// Resolves the tenant and the links of each mapped record; a record that cannot be
    /// completed becomes its problem.
    pub async fn resolve(
        &mut self,
        conn: &mut PgConnection,
        records: Vec<Result<Mapped, Problem>>,
    ) -> Result<Vec<Result<Mapped, Problem>>, sqlx::Error> {
        let mut wanted: Vec<String> = Vec::new();
        for mapped in records.iter().flatten() {
            wanted.extend(mapped.tenant.clone());
            for link in &mapped.links {
                if link.target == Target::TenantInList {
                    wanted.push(link.legacy.clone());
                }
            }
        }
        self.load_tenants(conn, &wanted).await?;

        // The tenant first: every reference is within it.
        let mut records: Vec<Result<Mapped, Problem>> = records
            .into_iter()
            .map(|record| {
                let mut mapped = record?;
                if let Some(tenant) = &mapped.tenant {
                    match self.tenants.get(tenant).copied().flatten() {
                        Some(id) => {
                            if mapped.entity != super::keys::Entity::Tenant {
                                mapped
                                    .row
                                    .insert("tenant_id", Value::String(id.to_string()));
                            }
                        }
                        None => {
                            return Err(Problem::new(format!(
                                "tenant {tenant} is not imported (no tenant:{tenant} record in the store, or it is quarantined)"
                            )))
                        }
                    }
                }
                Ok(mapped)
            })
            .collect();

        let facts = self.look_up(conn, &records).await?;
        for record in &mut records {
            let Ok(mapped) = record else { continue };
            if let Err(problem) = apply(mapped, &facts, &self.tenants) {
                *record = Err(problem);
            }
        }
        Ok(records)
    }

    async fn look_up(
        &self,
        conn: &mut PgConnection,
        records: &[Result<Mapped, Problem>],
    ) -> Result<Facts, sqlx::Error> {
        let mut facts = Facts::default();
        let mut rows: HashMap<&'static str, (Vec<Uuid>, Vec<Uuid>)> = HashMap::new();
        let mut members: (Vec<Uuid>, Vec<Uuid>) = Default::default();
        let mut webhooks: Vec<String> = Vec::new();
        let mut plans = false;
        for mapped in records.iter().flatten() {
            let tenant = tenant_of(mapped);
            for link in &mapped.links {
                match &link.target {
                    Target::Row { table, id } => {
                        let entry = rows.entry(table).or_default();
                        entry.0.push(tenant);
                        entry.1.push(*id);
                    }
                    Target::Member { id } => {
                        members.0.push(tenant);
                        members.1.push(*id);
                    }
                    Target::Webhook => webhooks.push(link.legacy.clone()),
                    Target::Plan { .. } => plans = true,
                    Target::TenantInList => {}
                }
            }
        }
        for (table, (tenants, ids)) in rows {
            let found: Vec<(Uuid, Uuid)> = sqlx::query_as(&format!(
                "select tenant_id, id from public.{table}
                  where (tenant_id, id) in (select * from unnest($1::uuid[], $2::uuid[]))"
            ))
            .bind(&tenants)
            .bind(&ids)
            .fetch_all(&mut *conn)
            .await?;
            facts
                .rows
                .extend(found.into_iter().map(|(t, id)| (table, t, id)));
        }
        if !members.0.is_empty() {
            let found: Vec<(Uuid, Uuid, Uuid, Uuid)> = sqlx::query_as(
                "select tenant_id, id, program_id, guest_id from public.loyalty_members
                  where (tenant_id, id) in (select * from unnest($1::uuid[], $2::uuid[]))",
            )
            .bind(&members.0)
            .bind(&members.1)
            .fetch_all(&mut *conn)
            .await?;
            facts.members = found
                .into_iter()
                .map(|(t, id, program, guest)| ((t, id), (program, guest)))
                .collect();
        }
        if !webhooks.is_empty() {
            // a webhook born in the new system has no legacy id: its key holds its UUID
            let found: Vec<(String, Uuid, Uuid)> = sqlx::query_as(
                "select coalesce(legacy_id, id::text), tenant_id, id from public.webhooks
                  where legacy_id = any($1) or id::text = any($1)",
            )
            .bind(&webhooks)
            .fetch_all(&mut *conn)
            .await?;
            facts.webhooks = found
                .into_iter()
                .map(|(legacy, t, id)| (legacy, (t, id)))
                .collect();
        }
        if plans {
            let found: Vec<(String, Uuid)> =
                sqlx::query_as("select name, id from public.plans where tenant_id is null")
                    .fetch_all(&mut *conn)
                    .await?;
            facts.plans = found.into_iter().collect();
        }
        Ok(facts)
    }
}

#[derive(Debug, Default)]
struct Facts {
    rows: HashSet<(&'static str, Uuid, Uuid)>,
    members: HashMap<(Uuid, Uuid), (Uuid, Uuid)>,
    webhooks: HashMap<String, (Uuid, Uuid)>,
    plans: HashMap<String, Uuid>,
}

fn tenant_of(mapped: &Mapped) -> Uuid {
    mapped
        .row
        .get("tenant_id")
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
        .unwrap_or_default()
}

/// Applies what the tables said to one record (pure).
fn apply(
    mapped: &mut Mapped,
    facts: &Facts,
    tenants: &HashMap<String, Option<Uuid>>,
) -> Result<(), Problem> {
    let tenant = tenant_of(mapped);
    let links = std::mem::take(&mut mapped.links);
    for link in &links {
        let found: Option<Vec<(&'static str, Value)>> = match &link.target {
            Target::Row { table, id } => facts
                .rows
                .contains(&(*table, tenant, *id))
                .then(|| vec![(link.column, Value::String(id.to_string()))]),
            Target::Member { id } => facts.members.get(&(tenant, *id)).map(|(program, guest)| {
                vec![
                    (link.column, Value::String(id.to_string())),
                    ("program_id", Value::String(program.to_string())),
                    ("guest_id", Value::String(guest.to_string())),
                ]
            }),
            Target::Webhook => facts.webhooks.get(&link.legacy).map(|(t, id)| {
                vec![
                    ("tenant_id", Value::String(t.to_string())),
                    (link.column, Value::String(id.to_string())),
                ]
            }),
            Target::Plan { name } => facts
                .plans
                .get(name)
                .map(|id| vec![(link.column, Value::String(id.to_string()))]),
            Target::TenantInList => match tenants.get(&link.legacy).copied().flatten() {
                Some(id) => {
                    if let Some(Value::Array(list)) = mapped.row.get_mut(link.column) {
                        list.push(Value::String(id.to_string()));
                    }
                    Some(Vec::new())
                }
                None => None,
            },
        };
        match (found, link.missing) {
            (Some(values), _) => {
                for (column, value) in values {
                    mapped.row.insert(column, value);
                }
            }
            (None, Missing::Quarantine) => {
                return Err(Problem::new(format!(
                    "{} refers to {} {:?}, which is not imported",
                    link.column,
                    target_name(&link.target),
                    link.legacy
                )));
            }
            (None, Missing::Clear(note)) => {
                if link.target != Target::TenantInList {
                    mapped.row.insert(link.column, Value::Null);
                }
                mapped.notes.push(note.to_owned());
            }
        }
    }
    mapped.links = links;
    Ok(())
}

fn target_name(target: &Target) -> &'static str {
    match target {
        Target::Row { table, .. } => match *table {
            "guests" => "guest",
            "loyalty_programs" => "loyalty program",
            "marketing_campaigns" => "campaign",
            "subscriptions" => "subscription",
            other => other,
        },
        Target::Member { .. } => "loyalty member",
        Target::Webhook => "webhook",
        Target::Plan { .. } => "plan",
        Target::TenantInList => "tenant",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::kv_import::keys::Entity;
    use crate::kv_import::map::{map_record, MapOptions};

    fn reservation(guest: &str) -> Mapped {
        let mut mapped = map_record(
            Entity::Reservation,
            "reservation:T-1:RES-1",
            &json!({"guestId": guest, "guestName": "Ana", "checkInDate": "2024-01-01", "checkOutDate": "2024-01-02",
                    "status": "confirmed", "createdAt": "2023-12-01T00:00:00Z", "currency": "EUR"})
            .to_string(),
            MapOptions::default(),
        )
        .expect("mapped");
        mapped.row.insert("tenant_id", json!(Uuid::nil()));
        mapped
    }

    #[test]
    fn a_booking_whose_guest_is_gone_loses_the_link_but_keeps_the_name() {
        let mut mapped = reservation("guest_gone");
        apply(&mut mapped, &Facts::default(), &HashMap::new()).expect("kept");
        assert_eq!(mapped.row["guest_id"], Value::Null);
        assert_eq!(mapped.row["guest_name"], json!("Ana"));
        assert!(mapped.notes.iter().any(|n| n.starts_with("guest gone")));
    }

    #[test]
    fn a_booking_whose_guest_exists_keeps_the_link() {
        let mut mapped = reservation("guest_1");
        let id = crate::kv_import::map::tenant_id("T-1", "guest", "guest_1");
        let facts = Facts {
            rows: [("guests", Uuid::nil(), id)].into_iter().collect(),
            ..Default::default()
        };
        apply(&mut mapped, &facts, &HashMap::new()).expect("kept");
        assert_eq!(mapped.row["guest_id"], json!(id));
    }

    #[test]
    fn a_required_reference_to_nothing_is_a_problem_naming_it() {
        let mut mapped = map_record(
            Entity::GuestPreference,
            "pref:T-1:guest_9",
            &json!({"bedType": "king"}).to_string(),
            MapOptions::default(),
        )
        .expect("mapped");
        let problem = apply(&mut mapped, &Facts::default(), &HashMap::new()).expect_err("refused");
        assert_eq!(
            problem.0,
            "guest_id refers to guest \"guest_9\", which is not imported"
        );
    }
}
