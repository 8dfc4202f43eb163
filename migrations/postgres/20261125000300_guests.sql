-- Guests (the CRM profile) and their preferences.

create table public.guests (
    tenant_id uuid not null references public.tenants (id),
    id uuid not null default app.uuid_generate_v7(),
    first_name text not null default '',
    last_name text not null default '',
    full_name text generated always as (btrim(first_name || ' ' || last_name)) stored,
    email text constraint guests_email_check check (email ~ '^[^@\s]+@[^@\s]+$'),
    phone text,
    -- the address is one field group: it merges as a unit when two laptops edit it
    address_line1 text,
    address_line2 text,
    city text,
    region text,
    postal_code text,
    country_code char(2) constraint guests_country_code_check check (country_code ~ '^[A-Z]{2}$'),
    date_of_birth date constraint guests_date_of_birth_check check (date_of_birth >= date '1900-01-01'),
    nationality char(2) constraint guests_nationality_check check (nationality ~ '^[A-Z]{2}$'),
    segment text not null default 'regular' constraint guests_segment_check
        check (segment in ('regular', 'business', 'leisure', 'group')),
    vip_status text not null default 'none' constraint guests_vip_status_check
        check (vip_status in ('none', 'regular', 'vip', 'vvip')),
    -- metrics kept by the server from the guest's reservations; read-only for laptops
    total_bookings integer not null default 0 constraint guests_total_bookings_check check (total_bookings >= 0),
    total_spent_cents bigint not null default 0 constraint guests_total_spent_cents_check check (total_spent_cents >= 0),
    lifetime_value_cents bigint not null default 0 constraint guests_lifetime_value_cents_check check (lifetime_value_cents >= 0),
    average_rating numeric(3, 2) constraint guests_average_rating_check check (average_rating between 1 and 5),
    last_stay_at timestamptz,
    currency char(3) not null default 'USD' constraint guests_currency_check check (currency ~ '^[A-Z]{3}$'),
    -- communication preferences
    contact_by_email boolean not null default true,
    contact_by_sms boolean not null default false,
    contact_by_phone boolean not null default false,
    marketing_consent boolean not null default false,
    tags text[] not null default '{}',
    notes text,
    metadata jsonb not null default '{}' constraint guests_metadata_check check (jsonb_typeof(metadata) = 'object'),
    -- lower-cased name, email and phone: what guest search matches against
    search_text text generated always as (
        lower(btrim(first_name || ' ' || last_name) || ' ' || coalesce(email, '') || ' ' || coalesce(phone, ''))
    ) stored,
    legacy_id text,
    -- set when personal data was erased; an erased guest is never resurrected by a late edit
    anonymized_at timestamptz,
    deleted_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id)
);
comment on column public.guests.search_text is
    'Generated: lower-cased full name, email and phone, indexed with pg_trgm for search as you type.';
create unique index guests_legacy_id_key on public.guests (tenant_id, legacy_id) where legacy_id is not null;
-- Trigram search. Not tenant-leading on purpose: in a GIN index the tenant key would be one huge
-- posting list that every search walks; the trigrams of a term select a few rows across all
-- tenants, and the tenant filter rechecks those.
create index guests_search_trgm_idx on public.guests using gin (search_text gin_trgm_ops);
-- emails are compared case-blind (duplicates are allowed: families share an address)
create index guests_email_idx on public.guests (tenant_id, lower(email)) where email is not null;
create index guests_name_idx on public.guests (tenant_id, last_name, first_name) where deleted_at is null;
create index guests_segment_idx on public.guests (tenant_id, segment, vip_status) where deleted_at is null;
create index guests_tags_idx on public.guests using gin (tenant_id, tags);
create index guests_metadata_idx on public.guests using gin (metadata jsonb_path_ops);

create table public.guest_preferences (
    tenant_id uuid not null,
    id uuid not null default app.uuid_generate_v7(),
    guest_id uuid not null,
    room_type text,
    bed_type text constraint guest_preferences_bed_type_check check (bed_type in ('king', 'queen', 'twin', 'double')),
    smoking text constraint guest_preferences_smoking_check check (smoking in ('smoking', 'non_smoking', 'no_preference')),
    floor_preference text constraint guest_preferences_floor_preference_check
        check (floor_preference in ('low', 'mid', 'high', 'specific')),
    specific_floor integer,
    view_preference text,
    pillow_type text,
    room_temperature_c numeric(3, 1) constraint guest_preferences_room_temperature_c_check
        check (room_temperature_c between 10 and 35),
    newspaper text,
    dietary_restrictions text[] not null default '{}',
    allergies text[] not null default '{}',
    favorite_foods text[] not null default '{}',
    favorite_drinks text[] not null default '{}',
    housekeeping_time text constraint guest_preferences_housekeeping_time_check
        check (housekeeping_time in ('morning', 'afternoon', 'evening', 'skip')),
    wake_up_call boolean not null default false,
    wake_up_time time,
    occasion_type text constraint guest_preferences_occasion_type_check
        check (occasion_type in ('birthday', 'anniversary', 'honeymoon', 'business')),
    occasion_date date,
    special_requests text[] not null default '{}',
    accessibility_needs text[] not null default '{}',
    preferred_language text,
    notes text,
    legacy_id text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    -- one preference record per guest
    constraint guest_preferences_guest_key unique (tenant_id, guest_id),
    constraint guest_preferences_specific_floor_check
        check ((floor_preference is not distinct from 'specific') = (specific_floor is not null)),
    constraint guest_preferences_wake_up_check check (not wake_up_call or wake_up_time is not null),
    foreign key (tenant_id, guest_id) references public.guests (tenant_id, id) on delete cascade
);

