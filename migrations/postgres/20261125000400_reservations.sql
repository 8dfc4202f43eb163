-- Reservations: stays, their status history, payments, and the rule that no room is sold twice.

create table public.reservations (
    tenant_id uuid not null references public.tenants (id),
    id uuid not null default app.uuid_generate_v7(),
    guest_id uuid,
    -- the guest as booked: kept even when the profile is later merged or erased
    guest_name text not null constraint reservations_guest_name_check check (btrim(guest_name) <> ''),
    guest_email text,
    guest_phone text,
    -- sequential per tenant, assigned by the database when the reservation first arrives
    confirmation_number bigint not null,
    -- the legacy store's code (T-101-18C2F…) of an imported booking; stays searchable
    legacy_confirmation_code text,
    status text not null default 'confirmed' constraint reservations_status_check
        check (status in ('pending', 'confirmed', 'checked_in', 'checked_out', 'cancelled', 'no_show')),
    confirmed_at timestamptz,
    checked_in_at timestamptz,
    checked_out_at timestamptz,
    cancelled_at timestamptz,
    no_show_at timestamptz,
    cancellation_reason text,
    source text not null default 'direct' constraint reservations_source_check
        check (source in ('direct', 'phone', 'email', 'ota', 'walk_in', 'agent')),
    property_id uuid not null,
    room_type_id uuid not null,
    room_id uuid,
    check_in_date date not null,
    check_out_date date not null,
    nights integer generated always as (check_out_date - check_in_date) stored,
    room_count integer not null default 1 constraint reservations_room_count_check check (room_count between 1 and 50),
    adults integer not null default 1 constraint reservations_adults_check check (adults between 1 and 100),
    children integer not null default 0 constraint reservations_children_check check (children between 0 and 100),
    rate_per_night_cents bigint not null default 0 constraint reservations_rate_per_night_cents_check check (rate_per_night_cents >= 0),
    total_amount_cents bigint not null default 0 constraint reservations_total_amount_cents_check check (total_amount_cents >= 0),
    currency char(3) not null default 'USD' constraint reservations_currency_check check (currency ~ '^[A-Z]{3}$'),
    deposit_paid_cents bigint not null default 0 constraint reservations_deposit_paid_cents_check check (deposit_paid_cents >= 0),
    -- negative when the guest has paid more than the total (a refund is owed)
    balance_due_cents bigint generated always as (total_amount_cents - deposit_paid_cents) stored,
    payment_status text not null default 'pending' constraint reservations_payment_status_check
        check (payment_status in ('pending', 'partial', 'paid', 'refunded')),
    special_requests text,
    notes text,
    created_by uuid,
    modified_by uuid,
    legacy_id text,
    deleted_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    constraint reservations_confirmation_number_key unique (tenant_id, confirmation_number),
    constraint reservations_dates_check check (check_out_date > check_in_date),
    constraint reservations_checked_in_at_check check (status not in ('checked_in', 'checked_out') or checked_in_at is not null),
    constraint reservations_checked_out_at_check check (status <> 'checked_out' or checked_out_at is not null),
    constraint reservations_cancelled_at_check check (status <> 'cancelled' or cancelled_at is not null),
    foreign key (tenant_id, guest_id) references public.guests (tenant_id, id) on delete set null (guest_id),
    foreign key (tenant_id, property_id, room_type_id) references public.room_types (tenant_id, property_id, id),
    foreign key (tenant_id, property_id, room_id) references public.rooms (tenant_id, property_id, id),
    -- no two active stays hold one room over overlapping nights ([check-in, check-out) ranges)
    constraint reservations_no_double_booking exclude using gist (
        tenant_id with =,
        room_id with =,
        daterange(check_in_date, check_out_date, '[)') with &&
    ) where (room_id is not null and deleted_at is null and status in ('pending', 'confirmed', 'checked_in'))
);
comment on column public.reservations.confirmation_number is
    'Sequential per tenant, gapless, assigned by reservations_assign_confirmation_number(); never written by clients.';

