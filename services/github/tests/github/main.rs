//! Integration tests of the github service (real Postgres, NATS and git; the fake GitHub).
