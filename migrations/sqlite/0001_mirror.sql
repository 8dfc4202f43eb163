-- The laptop's local mirror: the tenant's synced tables (columns as in
-- sync/protocol/src/tables.rs, checked by a test), guest search, and the sync bookkeeping.
-- Types: uuid, text, dates, timestamps (RFC 3339, UTC) and numeric as text; integers as integer;
-- booleans as `boolean` (0/1); jsonb and arrays as `json_text` (JSON). The declared types tell
-- the client how to turn a row back into the JSON the server takes.

create table plans (
    id text primary key,
    tenant_id text,
    name text,
    display_name text,
    description text,
    price_cents integer,
    currency text,
    billing_interval text,
    limit_users integer,
    limit_properties integer,
    limit_rooms integer,
    limit_bookings_per_month integer,
    limit_api_calls_per_month integer,
    limit_storage_gb integer,
    limit_custom_domains integer,
    features json_text,
    legacy_id text,
    created_at text,
    updated_at text
);

create table feature_flags (
    id text primary key,
    tenant_id text,
    key text,
    name text,
    description text,
    scope text,
    status text,
    enabled_plans json_text,
    rollout_percentage integer,
    legacy_id text,
    created_at text,
    updated_at text
);

create table staff (
    tenant_id text,
    id text primary key,
    user_id text,
    email text,
    display_name text,
    role text,
    enabled boolean,
    last_login_at text,
    created_at text,
    updated_at text
);

create table properties (
    tenant_id text,
    id text primary key,
    name text,
    timezone text,
    currency text,
    address_line1 text,
    address_line2 text,
    city text,
    region text,
    postal_code text,
    country_code text,
    phone text,
    email text,
    legacy_id text,
    deleted_at text,
    created_at text,
    updated_at text
);

create table room_types (
    tenant_id text,
    id text primary key,
    property_id text,
    code text,
    name text,
    description text,
    base_rate_cents integer,
    max_occupancy integer,
    legacy_id text,
    deleted_at text,
    created_at text,
    updated_at text
);

create table rooms (
    tenant_id text,
    id text primary key,
    property_id text,
    room_type_id text,
    number text,
    floor integer,
    housekeeping_status text,
    notes text,
    deleted_at text,
    created_at text,
    updated_at text
);

create table guests (
    tenant_id text,
    id text primary key,
    first_name text,
    last_name text,
    full_name text,
    email text,
    phone text,
    address_line1 text,
    address_line2 text,
    city text,
    region text,
    postal_code text,
    country_code text,
    date_of_birth text,
    nationality text,
    segment text,
    vip_status text,
    total_bookings integer,
    total_spent_cents integer,
    lifetime_value_cents integer,
    average_rating text,
    last_stay_at text,
    currency text,
    contact_by_email boolean,
    contact_by_sms boolean,
    contact_by_phone boolean,
    marketing_consent boolean,
    tags json_text,
    notes text,
    metadata json_text,
    legacy_id text,
    anonymized_at text,
    deleted_at text,
    created_at text,
    updated_at text
);

create table guest_preferences (
    tenant_id text,
    id text primary key,
    guest_id text,
    room_type text,
    bed_type text,
    smoking text,
    floor_preference text,
    specific_floor integer,
    view_preference text,
    pillow_type text,
    room_temperature_c text,
    newspaper text,
    dietary_restrictions json_text,
    allergies json_text,
    favorite_foods json_text,
    favorite_drinks json_text,
    housekeeping_time text,
    wake_up_call boolean,
    wake_up_time text,
    occasion_type text,
    occasion_date text,
    special_requests json_text,
    accessibility_needs json_text,
    preferred_language text,
    notes text,
    legacy_id text,
    created_at text,
    updated_at text
);

create table loyalty_programs (
    tenant_id text,
    id text primary key,
    name text,
    description text,
    enabled boolean,
    tiers json_text,
    points_per_currency_unit text,
    first_stay_bonus_points integer,
    birthday_bonus_points integer,
    point_value_cents text,
    minimum_redemption_points integer,
    points_expiry_days integer,
    currency text,
    legacy_id text,
    deleted_at text,
    created_at text,
    updated_at text
);

create table loyalty_members (
    tenant_id text,
    id text primary key,
    program_id text,
    guest_id text,
    membership_number integer,
    legacy_membership_number text,
    current_tier text,
    points_balance integer,
    lifetime_points integer,
    status text,
    enrolled_at text,
    next_tier text,
    points_to_next_tier integer,
    tier_achieved_at text,
    legacy_id text,
    deleted_at text,
    created_at text,
    updated_at text
);

create table reservations (
    tenant_id text,
    id text primary key,
    guest_id text,
    guest_name text,
    guest_email text,
    guest_phone text,
    confirmation_number integer,
    legacy_confirmation_code text,
    status text,
    confirmed_at text,
    checked_in_at text,
    checked_out_at text,
    cancelled_at text,
    no_show_at text,
    cancellation_reason text,
    source text,
    property_id text,
    room_type_id text,
    room_id text,
    check_in_date text,
    check_out_date text,
    nights integer,
    room_count integer,
    adults integer,
    children integer,
    rate_per_night_cents integer,
    total_amount_cents integer,
    currency text,
    deposit_paid_cents integer,
    balance_due_cents integer,
    payment_status text,
    special_requests text,
    notes text,
    created_by text,
    modified_by text,
    legacy_id text,
    deleted_at text,
    created_at text,
    updated_at text
);

create table loyalty_transactions (
    tenant_id text,
    id text primary key,
    member_id text,
    program_id text,
    guest_id text,
    type text,
    points integer,
    description text,
    reference_type text,
    reference_id text,
    balance_before integer,
    balance_after integer,
    expires_at text,
    created_by text,
    legacy_id text,
    created_at text,
    updated_at text
);

