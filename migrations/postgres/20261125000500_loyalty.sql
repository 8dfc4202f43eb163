-- Loyalty: programs, memberships and the append-only points ledger.

create table public.loyalty_programs (
    tenant_id uuid not null references public.tenants (id),
    id uuid not null default app.uuid_generate_v7(),
    name text not null constraint loyalty_programs_name_check check (btrim(name) <> ''),
    description text,
    enabled boolean not null default true,
    -- [{"name": "Silver", "required_points": 1000, "benefits": ["…"], "multiplier": 1.25}, …]
    tiers jsonb not null default '[]' constraint loyalty_programs_tiers_check check (jsonb_typeof(tiers) = 'array'),
    -- earning rules
    points_per_currency_unit numeric(10, 4) not null default 1
        constraint loyalty_programs_points_per_currency_unit_check check (points_per_currency_unit >= 0),
    first_stay_bonus_points integer not null default 0
        constraint loyalty_programs_first_stay_bonus_points_check check (first_stay_bonus_points >= 0),
    birthday_bonus_points integer not null default 0
        constraint loyalty_programs_birthday_bonus_points_check check (birthday_bonus_points >= 0),
    -- redemption rules: what a point is worth, in cents, and the smallest redemption
    point_value_cents numeric(10, 4) not null default 1
        constraint loyalty_programs_point_value_cents_check check (point_value_cents >= 0),
    minimum_redemption_points integer not null default 0
        constraint loyalty_programs_minimum_redemption_points_check check (minimum_redemption_points >= 0),
    -- null: points never expire
    points_expiry_days integer constraint loyalty_programs_points_expiry_days_check check (points_expiry_days > 0),
    currency char(3) not null default 'USD' constraint loyalty_programs_currency_check check (currency ~ '^[A-Z]{3}$'),
    legacy_id text,
    deleted_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id)
);
create unique index loyalty_programs_legacy_id_key on public.loyalty_programs (tenant_id, legacy_id) where legacy_id is not null;

create table public.loyalty_members (
    tenant_id uuid not null,
    id uuid not null default app.uuid_generate_v7(),
    program_id uuid not null,
    guest_id uuid not null,
    -- sequential per tenant, assigned by the database
    membership_number bigint not null,
    legacy_membership_number text,
    current_tier text,
    -- server-owned: always equal to the ledger
    points_balance bigint not null default 0 constraint loyalty_members_points_balance_check check (points_balance >= 0),
    lifetime_points bigint not null default 0 constraint loyalty_members_lifetime_points_check check (lifetime_points >= 0),
    status text not null default 'active' constraint loyalty_members_status_check
        check (status in ('active', 'inactive', 'suspended')),
    enrolled_at timestamptz not null default now(),
    next_tier text,
    points_to_next_tier bigint constraint loyalty_members_points_to_next_tier_check check (points_to_next_tier >= 0),
    tier_achieved_at timestamptz,
    legacy_id text,
    deleted_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    constraint loyalty_members_membership_number_key unique (tenant_id, membership_number),
    -- one membership per guest and program
    constraint loyalty_members_guest_key unique (tenant_id, program_id, guest_id),
    -- lets the ledger require that an entry's program and guest are its member's
    constraint loyalty_members_ledger_key unique (tenant_id, id, program_id, guest_id),
    foreign key (tenant_id, program_id) references public.loyalty_programs (tenant_id, id),
    foreign key (tenant_id, guest_id) references public.guests (tenant_id, id)
) with (fillfactor = 80);  -- room for in-place (HOT) balance updates by the ledger trigger
create unique index loyalty_members_legacy_id_key on public.loyalty_members (tenant_id, legacy_id) where legacy_id is not null;
create index loyalty_members_guest_idx on public.loyalty_members (tenant_id, guest_id);
create index loyalty_members_tier_idx on public.loyalty_members (tenant_id, program_id, current_tier) where deleted_at is null;

create table public.loyalty_transactions (
    tenant_id uuid not null,
    id uuid not null default app.uuid_generate_v7(),
    member_id uuid not null,
    program_id uuid not null,
    guest_id uuid not null,
    type text not null constraint loyalty_transactions_type_check
        check (type in ('earn', 'redeem', 'expire', 'adjust', 'bonus')),
    points bigint not null,
    description text,
    -- what the entry is about, e.g. ('reservation', <id>)
    reference_type text,
    reference_id text,
    -- server-computed in ledger order: after = before + points, never below zero
    balance_before bigint not null constraint loyalty_transactions_balance_before_check check (balance_before >= 0),
    balance_after bigint not null constraint loyalty_transactions_balance_after_check check (balance_after >= 0),
    -- when earned points lapse (earn and bonus entries only)
    expires_at timestamptz,
    created_by uuid,
    legacy_id text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    -- only judges known types, so an unknown type is reported by the type check
    constraint loyalty_transactions_points_sign_check check (
        type not in ('earn', 'bonus', 'redeem', 'expire', 'adjust')
        or (type in ('earn', 'bonus') and points > 0)
        or (type in ('redeem', 'expire') and points < 0)
        or (type = 'adjust' and points <> 0)),
    constraint loyalty_transactions_balance_check check (balance_after = balance_before + points),
    constraint loyalty_transactions_expires_at_check check (expires_at is null or type in ('earn', 'bonus')),
    foreign key (tenant_id, member_id, program_id, guest_id)
        references public.loyalty_members (tenant_id, id, program_id, guest_id)
);
create unique index loyalty_transactions_legacy_id_key on public.loyalty_transactions (tenant_id, legacy_id) where legacy_id is not null;
-- a member's ledger, newest first
create index loyalty_transactions_member_idx on public.loyalty_transactions (tenant_id, member_id, created_at desc);
-- points expiry: earned entries with an expiry date
create index loyalty_transactions_expiry_idx on public.loyalty_transactions (tenant_id, expires_at)
    where expires_at is not null;

