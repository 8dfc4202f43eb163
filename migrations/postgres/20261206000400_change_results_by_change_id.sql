-- A change is known by its id across the devices of its tenant.
--
-- A laptop whose push went through but whose answer was lost keeps the changes in its outbox; if
-- its clerk then signs in again, the laptop is a new device to the server (a new id, progress at
-- zero) and sends the same changes again. Found by device and sequence number only, they were
-- applied a second time: an update merged twice, an insert refused as a duplicate of itself (the
-- laptop then undid work the server had taken). The push now also looks its changes up by id
-- within the tenant and answers those from the record (`replayed`).

create index change_results_change_idx on app.change_results (tenant_id, change_id);

-- The lookup reads the results of the tenant's other devices (the same tenant's data); writing
-- stays the device's own.
create policy same_tenant_read on app.change_results for select to authenticated
    using (tenant_id = (select app.current_tenant_id()));
