/* dispatch: the fixed request pipeline (STYLE rule 11). */
#ifndef VP_DISPATCH_H
#define VP_DISPATCH_H

#include "api.h"

/* Runs the pipeline for an /api/ request and fills `w`; never fails: every
 * error becomes a problem+json response. `r` is prepared by server/http.c
 * (arena, app, method, raw path, query, headers, body reader, request id);
 * `w` starts zeroed and may already carry headers (CORS), which stay. */
void api_dispatch(struct api_req *r, struct api_resp *w, long max_body);

/* Authentication and authorization (api/session.c, api/authz.c). */
int api_authenticate(struct api_req *r, err *e);
int api_authorize(struct api_req *r, err *e);

#endif
