-- Points earned for a stay follow the stay's accepted check-out. The desk writes a stay's
-- earning (and a first-stay bonus) with a reference to the stay; a laptop's entry is taken only
-- when the server's copy of that stay is checked out, so a check-out the server refused (an
-- invalid transition, say after another desk cancelled the stay) earns nothing: the entry is
-- refused with its reason and waits in the laptop's conflicts inbox. Imports, seeds and jobs
-- (not `authenticated`) are not limited here.
create function app.loyalty_earning_needs_checked_out_stay() returns trigger
language plpgsql
set search_path = pg_catalog, public, app
as $$
begin
    if current_user = 'authenticated'
       and new.type in ('earn', 'bonus')
       and new.reference_type = 'reservation'
       and not exists (
           select 1 from public.reservations r
            where r.tenant_id = new.tenant_id
              and r.id::text = new.reference_id
              and r.status = 'checked_out') then
        raise exception 'points for a stay are earned once its check-out is accepted'
            using errcode = '23514', constraint = 'loyalty_transactions_stay_checked_out';
    end if;
    return new;
end
$$;
create trigger loyalty_earning_needs_checked_out_stay before insert on public.loyalty_transactions
    for each row execute function app.loyalty_earning_needs_checked_out_stay();
revoke all on function app.loyalty_earning_needs_checked_out_stay() from public;
