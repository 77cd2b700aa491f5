-- 0005: the inventory cache of issue 5 (server/inventory.c keeps it current
-- from libvirt events and a periodic reconcile; db/inventory_store.c).
--
-- host: the connection state and the facts read from the host. The 0001
-- CHECK on host.state (unknown|connected|disconnected|maintenance) does not
-- name the connection states, and rebuilding `host` would cascade-delete the
-- vm rows (foreign keys are on during migrations), so the connection state
-- gets its own column; host.state stays for an administrative state
-- (maintenance) of later work and is not written by the inventory.
ALTER TABLE host ADD COLUMN conn_state TEXT NOT NULL DEFAULT 'connecting'
    CHECK (conn_state IN ('connecting', 'connected', 'unreachable'));
ALTER TABLE host ADD COLUMN last_error TEXT NOT NULL DEFAULT '';  -- client-safe text
ALTER TABLE host ADD COLUMN state_since TEXT;
ALTER TABLE host ADD COLUMN threads INTEGER CHECK (threads IS NULL OR threads >= 0);
ALTER TABLE host ADD COLUMN sockets INTEGER CHECK (sockets IS NULL OR sockets >= 0);
ALTER TABLE host ADD COLUMN memory_free_mib INTEGER
    CHECK (memory_free_mib IS NULL OR memory_free_mib >= 0);
ALTER TABLE host ADD COLUMN cpu_vendor TEXT;
ALTER TABLE host ADD COLUMN arch TEXT;
ALTER TABLE host ADD COLUMN hypervisor TEXT;
ALTER TABLE host ADD COLUMN hostname TEXT;
ALTER TABLE host ADD COLUMN libvirt_version INTEGER;
ALTER TABLE host ADD COLUMN cpu_features TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(cpu_features));
ALTER TABLE host ADD COLUMN facts_at TEXT;       -- facts read at
ALTER TABLE host ADD COLUMN reconciled_at TEXT;  -- last complete reconcile; NULL: never

-- vm: everything the API shows without asking the host. `fp` is a fingerprint
-- of the cached libvirt state: the reconcile compares it and writes only the
-- rows that changed. meta_tenant_id is the tenant the domain's portal metadata
-- names; tenant_id is that tenant when it exists here (NULL otherwise), so a
-- domain from another portal cannot break the foreign key.
ALTER TABLE vm ADD COLUMN meta_tenant_id INTEGER;
ALTER TABLE vm ADD COLUMN state_reason INTEGER NOT NULL DEFAULT 0;
ALTER TABLE vm ADD COLUMN max_vcpus INTEGER NOT NULL DEFAULT 0 CHECK (max_vcpus >= 0);
ALTER TABLE vm ADD COLUMN max_memory_mib INTEGER NOT NULL DEFAULT 0 CHECK (max_memory_mib >= 0);
ALTER TABLE vm ADD COLUMN firmware TEXT NOT NULL DEFAULT 'bios' CHECK (firmware IN ('bios', 'uefi'));
ALTER TABLE vm ADD COLUMN domain_type TEXT;
ALTER TABLE vm ADD COLUMN arch TEXT;
ALTER TABLE vm ADD COLUMN partition TEXT;
ALTER TABLE vm ADD COLUMN persistent INTEGER NOT NULL DEFAULT 1 CHECK (persistent IN (0, 1));
ALTER TABLE vm ADD COLUMN autostart INTEGER NOT NULL DEFAULT 0 CHECK (autostart IN (0, 1));
ALTER TABLE vm ADD COLUMN tags TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags));
ALTER TABLE vm ADD COLUMN disks TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(disks));
ALTER TABLE vm ADD COLUMN nics TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(nics));
ALTER TABLE vm ADD COLUMN fp TEXT;
ALTER TABLE vm ADD COLUMN created_at TEXT;  -- first seen by the portal
-- Keyset pages: every sort is (key, id); names sort case-insensitively.
-- UNIQUE(host_id, name) already indexes the host filter; vm_host_uuid serves
-- the reconcile's diff (the host's rows in uuid order).
CREATE INDEX vm_name ON vm(name COLLATE NOCASE, id);
CREATE INDEX vm_state ON vm(state, id);
CREATE INDEX vm_created ON vm(created_at, id);
CREATE INDEX vm_host_uuid ON vm(host_id, uuid);
CREATE INDEX vm_tenant_name ON vm(tenant_id, name COLLATE NOCASE, id);

-- The VM's item of GET /api/v1/vms, rendered whenever the row changes (by
-- these triggers, whoever writes the row), so that the busiest read of the
-- portal copies text instead of building JSON for every row of every page.
ALTER TABLE vm ADD COLUMN item TEXT;
CREATE TRIGGER vm_item_insert AFTER INSERT ON vm BEGIN
    UPDATE vm SET item = json_object('id', id, 'uuid', uuid, 'name', name, 'host_id', host_id,
        'host', (SELECT name FROM host WHERE host.id = vm.host_id), 'tenant_id', tenant_id,
        'state', state, 'vcpus', vcpus, 'memory_mib', memory_mib, 'disk_gib', disk_gib,
        'firmware', firmware, 'tags', json(tags), 'created_at', created_at,
        'updated_at', updated_at)
    WHERE id = NEW.id;
