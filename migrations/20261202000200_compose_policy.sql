-- Compose policy rules an admin lifted for a project (`ComposePolicyExceptionsSet`), shown on
-- the project.
alter table projects add column compose_exceptions text[] not null default '{}';
