-- Retention of sync state: the feed and the recorded push results are kept for a stated period
-- (`pms-server prune-sync-state --keep-days N`, an admin command: the serving role cannot prune).
--
-- Pruning removes whole feed transactions, oldest first, and remembers per tenant the last
-- change it removed. A pull whose cursor is behind that point could miss a change, so the server
-- answers it `410 cursor_expired` and the laptop re-snapshots, keeping its outbox.
--
-- app.row_clocks is not pruned: it holds one row per synced row (bounded by the data itself),
-- and dropping a clock would let a stale offline edit win over a newer one.

alter table app.feed_heads
    add column pruned_seq bigint not null default 0,
    add column pruned_change_no bigint not null default 0;
comment on column app.feed_heads.pruned_seq is
    'With pruned_change_no: the last change removed by retention; a cursor behind it has expired.';

-- Removes feed transactions and push results older than `keep`. Returns the rows removed.
create function app.prune_sync_state(keep interval)
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

    delete from app.change_results where created_at < cutoff;
    get diagnostics results_removed = row_count;

    drop table prune_points;
    return next;
end
$$;
revoke all on function app.prune_sync_state(interval) from public;
grant execute on function app.prune_sync_state(interval) to service_role;

-- What a device may learn of its own tenant's feed head: where retention has pruned to.
create function app.feed_pruned_through() returns table (seq bigint, change_no bigint)
language sql stable security definer
set search_path = pg_catalog, app
as $$
    select h.pruned_seq, h.pruned_change_no
      from app.feed_heads h
     where h.tenant_id = app.current_tenant_id()
$$;
alter function app.feed_pruned_through() owner to service_role;
revoke all on function app.feed_pruned_through() from public;
grant execute on function app.feed_pruned_through() to authenticated;
