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

-- Per-tenant gapless sequences (confirmation and membership numbers). The first number a
-- transaction takes for a tenant locks that tenant's sequence (a transaction-scoped advisory
-- lock, held to commit) and reads the tenant's highest number; later numbers in the same
-- transaction count on from a transaction-local setting. So concurrent writers of one tenant
-- take turns, no two see the same highest number, a rolled-back insert (or savepoint) undoes its
-- numbers and its lock together and leaves no gap, and a bulk load of many rows in one
-- transaction stays cheap (a counter row updated per insert grows a chain of row versions that
-- every later update has to walk).
create function app.next_tenant_number(p_tenant_id uuid, p_table regclass, p_column text)
returns bigint
language plpgsql volatile
as $$
declare
    setting_name constant text := format('pms.seq_%s_%s', replace(p_tenant_id::text, '-', ''), p_column);
    cached text := current_setting(setting_name, true);
    highest bigint;
begin
    if cached is null or cached = '' then
        perform pg_advisory_xact_lock(hashtextextended(p_column || ':' || p_tenant_id::text, 0));
        execute format('select %I from %s where tenant_id = $1 order by %I desc limit 1', p_column, p_table, p_column)
            into highest using p_tenant_id;
        highest := coalesce(highest, 0);
    else
        highest := cached::bigint;
    end if;
    perform set_config(setting_name, (highest + 1)::text, true);
    return highest + 1;
end
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
-- Functions: Postgres grants EXECUTE to PUBLIC by default, and a per-schema default cannot take
-- a global one back, so this is global (for the migrating role): every function created from
-- here on is executable only by those it is granted to.
alter default privileges revoke execute on functions from public;
revoke create on schema public from public;
revoke all on schema app from public;
revoke all on all tables in schema app from public, anon, authenticated;
revoke all on function app.next_tenant_number(uuid, regclass, text) from public, anon, authenticated;
revoke all on function app.grant_columns(regclass, text, text, text[]) from public, anon, authenticated;
revoke all on function app.create_tenant_policies(regclass, text[], text[], text[], text[]) from public, anon, authenticated;

grant usage on schema public, app, auth to anon, authenticated, service_role;
grant execute on function auth.jwt(), auth.uid(), app.current_tenant_id(), app.uuid_generate_v7()
    to anon, authenticated, service_role;
grant execute on function app.next_tenant_number(uuid, regclass, text) to service_role;
