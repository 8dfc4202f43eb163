-- Identity documents captured at check-in and a booking's history (the server's
-- `…1000_registration_and_booking_history.sql`), exactly the synced columns; properties learn how
-- long they keep documents.
alter table properties add column document_retention_days integer;

create table guest_documents (
    tenant_id text,
    id text primary key,
    guest_id text,
    property_id text,
    reservation_id text,
    kind text,
    number text,
    issuing_country text,
    expires_on text,
    captured_by text,
    created_at text,
    updated_at text
);

create table reservation_events (
    tenant_id text,
    id text primary key,
    reservation_id text,
    action text,
    detail json_text,
    staff_user_id text,
    created_at text,
    updated_at text
);

create index guest_documents_guest_idx on guest_documents (guest_id);
create index guest_documents_reservation_idx on guest_documents (reservation_id);
create index reservation_events_reservation_idx on reservation_events (reservation_id, created_at);
