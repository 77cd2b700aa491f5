/* plans: migration, rebalance and drain plans — /api/v1/plans (api/plans.c).
 *
 * POST /api/v1/plans (plan.write) takes either
 *   - application/json: {"kind": "vmware-import" | "rebalance" | "drain",
 *     "name"?, "inventory"? (imports: {"format": "rvtools-xlsx" | "rvtools-csv" |
 *     "vmx" | "ovf", "files": [{"name", "content" | "content_base64"}]}),
 *     "targets"? ("inventory" | host spec | {"spec"} | {"hosts": [...]} |
 *     {"host_ids": [...]}), "sizing"?, "drain"? ({"host_ids": [...]} | {"host_id"}),
 *     "constraints"? ({overcommit, headroom (percent), affinity, anti_affinity,
 *     pinned, excluded, tenant_id, threshold, per_host, max_parallel, cpu_check,
 *     moves})}; or
 *   - an upload of one file (an import): RVTools xlsx or csv, a .vmx, an .ovf, said
 *     by its Content-Type or ?format=xlsx|csv|vmx|ovf; the query then carries name,
 *     hosts (spec, or "inventory"), sizing, cpu_overcommit, memory_overcommit,
 *     disk_overcommit, headroom, tenant_id, sheet (csv).
 * Small plans are computed at once (201 + the plan); big ones (more than
 * API_PLANS_SYNC_VMS VMs), ?async=true, or cpu_check "libvirt" go to a task
 * (202, Location: the task; body: the plan in state draft with its task).
 * Bad input is a 400 naming the field (the member of the JSON form).
 *
 * GET /api/v1/plans, GET /api/v1/plans/{id} (plan.read): plans are global.
 * GET /api/v1/plans/{id}/export?format=json|csv|xlsx (plan.read).
 * POST /api/v1/plans/{id}/execute (plan.write, and host.admin globally, checked
 * in the handler): KVM plans only; optional JSON body {tunnelled (default true),
 * unsafe (default false), bandwidth_mibs}; 202 + the "plan.execute" task. */
#ifndef VP_API_PLANS_H
#define VP_API_PLANS_H

#include "api.h"

enum { API_PLANS_SYNC_VMS = 500 };

int api_plans_create(struct api_req *r, struct api_resp *w, err *e);
int api_plans_list(struct api_req *r, struct api_resp *w, err *e);
int api_plans_get(struct api_req *r, struct api_resp *w, err *e);
int api_plans_export(struct api_req *r, struct api_resp *w, err *e);
int api_plans_execute(struct api_req *r, struct api_resp *w, err *e);

#endif
