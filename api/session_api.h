#ifndef VP_API_SESSION_H
#define VP_API_SESSION_H

#include "api.h"

int api_session_login(struct api_req *r, struct api_resp *w, err *e);
int api_session_refresh(struct api_req *r, struct api_resp *w, err *e);
int api_session_logout(struct api_req *r, struct api_resp *w, err *e);
int api_session_me(struct api_req *r, struct api_resp *w, err *e);
int api_session_totp_new(struct api_req *r, struct api_resp *w, err *e);
int api_session_totp_confirm(struct api_req *r, struct api_resp *w, err *e);
int api_session_totp_disable(struct api_req *r, struct api_resp *w, err *e);

#endif
