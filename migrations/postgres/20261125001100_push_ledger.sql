-- Exactly-once pushes. Every change a laptop pushes carries the device's own sequence number;
-- the server applies a device's changes in that order and remembers, per device, the highest
-- number it has dealt with and the outcome of each change. A retried push (its response was
-- lost) finds its changes already dealt with and gets the recorded outcomes back: nothing is
-- applied twice, and a rejection is never forgotten.

create table app.device_progress (
    device_id uuid primary key references public.devices (id) on delete cascade,
    tenant_id uuid not null references public.tenants (id),
    last_seq bigint not null default 0 constraint device_progress_last_seq_check check (last_seq >= 0),
    updated_at timestamptz not null default now()
);

create table app.change_results (
    device_id uuid not null references public.devices (id) on delete cascade,
    device_seq bigint not null constraint change_results_device_seq_check check (device_seq > 0),
    tenant_id uuid not null references public.tenants (id),
    change_id uuid not null,
    status text not null constraint change_results_status_check check (status in ('applied', 'merged', 'rejected')),
    -- machine-readable reason of a rejection (room_unavailable, insufficient_points, forbidden, …)
    reason text,
    message text,
    -- for a merged change: the field groups that conflicted, as answered the first time
    conflicts jsonb not null default '[]',
    created_at timestamptz not null default now(),
    primary key (device_id, device_seq),
    constraint change_results_reason_check check ((status = 'rejected') = (reason is not null))
);
-- retention of sync state deletes by age
create index change_results_created_idx on app.change_results (created_at);

-- The device of the current request, from the token's app_metadata.
create function app.current_device_id() returns uuid
language sql stable
as $$
    select nullif(auth.jwt() -> 'app_metadata' ->> 'device_id', '')::uuid
$$;

-- Access -------------------------------------------------------------------------------------
-- A device reads and advances only its own progress; RLS keeps it inside its tenant and device.

grant execute on function app.current_device_id() to authenticated, service_role;

grant all on app.device_progress, app.change_results to service_role;
grant select, insert, update on app.device_progress to authenticated;
grant select, insert on app.change_results to authenticated;
alter table app.device_progress enable row level security;
alter table app.device_progress force row level security;
alter table app.change_results enable row level security;
alter table app.change_results force row level security;
create policy own_device on app.device_progress for all to authenticated
    using (tenant_id = (select app.current_tenant_id())
           and device_id = (select app.current_device_id()))
    with check (tenant_id = (select app.current_tenant_id())
                and device_id = (select app.current_device_id()));
create policy own_device on app.change_results for all to authenticated
    using (tenant_id = (select app.current_tenant_id())
           and device_id = (select app.current_device_id()))
    with check (tenant_id = (select app.current_tenant_id())
                and device_id = (select app.current_device_id()));
