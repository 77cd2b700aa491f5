/* requests: self-service quota requests (api/quota_requests.c), in-app
 * notifications (api/notifications.c) and outgoing webhooks
 * (api/webhooks.c) of issue 7. Stores: db/quota_request.h, db/notify.h.
 *
 * Authorization (route table + handlers):
 *  - POST /quota-requests: quota.request in the body's tenant (another
 *    tenant answers 404, like a missing one);
 *  - GET /quota-requests[/{id}]: quota.read in the request's tenant (the list
 *    shows the tenants where the caller holds it: requesters their own
 *    tenant, global approvers everything);
 *  - withdraw: quota.request, and only the requester;
 *  - approve / deny: quota.approve, globally or in the request's tenant, and
 *    never on one's own request (re-checked inside the write transaction);
 *  - notifications: any authenticated user, their own only;
 *  - webhooks: webhook.admin, globally.
 * Test hook: POST /api/v1/test/clock moves the portal's clock; it answers 404
 * unless server.test_hooks=1 (never in production). */
#ifndef VP_API_REQUESTS_H
#define VP_API_REQUESTS_H

#include "api.h"

int api_quota_requests_create(struct api_req *r, struct api_resp *w, err *e);
int api_quota_requests_list(struct api_req *r, struct api_resp *w, err *e);
int api_quota_requests_get(struct api_req *r, struct api_resp *w, err *e);
int api_quota_requests_withdraw(struct api_req *r, struct api_resp *w, err *e);
int api_quota_requests_approve(struct api_req *r, struct api_resp *w, err *e);
int api_quota_requests_deny(struct api_req *r, struct api_resp *w, err *e);
int api_quota_requests_clock(struct api_req *r, struct api_resp *w, err *e);

int api_notifications_list(struct api_req *r, struct api_resp *w, err *e);
int api_notifications_read(struct api_req *r, struct api_resp *w, err *e);
int api_notifications_read_all(struct api_req *r, struct api_resp *w, err *e);

int api_webhooks_list(struct api_req *r, struct api_resp *w, err *e);
int api_webhooks_create(struct api_req *r, struct api_resp *w, err *e);
int api_webhooks_get(struct api_req *r, struct api_resp *w, err *e);
int api_webhooks_update(struct api_req *r, struct api_resp *w, err *e);
int api_webhooks_delete(struct api_req *r, struct api_resp *w, err *e);
int api_webhooks_ping(struct api_req *r, struct api_resp *w, err *e);
int api_webhooks_deliveries(struct api_req *r, struct api_resp *w, err *e);

/* Is `url` (borrowed) an acceptable webhook target? http or https, a host,
 * an optional port, no credentials, no fragment, printable ASCII only, at
 * most 2000 bytes; with allow_private false, no loopback, private,
 * link-local or unspecified IP literal and no "localhost" (names are checked
 * again against the address actually connected to, at delivery). 400 naming
 * `field`. Pure: also used by the unit test. */
int api_webhooks_check_url(const char *field, const char *url, bool allow_private, err *e);

/* Is the address (family AF_INET / AF_INET6, `addr` an in_addr / in6_addr)
 * loopback, private, link-local, CGNAT, unspecified or multicast (IPv4-mapped
 * IPv6 as its IPv4)? Any other family counts as private. Pure; used by the
 * delivery worker on the address it is about to connect to. */
bool api_webhooks_private_addr(int family, const void *addr);

#endif
