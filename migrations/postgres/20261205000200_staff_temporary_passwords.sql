-- An owner brings a colleague in from the desk: the staff row is written like any other (the
-- owner's push, under RLS), and the server gives the colleague a temporary password, shown once
-- to the owner and never stored in clear, which works for one sign-in within its time and only
-- to choose a password of their own. A password never travels in a URL.

alter table public.staff
    add column password_temporary boolean not null default false,
    add column password_expires_at timestamptz,
    add constraint staff_temporary_password_expires_check
        check (not password_temporary or password_expires_at is not null);

-- Neither column is the laptops' business (they are not synced and not granted).
revoke select (password_temporary, password_expires_at) on public.staff from authenticated;

-- The caller (an owner of the staff member's tenant: RLS and the caller's role decide) gives
-- `p_user_id` a temporary password (its hash) valid for `p_ttl`. False when the caller may not.
create function app.issue_temporary_password(p_user_id uuid, p_hash text, p_ttl interval)
returns boolean
language plpgsql volatile security definer
set search_path = pg_catalog, public, app
as $$
begin
    if app.current_staff_role() is distinct from 'owner' then
        return false;
    end if;
    update public.staff
       set password_hash = p_hash, password_temporary = true, password_expires_at = now() + p_ttl
     where user_id = p_user_id and tenant_id = app.current_tenant_id() and enabled;
    return found;
end
$$;

-- Whether a staff member's password is temporary, and until when (the server checks it after
-- verifying the password, before it opens a session).
create function app.password_state(p_user_id uuid)
returns table (temporary boolean, expires_at timestamptz)
language sql stable security definer
set search_path = pg_catalog, public, app
as $$
    select s.password_temporary, s.password_expires_at from public.staff s where s.user_id = p_user_id
$$;

-- The staff member's own password, chosen after signing in with a temporary one (the server
-- verified the temporary password first).
create function app.set_own_password(p_user_id uuid, p_hash text)
returns void
language sql volatile security definer
set search_path = pg_catalog, public, app
as $$
    update public.staff
       set password_hash = p_hash, password_temporary = false, password_expires_at = null
     where user_id = p_user_id
$$;

do $$
declare
    fn text;
begin
    foreach fn in array array[
        'app.issue_temporary_password(uuid, text, interval)',
        'app.password_state(uuid)',
        'app.set_own_password(uuid, text)'
    ] loop
        execute format('revoke all on function %s from public', fn);
        execute format('alter function %s owner to service_role', fn);
    end loop;
end
$$;
-- The owner's request runs as `authenticated`; the sign-in paths run as the server's login role.
grant execute on function app.issue_temporary_password(uuid, text, interval) to authenticated;
