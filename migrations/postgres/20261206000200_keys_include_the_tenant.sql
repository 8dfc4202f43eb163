-- Every key of a tenant's table includes `tenant_id`, so the schema can be distributed by tenant
-- (Citus: a distributed table's primary keys, unique indexes and foreign keys must include its
-- distribution column). What must be unique across tenants moves to a global table, which Citus
-- keeps as a reference table (a copy on every node). See docs/DISTRIBUTION.md; the schema test
-- `every_key_of_a_tenant_table_includes_the_tenant` keeps it so.

-- Login identities --------------------------------------------------------------------------------
-- An email alone finds its tenant at sign-in, and a token's subject (user id) names one person on
-- the whole platform: both unique across tenants. They were unique indexes of `staff`; they are
-- now the keys of a global table that a trigger keeps in step with `staff`.

create table app.login_identities (
    user_id uuid primary key,
    email text not null,
    tenant_id uuid not null references public.tenants (id)
);
create unique index login_identities_email_key on app.login_identities (lower(email));
comment on table app.login_identities is
    'Global (a reference table when distributed): one row per staff login, kept by staff''s trigger.';

insert into app.login_identities (user_id, email, tenant_id)
select user_id, email, tenant_id from public.staff;

create function app.keep_login_identity() returns trigger
language plpgsql security definer
set search_path = pg_catalog, public, app
as $$
begin
    if tg_op in ('DELETE', 'UPDATE') then
        delete from app.login_identities where user_id = old.user_id;
    end if;
    if tg_op in ('INSERT', 'UPDATE') then
        insert into app.login_identities (user_id, email, tenant_id)
        values (new.user_id, new.email, new.tenant_id);
    end if;
    return null;
end
$$;
alter function app.keep_login_identity() owner to service_role;
revoke all on function app.keep_login_identity() from public;

create trigger staff_login_identity after insert or delete on public.staff
    for each row execute function app.keep_login_identity();
create trigger staff_login_identity_changed after update of email, user_id, tenant_id on public.staff
    for each row when (old.email is distinct from new.email or old.user_id is distinct from new.user_id
                       or old.tenant_id is distinct from new.tenant_id)
    execute function app.keep_login_identity();

alter table app.login_identities enable row level security;
alter table app.login_identities force row level security;
grant all on app.login_identities to service_role;

-- staff keeps the same lookups, without the cross-tenant uniqueness
drop index public.staff_email_key;
drop index public.staff_user_id_key;
create index staff_email_idx on public.staff (lower(email));
create index staff_user_id_idx on public.staff (user_id);

-- Devices and what a push keeps per device -------------------------------------------------------
-- A device id is a UUIDv7 the server makes; the tenant is in every token beside it.

alter table app.device_progress drop constraint device_progress_device_id_fkey;
alter table app.device_progress drop constraint device_progress_pkey;
alter table app.device_progress add primary key (device_id, tenant_id);
alter table app.device_progress add constraint device_progress_device_fkey
    foreign key (tenant_id, device_id) references public.devices (tenant_id, id) on delete cascade;

alter table app.change_results drop constraint change_results_device_id_fkey;
alter table app.change_results drop constraint change_results_pkey;
alter table app.change_results add primary key (device_id, device_seq, tenant_id);
alter table app.change_results add constraint change_results_device_fkey
    foreign key (tenant_id, device_id) references public.devices (tenant_id, id) on delete cascade;

drop index public.devices_id_key;
create index devices_id_idx on public.devices (id);

drop index public.guest_invoice_series_device_key;
create unique index guest_invoice_series_device_key on public.guest_invoice_series (tenant_id, device_id)
    where device_id is not null;

-- Sign-in finds the tenant through the global identity, then reads that tenant's staff row (a
-- query routed to one tenant's shard when distributed).
create or replace function app.login_lookup(p_email text)
returns table (tenant_id uuid, user_id uuid, role text, enabled boolean, password_hash text)
language sql stable security definer
set search_path = pg_catalog, public, app
as $$
    select s.tenant_id, s.user_id, s.role, s.enabled, s.password_hash
      from app.login_identities l
      join public.staff s on s.tenant_id = l.tenant_id and s.user_id = l.user_id
      join public.tenants t on t.id = s.tenant_id
     where lower(l.email) = lower(btrim(p_email))
       and t.status in ('active', 'trial')
$$;
