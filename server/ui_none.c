/* An empty UI table, for builds without the web bundle. */
#include "embedded.h"

const struct embedded_file web_assets[] = {{0, 0, 0}};