create trigger guests_updated_at before update on public.guests
    for each row execute function public.update_updated_at_column();
create trigger guest_preferences_updated_at before update on public.guest_preferences
    for each row execute function public.update_updated_at_column();

-- Guest search as you type. Under RLS the trigram operators (not leakproof) would be evaluated
-- after the tenant filter and keep the trigram index unused, so this function applies the tenant
-- and role filter itself and runs as service_role, which lets the index serve the match.
-- A LIKE pattern that matches the text anywhere, with LIKE's own wildcards taken literally.
create function app.contains_pattern(p_text text) returns text
language sql immutable parallel safe
as $$
    select '%' || replace(replace(replace(p_text, '\', '\\'), '%', '\%'), '_', '\_') || '%'
$$;

create function app.search_guests(p_query text, p_limit integer default 20)
returns setof public.guests
language plpgsql stable security definer
set search_path = pg_catalog, public, app
-- With statistics from a sample, the planner sometimes estimated a scan of the whole table as
-- cheaper than the trigram index (tens of ms instead of one or two): within this function only,
-- the index is the way.
set enable_seqscan = off
as $$
declare
    term constant text := lower(btrim(coalesce(p_query, '')));
    wanted constant integer := least(greatest(coalesce(p_limit, 20), 1), 200);
    tenant constant uuid := app.current_tenant_id();
    found_rows integer;
begin
    if term = '' or coalesce(app.current_staff_role() <> all (array['owner', 'manager', 'front_desk']), true) then
        return;
    end if;
    -- Two statements rather than one with OR: each is planned with its actual values (EXECUTE,
    -- not a generic plan) and each alone lets the planner pick the trigram index, which an OR of
    -- the two operators does not. Substring matches first, then fuzzy ones (typos) to fill up.
    -- The tenant is compared as text on purpose: no tenant-leading btree index matches it, so
    -- (with sequential scans off) the trigram index is the only access path; the planner's
    -- estimates for trigram operators are too coarse to trust it to choose. The tenant filter
    -- rechecks the index's candidates.
    return query execute format(
        'select g.* from public.guests g
          where g.tenant_id::text = %L and g.deleted_at is null and g.search_text like %L
          order by word_similarity(%L, g.search_text) desc, g.last_name, g.first_name, g.id
          limit %s',
        tenant, app.contains_pattern(term), term, wanted);
    get diagnostics found_rows = row_count;
    if found_rows < wanted then
        return query execute format(
            'select g.* from public.guests g
              where g.tenant_id::text = %L and g.deleted_at is null and %L <%% g.search_text and g.search_text not like %L
              order by word_similarity(%L, g.search_text) desc, g.last_name, g.first_name, g.id
              limit %s',
            tenant, term, app.contains_pattern(term), term, wanted - found_rows);
    end if;
end
$$;

-- Access -------------------------------------------------------------------------------------

grant all on public.guests, public.guest_preferences to service_role;
revoke all on function app.search_guests(text, integer) from public, anon;
grant execute on function app.search_guests(text, integer) to authenticated, service_role;
grant execute on function app.contains_pattern(text) to authenticated, service_role;
alter function app.search_guests(text, integer) owner to service_role;

-- Guests: the front office (not housekeeping) reads and writes; the metrics are the server's.
grant select on public.guests to authenticated;
select app.grant_columns('public.guests', 'insert', 'authenticated', array[
    'total_bookings', 'total_spent_cents', 'lifetime_value_cents', 'average_rating', 'last_stay_at',
    'legacy_id', 'anonymized_at', 'updated_at']);
select app.grant_columns('public.guests', 'update', 'authenticated', array[
    'total_bookings', 'total_spent_cents', 'lifetime_value_cents', 'average_rating', 'last_stay_at',
    'legacy_id', 'anonymized_at', 'tenant_id', 'id', 'created_at', 'updated_at']);
select app.create_tenant_policies('public.guests',
    array['owner', 'manager', 'front_desk'], array['owner', 'manager', 'front_desk'],
    array['owner', 'manager', 'front_desk'], array[]::text[]);

grant select, delete on public.guest_preferences to authenticated;
select app.grant_columns('public.guest_preferences', 'insert', 'authenticated', array['legacy_id', 'updated_at']);
select app.grant_columns('public.guest_preferences', 'update', 'authenticated', array['legacy_id', 'tenant_id', 'id', 'created_at', 'updated_at']);
select app.create_tenant_policies('public.guest_preferences',
    array['owner', 'manager', 'front_desk'], array['owner', 'manager', 'front_desk'],
    array['owner', 'manager', 'front_desk'], array['owner', 'manager', 'front_desk']);
