-- Foundation: extensions, Supabase-compatible roles and auth functions, and the helpers every
-- later migration uses (UUIDv7 ids, the updated_at trigger, the tenant and staff-role functions
-- that every RLS policy calls, and the grant/policy helpers).
--
-- The same migrations run on plain Postgres and on Supabase, so everything Supabase already has
-- (roles, the auth schema and its functions) is created only where absent.

create extension if not exists pg_trgm;
create extension if not exists btree_gist;
create extension if not exists btree_gin;

-- Roles are cluster-wide while migrations run per database, so two databases migrating at once
-- (parallel tests) can race to create the same role: the loser's unique violation is harmless.
do $$
declare
    wanted text;
begin
    foreach wanted in array array['anon', 'authenticated', 'service_role'] loop
        if not exists (select 1 from pg_roles where rolname = wanted) then
            begin
                execute format('create role %I nologin noinherit', wanted);
            exception when duplicate_object or unique_violation then
                null;
            end;
        end if;
    end loop;
    -- service_role is the platform's own identity (jobs, admin tools): it bypasses RLS.
    if not (select rolbypassrls from pg_roles where rolname = 'service_role') then
        alter role service_role bypassrls;
    end if;
end
$$;

create schema if not exists auth;
create schema if not exists app;
comment on schema app is 'PMS internals: tenant/role functions used by RLS policies, triggers, counters.';

-- Supabase's auth.jwt() and auth.uid(), defined only where Supabase has not already done so.
do $$
begin
    if not exists (select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                   where n.nspname = 'auth' and p.proname = 'jwt') then
        create function auth.jwt() returns jsonb
        language sql stable
        as $f$
            select coalesce(
                nullif(current_setting('request.jwt.claim', true), ''),
                nullif(current_setting('request.jwt.claims', true), '')
            )::jsonb
        $f$;
    end if;
    if not exists (select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                   where n.nspname = 'auth' and p.proname = 'uid') then
        create function auth.uid() returns uuid
        language sql stable
        as $f$
            select coalesce(
                nullif(current_setting('request.jwt.claim.sub', true), ''),
                nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub'
            )::uuid
        $f$;
    end if;
end
$$;

-- The tenant of the current request. It comes from app_metadata, the part of the token a user
-- cannot edit; every policy calls it as `(select app.current_tenant_id())` so it runs once per
-- statement instead of once per row.
create function app.current_tenant_id() returns uuid
language sql stable
as $$
    select nullif(auth.jwt() -> 'app_metadata' ->> 'tenant_id', '')::uuid
$$;

-- UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits. Laptops generate their own
-- ids offline; this default serves rows born on the server.
create function app.uuid_generate_v7() returns uuid
language sql volatile
as $$
    select encode(
        set_bit(
            set_bit(
                overlay(uuid_send(gen_random_uuid())
                        placing substring(int8send((extract(epoch from clock_timestamp()) * 1000)::bigint) from 3)
                        from 1 for 6),
                52, 1),
            53, 1),
        'hex')::uuid
$$;

-- The one trigger function that keeps every table's updated_at.
create function public.update_updated_at_column() returns trigger
language plpgsql
as $$
begin
    new.updated_at := now();
    return new;
end
$$;

-- Per-tenant gapless counters (confirmation and membership numbers). A counter row is locked by
-- the transaction that bumps it and released at commit; a rolled-back transaction rolls its bump
-- back too, so numbers are gapless and unique under any concurrency.
create table app.tenant_counters (
    tenant_id uuid not null,
    counter text not null constraint tenant_counters_counter_check
        check (counter in ('confirmation_number', 'membership_number')),
    last_value bigint not null constraint tenant_counters_last_value_check check (last_value >= 0),
    primary key (tenant_id, counter)
);
comment on table app.tenant_counters is
    'Last number handed out per tenant and counter; only the security-definer next_counter_value() writes it.';

