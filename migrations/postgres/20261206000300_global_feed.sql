-- Global rows (plans and feature flags without a tenant) get a feed of their own, which every
-- pull also reads.
--
-- A change to a global row used to be written into every tenant's feed, taking every tenant's
-- feed head in one transaction (20261125001400_global_rows_in_feeds.sql): platform work waited
-- for, and blocked, every desk's push, and could deadlock with a job writing several tenants. Now
-- it takes one head of its own and writes one feed row per change. A pull reads its tenant's feed
-- and the global feed, each after its own cursor (`after_global_seq`, `after_global_change_no`).
--
-- The global feed is small (platform admin work) and is not pruned: a laptop's global cursor
-- never expires. Changes to global rows made before this migration stay in the tenant feeds
-- they were written to.

create table app.global_feed_head (
    singleton boolean primary key default true constraint global_feed_head_singleton_check check (singleton),
    head bigint not null default 0 constraint global_feed_head_head_check check (head >= 0)
);
insert into app.global_feed_head default values;

create table app.global_changes (
    seq bigint not null,
    change_no bigint generated always as identity,
    table_name text not null,
    row_id uuid not null,
    op text not null constraint global_changes_op_check check (op in ('upsert', 'delete')),
    changed_at timestamptz not null default now(),
    primary key (seq, change_no)
);
comment on column app.global_changes.seq is
    'The global feed''s transaction number, in commit order (the head is held to the commit, as a tenant''s is).';

-- The transaction's number in the global feed: taken (and the head locked to the commit) at its
-- first change of a global row, then read back.
create function app.transaction_global_feed_seq() returns bigint
language plpgsql security definer
set search_path = pg_catalog, app
as $$
declare
    tx_seq bigint := nullif(current_setting('pms.global_feed_seq', true), '')::bigint;
begin
    if tx_seq is null then
        update app.global_feed_head set head = head + 1 returning head into tx_seq;
        perform set_config('pms.global_feed_seq', tx_seq::text, true);
        -- wakes every waiting pull of every server when the transaction commits
        perform pg_notify('pms_feed', 'global');
    end if;
    return tx_seq;
end
$$;
alter function app.transaction_global_feed_seq() owner to service_role;
revoke all on function app.transaction_global_feed_seq() from public;

create or replace function app.record_changes() returns trigger
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
        tx_seq := app.transaction_global_feed_seq();
        insert into app.global_changes (seq, table_name, row_id, op)
        select tx_seq, tg_table_name, r.id, change_op
          from unnest(row_tenants, row_ids) with ordinality as r (tenant_id, id, n)
         where r.tenant_id is null
         order by r.n;
    end if;
    return null;
end
$$;

-- Access: the server reads the global feed as a device (which global rows it then sees is up to
-- each table's policies); only the feed trigger writes it.
grant all on app.global_feed_head, app.global_changes to service_role;
grant select on app.global_changes to authenticated;
alter table app.global_feed_head enable row level security;
alter table app.global_feed_head force row level security;
alter table app.global_changes enable row level security;
alter table app.global_changes force row level security;
create policy global_changes_select on app.global_changes for select to authenticated using (true);
