-- The desk's money, second slice (issue 17): what a night costs (rate plans and the nightly
-- prices a stay was booked at), what is added to it (taxes and charge items per property), the
-- end of a property's day (night audits), and the hotel's bills to its guests (guest invoices,
-- numbered per laptop series). Everything that counts stays a ledger:
--
-- - reservation_nights: one row per night of a stay with the price fixed when it was booked
--   (id: UUIDv5 of the stay and the night, so two laptops pricing the same night make one). A
--   change of dates prices the new nights and removes the nights no longer in the stay.
-- - night_audits: append-only; one row per property and closed business date (id: UUIDv5 of
--   the property and the date). A property's open business date is the day after its last
--   audit (its local today before any), so two desks auditing the same day offline make one
--   audit, and a desk that audits late can never move the day back.
-- - guest_invoice_series: one per laptop, made by the server when the laptop registers (signs
--   in); a laptop numbers its invoices offline in its own series, so numbers never collide.
-- - guest_invoices: append-only and immutable once issued; a credit note corrects an invoice in
--   the same series. Numbers are gapless per series: the server takes number n only after n-1.

-- Folio entries learn what they are ------------------------------------------------------------

alter table public.folio_entries
    -- what was charged (room, food, minibar, …) or which tax: revenue by type at the night audit
    add column charge_type text constraint folio_entries_charge_type_check check (charge_type in (
        'room', 'food', 'beverage', 'minibar', 'parking', 'no_show', 'other', 'vat', 'city_tax')),
    add column quantity integer not null default 1 constraint folio_entries_quantity_check check (quantity > 0),
    -- a tax entry: the entry it taxes and its rate in basis points (1000 = 10%)
    add column applies_to_entry_id uuid,
    add column tax_rate_bp integer constraint folio_entries_tax_rate_bp_check check (tax_rate_bp between 0 and 10000),
    add constraint folio_entries_applies_to_fkey
        foreign key (tenant_id, applies_to_entry_id) references public.folio_entries (tenant_id, id);

-- An override records that a manager let a guest leave with a balance: its amount is the balance
-- left open, its description the reason. It counts for nothing in the balance.
alter table public.folio_entries drop constraint folio_entries_kind_check;
alter table public.folio_entries add constraint folio_entries_kind_check
    check (kind in ('charge', 'payment', 'refund', 'adjustment', 'tax', 'override'));
alter table public.folio_entries drop constraint folio_entries_amount_check;
alter table public.folio_entries add constraint folio_entries_amount_check check (
    kind not in ('charge', 'payment', 'refund', 'adjustment', 'tax', 'override')
    or (kind = 'adjustment' and amount_minor <> 0)
    or (kind = 'override' and amount_minor <> 0 and description is not null and btrim(description) <> '')
    or (kind not in ('adjustment', 'override') and amount_minor > 0));
alter table public.folio_entries drop constraint folio_entries_payment_method_kind_check;
alter table public.folio_entries add constraint folio_entries_payment_method_kind_check check (
    (payment_method is not null) = (kind in ('payment', 'refund'))
    or kind not in ('charge', 'payment', 'refund', 'adjustment', 'tax', 'override'));
create index folio_entries_business_date_idx on public.folio_entries (tenant_id, business_date);

-- Properties: when the night audit runs by itself -----------------------------------------------

