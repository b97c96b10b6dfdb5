-- The project's last requested action and its job. The API joins the job's status, so a
-- deploy that was cancelled while queued, or whose worker died, never leaves the project
-- looking busy: `status` changes only on outcomes, the job tells what is in flight.
alter table projects add column last_job_id uuid;
alter table projects add column last_action text;
