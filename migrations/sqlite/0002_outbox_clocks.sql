-- Field-level merging: each outbox change carries what the laptop held before the edit (for
-- every column of the field groups it touches) and the laptop's hybrid logical clock stamp.
alter table outbox add column base_json text not null default '{}';
alter table outbox add column stamp text;