END;
CREATE TRIGGER vm_item_update AFTER UPDATE OF id, uuid, host_id, name, tenant_id, state, vcpus,
    memory_mib, disk_gib, firmware, tags, created_at, updated_at ON vm BEGIN
    UPDATE vm SET item = json_object('id', id, 'uuid', uuid, 'name', name, 'host_id', host_id,
        'host', (SELECT name FROM host WHERE host.id = vm.host_id), 'tenant_id', tenant_id,
        'state', state, 'vcpus', vcpus, 'memory_mib', memory_mib, 'disk_gib', disk_gib,
        'firmware', firmware, 'tags', json(tags), 'created_at', created_at,
        'updated_at', updated_at)
    WHERE id = NEW.id;
END;
CREATE TRIGGER host_name_items AFTER UPDATE OF name ON host BEGIN
    UPDATE vm SET item = json_set(item, '$.host', NEW.name) WHERE host_id = NEW.id;
END;

-- A generation of the vm table: bumped by every change of a row, whoever
-- makes it. A rendered page of GET /api/v1/vms stays valid while it is the
-- same (api/vms.c keeps the last page per worker thread).
CREATE TABLE inventory_gen (n INTEGER NOT NULL);
INSERT INTO inventory_gen (n) VALUES (0);
CREATE TRIGGER vm_gen_insert AFTER INSERT ON vm BEGIN
    UPDATE inventory_gen SET n = n + 1;
END;
CREATE TRIGGER vm_gen_update AFTER UPDATE ON vm BEGIN
    UPDATE inventory_gen SET n = n + 1;
END;
CREATE TRIGGER vm_gen_delete AFTER DELETE ON vm BEGIN
    UPDATE inventory_gen SET n = n + 1;
END;

-- A VM that left the cache keeps its id here: when the same UUID comes back
-- (a migration seen from the source first, a host that was re-added), it
-- gets its old id again, and ids of VMs that are gone are never handed to
-- other VMs (new ids continue after the largest id ever used).
CREATE TABLE vm_gone (
    id       INTEGER PRIMARY KEY,
    uuid     TEXT NOT NULL UNIQUE,
    host_id  INTEGER,  -- where it was last seen (no foreign key: outlives hosts)
    name     TEXT,
    gone_at  TEXT NOT NULL
);

CREATE TABLE pool (
    id          INTEGER PRIMARY KEY,
    host_id     INTEGER NOT NULL REFERENCES host(id) ON DELETE CASCADE,
    uuid        TEXT NOT NULL,
    name        TEXT NOT NULL,
    type        TEXT,
    active      INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1)),
    autostart   INTEGER NOT NULL DEFAULT 0 CHECK (autostart IN (0, 1)),
    persistent  INTEGER NOT NULL DEFAULT 1 CHECK (persistent IN (0, 1)),
    capacity    INTEGER NOT NULL DEFAULT 0 CHECK (capacity >= 0),   -- bytes
    allocation  INTEGER NOT NULL DEFAULT 0 CHECK (allocation >= 0),
    available   INTEGER NOT NULL DEFAULT 0 CHECK (available >= 0),
    volumes     INTEGER NOT NULL DEFAULT 0 CHECK (volumes >= 0),    -- count
    fp          TEXT,  -- of the pool and its volumes
    updated_at  TEXT NOT NULL,
    UNIQUE (host_id, uuid)
);
CREATE INDEX pool_host_name ON pool(host_id, name);

CREATE TABLE volume (
    pool_id     INTEGER NOT NULL REFERENCES pool(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    path        TEXT,
    format      TEXT,
    capacity    INTEGER NOT NULL DEFAULT 0 CHECK (capacity >= 0),  -- bytes
    allocation  INTEGER NOT NULL DEFAULT 0 CHECK (allocation >= 0),
    PRIMARY KEY (pool_id, name)
) WITHOUT ROWID;

CREATE TABLE network (
    id            INTEGER PRIMARY KEY,
    host_id       INTEGER NOT NULL REFERENCES host(id) ON DELETE CASCADE,
    uuid          TEXT NOT NULL,
    name          TEXT NOT NULL,
    bridge        TEXT,
    forward_mode  TEXT,
    active        INTEGER NOT NULL DEFAULT 0 CHECK (active IN (0, 1)),
    autostart     INTEGER NOT NULL DEFAULT 0 CHECK (autostart IN (0, 1)),
    persistent    INTEGER NOT NULL DEFAULT 1 CHECK (persistent IN (0, 1)),
    fp            TEXT,
    updated_at    TEXT NOT NULL,
    UNIQUE (host_id, uuid)
);
CREATE INDEX network_host_name ON network(host_id, name);
