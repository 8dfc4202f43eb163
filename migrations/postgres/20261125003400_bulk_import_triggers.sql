-- Bulk writers (the legacy import) without per-row derived work:
--
-- 1. Ledger entries with supplied balances. A writer that computes a statement's running
--    balances itself (in one query, from the members' balances) sets
--    `pms.ledger_balances_supplied` for its transaction. The row trigger then trusts nothing and
--    does nothing; a statement trigger checks, under the members' row locks, that each member's
--    entries continue its balance in insertion order (the rows' checks already hold
--    after = before + points and no balance below zero), and moves each member once: balance,
--    lifetime points and tier, exactly as entry after entry would have. A chain that does not
--    continue is refused (check_violation), so the setting cannot make a balance up: at worst a
--    writer's statement is refused and it tries again without it.
--
-- 2. Guest metrics are not refreshed per statement inside the import's transactions
--    (`pms.kv_import`): its bookings go in a batch at a time, and each refresh rewrote the
--    batch's guests with every index they have. The import refreshes its tenants' guests once,
--    set-based, when its bookings are in (and again on a re-run, which is how a run killed in
--    between ends like a clean one).
--
-- 3. The events of new guests and bookings (guest.created, reservation.created) are built per
--    statement: one question per tenant whether an endpoint subscribes, then one event per row in
--    the statement's order, as before. A row trigger paid a function call per row even when no
--    endpoint listened. Changes of bookings keep their row trigger (which event a change is
--    depends on the row's old and new values).

-- A program's grading of lifetime points: the highest tier reached and the next one, with the
-- points each needs. One rule for the ledger's row trigger and its statement trigger (a plain SQL
-- function, so that both planners inline it).
create function app.loyalty_grade(tiers jsonb, lifetime bigint)
returns table (reached_name text, reached_points bigint, upcoming_name text, upcoming_points bigint)
language sql immutable
as $$
    select reached.name, reached.required, upcoming.name, upcoming.required
      from (select) one
      left join lateral (
            select t.value ->> 'name' as name, (t.value ->> 'required_points')::bigint as required
              from pg_catalog.jsonb_array_elements(coalesce(tiers, '[]')) t
             where (t.value ->> 'required_points')::bigint <= lifetime
             order by 2 desc
             limit 1) reached on true
      left join lateral (
            select t.value ->> 'name' as name, (t.value ->> 'required_points')::bigint as required
              from pg_catalog.jsonb_array_elements(coalesce(tiers, '[]')) t
             where (t.value ->> 'required_points')::bigint > lifetime
             order by 2
             limit 1) upcoming on true
$$;
alter function app.loyalty_grade(jsonb, bigint) owner to service_role;
revoke all on function app.loyalty_grade(jsonb, bigint) from public;

create or replace function app.loyalty_transactions_apply() returns trigger
language plpgsql security definer
set search_path = pg_catalog, public, app
as $$
declare
    current_balance bigint;
    lifetime bigint;
    program_tiers jsonb;
    reached_name text;
    reached_points bigint;
    upcoming_name text;
    upcoming_points bigint;
begin
    if current_setting('pms.ledger_balances_supplied', true) = 'on' then
        -- checked and applied per statement (loyalty_transactions_apply_supplied)
        return new;
    end if;
    select m.points_balance, m.lifetime_points into current_balance, lifetime
      from public.loyalty_members m
     where m.tenant_id = new.tenant_id and m.id = new.member_id
       for update;
    -- A missing member is reported by the foreign key (checked after this trigger); until then
    -- the entry is computed against a zero balance.
    new.balance_before := coalesce(current_balance, 0);
    new.balance_after := new.balance_before + new.points;
    if current_balance is null or new.balance_after < 0 then
        return new;
    end if;
    if new.points <= 0 then
        -- lifetime points do not move: the tier stays where the last entry put it
        update public.loyalty_members m
           set points_balance = new.balance_after
         where m.tenant_id = new.tenant_id and m.id = new.member_id;
        return new;
    end if;
    lifetime := lifetime + new.points;
    select p.tiers into program_tiers from public.loyalty_programs p
     where p.tenant_id = new.tenant_id and p.id = new.program_id;
    select g.reached_name, g.reached_points, g.upcoming_name, g.upcoming_points
      into reached_name, reached_points, upcoming_name, upcoming_points
      from app.loyalty_grade(program_tiers, lifetime) g;
    update public.loyalty_members m
       set points_balance = new.balance_after,
           lifetime_points = lifetime,
           current_tier = coalesce(reached_name, m.current_tier),
           tier_achieved_at = case when reached_name is distinct from m.current_tier and reached_name is not null
                                   then coalesce(new.created_at, now()) else m.tier_achieved_at end,
           next_tier = upcoming_name,
           points_to_next_tier = upcoming_points - lifetime
     where m.tenant_id = new.tenant_id and m.id = new.member_id;
    return new;
end
$$;

-- The statement's entries are read in insertion order (a transition table is scanned in the
-- order its rows were written). Members are looked up one by one through their key (scalar and
-- lateral subqueries): a transition table has no statistics, and a join with it may be planned
-- as a scan of every member.
create function app.loyalty_transactions_apply_supplied() returns trigger
language plpgsql security definer
set search_path = pg_catalog, public, app
as $$
declare
    broken record;
