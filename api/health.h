#ifndef VP_API_HEALTH_H
#define VP_API_HEALTH_H

#include "api.h"

int api_health_live(struct api_req *r, struct api_resp *w, err *e);
int api_health_ready(struct api_req *r, struct api_resp *w, err *e);
int api_health_version(struct api_req *r, struct api_resp *w, err *e);
int api_health_openapi(struct api_req *r, struct api_resp *w, err *e);
int api_health_metrics(struct api_req *r, struct api_resp *w, err *e);

#endif