alter table public.properties
    -- the hour (property's local time, on the day after the business date) after which an open
    -- desk runs the night audit by itself
    add column night_audit_hour smallint not null default 2
        constraint properties_night_audit_hour_check check (night_audit_hour between 0 and 23);

-- Rates ----------------------------------------------------------------------------------------

create table public.rate_plans (
    tenant_id uuid not null,
    id uuid not null default app.uuid_generate_v7(),
    property_id uuid not null,
    room_type_id uuid not null,
    name text not null constraint rate_plans_name_check check (btrim(name) <> ''),
    currency char(3) not null constraint rate_plans_currency_check check (currency ~ '^[A-Z]{3}$'),
    -- the price of a night no season names, in minor units
    base_price_minor bigint not null constraint rate_plans_base_price_check check (base_price_minor >= 0),
    active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    foreign key (tenant_id, property_id) references public.properties (tenant_id, id),
    foreign key (tenant_id, room_type_id) references public.room_types (tenant_id, id)
);
create index rate_plans_room_type_idx on public.rate_plans (tenant_id, room_type_id);

-- A season's price: nights from starts_on through ends_on on the weekdays of the mask (bit 0 =
-- Monday … bit 6 = Sunday). Where seasons overlap, the shortest one decides.
create table public.rate_plan_prices (
    tenant_id uuid not null,
    id uuid not null default app.uuid_generate_v7(),
    rate_plan_id uuid not null,
    name text,
    starts_on date not null,
    ends_on date not null,
    weekdays smallint not null default 127 constraint rate_plan_prices_weekdays_check check (weekdays between 1 and 127),
    price_minor bigint not null constraint rate_plan_prices_price_check check (price_minor >= 0),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    constraint rate_plan_prices_dates_check check (ends_on >= starts_on),
    foreign key (tenant_id, rate_plan_id) references public.rate_plans (tenant_id, id)
);
create index rate_plan_prices_plan_idx on public.rate_plan_prices (tenant_id, rate_plan_id);

create table public.reservation_nights (
    tenant_id uuid not null,
    id uuid not null default app.uuid_generate_v7(),
    reservation_id uuid not null,
    night date not null,
    price_minor bigint not null constraint reservation_nights_price_check check (price_minor >= 0),
    currency char(3) not null constraint reservation_nights_currency_check check (currency ~ '^[A-Z]{3}$'),
    rate_plan_id uuid,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    constraint reservation_nights_night_key unique (tenant_id, reservation_id, night),
    foreign key (tenant_id, reservation_id) references public.reservations (tenant_id, id),
    foreign key (tenant_id, rate_plan_id) references public.rate_plans (tenant_id, id)
);
comment on column public.reservation_nights.id is
    'UUIDv5 of the stay and the night (pms_sync_protocol::derived::stay_night_id): one row per night whichever laptop prices it.';

-- Taxes and charge items -------------------------------------------------------------------------