begin
    if current_setting('pms.ledger_balances_supplied', true) is distinct from 'on' then
        return null;
    end if;
    -- the members, locked in key order (as every writer of several members locks them)
    perform 1
       from (select distinct e.tenant_id, e.member_id from new_entries e order by 1, 2) e
      cross join lateral (select 1 from public.loyalty_members m
                           where m.tenant_id = e.tenant_id and m.id = e.member_id
                             for update) locked;
    select c.id, c.balance_before, c.expected into broken
      from (select e.id, e.balance_before,
                   coalesce(lag(e.balance_after) over (partition by e.tenant_id, e.member_id order by e.ord),
                            (select m.points_balance from public.loyalty_members m
                              where m.tenant_id = e.tenant_id and m.id = e.member_id),
                            0) as expected
              from (select n.*, row_number() over () as ord from new_entries n) e) c
     where c.balance_before <> c.expected
     limit 1;
    if found then
        raise exception 'ledger entry % starts at a balance of % where its member has %',
                        broken.id, broken.balance_before, broken.expected
              using errcode = 'check_violation';
    end if;
    with running as (
        select e.*,
               (sum(greatest(e.points, 0)) over (partition by e.tenant_id, e.member_id order by e.ord))::bigint
                   as earned_so_far
          from (select n.*, row_number() over () as ord from new_entries n) e
    ), moved as (
        select r.tenant_id, r.member_id,
               (array_agg(r.balance_after order by r.ord desc))[1] as balance,
               max(r.earned_so_far) as earned,
               -- each earning's time and the points earned up to it, to date the tier reached
               array_agg(coalesce(r.created_at, now()) order by r.ord) filter (where r.points > 0) as earned_at,
               array_agg(r.earned_so_far order by r.ord) filter (where r.points > 0) as earned_running,
               (array_agg(r.program_id))[1] as program_id
          from running r
         group by r.tenant_id, r.member_id
    ), based as (
        select mv.*,
               (select m.lifetime_points from public.loyalty_members m
                 where m.tenant_id = mv.tenant_id and m.id = mv.member_id) as lifetime_before,
               (select p.tiers from public.loyalty_programs p
                 where p.tenant_id = mv.tenant_id and p.id = mv.program_id) as tiers
          from moved mv
    ), graded as (
        select b.*, b.lifetime_before + b.earned as lifetime, grade.*
          from based b
          left join lateral app.loyalty_grade(b.tiers, b.lifetime_before + b.earned) grade on b.earned > 0
    )
    update public.loyalty_members m
       set points_balance = g.balance,
           lifetime_points = g.lifetime,
           current_tier = case when g.earned > 0 then coalesce(g.reached_name, m.current_tier) else m.current_tier end,
           -- the earning that first reached the tier (as entry after entry would have dated it)
           tier_achieved_at = case
               when g.earned > 0 and g.reached_name is distinct from m.current_tier and g.reached_name is not null
               then (select a.at from unnest(g.earned_at, g.earned_running) as a (at, so_far)
                      where g.lifetime_before + a.so_far >= g.reached_points limit 1)
               else m.tier_achieved_at end,
           next_tier = case when g.earned > 0 then g.upcoming_name else m.next_tier end,
           points_to_next_tier = case when g.earned > 0 then g.upcoming_points - g.lifetime else m.points_to_next_tier end
      from graded g
     where m.tenant_id = g.tenant_id and m.id = g.member_id;
    return null;
end
$$;
alter function app.loyalty_transactions_apply_supplied() owner to service_role;
revoke all on function app.loyalty_transactions_apply_supplied() from public;

