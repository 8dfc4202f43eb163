-- Global rows (plans, and feature flags without a tenant) are read by every tenant's laptops, so
-- a change to one is recorded in every tenant's feed. Such changes are rare (platform admin
-- work); each takes every tenant's feed head in turn, like any other writer of those tenants.

create or replace function app.record_change() returns trigger
language plpgsql security definer
set search_path = pg_catalog, app
as $$
declare
    row_tenant constant uuid := case when tg_op = 'DELETE' then old.tenant_id else new.tenant_id end;
    row_id constant uuid := case when tg_op = 'DELETE' then old.id else new.id end;
    change_op constant text := case when tg_op = 'DELETE' then 'delete' else 'upsert' end;
    feed_tenant uuid;
begin
    -- a tenant move is a delete from one feed and an insert into the other
    if tg_op = 'UPDATE' and old.tenant_id is distinct from new.tenant_id then
        raise exception 'rows do not move between tenants' using errcode = 'check_violation';
    end if;
    if row_tenant is not null then
        perform app.record_change_in_feed(row_tenant, tg_table_name, row_id, change_op);
    else
        for feed_tenant in select id from public.tenants order by id loop
            perform app.record_change_in_feed(feed_tenant, tg_table_name, row_id, change_op);
        end loop;
    end if;
    return null;
end
$$;

-- One change in one tenant's feed, in the transaction's feed number for that tenant (see
-- 20261125001000_change_feed.sql for why the head row is taken once per transaction).
create function app.record_change_in_feed(feed_tenant uuid, table_name text, row_id uuid, change_op text)
returns void
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
    insert into app.changes (tenant_id, seq, table_name, row_id, op)
    values (feed_tenant, tx_seq, table_name, row_id, change_op);
end
$$;
alter function app.record_change_in_feed(uuid, text, uuid, text) owner to service_role;
revoke all on function app.record_change_in_feed(uuid, text, uuid, text) from public;
