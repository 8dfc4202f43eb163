-- Billing: the tenant's subscription, its invoices, and usage alerts against the plan's limits.
-- All written by the platform (service_role); owners and managers read them.

create table public.subscriptions (
    tenant_id uuid not null references public.tenants (id),
    id uuid not null default app.uuid_generate_v7(),
    plan_id uuid not null references public.plans (id),
    status text not null default 'trialing' constraint subscriptions_status_check
        check (status in ('active', 'past_due', 'cancelled', 'trialing')),
    current_period_start timestamptz not null,
    current_period_end timestamptz not null,
    cancel_at_period_end boolean not null default false,
    cancelled_at timestamptz,
    payment_method text constraint subscriptions_payment_method_check check (payment_method in ('card', 'invoice', 'wire')),
    last_payment_status text constraint subscriptions_last_payment_status_check
        check (last_payment_status in ('paid', 'pending', 'failed', 'refunded')),
    legacy_id text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    constraint subscriptions_period_check check (current_period_end > current_period_start),
    constraint subscriptions_cancelled_check check (status <> 'cancelled' or cancelled_at is not null)
);
-- at most one live subscription per tenant
create unique index subscriptions_live_key on public.subscriptions (tenant_id) where status in ('active', 'past_due', 'trialing');
create unique index subscriptions_legacy_id_key on public.subscriptions (tenant_id, legacy_id) where legacy_id is not null;
-- period renewal looks for subscriptions whose period has ended, across tenants
create index subscriptions_period_end_idx on public.subscriptions (current_period_end) where status in ('active', 'past_due', 'trialing');

create table public.invoices (
    tenant_id uuid not null,
    id uuid not null default app.uuid_generate_v7(),
    subscription_id uuid,
    amount_cents bigint not null constraint invoices_amount_cents_check check (amount_cents >= 0),
    tax_cents bigint not null default 0 constraint invoices_tax_cents_check check (tax_cents >= 0),
    total_cents bigint generated always as (amount_cents + tax_cents) stored,
    currency char(3) not null default 'USD' constraint invoices_currency_check check (currency ~ '^[A-Z]{3}$'),
    status text not null default 'pending' constraint invoices_status_check
        check (status in ('paid', 'pending', 'failed', 'refunded')),
    period_start timestamptz,
    period_end timestamptz,
    due_date date not null,
    paid_at timestamptz,
    -- [{"description": "Pro plan", "quantity": 1, "amount_cents": 14900}]
    line_items jsonb not null default '[]' constraint invoices_line_items_check check (jsonb_typeof(line_items) = 'array'),
    legacy_id text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    constraint invoices_paid_at_check check (status <> 'paid' or paid_at is not null),
    constraint invoices_period_check check (period_end > period_start),
    foreign key (tenant_id, subscription_id) references public.subscriptions (tenant_id, id)
);
create unique index invoices_legacy_id_key on public.invoices (tenant_id, legacy_id) where legacy_id is not null;
create index invoices_tenant_idx on public.invoices (tenant_id, due_date desc);
-- unpaid invoices past due turn their subscription past_due
create index invoices_unpaid_idx on public.invoices (due_date) where status in ('pending', 'failed');

create table public.usage_alerts (
    tenant_id uuid not null references public.tenants (id),
    id uuid not null default app.uuid_generate_v7(),
    metric text not null constraint usage_alerts_metric_check
        check (metric in ('users', 'properties', 'rooms', 'bookings', 'api_calls', 'storage')),
    threshold_percent integer not null constraint usage_alerts_threshold_percent_check check (threshold_percent between 0 and 100),
    current_value bigint not null default 0 constraint usage_alerts_current_value_check check (current_value >= 0),
    limit_value bigint constraint usage_alerts_limit_value_check check (limit_value >= 0),
    triggered boolean not null default false,
    triggered_at timestamptz,
    resolved_at timestamptz,
    notified boolean not null default false,
    notified_at timestamptz,
    legacy_id text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    constraint usage_alerts_triggered_check check (not triggered or triggered_at is not null),
    constraint usage_alerts_notified_check check (not notified or notified_at is not null)
);
create unique index usage_alerts_legacy_id_key on public.usage_alerts (tenant_id, legacy_id) where legacy_id is not null;
create index usage_alerts_triggered_idx on public.usage_alerts (tenant_id, metric) where triggered and resolved_at is null;

create trigger subscriptions_updated_at before update on public.subscriptions
    for each row execute function public.update_updated_at_column();
create trigger invoices_updated_at before update on public.invoices
    for each row execute function public.update_updated_at_column();
create trigger usage_alerts_updated_at before update on public.usage_alerts
    for each row execute function public.update_updated_at_column();

-- Access -------------------------------------------------------------------------------------

grant all on public.subscriptions, public.invoices, public.usage_alerts to service_role;
grant select on public.subscriptions, public.invoices, public.usage_alerts to authenticated;
select app.create_tenant_policies('public.subscriptions',
    array['owner', 'manager'], array[]::text[], array[]::text[], array[]::text[]);
select app.create_tenant_policies('public.invoices',
    array['owner', 'manager'], array[]::text[], array[]::text[], array[]::text[]);
select app.create_tenant_policies('public.usage_alerts',
    array['owner', 'manager'], array[]::text[], array[]::text[], array[]::text[]);
