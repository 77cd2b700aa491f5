/* vm_actions: the routes that change VMs (api/vm_actions.c) — power actions,
 * snapshots, create, delete and live migration. Each validates and authorizes
 * at the edge, refuses what the cached state already rules out (409), and
 * queues a task (server/vm_tasks.h): 202 Accepted with Location
 * /api/v1/tasks/{id} and the task as the body. Nothing reaches libvirt
 * before every check passed.
 *
 * Permissions (the VM's tenant; another tenant's VM answers 404 like a
 * missing one, a visible VM without the permission 403):
 *   power actions, snapshot create/revert/delete   vm.power
 *   snapshot list                                  vm.read
 *   create                                         vm.create in the spec's tenant
 *   delete                                         vm.delete
 *   migrate                                        vm.power and host.read, both
 *                                                  globally (administrators, operators:
 *                                                  choosing hosts is not a tenant's call)
 * Snapshots are vm.power, not vm.create/vm.delete: they act on an existing
 * VM without changing its tenant's allocation, like a power action.
 *
 * Create is an admission point: the spec's allocation (1 VM, vCPUs, memory,
 * disk) is reserved in the tenant's quota before the task is queued (403
 * quota-exceeded with the refusal and a ready-made quota request otherwise);
 * the task commits or releases it. Starting, suspending or resuming changes no
 * allocation (defined VMs count, running or not) and runtime limits are
 * cgroup caps, not admission checks: nothing is reserved for them. */
#ifndef VP_API_VM_ACTIONS_H
#define VP_API_VM_ACTIONS_H

#include "api.h"

/* POST /api/v1/vms/{id}/actions/{action}: start|shutdown|reboot|reset|poweroff|suspend|resume */
int api_vm_actions_act(struct api_req *r, struct api_resp *w, err *e);

/* POST /api/v1/vms/{id}/actions/migrate {target_host_id, tunnelled?, unsafe?, bandwidth_mibs?} */
int api_vm_actions_migrate(struct api_req *r, struct api_resp *w, err *e);

/* POST /api/v1/vms {name, host_id, tenant_id?, vcpus, memory_mib, disk_gib, pool|base_image,
 * network?, firmware?} */
int api_vm_actions_create(struct api_req *r, struct api_resp *w, err *e);

/* DELETE /api/v1/vms/{id}?delete_volumes=&force= */
int api_vm_actions_delete(struct api_req *r, struct api_resp *w, err *e);

/* GET /api/v1/vms/{id}/snapshots (asks the host, like live stats) */
int api_vm_actions_snapshots(struct api_req *r, struct api_resp *w, err *e);

/* POST /api/v1/vms/{id}/snapshots {name, description?} */
int api_vm_actions_snapshot_create(struct api_req *r, struct api_resp *w, err *e);

/* POST /api/v1/vms/{id}/snapshots/{name}/revert */
int api_vm_actions_snapshot_revert(struct api_req *r, struct api_resp *w, err *e);

/* DELETE /api/v1/vms/{id}/snapshots/{name} */
int api_vm_actions_snapshot_delete(struct api_req *r, struct api_resp *w, err *e);

#endif
