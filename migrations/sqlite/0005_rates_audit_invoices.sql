-- Rates, taxes, charge items, night audits and guest invoices (the server's
-- `…2000_rates_taxes_audit_invoices.sql`), exactly the synced columns; folio entries learn their
-- charge type, quantity and the entry a tax applies to; properties their night-audit hour.
alter table folio_entries add column charge_type text;
alter table folio_entries add column quantity integer;
alter table folio_entries add column applies_to_entry_id text;
alter table folio_entries add column tax_rate_bp integer;
alter table properties add column night_audit_hour integer;

create table rate_plans (
    tenant_id text,
    id text primary key,
    property_id text,
    room_type_id text,
    name text,
    currency text,
    base_price_minor integer,
    active boolean,
    created_at text,
    updated_at text
);

create table rate_plan_prices (
    tenant_id text,
    id text primary key,
    rate_plan_id text,
    name text,
    starts_on text,
    ends_on text,
    weekdays integer,
    price_minor integer,
    created_at text,
    updated_at text
);

create table reservation_nights (
    tenant_id text,
    id text primary key,
    reservation_id text,
    night text,
    price_minor integer,
    currency text,
    rate_plan_id text,
    created_at text,
    updated_at text
);

create table property_taxes (
    tenant_id text,
    id text primary key,
    property_id text,
    name text,
    kind text,
    charge_type text,
    rate_bp integer,
    included boolean,
    amount_minor integer,
    exempt_under_age integer,
    active boolean,
    created_at text,
    updated_at text
);

create table charge_items (
    tenant_id text,
    id text primary key,
    property_id text,
    name text,
    charge_type text,
    price_minor integer,
    currency text,
    active boolean,
    created_at text,
    updated_at text
);

create table night_audits (
    tenant_id text,
    id text primary key,
    property_id text,
    business_date text,
    rooms_sold integer,
    no_shows integer,
    closed_by text,
    created_by text,
    created_at text,
    updated_at text
);

create table guest_invoice_series (
    tenant_id text,
    id text primary key,
    device_id text,
    prefix text,
    created_at text,
    updated_at text
);

create table guest_invoices (
    tenant_id text,
    id text primary key,
    series_id text,
    number integer,
    kind text,
    corrects_invoice_id text,
    property_id text,
    reservation_id text,
    folio_id text,
    bill_to text,
    currency text,
    net_minor integer,
    tax_minor integer,
    total_minor integer,
    paid_minor integer,
    lines json_text,
    taxes json_text,
    issued_on text,
    issued_by text,
    created_at text,
    updated_at text
);

create index rate_plans_room_type_idx on rate_plans (room_type_id);
create index rate_plan_prices_plan_idx on rate_plan_prices (rate_plan_id);
create index reservation_nights_night_idx on reservation_nights (reservation_id, night);
create index property_taxes_property_idx on property_taxes (property_id);
create index charge_items_property_idx on charge_items (property_id);
create index night_audits_property_idx on night_audits (property_id, business_date);
create index folio_entries_business_date_idx on folio_entries (business_date);
-- a series' numbers are unique here too: two issues racing on one laptop cannot share a number
create unique index guest_invoices_number_key on guest_invoices (series_id, number);
create index guest_invoices_reservation_idx on guest_invoices (reservation_id);
