-- The desk's money, first slice: folios and their append-only entries (issue 17). Whatever counts
-- is a ledger: a payment is an entry, two desks taking payments offline make two entries, and
-- what a stay has paid is derived from them here (never a total two laptops overwrite).
--
-- - folios: one or more per stay (the guest's, a company's), open or closed. A stay's guest
--   folio has a deterministic id (UUIDv5 of the stay, `pms_sync_protocol::derived`), so two
--   laptops opening it offline make one.
-- - folio_entries: charge, payment, refund, adjustment, tax; an amount in minor units (positive;
--   an adjustment signed, never zero); a voided entry is cancelled by another entry that names
--   it (`voids_entry_id`: same folio, kind and amount; once), never deleted or edited.
-- - no card numbers in free text: a run of 13 to 19 digits that passes the Luhn check is refused
--   (the same rule as `pms_sync_protocol::card`, which the desk applies first).
-- - reservations.deposit_paid_cents and payment_status follow a stay's entries (payments minus
--   refunds, voided entries and their voids left out) once it has any; laptops cannot write them.

-- Whether `text` holds a card number: a maximal run of digits, single spaces or dashes between
-- them allowed, of 13 to 19 digits whose Luhn checksum is 0.
create function app.contains_card_number(input text) returns boolean
language plpgsql immutable parallel safe
set search_path = pg_catalog
as $$
declare
    run text;
    digits text;
    total integer;
    d integer;
    i integer;
begin
    if input is null then
        return false;
    end if;
    for run in select m[1] from regexp_matches(input, '([0-9](?:[ -]?[0-9])*)', 'g') as m loop
        digits := regexp_replace(run, '[^0-9]', '', 'g');
        if length(digits) between 13 and 19 then
            total := 0;
            for i in 0 .. length(digits) - 1 loop
                d := substr(digits, length(digits) - i, 1)::integer;
                if i % 2 = 1 then
                    d := d * 2;
                    if d > 9 then
                        d := d - 9;
                    end if;
                end if;
                total := total + d;
            end loop;
            if total % 10 = 0 then
                return true;
            end if;
        end if;
    end loop;
    return false;
end
$$;
grant execute on function app.contains_card_number(text) to authenticated, service_role;

