/* Tables: VMware guest ids → OS family / name / virt-v2v support / virtio, and VMware
 * EVC modes → QEMU CPU model hints.
 *
 * Guest ids come in two spellings: the vSphere API ("windows9Server64Guest") and the
 * .vmx file ("windows9srv-64"). Both normalise to one key: lower case, "guest" suffix
 * dropped, "server" → "srv", '-' and '_' dropped, trailing "64" dropped (bitness does not
 * change support). Full names ("Red Hat Enterprise Linux 9 (64-bit)", what RVTools
 * shows) are mapped to the same keys.
 *
 * Known mistakes elsewhere, spelled right here: `windows9Server64Guest` is Windows Server
 * 2016 (not "Windows 9"), `windows2019srvNext_64Guest` is Server 2022 and
 * `windows2022srvNext_64Guest` is Server 2025 (Forklift's builder table had these wrong).
 *
 * virt-v2v converts RHEL/CentOS 4–10 (and rebuilds: Oracle, Rocky, Alma), SLES/openSUSE
 * 10+, Debian 6+, Ubuntu 10.04+, Fedora, Windows XP … 11 / Server 2003 … 2025. Others are
 * "not convertible" (BSD, Solaris, DOS, old Windows) or "unknown" (generic "Other Linux",
 * Amazon Linux, Photon: may work, untested by virt-v2v). */
#include "plan_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define L PLAN_OS_LINUX
#define W PLAN_OS_WINDOWS
#define O PLAN_OS_OTHER

