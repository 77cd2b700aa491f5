/* inventory: the handlers of hosts, pools and networks (api/hosts.c) and of
 * VMs (api/vms.c: read side and assignment).
 *
 * Reads come from the cache in SQLite (db/inventory.h) and never wait on a
 * hypervisor; the one exception is a VM's live stats in GET /vms/{id},
 * fetched with a short deadline off the request thread (stats null and a
 * stats_error when the host does not answer). Changes go through
 * server/inventory.h, which also tells the connection manager.
 *
 * Authorization: hosts, pools and networks are global objects (host.read,
 * host.admin, scope GLOBAL). VMs: the route needs vm.read in some scope; the
 * list shows only the VMs of tenants where the caller holds vm.read (all of
 * them with vm.read globally); another tenant's VM answers 404 exactly like
 * a missing one. PATCH /vms/{id} further needs host.admin or tenant.admin
 * globally (403 otherwise, audited as denied). */
#ifndef VP_API_INVENTORY_H
#define VP_API_INVENTORY_H

#include "api.h"

int api_hosts_list(struct api_req *r, struct api_resp *w, err *e);
int api_hosts_create(struct api_req *r, struct api_resp *w, err *e);
int api_hosts_get(struct api_req *r, struct api_resp *w, err *e);
int api_hosts_update(struct api_req *r, struct api_resp *w, err *e);
int api_hosts_delete(struct api_req *r, struct api_resp *w, err *e);

int api_pools_list(struct api_req *r, struct api_resp *w, err *e);
int api_networks_list(struct api_req *r, struct api_resp *w, err *e);

int api_vms_list(struct api_req *r, struct api_resp *w, err *e);
int api_vms_get(struct api_req *r, struct api_resp *w, err *e);
int api_vms_update(struct api_req *r, struct api_resp *w, err *e);

/* The connection manager's inventory of the app; 503 when there is none
 * (a process that is not serving). Borrowed. */
struct inventory *api_inventory(struct api_req *r, err *e);

/* `s` if it is not empty, else NULL (for json_pack's "s?"). */
const char *api_nz(const char *s);

#endif
