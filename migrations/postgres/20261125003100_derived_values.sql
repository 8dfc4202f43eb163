-- Values the server derives and keeps in step with the data they come from:
-- - a member's tier (by lifetime points against the program's tiers), set by the ledger when an
--   entry is applied (an entry's expiry is its writer's: the desk sets it from the program's
--   points_expiry_days; imported history keeps what the old store said);
-- - a guest's metrics (bookings, spend, lifetime value, last stay), recomputed from the guest's
--   reservations by statement-level triggers, so a bulk load recomputes each guest once.
-- Both match what `seed-demo` writes, so seeded data and later changes agree.

create or replace function app.loyalty_transactions_apply() returns trigger
language plpgsql security definer
set search_path = pg_catalog, public, app
as $$
declare
    current_balance bigint;
    lifetime bigint;
    program public.loyalty_programs%rowtype;
    reached record;
    upcoming record;
begin
    select m.points_balance, m.lifetime_points into current_balance, lifetime
      from public.loyalty_members m
     where m.tenant_id = new.tenant_id and m.id = new.member_id
       for update;
    -- A missing member is reported by the foreign key (checked after this trigger); until then
    -- the entry is computed against a zero balance.
    new.balance_before := coalesce(current_balance, 0);
    new.balance_after := new.balance_before + new.points;
    select * into program from public.loyalty_programs p
     where p.tenant_id = new.tenant_id and p.id = new.program_id;
    if current_balance is not null and new.balance_after >= 0 then
        lifetime := lifetime + greatest(new.points, 0);
        -- the highest tier reached by lifetime points, and the next one
        select t.value ->> 'name' as name, (t.value ->> 'required_points')::bigint as required into reached
          from jsonb_array_elements(coalesce(program.tiers, '[]')) t
         where (t.value ->> 'required_points')::bigint <= lifetime
         order by (t.value ->> 'required_points')::bigint desc
         limit 1;
        select t.value ->> 'name' as name, (t.value ->> 'required_points')::bigint as required into upcoming
          from jsonb_array_elements(coalesce(program.tiers, '[]')) t
         where (t.value ->> 'required_points')::bigint > lifetime
         order by (t.value ->> 'required_points')::bigint
         limit 1;
        update public.loyalty_members m
           set points_balance = new.balance_after,
               lifetime_points = lifetime,
               current_tier = coalesce(reached.name, m.current_tier),
               tier_achieved_at = case when reached.name is distinct from m.current_tier and reached.name is not null
                                       then coalesce(new.created_at, now()) else m.tier_achieved_at end,
               next_tier = upcoming.name,
               points_to_next_tier = upcoming.required - lifetime
         where m.tenant_id = new.tenant_id and m.id = new.member_id;
    end if;
    return new;
end
$$;

create function app.refresh_guest_metrics(metric_tenant uuid, guest_ids uuid[]) returns void
language sql security definer
set search_path = pg_catalog, public, app
as $$
    update public.guests g
       set total_bookings = m.bookings, total_spent_cents = m.spent,
           lifetime_value_cents = m.spent, last_stay_at = m.last_stay
      from (select gi.id,
                   count(r.id) filter (where r.status not in ('cancelled', 'no_show') and r.deleted_at is null) as bookings,
                   coalesce(sum(r.total_amount_cents) filter (where r.checked_out_at is not null and r.deleted_at is null), 0) as spent,
                   max(r.checked_out_at) filter (where r.deleted_at is null) as last_stay
              from unnest(guest_ids) gi(id)
              left join public.reservations r on r.tenant_id = metric_tenant and r.guest_id = gi.id
             group by gi.id) m
     where g.tenant_id = metric_tenant and g.id = m.id
       and (g.total_bookings, g.total_spent_cents, g.lifetime_value_cents, g.last_stay_at)
           is distinct from (m.bookings, m.spent, m.spent, m.last_stay)
$$;
alter function app.refresh_guest_metrics(uuid, uuid[]) owner to service_role;
revoke all on function app.refresh_guest_metrics(uuid, uuid[]) from public;

-- One function for the three statement triggers: each branch reads only the transition tables
-- its event has (PL/pgSQL plans a statement when it first runs it).
create function app.guest_metrics_after_change() returns trigger
language plpgsql security definer
set search_path = pg_catalog, public, app
as $$
declare
    changed jsonb := '[]';  -- [[tenant, guest], …]
    affected record;
begin
    if tg_op in ('INSERT', 'UPDATE') then
        select changed || coalesce(jsonb_agg(jsonb_build_array(tenant_id, guest_id)), '[]') into changed
          from new_rows where guest_id is not null;
    end if;
    if tg_op in ('UPDATE', 'DELETE') then
        select changed || coalesce(jsonb_agg(jsonb_build_array(tenant_id, guest_id)), '[]') into changed
          from old_rows where guest_id is not null;
    end if;
    for affected in
        select (pair ->> 0)::uuid as tenant_id, array_agg(distinct (pair ->> 1)::uuid) as ids
          from jsonb_array_elements(changed) pair
         group by 1
    loop
        perform app.refresh_guest_metrics(affected.tenant_id, affected.ids);
    end loop;
    return null;
end
$$;
alter function app.guest_metrics_after_change() owner to service_role;

create trigger reservations_guest_metrics_insert after insert on public.reservations
    referencing new table as new_rows
    for each statement execute function app.guest_metrics_after_change();
create trigger reservations_guest_metrics_update after update on public.reservations
    referencing old table as old_rows new table as new_rows
    for each statement execute function app.guest_metrics_after_change();
create trigger reservations_guest_metrics_delete after delete on public.reservations
    referencing old table as old_rows
    for each statement execute function app.guest_metrics_after_change();
