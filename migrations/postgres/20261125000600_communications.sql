-- Marketing campaigns, their recipients, and the log of every guest communication.

create table public.marketing_campaigns (
    tenant_id uuid not null references public.tenants (id),
    id uuid not null default app.uuid_generate_v7(),
    name text not null constraint marketing_campaigns_name_check check (btrim(name) <> ''),
    description text,
    type text not null default 'email' constraint marketing_campaigns_type_check
        check (type in ('email', 'sms', 'push', 'in_app')),
    status text not null default 'draft' constraint marketing_campaigns_status_check
        check (status in ('draft', 'scheduled', 'active', 'paused', 'completed', 'cancelled')),
    subject text,
    message text,
    template_id text,
    -- targeting
    audience text not null default 'all_guests' constraint marketing_campaigns_audience_check
        check (audience in ('all_guests', 'segment', 'vip', 'loyalty_tier', 'custom')),
    target_segments text[] not null default '{}' constraint marketing_campaigns_target_segments_check
        check (target_segments <@ array['regular', 'business', 'leisure', 'group']),
    target_vip_statuses text[] not null default '{}' constraint marketing_campaigns_target_vip_statuses_check
        check (target_vip_statuses <@ array['none', 'regular', 'vip', 'vvip']),
    target_loyalty_tiers text[] not null default '{}',
    custom_filters jsonb not null default '{}' constraint marketing_campaigns_custom_filters_check
        check (jsonb_typeof(custom_filters) = 'object'),
    -- schedule and delivery window
    scheduled_at timestamptz,
    send_immediately boolean not null default false,
    window_starts_at timestamptz,
    window_ends_at timestamptz,
    -- counters kept by campaign delivery on the server
    target_count integer not null default 0 constraint marketing_campaigns_target_count_check check (target_count >= 0),
    sent_count integer not null default 0 constraint marketing_campaigns_sent_count_check check (sent_count >= 0),
    delivered_count integer not null default 0 constraint marketing_campaigns_delivered_count_check check (delivered_count >= 0),
    opened_count integer not null default 0 constraint marketing_campaigns_opened_count_check check (opened_count >= 0),
    clicked_count integer not null default 0 constraint marketing_campaigns_clicked_count_check check (clicked_count >= 0),
    converted_count integer not null default 0 constraint marketing_campaigns_converted_count_check check (converted_count >= 0),
    unsubscribed_count integer not null default 0 constraint marketing_campaigns_unsubscribed_count_check check (unsubscribed_count >= 0),
    bounced_count integer not null default 0 constraint marketing_campaigns_bounced_count_check check (bounced_count >= 0),
    -- rates in percent of delivered messages, capped at 100 for counters out of step
    open_rate numeric(5, 2) generated always as
        (case when delivered_count > 0 then least(100, round(100.0 * opened_count / delivered_count, 2)) else 0 end) stored,
    click_rate numeric(5, 2) generated always as
        (case when delivered_count > 0 then least(100, round(100.0 * clicked_count / delivered_count, 2)) else 0 end) stored,
    conversion_rate numeric(5, 2) generated always as
        (case when delivered_count > 0 then least(100, round(100.0 * converted_count / delivered_count, 2)) else 0 end) stored,
    created_by uuid,
    legacy_id text,
    deleted_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    constraint marketing_campaigns_window_check check (window_ends_at > window_starts_at),
    constraint marketing_campaigns_scheduled_check check (status <> 'scheduled' or scheduled_at is not null or send_immediately)
);
create unique index marketing_campaigns_legacy_id_key on public.marketing_campaigns (tenant_id, legacy_id) where legacy_id is not null;
create index marketing_campaigns_status_idx on public.marketing_campaigns (tenant_id, status, scheduled_at) where deleted_at is null;
-- campaign delivery looks for scheduled campaigns that are due, across tenants
create index marketing_campaigns_due_idx on public.marketing_campaigns (scheduled_at) where status = 'scheduled';
create index marketing_campaigns_filters_idx on public.marketing_campaigns using gin (custom_filters jsonb_path_ops);

