/* vat: helpers of the VM-action integration tests, on top of the inventory
 * tests' helpers (../inventory/invt.h: the server, test-driver host files,
 * users, requests): queue an action, wait for its task, read a VM. */
#ifndef VP_VAT_H
#define VP_VAT_H

#include <jansson.h>
#include <stdint.h>

#include "invt.h"

/* The server flags of these tests: the test-sleep hook (to hold a host's
 * task slots) and no periodic reconcile, so that only events and the tasks
 * themselves update the cache. */
extern const char *const vat_flags[];

/* Expects 202 with Location /api/v1/tasks/{id} and the task as the body;
 * returns the task id (fails the test otherwise). Frees r. */
int64_t vat_accepted(struct vp_resp *r, const char *what);

/* Polls GET /api/v1/tasks/{id} until the task has ended (60 s at most) and
 * returns it (new reference). */
json_t *vat_wait(int64_t task, const char *token);

/* vat_wait, then asserts the final state ("succeeded", "failed",
 * "cancelled"); returns the task's error text (static copy, "" when none). */
const char *vat_expect(int64_t task, const char *token, const char *state);

/* POST /vms/{id}/actions/{action} with `token`: the HTTP status; *task set
 * when 202 (may be NULL). */
long vat_act(int64_t vm, const char *action, const char *token, int64_t *task);

/* POST an action and wait for it to succeed. */
void vat_act_ok(int64_t vm, const char *action, const char *token);

/* GET /api/v1/vms/{id} as admin (new reference; fails unless 200). */
json_t *vat_vm(int64_t vm);

/* The VM's cached state (static copy). */
const char *vat_vm_state(int64_t vm);

/* How many VMs the cache lists on host_id (admin view). */
size_t vat_vm_count(int64_t host_id);

/* allocation.<res>.used / .reserved of a tenant (admin view). */
int64_t vat_used(int64_t tenant, const char *res);
int64_t vat_reserved(int64_t tenant, const char *res);

/* A sleeping task holding one of host_id's task slots for `ms`. */
int64_t vat_sleeper(int64_t host_id, int ms);

/* How many tasks match a query string ("kind=vm.create&target=..."). */
size_t vat_task_count(const char *query);

void vat_sleep_ms(int ms);

#endif
