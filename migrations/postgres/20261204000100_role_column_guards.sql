-- What each staff role may change, narrowed to what the role is for. Column grants are per
-- database role, and every staff member acts as `authenticated`, so the finer rules that depend
-- on the staff role (from the caller's claims) are BEFORE UPDATE triggers. They apply to
-- `authenticated` only: admin commands and jobs (the owner, `service_role`) are not limited here.
-- A refusal is SQLSTATE 42501 (insufficient privilege), which the sync server answers
-- `forbidden` for that change alone.

-- Rooms: front desk and housekeeping set the cleaning status and nothing else (not the number,
-- the property, the type, or `deleted_at`). Owners and managers manage rooms.
create function app.rooms_limit_staff_changes() returns trigger
language plpgsql
set search_path = pg_catalog, public, app
as $$
begin
    if current_user = 'authenticated'
       and app.current_staff_role() is distinct from 'owner'
       and app.current_staff_role() is distinct from 'manager'
       and (to_jsonb(new) - 'housekeeping_status' - 'updated_at')
           is distinct from (to_jsonb(old) - 'housekeeping_status' - 'updated_at') then
        raise exception 'only the housekeeping status of a room may be changed by this role'
            using errcode = '42501';
    end if;
    return new;
end
$$;
create trigger rooms_limit_staff_changes before update on public.rooms
    for each row execute function app.rooms_limit_staff_changes();

-- Staff: an owner may disable a colleague's account, but not enable one: an account the
-- platform disabled (`pms-server staff disable`) stays disabled until the platform enables it
-- again (`pms-server staff enable`).
create function app.staff_limit_enabling() returns trigger
language plpgsql
set search_path = pg_catalog, public, app
as $$
begin
    if current_user = 'authenticated' and new.enabled and not old.enabled then
        raise exception 'a disabled account is enabled again by the platform, not from a laptop'
            using errcode = '42501';
    end if;
    return new;
end
$$;
create trigger staff_limit_enabling before update on public.staff
    for each row execute function app.staff_limit_enabling();

-- Devices: owners and managers may revoke a laptop (set `revoked_at`), never take a revocation
-- back or move its time.
create function app.devices_revocation_is_final() returns trigger
language plpgsql
set search_path = pg_catalog, public, app
as $$
begin
    if current_user = 'authenticated' and old.revoked_at is not null
       and new.revoked_at is distinct from old.revoked_at then
        raise exception 'a revoked device stays revoked'
            using errcode = '42501';
    end if;
    return new;
end
$$;
create trigger devices_revocation_is_final before update on public.devices
    for each row execute function app.devices_revocation_is_final();

revoke all on function app.rooms_limit_staff_changes(), app.staff_limit_enabling(),
    app.devices_revocation_is_final() from public;