create function app.loyalty_members_assign_membership_number() returns trigger
language plpgsql security definer
set search_path = pg_catalog, public, app
as $$
begin
    if tg_op = 'INSERT' then
        new.membership_number := app.next_tenant_number(new.tenant_id, 'public.loyalty_members', 'membership_number');
    else
        new.membership_number := old.membership_number;
    end if;
    return new;
end
$$;

-- The ledger is the truth: each entry takes the member's balance under a row lock (so concurrent
-- entries of one member apply one after another), records before/after, and moves the member's
-- balance. An entry that would take the balance below zero fails the balance_after check.
create function app.loyalty_transactions_apply() returns trigger
language plpgsql security definer
set search_path = pg_catalog, public, app
as $$
declare
    current_balance bigint;
begin
    select m.points_balance into current_balance
      from public.loyalty_members m
     where m.tenant_id = new.tenant_id and m.id = new.member_id
       for update;
    -- A missing member is reported by the foreign key (checked after this trigger); until then
    -- the entry is computed against a zero balance.
    new.balance_before := coalesce(current_balance, 0);
    new.balance_after := new.balance_before + new.points;
    if current_balance is not null and new.balance_after >= 0 then
        update public.loyalty_members m
           set points_balance = new.balance_after,
               lifetime_points = m.lifetime_points + greatest(new.points, 0)
         where m.tenant_id = new.tenant_id and m.id = new.member_id;
    end if;
    return new;
end
$$;

-- Entries are immutable: the ledger only grows.
create function app.reject_ledger_change() returns trigger
language plpgsql
as $$
begin
    raise exception 'loyalty_transactions is append-only: add an adjust entry instead'
        using errcode = 'insufficient_privilege';
end
$$;

create trigger loyalty_members_membership_number before insert or update of membership_number on public.loyalty_members
    for each row execute function app.loyalty_members_assign_membership_number();
create trigger loyalty_transactions_apply before insert on public.loyalty_transactions
    for each row execute function app.loyalty_transactions_apply();
create trigger loyalty_programs_updated_at before update on public.loyalty_programs
    for each row execute function public.update_updated_at_column();
create trigger loyalty_members_updated_at before update on public.loyalty_members
    for each row execute function public.update_updated_at_column();
create trigger loyalty_transactions_append_only before update or delete on public.loyalty_transactions
    for each row execute function app.reject_ledger_change();

-- Access -------------------------------------------------------------------------------------

alter function app.loyalty_members_assign_membership_number() owner to service_role;
alter function app.loyalty_transactions_apply() owner to service_role;
grant all on public.loyalty_programs, public.loyalty_members, public.loyalty_transactions to service_role;

-- Programs: read by the front office, configured by owner and manager.
grant select on public.loyalty_programs to authenticated;
select app.grant_columns('public.loyalty_programs', 'insert', 'authenticated', array['legacy_id', 'updated_at']);
select app.grant_columns('public.loyalty_programs', 'update', 'authenticated', array['legacy_id', 'tenant_id', 'id', 'created_at', 'updated_at']);
select app.create_tenant_policies('public.loyalty_programs',
    array['owner', 'manager', 'front_desk'], array['owner', 'manager'], array['owner', 'manager'], array[]::text[]);

-- Members: the desk enrols guests; numbers, balances and tiers are the server's.
grant select on public.loyalty_members to authenticated;
select app.grant_columns('public.loyalty_members', 'insert', 'authenticated', array[
    'membership_number', 'legacy_membership_number', 'current_tier', 'points_balance', 'lifetime_points',
    'next_tier', 'points_to_next_tier', 'tier_achieved_at', 'legacy_id', 'updated_at']);
grant update (status, deleted_at) on public.loyalty_members to authenticated;
select app.create_tenant_policies('public.loyalty_members',
    array['owner', 'manager', 'front_desk'], array['owner', 'manager', 'front_desk'], array['owner', 'manager'], array[]::text[]);

-- Ledger: append-only for the desk; before/after balances are computed here.
grant select on public.loyalty_transactions to authenticated;
select app.grant_columns('public.loyalty_transactions', 'insert', 'authenticated', array[
    'balance_before', 'balance_after', 'legacy_id', 'updated_at']);
select app.create_tenant_policies('public.loyalty_transactions',
    array['owner', 'manager', 'front_desk'], array['owner', 'manager', 'front_desk'], array[]::text[], array[]::text[]);
