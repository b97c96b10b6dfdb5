-- A project created from a GitHub template: the repository asked for, created, cloned or
-- failed (`RepoCreationRequested`, `RepoCreated`, `RepoCloned`, `RepoCreationFailed`), shown
-- on the project, including a repository a failed job left on GitHub.
alter table projects add column repository jsonb;
