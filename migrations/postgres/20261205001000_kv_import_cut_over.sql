-- The legacy import, tenant by tenant: where each tenant of the store stands
-- (legacy → imported → dual_write → cut_over, with who and when), the dual-write kept to the
-- tenants in dual_write, the store's read counters at cut-over, and the store's retirement.
-- See docs/MIGRATION.md for the order of commands.

-- One row per tenant of the store (its legacy id). A tenant the import has not seen yet has no
-- row and counts as legacy.
create table kv_import.tenant_states (
    tenant text primary key,
    state text not null check (state in ('legacy', 'imported', 'dual_write', 'cut_over')),
    changed_by text not null,
    changed_at timestamptz not null default now()
);
comment on column kv_import.tenant_states.tenant is 'The tenant''s legacy id (public.tenants.external_id).';

-- Every change of state, forced ones marked.
create table kv_import.tenant_state_changes (
    id bigint generated always as identity primary key,
    tenant text not null,
    from_state text,
    to_state text not null,
    forced boolean not null default false,
    changed_by text not null,
    changed_at timestamptz not null default now()
);
create index tenant_state_changes_tenant_idx on kv_import.tenant_state_changes (tenant, id);

-- Tenants imported before states were kept are imported (they are served as they were).
insert into kv_import.tenant_states (tenant, state, changed_by)
select external_id, 'imported', 'migration 20261205001000'
  from public.tenants where external_id is not null
on conflict do nothing;

-- The store's scan counters (pg_stat_user_tables) taken when a tenant was cut over and after
-- kv-import's own reads of the store: a read by anyone else since shows as a larger counter.
create table kv_import.store_reads (
    id bigint generated always as identity primary key,
    taken_at timestamptz not null default now(),
    reason text not null,
    seq_scan bigint not null,
    idx_scan bigint not null
);

-- The store's retirement: its archive (gzip JSON lines) and that file's SHA-256.
create table kv_import.retirements (
    id bigint generated always as identity primary key,
    retired_at timestamptz not null default now(),
    retired_by text not null,
    store_table text not null,
    records bigint not null,
    archive text not null,
    archive_sha256 text not null,
    checks jsonb not null
);

-- The legacy id under which a tenant's rows are written back, when the tenant is in dual_write.
create function kv_import.dual_write_tenant(p_tenant uuid) returns text
language sql stable
set search_path = pg_catalog, public
as $$
    select t.external_id from public.tenants t
      join kv_import.tenant_states s on s.tenant = t.external_id
     where t.id = p_tenant and s.state = 'dual_write'
$$;

-- Whether a tenant is to be kept from laptops: the migration knows it and it is in legacy (not
-- imported yet, or rolled back). Security definer: the serve role cannot see kv_import.
create function app.tenant_not_migrated(p_tenant uuid) returns boolean
language plpgsql stable security definer
set search_path = pg_catalog, public
as $$
begin
    if to_regclass('kv_import.tenant_states') is null then
        return false;
    end if;
    return exists (
        select 1 from public.tenants t
          join kv_import.tenant_states s on s.tenant = t.external_id
         where t.id = p_tenant and s.state = 'legacy');
end
$$;
revoke all on function app.tenant_not_migrated(uuid) from public;
grant execute on function app.tenant_not_migrated(uuid) to service_role;

-- As before, for tenants in dual_write only.
create or replace function kv_import.write_back_guest() returns trigger
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
    tenant_key := kv_import.dual_write_tenant(r.tenant_id);
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

-- As before, for tenants in dual_write only.
create or replace function kv_import.write_back_reservation() returns trigger
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
    tenant_key := kv_import.dual_write_tenant(r.tenant_id);
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

-- Dual-write of every table the store feeds ------------------------------------------------------
--
-- Guests and reservations keep their own functions (above). Every other table is written back by
-- one function driven by kv_import.legacy_fields: which column goes to which legacy field, and
-- how it is shaped. Only those fields are written, merged over the stored value, so every field
-- the table does not hold (or that is derived, like openRate) stays as it was. Rows of no tenant
-- (plans, platform flags and policies) are written back while any tenant is in dual_write.
--
-- Normalizations (what the legacy value shows after a write-back, where the import changed it):
-- enum values as the tables hold them (lowercase: 'business', not 'Business'); emails, subdomains
-- and custom domains lowercased; timestamps as ISO-8601 UTC with milliseconds (kv_import.legacy_ts);
-- money in integer cents as before; a plan's unlimited limit (null) as -1; plan references as
-- the plan's name (tenants) or plan_<name> (subscriptions); references to other rows by their
-- legacy id (a row born in the new system: its UUID).

