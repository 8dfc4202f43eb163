-- Phone and e-mail of guests and properties no longer merge as one field group (a clerk corrects
-- one without the other, and two desks doing so offline must both be kept). The stamp of the
-- old `contact` group becomes the stamp of each, so no write loses its place in time.
update app.row_clocks
   set group_stamps = (group_stamps - 'contact')
                      || jsonb_build_object('email', group_stamps -> 'contact', 'phone', group_stamps -> 'contact')
 where table_name in ('guests', 'properties')
   and group_stamps ? 'contact';
