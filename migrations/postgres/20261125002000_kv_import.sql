-- The legacy import (`pms-server kv-import`): its bookkeeping, and the dual-write that keeps the
-- old admin panel's key-value store (public.kv_store_0bdba248) following the tables while both
-- run side by side.
--
-- Everything lives in the schema kv_import, which no API role may use: the quarantine holds
-- whole legacy records of every tenant. Imported rows themselves need nothing here: their ids
-- are UUIDv5 of (tenant's legacy id, kind, legacy id), every table keeps the legacy id in
-- legacy_id (tenants in external_id), reservations their legacy code in
-- legacy_confirmation_code and members theirs in legacy_membership_number (see the migrations
-- 000200 to 000800). When the store is retired, `kv-import --dual-write off` and
-- `drop schema kv_import cascade` remove every trace.

create schema kv_import;
comment on schema kv_import is
    'Legacy import (pms-server kv-import): quarantine, ordering queue, run reports, dual-write triggers.';
revoke all on schema kv_import from public;

-- Records that could not be imported, with why. A record leaves when a later run imports it;
-- a record no longer in the store leaves at the end of the next complete run.
create table kv_import.import_quarantine (
    key text primary key,
    prefix text generated always as (split_part(key, ':', 1)) stored,
    -- the stored value, verbatim (it may not even be JSON)
    value text not null,
    reason text not null,
    first_seen_at timestamptz not null default now(),
    last_seen_at timestamptz not null default now()
);
create index import_quarantine_prefix_idx on kv_import.import_quarantine (prefix);

-- The import writes reservations, members and ledger entries in the order they were created, not
-- in key order (RES-1000 sorts before RES-101): confirmation and membership numbers follow that
-- order, and each ledger entry meets its member's balance as it was. Every run empties the queue,
-- fills it reading the store once in key order, then drains it in (tenant, sort_at, key) order.
-- Ledger entries only need their member's order, so they are split in two parts by member,
-- drained side by side. Unlogged: a database crash that empties it loses nothing the next run
-- does not refill.
create unlogged table kv_import.queue (
    entity text not null,
    part smallint not null default 0,
    -- the tenant's legacy id
    tenant text not null,
    sort_at timestamptz not null,
    key text not null,
    primary key (entity, part, tenant, sort_at, key)
);

-- One row per run, with its report as printed.
create table kv_import.runs (
    id bigint generated always as identity primary key,
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    -- the source database, password hidden
    source text not null,
    report jsonb
);

-- Dual-write ----------------------------------------------------------------------------------
--
-- While on, every write of a guest or a reservation is written back to the store under its
-- legacy key, in the legacy shape (camelCase, cents, ISO timestamps), merged over the stored
-- value so that fields the tables do not hold survive. A row born in the new system is written
-- under its UUID (the import maps such an id back to the same row). Deleted and soft-deleted
-- rows are removed from the store. The import's own writes are not written back (it sets
-- pms.kv_import for its transactions). Tenants without a legacy id are unknown to the old panel
-- and skipped.

