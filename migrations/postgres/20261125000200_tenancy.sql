-- Tenancy and inventory: plans, tenants, staff, properties, room types and rooms.

create table public.plans (
    id uuid primary key default app.uuid_generate_v7(),
    -- null for the platform's plans; a tenant id for a plan negotiated for one tenant
    tenant_id uuid,
    name text not null constraint plans_name_check
        check (name in ('Trial', 'Basic', 'Pro', 'Enterprise')),
    display_name text not null,
    description text,
    price_cents bigint not null default 0 constraint plans_price_cents_check check (price_cents >= 0),
    currency char(3) not null default 'USD' constraint plans_currency_check check (currency ~ '^[A-Z]{3}$'),
    billing_interval text not null default 'monthly' constraint plans_billing_interval_check
        check (billing_interval in ('monthly', 'yearly')),
    -- limits: null means unlimited
    limit_users integer constraint plans_limit_users_check check (limit_users >= 0),
    limit_properties integer constraint plans_limit_properties_check check (limit_properties >= 0),
    limit_rooms integer constraint plans_limit_rooms_check check (limit_rooms >= 0),
    limit_bookings_per_month integer constraint plans_limit_bookings_per_month_check check (limit_bookings_per_month >= 0),
    limit_api_calls_per_month bigint constraint plans_limit_api_calls_per_month_check check (limit_api_calls_per_month >= 0),
    limit_storage_gb integer constraint plans_limit_storage_gb_check check (limit_storage_gb >= 0),
    limit_custom_domains integer constraint plans_limit_custom_domains_check check (limit_custom_domains >= 0),
    features text[] not null default '{}',
    legacy_id text constraint plans_legacy_id_key unique,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create unique index plans_platform_name_key on public.plans (name) where tenant_id is null;
create unique index plans_tenant_name_key on public.plans (tenant_id, name) where tenant_id is not null;

create table public.tenants (
    id uuid primary key default app.uuid_generate_v7(),
    name text not null constraint tenants_name_check check (btrim(name) <> ''),
    billing_entity text,
    subdomain text not null constraint tenants_subdomain_check
        check (subdomain ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    region text not null default 'eu-west-1',
    plan_id uuid references public.plans (id),
    status text not null default 'trial' constraint tenants_status_check
        check (status in ('active', 'trial', 'suspended', 'cancelled', 'pending')),
    owner_email text,
    owner_name text,
    owner_user_id uuid,
    custom_domain text,
    settings jsonb not null default '{}' constraint tenants_settings_check check (jsonb_typeof(settings) = 'object'),
    trial_ends_at timestamptz,
    suspended_at timestamptz,
    suspension_reason text,
    cancelled_at timestamptz,
    cancellation_reason text,
    -- the legacy store's tenant id (T-123, tn_<unix>_<rand>)
    external_id text,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    constraint tenants_suspended_check check (status <> 'suspended' or suspended_at is not null),
    constraint tenants_cancelled_check check (status <> 'cancelled' or cancelled_at is not null)
);
create unique index tenants_subdomain_key on public.tenants (lower(subdomain));
create unique index tenants_custom_domain_key on public.tenants (lower(custom_domain)) where custom_domain is not null;
create unique index tenants_external_id_key on public.tenants (external_id) where external_id is not null;

alter table public.plans add constraint plans_tenant_id_fkey foreign key (tenant_id) references public.tenants (id);

create table public.staff (
    tenant_id uuid not null references public.tenants (id),
    id uuid not null default app.uuid_generate_v7(),
    -- the subject (`sub`) of this person's tokens
    user_id uuid not null default app.uuid_generate_v7(),
    email text not null constraint staff_email_check check (email ~ '^[^@\s]+@[^@\s]+$'),
    display_name text not null constraint staff_display_name_check check (btrim(display_name) <> ''),
    role text not null constraint staff_role_check
        check (role in ('owner', 'manager', 'front_desk', 'housekeeping')),
    enabled boolean not null default true,
    -- argon2 PHC string, only where the sync server does its own login; never synced
    password_hash text,
    last_login_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    -- lets rows that name a staff member by user id (devices) reference it within the tenant
    constraint staff_tenant_user_key unique (tenant_id, user_id)
);
-- One login per email across the platform: an email alone finds the tenant at sign-in.
create unique index staff_email_key on public.staff (lower(email));
create unique index staff_user_id_key on public.staff (user_id);

-- The caller's staff role, read from the staff table rather than from the token, so that a role
-- change or a disabled account takes effect at once. Null (no access) when the caller is not an
-- enabled staff member of the token's tenant.
create function app.current_staff_role() returns text
language sql stable security definer
set search_path = pg_catalog, public, app
as $$
    select s.role
      from public.staff s
     where s.tenant_id = app.current_tenant_id()
       and s.user_id = auth.uid()
       and s.enabled
$$;

create table public.properties (
    tenant_id uuid not null references public.tenants (id),
    id uuid not null default app.uuid_generate_v7(),
    name text not null constraint properties_name_check check (btrim(name) <> ''),
    timezone text not null default 'UTC',
    currency char(3) not null default 'USD' constraint properties_currency_check check (currency ~ '^[A-Z]{3}$'),
    address_line1 text,
    address_line2 text,
    city text,
    region text,
    postal_code text,
    country_code char(2) constraint properties_country_code_check check (country_code ~ '^[A-Z]{2}$'),
    phone text,
    email text,
    legacy_id text,
    deleted_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id)
);
create unique index properties_legacy_id_key on public.properties (tenant_id, legacy_id) where legacy_id is not null;

create table public.room_types (
    tenant_id uuid not null,
    id uuid not null default app.uuid_generate_v7(),
    property_id uuid not null,
    code text not null constraint room_types_code_check check (btrim(code) <> ''),
    name text not null constraint room_types_name_check check (btrim(name) <> ''),
    description text,
    base_rate_cents bigint not null default 0 constraint room_types_base_rate_cents_check check (base_rate_cents >= 0),
    max_occupancy integer not null default 2 constraint room_types_max_occupancy_check check (max_occupancy between 1 and 20),
    legacy_id text,
    deleted_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    -- lets rooms and reservations require a room type of their own property
    constraint room_types_property_key unique (tenant_id, property_id, id),
    foreign key (tenant_id, property_id) references public.properties (tenant_id, id)
);
create unique index room_types_code_key on public.room_types (tenant_id, property_id, lower(code)) where deleted_at is null;
create unique index room_types_legacy_id_key on public.room_types (tenant_id, legacy_id) where legacy_id is not null;

create table public.rooms (
    tenant_id uuid not null,
    id uuid not null default app.uuid_generate_v7(),
    property_id uuid not null,
    room_type_id uuid not null,
    number text not null constraint rooms_number_check check (btrim(number) <> ''),
    floor integer constraint rooms_floor_check check (floor between -5 and 200),
    housekeeping_status text not null default 'clean' constraint rooms_housekeeping_status_check
        check (housekeeping_status in ('clean', 'dirty', 'inspected', 'out_of_order')),
    notes text,
    deleted_at timestamptz,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (tenant_id, id),
    constraint rooms_property_key unique (tenant_id, property_id, id),
    foreign key (tenant_id, property_id, room_type_id) references public.room_types (tenant_id, property_id, id)
);
-- A room number is unique within its property (among rooms not deleted).
create unique index rooms_number_key on public.rooms (tenant_id, property_id, number) where deleted_at is null;
create index rooms_housekeeping_idx on public.rooms (tenant_id, property_id, housekeeping_status) where deleted_at is null;

create trigger plans_updated_at before update on public.plans
    for each row execute function public.update_updated_at_column();
create trigger tenants_updated_at before update on public.tenants
    for each row execute function public.update_updated_at_column();
create trigger staff_updated_at before update on public.staff
    for each row execute function public.update_updated_at_column();
create trigger properties_updated_at before update on public.properties
    for each row execute function public.update_updated_at_column();
create trigger room_types_updated_at before update on public.room_types
    for each row execute function public.update_updated_at_column();
create trigger rooms_updated_at before update on public.rooms
    for each row execute function public.update_updated_at_column();

-- Access -------------------------------------------------------------------------------------

revoke all on function app.current_staff_role() from public, anon;
grant execute on function app.current_staff_role() to authenticated, service_role;
alter function app.current_staff_role() owner to service_role;

grant all on public.plans, public.tenants, public.staff, public.properties, public.room_types, public.rooms
    to service_role;

-- plans: the platform's plans and the tenant's own, read-only.
alter table public.plans enable row level security;
alter table public.plans force row level security;
grant select on public.plans to authenticated;
create policy plans_select on public.plans for select to authenticated
    using ((tenant_id is null or tenant_id = (select app.current_tenant_id()))
           and (select app.current_staff_role()) is not null);

-- tenants: every staff member reads their tenant; the owner edits its name and settings.
alter table public.tenants enable row level security;
alter table public.tenants force row level security;
grant select on public.tenants to authenticated;
grant update (name, billing_entity, settings, owner_name) on public.tenants to authenticated;
create policy tenants_select on public.tenants for select to authenticated
    using (id = (select app.current_tenant_id()) and (select app.current_staff_role()) is not null);
create policy tenants_update on public.tenants for update to authenticated
    using (id = (select app.current_tenant_id()) and (select app.current_staff_role()) = 'owner')
    with check (id = (select app.current_tenant_id()) and (select app.current_staff_role()) = 'owner');

-- staff: colleagues are visible to all staff, the password hash to nobody; the owner manages staff.
select app.grant_columns('public.staff', 'select', 'authenticated', array['password_hash']);
select app.grant_columns('public.staff', 'insert', 'authenticated', array['password_hash', 'last_login_at', 'created_at', 'updated_at']);
select app.grant_columns('public.staff', 'update', 'authenticated', array['password_hash', 'last_login_at', 'tenant_id', 'id', 'user_id', 'created_at', 'updated_at']);
select app.create_tenant_policies('public.staff',
    array['owner', 'manager', 'front_desk', 'housekeeping'], array['owner'], array['owner'], array[]::text[]);

-- properties and room types: readable by all staff, managed by owner and manager.
grant select on public.properties, public.room_types to authenticated;
select app.grant_columns('public.properties', 'insert', 'authenticated', array['legacy_id', 'updated_at']);
select app.grant_columns('public.properties', 'update', 'authenticated', array['legacy_id', 'tenant_id', 'id', 'created_at', 'updated_at']);
select app.create_tenant_policies('public.properties',
    array['owner', 'manager', 'front_desk', 'housekeeping'], array['owner', 'manager'], array['owner', 'manager'], array[]::text[]);
select app.grant_columns('public.room_types', 'insert', 'authenticated', array['legacy_id', 'updated_at']);
select app.grant_columns('public.room_types', 'update', 'authenticated', array['legacy_id', 'tenant_id', 'id', 'created_at', 'updated_at']);
select app.create_tenant_policies('public.room_types',
    array['owner', 'manager', 'front_desk', 'housekeeping'], array['owner', 'manager'], array['owner', 'manager'], array[]::text[]);

-- rooms: everybody updates (housekeeping sets the cleaning status); owner and manager add rooms.
grant select on public.rooms to authenticated;
select app.grant_columns('public.rooms', 'insert', 'authenticated', array['updated_at']);
select app.grant_columns('public.rooms', 'update', 'authenticated', array['tenant_id', 'id', 'created_at', 'updated_at']);
select app.create_tenant_policies('public.rooms',
    array['owner', 'manager', 'front_desk', 'housekeeping'], array['owner', 'manager'],
    array['owner', 'manager', 'front_desk', 'housekeeping'], array[]::text[]);
