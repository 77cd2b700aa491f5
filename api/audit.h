/* audit API (api/audit.c): query, streamed export and verification of the
 * audit trail. Permission audit.read: held globally it shows every row; held
 * in tenants only, the rows of those tenants (GET /audit, /audit/export).
 * /audit/verify needs audit.read globally (it speaks about the whole chain). */
#ifndef VP_API_AUDIT_H
#define VP_API_AUDIT_H

#include "api.h"

/* GET /api/v1/audit: filters, newest first, cursor pagination. */
int api_audit_list(struct api_req *r, struct api_resp *w, err *e);

/* GET /api/v1/audit/export?format=jsonl|csv: the same filters, oldest first,
 * streamed in short chunks (each its own read transaction). */
int api_audit_export(struct api_req *r, struct api_resp *w, err *e);

/* GET /api/v1/audit/verify: the chain, its checkpoints and the external
 * checkpoint file. */
int api_audit_verify(struct api_req *r, struct api_resp *w, err *e);

#endif
