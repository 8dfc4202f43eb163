-- Refresh-token reuse detection (OAuth 2.0 Security BCP, "refresh token rotation") and the
-- tenant's status at every refresh and request.
--
-- Rotation keeps the token a device last used (`previous_refresh_token_hash`) so that a refresh
-- whose answer was lost does not lock the laptop out. That grace is now short: the previous token
-- is taken again only within `p_grace` of the rotation that replaced it. Presented later, it
-- means two parties hold the device's tokens (a copy was stolen and one of them rotated): the
-- device is revoked at once, so neither the thief's token nor the laptop's works any more, and
-- the staff member signs in again with the password (which the thief does not have).
--
-- A tenant that is suspended, cancelled or not yet active may not refresh nor make any request:
-- the answer names the reason, and laptops keep their outbox until the tenant is active again.

alter table public.devices
    add column refresh_rotated_at timestamptz,
    add column revoked_reason text;
comment on column public.devices.refresh_rotated_at is
    'When the current refresh token replaced the previous one; the previous one is accepted again only shortly after.';
comment on column public.devices.revoked_reason is
    'Why the device was revoked, when the server did it (refresh_token_reuse); null for a revocation by staff or admin.';

-- Whether a tenant's staff may use the service.
create function app.tenant_is_active(p_tenant_id uuid) returns boolean
language sql stable security definer
set search_path = pg_catalog, public, app
as $$
    select exists (select 1 from public.tenants t where t.id = p_tenant_id and t.status in ('active', 'trial'))
$$;

-- Trades a refresh token for a new one. `outcome`:
--   'rotated'        the current token, or the previous one within the grace (a lost answer):
--                    a new current token is recorded and the identity returned;
--   'reused'         the previous token after the grace: the device is revoked (reason recorded);
--   'tenant_inactive' the tenant is suspended, cancelled or pending: nothing changes;
--   'invalid'        unknown device or token, expired, revoked, or account disabled.
create function app.rotate_refresh_token(p_device_id uuid, p_refresh_token_hash text, p_new_refresh_token_hash text,
                                         p_refresh_ttl interval, p_grace interval)
returns table (outcome text, tenant_id uuid, user_id uuid, role text)
language plpgsql volatile security definer
set search_path = pg_catalog, public, app
as $$
declare
    device public.devices;
    member public.staff;
begin
    select * into device from public.devices d where d.id = p_device_id for update;
    if not found or device.revoked_at is not null or device.refresh_expires_at <= now() then
        return query select 'invalid'::text, null::uuid, null::uuid, null::text;
        return;
    end if;
    select * into member from public.staff s where s.user_id = device.user_id;
    if not found or not member.enabled then
        return query select 'invalid'::text, null::uuid, null::uuid, null::text;
        return;
    end if;
    if p_refresh_token_hash = device.previous_refresh_token_hash
       and p_refresh_token_hash is distinct from device.refresh_token_hash
       and (device.refresh_rotated_at is null or device.refresh_rotated_at < now() - p_grace) then
        update public.devices
           set revoked_at = now(), revoked_reason = 'refresh_token_reuse'
         where id = p_device_id;
        return query select 'reused'::text, device.tenant_id, device.user_id, member.role;
        return;
    end if;
    if p_refresh_token_hash is distinct from device.refresh_token_hash
       and p_refresh_token_hash is distinct from device.previous_refresh_token_hash then
        return query select 'invalid'::text, null::uuid, null::uuid, null::text;
        return;
    end if;
    if not app.tenant_is_active(device.tenant_id) then
        return query select 'tenant_inactive'::text, device.tenant_id, device.user_id, member.role;
        return;
    end if;
    if p_refresh_token_hash = device.refresh_token_hash then
        -- The normal case: the current token becomes the previous one.
        update public.devices
           set previous_refresh_token_hash = refresh_token_hash,
               refresh_token_hash = p_new_refresh_token_hash,
               refresh_rotated_at = now(),
               refresh_expires_at = now() + p_refresh_ttl,
               last_seen_at = now()
         where id = p_device_id;
    else
        -- The previous token within the grace: the last answer was lost; the previous token
        -- stays previous, and its grace is not extended.
        update public.devices
           set refresh_token_hash = p_new_refresh_token_hash,
               refresh_expires_at = now() + p_refresh_ttl,
               last_seen_at = now()
         where id = p_device_id;
    end if;
    return query select 'rotated'::text, device.tenant_id, device.user_id, member.role;
end
$$;

-- Whether the caller's device (from the token) may act: 'active'; 'revoked' (device revoked or
-- account disabled); 'tenant_inactive' (the tenant is suspended, cancelled or pending).
create function app.session_status(p_device_id uuid)
returns text
language sql stable security definer
set search_path = pg_catalog, public, app
as $$
    select case
             when not exists (
                 select 1
                   from public.devices d
                   join public.staff s on s.user_id = d.user_id
                  where d.id = p_device_id
                    and d.user_id = auth.uid()
                    and d.tenant_id = app.current_tenant_id()
                    and d.revoked_at is null
                    and s.enabled) then 'revoked'
             when not app.tenant_is_active(app.current_tenant_id()) then 'tenant_inactive'
             else 'active'
           end
$$;

-- The old entry points go: every refresh and request now also checks the tenant.
drop function app.refresh_session(uuid, text, text, interval);
drop function app.session_is_active(uuid);

do $$
declare
    fn text;
begin
    foreach fn in array array[
        'app.tenant_is_active(uuid)',
        'app.rotate_refresh_token(uuid, text, text, interval, interval)',
        'app.session_status(uuid)'
    ] loop
        execute format('revoke all on function %s from public', fn);
        execute format('alter function %s owner to service_role', fn);
    end loop;
end
$$;
grant execute on function app.rotate_refresh_token(uuid, text, text, interval, interval) to service_role;
grant execute on function app.session_status(uuid) to authenticated, service_role;
grant execute on function app.tenant_is_active(uuid) to service_role;