static const struct plan_guest_os os_table[] = {
    /* key, family, name, v2v, virtio */
    {"rhel2", L, "Red Hat Enterprise Linux 2.1", 0, 0},
    {"rhel3", L, "Red Hat Enterprise Linux 3", 0, 0},
    {"rhel4", L, "Red Hat Enterprise Linux 4", 1, -1},
    {"rhel5", L, "Red Hat Enterprise Linux 5", 1, 1},
    {"rhel6", L, "Red Hat Enterprise Linux 6", 1, 1},
    {"rhel7", L, "Red Hat Enterprise Linux 7", 1, 1},
    {"rhel8", L, "Red Hat Enterprise Linux 8", 1, 1},
    {"rhel9", L, "Red Hat Enterprise Linux 9", 1, 1},
    {"rhel10", L, "Red Hat Enterprise Linux 10", 1, 1},
    {"centos", L, "CentOS 4/5/6", 1, 1},
    {"centos4", L, "CentOS 4", 1, -1},
    {"centos5", L, "CentOS 5", 1, 1},
    {"centos6", L, "CentOS 6", 1, 1},
    {"centos7", L, "CentOS 7", 1, 1},
    {"centos8", L, "CentOS 8", 1, 1},
    {"centos9", L, "CentOS Stream 9", 1, 1},
    {"centos10", L, "CentOS Stream 10", 1, 1},
    {"oraclelinux", L, "Oracle Linux 4/5", 1, 1},
    {"oraclelinux6", L, "Oracle Linux 6", 1, 1},
    {"oraclelinux7", L, "Oracle Linux 7", 1, 1},
    {"oraclelinux8", L, "Oracle Linux 8", 1, 1},
    {"oraclelinux9", L, "Oracle Linux 9", 1, 1},
    {"rockylinux", L, "Rocky Linux", 1, 1},
    {"almalinux", L, "AlmaLinux", 1, 1},
    {"fedora", L, "Fedora", 1, 1},
    {"sles", L, "SUSE Linux Enterprise 8/9", 0, 0},
    {"sles10", L, "SUSE Linux Enterprise 10", 1, 1},
    {"sles11", L, "SUSE Linux Enterprise 11", 1, 1},
    {"sles12", L, "SUSE Linux Enterprise 12", 1, 1},
    {"sles15", L, "SUSE Linux Enterprise 15", 1, 1},
    {"sles16", L, "SUSE Linux Enterprise 16", 1, 1},
    {"opensuse", L, "openSUSE", 1, 1},
    {"debian4", L, "Debian 4", 0, 0},
    {"debian5", L, "Debian 5", 0, 1},
    {"debian6", L, "Debian 6", 1, 1},
    {"debian7", L, "Debian 7", 1, 1},
    {"debian8", L, "Debian 8", 1, 1},
    {"debian9", L, "Debian 9", 1, 1},
    {"debian10", L, "Debian 10", 1, 1},
    {"debian11", L, "Debian 11", 1, 1},
    {"debian12", L, "Debian 12", 1, 1},
    {"debian13", L, "Debian 13", 1, 1},
    {"ubuntu", L, "Ubuntu Linux", 1, 1},
    {"amazonlinux2", L, "Amazon Linux 2", -1, 1},
    {"amazonlinux3", L, "Amazon Linux 2023", -1, 1},
    {"vmwarephoton", L, "VMware Photon OS", -1, 1},
    {"coreos", L, "CoreOS", -1, 1},
    {"asianux3", L, "Asianux 3", -1, 1},
    {"asianux4", L, "Asianux 4", -1, 1},
    {"other24xlinux", L, "Other 2.4.x Linux", 0, 0},
    {"other26xlinux", L, "Other 2.6.x Linux", -1, 1},
    {"other3xlinux", L, "Other 3.x Linux", -1, 1},
    {"other4xlinux", L, "Other 4.x Linux", -1, 1},
    {"other5xlinux", L, "Other 5.x Linux", -1, 1},
    {"other6xlinux", L, "Other 6.x Linux", -1, 1},
    {"otherlinux", L, "Other Linux", -1, -1},
    {"win31", W, "Windows 3.1", 0, 0},
    {"win95", W, "Windows 95", 0, 0},
    {"win98", W, "Windows 98", 0, 0},
    {"winme", W, "Windows Me", 0, 0},
    {"winnt", W, "Windows NT", 0, 0},
    {"win2000pro", W, "Windows 2000 Professional", 0, 0},
    {"win2000serv", W, "Windows 2000 Server", 0, 0},
    {"win2000advserv", W, "Windows 2000 Advanced Server", 0, 0},
    {"winxphome", W, "Windows XP Home", 1, -1},
    {"winxppro", W, "Windows XP Professional", 1, -1},
    {"winnetweb", W, "Windows Server 2003 Web", 1, -1},
    {"winnetstandard", W, "Windows Server 2003 Standard", 1, -1},
    {"winnetenterprise", W, "Windows Server 2003 Enterprise", 1, -1},
    {"winnetdatacenter", W, "Windows Server 2003 Datacenter", 1, -1},
    {"winnetbusiness", W, "Windows Small Business Server 2003", 1, -1},
    {"winvista", W, "Windows Vista", 1, 1},
    {"longhorn", W, "Windows Server 2008", 1, 1},
    {"winlonghorn", W, "Windows Server 2008", 1, 1},
    {"windows7", W, "Windows 7", 1, 1},
    {"windows7srv", W, "Windows Server 2008 R2", 1, 1},
    {"windows8", W, "Windows 8", 1, 1},
    {"windows8srv", W, "Windows Server 2012 / 2012 R2", 1, 1},
    {"windows9", W, "Windows 10", 1, 1},
    {"windows9srv", W, "Windows Server 2016", 1, 1},
    {"windows11", W, "Windows 11", 1, 1},
    {"windows12", W, "Windows 12", -1, 1},
    {"windows2019srv", W, "Windows Server 2019", 1, 1},
    {"windows2019srvnext", W, "Windows Server 2022", 1, 1},
    {"windows2022srvnext", W, "Windows Server 2025", 1, 1},
    {"dos", O, "MS-DOS", 0, 0},
    {"freebsd", O, "FreeBSD", 0, 1},
    {"freebsd11", O, "FreeBSD 11", 0, 1},
    {"freebsd12", O, "FreeBSD 12", 0, 1},
    {"freebsd13", O, "FreeBSD 13", 0, 1},
    {"freebsd14", O, "FreeBSD 14", 0, 1},
    {"solaris10", O, "Oracle Solaris 10", 0, 0},
    {"solaris11", O, "Oracle Solaris 11", 0, 0},
    {"darwin", O, "Apple macOS", 0, 0},
    {"netware", O, "Novell NetWare", 0, 0},
    {"os2", O, "IBM OS/2", 0, 0},
    {"unixware7", O, "SCO UnixWare 7", 0, 0},
    {"other", O, "Other", 0, -1},
};

#undef L
#undef W
#undef O

void
plan_guest_id_normalise(const char *id, char *buf, size_t n)
{
    size_t o = 0;
    for (const char *p = id; p && *p && o + 1 < n; p++) {
        if (*p == '-' || *p == '_' || isspace((unsigned char)*p))
            continue;
        buf[o++] = (char)tolower((unsigned char)*p);
    }
    buf[o] = '\0';
    char *srv = strstr(buf, "server");
    if (srv) { /* "server" → "srv" */
        srv[1] = 'r';
        srv[2] = 'v';
        memmove(srv + 3, srv + 6, strlen(srv + 6) + 1);
        o -= 3;
    }
    /* "otherGuest64", "rhel6_64Guest": peel "guest" and "64" off the end in any order */
    for (bool again = true; again;) {
        again = false;
        if (o > 5 && strcmp(buf + o - 5, "guest") == 0) {
            buf[o -= 5] = '\0';
            again = true;
        }
        if (o > 2 && strcmp(buf + o - 2, "64") == 0) {
            buf[o -= 2] = '\0';
            again = true;
        }
    }
}