create function app.next_counter_value(p_tenant_id uuid, p_counter text) returns bigint
language sql volatile security definer
set search_path = pg_catalog, app
as $$
    insert into app.tenant_counters as c (tenant_id, counter, last_value)
    values (p_tenant_id, p_counter, 1)
    on conflict (tenant_id, counter) do update set last_value = c.last_value + 1
    returning last_value
$$;

-- Grant a privilege on every column of a table except the listed ones. Server-owned values
-- (numbers, balances, metrics) are simply not writable by `authenticated`.
create function app.grant_columns(
    p_table regclass, p_privilege text, p_role text, p_except text[] default '{}'
) returns void
language plpgsql
as $$
declare
    cols text;
begin
    select string_agg(quote_ident(a.attname), ', ' order by a.attnum)
      into cols
      from pg_attribute a
     where a.attrelid = p_table
       and a.attnum > 0
       and not a.attisdropped
       and a.attgenerated = ''
       and a.attname <> all (p_except);
    execute format('grant %s (%s) on %s to %I', p_privilege, cols, p_table, p_role);
end
$$;

-- The standard tenant policies: one per command, each limited to the caller's tenant and to the
-- staff roles allowed that command. An empty role list means no policy, so the command is denied.
create function app.create_tenant_policies(
    p_table regclass,
    p_readers text[],
    p_inserters text[],
    p_updaters text[],
    p_deleters text[]
) returns void
language plpgsql
as $$
declare
    tenant_match constant text := 'tenant_id = (select app.current_tenant_id())';
    role_match constant text := '(select app.current_staff_role()) = any (%L::text[])';
begin
    execute format('alter table %s enable row level security', p_table);
    execute format('alter table %s force row level security', p_table);
    if cardinality(p_readers) > 0 then
        execute format('create policy tenant_select on %s for select to authenticated using (%s and %s)',
                       p_table, tenant_match, format(role_match, p_readers));
    end if;
    if cardinality(p_inserters) > 0 then
        execute format('create policy tenant_insert on %s for insert to authenticated with check (%s and %s)',
                       p_table, tenant_match, format(role_match, p_inserters));
    end if;
    if cardinality(p_updaters) > 0 then
        execute format('create policy tenant_update on %s for update to authenticated using (%s and %s) with check (%s and %s)',
                       p_table, tenant_match, format(role_match, p_updaters),
                       tenant_match, format(role_match, p_updaters));
    end if;
    if cardinality(p_deleters) > 0 then
        execute format('create policy tenant_delete on %s for delete to authenticated using (%s and %s)',
                       p_table, tenant_match, format(role_match, p_deleters));
    end if;
end
$$;

-- Default privileges: nothing is granted to the API roles unless a migration says so.
alter default privileges in schema public revoke all on tables from public, anon, authenticated;
alter default privileges in schema public revoke all on functions from public, anon, authenticated;
alter default privileges in schema app revoke all on functions from public, anon, authenticated;
revoke create on schema public from public;
revoke all on schema app from public;
revoke all on all tables in schema app from public, anon, authenticated;
revoke all on function app.next_counter_value(uuid, text) from public, anon, authenticated;
-- Security-definer functions belong to service_role (BYPASSRLS), so they work the same whether
-- the migrating owner is a superuser (plain Postgres) or not (managed Postgres).
alter function app.next_counter_value(uuid, text) owner to service_role;
revoke all on function app.grant_columns(regclass, text, text, text[]) from public, anon, authenticated;
revoke all on function app.create_tenant_policies(regclass, text[], text[], text[], text[]) from public, anon, authenticated;

grant usage on schema public, app, auth to anon, authenticated, service_role;
grant execute on function auth.jwt(), auth.uid(), app.current_tenant_id(), app.uuid_generate_v7()
    to anon, authenticated, service_role;
grant all on all tables in schema app to service_role;
alter table app.tenant_counters enable row level security;
alter table app.tenant_counters force row level security;
