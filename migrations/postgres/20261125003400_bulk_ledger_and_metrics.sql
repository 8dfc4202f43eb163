-- Bulk writers (the legacy import) without per-row derived work:
--
-- 1. Ledger entries with supplied balances. A writer that computes a statement's running
--    balances itself (in one query, from the members' balances) sets
--    `pms.ledger_balances_supplied` for its transaction. The row trigger then trusts nothing and
--    does nothing; a statement trigger checks, under the members' row locks, that each member's
--    entries continue its balance in insertion order (the rows' checks already hold
--    after = before + points and no balance below zero), and moves each member once: balance,
--    lifetime points and tier, exactly as entry after entry would have. A chain that does not
--    continue is refused (check_violation), so the setting cannot make a balance up: at worst a
--    writer's statement is refused and it tries again without it.
--
-- 2. Guest metrics are not refreshed per statement inside the import's transactions
--    (`pms.kv_import`): its bookings go in a batch at a time, and each refresh rewrote the
--    batch's guests with every index they have. The import refreshes its tenants' guests once,
--    set-based, when its bookings are in (and again on a re-run, which is how a run killed in
--    between ends like a clean one).

create or replace function app.loyalty_transactions_apply() returns trigger
language plpgsql security definer
set search_path = pg_catalog, public, app
as $$
declare
    current_balance bigint;
    lifetime bigint;
    program_tiers jsonb;
    reached_name text;
    reached_points bigint;
    upcoming_name text;
    upcoming_points bigint;
begin
    if current_setting('pms.ledger_balances_supplied', true) = 'on' then
        -- checked and applied per statement (loyalty_transactions_apply_supplied)
        return new;
    end if;
    select m.points_balance, m.lifetime_points into current_balance, lifetime
      from public.loyalty_members m
     where m.tenant_id = new.tenant_id and m.id = new.member_id
       for update;
    -- A missing member is reported by the foreign key (checked after this trigger); until then
    -- the entry is computed against a zero balance.
    new.balance_before := coalesce(current_balance, 0);
    new.balance_after := new.balance_before + new.points;
    if current_balance is null or new.balance_after < 0 then
        return new;
    end if;
    if new.points <= 0 then
        -- lifetime points do not move: the tier stays where the last entry put it
        update public.loyalty_members m
           set points_balance = new.balance_after
         where m.tenant_id = new.tenant_id and m.id = new.member_id;
        return new;
    end if;
    lifetime := lifetime + new.points;
    select p.tiers into program_tiers from public.loyalty_programs p
     where p.tenant_id = new.tenant_id and p.id = new.program_id;
    -- the highest tier reached by lifetime points, and the next one
    select t.value ->> 'name', (t.value ->> 'required_points')::bigint into reached_name, reached_points
      from jsonb_array_elements(coalesce(program_tiers, '[]')) t
     where (t.value ->> 'required_points')::bigint <= lifetime
     order by (t.value ->> 'required_points')::bigint desc
     limit 1;
    select t.value ->> 'name', (t.value ->> 'required_points')::bigint into upcoming_name, upcoming_points
      from jsonb_array_elements(coalesce(program_tiers, '[]')) t
     where (t.value ->> 'required_points')::bigint > lifetime
     order by (t.value ->> 'required_points')::bigint
     limit 1;
    update public.loyalty_members m
       set points_balance = new.balance_after,
           lifetime_points = lifetime,
           current_tier = coalesce(reached_name, m.current_tier),
           tier_achieved_at = case when reached_name is distinct from m.current_tier and reached_name is not null
                                   then coalesce(new.created_at, now()) else m.tier_achieved_at end,
           next_tier = upcoming_name,
           points_to_next_tier = upcoming_points - lifetime
     where m.tenant_id = new.tenant_id and m.id = new.member_id;
    return new;
end
$$;

-- The statement's entries are read in insertion order (a transition table is scanned in the
-- order its rows were written).
create function app.loyalty_transactions_apply_supplied() returns trigger
language plpgsql security definer
set search_path = pg_catalog, public, app
as $$
declare
    broken record;
