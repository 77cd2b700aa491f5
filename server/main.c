/* virtportal: one binary — the HTTPS portal, its demo, and offline tools.
 * Each subcommand is a row in `commands`; `virtportal --help` prints them. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "cli.h"
#include "config.h"
#include "log.h"
#include "serve.h"

extern char **environ;

struct command {
    const char *name, *usage, *summary;
    int (*run)(int argc, char **argv);
};

static int cmd_help(int argc, char **argv);

static int
cmd_version(int argc, char **argv)
{
    printf("virtportal %s\n", VP_VERSION);
    return 0;
}

static const struct command commands[] = {
    {"serve",
     "serve [--config FILE] [--set SECTION.KEY=VALUE]... [--listen ADDR] [--port N]\n"
     "              [--data-dir DIR] [--port-file FILE] [--print-config]",
     "run the portal over HTTPS", cli_serve},
    {"demo", "demo [--dir DIR] [--port N] [--set SECTION.KEY=VALUE]...",
     "run the portal on a demo data dir with a libvirt test-driver inventory", cli_demo},
    {"user",
     "user add LOGIN [--tenant SLUG] [--role ROLE] | user passwd|disable|enable LOGIN\n"
     "              [--config FILE] [--data-dir DIR]",
     "manage local users (bootstrap and recovery)", cli_user},
    {"audit",
     "audit verify [--db FILE] [--key FILE] [--from SEQ] [--checkpoints FILE]\n"
     "              [--data-dir DIR] | audit verify --export FILE [--allow-gaps]",
     "verify the tamper-evident audit chain", cli_audit},
#ifdef VP_HAVE_PLAN
    {"plan",
     "plan --rvtools FILE | --vmx FILE... | --ovf FILE... [--hosts SPEC]\n"
     "              [--size SHAPE] --format json|csv|xlsx [--out FILE]",
     "plan a VMware to KVM migration offline (no server needed)", cli_plan},
#endif
    {"version", "version", "print the version", cmd_version},
    {"help", "help", "this text", cmd_help},
};

static int
cmd_help(int argc, char **argv)
{
    printf("virtportal %s: a multi-tenant KVM portal in one binary\n\nUsage:\n", VP_VERSION);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        printf("  virtportal %s\n      %s\n", commands[i].usage, commands[i].summary);
    printf("\nConfiguration: defaults < INI file (--config) < environment (VIRTPORTAL_<SECTION>_"
           "<KEY>)\n< flags. `virtportal serve --print-config` shows every key.\n");
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
        return cmd_help(argc, argv) == 0 && argc >= 2 ? 0 : (argc < 2 ? 2 : 0);
    if (!strcmp(argv[1], "--version"))
        return cmd_version(argc, argv);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "virtportal: unknown command '%s' (see virtportal --help)\n", argv[1]);
    return 2;
}
