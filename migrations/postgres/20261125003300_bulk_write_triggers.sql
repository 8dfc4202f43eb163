-- Cheaper per-row triggers for bulk writes (the legacy import, a laptop's large push, the jobs).
-- Measured on the import of 450,000 legacy records (`kv-import-bench`), the triggers cost more
-- than the rows: the webhook triggers built an event and planned a SQL function for every guest
-- and booking, whether or not any endpoint listened, and the change feed called a second
-- function per row. Semantics do not change:
-- - webhook events: a trigger first asks whether an enabled endpoint of the tenant subscribes to
--   the event (a cached plan over a tiny table), and only then builds the payload; the enqueue is
--   PL/pgSQL, whose statements are planned once per session (a SQL function called from PL/pgSQL
--   is planned again at every call);
-- - the change feed is recorded by statement-level triggers: one insert of every row a statement
--   changed, rather than one per row (a statement's rows keep their order in the feed, and its
--   transaction takes the tenant's feed number at its first change, as before); loyalty members,
--   which the ledger's trigger updates one statement per entry, keep a (cheaper) row trigger;
-- - the loyalty ledger reads the program's tiers only when an entry adds lifetime points; an
--   entry that earns nothing (a redemption, an expiry) moves the balance alone and leaves the
--   tier where the last earning put it (a program whose tiers are edited regrades its members at
--   their next earning).

-- Whether an enabled endpoint of the tenant subscribes to the event.
create function app.webhook_subscribed(event_tenant uuid, event_name text)
returns boolean
language plpgsql stable security definer
set search_path = pg_catalog, public, app
as $$
begin
    return exists (
        select 1 from public.webhooks w
         where w.tenant_id = event_tenant
           and w.enabled and w.deleted_at is null and w.status <> 'disabled'
           and event_name = any (w.events));
end
$$;
alter function app.webhook_subscribed(uuid, text) owner to service_role;
revoke all on function app.webhook_subscribed(uuid, text) from public;

create or replace function app.enqueue_webhook_event(event_tenant uuid, event_name text, data jsonb)
returns void
language plpgsql security definer
set search_path = pg_catalog, public, app
as $$
begin
    insert into public.webhook_deliveries (tenant_id, webhook_id, event, payload)
    select w.tenant_id, w.id, event_name,
           jsonb_build_object('event', event_name, 'occurred_at', now(), 'data', data)
      from public.webhooks w
     where w.tenant_id = event_tenant
       and w.enabled and w.deleted_at is null and w.status <> 'disabled'
       and event_name = any (w.events);
end
$$;

create or replace function app.reservation_webhook_events() returns trigger
language plpgsql security definer
set search_path = pg_catalog, public, app
as $$
declare
    event_name text;
begin
    if tg_op = 'INSERT' then
        event_name := 'reservation.created';
    elsif new.status = 'cancelled' and old.status is distinct from 'cancelled' then
        event_name := 'reservation.cancelled';
    elsif (new.check_in_date, new.check_out_date, new.room_id, new.room_type_id, new.status, new.guest_id)
          is distinct from
          (old.check_in_date, old.check_out_date, old.room_id, old.room_type_id, old.status, old.guest_id) then
        event_name := 'reservation.changed';
    else
        return null;
    end if;
    if app.webhook_subscribed(new.tenant_id, event_name) then
        perform app.enqueue_webhook_event(new.tenant_id, event_name, jsonb_build_object(
            'id', new.id, 'confirmation_number', new.confirmation_number, 'property_id', new.property_id,
            'guest_id', new.guest_id, 'guest_name', new.guest_name, 'room_id', new.room_id,
            'check_in_date', new.check_in_date, 'check_out_date', new.check_out_date, 'status', new.status));
    end if;
    return null;
end
$$;

create or replace function app.guest_webhook_events() returns trigger
language plpgsql security definer
set search_path = pg_catalog, public, app
as $$
begin
    if app.webhook_subscribed(new.tenant_id, 'guest.created') then
        perform app.enqueue_webhook_event(new.tenant_id, 'guest.created', jsonb_build_object(
            'id', new.id, 'full_name', new.full_name, 'email', new.email, 'segment', new.segment,
            'vip_status', new.vip_status));
    end if;
    return null;
end
$$;

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
    -- the highest tier reached by lifetime points, and the next one
    select t.value ->> 'name', (t.value ->> 'required_points')::bigint into reached_name, reached_points
      from jsonb_array_elements(coalesce(program_tiers, '[]')) t
     where (t.value ->> 'required_points')::bigint <= lifetime
     order by (t.value ->> 'required_points')::bigint desc
     limit 1;
    select t.value ->> 'name', (t.value ->> 'required_points')::bigint into upcoming_name, upcoming_points
      from jsonb_array_elements(coalesce(program_tiers, '[]')) t
     where (t.value ->> 'required_points')::bigint > lifetime
     order by (t.value ->> 'required_points')::bigint
     limit 1;
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


-- The change feed, per statement --------------------------------------------------------------

-- The transaction's number in a tenant's feed: taken (and the tenant's head locked to the commit)
-- at its first change, then read back (see the change-feed migration for why).
create function app.transaction_feed_seq(feed_tenant uuid) returns bigint
language plpgsql security definer
set search_path = pg_catalog, app
as $$
declare
    setting_name constant text := 'pms.feed_seq_' || replace(feed_tenant::text, '-', '');
    tx_seq bigint := nullif(current_setting(setting_name, true), '')::bigint;
begin
    if tx_seq is null then
        insert into app.feed_heads as h (tenant_id, head) values (feed_tenant, 1)
        on conflict (tenant_id) do update set head = h.head + 1
        returning head into tx_seq;
        perform set_config(setting_name, tx_seq::text, true);
        -- wakes the servers' waiting pulls of this tenant when the transaction commits
        perform pg_notify('pms_feed', feed_tenant::text);
    end if;
    return tx_seq;
end
$$;
alter function app.transaction_feed_seq(uuid) owner to service_role;
revoke all on function app.transaction_feed_seq(uuid) from public;

-- One function for the three statement triggers of each synced table; each branch reads only
-- the transition table its event has (PL/pgSQL plans a statement when it first runs it). Rows of
-- a tenant go to its feed; global rows (tenant_id null: plans, platform flags) to every tenant's.
create function app.record_changes() returns trigger
language plpgsql security definer
set search_path = pg_catalog, public, app
as $$
declare
    change_op constant text := case when tg_op = 'DELETE' then 'delete' else 'upsert' end;
    row_tenants uuid[];
    row_ids uuid[];
    feed_tenant uuid;
    tx_seq bigint;
begin
    if tg_op = 'UPDATE' then
        -- a tenant move would be a delete from one feed and an insert into the other
        -- (a set difference, hashed: a join of the two transition tables, which have no
        -- statistics, is planned as a nested loop, quadratic in the rows of the statement)
        if exists (select o.id, o.tenant_id from old_rows o
                   except
                   select n.id, n.tenant_id from new_rows n) then
            raise exception 'rows do not move between tenants' using errcode = 'check_violation';
        end if;
    end if;
    if tg_op = 'DELETE' then
        select array_agg(o.tenant_id), array_agg(o.id) into row_tenants, row_ids from old_rows o;
    else
        select array_agg(n.tenant_id), array_agg(n.id) into row_tenants, row_ids from new_rows n;
    end if;
    if row_ids is null then
        return null;
    end if;
    for feed_tenant in select distinct t from unnest(row_tenants) t where t is not null loop
        tx_seq := app.transaction_feed_seq(feed_tenant);
        insert into app.changes (tenant_id, seq, table_name, row_id, op)
        select feed_tenant, tx_seq, tg_table_name, r.id, change_op
          from unnest(row_tenants, row_ids) with ordinality as r (tenant_id, id, n)
         where r.tenant_id = feed_tenant
         order by r.n;
    end loop;
    if array_position(row_tenants, null) is not null then
        for feed_tenant in select t.id from public.tenants t order by t.id loop
            tx_seq := app.transaction_feed_seq(feed_tenant);
            insert into app.changes (tenant_id, seq, table_name, row_id, op)
            select feed_tenant, tx_seq, tg_table_name, r.id, change_op
              from unnest(row_tenants, row_ids) with ordinality as r (tenant_id, id, n)
             where r.tenant_id is null
             order by r.n;
        end loop;
    end if;
    return null;
end
$$;
alter function app.record_changes() owner to service_role;

do $$
declare
    synced text;
begin
    foreach synced in array array[
        'staff', 'properties', 'room_types', 'rooms', 'guests', 'guest_preferences', 'reservations',
        'loyalty_programs', 'loyalty_transactions', 'marketing_campaigns',
        'campaign_recipients', 'communication_logs', 'subscriptions', 'invoices', 'usage_alerts',
        'feature_flags', 'plans'
    ] loop
        execute format('drop trigger %I on public.%I', synced || '_record_change', synced);
        execute format(
            'create trigger %I after insert on public.%I referencing new table as new_rows
                 for each statement execute function app.record_changes()',
            synced || '_record_inserts', synced);
        execute format(
            'create trigger %I after update on public.%I referencing old table as old_rows new table as new_rows
                 for each statement execute function app.record_changes()',
            synced || '_record_updates', synced);
        execute format(
            'create trigger %I after delete on public.%I referencing old table as old_rows
                 for each statement execute function app.record_changes()',
            synced || '_record_deletes', synced);
    end loop;
end
$$;

-- The row trigger of loyalty members (a one-row statement costs a statement trigger more than a
-- row trigger: its transition tables). Members always belong to a tenant.
create or replace function app.record_change() returns trigger
language plpgsql security definer
set search_path = pg_catalog, app
as $$
declare
    row_tenant constant uuid := case when tg_op = 'DELETE' then old.tenant_id else new.tenant_id end;
    tx_seq bigint := nullif(current_setting('pms.feed_seq_' || replace(row_tenant::text, '-', ''), true), '')::bigint;
begin
    if tg_op = 'UPDATE' and old.tenant_id is distinct from new.tenant_id then
        raise exception 'rows do not move between tenants' using errcode = 'check_violation';
    end if;
    if row_tenant is null then
        raise exception 'app.record_change records rows of a tenant only (%)', tg_table_name;
    end if;
    if tx_seq is null then
        tx_seq := app.transaction_feed_seq(row_tenant);
    end if;
    insert into app.changes (tenant_id, seq, table_name, row_id, op)
    values (row_tenant, tx_seq, tg_table_name,
            case when tg_op = 'DELETE' then old.id else new.id end,
            case when tg_op = 'DELETE' then 'delete' else 'upsert' end);
    return null;
end
$$;

-- Nothing calls it any more: app.transaction_feed_seq took its place.
drop function app.record_change_in_feed(uuid, text, uuid, text);
