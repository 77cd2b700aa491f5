/* snapshot: domain snapshots (create, list, revert, delete). */
#include "virt_priv.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <string.h>

static int
snap_open(virt_hosts *h, int64_t id, const char *uuid, const char *name, struct vconn *c,
          virDomainPtr *dom, err *e)
{
    if (name && !virt_name_valid(name))
        return err_set(e, ERR_INVALID,
                       "the snapshot name must be 1-64 characters of letters, "
                       "digits, '.', '_' and '-', not starting with '.' or '-'");
    if (virt_conn_get(h, id, c, e) < 0)
        return -1;
    *dom = virt_dom_lookup(c, uuid, e);
    return *dom ? 0 : -1;
}

int
virt_snapshot_create(virt_hosts *h, int64_t id, const char *uuid, const char *name,
                     const char *description, err *e)
{
    if (!name)
        return err_set(e, ERR_INVALID, "the snapshot needs a name");
    if (description && strlen(description) > 1024)
        return err_set(e, ERR_INVALID, "the description is longer than 1024 characters");
    VCONN c = {0};
    AUTOPTR(virDomain) dom = NULL;
    if (snap_open(h, id, uuid, name, &c, &dom, e) < 0)
        return -1;
    AUTOPTR(virDomainSnapshot) old = virDomainSnapshotLookupByName(dom, name, 0);
    if (old)
        return err_set(e, ERR_CONFLICT, "a snapshot named '%s' already exists", name);
    struct virt_xw x;
    if (virt_xw_begin(&x) < 0)
        return err_set(e, ERR_INTERNAL, "out of memory");
    virt_xw_start(&x, "domainsnapshot");
    virt_xw_elem(&x, "name", name);
    if (description)
        virt_xw_elem(&x, "description", description);
    virt_xw_end(&x);
    AUTOFREE char *xml = virt_xw_finish(&x);
    if (!xml)
        return err_set(e, ERR_INTERNAL, "cannot write the snapshot XML");
    AUTOPTR(virDomainSnapshot) snap = virDomainSnapshotCreateXML(dom, xml, 0);
    if (!snap)
        return virt_fail(c.host, e, "creating the snapshot");
    return 0;
}

static const char *
child_text(const xmlNode *n, const char *name)
{
    for (const xmlNode *c = n->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
            for (const xmlNode *t = c->children; t; t = t->next)
                if (t->type == XML_TEXT_NODE && t->content)
                    return (const char *)t->content;
    return NULL;
}

static const xmlNode *
child(const xmlNode *n, const char *name)
{
    for (const xmlNode *c = n->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
            return c;
    return NULL;
}

static int
snap_fill(virDomainSnapshotPtr s, arena *a, struct virt_snapshot *out)
{
    AUTOFREE char *xml = virDomainSnapshotGetXMLDesc(s, 0);
    if (!xml)
        return -1;
    xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "s.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (!root) {
        xmlFreeDoc(doc);
        return -1;
    }
    out->name = arena_strdup(a, virDomainSnapshotGetName(s));
    out->description = arena_strdup(a, child_text(root, "description"));
    out->state = arena_strdup(a, child_text(root, "state"));
    const xmlNode *parent = child(root, "parent");
    out->parent = parent ? arena_strdup(a, child_text(parent, "name")) : NULL;
    uint64_t t = 0;
    const char *ct = child_text(root, "creationTime");
    out->created = ct && virt_parse_u64(ct, &t) == 0 && t <= INT64_MAX ? (int64_t)t : 0;
    out->current = virDomainSnapshotIsCurrent(s, 0) == 1;
    xmlFreeDoc(doc);
    return 0;
}

int
virt_snapshot_list(virt_hosts *h, int64_t id, const char *uuid, struct virt_snapshot_list *out,
                   err *e)
{
    memset(out, 0, sizeof(*out));
    VCONN c = {0};
    AUTOPTR(virDomain) dom = NULL;
    if (snap_open(h, id, uuid, NULL, &c, &dom, e) < 0)
        return -1;
    virDomainSnapshotPtr *snaps = NULL;
    int n = virDomainListAllSnapshots(dom, &snaps, 0);
    if (n < 0)
        return virt_fail(c.host, e, "listing snapshots");
    int rc = 0;
    out->mem = arena_new();
    out->items = out->mem ? arena_alloc(out->mem, ((size_t)n + 1) * sizeof(*out->items)) : NULL;
    if (!out->items)
        rc = err_set(e, ERR_INTERNAL, "out of memory");
    for (int i = 0; i < n; i++) {
        /* a snapshot deleted while we list it just drops out */
        if (rc == 0 && snap_fill(snaps[i], out->mem, &out->items[out->n]) == 0)
            out->n++;
        virDomainSnapshotFree(snaps[i]);
    }
    free(snaps);
    if (rc < 0)
        virt_snapshot_list_free(out);
    return rc;
}

void
virt_snapshot_list_free(struct virt_snapshot_list *l)
{
    if (!l)
        return;
    arena_destroy(l->mem);
    memset(l, 0, sizeof(*l));
}

int
virt_snapshot_revert(virt_hosts *h, int64_t id, const char *uuid, const char *name, err *e)
{
    if (!name)
        return err_set(e, ERR_INVALID, "the snapshot needs a name");
    VCONN c = {0};
    AUTOPTR(virDomain) dom = NULL;
    if (snap_open(h, id, uuid, name, &c, &dom, e) < 0)
        return -1;
    AUTOPTR(virDomainSnapshot) snap = virDomainSnapshotLookupByName(dom, name, 0);
    if (!snap)
        return virt_fail(c.host, e, "finding the snapshot");
    if (virDomainRevertToSnapshot(snap, 0) < 0)
        return virt_fail(c.host, e, "reverting to the snapshot");
    return 0;
}

int
virt_snapshot_delete(virt_hosts *h, int64_t id, const char *uuid, const char *name, err *e)
{
    if (!name)
        return err_set(e, ERR_INVALID, "the snapshot needs a name");
    VCONN c = {0};
    AUTOPTR(virDomain) dom = NULL;
    if (snap_open(h, id, uuid, name, &c, &dom, e) < 0)
        return -1;
    AUTOPTR(virDomainSnapshot) snap = virDomainSnapshotLookupByName(dom, name, 0);
    if (!snap)
        return virt_fail(c.host, e, "finding the snapshot");
    if (virDomainSnapshotDelete(snap, 0) < 0)
        return virt_fail(c.host, e, "deleting the snapshot");
    return 0;
}
