/* tasks: the task routes (api/tasks.c) and the helpers that action handlers
 * use to answer "202 Accepted, see /api/v1/tasks/{id}". */
#ifndef VP_API_TASKS_H
#define VP_API_TASKS_H

#include "api.h"
#include "task.h"

/* GET /api/v1/tasks: newest first, filters state, kind, target, tenant_id,
 * created_by; tenant-scoped (task.read globally sees every task). */
int api_tasks_list(struct api_req *r, struct api_resp *w, err *e);

/* GET /api/v1/tasks/{id}: another tenant's task answers 404. */
int api_tasks_get(struct api_req *r, struct api_resp *w, err *e);

/* POST /api/v1/tasks/{id}/cancel: 202, or 409 when finished / not cancellable.
 * Needs task.read and the permission of the task's kind in its tenant. */
int api_tasks_cancel(struct api_req *r, struct api_resp *w, err *e);

/* GET /api/v1/tasks/events: Server-Sent Events of the tasks the caller may see. */
int api_tasks_events(struct api_req *r, struct api_resp *w, err *e);

/* POST /api/v1/tasks/test-sleep: a sleeping task, for the integration tests
 * only; 404 unless the server runs with server.test_hooks=1. */
int api_tasks_test_sleep(struct api_req *r, struct api_resp *w, err *e);

/* The permission that acting on (cancelling) a task of `kind` needs, in the
 * task's tenant: "vm.create" -> vm.create, "vm.delete" -> vm.delete, other
 * "vm.*" -> vm.power, "host.*" -> host.admin, "plan.*" -> plan.write,
 * anything else -> host.admin. */
enum perm api_task_kind_perm(const char *kind);

/* The API's JSON of a task (a new reference, NULL when out of memory). */
json_t *api_task_json(const struct task_view *v);

/* Answers 202 Accepted with Location: /api/v1/tasks/{id} and the task as the
 * body, for handlers that just queued task `id`. Returns 0 or -1 with e. */
int api_tasks_accepted(struct api_req *r, struct api_resp *w, int64_t id, err *e);

#endif
