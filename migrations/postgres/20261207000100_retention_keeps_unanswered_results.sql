-- Retention removes only the push results their laptop has received.
--
-- A laptop pushes its outbox in device order, from its lowest change still waiting for an
-- answer; so when a push begins at number N, the device has received the answers to every
-- number below N (`device_progress.acked_through` = N - 1, raised by each push). A result above
-- that is one whose answer was lost (the link dropped as it came back): the laptop will send the
-- change again, maybe after weeks offline, and must be answered from the record. Pruned by age
-- alone, such a change came back as `result_expired`, a conflict the clerk had to sort out for
-- work that had gone through (and a change sent again under a new device, after signing in
-- again, was no longer found by its change id). Results at or below `acked_through` go by age as
-- before; the others stay until their laptop has had its answer.
--
-- The pruning also takes its locks in the order pushes take theirs (below): it deadlocked with a
-- push of a tenant it was pruning.

alter table app.device_progress
    add column acked_through bigint not null default 0
        constraint device_progress_acked_through_check check (acked_through >= 0);

create or replace function app.prune_sync_state(keep interval)
returns table (changes_removed bigint, results_removed bigint)
language plpgsql
set search_path = pg_catalog, app
as $$
declare
    cutoff constant timestamptz := now() - keep;
begin
    -- The devices' progress rows before the feed heads, in the order a push takes them (its
    -- device's progress, then its tenant's head): taken the other way round, a push holding its
    -- progress and waiting for the head and this holding the head and waiting for the progress
    -- deadlocked (found by the fault campaign's scheduled pruning).

    -- The results that go: old enough, and answered to their laptop.
    create temporary table prunable_results on commit drop as
    select r.device_id, r.tenant_id, r.device_seq
      from app.change_results r
      join app.device_progress d on d.device_id = r.device_id and d.tenant_id = r.tenant_id
     where r.created_at < cutoff
       and r.device_seq <= d.acked_through;

    -- Remember, per device, up to where results are gone before removing them.
    update app.device_progress d
       set results_pruned_through = greatest(d.results_pruned_through, r.last_seq)
      from (select device_id, tenant_id, max(device_seq) as last_seq
              from prunable_results
             group by device_id, tenant_id) r
     where d.device_id = r.device_id and d.tenant_id = r.tenant_id;

    delete from app.change_results r
     using prunable_results p
     where r.device_id = p.device_id and r.tenant_id = p.tenant_id
       and r.device_seq = p.device_seq;
    get diagnostics results_removed = row_count;

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

    drop table prune_points;
    drop table prunable_results;
    return next;
end
$$;
