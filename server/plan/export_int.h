/* Export internals: the per-VM table shared by CSV and xlsx. */
#ifndef VP_PLAN_EXPORT_INT_H
#define VP_PLAN_EXPORT_INT_H

#include "plan_int.h"

enum { EXPORT_NCOLS = 21 };
enum { EXPORT_EMPTY, EXPORT_STR, EXPORT_NUM };

extern const char *const export_columns[EXPORT_NCOLS];

/* Cell (vm, col): EXPORT_STR with *s (owned by r), EXPORT_NUM with *n, or EXPORT_EMPTY. */
int export_cell(const plan_result *r, size_t vm, int col, const char **s, double *n);

#endif
