/* domxml: libvirt domain XML -> struct virt_domain, and the packed copies the
 * per-host config cache keeps.
 *
 * The parser walks the tree by hand instead of running XPath queries: it runs
 * for every domain on a cold snapshot (10,000 on a big host) and a walk is
 * several times cheaper than a dozen XPath evaluations per document. */
#include "virt_priv.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <string.h>

static bool
is(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

/* The node's direct text (first text child), "" when none; no allocation. */
static const char *
text_of(const xmlNode *n)
{
    for (const xmlNode *c = n->children; c; c = c->next)
        if (c->type == XML_TEXT_NODE && c->content)
            return (const char *)c->content;
    return "";
}

/* An attribute's value (direct text of the attribute node), NULL when absent. */
static const char *
attr(const xmlNode *n, const char *name)
{
    for (const xmlAttr *a = n->properties; a; a = a->next)
        if (a->ns == NULL && strcmp((const char *)a->name, name) == 0)
            return a->children && a->children->content ? (const char *)a->children->content : "";
    return NULL;
}

static char *
dup_attr(arena *a, const xmlNode *n, const char *name)
{
    return arena_strdup(a, attr(n, name));
}

/* libvirt memory value with unit -> MiB (rounded down). Default unit KiB. */
static uint64_t
mem_mib(const xmlNode *n)
{
    uint64_t v;
    if (virt_parse_u64(text_of(n), &v) < 0)
        return 0;
    const char *u = attr(n, "unit");
    static const struct {
        const char *unit;
        uint64_t mul;
    } units[] = {{"b", 1},          {"bytes", 1},        {"KB", 1000},
                 {"k", 1024},       {"KiB", 1024},       {"MB", 1000000},
                 {"M", 1 << 20},    {"MiB", 1 << 20},    {"GB", 1000000000},
                 {"G", 1ULL << 30}, {"GiB", 1ULL << 30}, {"TB", 1000000000000ULL},
                 {"T", 1ULL << 40}, {"TiB", 1ULL << 40}};
    uint64_t mul = 1024;
    for (size_t i = 0; u && i < sizeof(units) / sizeof(units[0]); i++)
        if (strcmp(u, units[i].unit) == 0)
            mul = units[i].mul;
    if (v > UINT64_MAX / mul)
        return UINT64_MAX >> 20;
    return v * mul >> 20;
}

static void
parse_disk(const xmlNode *n, arena *a, struct virt_disk *d)
{
    d->type = dup_attr(a, n, "type");
    d->device = arena_strdup(a, attr(n, "device") ? attr(n, "device") : "disk");
    for (const xmlNode *c = n->children; c; c = c->next) {
        if (is(c, "source")) {
            const char *s = attr(c, "file");
            if (!s)
                s = attr(c, "dev");
            if (!s)
                s = attr(c, "name");
            d->source = arena_strdup(a, s);
            d->pool = dup_attr(a, c, "pool");
            d->volume = dup_attr(a, c, "volume");
        } else if (is(c, "target")) {
            d->target = dup_attr(a, c, "dev");
            d->bus = dup_attr(a, c, "bus");
        } else if (is(c, "driver")) {
            d->format = dup_attr(a, c, "type");
        }
    }
}

static void
parse_nic(const xmlNode *n, arena *a, struct virt_nic *nic)
{
    nic->type = dup_attr(a, n, "type");
    for (const xmlNode *c = n->children; c; c = c->next) {
        if (is(c, "mac")) {
            nic->mac = dup_attr(a, c, "address");
        } else if (is(c, "model")) {
            nic->model = dup_attr(a, c, "type");
        } else if (is(c, "source")) {
            nic->network = dup_attr(a, c, "network");
            nic->bridge = dup_attr(a, c, "bridge");
            if (!nic->bridge && attr(c, "dev"))
                nic->bridge = dup_attr(a, c, "dev");
        }
    }
}

static size_t
count_children(const xmlNode *n, const char *name)
{
    size_t k = 0;
    for (const xmlNode *c = n->children; c; c = c->next)
        k += is(c, name);
    return k;
}

static int
parse_devices(const xmlNode *n, arena *a, struct virt_domain *out)
{
    size_t nd = count_children(n, "disk"), nn = count_children(n, "interface");
    out->disks = nd ? arena_alloc(a, nd * sizeof(*out->disks)) : NULL;
    out->nics = nn ? arena_alloc(a, nn * sizeof(*out->nics)) : NULL;
    if ((nd && !out->disks) || (nn && !out->nics))
        return -1;
    for (const xmlNode *c = n->children; c; c = c->next) {
        if (is(c, "disk"))
            parse_disk(c, a, &out->disks[out->ndisks++]);
        else if (is(c, "interface"))
            parse_nic(c, a, &out->nics[out->nnics++]);
    }
    return 0;
}

/* Firmware: <os firmware='efi'>, or a pflash / OVMF-like loader. */
static void
parse_os(const xmlNode *n, arena *a, struct virt_domain *out)
{
    const char *fw = attr(n, "firmware");
    if (fw && strcmp(fw, "efi") == 0)
        out->firmware = VIRT_FW_UEFI;
    for (const xmlNode *c = n->children; c; c = c->next) {
        if (is(c, "type")) {
            out->arch = dup_attr(a, c, "arch");
        } else if (is(c, "loader")) {
            const char *t = attr(c, "type");
            const char *path = text_of(c);
            if ((t && strcmp(t, "pflash") == 0) || strstr(path, "OVMF") || strstr(path, "edk2") ||
                strstr(path, "AAVMF"))
                out->firmware = VIRT_FW_UEFI;
        }
    }
}

/* Fills m from a <portal> element of our namespace. Invalid content is
 * dropped, not trusted: a bad tenant id leaves the VM unassigned. */
static int
parse_meta_node(const xmlNode *n, arena *a, struct virt_meta *m)
{
    size_t ntags = 0;
    for (const xmlNode *c = n->children; c; c = c->next) {
        if (is(c, "tenant")) {
            uint64_t v;
            m->tenant_id = virt_parse_u64(text_of(c), &v) == 0 && v <= INT64_MAX ? (int64_t)v : 0;
        } else if (is(c, "tags")) {
            ntags += count_children(c, "tag");
        }
    }
    if (ntags > VIRT_TAGS_MAX)
        ntags = VIRT_TAGS_MAX;
    m->tags = ntags ? arena_alloc(a, ntags * sizeof(*m->tags)) : NULL;
    if (ntags && !m->tags)
        return -1;
    for (const xmlNode *c = n->children; c; c = c->next) {
        if (!is(c, "tags"))
            continue;
        for (const xmlNode *t = c->children; t && m->ntags < ntags; t = t->next)
            if (is(t, "tag") && virt_tag_valid(text_of(t)))
                m->tags[m->ntags++] = arena_strdup(a, text_of(t));
    }
    return 0;
}

static bool
is_portal(const xmlNode *n)
{
    return n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
           strcmp((const char *)n->ns->href, VIRT_META_NS) == 0 &&
           strcmp((const char *)n->name, "portal") == 0;
}

static int
parse_metadata(const xmlNode *n, arena *a, struct virt_domain *out)
{
    for (const xmlNode *c = n->children; c; c = c->next) {
        if (!is_portal(c))
            continue;
        out->meta = arena_alloc(a, sizeof(*out->meta));
        if (!out->meta || parse_meta_node(c, a, out->meta) < 0)
            return -1;
        return 0;
    }
    return 0;
}

static void
parse_vcpu(const xmlNode *n, struct virt_domain *out)
{
    uint64_t max = 0, cur = 0;
    if (virt_parse_u64(text_of(n), &max) < 0 || max > 100000)
        max = 0;
    const char *c = attr(n, "current");
    if (!c || virt_parse_u64(c, &cur) < 0 || cur > max)
        cur = max;
    out->max_vcpus = (unsigned)max;
    out->vcpus = (unsigned)cur;
}

static int
parse_child(const xmlNode *c, arena *a, struct virt_domain *out)
{
    if (is(c, "name")) {
        out->name = arena_strdup(a, text_of(c));
    } else if (is(c, "uuid")) {
        if (virt_uuid_valid(text_of(c)))
            memcpy(out->uuid, text_of(c), VIRT_UUID_LEN + 1);
    } else if (is(c, "memory")) {
        out->max_memory_mib = mem_mib(c);
    } else if (is(c, "currentMemory")) {
        out->memory_mib = mem_mib(c);
    } else if (is(c, "vcpu")) {
        parse_vcpu(c, out);
    } else if (is(c, "os")) {
        parse_os(c, a, out);
    } else if (is(c, "resource")) {
        for (const xmlNode *p = c->children; p; p = p->next)
            if (is(p, "partition"))
                out->partition = arena_strdup(a, text_of(p));
    } else if (is(c, "metadata")) {
        return parse_metadata(c, a, out);
    } else if (is(c, "devices")) {
        return parse_devices(c, a, out);
    }
    return 0;
}

int
virt_domxml_parse(const char *xml, arena *a, struct virt_domain *out, err *e)
{
    memset(out, 0, sizeof(*out));
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc)
        return err_set(e, ERR_INTERNAL, "the host returned unreadable domain XML");
    xmlNode *root = xmlDocGetRootElement(doc);
    int rc = 0;
    if (!root || !is(root, "domain")) {
        rc = err_set(e, ERR_INTERNAL, "the host returned XML that is not a domain");
    } else {
        out->domain_type = dup_attr(a, root, "type");
        for (const xmlNode *c = root->children; c && rc == 0; c = c->next)
            if (parse_child(c, a, out) < 0)
                rc = err_set(e, ERR_INTERNAL, "out of memory");
        if (rc == 0 && !out->name)
            rc = err_set(e, ERR_INTERNAL, "the host returned a domain without a name");
    }
    if (rc == 0 && out->memory_mib == 0)
        out->memory_mib = out->max_memory_mib;
    xmlFreeDoc(doc);
    return rc;
}

