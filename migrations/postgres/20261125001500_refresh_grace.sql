-- A refresh whose answer is lost (the link drops, the laptop is killed before it saves the new
-- token) must not lock the laptop out. The refresh token the device last proved it holds stays
-- valid until it proves it holds a newer one: presenting the current token makes it the
-- "previous" one and issues a new current; presenting the previous one issues a new current again
-- (the last answer was lost). Once the device uses a newer token, the older ones are spent.

alter table public.devices
    add column previous_refresh_token_hash text;
comment on column public.devices.previous_refresh_token_hash is
    'SHA-256 of the refresh token the device last used; valid until the device uses a newer one.';

create or replace function app.refresh_session(p_device_id uuid, p_refresh_token_hash text, p_new_refresh_token_hash text,
                                               p_refresh_ttl interval)
returns table (tenant_id uuid, user_id uuid, role text)
language plpgsql volatile security definer
set search_path = pg_catalog, public, app
as $$
begin
    return query
    update public.devices d
       set previous_refresh_token_hash = case when d.refresh_token_hash = p_refresh_token_hash
                                              then d.refresh_token_hash
                                              else d.previous_refresh_token_hash end,
           refresh_token_hash = p_new_refresh_token_hash,
           refresh_expires_at = now() + p_refresh_ttl,
           last_seen_at = now()
      from public.staff s
     where d.id = p_device_id
       and p_refresh_token_hash in (d.refresh_token_hash, d.previous_refresh_token_hash)
       and d.refresh_expires_at > now()
       and d.revoked_at is null
       and s.user_id = d.user_id
       and s.enabled
    returning d.tenant_id, d.user_id, s.role;
end
$$;
