-- Webhook events: a change that an endpoint subscribed to becomes a pending delivery, in the same
-- transaction as the change (so an event is never lost, whoever wrote it: a laptop's push, an
-- import, a job). `pms-server worker` delivers them.
--
-- Events: reservation.created, reservation.changed, reservation.cancelled, guest.created,
-- invoice.paid, usage.alert. The payload names the event and carries the row's public fields
-- (never a secret); deliveries are server-only rows, so the function runs as service_role.

create function app.enqueue_webhook_event(event_tenant uuid, event_name text, data jsonb)
returns void
language sql security definer
set search_path = pg_catalog, public, app
as $$
    insert into public.webhook_deliveries (tenant_id, webhook_id, event, payload)
    select w.tenant_id, w.id, event_name,
           jsonb_build_object('event', event_name, 'occurred_at', now(), 'data', data)
      from public.webhooks w
     where w.tenant_id = event_tenant
       and w.enabled and w.deleted_at is null and w.status <> 'disabled'
       and event_name = any (w.events)
$$;
alter function app.enqueue_webhook_event(uuid, text, jsonb) owner to service_role;
revoke all on function app.enqueue_webhook_event(uuid, text, jsonb) from public;

create function app.reservation_webhook_events() returns trigger
language plpgsql security definer
set search_path = pg_catalog, public, app
as $$
declare
    data constant jsonb := jsonb_build_object(
        'id', new.id, 'confirmation_number', new.confirmation_number, 'property_id', new.property_id,
        'guest_id', new.guest_id, 'guest_name', new.guest_name, 'room_id', new.room_id,
        'check_in_date', new.check_in_date, 'check_out_date', new.check_out_date, 'status', new.status);
begin
    if tg_op = 'INSERT' then
        perform app.enqueue_webhook_event(new.tenant_id, 'reservation.created', data);
    elsif new.status = 'cancelled' and old.status is distinct from 'cancelled' then
        perform app.enqueue_webhook_event(new.tenant_id, 'reservation.cancelled', data);
    elsif (new.check_in_date, new.check_out_date, new.room_id, new.room_type_id, new.status, new.guest_id)
          is distinct from
          (old.check_in_date, old.check_out_date, old.room_id, old.room_type_id, old.status, old.guest_id) then
        perform app.enqueue_webhook_event(new.tenant_id, 'reservation.changed', data);
    end if;
    return null;
end
$$;
alter function app.reservation_webhook_events() owner to service_role;
create trigger reservations_webhook_events after insert or update on public.reservations
    for each row execute function app.reservation_webhook_events();

create function app.guest_webhook_events() returns trigger
language plpgsql security definer
set search_path = pg_catalog, public, app
as $$
begin
    perform app.enqueue_webhook_event(new.tenant_id, 'guest.created', jsonb_build_object(
        'id', new.id, 'full_name', new.full_name, 'email', new.email, 'segment', new.segment,
        'vip_status', new.vip_status));
    return null;
end
$$;
alter function app.guest_webhook_events() owner to service_role;
create trigger guests_webhook_events after insert on public.guests
    for each row execute function app.guest_webhook_events();

create function app.invoice_webhook_events() returns trigger
language plpgsql security definer
set search_path = pg_catalog, public, app
as $$
begin
    if new.status = 'paid' and (tg_op = 'INSERT' or old.status is distinct from 'paid') then
        perform app.enqueue_webhook_event(new.tenant_id, 'invoice.paid', jsonb_build_object(
            'id', new.id, 'subscription_id', new.subscription_id, 'total_cents', new.total_cents,
            'currency', new.currency, 'paid_at', new.paid_at));
    end if;
    return null;
end
$$;
alter function app.invoice_webhook_events() owner to service_role;
create trigger invoices_webhook_events after insert or update on public.invoices
    for each row execute function app.invoice_webhook_events();

create function app.usage_alert_webhook_events() returns trigger
language plpgsql security definer
set search_path = pg_catalog, public, app
as $$
begin
    -- an alert notifies once: when it is raised, not on every later update
    if new.triggered and (tg_op = 'INSERT' or not old.triggered) then
        perform app.enqueue_webhook_event(new.tenant_id, 'usage.alert', jsonb_build_object(
            'id', new.id, 'metric', new.metric, 'threshold_percent', new.threshold_percent,
            'current_value', new.current_value, 'limit_value', new.limit_value,
            'triggered_at', new.triggered_at));
    end if;
    return null;
end
$$;
alter function app.usage_alert_webhook_events() owner to service_role;
create trigger usage_alerts_webhook_events after insert or update on public.usage_alerts
    for each row execute function app.usage_alert_webhook_events();

-- Feature flags: whether the caller's tenant is named in a flag's enabled or disabled lists
-- (the lists themselves, naming other tenants, stay unreadable to staff).
create function app.flag_membership(flag_id uuid)
returns table (listed_in boolean, listed_out boolean)
language sql stable security definer
set search_path = pg_catalog, public, app
as $$
    select app.current_tenant_id() = any (f.enabled_tenants),
           app.current_tenant_id() = any (f.disabled_tenants)
      from public.feature_flags f
     where f.id = flag_id
       and (f.tenant_id is null or f.tenant_id = app.current_tenant_id())
$$;
alter function app.flag_membership(uuid) owner to service_role;
revoke all on function app.flag_membership(uuid) from public;
grant execute on function app.flag_membership(uuid) to authenticated;