create table kv_import.legacy_fields (
    entity text not null,
    column_name text not null,
    -- the legacy field; 'a.b' is field b of the object a
    field text not null,
    -- plain | ts | time | limit | plan_name | plan_id | tiers | line_items | tenant_ids | ref:<table>
    kind text not null default 'plain',
    primary key (entity, column_name)
);
comment on table kv_import.legacy_fields is
    'Dual-write: the legacy field (KV-MODEL.md) each column is written back to, and how.';

insert into kv_import.legacy_fields (entity, column_name, field, kind) values
    ('tenant', 'name', 'name', 'plain'), ('tenant', 'subdomain', 'subdomain', 'plain'),
    ('tenant', 'region', 'region', 'plain'), ('tenant', 'plan_id', 'plan', 'plan_name'),
    ('tenant', 'status', 'status', 'plain'), ('tenant', 'owner_email', 'owner', 'plain'),
    ('tenant', 'owner_name', 'ownerName', 'plain'), ('tenant', 'owner_user_id', 'ownerUserId', 'plain'),
    ('tenant', 'custom_domain', 'customDomain', 'plain'), ('tenant', 'billing_entity', 'billingEntity', 'plain'),
    ('tenant', 'trial_ends_at', 'trialEndsAt', 'ts'), ('tenant', 'suspended_at', 'suspendedAt', 'ts'),
    ('tenant', 'suspension_reason', 'suspensionReason', 'plain'), ('tenant', 'cancelled_at', 'cancelledAt', 'ts'),
    ('tenant', 'cancellation_reason', 'cancellationReason', 'plain'), ('tenant', 'updated_at', 'updatedAt', 'ts'),

    ('plan', 'display_name', 'displayName', 'plain'), ('plan', 'description', 'description', 'plain'),
    ('plan', 'price_cents', 'price', 'plain'), ('plan', 'billing_interval', 'interval', 'plain'),
    ('plan', 'limit_users', 'limits.users', 'limit'), ('plan', 'limit_properties', 'limits.properties', 'limit'),
    ('plan', 'limit_rooms', 'limits.rooms', 'limit'), ('plan', 'limit_bookings_per_month', 'limits.bookings', 'limit'),
    ('plan', 'limit_api_calls_per_month', 'limits.apiCalls', 'limit'), ('plan', 'limit_storage_gb', 'limits.storage', 'limit'),
    ('plan', 'limit_custom_domains', 'limits.customDomains', 'limit'), ('plan', 'features', 'features', 'plain'),
    ('plan', 'updated_at', 'updatedAt', 'ts'),

    ('subscription', 'plan_id', 'planId', 'plan_id'), ('subscription', 'status', 'status', 'plain'),
    ('subscription', 'current_period_start', 'currentPeriodStart', 'ts'),
    ('subscription', 'current_period_end', 'currentPeriodEnd', 'ts'),
    ('subscription', 'cancel_at_period_end', 'cancelAtPeriodEnd', 'plain'),
    ('subscription', 'cancelled_at', 'cancelledAt', 'ts'), ('subscription', 'payment_method', 'paymentMethod', 'plain'),
    ('subscription', 'last_payment_status', 'lastPaymentStatus', 'plain'), ('subscription', 'updated_at', 'updatedAt', 'ts'),

    ('invoice', 'subscription_id', 'subscriptionId', 'ref:subscriptions'), ('invoice', 'amount_cents', 'amount', 'plain'),
    ('invoice', 'tax_cents', 'tax', 'plain'), ('invoice', 'total_cents', 'total', 'plain'),
    ('invoice', 'currency', 'currency', 'plain'), ('invoice', 'status', 'status', 'plain'),
    ('invoice', 'due_date', 'dueDate', 'plain'), ('invoice', 'paid_at', 'paidAt', 'ts'),
    ('invoice', 'period_start', 'periodStart', 'ts'), ('invoice', 'period_end', 'periodEnd', 'ts'),
    ('invoice', 'line_items', 'lineItems', 'line_items'), ('invoice', 'updated_at', 'updatedAt', 'ts'),

    ('alert', 'metric', 'metric', 'plain'), ('alert', 'threshold_percent', 'threshold', 'plain'),
    ('alert', 'current_value', 'currentValue', 'plain'), ('alert', 'limit_value', 'limitValue', 'plain'),
    ('alert', 'triggered', 'triggered', 'plain'), ('alert', 'triggered_at', 'triggeredAt', 'ts'),
    ('alert', 'resolved_at', 'resolvedAt', 'ts'), ('alert', 'notified', 'notified', 'plain'),
    ('alert', 'notified_at', 'notifiedAt', 'ts'), ('alert', 'updated_at', 'updatedAt', 'ts'),

    ('flag', 'key', 'key', 'plain'), ('flag', 'name', 'name', 'plain'), ('flag', 'description', 'description', 'plain'),
    ('flag', 'scope', 'scope', 'plain'), ('flag', 'status', 'status', 'plain'),
    ('flag', 'enabled_plans', 'enabledForPlans', 'plain'), ('flag', 'enabled_tenants', 'enabledForTenants', 'tenant_ids'),
    ('flag', 'disabled_tenants', 'disabledForTenants', 'tenant_ids'),
    ('flag', 'rollout_percentage', 'rolloutPercentage', 'plain'), ('flag', 'updated_at', 'updatedAt', 'ts'),

    ('policy', 'policy_type', 'type', 'plain'), ('policy', 'retention_days', 'retentionDays', 'plain'),
    ('policy', 'action', 'action', 'plain'), ('policy', 'enabled', 'enabled', 'plain'),
    ('policy', 'schedule', 'schedule', 'plain'), ('policy', 'last_run_at', 'lastRunAt', 'ts'),
    ('policy', 'next_run_at', 'nextRunAt', 'ts'), ('policy', 'updated_at', 'updatedAt', 'ts'),

    ('webhook', 'url', 'url', 'plain'), ('webhook', 'description', 'description', 'plain'),
    ('webhook', 'events', 'events', 'plain'), ('webhook', 'secret', 'secret', 'plain'),
    ('webhook', 'enabled', 'enabled', 'plain'), ('webhook', 'status', 'status', 'plain'),
    ('webhook', 'failure_count', 'failureCount', 'plain'), ('webhook', 'disabled_at', 'disabledAt', 'ts'),
    ('webhook', 'disabled_reason', 'disabledReason', 'plain'), ('webhook', 'updated_at', 'updatedAt', 'ts'),

    ('delivery', 'webhook_id', 'webhookId', 'ref:webhooks'), ('delivery', 'event', 'event', 'plain'),
    ('delivery', 'payload', 'payload', 'plain'), ('delivery', 'status', 'status', 'plain'),
    ('delivery', 'response_status', 'statusCode', 'plain'), ('delivery', 'response_body', 'responseBody', 'plain'),
    ('delivery', 'error', 'error', 'plain'), ('delivery', 'attempt_count', 'attemptCount', 'plain'),
    ('delivery', 'next_retry_at', 'nextRetryAt', 'ts'), ('delivery', 'delivered_at', 'deliveredAt', 'ts'),

    ('pref', 'guest_id', 'guestId', 'ref:guests'), ('pref', 'room_type', 'roomType', 'plain'),
    ('pref', 'bed_type', 'bedType', 'plain'), ('pref', 'smoking', 'smokingPreference', 'plain'),
    ('pref', 'floor_preference', 'floorPreference', 'plain'), ('pref', 'specific_floor', 'specificFloor', 'plain'),
    ('pref', 'view_preference', 'viewPreference', 'plain'), ('pref', 'pillow_type', 'pillowType', 'plain'),
    ('pref', 'room_temperature_c', 'roomTemperature', 'plain'), ('pref', 'newspaper', 'newspaper', 'plain'),
    ('pref', 'dietary_restrictions', 'dietaryRestrictions', 'plain'), ('pref', 'allergies', 'allergies', 'plain'),
    ('pref', 'favorite_foods', 'favoriteFood', 'plain'), ('pref', 'favorite_drinks', 'favoriteDrinks', 'plain'),
    ('pref', 'housekeeping_time', 'housekeepingTime', 'plain'), ('pref', 'wake_up_call', 'wakeUpCall', 'plain'),
    ('pref', 'wake_up_time', 'wakeUpTime', 'time'), ('pref', 'occasion_type', 'occasionType', 'plain'),
    ('pref', 'occasion_date', 'occasionDate', 'plain'), ('pref', 'special_requests', 'specialRequests', 'plain'),
    ('pref', 'accessibility_needs', 'accessibilityNeeds', 'plain'),
    ('pref', 'preferred_language', 'preferredLanguage', 'plain'), ('pref', 'notes', 'notes', 'plain'),
    ('pref', 'updated_at', 'updatedAt', 'ts'),

    ('comm', 'guest_id', 'guestId', 'ref:guests'), ('comm', 'type', 'type', 'plain'),
    ('comm', 'direction', 'direction', 'plain'), ('comm', 'subject', 'subject', 'plain'),
    ('comm', 'message', 'message', 'plain'), ('comm', 'from_user', 'fromUser', 'plain'),
    ('comm', 'from_email', 'fromEmail', 'plain'), ('comm', 'from_phone', 'fromPhone', 'plain'),
    ('comm', 'to_email', 'toEmail', 'plain'), ('comm', 'to_phone', 'toPhone', 'plain'),
    ('comm', 'status', 'status', 'plain'), ('comm', 'related_type', 'relatedType', 'plain'),
    ('comm', 'related_id', 'relatedId', 'plain'), ('comm', 'campaign_id', 'campaignId', 'ref:marketing_campaigns'),
    ('comm', 'sent_at', 'sentAt', 'ts'), ('comm', 'delivered_at', 'deliveredAt', 'ts'),
    ('comm', 'read_at', 'readAt', 'ts'), ('comm', 'error', 'error', 'plain'),
    ('comm', 'updated_at', 'updatedAt', 'ts'),

    ('loyalty_program', 'name', 'name', 'plain'), ('loyalty_program', 'description', 'description', 'plain'),
    ('loyalty_program', 'enabled', 'enabled', 'plain'), ('loyalty_program', 'tiers', 'tiers', 'tiers'),
    ('loyalty_program', 'points_per_currency_unit', 'pointsPerDollar', 'plain'),
    ('loyalty_program', 'first_stay_bonus_points', 'bonusPointsFirstStay', 'plain'),
    ('loyalty_program', 'birthday_bonus_points', 'bonusPointsBirthday', 'plain'),
    ('loyalty_program', 'point_value_cents', 'pointsValue', 'plain'),
    ('loyalty_program', 'minimum_redemption_points', 'minimumRedemption', 'plain'),
    ('loyalty_program', 'points_expiry_days', 'pointsExpirationDays', 'plain'),
    ('loyalty_program', 'updated_at', 'updatedAt', 'ts'),

    ('loyalty_member', 'program_id', 'programId', 'ref:loyalty_programs'),
    ('loyalty_member', 'guest_id', 'guestId', 'ref:guests'),
    ('loyalty_member', 'current_tier', 'currentTier', 'plain'),
    ('loyalty_member', 'points_balance', 'availablePoints', 'plain'),
    ('loyalty_member', 'lifetime_points', 'lifetimePoints', 'plain'),
    ('loyalty_member', 'status', 'status', 'plain'), ('loyalty_member', 'enrolled_at', 'enrolledAt', 'ts'),
    ('loyalty_member', 'next_tier', 'nextTier', 'plain'),
    ('loyalty_member', 'points_to_next_tier', 'pointsToNextTier', 'plain'),
    ('loyalty_member', 'tier_achieved_at', 'tierAchievedAt', 'ts'), ('loyalty_member', 'updated_at', 'updatedAt', 'ts'),

    ('loyalty_tx', 'member_id', 'memberId', 'ref:loyalty_members'),
    ('loyalty_tx', 'program_id', 'programId', 'ref:loyalty_programs'), ('loyalty_tx', 'guest_id', 'guestId', 'ref:guests'),
    ('loyalty_tx', 'type', 'type', 'plain'), ('loyalty_tx', 'points', 'points', 'plain'),
    ('loyalty_tx', 'description', 'description', 'plain'), ('loyalty_tx', 'reference_type', 'referenceType', 'plain'),
    ('loyalty_tx', 'reference_id', 'referenceId', 'plain'), ('loyalty_tx', 'balance_before', 'balanceBefore', 'plain'),
    ('loyalty_tx', 'balance_after', 'balanceAfter', 'plain'), ('loyalty_tx', 'expires_at', 'expiresAt', 'ts'),
    ('loyalty_tx', 'created_at', 'createdAt', 'ts'),

    ('campaign', 'name', 'name', 'plain'), ('campaign', 'description', 'description', 'plain'),
    ('campaign', 'type', 'type', 'plain'), ('campaign', 'status', 'status', 'plain'),
    ('campaign', 'subject', 'subject', 'plain'), ('campaign', 'message', 'message', 'plain'),
    ('campaign', 'template_id', 'templateId', 'plain'), ('campaign', 'audience', 'targetAudience', 'plain'),
    ('campaign', 'target_segments', 'targetSegments', 'plain'),
    ('campaign', 'target_vip_statuses', 'targetVIPStatuses', 'plain'),
    ('campaign', 'target_loyalty_tiers', 'targetLoyaltyTiers', 'plain'),
    ('campaign', 'custom_filters', 'customFilters', 'plain'), ('campaign', 'scheduled_at', 'scheduledAt', 'ts'),
    ('campaign', 'send_immediately', 'sendImmediately', 'plain'), ('campaign', 'window_starts_at', 'startDate', 'ts'),
    ('campaign', 'window_ends_at', 'endDate', 'ts'), ('campaign', 'target_count', 'targetCount', 'plain'),
    ('campaign', 'sent_count', 'sentCount', 'plain'), ('campaign', 'delivered_count', 'deliveredCount', 'plain'),
    ('campaign', 'opened_count', 'openedCount', 'plain'), ('campaign', 'clicked_count', 'clickedCount', 'plain'),
    ('campaign', 'converted_count', 'convertedCount', 'plain'),
    ('campaign', 'unsubscribed_count', 'unsubscribedCount', 'plain'),
    ('campaign', 'bounced_count', 'bouncedCount', 'plain'), ('campaign', 'open_rate', 'openRate', 'plain'),
    ('campaign', 'click_rate', 'clickRate', 'plain'), ('campaign', 'conversion_rate', 'conversionRate', 'plain'),
    ('campaign', 'updated_at', 'updatedAt', 'ts'),

    ('campaign_recipient', 'guest_id', 'guestId', 'ref:guests'), ('campaign_recipient', 'email', 'email', 'plain'),
    ('campaign_recipient', 'phone', 'phone', 'plain'), ('campaign_recipient', 'status', 'status', 'plain'),
    ('campaign_recipient', 'sent_at', 'sentAt', 'ts'), ('campaign_recipient', 'delivered_at', 'deliveredAt', 'ts'),
    ('campaign_recipient', 'opened_at', 'openedAt', 'ts'), ('campaign_recipient', 'clicked_at', 'clickedAt', 'ts'),
    ('campaign_recipient', 'converted_at', 'convertedAt', 'ts'), ('campaign_recipient', 'error', 'error', 'plain'),
    ('campaign_recipient', 'bounce_reason', 'bounceReason', 'plain'), ('campaign_recipient', 'updated_at', 'updatedAt', 'ts');