begin
    if current_setting('pms.ledger_balances_supplied', true) is distinct from 'on' then
        return null;
    end if;
    perform 1 from public.loyalty_members m
     where (m.tenant_id, m.id) in (select e.tenant_id, e.member_id from new_entries e)
     order by m.tenant_id, m.id
       for update;
    with entries as (
        select e.*, row_number() over () as ord from new_entries e
    ), chained as (
        select e.id, e.balance_before,
               coalesce(lag(e.balance_after) over (partition by e.tenant_id, e.member_id order by e.ord),
                        m.points_balance, 0) as expected
          from entries e
          left join public.loyalty_members m on m.tenant_id = e.tenant_id and m.id = e.member_id
    )
    select c.id, c.balance_before, c.expected into broken
      from chained c where c.balance_before <> c.expected limit 1;
    if found then
        raise exception 'ledger entry % starts at a balance of % where its member has %',
                        broken.id, broken.balance_before, broken.expected
              using errcode = 'check_violation';
    end if;
    with entries as (
        select e.*, row_number() over () as ord from new_entries e
    ), running as (
        select e.*,
               m.lifetime_points + sum(greatest(e.points, 0)) over (partition by e.tenant_id, e.member_id order by e.ord) as lifetime
          from entries e
          join public.loyalty_members m on m.tenant_id = e.tenant_id and m.id = e.member_id
    ), moved as (
        select r.tenant_id, r.member_id,
               (array_agg(r.balance_after order by r.ord desc))[1] as balance,
               max(r.lifetime) as lifetime,
               bool_or(r.points > 0) as earned,
               -- (entry time, lifetime after it) of each earning, to date the tier reached
               array_agg(coalesce(r.created_at, now()) order by r.ord) filter (where r.points > 0) as earned_at,
               array_agg(r.lifetime order by r.ord) filter (where r.points > 0) as earned_lifetime,
               min(r.program_id::text)::uuid as program_id
          from running r
         group by r.tenant_id, r.member_id
    ), graded as (
        select mv.*, reached.name as reached_name, reached.required as reached_points,
               upcoming.name as upcoming_name, upcoming.required as upcoming_points
          from moved mv
          left join public.loyalty_programs p on p.tenant_id = mv.tenant_id and p.id = mv.program_id
          left join lateral (
                select t.value ->> 'name' as name, (t.value ->> 'required_points')::bigint as required
                  from jsonb_array_elements(coalesce(p.tiers, '[]')) t
                 where (t.value ->> 'required_points')::bigint <= mv.lifetime
                 order by (t.value ->> 'required_points')::bigint desc
                 limit 1) reached on mv.earned
          left join lateral (
                select t.value ->> 'name' as name, (t.value ->> 'required_points')::bigint as required
                  from jsonb_array_elements(coalesce(p.tiers, '[]')) t
                 where (t.value ->> 'required_points')::bigint > mv.lifetime
                 order by (t.value ->> 'required_points')::bigint
                 limit 1) upcoming on mv.earned
    )
    update public.loyalty_members m
       set points_balance = g.balance,
           lifetime_points = case when g.earned then g.lifetime else m.lifetime_points end,
           current_tier = case when g.earned then coalesce(g.reached_name, m.current_tier) else m.current_tier end,
           -- the earning that first reached the tier (as entry after entry would have dated it)
           tier_achieved_at = case
               when g.earned and g.reached_name is distinct from m.current_tier and g.reached_name is not null
               then (select a.at from unnest(g.earned_at, g.earned_lifetime) as a (at, lifetime)
                      where a.lifetime >= g.reached_points limit 1)
               else m.tier_achieved_at end,
           next_tier = case when g.earned then g.upcoming_name else m.next_tier end,
           points_to_next_tier = case when g.earned then g.upcoming_points - g.lifetime else m.points_to_next_tier end
      from graded g
     where m.tenant_id = g.tenant_id and m.id = g.member_id;
    return null;
end
$$;
alter function app.loyalty_transactions_apply_supplied() owner to service_role;
revoke all on function app.loyalty_transactions_apply_supplied() from public;

create trigger loyalty_transactions_apply_supplied after insert on public.loyalty_transactions
    referencing new table as new_entries
    for each statement execute function app.loyalty_transactions_apply_supplied();

create or replace function app.guest_metrics_after_change() returns trigger
language plpgsql security definer
set search_path = pg_catalog, public, app
as $$
declare
    changed jsonb := '[]';  -- [[tenant, guest], …]
    affected record;
begin
    if current_setting('pms.kv_import', true) = 'on' then
        -- the import refreshes its guests once its bookings are in
        return null;
    end if;
    if tg_op in ('INSERT', 'UPDATE') then
        select changed || coalesce(jsonb_agg(jsonb_build_array(tenant_id, guest_id)), '[]') into changed
          from new_rows where guest_id is not null;
    end if;
    if tg_op in ('UPDATE', 'DELETE') then
        select changed || coalesce(jsonb_agg(jsonb_build_array(tenant_id, guest_id)), '[]') into changed
          from old_rows where guest_id is not null;
    end if;
    for affected in
        select (pair ->> 0)::uuid as tenant_id, array_agg(distinct (pair ->> 1)::uuid) as ids
          from jsonb_array_elements(changed) pair
         group by 1
    loop
        perform app.refresh_guest_metrics(affected.tenant_id, affected.ids);
    end loop;
    return null;
end
$$;
