-- Writes the server makes without a laptop (jobs, admin commands, an engineer's statement) are
-- stamped with the server's clock, in the rule the merge uses (sync/protocol/src/merge.rs).
--
-- Until now only a push recorded the stamps of the field groups it wrote (`app.row_clocks`); a
-- group the server changed kept its older stamp, or none, so any laptop edit of it made offline
-- before the server's write still beat it when it arrived: a campaign the job had completed went
-- back to what a laptop saw an hour earlier. Now every update not made by a push stamps the
-- groups whose values it changed with the server's time: an older offline edit of such a group
-- loses (and is kept in its laptop's conflicts inbox), a newer one wins, as between two laptops.
--
-- A push marks its transaction (`pms.laptop_stamps`, set with the caller's claims): its rows
-- carry the laptop's own stamps, written at the end of the push. The legacy import
-- (`pms.kv_import`) stays unstamped: imported rows count as older than any edit.

-- The field group a column of a synced table merges in: `merge::FIELD_GROUPS`, or the column
-- itself. tests/tests/schema.rs checks it against `merge::group_of` for every synced column.
create function app.field_group(table_name text, column_name text) returns text
language sql immutable parallel safe
set search_path = pg_catalog
as $$
    select case
        when table_name = 'reservations' and column_name in
             ('check_in_date', 'check_out_date', 'room_type_id', 'room_id', 'property_id') then 'stay'
        when table_name = 'reservations' and column_name in
             ('guest_id', 'guest_name', 'guest_email', 'guest_phone') then 'guest'
        when table_name = 'reservations' and column_name in
             ('status', 'confirmed_at', 'checked_in_at', 'checked_out_at', 'cancelled_at', 'no_show_at',
              'cancellation_reason') then 'status'
        when table_name = 'reservations' and column_name in
             ('total_amount_cents', 'rate_per_night_cents', 'currency') then 'payment'
        when table_name = 'guests' and column_name in ('first_name', 'last_name') then 'name'
        when table_name in ('guests', 'properties') and column_name in
             ('address_line1', 'address_line2', 'city', 'region', 'postal_code', 'country_code') then 'address'
        when table_name = 'guests' and column_name in
             ('contact_by_email', 'contact_by_sms', 'contact_by_phone', 'marketing_consent') then 'contact_preferences'
        when table_name = 'guest_documents' and column_name in
             ('kind', 'number', 'issuing_country', 'expires_on') then 'document'
        else column_name
    end
$$;
alter function app.field_group(text, text) owner to service_role;
revoke all on function app.field_group(text, text) from public;

-- A stamp of the server's clock now, in the text form of `hlc::Hlc` (15 digits of wall time in
-- ms, 10 of counter, the node): the node is the nil uuid (`hlc::SERVER_NODE`), so a laptop's
-- stamp of the same millisecond wins the tie.
create function app.server_stamp() returns text
language sql volatile
set search_path = pg_catalog
as $$
    select lpad(floor(extract(epoch from clock_timestamp()) * 1000)::bigint::text, 15, '0')
           || '-0000000000-00000000-0000-0000-0000-000000000000'
$$;
alter function app.server_stamp() owner to service_role;
revoke all on function app.server_stamp() from public;

-- Stamps the field groups an update not made by a push changed. A group whose stored stamp is
-- already newer (a laptop's clock ahead of the server's, within the cap) keeps it: a row's
-- stamps never go back.
create function app.stamp_server_writes() returns trigger
language plpgsql security definer
-- (a statement of a few rows must not pay for compiling its plan)
set jit = off
set search_path = pg_catalog, public, app
as $$
declare
    server_now constant text := app.server_stamp();
    before_by_id jsonb;
begin
    if current_setting('pms.laptop_stamps', true) = 'on'
       or current_setting('pms.kv_import', true) = 'on' then
        return null;
    end if;
    -- The rows before, by id: the two transition tables have no statistics, and a join of them
    -- is planned as a nested loop, quadratic in the rows of the statement.
    select jsonb_object_agg(o.id::text, to_jsonb(o)) into before_by_id from old_rows o;
    insert into app.row_clocks as c (tenant_id, table_name, row_id, group_stamps)
    select w.tenant_id, tg_table_name, w.id, jsonb_object_agg(w.grp, server_now)
      from (select distinct r.tenant_id, r.id, app.field_group(tg_table_name, e.key) as grp
              from (select n.tenant_id, n.id, to_jsonb(n) as after, before_by_id -> n.id::text as before
                      from new_rows n
                     where n.tenant_id is not null) r
              cross join lateral jsonb_each(r.after) e
             -- (the row's last-change time moves with every update and merges in no group)
             where e.key <> 'updated_at' and e.value is distinct from r.before -> e.key) w
     group by w.tenant_id, w.id
    on conflict (tenant_id, table_name, row_id) do update
       set group_stamps = c.group_stamps || (
               select jsonb_object_agg(s.grp, greatest(s.stamp collate "C", (c.group_stamps ->> s.grp) collate "C"))
                 from jsonb_each_text(excluded.group_stamps) s (grp, stamp)),
           updated_at = now();
    return null;
end
$$;
alter function app.stamp_server_writes() owner to service_role;
revoke all on function app.stamp_server_writes() from public;

-- Every synced table that holds tenants' rows: the tables the feed records updates of.
do $$
declare
    synced text;
begin
    for synced in
        select c.relname
          from pg_trigger t
          join pg_class c on c.oid = t.tgrelid
          join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = 'public' and t.tgname = c.relname || '_record_updates'
           and exists (select 1 from pg_attribute a
                        where a.attrelid = c.oid and a.attname = 'tenant_id' and not a.attisdropped)
         order by 1
    loop
        execute format(
            'create trigger %I after update on public.%I referencing old table as old_rows new table as new_rows
                 for each statement execute function app.stamp_server_writes()',
            synced || '_stamp_server_writes', synced);
    end loop;
end
$$;