-- The legacy id of the row `p_id` of `p_table` (its UUID for a row born in the new system).
create function kv_import.legacy_ref(p_table text, p_id uuid) returns text
language plpgsql stable
set search_path = pg_catalog, public
as $$
declare
    found text;
begin
    if p_id is null then
        return null;
    end if;
    execute format('select coalesce(legacy_id, id::text) from public.%I where id = $1', p_table)
        into found using p_id;
    return coalesce(found, p_id::text);
end
$$;

-- One column's value in its legacy shape.
create function kv_import.legacy_value(p_kind text, p_value jsonb) returns jsonb
language plpgsql stable
set search_path = pg_catalog, public
as $$
begin
    if p_value is null or p_value = 'null'::jsonb then
        return case when p_kind = 'limit' then to_jsonb(-1) else 'null'::jsonb end;
    end if;
    return case
        when p_kind = 'plain' or p_kind = 'limit' then p_value
        when p_kind = 'ts' then to_jsonb(kv_import.legacy_ts((p_value #>> '{}')::timestamptz))
        when p_kind = 'time' then to_jsonb(left(p_value #>> '{}', 5))
        when p_kind = 'plan_name' then
            (select to_jsonb(p.name) from public.plans p where p.id = (p_value #>> '{}')::uuid)
        when p_kind = 'plan_id' then
            (select to_jsonb('plan_' || lower(p.name)) from public.plans p where p.id = (p_value #>> '{}')::uuid)
        when p_kind = 'tiers' then
            (select coalesce(jsonb_agg((t - 'required_points') || jsonb_build_object('requiredPoints', t -> 'required_points')
                                       order by n), '[]'::jsonb)
               from jsonb_array_elements(p_value) with ordinality as e(t, n))
        when p_kind = 'line_items' then
            (select coalesce(jsonb_agg(case when t ? 'amount_cents'
                                            then (t - 'amount_cents') || jsonb_build_object('amount', t -> 'amount_cents')
                                            else t end order by n), '[]'::jsonb)
               from jsonb_array_elements(p_value) with ordinality as e(t, n))
        when p_kind = 'tenant_ids' then
            (select coalesce(jsonb_agg(coalesce(t.external_id, x.id) order by x.n), '[]'::jsonb)
               from jsonb_array_elements_text(p_value) with ordinality as x(id, n)
               left join public.tenants t on t.id::text = x.id)
        when p_kind like 'ref:%' then
            to_jsonb(kv_import.legacy_ref(substr(p_kind, 5), (p_value #>> '{}')::uuid))
        else p_value
    end;
end
$$;

-- The write-back of a row of any table but guests and reservations; tg_argv[0] is the entity
-- (the key prefix).
create function kv_import.write_back_row() returns trigger
language plpgsql security definer
set search_path = pg_catalog, public
as $$
declare
    v_entity text := tg_argv[0];
    r jsonb;
    tenant uuid;
    tenant_key text;
    legacy text;
    key text;
    shaped jsonb;
    f record;
    v jsonb;
    parent text;
begin
    if current_setting('pms.kv_import', true) = 'on' then
        return null;
    end if;
    r := case when tg_op = 'DELETE' then to_jsonb(old) else to_jsonb(new) end;
    tenant := case when v_entity = 'tenant' then (r ->> 'id')::uuid else (r ->> 'tenant_id')::uuid end;
    if tenant is null then
        -- a platform row: the old panel is still in use while any tenant is in dual_write
        if not exists (select 1 from kv_import.tenant_states where state = 'dual_write') then
            return null;
        end if;
    else
        tenant_key := kv_import.dual_write_tenant(tenant);
        if tenant_key is null then
            return null;
        end if;
    end if;
    legacy := coalesce(r ->> 'legacy_id', r ->> 'id');
    key := case v_entity
        when 'tenant' then 'tenant:' || tenant_key
        when 'subscription' then 'subscription:' || tenant_key
        when 'plan' then 'plan:' || (r ->> 'name')
        when 'flag' then 'flag:' || coalesce(r ->> 'legacy_id',
            case when tenant_key is null then r ->> 'id' else tenant_key || ':' || (r ->> 'id') end)
        when 'policy' then 'policy:' || legacy
        when 'webhook' then 'webhook:' || legacy
        when 'delivery' then 'delivery:' || coalesce(r ->> 'legacy_id',
            kv_import.legacy_ref('webhooks', (r ->> 'webhook_id')::uuid) || ':'
                || kv_import.legacy_ts((r ->> 'created_at')::timestamptz))
        when 'pref' then 'pref:' || tenant_key || ':' || kv_import.legacy_ref('guests', (r ->> 'guest_id')::uuid)
        when 'comm' then 'comm:' || tenant_key || ':' || kv_import.legacy_ref('guests', (r ->> 'guest_id')::uuid)
            || ':' || legacy
        when 'campaign_recipient' then 'campaign_recipient:' || tenant_key || ':'
            || kv_import.legacy_ref('marketing_campaigns', (r ->> 'campaign_id')::uuid) || ':' || legacy
        else v_entity || ':' || tenant_key || ':' || legacy
    end;
    if key is null then
        return null;
    end if;
    if tg_op = 'DELETE' or (r ->> 'deleted_at') is not null then
        perform kv_import.write_back(key, null);
        return null;
    end if;
    shaped := jsonb_build_object('id', case when v_entity in ('tenant', 'subscription') then coalesce(r ->> 'legacy_id', tenant_key) else legacy end);
    if tenant_key is not null then
        shaped := shaped || jsonb_build_object('tenantId', tenant_key);
    end if;
    for f in select lf.column_name, lf.field, lf.kind from kv_import.legacy_fields lf
              where lf.entity = v_entity loop
        if not r ? f.column_name then
            continue;
        end if;
        v := kv_import.legacy_value(f.kind, r -> f.column_name);
        if position('.' in f.field) > 0 then
            parent := split_part(f.field, '.', 1);
            shaped := shaped || jsonb_build_object(parent,
                coalesce(shaped -> parent, '{}'::jsonb) || jsonb_build_object(split_part(f.field, '.', 2), v));
        else
            shaped := shaped || jsonb_build_object(f.field, v);
        end if;
    end loop;
    perform kv_import.write_back(key, shaped);
    return null;
end
$$;

-- The tables written back, with their entity.
create function kv_import.dual_write_tables() returns table (table_name text, entity text)
language sql immutable
as $$
    values ('tenants', 'tenant'), ('plans', 'plan'), ('subscriptions', 'subscription'),
           ('invoices', 'invoice'), ('usage_alerts', 'alert'), ('feature_flags', 'flag'),
           ('data_retention_policies', 'policy'), ('webhooks', 'webhook'),
           ('webhook_deliveries', 'delivery'), ('guest_preferences', 'pref'),
           ('communication_logs', 'comm'), ('loyalty_programs', 'loyalty_program'),
           ('loyalty_members', 'loyalty_member'), ('loyalty_transactions', 'loyalty_tx'),
           ('marketing_campaigns', 'campaign'), ('campaign_recipients', 'campaign_recipient')
$$;

-- As before for guests and reservations, and now every other table the store feeds.
create or replace function kv_import.set_dual_write(p_on boolean) returns void
language plpgsql
set search_path = pg_catalog, public
as $$
declare
    writer regrole;
    t record;
begin
    drop trigger if exists kv_dual_write on public.guests;
    drop trigger if exists kv_dual_write on public.reservations;
    for t in select * from kv_import.dual_write_tables() loop
        execute format('drop trigger if exists kv_dual_write on public.%I', t.table_name);
    end loop;
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
    select p.proowner::regrole into writer from pg_proc p where p.oid = 'kv_import.write_back_row()'::regprocedure;
    if not has_table_privilege(writer, 'public.kv_store_0bdba248', 'INSERT, UPDATE, DELETE') then
        raise exception 'the dual-write runs as % which may not write public.kv_store_0bdba248', writer
            using errcode = 'insufficient_privilege';
    end if;
    create trigger kv_dual_write after insert or update or delete on public.guests
        for each row execute function kv_import.write_back_guest();
    create trigger kv_dual_write after insert or update or delete on public.reservations
        for each row execute function kv_import.write_back_reservation();
    for t in select * from kv_import.dual_write_tables() loop
        execute format('create trigger kv_dual_write after insert or update or delete on public.%I
                            for each row execute function kv_import.write_back_row(%L)', t.table_name, t.entity);
    end loop;
end
$$;

comment on function kv_import.set_dual_write(boolean) is
    'pms-server kv-import --dual-write on|off: write every table the store feeds back to it, for tenants in dual_write.';