create table marketing_campaigns (
    tenant_id text,
    id text primary key,
    name text,
    description text,
    type text,
    status text,
    subject text,
    message text,
    template_id text,
    audience text,
    target_segments json_text,
    target_vip_statuses json_text,
    target_loyalty_tiers json_text,
    custom_filters json_text,
    scheduled_at text,
    send_immediately boolean,
    window_starts_at text,
    window_ends_at text,
    target_count integer,
    sent_count integer,
    delivered_count integer,
    opened_count integer,
    clicked_count integer,
    converted_count integer,
    unsubscribed_count integer,
    bounced_count integer,
    open_rate text,
    click_rate text,
    conversion_rate text,
    created_by text,
    legacy_id text,
    deleted_at text,
    created_at text,
    updated_at text
);

create table campaign_recipients (
    tenant_id text,
    id text primary key,
    campaign_id text,
    guest_id text,
    email text,
    phone text,
    status text,
    sent_at text,
    delivered_at text,
    opened_at text,
    clicked_at text,
    converted_at text,
    bounced_at text,
    unsubscribed_at text,
    error text,
    bounce_reason text,
    legacy_id text,
    created_at text,
    updated_at text
);

create table communication_logs (
    tenant_id text,
    id text primary key,
    guest_id text,
    type text,
    direction text,
    subject text,
    message text,
    from_user text,
    from_email text,
    from_phone text,
    to_email text,
    to_phone text,
    status text,
    related_type text,
    related_id text,
    campaign_id text,
    sent_at text,
    delivered_at text,
    read_at text,
    error text,
    legacy_id text,
    created_at text,
    updated_at text
);

create table subscriptions (
    tenant_id text,
    id text primary key,
    plan_id text,
    status text,
    current_period_start text,
    current_period_end text,
    cancel_at_period_end boolean,
    cancelled_at text,
    payment_method text,
    last_payment_status text,
    legacy_id text,
    created_at text,
    updated_at text
);

create table invoices (
    tenant_id text,
    id text primary key,
    subscription_id text,
    amount_cents integer,
    tax_cents integer,
    total_cents integer,
    currency text,
    status text,
    period_start text,
    period_end text,
    due_date text,
    paid_at text,
    line_items json_text,
    legacy_id text,
    created_at text,
    updated_at text
);

create table usage_alerts (
    tenant_id text,
    id text primary key,
    metric text,
    threshold_percent integer,
    current_value integer,
    limit_value integer,
    triggered boolean,
    triggered_at text,
    resolved_at text,
    notified boolean,
    notified_at text,
    legacy_id text,
    created_at text,
    updated_at text
);

-- The screens' queries.
create index reservations_arrivals_idx on reservations (check_in_date);
create index reservations_departures_idx on reservations (check_out_date);
create index reservations_guest_idx on reservations (guest_id, check_in_date);
create index reservations_room_idx on reservations (room_id, check_in_date);
create index reservations_confirmation_idx on reservations (confirmation_number);
create index loyalty_transactions_member_idx on loyalty_transactions (member_id, created_at);
create index loyalty_members_guest_idx on loyalty_members (guest_id);
create index communication_logs_guest_idx on communication_logs (guest_id, created_at);
create index guest_preferences_guest_idx on guest_preferences (guest_id);
create index rooms_property_idx on rooms (property_id, number);

-- Guest search as you type: FTS5 with the trigram tokenizer over name, email and phone, kept in
-- step with the guests table by triggers.
create virtual table guests_search using fts5(
    full_name, email, phone, content = 'guests', content_rowid = 'rowid', tokenize = 'trigram'
);
create trigger guests_search_insert after insert on guests begin
    insert into guests_search (rowid, full_name, email, phone) values (new.rowid, new.full_name, new.email, new.phone);
end;
create trigger guests_search_delete after delete on guests begin
    insert into guests_search (guests_search, rowid, full_name, email, phone)
    values ('delete', old.rowid, old.full_name, old.email, old.phone);
end;
create trigger guests_search_update after update on guests begin
    insert into guests_search (guests_search, rowid, full_name, email, phone)
    values ('delete', old.rowid, old.full_name, old.email, old.phone);
    insert into guests_search (rowid, full_name, email, phone) values (new.rowid, new.full_name, new.email, new.phone);
end;

-- Sync bookkeeping ------------------------------------------------------------------------------

-- Small named values: the pull cursor, the next device sequence number, the session's ids.
create table sync_state (
    key text primary key,
    value text not null
) strict;

-- Every local write, in order. A change stays here after the server acknowledged it until the
-- pull cursor has passed the feed position where it landed (acked_seq), so a pull taken just
-- before the change committed cannot revert it on screen.
create table outbox (
    device_seq integer primary key,
    change_id text not null unique,
    table_name text not null,
    op text not null check (op in ('insert', 'update', 'delete')),
    row_id text not null,
    values_json text not null,
    created_at text not null,
    status text not null default 'pending' check (status in ('pending', 'acked')),
    acked_seq integer
) strict;
create index outbox_row_idx on outbox (table_name, row_id);

-- Changes the server refused, kept for a person to resolve (never dropped).
create table conflicts (
    id integer primary key,
    device_seq integer not null,
    change_id text not null unique,
    table_name text not null,
    row_id text not null,
    op text not null,
    reason text not null,
    message text,
    mine_json text not null,
    theirs_json text,
    created_at text not null,
    resolved_at text,
    resolution text check (resolution in ('keep_mine', 'keep_theirs', 'edited'))
) strict;
