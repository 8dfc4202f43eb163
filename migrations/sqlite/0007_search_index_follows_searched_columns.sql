-- The guest search index is written again only when what it indexes changed. Every update of a
-- guest (a note, an address, each row of a pull page, which upserts every column) rewrote the
-- row's trigrams in the FTS5 index: most of the time a laptop spent applying a day's edits from
-- the head office went into that index.
drop trigger if exists guests_search_update;
create trigger guests_search_update after update on guests
when old.full_name is not new.full_name or old.email is not new.email or old.phone is not new.phone
begin
    insert into guests_search (guests_search, rowid, full_name, email, phone)
    values ('delete', old.rowid, old.full_name, old.email, old.phone);
    insert into guests_search (rowid, full_name, email, phone) values (new.rowid, new.full_name, new.email, new.phone);
end;
