-- What a retried push needs from the recorded results of the first try.
--
-- - `feed_seq`: the feed transaction the change landed in. A retry answered only from recorded
--   results wrote nothing, so the request itself has no feed position; the laptop must still
--   learn where its changes landed, or it drops them from its outbox before the pull has brought
--   them back (the screen flickers back to the old value).
-- - `body_hash`: SHA-256 of what the change said (table, operation, row, values, base, stamp).
--   A retry must say the same; a different body under a known number is a client defect and is
--   refused, never answered with the result of something else.
-- - `device_progress.results_pruned_through`: the highest of the device's numbers whose result
--   retention removed. A very late retry of such a change is told its result is no longer kept
--   (`result_expired`), not that its number is out of order.

alter table app.change_results
    add column feed_seq bigint,
    add column body_hash text constraint change_results_body_hash_check check (body_hash ~ '^[0-9a-f]{64}$');

alter table app.device_progress
    add column results_pruned_through bigint not null default 0
        constraint device_progress_results_pruned_through_check check (results_pruned_through >= 0);

create or replace function app.prune_sync_state(keep interval)
returns table (changes_removed bigint, results_removed bigint)
language plpgsql
set search_path = pg_catalog, app
as $$
declare
    cutoff constant timestamptz := now() - keep;
begin
    -- Per tenant, the newest transaction entirely older than the cutoff, and its last change.
    create temporary table prune_points on commit drop as
    select c.tenant_id, c.seq, max(c.change_no) as change_no
      from app.changes c
      join (select tenant_id, max(seq) as seq
              from app.changes
             where changed_at < cutoff
             group by tenant_id) newest
        on newest.tenant_id = c.tenant_id and newest.seq = c.seq
     group by c.tenant_id, c.seq;

    update app.feed_heads h
       set pruned_seq = p.seq, pruned_change_no = p.change_no
      from prune_points p
     where h.tenant_id = p.tenant_id
       and (p.seq, p.change_no) > (h.pruned_seq, h.pruned_change_no);

    delete from app.changes c
     using prune_points p
     where c.tenant_id = p.tenant_id and c.seq <= p.seq;
    get diagnostics changes_removed = row_count;

    -- Remember, per device, up to where results are gone before removing them.
    update app.device_progress d
       set results_pruned_through = greatest(d.results_pruned_through, r.last_seq)
      from (select device_id, max(device_seq) as last_seq
              from app.change_results
             where created_at < cutoff
             group by device_id) r
     where d.device_id = r.device_id;

    delete from app.change_results where created_at < cutoff;
    get diagnostics results_removed = row_count;

    drop table prune_points;
    return next;
end
$$;