static const struct plan_guest_os *
by_key(const char *key)
{
    for (size_t i = 0; i < PLAN_ARRAY_LEN(os_table); i++)
        if (strcmp(os_table[i].key, key) == 0)
            return &os_table[i];
    return NULL;
}

/* The first number after `word` in `name` ("Debian GNU/Linux 12 (64-bit)" → 12), or -1. */
static int
number_after(const char *name, const char *word)
{
    const char *p = strcasestr(name, word);
    if (!p)
        return -1;
    p += strlen(word);
    while (*p && !isdigit((unsigned char)*p) && *p != '(')
        p++;
    return isdigit((unsigned char)*p) ? (int)strtol(p, NULL, 10) : -1;
}

struct name_rule {
    const char *needle; /* substring of the full name */
    const char *key;    /* key, or a prefix followed by the version number */
    bool versioned;
};

/* Ordered: the first matching needle wins, so specific names come first. */
static const struct name_rule name_rules[] = {
    {"Windows Server 2025", "windows2022srvnext", false},
    {"Windows Server 2022", "windows2019srvnext", false},
    {"Windows Server 2019", "windows2019srv", false},
    {"Windows Server 2016", "windows9srv", false},
    {"Windows Server 2012", "windows8srv", false},
    {"Windows Server 2008 R2", "windows7srv", false},
    {"Windows Server 2008", "winlonghorn", false},
    {"Windows Server 2003", "winnetenterprise", false},
    {"Windows Small Business Server 2003", "winnetbusiness", false},
    {"Windows 2000", "win2000serv", false},
    {"Windows NT", "winnt", false},
    {"Windows 11", "windows11", false},
    {"Windows 10", "windows9", false},
    {"Windows 8", "windows8", false},
    {"Windows 7", "windows7", false},
    {"Windows Vista", "winvista", false},
    {"Windows XP", "winxppro", false},
    {"Red Hat Enterprise Linux", "rhel", true},
    {"CentOS", "centos", true},
    {"Oracle Linux", "oraclelinux", true},
    {"Rocky Linux", "rockylinux", false},
    {"AlmaLinux", "almalinux", false},
    {"Fedora", "fedora", false},
    {"openSUSE", "opensuse", false},
    {"SUSE Linux Enterprise", "sles", true},
    {"Debian", "debian", true},
    {"Ubuntu", "ubuntu", false},
    {"Amazon Linux 2023", "amazonlinux3", false},
    {"Amazon Linux", "amazonlinux", true},
    {"Photon", "vmwarephoton", false},
    {"Other 2.4.x", "other24xlinux", false},
    {"Other 2.6.x", "other26xlinux", false},
    {"Other 3.x", "other3xlinux", false},
    {"Other 4.x", "other4xlinux", false},
    {"Other 5.x", "other5xlinux", false},
    {"Other 6.x", "other6xlinux", false},
    {"Linux", "otherlinux", false},
    {"FreeBSD", "freebsd", true},
    {"Solaris", "solaris", true},
    {"macOS", "darwin", false},
    {"Mac OS", "darwin", false},
    {"NetWare", "netware", false},
    {"OS/2", "os2", false},
    {"DOS", "dos", false},
    {"Other", "other", false},
};

static const struct plan_guest_os *
by_full_name(const char *name)
{
    for (size_t i = 0; i < PLAN_ARRAY_LEN(name_rules); i++) {
        const struct name_rule *r = &name_rules[i];
        if (!strcasestr(name, r->needle))
            continue;
        if (!r->versioned)
            return by_key(r->key);
        char key[48];
        int v = number_after(name, r->needle);
        if (v >= 0) {
            snprintf(key, sizeof(key), "%s%d", r->key, v);
            const struct plan_guest_os *os = by_key(key);
            if (os)
                return os;
        }
        return by_key(r->key); /* unversioned family entry, if any */
    }
    return NULL;
}

const struct plan_guest_os *
plan_guest_os_lookup(const char *guest_id, const char *guest_name)
{
    if (guest_id && *guest_id) {
        char key[64];
        plan_guest_id_normalise(guest_id, key, sizeof(key));
        const struct plan_guest_os *os = by_key(key);
        if (os)
            return os;
    }
    if (guest_name && *guest_name)
        return by_full_name(guest_name);
    return NULL;
}

/* ------------------------------------------------------------------ CPU models */

struct cpu_gen {
    char vendor;      /* 'i' Intel, 'a' AMD */
    const char *evc;  /* VMware EVC key */
    const char *qemu; /* QEMU model suggested (hint only) */
    const char *base; /* QEMU model family name for matching host models */
};