-- A property's taxes. VAT: a rate in basis points on charges of one type (or of every type the
-- property names no other VAT for, when charge_type is null), included in the prices or added to
-- them. City tax: an amount per person and night, children exempt where exempt_under_age is set
-- (a booking's children are the guests under that age).
create table public.property_taxes (
    tenant_id uuid not null,
    id uuid not null default app.uuid_generate_v7(),
    property_id uuid not null,
    name text not null constraint property_taxes_name_check check (btrim(name) <> ''),
    kind text not null constraint property_taxes_kind_check check (kind in ('vat', 'city_tax')),
    charge_type text constraint property_taxes_charge_type_check check (charge_type in (
        'room', 'food', 'beverage', 'minibar', 'parking', 'no_show', 'other')),
    rate_bp integer constraint property_taxes_rate_bp_check check (rate_bp between 0 and 10000),
    included boolean not null default false,
    amount_minor bigint constraint property_taxes_amount_check check (amount_minor >= 0),
    exempt_under_age smallint constraint property_taxes_exempt_age_check check (exempt_under_age between 1 and 25),
    active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    constraint property_taxes_shape_check check (
        kind not in ('vat', 'city_tax')
        or (kind = 'vat' and rate_bp is not null and amount_minor is null)
        or (kind = 'city_tax' and amount_minor is not null and rate_bp is null and not included)),
    foreign key (tenant_id, property_id) references public.properties (tenant_id, id)
);
create index property_taxes_property_idx on public.property_taxes (tenant_id, property_id);

-- What a desk can post as an extra (minibar, breakfast, parking), priced as the property's VAT
-- says (included or added).
create table public.charge_items (
    tenant_id uuid not null,
    id uuid not null default app.uuid_generate_v7(),
    property_id uuid not null,
    name text not null constraint charge_items_name_check check (btrim(name) <> ''),
    charge_type text not null constraint charge_items_charge_type_check check (charge_type in (
        'food', 'beverage', 'minibar', 'parking', 'other')),
    price_minor bigint not null constraint charge_items_price_check check (price_minor >= 0),
    currency char(3) not null constraint charge_items_currency_check check (currency ~ '^[A-Z]{3}$'),
    active boolean not null default true,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    foreign key (tenant_id, property_id) references public.properties (tenant_id, id)
);
create index charge_items_property_idx on public.charge_items (tenant_id, property_id);

-- Night audits -------------------------------------------------------------------------------------

create table public.night_audits (
    tenant_id uuid not null,
    id uuid not null default app.uuid_generate_v7(),
    property_id uuid not null,
    business_date date not null,
    rooms_sold integer not null default 0 constraint night_audits_rooms_sold_check check (rooms_sold >= 0),
    no_shows integer not null default 0 constraint night_audits_no_shows_check check (no_shows >= 0),
    closed_by uuid,
    created_by uuid,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    constraint night_audits_date_key unique (tenant_id, property_id, business_date),
    foreign key (tenant_id, property_id) references public.properties (tenant_id, id)
);
comment on column public.night_audits.id is
    'UUIDv5 of the property and the business date (pms_sync_protocol::derived::night_audit_id).';

-- Guest invoices ---------------------------------------------------------------------------------

create table public.guest_invoice_series (
    tenant_id uuid not null,
    id uuid not null default app.uuid_generate_v7(),
    -- the laptop numbering in this series (null: the central office's)
    device_id uuid,
    prefix text not null constraint guest_invoice_series_prefix_check check (prefix ~ '^[A-Z0-9]{1,8}$'),
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    constraint guest_invoice_series_prefix_key unique (tenant_id, prefix)
);
create unique index guest_invoice_series_device_key on public.guest_invoice_series (device_id)
    where device_id is not null;

create table public.guest_invoices (
    tenant_id uuid not null,
    id uuid not null default app.uuid_generate_v7(),
    series_id uuid not null,
    number integer not null constraint guest_invoices_number_check check (number > 0),
    kind text not null default 'invoice' constraint guest_invoices_kind_check check (kind in ('invoice', 'credit_note')),
    corrects_invoice_id uuid,
    property_id uuid not null,
    reservation_id uuid not null,
    folio_id uuid not null,
    bill_to text not null constraint guest_invoices_bill_to_check check (btrim(bill_to) <> ''),
    currency char(3) not null constraint guest_invoices_currency_check check (currency ~ '^[A-Z]{3}$'),
    net_minor bigint not null,
    tax_minor bigint not null,
    total_minor bigint not null,
    paid_minor bigint not null default 0,
    -- the lines and taxes as issued (frozen: later entries never change an issued invoice)
    lines jsonb not null default '[]' constraint guest_invoices_lines_check check (jsonb_typeof(lines) = 'array'),
    taxes jsonb not null default '[]' constraint guest_invoices_taxes_check check (jsonb_typeof(taxes) = 'array'),
    issued_on date not null,
    issued_by uuid,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    constraint guest_invoices_number_key unique (tenant_id, series_id, number),
    constraint guest_invoices_total_check check (total_minor = net_minor + tax_minor),
    constraint guest_invoices_credit_note_check check ((kind = 'credit_note') = (corrects_invoice_id is not null)
        or kind not in ('invoice', 'credit_note')),
    constraint guest_invoices_no_card_number_check check (not app.contains_card_number(bill_to)),
    foreign key (tenant_id, series_id) references public.guest_invoice_series (tenant_id, id),
    foreign key (tenant_id, corrects_invoice_id) references public.guest_invoices (tenant_id, id),
    foreign key (tenant_id, property_id) references public.properties (tenant_id, id),
    foreign key (tenant_id, folio_id, reservation_id) references public.folios (tenant_id, id, reservation_id)
);
create index guest_invoices_reservation_idx on public.guest_invoices (tenant_id, reservation_id);
-- an invoice is corrected by one credit note
create unique index guest_invoices_corrected_once on public.guest_invoices (tenant_id, corrects_invoice_id)
    where corrects_invoice_id is not null;

-- Numbers are gapless per series: n is taken only after n - 1 (a laptop pushes its invoices in
-- the order it issued them). A laptop writes only in its own series; a credit note corrects an
-- invoice, not another credit note.
create function app.guest_invoices_check() returns trigger
language plpgsql security definer
set search_path = pg_catalog, public, app
as $$
declare
    series_device uuid;
    corrected_kind text;
begin
    perform pg_advisory_xact_lock(hashtextextended(new.series_id::text, 0));
    if new.number > 1 and not exists (
        select 1 from public.guest_invoices g
         where g.tenant_id = new.tenant_id and g.series_id = new.series_id and g.number = new.number - 1
    ) then
        raise exception 'invoice number % of its series follows a number the server has not received', new.number
            using errcode = '23514', constraint = 'guest_invoices_number_gapless';
    end if;
    select s.device_id into series_device
      from public.guest_invoice_series s where s.tenant_id = new.tenant_id and s.id = new.series_id;
    if app.current_device_id() is not null and series_device is distinct from app.current_device_id() then
        raise exception 'a laptop numbers invoices only in its own series'
            using errcode = '23514', constraint = 'guest_invoices_own_series';
    end if;
    if new.corrects_invoice_id is not null then
        select g.kind into corrected_kind
          from public.guest_invoices g where g.tenant_id = new.tenant_id and g.id = new.corrects_invoice_id;
        if found and corrected_kind <> 'invoice' then
            raise exception 'a credit note corrects an invoice'
                using errcode = '23514', constraint = 'guest_invoices_corrects_invoice';
        end if;
    end if;
    return new;
end
$$;

create function app.reject_guest_invoice_change() returns trigger
language plpgsql
as $$
begin
    raise exception 'an issued guest invoice is immutable: issue a credit note instead'
        using errcode = 'insufficient_privilege';
end
$$;

create function app.reject_night_audit_change() returns trigger
language plpgsql
as $$
begin
    raise exception 'a closed business date stays closed: night_audits is append-only'
        using errcode = 'insufficient_privilege';
end
$$;

-- Every laptop gets its own invoice series when it registers: D1, D2, … per tenant.
create function app.devices_open_invoice_series() returns trigger
language plpgsql security definer
set search_path = pg_catalog, public, app
as $$
declare
    next_number integer;
begin
    -- seed-demo makes its devices' series itself, with its own ids (the same seed, the same rows)
    if current_setting('app.seeding_series', true) = 'on' then
        return null;
    end if;
    perform pg_advisory_xact_lock(hashtextextended('guest_invoice_series:' || new.tenant_id::text, 0));
    select coalesce(max(substr(s.prefix, 2)::integer), 0) + 1 into next_number
      from public.guest_invoice_series s
     where s.tenant_id = new.tenant_id and s.prefix ~ '^D[0-9]{1,7}$';
    insert into public.guest_invoice_series (tenant_id, device_id, prefix)
    values (new.tenant_id, new.id, 'D' || next_number);
    return null;
end
$$;

-- Triggers -------------------------------------------------------------------------------------

create trigger rate_plans_updated_at before update on public.rate_plans
    for each row execute function public.update_updated_at_column();
create trigger rate_plan_prices_updated_at before update on public.rate_plan_prices
    for each row execute function public.update_updated_at_column();
create trigger reservation_nights_updated_at before update on public.reservation_nights
    for each row execute function public.update_updated_at_column();
create trigger property_taxes_updated_at before update on public.property_taxes
    for each row execute function public.update_updated_at_column();
create trigger charge_items_updated_at before update on public.charge_items
    for each row execute function public.update_updated_at_column();
create trigger guest_invoice_series_updated_at before update on public.guest_invoice_series
    for each row execute function public.update_updated_at_column();
create trigger night_audits_append_only before update or delete on public.night_audits
    for each row execute function app.reject_night_audit_change();
create trigger guest_invoices_check before insert on public.guest_invoices
    for each row execute function app.guest_invoices_check();
create trigger guest_invoices_immutable before update or delete on public.guest_invoices
    for each row execute function app.reject_guest_invoice_change();
create trigger devices_open_invoice_series after insert on public.devices
    for each row execute function app.devices_open_invoice_series();

-- The change feed, as for every synced table.
do $$
declare
    synced text;
begin
    foreach synced in array array['rate_plans', 'rate_plan_prices', 'reservation_nights', 'property_taxes',
                                  'charge_items', 'night_audits', 'guest_invoice_series', 'guest_invoices'] loop
        execute format(
            'create trigger %I after insert on public.%I referencing new table as new_rows
                 for each statement execute function app.record_changes()',
            synced || '_record_inserts', synced);
        execute format(
            'create trigger %I after update on public.%I referencing old table as old_rows new table as new_rows
                 for each statement execute function app.record_changes()',
            synced || '_record_updates', synced);
        execute format(
            'create trigger %I after delete on public.%I referencing old table as old_rows
                 for each statement execute function app.record_changes()',
            synced || '_record_deletes', synced);
    end loop;
end
$$;

-- Access -------------------------------------------------------------------------------------

alter function app.guest_invoices_check() owner to service_role;
alter function app.devices_open_invoice_series() owner to service_role;
grant all on public.rate_plans, public.rate_plan_prices, public.reservation_nights, public.property_taxes,
    public.charge_items, public.night_audits, public.guest_invoice_series, public.guest_invoices to service_role;

-- Prices, taxes and charge items: the whole front office reads them, owners and managers set them.
do $$
declare
    settings text;
begin
    foreach settings in array array['rate_plans', 'rate_plan_prices', 'property_taxes', 'charge_items'] loop
        execute format('grant select on public.%I to authenticated', settings);
        perform app.grant_columns(format('public.%I', settings)::regclass, 'insert', 'authenticated', array['updated_at']);
        perform app.grant_columns(format('public.%I', settings)::regclass, 'update', 'authenticated',
            array['tenant_id', 'id', 'created_at', 'updated_at']);
        perform app.create_tenant_policies(format('public.%I', settings)::regclass,
            array['owner', 'manager', 'front_desk'], array['owner', 'manager'],
            array['owner', 'manager'], array['owner', 'manager']);
    end loop;
end
$$;

-- A stay's nightly prices: set by the desk that books or moves the stay.
grant select on public.reservation_nights to authenticated;
select app.grant_columns('public.reservation_nights', 'insert', 'authenticated', array['updated_at']);
grant update (price_minor, currency, rate_plan_id) on public.reservation_nights to authenticated;
grant delete on public.reservation_nights to authenticated;
select app.create_tenant_policies('public.reservation_nights',
    array['owner', 'manager', 'front_desk'], array['owner', 'manager', 'front_desk'],
    array['owner', 'manager', 'front_desk'], array['owner', 'manager', 'front_desk']);

-- Night audits and guest invoices: appended by the front office, never changed.
grant select on public.night_audits, public.guest_invoices to authenticated;
select app.grant_columns('public.night_audits', 'insert', 'authenticated', array['updated_at']);
select app.grant_columns('public.guest_invoices', 'insert', 'authenticated', array['updated_at']);
select app.create_tenant_policies('public.night_audits',
    array['owner', 'manager', 'front_desk'], array['owner', 'manager', 'front_desk'],
    array[]::text[], array[]::text[]);
select app.create_tenant_policies('public.guest_invoices',
    array['owner', 'manager', 'front_desk'], array['owner', 'manager', 'front_desk'],
    array[]::text[], array[]::text[]);

-- Series: the server makes them; laptops read them.
grant select on public.guest_invoice_series to authenticated;
select app.create_tenant_policies('public.guest_invoice_series',
    array['owner', 'manager', 'front_desk'], array[]::text[], array[]::text[], array[]::text[]);

-- The new columns of existing tables: a column grant names columns, so added ones need their own.
grant insert (charge_type, quantity, applies_to_entry_id, tax_rate_bp) on public.folio_entries to authenticated;
grant insert (night_audit_hour), update (night_audit_hour) on public.properties to authenticated;
