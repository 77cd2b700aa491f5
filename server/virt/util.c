/* util: small checks and lookups shared by the virt files. */
#include "virt_priv.h"

#include <string.h>
#include <time.h>

bool
virt_uuid_valid(const char *uuid)
{
    if (!uuid || strlen(uuid) != VIRT_UUID_LEN)
        return false;
    for (int i = 0; i < VIRT_UUID_LEN; i++) {
        char c = uuid[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? c != '-'
                 : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return false;
    }
    return true;
}

/* 1-64 of [A-Za-z0-9._-], not starting with '.' or '-': safe as a file name,
 * in XML, in a shell and in a URL path segment. */
bool
virt_name_valid(const char *name)
{
    if (!name)
        return false;
    size_t n = strlen(name);
    if (n < 1 || n > VIRT_NAME_MAX || name[0] == '.' || name[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

bool
virt_tag_valid(const char *tag)
{
    if (!tag)
        return false;
    size_t n = strlen(tag);
    if (n < 1 || n > VIRT_TAG_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = tag[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == ':'))
            return false;
    }
    return true;
}

int64_t
virt_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

virDomainPtr
virt_dom_lookup(struct vconn *c, const char *uuid, err *e)
{
    if (!virt_uuid_valid(uuid)) {
        err_set(e, ERR_INVALID, "the VM id must be a UUID");
        return NULL;
    }
    virDomainPtr d = virDomainLookupByUUIDString(c->conn, uuid);
    if (!d)
        virt_fail(c->host, e, "looking up the VM");
    return d;
}

int
virt_parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s)
        return -1;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int
virt_affect_flags(virDomainPtr dom, unsigned *flags, struct vhost *host, err *e)
{
    int active = virDomainIsActive(dom);
    int persistent = virDomainIsPersistent(dom);
    if (active < 0 || persistent < 0)
        return virt_fail(host, e, "reading the VM's state");
    *flags = (active ? VIR_DOMAIN_AFFECT_LIVE : 0) | (persistent ? VIR_DOMAIN_AFFECT_CONFIG : 0);
    return 0;
}
