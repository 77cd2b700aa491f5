#include "cli.h"

#include <stdio.h>

int
cli_user(int argc, char **argv)
{
    fprintf(stderr, "virtportal user: not available in this build yet\n");
    return 2;
}
