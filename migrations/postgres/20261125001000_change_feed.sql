-- The per-tenant change feed that laptops pull from.
--
-- Every write to a synced table records (table, row id, upsert|delete) in app.changes, stamped
-- with the tenant's next transaction number `seq`. The first write of a transaction bumps the
-- tenant's row in app.feed_heads and keeps its row lock until commit, so the transactions that
-- write one tenant's data take turns and their `seq` follow commit order: a reader that sees `seq`
-- N committed has already seen every lower one, and a transaction that commits late cannot slip
-- in behind a cursor. (A plain bigserial does not have that property: numbers are taken at insert
-- time, so a transaction that took a lower number can commit after a reader moved past it.)
-- The cost is that one tenant's writing transactions serialize; long jobs therefore commit in
-- small batches. Other tenants are unaffected.
--
-- Within a transaction changes are ordered by change_no, so a reader may page through a large
-- transaction with the cursor (seq, change_no). The feed carries keys, not values: a pull reads
-- the rows' current state under RLS, so each device gets only what its role may read.

create table app.feed_heads (
    tenant_id uuid primary key references public.tenants (id) on delete cascade,
    head bigint not null default 0 constraint feed_heads_head_check check (head >= 0)
);

create table app.changes (
    tenant_id uuid not null,
    seq bigint not null,
    change_no bigint generated always as identity,
    table_name text not null,
    row_id uuid not null,
    op text not null constraint changes_op_check check (op in ('upsert', 'delete')),
    changed_at timestamptz not null default now(),
    primary key (tenant_id, seq, change_no)
);
comment on column app.changes.seq is
    'The tenant''s transaction number, in commit order (see the migration''s header).';

create function app.record_change() returns trigger
language plpgsql security definer
set search_path = pg_catalog, app
as $$
declare
    row_tenant constant uuid := case when tg_op = 'DELETE' then old.tenant_id else new.tenant_id end;
    setting_name text;
    tx_seq bigint;
begin
    if row_tenant is null then
        return null; -- platform rows (global flags and plans) are not part of a tenant's feed
    end if;
    setting_name := 'pms.feed_seq_' || replace(row_tenant::text, '-', '');
    tx_seq := nullif(current_setting(setting_name, true), '')::bigint;
    if tx_seq is null then
        insert into app.feed_heads as h (tenant_id, head) values (row_tenant, 1)
        on conflict (tenant_id) do update set head = h.head + 1
        returning head into tx_seq;
        perform set_config(setting_name, tx_seq::text, true);
        -- wakes the servers' waiting pulls of this tenant when the transaction commits
        perform pg_notify('pms_feed', row_tenant::text);
    end if;
    insert into app.changes (tenant_id, seq, table_name, row_id, op)
    values (row_tenant, tx_seq, tg_table_name,
            case when tg_op = 'DELETE' then old.id else new.id end,
            case when tg_op = 'DELETE' then 'delete' else 'upsert' end);
    -- a tenant move is a delete from one feed and an insert into the other
    if tg_op = 'UPDATE' and old.tenant_id is distinct from new.tenant_id then
        raise exception 'rows do not move between tenants' using errcode = 'check_violation';
    end if;
    return null;
end
$$;

-- The tables a laptop mirrors. Webhooks, their deliveries, devices and retention policies stay
-- on the server.
do $$
declare
    synced text;
begin
    foreach synced in array array[
        'staff', 'properties', 'room_types', 'rooms', 'guests', 'guest_preferences', 'reservations',
        'loyalty_programs', 'loyalty_members', 'loyalty_transactions', 'marketing_campaigns',
        'campaign_recipients', 'communication_logs', 'subscriptions', 'invoices', 'usage_alerts',
        'feature_flags', 'plans'
    ] loop
        execute format(
            'create trigger %I after insert or update or delete on public.%I
                 for each row execute function app.record_change()',
            synced || '_record_change', synced);
    end loop;
end
$$;

-- Access -------------------------------------------------------------------------------------

alter function app.record_change() owner to service_role;
grant all on app.feed_heads, app.changes to service_role;
grant usage on all sequences in schema app to service_role;
alter table app.feed_heads enable row level security;
alter table app.feed_heads force row level security;
alter table app.changes enable row level security;
alter table app.changes force row level security;
-- A device reads its tenant's feed; which rows it then sees is up to each table's policies.
grant select on app.changes to authenticated;
create policy changes_select on app.changes for select to authenticated
    using (tenant_id = (select app.current_tenant_id()) and (select app.current_staff_role()) is not null);