create table public.folios (
    tenant_id uuid not null,
    id uuid not null default app.uuid_generate_v7(),
    property_id uuid not null,
    reservation_id uuid not null,
    kind text not null default 'guest' constraint folios_kind_check check (kind in ('guest', 'company')),
    -- who the folio is for, as printed (a company's name); the stay's guest when null
    name text,
    status text not null default 'open' constraint folios_status_check check (status in ('open', 'closed')),
    closed_at timestamptz,
    currency char(3) not null constraint folios_currency_check check (currency ~ '^[A-Z]{3}$'),
    created_by uuid,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    constraint folios_closed_at_check check (status <> 'closed' or closed_at is not null),
    constraint folios_no_card_number_check check (not app.contains_card_number(name)),
    -- lets an entry require that its stay is its folio's
    constraint folios_entry_key unique (tenant_id, id, reservation_id),
    foreign key (tenant_id, property_id) references public.properties (tenant_id, id),
    foreign key (tenant_id, reservation_id) references public.reservations (tenant_id, id)
);
comment on column public.folios.id is
    'A stay''s guest folio: UUIDv5 of the stay (pms_sync_protocol::derived::guest_folio_id), one per stay whichever laptop opens it.';
create index folios_reservation_idx on public.folios (tenant_id, reservation_id);

create table public.folio_entries (
    tenant_id uuid not null,
    id uuid not null default app.uuid_generate_v7(),
    folio_id uuid not null,
    reservation_id uuid not null,
    kind text not null constraint folio_entries_kind_check
        check (kind in ('charge', 'payment', 'refund', 'adjustment', 'tax')),
    -- minor units of the currency (cents; yen; fils): positive, an adjustment signed
    amount_minor bigint not null,
    currency char(3) not null constraint folio_entries_currency_check check (currency ~ '^[A-Z]{3}$'),
    -- the property's business date the entry belongs to
    business_date date not null default current_date,
    description text,
    payment_method text constraint folio_entries_payment_method_check
        check (payment_method in ('cash', 'card', 'transfer', 'other')),
    -- the payment provider's or bank's reference: never a card number
    external_reference text,
    -- the entry this one cancels (a void); both then count for nothing
    voids_entry_id uuid,
    created_by uuid,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    -- only judges known kinds, so an unknown kind is reported by the kind check
    constraint folio_entries_amount_check check (
        kind not in ('charge', 'payment', 'refund', 'adjustment', 'tax')
        or (kind = 'adjustment' and amount_minor <> 0)
        or (kind <> 'adjustment' and amount_minor > 0)),
    constraint folio_entries_payment_method_kind_check check (
        (payment_method is not null) = (kind in ('payment', 'refund'))
        or kind not in ('charge', 'payment', 'refund', 'adjustment', 'tax')),
    constraint folio_entries_no_card_number_check check (
        not app.contains_card_number(description) and not app.contains_card_number(external_reference)),
    foreign key (tenant_id, folio_id, reservation_id) references public.folios (tenant_id, id, reservation_id),
    foreign key (tenant_id, voids_entry_id) references public.folio_entries (tenant_id, id)
);
-- an entry is voided once
create unique index folio_entries_voids_entry_key on public.folio_entries (tenant_id, voids_entry_id)
    where voids_entry_id is not null;
-- a stay's entries (its balance), a folio's entries in order
create index folio_entries_reservation_idx on public.folio_entries (tenant_id, reservation_id);
create index folio_entries_folio_idx on public.folio_entries (tenant_id, folio_id, created_at);

-- What the columns alone cannot say, checked before an entry goes in (security definer: the folio
-- and the voided entry decide, whatever the caller may read), each refused with a name of its
-- own: a closed folio takes no new entries (`folio_closed` at the push); an entry is in its
-- folio's currency; a void cancels an entry of the same folio, kind and amount.
create function app.folio_entries_check() returns trigger
language plpgsql security definer
set search_path = pg_catalog, public, app
as $$
declare
    folio record;
    voided record;
begin
    select f.status, f.currency into folio
      from public.folios f where f.tenant_id = new.tenant_id and f.id = new.folio_id;
    -- a missing folio is reported by the foreign key
    if found and folio.status = 'closed' then
        raise exception 'the folio is closed: it takes no new entries'
            using errcode = '23514', constraint = 'folio_entries_folio_closed';
    end if;
    if found and folio.currency is distinct from new.currency then
        raise exception 'an entry is in its folio''s currency (%)', folio.currency
            using errcode = '23514', constraint = 'folio_entries_currency_of_folio';
    end if;
    if new.voids_entry_id is not null then
        select e.folio_id, e.kind, e.amount_minor into voided
          from public.folio_entries e where e.tenant_id = new.tenant_id and e.id = new.voids_entry_id;
        if found and (voided.folio_id, voided.kind, voided.amount_minor)
                     is distinct from (new.folio_id, new.kind, new.amount_minor) then
            raise exception 'a void names an entry of the same folio, kind and amount'
                using errcode = '23514', constraint = 'folio_entries_void_matches';
        end if;
    end if;
    return new;
end
$$;

-- Entries are immutable: the folio only grows (a void is a new entry).
create function app.reject_folio_entry_change() returns trigger
language plpgsql
as $$
begin
    raise exception 'folio_entries is append-only: post an entry that voids it instead'
        using errcode = 'insufficient_privilege';
end
$$;

-- What a stay has paid, from its entries: payments minus refunds, leaving out voided entries and
-- their voids; its payment status by the same rule as the desk's mirror. Null for a stay without
-- entries (imported with a paid amount, say), which keeps its values.
create function app.stay_payment(
    stay_tenant uuid, stay_id uuid, total bigint, out deposit bigint, out status text
)
language plpgsql stable security definer
set search_path = pg_catalog, public, app
as $$
declare
    paid bigint;
    refunded bigint;
begin
    if not exists (select 1 from public.folio_entries e
                    where e.tenant_id = stay_tenant and e.reservation_id = stay_id) then
        return;
    end if;
    select coalesce(sum(e.amount_minor) filter (where e.kind = 'payment'), 0)
           - coalesce(sum(e.amount_minor) filter (where e.kind = 'refund'), 0),
           coalesce(sum(e.amount_minor) filter (where e.kind = 'refund'), 0)
      into paid, refunded
      from public.folio_entries e
     where e.tenant_id = stay_tenant and e.reservation_id = stay_id
       and e.voids_entry_id is null
       and not exists (select 1 from public.folio_entries v
                        where v.tenant_id = e.tenant_id and v.voids_entry_id = e.id);
    deposit := greatest(paid, 0);
    status := case
        when paid <= 0 and refunded > 0 then 'refunded'
        when paid <= 0 then 'pending'
        when paid >= total then 'paid'
        else 'partial'
    end;
end
$$;

-- Every write of a stay keeps its paid amount and status equal to its entries.
create function app.reservations_derive_paid() returns trigger
language plpgsql security definer
set search_path = pg_catalog, public, app
as $$
declare
    derived record;
begin
    select * into derived from app.stay_payment(new.tenant_id, new.id, new.total_amount_cents);
    if derived.deposit is not null then
        new.deposit_paid_cents := derived.deposit;
        new.payment_status := derived.status;
    end if;
    return new;
end
$$;

-- New entries move their stays' paid amounts: one update per stay and statement, and none where
-- the stay already holds what its entries give (a seeded or imported stay with its payments).
create function app.folio_entries_move_paid() returns trigger
language plpgsql security definer
set search_path = pg_catalog, public, app
as $$
begin
    update public.reservations r
       set deposit_paid_cents = r.deposit_paid_cents
     where (r.tenant_id, r.id) in (select distinct n.tenant_id, n.reservation_id from new_rows n)
       and not exists (select 1 from app.stay_payment(r.tenant_id, r.id, r.total_amount_cents) p
                        where p.deposit = r.deposit_paid_cents and p.status = r.payment_status);
    return null;
end
$$;

create trigger folios_updated_at before update on public.folios
    for each row execute function public.update_updated_at_column();
create trigger folio_entries_check before insert on public.folio_entries
    for each row execute function app.folio_entries_check();
create trigger folio_entries_append_only before update or delete on public.folio_entries
    for each row execute function app.reject_folio_entry_change();
create trigger folio_entries_move_paid after insert on public.folio_entries
    referencing new table as new_rows
    for each statement execute function app.folio_entries_move_paid();
create trigger reservations_derive_paid before update on public.reservations
    for each row execute function app.reservations_derive_paid();

-- The change feed, as for every synced table (statement triggers, see
-- 20261125003300_bulk_write_triggers.sql).
do $$
declare
    synced text;
begin
    foreach synced in array array['folios', 'folio_entries'] loop
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

alter function app.folio_entries_check() owner to service_role;
alter function app.stay_payment(uuid, uuid, bigint) owner to service_role;
alter function app.reservations_derive_paid() owner to service_role;
alter function app.folio_entries_move_paid() owner to service_role;
grant all on public.folios, public.folio_entries to service_role;
-- Folios: the front office reads and opens them and closes them; housekeeping sees no money.
grant select on public.folios to authenticated;
select app.grant_columns('public.folios', 'insert', 'authenticated', array['updated_at']);
grant update (name, status, closed_at) on public.folios to authenticated;
select app.create_tenant_policies('public.folios',
    array['owner', 'manager', 'front_desk'], array['owner', 'manager', 'front_desk'],
    array['owner', 'manager', 'front_desk'], array[]::text[]);
-- Entries: append-only for the desk.
grant select on public.folio_entries to authenticated;
select app.grant_columns('public.folio_entries', 'insert', 'authenticated', array['updated_at']);
select app.create_tenant_policies('public.folio_entries',
    array['owner', 'manager', 'front_desk'], array['owner', 'manager', 'front_desk'],
    array[]::text[], array[]::text[]);