-- A timestamp as the old panel wrote it: milliseconds and Z, or microseconds where the row has
-- them (so that importing the written-back value gives the row back unchanged).
create function kv_import.legacy_ts(p_at timestamptz) returns text
language sql stable
as $$
    select case
        when p_at is null then null
        when extract(microseconds from p_at)::bigint % 1000 = 0
            then to_char(p_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
        else to_char(p_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
    end
$$;

-- Upserts or deletes one legacy record (value null: delete).
create function kv_import.write_back(p_key text, p_value jsonb) returns void
language plpgsql
set search_path = pg_catalog, public
as $$
begin
    if p_value is null then
        delete from public.kv_store_0bdba248 where key = p_key;
    else
        insert into public.kv_store_0bdba248 as s (key, value) values (p_key, p_value)
        on conflict (key) do update
            set value = case when jsonb_typeof(s.value) = 'object' then s.value else '{}'::jsonb end
                        || excluded.value;
    end if;
end
$$;

create function kv_import.write_back_guest() returns trigger
language plpgsql security definer
set search_path = pg_catalog, public
as $$
declare
    r public.guests;
    tenant_key text;
    legacy text;
    shaped jsonb;
begin
    if current_setting('pms.kv_import', true) = 'on' then
        return null;
    end if;
    r := case when tg_op = 'DELETE' then old else new end;
    select t.external_id into tenant_key from public.tenants t where t.id = r.tenant_id;
    if tenant_key is null then
        return null;
    end if;
    legacy := coalesce(r.legacy_id, r.id::text);
    if tg_op = 'DELETE' or r.deleted_at is not null or r.anonymized_at is not null then
        perform kv_import.write_back(format('guest:%s:%s', tenant_key, legacy), null);
        return null;
    end if;
    shaped := jsonb_build_object(
        'id', legacy,
        'tenantId', tenant_key,
        'firstName', r.first_name,
        'lastName', r.last_name,
        'fullName', r.full_name,
        'email', r.email,
        'phone', r.phone,
        'address', nullif(jsonb_strip_nulls(jsonb_build_object(
            'line1', r.address_line1, 'line2', r.address_line2, 'city', r.city, 'region', r.region,
            'postalCode', r.postal_code, 'country', r.country_code)), '{}'::jsonb),
        'dateOfBirth', r.date_of_birth,
        'nationality', r.nationality,
        'segment', initcap(r.segment),
        'vipStatus', case r.vip_status when 'vip' then 'VIP' when 'vvip' then 'VVIP' else initcap(r.vip_status) end,
        'totalBookings', r.total_bookings,
        'totalSpent', r.total_spent_cents,
        'lifetimeValue', r.lifetime_value_cents,
        'averageRating', r.average_rating,
        'lastStayAt', kv_import.legacy_ts(r.last_stay_at),
        'currency', r.currency,
        'communicationPreferences', jsonb_build_object(
            'email', r.contact_by_email, 'sms', r.contact_by_sms,
            'phone', r.contact_by_phone, 'marketing', r.marketing_consent),
        'tags', to_jsonb(r.tags),
        'notes', r.notes,
        'createdAt', kv_import.legacy_ts(r.created_at),
        'updatedAt', kv_import.legacy_ts(r.updated_at));
    if r.metadata <> '{}'::jsonb then
        shaped := shaped || jsonb_build_object('metadata', r.metadata);
    end if;
    perform kv_import.write_back(format('guest:%s:%s', tenant_key, legacy), shaped);
    return null;
end
$$;

create function kv_import.write_back_reservation() returns trigger
language plpgsql security definer
set search_path = pg_catalog, public
as $$
declare
    r public.reservations;
    tenant_key text;
    legacy text;
    guest_key text;
    category_code text;
    category_name text;
    room_number text;
begin
    if current_setting('pms.kv_import', true) = 'on' then
        return null;
    end if;
    r := case when tg_op = 'DELETE' then old else new end;
    select t.external_id into tenant_key from public.tenants t where t.id = r.tenant_id;
    if tenant_key is null then
        return null;
    end if;
    legacy := coalesce(r.legacy_id, r.id::text);
    if tg_op = 'DELETE' or r.deleted_at is not null then
        perform kv_import.write_back(format('reservation:%s:%s', tenant_key, legacy), null);
        return null;
    end if;
    select coalesce(g.legacy_id, g.id::text) into guest_key
      from public.guests g where g.tenant_id = r.tenant_id and g.id = r.guest_id;
    select rt.code, rt.name into category_code, category_name
      from public.room_types rt where rt.tenant_id = r.tenant_id and rt.id = r.room_type_id;
    select rm.number into room_number
      from public.rooms rm where rm.tenant_id = r.tenant_id and rm.id = r.room_id;
    perform kv_import.write_back(format('reservation:%s:%s', tenant_key, legacy), jsonb_build_object(
        'id', legacy,
        'tenantId', tenant_key,
        'guestId', guest_key,
        'guestName', r.guest_name,
        'guestEmail', r.guest_email,
        'guestPhone', r.guest_phone,
        -- the legacy code where there is one; a new booking's number otherwise (marked as ours)
        'confirmationNumber', coalesce(r.legacy_confirmation_code, r.confirmation_number::text),
        'pmsConfirmationNumber', r.confirmation_number,
        'status', r.status,
        'source', r.source,
        'checkInDate', r.check_in_date,
        'checkOutDate', r.check_out_date,
        'numberOfNights', r.nights,
        'roomCategoryId', category_code,
        'roomCategory', category_name,
        'roomNumber', room_number,
        'numberOfRooms', r.room_count,
        'numberOfAdults', r.adults,
        'numberOfChildren', r.children,
        'ratePerNight', r.rate_per_night_cents,
        'totalAmount', r.total_amount_cents,
        'currency', r.currency,
        'depositPaid', r.deposit_paid_cents,
        'balanceDue', r.balance_due_cents,
        'paymentStatus', r.payment_status,
        'specialRequests', r.special_requests,
        'notes', r.notes,
        'createdBy', r.created_by,
        'modifiedBy', r.modified_by,
        'confirmedAt', kv_import.legacy_ts(r.confirmed_at),
        'checkedInAt', kv_import.legacy_ts(r.checked_in_at),
        'checkedOutAt', kv_import.legacy_ts(r.checked_out_at),
        'cancelledAt', kv_import.legacy_ts(r.cancelled_at),
        'noShowAt', kv_import.legacy_ts(r.no_show_at),
        'cancellationReason', r.cancellation_reason,
        'createdAt', kv_import.legacy_ts(r.created_at),
        'updatedAt', kv_import.legacy_ts(r.updated_at)));
    return null;
end
$$;

-- Switches the dual-write on (creates the triggers) or off (drops them). On needs the store in
-- this database, keyed by `key`, and writable by the owner of the write-back functions.
create function kv_import.set_dual_write(p_on boolean) returns void
language plpgsql
set search_path = pg_catalog, public
as $$
declare
    writer regrole;
begin
    drop trigger if exists kv_dual_write on public.guests;
    drop trigger if exists kv_dual_write on public.reservations;
    if not p_on then
        return;
    end if;
    if to_regclass('public.kv_store_0bdba248') is null then
        raise exception 'the legacy store public.kv_store_0bdba248 is not in this database'
            using errcode = 'undefined_table',
                  hint = 'dual-write writes the store from triggers, so the store must live in the database of the tables';
    end if;
    if not exists (
        select 1 from pg_index i
          join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
         where i.indrelid = 'public.kv_store_0bdba248'::regclass and i.indisunique
           and i.indnkeyatts = 1 and a.attname = 'key') then
        raise exception 'public.kv_store_0bdba248 has no primary key or unique index on key'
            using errcode = 'invalid_table_definition';
    end if;
    select p.proowner::regrole into writer from pg_proc p where p.oid = 'kv_import.write_back_guest()'::regprocedure;
    if not has_table_privilege(writer, 'public.kv_store_0bdba248', 'INSERT, UPDATE, DELETE') then
        raise exception 'the dual-write runs as % which may not write public.kv_store_0bdba248', writer
            using errcode = 'insufficient_privilege';
    end if;
    create trigger kv_dual_write after insert or update or delete on public.guests
        for each row execute function kv_import.write_back_guest();
    create trigger kv_dual_write after insert or update or delete on public.reservations
        for each row execute function kv_import.write_back_reservation();
end
$$;

comment on function kv_import.set_dual_write(boolean) is
    'pms-server kv-import --dual-write on|off: write guests and reservations back to the legacy store.';