int
virt_meta_parse(const char *xml, arena *a, struct virt_meta *out, err *e)
{
    memset(out, 0, sizeof(*out));
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "meta.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc)
        return err_set(e, ERR_INTERNAL, "the host returned unreadable metadata");
    xmlNode *root = xmlDocGetRootElement(doc);
    int rc = 0;
    /* libvirt hands the element back without its namespace: we asked for ours */
    if (root && (is_portal(root) || is(root, "portal")) && parse_meta_node(root, a, out) < 0)
        rc = err_set(e, ERR_INTERNAL, "out of memory");
    xmlFreeDoc(doc);
    return rc;
}

/* ---- packing ---- */

static size_t
slen(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

static size_t
align16(size_t n)
{
    return (n + 15) & ~(size_t)15;
}

size_t
virt_domain_packed_size(const struct virt_domain *s)
{
    size_t n = align16(s->ndisks * sizeof(*s->disks)) + align16(s->nnics * sizeof(*s->nics));
    n += slen(s->name) + slen(s->domain_type) + slen(s->arch) + slen(s->partition);
    for (size_t i = 0; i < s->ndisks; i++) {
        const struct virt_disk *d = &s->disks[i];
        n += slen(d->target) + slen(d->bus) + slen(d->device) + slen(d->type) + slen(d->source) +
             slen(d->pool) + slen(d->volume) + slen(d->format);
    }
    for (size_t i = 0; i < s->nnics; i++) {
        const struct virt_nic *c = &s->nics[i];
        n += slen(c->type) + slen(c->mac) + slen(c->model) + slen(c->network) + slen(c->bridge);
    }
    if (s->meta) {
        n += align16(sizeof(*s->meta)) + align16(s->meta->ntags * sizeof(char *));
        for (size_t i = 0; i < s->meta->ntags; i++)
            n += slen(s->meta->tags[i]);
    }
    return n;
}

struct bump {
    char *p;
};

static void *
bump_take(struct bump *b, size_t n)
{
    void *p = b->p;
    b->p += align16(n);
    return p;
}

static char *
bump_str(struct bump *b, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = memcpy(b->p, s, n);
    b->p += n;
    return p;
}

static void
pack_meta(struct virt_domain *dst, const struct virt_meta *m, struct bump *b)
{
    struct virt_meta *dm = bump_take(b, sizeof(*dm));
    dm->tenant_id = m->tenant_id;
    dm->ntags = m->ntags;
    dm->tags = bump_take(b, m->ntags * sizeof(char *));
    dst->meta = dm;
}

void
virt_domain_pack(struct virt_domain *dst, const struct virt_domain *src, void *buf)
{
    struct bump b = {buf};
    *dst = *src;
    dst->disks = bump_take(&b, src->ndisks * sizeof(*src->disks));
    dst->nics = bump_take(&b, src->nnics * sizeof(*src->nics));
    if (src->meta)
        pack_meta(dst, src->meta, &b);
    /* strings after every aligned block */
    dst->name = bump_str(&b, src->name);
    dst->domain_type = bump_str(&b, src->domain_type);
    dst->arch = bump_str(&b, src->arch);
    dst->partition = bump_str(&b, src->partition);
    for (size_t i = 0; i < src->ndisks; i++) {
        const struct virt_disk *s = &src->disks[i];
        struct virt_disk *d = &dst->disks[i];
        *d = *s;
        d->target = bump_str(&b, s->target);
        d->bus = bump_str(&b, s->bus);
        d->device = bump_str(&b, s->device);
        d->type = bump_str(&b, s->type);
        d->source = bump_str(&b, s->source);
        d->pool = bump_str(&b, s->pool);
        d->volume = bump_str(&b, s->volume);
        d->format = bump_str(&b, s->format);
    }
    for (size_t i = 0; i < src->nnics; i++) {
        const struct virt_nic *s = &src->nics[i];
        struct virt_nic *d = &dst->nics[i];
        d->type = bump_str(&b, s->type);
        d->mac = bump_str(&b, s->mac);
        d->model = bump_str(&b, s->model);
        d->network = bump_str(&b, s->network);
        d->bridge = bump_str(&b, s->bridge);
    }
    for (size_t i = 0; src->meta && i < src->meta->ntags; i++)
        dst->meta->tags[i] = bump_str(&b, src->meta->tags[i]);
    if (!src->ndisks)
        dst->disks = NULL;
    if (!src->nnics)
        dst->nics = NULL;
}
