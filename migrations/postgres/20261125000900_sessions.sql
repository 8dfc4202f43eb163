-- Sessions of the sync server: each signed-in laptop is a device with a refresh token. The server
-- keeps only a SHA-256 of the token; revoking the device (or disabling the staff member) ends
-- every refresh and every sync of that laptop.
--
-- `serve` runs as the unprivileged login role, which cannot read staff password hashes or other
-- tenants' rows. Signing in happens before a tenant is known, so it goes through the narrow
-- security-definer functions below (owned by service_role), which are the only way in.

create table public.devices (
    tenant_id uuid not null references public.tenants (id),
    id uuid not null default app.uuid_generate_v7(),
    -- the staff member (staff.user_id) signed in on this device
    user_id uuid not null,
    name text not null constraint devices_name_check check (btrim(name) <> ''),
    -- hex SHA-256 of the current refresh token; rotated at every refresh
    refresh_token_hash text not null constraint devices_refresh_token_hash_check check (refresh_token_hash ~ '^[0-9a-f]{64}$'),
    refresh_expires_at timestamptz not null,
    revoked_at timestamptz,
    last_seen_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    foreign key (tenant_id, user_id) references public.staff (tenant_id, user_id)
);
create unique index devices_id_key on public.devices (id);
create index devices_user_idx on public.devices (tenant_id, user_id);

create trigger devices_updated_at before update on public.devices
    for each row execute function public.update_updated_at_column();

-- The sign-in facts for an email: who, which tenant, which role, the password hash to verify.
create function app.login_lookup(p_email text)
returns table (tenant_id uuid, user_id uuid, role text, enabled boolean, password_hash text)
language sql stable security definer
set search_path = pg_catalog, public, app
as $$
    select s.tenant_id, s.user_id, s.role, s.enabled, s.password_hash
      from public.staff s
      join public.tenants t on t.id = s.tenant_id
     where lower(s.email) = lower(btrim(p_email))
       and t.status in ('active', 'trial')
$$;

-- Opens a session after the server verified the password: registers the device and records the
-- sign-in. Returns the device id.
create function app.open_session(p_user_id uuid, p_device_name text, p_refresh_token_hash text, p_refresh_ttl interval)
returns uuid
language plpgsql volatile security definer
set search_path = pg_catalog, public, app
as $$
declare
    member public.staff;
    device uuid;
begin
    select * into member from public.staff where user_id = p_user_id and enabled;
    if not found then
        return null;
    end if;
    update public.staff set last_login_at = now() where user_id = p_user_id;
    insert into public.devices (tenant_id, user_id, name, refresh_token_hash, refresh_expires_at, last_seen_at)
    values (member.tenant_id, p_user_id, coalesce(nullif(btrim(p_device_name), ''), 'unnamed device'),
            p_refresh_token_hash, now() + p_refresh_ttl, now())
    returning id into device;
    return device;
end
$$;

-- Trades a refresh token for a new one (rotation: the old one stops working). Returns the
-- session's identity, or nothing when the device is unknown or revoked, the token is wrong or
-- expired, or the staff member is disabled.
create function app.refresh_session(p_device_id uuid, p_refresh_token_hash text, p_new_refresh_token_hash text,
                                    p_refresh_ttl interval)
returns table (tenant_id uuid, user_id uuid, role text)
language plpgsql volatile security definer
set search_path = pg_catalog, public, app
as $$
begin
    return query
    update public.devices d
       set refresh_token_hash = p_new_refresh_token_hash,
           refresh_expires_at = now() + p_refresh_ttl,
           last_seen_at = now()
      from public.staff s
     where d.id = p_device_id
       and d.refresh_token_hash = p_refresh_token_hash
       and d.refresh_expires_at > now()
       and d.revoked_at is null
       and s.user_id = d.user_id
       and s.enabled
    returning d.tenant_id, d.user_id, s.role;
end
$$;

-- Whether the caller's device (from the token) may still act: not revoked, staff still enabled.
create function app.session_is_active(p_device_id uuid)
returns boolean
language sql stable security definer
set search_path = pg_catalog, public, app
as $$
    select exists (
        select 1
          from public.devices d
          join public.staff s on s.user_id = d.user_id
         where d.id = p_device_id
           and d.user_id = auth.uid()
           and d.tenant_id = app.current_tenant_id()
           and d.revoked_at is null
           and s.enabled)
$$;

-- Access -------------------------------------------------------------------------------------

grant all on public.devices to service_role;
-- Owners and managers see the tenant's devices and may revoke one (set revoked_at).
grant select (tenant_id, id, user_id, name, refresh_expires_at, revoked_at, last_seen_at, created_at, updated_at)
    on public.devices to authenticated;
grant update (revoked_at) on public.devices to authenticated;
select app.create_tenant_policies('public.devices',
    array['owner', 'manager'], array[]::text[], array['owner', 'manager'], array[]::text[]);

do $$
declare
    fn text;
begin
    foreach fn in array array[
        'app.login_lookup(text)',
        'app.open_session(uuid, text, text, interval)',
        'app.refresh_session(uuid, text, text, interval)',
        'app.session_is_active(uuid)'
    ] loop
        execute format('revoke all on function %s from public', fn);
        execute format('alter function %s owner to service_role', fn);
    end loop;
end
$$;
-- Sign-in and refresh happen before there is a tenant. Not granted to anon (on Supabase anyone
-- holding the anon key is anon): `pms-server migrate` grants them to the serve login role itself.
grant execute on function app.login_lookup(text), app.open_session(uuid, text, text, interval),
    app.refresh_session(uuid, text, text, interval) to service_role;
grant execute on function app.session_is_active(uuid) to authenticated, service_role;
