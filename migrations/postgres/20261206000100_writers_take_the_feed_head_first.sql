-- A push takes its tenant's feed head before it locks any row.
--
-- The first write of a transaction takes the tenant's feed head and keeps it to the commit (see
-- 20261125001000_change_feed.sql). A push used to lock the row it was about to merge first
-- (`select … for update`) and take the feed head only when it wrote: push A held row X and the
-- head and waited for row Y, which push B held while it waited for the head. Postgres killed one
-- (deadlock, answered `503`). With the head taken first, one tenant's pushes queue at one lock
-- (they already ran one at a time once they wrote) and never wait for each other in a circle.

create function app.lock_tenant_feed() returns void
language plpgsql security definer
set search_path = pg_catalog, app
as $$
declare
    -- only the caller's own tenant, from the token's claims
    feed_tenant constant uuid := app.current_tenant_id();
begin
    if feed_tenant is null then
        raise exception 'no tenant in the request''s claims' using errcode = 'insufficient_privilege';
    end if;
    -- head 0: the first write of the tenant still gets transaction number 1
    insert into app.feed_heads (tenant_id, head) values (feed_tenant, 0)
    on conflict (tenant_id) do nothing;
    perform 1 from app.feed_heads where tenant_id = feed_tenant for update;
end
$$;
alter function app.lock_tenant_feed() owner to service_role;
revoke all on function app.lock_tenant_feed() from public;
grant execute on function app.lock_tenant_feed() to authenticated;
