-- A hotel that began on its own laptop numbers its bookings there (1, 2, 3…). When it connects
-- to a tenant that already has bookings, the tenant's series numbers them anew, and each keeps
-- the number its guest holds as its legacy code (`L-<number>`), which the laptop sets when it
-- inserts the booking (insert only: the merge drops it from updates; see
-- `pms_sync_protocol::merge::INSERT_ONLY_COLUMNS`).
grant insert (legacy_confirmation_code) on public.reservations to authenticated;
