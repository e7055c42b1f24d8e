"""The state database's schema, and how each older version becomes the current one."""

SCHEMA_VERSION = 3

# One row per service tuna created, destroyed ones kept as history; a name is live at most once.
SCHEMA = """
CREATE TABLE services (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    service_name TEXT NOT NULL,
    provider TEXT NOT NULL,
    status TEXT NOT NULL,
    request TEXT NOT NULL,
    provider_ids TEXT NOT NULL DEFAULT '{}',
    location TEXT NOT NULL DEFAULT '{}',
    candidate_request TEXT,
    endpoint_url TEXT,
    error TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    -- A hybrid service's legs point at its row, which holds the hybrid settings.
    parent_id INTEGER REFERENCES services (id),
    hybrid TEXT
);
CREATE UNIQUE INDEX one_live_service_per_name ON services (service_name)
    WHERE status != 'destroyed';
CREATE TABLE observations (
    service_id INTEGER NOT NULL REFERENCES services (id),
    at REAL NOT NULL,
    active_replicas INTEGER NOT NULL,
    replica_price_per_hour REAL,  -- NULL: unknown (version 1), priced at the record's GPU
    on_demand_replicas INTEGER  -- of active_replicas, a spot fleet's on-demand fallback
);
CREATE INDEX observations_by_service ON observations (service_id, at);
CREATE TABLE benchmarks (
    service_id INTEGER NOT NULL REFERENCES services (id),
    kind TEXT NOT NULL,  -- cold-start or load-test
    at REAL NOT NULL,
    result TEXT NOT NULL  -- JSON, as `tuna benchmark ... --json` prints it
);
"""

# Version 1 keyed services by name (a re-deploy erased the old record) and priced every
# observation at the record's current GPU.
FROM_V1 = """
ALTER TABLE services RENAME TO services_v1;
ALTER TABLE observations RENAME TO observations_v1;
DROP INDEX observations_by_service;
""" + SCHEMA + """
INSERT INTO services (service_name, provider, status, request, provider_ids, endpoint_url, error,
                      created_at, updated_at)
    SELECT service_name, provider, status, request, provider_ids, endpoint_url, error, created_at,
           updated_at FROM services_v1;
INSERT INTO observations SELECT s.id, o.at, o.active_replicas, NULL, NULL FROM observations_v1 o
    JOIN services s USING (service_name);
DROP TABLE observations_v1;
DROP TABLE services_v1;
"""

# Version 2 had no hybrid services.
FROM_V2 = """
ALTER TABLE services ADD COLUMN parent_id INTEGER REFERENCES services (id);
ALTER TABLE services ADD COLUMN hybrid TEXT;
ALTER TABLE observations ADD COLUMN on_demand_replicas INTEGER;
CREATE TABLE benchmarks (service_id INTEGER NOT NULL REFERENCES services (id), kind TEXT NOT NULL,
    at REAL NOT NULL, result TEXT NOT NULL);
"""


# The statements that bring a database of each older version to SCHEMA_VERSION.
MIGRATIONS = {0: SCHEMA, 1: FROM_V1, 2: FROM_V2}
