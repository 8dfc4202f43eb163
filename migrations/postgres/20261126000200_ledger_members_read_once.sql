-- The ledger's statement trigger (supplied balances) reads each moved member's lifetime points
-- and program tiers once.
--
-- Its `based` step looked both up with scalar subqueries. Referenced once, the step was inlined,
-- and the planner copied the subqueries into every expression that used them: the tier grading
-- and the dating of the tier reached looked the member up five times and the program twice per
-- member (auto_explain of the legacy import). Materialized, each is looked up once. The function
-- is otherwise as `…003400_bulk_import_triggers.sql` left it.

create or replace function app.loyalty_transactions_apply_supplied() returns trigger
language plpgsql security definer
set search_path = pg_catalog, public, app
as $$
declare
    broken record;
begin
    if current_setting('pms.ledger_balances_supplied', true) is distinct from 'on' then
        return null;
    end if;
    -- the members, locked in key order (as every writer of several members locks them)
    perform 1
       from (select distinct e.tenant_id, e.member_id from new_entries e order by 1, 2) e
      cross join lateral (select 1 from public.loyalty_members m
                           where m.tenant_id = e.tenant_id and m.id = e.member_id
                             for update) locked;
    select c.id, c.balance_before, c.expected into broken
      from (select e.id, e.balance_before,
                   coalesce(lag(e.balance_after) over (partition by e.tenant_id, e.member_id order by e.ord),
                            (select m.points_balance from public.loyalty_members m
                              where m.tenant_id = e.tenant_id and m.id = e.member_id),
                            0) as expected
              from (select n.*, row_number() over () as ord from new_entries n) e) c
     where c.balance_before <> c.expected
     limit 1;
    if found then
        raise exception 'ledger entry % starts at a balance of % where its member has %',
                        broken.id, broken.balance_before, broken.expected
              using errcode = 'check_violation';
    end if;
    with running as (
        select e.*,
               (sum(greatest(e.points, 0)) over (partition by e.tenant_id, e.member_id order by e.ord))::bigint
                   as earned_so_far
          from (select n.*, row_number() over () as ord from new_entries n) e
    ), moved as (
        select r.tenant_id, r.member_id,
               (array_agg(r.balance_after order by r.ord desc))[1] as balance,
               max(r.earned_so_far) as earned,
               -- each earning's time and the points earned up to it, to date the tier reached
               array_agg(coalesce(r.created_at, now()) order by r.ord) filter (where r.points > 0) as earned_at,
               array_agg(r.earned_so_far order by r.ord) filter (where r.points > 0) as earned_running,
               (array_agg(r.program_id))[1] as program_id
          from running r
         group by r.tenant_id, r.member_id
    ), based as materialized (
        select mv.*,
               (select m.lifetime_points from public.loyalty_members m
                 where m.tenant_id = mv.tenant_id and m.id = mv.member_id) as lifetime_before,
               (select p.tiers from public.loyalty_programs p
                 where p.tenant_id = mv.tenant_id and p.id = mv.program_id) as tiers
          from moved mv
    ), graded as (
        select b.*, b.lifetime_before + b.earned as lifetime, grade.*
          from based b
          left join lateral app.loyalty_grade(b.tiers, b.lifetime_before + b.earned) grade on b.earned > 0
    )
    update public.loyalty_members m
       set points_balance = g.balance,
           lifetime_points = g.lifetime,
           current_tier = case when g.earned > 0 then coalesce(g.reached_name, m.current_tier) else m.current_tier end,
           -- the earning that first reached the tier (as entry after entry would have dated it)
           tier_achieved_at = case
               when g.earned > 0 and g.reached_name is distinct from m.current_tier and g.reached_name is not null
               then (select a.at from unnest(g.earned_at, g.earned_running) as a (at, so_far)
                      where g.lifetime_before + a.so_far >= g.reached_points limit 1)
               else m.tier_achieved_at end,
           next_tier = case when g.earned > 0 then g.upcoming_name else m.next_tier end,
           points_to_next_tier = case when g.earned > 0 then g.upcoming_points - g.lifetime else m.points_to_next_tier end
      from graded g
     where m.tenant_id = g.tenant_id and m.id = g.member_id;
    return null;
end
$$;
