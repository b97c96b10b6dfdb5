-- Unpublish retries back off: after the n-th failed attempt the next one is due
-- min(1 minute × 2^(n-1), 1 hour) later, instead of every minute forever. Reset by a publish.
alter table cloudflare_routes add column unpublish_failures integer not null default 0;
