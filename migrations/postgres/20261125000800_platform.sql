-- Platform tables: feature flags and data retention policies (global rows plus tenant overrides),
-- webhook endpoints and their deliveries (server-side only: they never reach a laptop).

create table public.feature_flags (
    id uuid primary key default app.uuid_generate_v7(),
    -- null for a platform flag; a tenant id for that tenant's override of the flag with the same key
    tenant_id uuid references public.tenants (id),
    key text not null constraint feature_flags_key_check check (key ~ '^[a-z0-9][a-z0-9_.-]*$'),
    name text not null,
    description text,
    scope text not null default 'global' constraint feature_flags_scope_check check (scope in ('global', 'plan', 'tenant')),
    status text not null default 'disabled' constraint feature_flags_status_check check (status in ('enabled', 'disabled', 'beta')),
    -- plan names (Trial, Basic, Pro, Enterprise) for scope 'plan'
    enabled_plans text[] not null default '{}' constraint feature_flags_enabled_plans_check
        check (enabled_plans <@ array['Trial', 'Basic', 'Pro', 'Enterprise']),
    enabled_tenants uuid[] not null default '{}',
    disabled_tenants uuid[] not null default '{}',
    rollout_percentage integer not null default 100 constraint feature_flags_rollout_percentage_check
        check (rollout_percentage between 0 and 100),
    legacy_id text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create unique index feature_flags_platform_key on public.feature_flags (key) where tenant_id is null;
create unique index feature_flags_tenant_key on public.feature_flags (tenant_id, key) where tenant_id is not null;
create unique index feature_flags_legacy_id_key on public.feature_flags (legacy_id) where legacy_id is not null;
create index feature_flags_enabled_tenants_idx on public.feature_flags using gin (enabled_tenants);

create table public.data_retention_policies (
    id uuid primary key default app.uuid_generate_v7(),
    -- null for the platform default; a tenant id for that tenant's override of the same type
    tenant_id uuid references public.tenants (id),
    policy_type text not null constraint data_retention_policies_policy_type_check
        check (policy_type in ('guests', 'reservations', 'communication_logs', 'campaign_recipients',
                               'webhook_deliveries', 'invoices', 'audit_logs', 'usage_records', 'sync_state')),
    retention_days integer not null constraint data_retention_policies_retention_days_check check (retention_days > 0),
    action text not null default 'delete' constraint data_retention_policies_action_check
        check (action in ('delete', 'anonymize')),
    enabled boolean not null default true,
    schedule text not null default 'daily' constraint data_retention_policies_schedule_check
        check (schedule in ('hourly', 'daily', 'weekly', 'monthly')),
    last_run_at timestamptz,
    next_run_at timestamptz,
    legacy_id text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create unique index data_retention_policies_platform_key on public.data_retention_policies (policy_type) where tenant_id is null;
create unique index data_retention_policies_tenant_key on public.data_retention_policies (tenant_id, policy_type) where tenant_id is not null;
create unique index data_retention_policies_legacy_id_key on public.data_retention_policies (legacy_id) where legacy_id is not null;
create index data_retention_policies_due_idx on public.data_retention_policies (next_run_at) where enabled;

create table public.webhooks (
    tenant_id uuid not null references public.tenants (id),
    id uuid not null default app.uuid_generate_v7(),
    url text not null constraint webhooks_url_check check (url ~ '^https?://[^\s]+$'),
    description text,
    events text[] not null constraint webhooks_events_check check (cardinality(events) > 0),
    -- HMAC-SHA256 signing key; readable by the platform only
    secret text not null,
    enabled boolean not null default true,
    status text not null default 'active' constraint webhooks_status_check check (status in ('active', 'failing', 'disabled')),
    failure_count integer not null default 0 constraint webhooks_failure_count_check check (failure_count >= 0),
    disabled_at timestamptz,
    disabled_reason text,
    legacy_id text,
    deleted_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id)
);
create unique index webhooks_legacy_id_key on public.webhooks (tenant_id, legacy_id) where legacy_id is not null;
create index webhooks_events_idx on public.webhooks using gin (tenant_id, events) where enabled and deleted_at is null;

create table public.webhook_deliveries (
    tenant_id uuid not null,
    id uuid not null default app.uuid_generate_v7(),
    webhook_id uuid not null,
    event text not null constraint webhook_deliveries_event_check check (event ~ '^[a-z_]+\.[a-z_]+$'),
    payload jsonb not null default '{}',
    status text not null default 'pending' constraint webhook_deliveries_status_check
        check (status in ('pending', 'success', 'failed')),
    attempt_count integer not null default 0 constraint webhook_deliveries_attempt_count_check check (attempt_count >= 0),
    -- a new delivery is due at once
    next_retry_at timestamptz default now(),
    response_status integer constraint webhook_deliveries_response_status_check check (response_status between 100 and 599),
    -- truncated by the sender
    response_body text,
    error text,
    delivered_at timestamptz,
    legacy_id text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    constraint webhook_deliveries_delivered_check check (status <> 'success' or delivered_at is not null),
    constraint webhook_deliveries_pending_check check (status <> 'pending' or next_retry_at is not null),
    foreign key (tenant_id, webhook_id) references public.webhooks (tenant_id, id) on delete cascade
);
create unique index webhook_deliveries_legacy_id_key on public.webhook_deliveries (tenant_id, legacy_id) where legacy_id is not null;
-- due retries: one tenant's (the admin screen) and everybody's (the delivery worker)
create index webhook_deliveries_due_idx on public.webhook_deliveries (tenant_id, next_retry_at) where status = 'pending';
create index webhook_deliveries_due_all_idx on public.webhook_deliveries (next_retry_at) where status = 'pending';
create index webhook_deliveries_webhook_idx on public.webhook_deliveries (tenant_id, webhook_id, created_at desc);

create trigger feature_flags_updated_at before update on public.feature_flags
    for each row execute function public.update_updated_at_column();
create trigger data_retention_policies_updated_at before update on public.data_retention_policies
    for each row execute function public.update_updated_at_column();
create trigger webhooks_updated_at before update on public.webhooks
    for each row execute function public.update_updated_at_column();
create trigger webhook_deliveries_updated_at before update on public.webhook_deliveries
    for each row execute function public.update_updated_at_column();

-- Access -------------------------------------------------------------------------------------

grant all on public.feature_flags, public.data_retention_policies, public.webhooks, public.webhook_deliveries
    to service_role;

-- Feature flags: every staff member reads the platform's flags and the tenant's overrides, but not
-- the lists of other tenants a flag names. Only the platform writes flags.
alter table public.feature_flags enable row level security;
alter table public.feature_flags force row level security;
select app.grant_columns('public.feature_flags', 'select', 'authenticated', array['enabled_tenants', 'disabled_tenants']);
create policy feature_flags_select on public.feature_flags for select to authenticated
    using ((tenant_id is null or tenant_id = (select app.current_tenant_id()))
           and (select app.current_staff_role()) is not null);

-- Retention: owner and manager read the defaults and overrides; the owner sets the tenant's own.
alter table public.data_retention_policies enable row level security;
alter table public.data_retention_policies force row level security;
grant select on public.data_retention_policies to authenticated;
grant insert (tenant_id, id, policy_type, retention_days, action, enabled, schedule) on public.data_retention_policies to authenticated;
grant update (retention_days, action, enabled, schedule) on public.data_retention_policies to authenticated;
create policy retention_select on public.data_retention_policies for select to authenticated
    using ((tenant_id is null or tenant_id = (select app.current_tenant_id()))
           and (select app.current_staff_role()) = any (array['owner', 'manager']));
create policy retention_insert on public.data_retention_policies for insert to authenticated
    with check (tenant_id = (select app.current_tenant_id()) and (select app.current_staff_role()) = 'owner');
create policy retention_update on public.data_retention_policies for update to authenticated
    using (tenant_id = (select app.current_tenant_id()) and (select app.current_staff_role()) = 'owner')
    with check (tenant_id = (select app.current_tenant_id()) and (select app.current_staff_role()) = 'owner');

-- Webhooks: owner and manager see their endpoints (never the secret) and the delivery log.
select app.grant_columns('public.webhooks', 'select', 'authenticated', array['secret']);
select app.create_tenant_policies('public.webhooks',
    array['owner', 'manager'], array[]::text[], array[]::text[], array[]::text[]);
grant select on public.webhook_deliveries to authenticated;
select app.create_tenant_policies('public.webhook_deliveries',
    array['owner', 'manager'], array[]::text[], array[]::text[], array[]::text[]);
