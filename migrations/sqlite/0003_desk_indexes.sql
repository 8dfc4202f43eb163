-- The desk's screens on a mirror of hundreds of thousands of stays read only what they show:
-- a property's stays by status (guests in house, tonight's occupancy), a room's stays by status
-- (who is in it; whether an active stay blocks a date), and a property's stays by departure
-- (the tape chart's window), instead of walking every past stay of the property or room.
create index reservations_property_status_idx on reservations (property_id, status, check_in_date);
create index reservations_room_status_idx on reservations (room_id, status, check_in_date);
create index reservations_property_departure_idx on reservations (property_id, check_out_date);
-- Guest search for the first one or two letters typed: names by prefix, case-insensitively.
create index guests_name_nocase_idx on guests (full_name collate nocase);
