/* timefmt: RFC 3339 timestamps as the API accepts them. */
#ifndef VP_TIMEFMT_H
#define VP_TIMEFMT_H

#include <stdint.h>

/* "2025-01-02T03:04:05(.123)?(Z|+01:00)" (T/Z in either case) to seconds since
 * the epoch in *out. Returns 0, or -1 for anything else (including Feb 30). */
int time_rfc3339_parse(const char *s, int64_t *out);

#endif