create unique index reservations_legacy_id_key on public.reservations (tenant_id, legacy_id) where legacy_id is not null;
create index reservations_legacy_code_idx on public.reservations (tenant_id, legacy_confirmation_code text_pattern_ops)
    where legacy_confirmation_code is not null;
-- the Today screen: arrivals and departures for a date, guests in house
create index reservations_arrivals_idx on public.reservations (tenant_id, check_in_date, property_id) where deleted_at is null;
create index reservations_departures_idx on public.reservations (tenant_id, check_out_date, property_id) where deleted_at is null;
create index reservations_in_house_idx on public.reservations (tenant_id, property_id, check_out_date)
    where status = 'checked_in' and deleted_at is null;
-- a guest's stays, newest first
create index reservations_guest_idx on public.reservations (tenant_id, guest_id, check_in_date desc) where guest_id is not null;
-- availability and the tape chart: active stays of a property by date
create index reservations_active_idx on public.reservations (tenant_id, property_id, check_in_date, check_out_date)
    where status in ('pending', 'confirmed', 'checked_in') and deleted_at is null;
create index reservations_status_idx on public.reservations (tenant_id, status, check_in_date);

-- Confirmation numbers are the database's: the tenant's next on insert, whatever the client sent,
-- and unchangeable afterwards. (Security definer, as service_role: it must see every row of the
-- tenant, including those the caller's role cannot read.)
create function app.reservations_assign_confirmation_number() returns trigger
language plpgsql security definer
set search_path = pg_catalog, public, app
as $$
begin
    if tg_op = 'INSERT' then
        new.confirmation_number := app.next_tenant_number(new.tenant_id, 'public.reservations', 'confirmation_number');
    else
        new.confirmation_number := old.confirmation_number;
    end if;
    return new;
end
$$;

-- Each status has a timestamp; a transition fills it where the client did not.
create function app.reservations_stamp_status() returns trigger
language plpgsql
as $$
begin
    if tg_op = 'INSERT' or new.status is distinct from old.status then
        case new.status
            when 'confirmed' then new.confirmed_at := coalesce(new.confirmed_at, now());
            when 'checked_in' then new.checked_in_at := coalesce(new.checked_in_at, now());
            when 'checked_out' then
                new.checked_in_at := coalesce(new.checked_in_at, now());
                new.checked_out_at := coalesce(new.checked_out_at, now());
            when 'cancelled' then new.cancelled_at := coalesce(new.cancelled_at, now());
            when 'no_show' then new.no_show_at := coalesce(new.no_show_at, now());
            else null;
        end case;
    end if;
    return new;
end
$$;

create trigger reservations_confirmation_number before insert or update of confirmation_number on public.reservations
    for each row execute function app.reservations_assign_confirmation_number();
create trigger reservations_stamp_status before insert or update of status on public.reservations
    for each row execute function app.reservations_stamp_status();
create trigger reservations_updated_at before update on public.reservations
    for each row execute function public.update_updated_at_column();

-- Access -------------------------------------------------------------------------------------

alter function app.reservations_assign_confirmation_number() owner to service_role;
grant all on public.reservations to service_role;

-- Housekeeping reads stays (who leaves today) but does not book.
grant select on public.reservations to authenticated;
select app.grant_columns('public.reservations', 'insert', 'authenticated', array[
    'confirmation_number', 'legacy_confirmation_code', 'legacy_id', 'updated_at']);
select app.grant_columns('public.reservations', 'update', 'authenticated', array[
    'confirmation_number', 'legacy_confirmation_code', 'legacy_id', 'tenant_id', 'id', 'created_at', 'updated_at']);
select app.create_tenant_policies('public.reservations',
    array['owner', 'manager', 'front_desk', 'housekeeping'], array['owner', 'manager', 'front_desk'],
    array['owner', 'manager', 'front_desk'], array[]::text[]);