create table public.campaign_recipients (
    tenant_id uuid not null,
    id uuid not null default app.uuid_generate_v7(),
    campaign_id uuid not null,
    guest_id uuid not null,
    -- the address the message went to
    email text,
    phone text,
    status text not null default 'pending' constraint campaign_recipients_status_check
        check (status in ('pending', 'sent', 'delivered', 'opened', 'clicked', 'converted', 'bounced', 'unsubscribed', 'failed')),
    sent_at timestamptz,
    delivered_at timestamptz,
    opened_at timestamptz,
    clicked_at timestamptz,
    converted_at timestamptz,
    bounced_at timestamptz,
    unsubscribed_at timestamptz,
    error text,
    bounce_reason text,
    legacy_id text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    -- one row per guest and campaign
    constraint campaign_recipients_guest_key unique (tenant_id, campaign_id, guest_id),
    foreign key (tenant_id, campaign_id) references public.marketing_campaigns (tenant_id, id) on delete cascade,
    foreign key (tenant_id, guest_id) references public.guests (tenant_id, id) on delete cascade
);
create unique index campaign_recipients_legacy_id_key on public.campaign_recipients (tenant_id, legacy_id) where legacy_id is not null;
-- a campaign's recipients by status; the pending ones are the delivery queue
create index campaign_recipients_campaign_idx on public.campaign_recipients (tenant_id, campaign_id, status);
create index campaign_recipients_pending_idx on public.campaign_recipients (tenant_id, campaign_id) where status = 'pending';
create index campaign_recipients_guest_idx on public.campaign_recipients (tenant_id, guest_id);

create table public.communication_logs (
    tenant_id uuid not null,
    id uuid not null default app.uuid_generate_v7(),
    guest_id uuid not null,
    type text not null constraint communication_logs_type_check
        check (type in ('email', 'sms', 'phone', 'in_person', 'chat', 'other')),
    direction text not null constraint communication_logs_direction_check check (direction in ('inbound', 'outbound')),
    subject text,
    message text,
    -- the staff member who sent it, where one did
    from_user uuid,
    from_email text,
    from_phone text,
    to_email text,
    to_phone text,
    status text not null default 'sent' constraint communication_logs_status_check
        check (status in ('sent', 'delivered', 'read', 'failed', 'bounced')),
    related_type text,
    related_id text,
    campaign_id uuid,
    sent_at timestamptz,
    delivered_at timestamptz,
    read_at timestamptz,
    error text,
    legacy_id text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    foreign key (tenant_id, guest_id) references public.guests (tenant_id, id) on delete cascade,
    foreign key (tenant_id, campaign_id) references public.marketing_campaigns (tenant_id, id) on delete set null (campaign_id)
);
create unique index communication_logs_legacy_id_key on public.communication_logs (tenant_id, legacy_id) where legacy_id is not null;
-- a guest's communications, newest first
create index communication_logs_guest_idx on public.communication_logs (tenant_id, guest_id, created_at desc);
create index communication_logs_campaign_idx on public.communication_logs (tenant_id, campaign_id) where campaign_id is not null;
-- retention deletes by age
create index communication_logs_created_idx on public.communication_logs (tenant_id, created_at);

create trigger marketing_campaigns_updated_at before update on public.marketing_campaigns
    for each row execute function public.update_updated_at_column();
create trigger campaign_recipients_updated_at before update on public.campaign_recipients
    for each row execute function public.update_updated_at_column();
create trigger communication_logs_updated_at before update on public.communication_logs
    for each row execute function public.update_updated_at_column();

-- Access -------------------------------------------------------------------------------------

grant all on public.marketing_campaigns, public.campaign_recipients, public.communication_logs to service_role;

-- Campaigns: owner and manager plan them (a draft may be deleted); the counters are the server's.
grant select on public.marketing_campaigns to authenticated;
grant delete on public.marketing_campaigns to authenticated;
select app.grant_columns('public.marketing_campaigns', 'insert', 'authenticated', array[
    'target_count', 'sent_count', 'delivered_count', 'opened_count', 'clicked_count', 'converted_count',
    'unsubscribed_count', 'bounced_count', 'legacy_id', 'updated_at']);
select app.grant_columns('public.marketing_campaigns', 'update', 'authenticated', array[
    'target_count', 'sent_count', 'delivered_count', 'opened_count', 'clicked_count', 'converted_count',
    'unsubscribed_count', 'bounced_count', 'legacy_id', 'tenant_id', 'id', 'created_at', 'updated_at']);
select app.create_tenant_policies('public.marketing_campaigns',
    array['owner', 'manager', 'front_desk'], array['owner', 'manager'], array['owner', 'manager'], array[]::text[]);
create policy tenant_delete on public.marketing_campaigns for delete to authenticated
    using (tenant_id = (select app.current_tenant_id())
           and (select app.current_staff_role()) = any (array['owner', 'manager'])
           and status = 'draft');

-- Recipients are written by campaign delivery only.
grant select on public.campaign_recipients to authenticated;
select app.create_tenant_policies('public.campaign_recipients',
    array['owner', 'manager', 'front_desk'], array[]::text[], array[]::text[], array[]::text[]);

-- Communication logs: laptops append; delivery status is updated by the server.
grant select on public.communication_logs to authenticated;
select app.grant_columns('public.communication_logs', 'insert', 'authenticated', array['legacy_id', 'updated_at']);
select app.create_tenant_policies('public.communication_logs',
    array['owner', 'manager', 'front_desk'], array['owner', 'manager', 'front_desk'], array[]::text[], array[]::text[]);
