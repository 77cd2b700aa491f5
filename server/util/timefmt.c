/* time: RFC 3339 timestamps as the API accepts them. */
#include "timefmt.h"

#include <string.h>
#include <time.h>

static int
take_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (**p < '0' || **p > '9')
            return -1;
        v = v * 10 + (**p - '0');
    }
    *out = v;
    return 0;
}

static int
take_char(const char **p, const char *set)
{
    if (!**p || !strchr(set, **p))
        return -1;
    (*p)++;
    return 0;
}

int
time_rfc3339_parse(const char *s, int64_t *out)
{
    int Y, M, D, h, m, sec, oh = 0, om = 0, sign = 0;
    const char *p = s;
    if (take_digits(&p, 4, &Y) || take_char(&p, "-") || take_digits(&p, 2, &M) ||
        take_char(&p, "-") || take_digits(&p, 2, &D) || take_char(&p, "Tt") ||
        take_digits(&p, 2, &h) || take_char(&p, ":") || take_digits(&p, 2, &m) ||
        take_char(&p, ":") || take_digits(&p, 2, &sec))
        return -1;
    if (*p == '.' && p[1] >= '0' && p[1] <= '9')
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
    if (*p == '+' || *p == '-') {
        sign = *p++ == '-' ? -1 : 1;
        if (take_digits(&p, 2, &oh) || take_char(&p, ":") || take_digits(&p, 2, &om))
            return -1;
    } else if (take_char(&p, "Zz")) {
        return -1;
    }
    if (*p || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60 || oh > 23 ||
        om > 59)
        return -1;
    struct tm tm = {.tm_year = Y - 1900,
                    .tm_mon = M - 1,
                    .tm_mday = D,
                    .tm_hour = h,
                    .tm_min = m,
                    .tm_sec = sec == 60 ? 59 : sec};
    time_t t = timegm(&tm);
    if (tm.tm_mday != D) /* normalized: Feb 30 and the like */
        return -1;
    *out = (int64_t)t - sign * (oh * 3600 + om * 60);
    return 0;
}
