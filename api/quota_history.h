/* quota_history: GET /api/v1/tenants/{id}/usage/history?since=&step= — the
 * measured runtime usage of a tenant per host and in total, in buckets of
 * `step` seconds, beside its runtime limits (db/quota_history.h derives the
 * series). API_SCOPE_TENANT_PARAM with quota.read, like /usage: another
 * tenant's history answers 404 like a missing tenant. */
#ifndef VP_API_QUOTA_HISTORY_H
#define VP_API_QUOTA_HISTORY_H

#include "api.h"

/* Most buckets one answer may hold per host (24 h at 60 s fits). */
#define API_QUOTA_HISTORY_MAX_BUCKETS 1500

int api_quota_history_get(struct api_req *r, struct api_resp *w, err *e);

#endif