/* In generation order per vendor: the index is the rank. */
static const struct cpu_gen cpu_gens[] = {
    {'i', "intel-merom", "Conroe", "Conroe"},
    {'i', "intel-penryn", "Penryn", "Penryn"},
    {'i', "intel-nehalem", "Nehalem", "Nehalem"},
    {'i', "intel-westmere", "Westmere", "Westmere"},
    {'i', "intel-sandybridge", "SandyBridge", "SandyBridge"},
    {'i', "intel-ivybridge", "IvyBridge", "IvyBridge"},
    {'i', "intel-haswell", "Haswell-noTSX", "Haswell"},
    {'i', "intel-broadwell", "Broadwell-noTSX", "Broadwell"},
    {'i', "intel-skylake", "Skylake-Server-noTSX-IBRS", "Skylake"},
    {'i', "intel-cascadelake", "Cascadelake-Server-noTSX", "Cascadelake"},
    {'i', "intel-cooperlake", "Cooperlake", "Cooperlake"},
    {'i', "intel-icelake", "Icelake-Server-noTSX", "Icelake"},
    {'i', "intel-sapphirerapids", "SapphireRapids", "SapphireRapids"},
    {'i', "intel-graniterapids", "GraniteRapids", "GraniteRapids"},
    {'a', "amd-rev-e", "Opteron_G1", "Opteron_G1"},
    {'a', "amd-rev-f", "Opteron_G2", "Opteron_G2"},
    {'a', "amd-greyhound-no3dnow", "Opteron_G3", "Opteron_G3"},
    {'a', "amd-greyhound", "Opteron_G3", "Opteron_G3"},
    {'a', "amd-bulldozer", "Opteron_G4", "Opteron_G4"},
    {'a', "amd-piledriver", "Opteron_G5", "Opteron_G5"},
    {'a', "amd-steamroller", "Opteron_G5", "Opteron_G5"},
    {'a', "amd-zen", "EPYC", "EPYC"},
    {'a', "amd-zen2", "EPYC-Rome", "EPYC-Rome"},
    {'a', "amd-zen3", "EPYC-Milan", "EPYC-Milan"},
    {'a', "amd-zen4", "EPYC-Genoa", "EPYC-Genoa"},
};

static int
gen_rank(size_t i)
{
    int r = 0;
    for (size_t j = 0; j < i; j++)
        r += cpu_gens[j].vendor == cpu_gens[i].vendor;
    return r;
}

const char *
plan_evc_qemu_model(const char *evc_key)
{
    for (size_t i = 0; evc_key && i < PLAN_ARRAY_LEN(cpu_gens); i++)
        if (plan_ieq(cpu_gens[i].evc, evc_key))
            return cpu_gens[i].qemu;
    return NULL;
}

int
plan_evc_rank(const char *evc_key, char *vendor)
{
    for (size_t i = 0; evc_key && i < PLAN_ARRAY_LEN(cpu_gens); i++) {
        if (plan_ieq(cpu_gens[i].evc, evc_key)) {
            *vendor = cpu_gens[i].vendor;
            return gen_rank(i);
        }
    }
    return -1;
}

int
plan_qemu_model_rank(const char *model, char *vendor)
{
    if (!model)
        return -1;
    int best = -1;
    size_t bestlen = 0;
    /* longest family name that prefixes the model: "EPYC-Rome-v2" → EPYC-Rome */
    for (size_t i = 0; i < PLAN_ARRAY_LEN(cpu_gens); i++) {
        size_t n = strlen(cpu_gens[i].base);
        if (n > bestlen && strncasecmp(model, cpu_gens[i].base, n) == 0 &&
            (model[n] == '\0' || model[n] == '-')) {
            best = (int)i;
            bestlen = n;
        }
    }
    if (best < 0)
        return -1;
    *vendor = cpu_gens[best].vendor;
    return gen_rank((size_t)best);
}

int
plan_cpu_compat_hint(void *ctx, const char *evc_key, const char *qemu_model,
                     const struct plan_host *host, char *detail, size_t n)
{
    (void)ctx;
    (void)qemu_model;
    char vv, hv;
    int need = plan_evc_rank(evc_key, &vv);
    int have = plan_qemu_model_rank(host ? host->cpu_model : NULL, &hv);
    if (need < 0 || have < 0)
        return -1;
    if (vv != hv) {
        if (detail)
            snprintf(detail, n, "%s is another CPU vendor than EVC mode %s", host->cpu_model,
                     evc_key);
        return -1;
    }
    if (have >= need)
        return 1;
    if (detail)
        snprintf(detail, n, "%s is older than EVC mode %s", host->cpu_model, evc_key);
    return 0;
}
