-- The money's webhook events: `folio.payment_received` when a payment entry lands on a folio and
-- `guest_invoice.issued` when a guest invoice or a credit note lands, whoever wrote it (a laptop's
-- push, the night audit, an import). Both tables are append-only and a laptop's duplicate push of a
-- deterministic entry is answered without an insert, so each entry is one event.
--
-- Payloads carry what an accounting or channel system needs and no secret: the payment's method and
-- the provider's reference (never a card number: the tables refuse one), amounts in minor units with
-- their currency, and the invoice's printed number.

create function app.folio_payment_webhook_events() returns trigger
language plpgsql security definer
set search_path = pg_catalog, public, app
as $$
begin
    if new.kind = 'payment' then
        perform app.enqueue_webhook_event(new.tenant_id, 'folio.payment_received', jsonb_build_object(
            'id', new.id, 'folio_id', new.folio_id, 'reservation_id', new.reservation_id,
            'amount_minor', new.amount_minor, 'currency', new.currency,
            'payment_method', new.payment_method, 'external_reference', new.external_reference,
            'business_date', new.business_date, 'created_at', new.created_at));
    end if;
    return null;
end
$$;
alter function app.folio_payment_webhook_events() owner to service_role;
create trigger folio_entries_webhook_events after insert on public.folio_entries
    for each row execute function app.folio_payment_webhook_events();

create function app.guest_invoice_webhook_events() returns trigger
language plpgsql security definer
set search_path = pg_catalog, public, app
as $$
declare
    series_prefix text;
begin
    select s.prefix into series_prefix
      from public.guest_invoice_series s where s.tenant_id = new.tenant_id and s.id = new.series_id;
    -- the number as printed on the PDF (`guest_invoice::number_label` on the laptop)
    perform app.enqueue_webhook_event(new.tenant_id, 'guest_invoice.issued', jsonb_build_object(
        'id', new.id, 'number', series_prefix || '-' || lpad(new.number::text, 6, '0'),
        'kind', new.kind, 'corrects_invoice_id', new.corrects_invoice_id,
        'property_id', new.property_id, 'reservation_id', new.reservation_id, 'folio_id', new.folio_id,
        'bill_to', new.bill_to, 'currency', new.currency, 'net_minor', new.net_minor,
        'tax_minor', new.tax_minor, 'total_minor', new.total_minor, 'paid_minor', new.paid_minor,
        'issued_on', new.issued_on));
    return null;
end
$$;
alter function app.guest_invoice_webhook_events() owner to service_role;
create trigger guest_invoices_webhook_events after insert on public.guest_invoices
    for each row execute function app.guest_invoice_webhook_events();
