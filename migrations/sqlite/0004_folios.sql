-- Folios and their append-only entries (the server's `…1000_folios.sql`), exactly the synced
-- columns. What a stay has paid follows its entries here as on the server (payments minus
-- refunds, voided entries and their voids left out; a stay without entries keeps the server's
-- values), so a payment taken offline shows at once, and a pulled stay row that does not yet
-- count this desk's pending payment is brought back in line.
create table folios (
    tenant_id text,
    id text primary key,
    property_id text,
    reservation_id text,
    kind text,
    name text,
    status text,
    closed_at text,
    currency text,
    created_by text,
    created_at text,
    updated_at text
);

create table folio_entries (
    tenant_id text,
    id text primary key,
    folio_id text,
    reservation_id text,
    kind text,
    amount_minor integer,
    currency text,
    business_date text,
    description text,
    payment_method text,
    external_reference text,
    voids_entry_id text,
    created_by text,
    created_at text,
    updated_at text
);

create index folios_reservation_idx on folios (reservation_id);
create index folio_entries_reservation_idx on folio_entries (reservation_id, created_at);
create index folio_entries_voids_idx on folio_entries (voids_entry_id);

-- The stay's paid amount from the entries that count.
create view stay_paid as
select e.reservation_id as reservation_id,
       coalesce(sum(case e.kind when 'payment' then e.amount_minor when 'refund' then -e.amount_minor else 0 end), 0) as paid,
       coalesce(sum(case e.kind when 'refund' then e.amount_minor else 0 end), 0) as refunded
  from folio_entries e
 where e.voids_entry_id is null
   and not exists (select 1 from folio_entries v where v.voids_entry_id = e.id)
 group by e.reservation_id;

create trigger folio_entries_move_paid after insert on folio_entries
begin
    update reservations
       set deposit_paid_cents = max(coalesce((select p.paid from stay_paid p where p.reservation_id = new.reservation_id), 0), 0)
     where id = new.reservation_id;
end;

create trigger reservations_derive_paid after update of deposit_paid_cents, payment_status, total_amount_cents on reservations
when exists (select 1 from folio_entries e where e.reservation_id = new.id)
begin
    update reservations
       set deposit_paid_cents = max(coalesce((select p.paid from stay_paid p where p.reservation_id = new.id), 0), 0),
           payment_status = (
               select case
                   when coalesce(p.paid, 0) <= 0 and coalesce(p.refunded, 0) > 0 then 'refunded'
                   when coalesce(p.paid, 0) <= 0 then 'pending'
                   when p.paid >= coalesce(new.total_amount_cents, 0) then 'paid'
                   else 'partial'
               end
                 from (select 1) left join stay_paid p on p.reservation_id = new.id),
           balance_due_cents = coalesce(new.total_amount_cents, 0)
               - max(coalesce((select p.paid from stay_paid p where p.reservation_id = new.id), 0), 0)
     where id = new.id;
end;

-- An entry the server refused leaves the mirror (the laptop returns to the server's truth): the
-- stay's paid amount follows what is left.
create trigger folio_entries_unmove_paid after delete on folio_entries
begin
    update reservations
       set deposit_paid_cents = max(coalesce((select p.paid from stay_paid p where p.reservation_id = old.reservation_id), 0), 0),
           payment_status = (
               select case
                   when coalesce(p.paid, 0) <= 0 and coalesce(p.refunded, 0) > 0 then 'refunded'
                   when coalesce(p.paid, 0) <= 0 then 'pending'
                   when p.paid >= coalesce(r.total_amount_cents, 0) then 'paid'
                   else 'partial'
               end
                 from reservations r left join stay_paid p on p.reservation_id = r.id
                where r.id = old.reservation_id),
           balance_due_cents = coalesce(total_amount_cents, 0)
               - max(coalesce((select p.paid from stay_paid p where p.reservation_id = old.reservation_id), 0), 0)
     where id = old.reservation_id;
end;
