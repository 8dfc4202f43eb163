-- The legacy import's member writes recorded per statement, and the ledger's row trigger not
-- called where it has nothing to do.
--
-- 1. Loyalty members record their changes with a row trigger (a desk or sync write moves one
--    member per statement, where a statement trigger would cost more: its transition tables).
--    The import writes members a thousand at a time, and the ledger's statement trigger moves
--    several hundred per statement: there the row trigger was a PL/pgSQL call and an insert per
--    member. Inside the import's transactions (`pms.kv_import`) the members' changes are recorded
--    per statement instead, by the function every other synced table uses; the feed holds the
--    same rows either way. Deletes keep the row trigger in every transaction.
--
-- 2. The ledger's row trigger returns at once when the statement's balances are supplied
--    (`pms.ledger_balances_supplied`); a WHEN condition now spares it the call.

drop trigger loyalty_members_record_change on public.loyalty_members;
create trigger loyalty_members_record_change after insert or update on public.loyalty_members
    for each row when (current_setting('pms.kv_import', true) is distinct from 'on')
    execute function app.record_change();
create trigger loyalty_members_record_delete after delete on public.loyalty_members
    for each row execute function app.record_change();
create trigger loyalty_members_record_inserts after insert on public.loyalty_members
    referencing new table as new_rows
    for each statement when (current_setting('pms.kv_import', true) = 'on')
    execute function app.record_changes();
create trigger loyalty_members_record_updates after update on public.loyalty_members
    referencing old table as old_rows new table as new_rows
    for each statement when (current_setting('pms.kv_import', true) = 'on')
    execute function app.record_changes();

drop trigger loyalty_transactions_apply on public.loyalty_transactions;
create trigger loyalty_transactions_apply before insert on public.loyalty_transactions
    for each row when (current_setting('pms.ledger_balances_supplied', true) is distinct from 'on')
    execute function app.loyalty_transactions_apply();

-- 3. Guests' pages keep a tenth free, so that the server's refresh of a guest's metrics (after
--    every booking change, and once for all of them after the import) can write the new version
--    beside the old one without touching the eight indexes (a HOT update: none of the metrics is
--    indexed). Pages written from now on; a table rewrite applies it to the rest.
alter table public.guests set (fillfactor = 90);

-- 4. The import's queue keeps each record's value as the store gave it when queued, so that
--    draining it in creation order does not look every record up in the store a second time
--    (a random read per record, and the value converted to text again).
alter table kv_import.queue add column value text not null default '';
