-- The clock of the last write of each field group of each row, so a pushed edit can be merged
-- field group by field group (sync/protocol/src/merge.rs): edits of different groups both
-- survive, and the same group goes to the newer stamp with the loser kept as a conflict.
-- Rows without an entry (imported, seeded, written by the server) count as older than any edit.

create table app.row_clocks (
    tenant_id uuid not null references public.tenants (id),
    table_name text not null,
    row_id uuid not null,
    -- {"<group>": "<hlc text>", …}
    group_stamps jsonb not null default '{}' constraint row_clocks_group_stamps_check
        check (jsonb_typeof(group_stamps) = 'object'),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, table_name, row_id)
);

grant all on app.row_clocks to service_role;
grant select, insert, update on app.row_clocks to authenticated;
alter table app.row_clocks enable row level security;
alter table app.row_clocks force row level security;
create policy tenant_rows on app.row_clocks for all to authenticated
    using (tenant_id = (select app.current_tenant_id()) and (select app.current_staff_role()) is not null)
    with check (tenant_id = (select app.current_tenant_id()) and (select app.current_staff_role()) is not null);
