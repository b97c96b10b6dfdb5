-- The panel's GitHub webhook on a project's repository (`GithubWebhookEnsured`,
-- `GithubWebhookFailed`), shown on the project.
alter table projects add column webhook jsonb;
