-- Usage the server measures for the usage alerts: API calls per tenant and month (counted by
-- `serve`, flushed every few seconds), and alert rows made unique per tenant, metric and threshold
-- so the worker can keep one of each.

create table app.api_calls (
    tenant_id uuid not null references public.tenants (id) on delete cascade,
    month date not null constraint api_calls_month_check check (extract(day from month) = 1),
    calls bigint not null default 0 constraint api_calls_calls_check check (calls >= 0),
    primary key (tenant_id, month)
);
grant all on app.api_calls to service_role;
alter table app.api_calls enable row level security;
alter table app.api_calls force row level security;

-- Adds `calls` to the current tenant's count for this month (the tenant from the caller's claims).
create function app.count_api_calls(calls bigint) returns void
language plpgsql security definer
set search_path = pg_catalog, app
as $$
declare
    tenant constant uuid := app.current_tenant_id();
begin
    if tenant is null or calls <= 0 then
        return;
    end if;
    insert into app.api_calls as a (tenant_id, month, calls)
    values (tenant, date_trunc('month', now())::date, calls)
    on conflict (tenant_id, month) do update set calls = a.calls + excluded.calls;
end
$$;
alter function app.count_api_calls(bigint) owner to service_role;
revoke all on function app.count_api_calls(bigint) from public;
grant execute on function app.count_api_calls(bigint) to authenticated;

create unique index usage_alerts_threshold_key on public.usage_alerts (tenant_id, metric, threshold_percent)
    where legacy_id is null;
