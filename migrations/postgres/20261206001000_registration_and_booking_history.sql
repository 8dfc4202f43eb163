-- What the desk captures at check-in for the registration card, and a booking's history (issue 18
-- items 1 and 5).
--
-- - guest_documents: an identity document a guest showed (type, number, issuing country,
--   expiry), captured at the stay it was shown for. It is kept only as long as the property's
--   policy says: `properties.document_retention_days` after that stay's check-out (after its
--   capture when no stay is named). The retention job deletes the expired ones here, and the
--   deletes reach every laptop through the feed; a desk also stops showing and printing them
--   on the day they expire, offline. A guest's documents go when the guest is anonymized.
-- - reservation_events: what happened to a booking and who did it (booked, dates or room
--   changed, checked in or out, cancelled, no-show, registration taken). Appended by the desk
--   that did it, never changed: the booking's history on every laptop.

alter table public.properties add column document_retention_days integer not null default 365
    constraint properties_document_retention_days_check check (document_retention_days between 1 and 3650);
comment on column public.properties.document_retention_days is
    'Days after a stay''s check-out that the identity documents captured for it are kept.';

create table public.guest_documents (
    tenant_id uuid not null,
    id uuid not null default app.uuid_generate_v7(),
    guest_id uuid not null,
    property_id uuid not null,
    -- the stay the document was shown for; its check-out starts the retention period
    reservation_id uuid,
    kind text not null constraint guest_documents_kind_check
        check (kind in ('passport', 'national_id', 'driving_licence', 'residence_permit', 'other')),
    number text not null constraint guest_documents_number_check
        check (length(btrim(number)) between 1 and 40),
    issuing_country char(2) constraint guest_documents_issuing_country_check check (issuing_country ~ '^[A-Z]{2}$'),
    expires_on date,
    captured_by uuid,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    -- a document number is never a card number typed into the wrong field
    constraint guest_documents_no_card_number_check check (not app.contains_card_number(number)),
    foreign key (tenant_id, guest_id) references public.guests (tenant_id, id) on delete cascade,
    foreign key (tenant_id, property_id) references public.properties (tenant_id, id),
    foreign key (tenant_id, reservation_id) references public.reservations (tenant_id, id) on delete cascade
);
create index guest_documents_guest_idx on public.guest_documents (tenant_id, guest_id);
create index guest_documents_reservation_idx on public.guest_documents (tenant_id, reservation_id);

create table public.reservation_events (
    tenant_id uuid not null,
    id uuid not null default app.uuid_generate_v7(),
    reservation_id uuid not null,
    action text not null constraint reservation_events_action_check
        check (action in ('booked', 'changed', 'checked_in', 'checked_out', 'cancelled', 'no_show', 'registered')),
    -- what changed, column by column: {"check_out_date": ["2026-12-03", "2026-12-05"]}
    detail jsonb constraint reservation_events_detail_check check (detail is null or jsonb_typeof(detail) = 'object'),
    -- the signed-in colleague's account (staff.user_id); null on a local desk
    staff_user_id uuid,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id)
    -- No foreign key to the booking, on purpose: a desk's booking the server refuses (a double
    -- booking) comes back as one conflict for the clerk to resolve, and its `booked` event waits
    -- here for it rather than being a second conflict of its own. Bookings are never deleted.
);
create index reservation_events_reservation_idx on public.reservation_events (tenant_id, reservation_id, created_at);

create trigger guest_documents_updated_at before update on public.guest_documents
    for each row execute function public.update_updated_at_column();
create trigger reservation_events_updated_at before update on public.reservation_events
    for each row execute function public.update_updated_at_column();

-- A booking's history only grows.
create function app.reject_reservation_event_change() returns trigger
language plpgsql
as $$
begin
    raise exception 'reservation_events is append-only: a booking''s history is never rewritten'
        using errcode = 'insufficient_privilege';
end
$$;
create trigger reservation_events_append_only before update or delete on public.reservation_events
    for each row execute function app.reject_reservation_event_change();

-- An anonymized guest keeps no identity document.
create function app.guests_drop_documents() returns trigger
language plpgsql security definer
set search_path = pg_catalog, public
as $$
begin
    delete from public.guest_documents d where d.tenant_id = new.tenant_id and d.guest_id = new.id;
    return null;
end
$$;
alter function app.guests_drop_documents() owner to service_role;
create trigger guests_drop_documents after update of anonymized_at on public.guests
    for each row when (old.anonymized_at is null and new.anonymized_at is not null)
    execute function app.guests_drop_documents();

-- Which of a tenant's documents its properties' policy no longer keeps at `p_now` (on the
-- property's own date): the retention job deletes them, and the desk applies the same rule
-- (`pms_sync_client::registration`) to its mirror.
create function app.expired_guest_documents(p_tenant uuid, p_now timestamptz)
returns setof uuid
language sql stable
set search_path = pg_catalog, public
as $$
    select d.id
      from public.guest_documents d
      join public.properties p on p.tenant_id = d.tenant_id and p.id = d.property_id
      left join public.reservations r on r.tenant_id = d.tenant_id and r.id = d.reservation_id
     where d.tenant_id = p_tenant
       and coalesce(r.check_out_date, (d.created_at at time zone p.timezone)::date)
           + p.document_retention_days <= (p_now at time zone p.timezone)::date
$$;
grant execute on function app.expired_guest_documents(uuid, timestamptz) to service_role;

-- The change feed, as for every synced table.
do $$
declare
    synced text;
begin
    foreach synced in array array['guest_documents', 'reservation_events'] loop
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

grant all on public.guest_documents, public.reservation_events to service_role;

-- Identity documents: the front office captures, corrects and removes them; housekeeping never
-- sees them.
grant select, delete on public.guest_documents to authenticated;
select app.grant_columns('public.guest_documents', 'insert', 'authenticated', array['updated_at']);
select app.grant_columns('public.guest_documents', 'update', 'authenticated',
    array['tenant_id', 'id', 'guest_id', 'property_id', 'captured_by', 'created_at', 'updated_at']);
select app.create_tenant_policies('public.guest_documents',
    array['owner', 'manager', 'front_desk'], array['owner', 'manager', 'front_desk'],
    array['owner', 'manager', 'front_desk'], array['owner', 'manager', 'front_desk']);

-- A booking's history: read by everyone who reads bookings, appended by the front office.
grant select on public.reservation_events to authenticated;
select app.grant_columns('public.reservation_events', 'insert', 'authenticated', array['updated_at']);
select app.create_tenant_policies('public.reservation_events',
    array['owner', 'manager', 'front_desk', 'housekeeping'], array['owner', 'manager', 'front_desk'],
    array[]::text[], array[]::text[]);

-- The property's retention setting is the owner's and the manager's, as the rest of the property.
grant insert (document_retention_days), update (document_retention_days) on public.properties to authenticated;