create trigger loyalty_transactions_apply_supplied after insert on public.loyalty_transactions
    referencing new table as new_entries
    for each statement execute function app.loyalty_transactions_apply_supplied();

create or replace function app.guest_metrics_after_change() returns trigger
language plpgsql security definer
set search_path = pg_catalog, public, app
as $$
declare
    changed jsonb := '[]';  -- [[tenant, guest], …]
    affected record;
begin
    if current_setting('pms.kv_import', true) = 'on' then
        -- the import refreshes its guests once its bookings are in
        return null;
    end if;
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

-- New guests and bookings: events per statement -------------------------------------------------

-- What a booking's events carry (created, changed, cancelled), from the booking as JSON (a
-- transition table's rows are records, not of the table's type).
create function app.reservation_event_data(booking jsonb) returns jsonb
language sql immutable
as $$
    select jsonb_build_object(
        'id', booking -> 'id', 'confirmation_number', booking -> 'confirmation_number',
        'property_id', booking -> 'property_id', 'guest_id', booking -> 'guest_id',
        'guest_name', booking -> 'guest_name', 'room_id', booking -> 'room_id',
        'check_in_date', booking -> 'check_in_date', 'check_out_date', booking -> 'check_out_date',
        'status', booking -> 'status')
$$;
alter function app.reservation_event_data(jsonb) owner to service_role;
revoke all on function app.reservation_event_data(jsonb) from public;

-- A change of a booking (its creation is recorded per statement, below).
create or replace function app.reservation_webhook_events() returns trigger
language plpgsql security definer
set search_path = pg_catalog, public, app
as $$
declare
    event_name text;
begin
    if new.status = 'cancelled' and old.status is distinct from 'cancelled' then
        event_name := 'reservation.cancelled';
    elsif (new.check_in_date, new.check_out_date, new.room_id, new.room_type_id, new.status, new.guest_id)
          is distinct from
          (old.check_in_date, old.check_out_date, old.room_id, old.room_type_id, old.status, old.guest_id) then
        event_name := 'reservation.changed';
    else
        return null;
    end if;
    if app.webhook_subscribed(new.tenant_id, event_name) then
        perform app.enqueue_webhook_event(new.tenant_id, event_name, app.reservation_event_data(to_jsonb(new)));
    end if;
    return null;
end
$$;

create function app.guest_created_events() returns trigger
language plpgsql security definer
set search_path = pg_catalog, public, app
as $$
declare
    event_tenant uuid;
begin
    for event_tenant in select distinct n.tenant_id from new_rows n loop
        if app.webhook_subscribed(event_tenant, 'guest.created') then
            perform app.enqueue_webhook_event(n.tenant_id, 'guest.created', jsonb_build_object(
                        'id', n.id, 'full_name', n.full_name, 'email', n.email, 'segment', n.segment,
                        'vip_status', n.vip_status))
               from (select r.*, row_number() over () as ord from new_rows r) n
              where n.tenant_id = event_tenant
              order by n.ord;
        end if;
    end loop;
    return null;
end
$$;
alter function app.guest_created_events() owner to service_role;
revoke all on function app.guest_created_events() from public;

create function app.reservation_created_events() returns trigger
language plpgsql security definer
set search_path = pg_catalog, public, app
as $$
declare
    event_tenant uuid;
begin
    for event_tenant in select distinct n.tenant_id from new_rows n loop
        if app.webhook_subscribed(event_tenant, 'reservation.created') then
            perform app.enqueue_webhook_event(event_tenant, 'reservation.created', app.reservation_event_data(n.booking))
               from (select r.tenant_id, to_jsonb(r) as booking, row_number() over () as ord from new_rows r) n
              where n.tenant_id = event_tenant
              order by n.ord;
        end if;
    end loop;
    return null;
end
$$;
alter function app.reservation_created_events() owner to service_role;
revoke all on function app.reservation_created_events() from public;

drop trigger guests_webhook_events on public.guests;
drop function app.guest_webhook_events();
create trigger guests_created_events after insert on public.guests
    referencing new table as new_rows
    for each statement execute function app.guest_created_events();

drop trigger reservations_webhook_events on public.reservations;
create trigger reservations_webhook_events after update on public.reservations
    for each row execute function app.reservation_webhook_events();
create trigger reservations_created_events after insert on public.reservations
    referencing new table as new_rows
    for each statement execute function app.reservation_created_events();
