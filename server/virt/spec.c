/* spec: checking a new-VM spec and writing its domain XML.
 *
 * The XML is produced with libxml2's xmlTextWriter, which escapes every text
 * and attribute value; nothing is pasted into markup by hand. Validation is
 * still strict (names are plain identifiers) so that what reaches libvirt is
 * also safe as a file name and in logs. */
#include "virt_priv.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- writer helpers ---- */

int
virt_xw_begin(struct virt_xw *x)
{
    x->rc = 0;
    x->w = NULL;
    x->buf = xmlBufferCreate();
    if (x->buf)
        x->w = xmlNewTextWriterMemory(x->buf, 0);
    if (!x->w) {
        if (x->buf)
            xmlBufferFree(x->buf);
        x->buf = NULL;
        return -1;
    }
    xmlTextWriterSetIndent(x->w, 1);
    xmlTextWriterSetIndentString(x->w, (const xmlChar *)"  ");
    return 0;
}

static void
xw_check(struct virt_xw *x, int rc)
{
    if (rc < 0)
        x->rc = -1;
}

void
virt_xw_start(struct virt_xw *x, const char *name)
{
    xw_check(x, xmlTextWriterStartElement(x->w, (const xmlChar *)name));
}

void
virt_xw_attr(struct virt_xw *x, const char *name, const char *value)
{
    xw_check(x, xmlTextWriterWriteAttribute(x->w, (const xmlChar *)name, (const xmlChar *)value));
}

void
virt_xw_elem(struct virt_xw *x, const char *name, const char *text)
{
    xw_check(x, xmlTextWriterWriteElement(x->w, (const xmlChar *)name, (const xmlChar *)text));
}

void
virt_xw_end(struct virt_xw *x)
{
    xw_check(x, xmlTextWriterEndElement(x->w));
}

char *
virt_xw_finish(struct virt_xw *x)
{
    xw_check(x, xmlTextWriterFlush(x->w));
    xmlFreeTextWriter(x->w);
    char *out = NULL;
    if (x->rc == 0)
        out = strdup((const char *)xmlBufferContent(x->buf));
    xmlBufferFree(x->buf);
    x->w = NULL;
    x->buf = NULL;
    return out;
}

static void
xw_start_ns(struct virt_xw *x, const char *prefix, const char *name, const char *ns)
{
    if (prefix)
        xw_check(x, xmlTextWriterStartElementNS(x->w, (const xmlChar *)prefix,
                                                (const xmlChar *)name, (const xmlChar *)ns));
    else
        virt_xw_start(x, name);
}

void
virt_xw_meta(struct virt_xw *x, const char *prefix, int64_t tenant_id, const char *const *tags,
             size_t ntags)
{
    char num[32];
    snprintf(num, sizeof(num), "%" PRId64, tenant_id);
    xw_start_ns(x, prefix, "portal", VIRT_META_NS);
    xw_start_ns(x, prefix, "tenant", NULL);
    xw_check(x, xmlTextWriterWriteString(x->w, (const xmlChar *)num));
    virt_xw_end(x);
    xw_start_ns(x, prefix, "tags", NULL);
    for (size_t i = 0; i < ntags; i++) {
        xw_start_ns(x, prefix, "tag", NULL);
        xw_check(x, xmlTextWriterWriteString(x->w, (const xmlChar *)tags[i]));
        virt_xw_end(x);
    }
    virt_xw_end(x);
    virt_xw_end(x);
}

/* ---- validation ---- */

static bool
path_valid(const char *p)
{
    size_t n = strlen(p);
    if (n < 2 || n > 1024 || p[0] != '/' || strstr(p, "//") || strstr(p, "/../") ||
        strstr(p, "/./") || (n >= 3 && strcmp(p + n - 3, "/..") == 0))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("._/+-", c)))
            return false;
    }
    return true;
}

/* "pool/volume" or an absolute path. */
static bool
base_image_valid(const char *b)
{
    if (b[0] == '/')
        return path_valid(b);
    const char *slash = strchr(b, '/');
    if (!slash || slash - b > VIRT_NAME_MAX)
        return false;
    char pool[VIRT_NAME_MAX + 1];
    memcpy(pool, b, (size_t)(slash - b));
    pool[slash - b] = '\0';
    return virt_name_valid(pool) && virt_name_valid(slash + 1);
}

/* "/machine/virtportal-3.slice": absolute, segments of name characters. */
static bool
partition_valid(const char *p)
{
    size_t n = strlen(p);
    if (n < 2 || n > 255 || p[0] != '/' || p[n - 1] == '/' || strstr(p, "//"))
        return false;
    for (const char *s = p + 1; *s;) {
        const char *e = strchr(s, '/');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        char seg[256];
        memcpy(seg, s, len);
        seg[len] = '\0';
        if (!virt_name_valid(seg))
            return false;
        s += len + (e ? 1 : 0);
    }
    return true;
}

static int
validate_sizes(const struct virt_spec *s, err *e)
{
    if (s->vcpus < 1 || s->vcpus > 256)
        return err_set(e, ERR_INVALID, "vcpus must be between 1 and 256");
    if (s->memory_mib < 64 || s->memory_mib > 4194304)
        return err_set(e, ERR_INVALID, "memory_mib must be between 64 and 4194304 (4 TiB)");
    if (s->disk_gib < 1 || s->disk_gib > 65536)
        return err_set(e, ERR_INVALID, "disk_gib must be between 1 and 65536 (64 TiB)");
    return 0;
}

static int
validate_refs(const struct virt_spec *s, err *e)
{
    if (!s->pool && !s->base_image)
        return err_set(e, ERR_INVALID, "either pool or base_image is required");
    if (s->pool && !virt_name_valid(s->pool))
        return err_set(e, ERR_INVALID, "pool must be a storage pool name");
    if (s->base_image && !base_image_valid(s->base_image))
        return err_set(e, ERR_INVALID,
                       "base_image must be \"pool/volume\" or an absolute path to a volume");
    if (s->network && !virt_name_valid(s->network))
        return err_set(e, ERR_INVALID, "network must be a network name");
    if (s->partition && !partition_valid(s->partition))
        return err_set(e, ERR_INVALID,
                       "partition must be an absolute path of name segments, "
                       "like /machine/tenant-1.slice");
    return 0;
}

static int
validate_meta(int64_t tenant_id, const char *const *tags, size_t ntags, err *e)
{
    if (tenant_id < 0)
        return err_set(e, ERR_INVALID, "tenant_id must not be negative");
    if (ntags > VIRT_TAGS_MAX)
        return err_set(e, ERR_INVALID, "at most %d tags are allowed", VIRT_TAGS_MAX);
    if (ntags && !tags)
        return err_set(e, ERR_INVALID, "tags are missing");
    for (size_t i = 0; i < ntags; i++)
        if (!virt_tag_valid(tags[i]))
            return err_set(e, ERR_INVALID,
                           "tag %zu must be 1-%d characters of letters, digits and ._:-", i + 1,
                           VIRT_TAG_MAX);
    return 0;
}

int
virt_spec_validate(const struct virt_spec *s, err *e)
{
    if (!s)
        return err_set(e, ERR_INVALID, "the VM spec is missing");
    if (!virt_name_valid(s->name))
        return err_set(e, ERR_INVALID,
                       "name must be 1-64 characters of letters, digits, '.', '_' "
                       "and '-', not starting with '.' or '-'");
    if (validate_sizes(s, e) < 0 || validate_refs(s, e) < 0 ||
        validate_meta(s->tenant_id, s->tags, s->ntags, e) < 0)
        return -1;
    if (s->firmware != VIRT_FW_BIOS && s->firmware != VIRT_FW_UEFI)
        return err_set(e, ERR_INVALID, "firmware must be bios or uefi");
    if (s->domtype != VIRT_DOMTYPE_AUTO && s->domtype != VIRT_DOMTYPE_QEMU &&
        s->domtype != VIRT_DOMTYPE_KVM)
        return err_set(e, ERR_INVALID, "unknown domain type");
    if (s->arch && strcmp(s->arch, "x86_64") != 0 && strcmp(s->arch, "aarch64") != 0 &&
        strcmp(s->arch, "i686") != 0)
        return err_set(e, ERR_INVALID, "arch must be x86_64, aarch64 or i686");
    return 0;
}

/* ---- the domain XML ---- */

static void
xml_os(struct virt_xw *x, const struct virt_spec *s)
{
    virt_xw_start(x, "os");
    if (s->firmware == VIRT_FW_UEFI)
        virt_xw_attr(x, "firmware", "efi");
    virt_xw_start(x, "type");
    virt_xw_attr(x, "arch", s->arch ? s->arch : "x86_64");
    if (s->firmware == VIRT_FW_UEFI)
        virt_xw_attr(x, "machine", "q35"); /* the OVMF builds every distro ships support q35 */
    xw_check(x, xmlTextWriterWriteString(x->w, (const xmlChar *)"hvm"));
    virt_xw_end(x);
    virt_xw_start(x, "boot");
    virt_xw_attr(x, "dev", "hd");
    virt_xw_end(x);
    virt_xw_end(x);
    virt_xw_start(x, "features");
    virt_xw_elem(x, "acpi", NULL);
    virt_xw_elem(x, "apic", NULL);
    virt_xw_end(x);
}

static void
xml_disk(struct virt_xw *x, const char *path)
{
    bool block = strncmp(path, "/dev/", 5) == 0;
    virt_xw_start(x, "disk");
    virt_xw_attr(x, "type", block ? "block" : "file");
    virt_xw_attr(x, "device", "disk");
    virt_xw_start(x, "driver");
    virt_xw_attr(x, "name", "qemu");
    virt_xw_attr(x, "type", "qcow2");
    virt_xw_end(x);
    virt_xw_start(x, "source");
    virt_xw_attr(x, block ? "dev" : "file", path);
    virt_xw_end(x);
    virt_xw_start(x, "target");
    virt_xw_attr(x, "dev", "vda");
    virt_xw_attr(x, "bus", "virtio");
    virt_xw_end(x);
    virt_xw_end(x);
}

static void
xml_devices(struct virt_xw *x, const struct virt_spec *s, const char *disk_path)
{
    virt_xw_start(x, "devices");
    if (disk_path)
        xml_disk(x, disk_path);
    if (s->network) {
        virt_xw_start(x, "interface");
        virt_xw_attr(x, "type", "network");
        virt_xw_start(x, "source");
        virt_xw_attr(x, "network", s->network);
        virt_xw_end(x);
        virt_xw_start(x, "model");
        virt_xw_attr(x, "type", "virtio");
        virt_xw_end(x);
        virt_xw_end(x);
    }
    virt_xw_start(x, "serial");
    virt_xw_attr(x, "type", "pty");
    virt_xw_end(x);
    virt_xw_start(x, "console");
    virt_xw_attr(x, "type", "pty");
    virt_xw_end(x);
    virt_xw_start(x, "memballoon");
    virt_xw_attr(x, "model", "virtio");
    virt_xw_end(x);
    virt_xw_end(x);
}

static void
xml_sizes(struct virt_xw *x, const struct virt_spec *s)
{
    char num[32];
    snprintf(num, sizeof(num), "%" PRId64, s->memory_mib);
    virt_xw_start(x, "memory");
    virt_xw_attr(x, "unit", "MiB");
    xw_check(x, xmlTextWriterWriteString(x->w, (const xmlChar *)num));
    virt_xw_end(x);
    virt_xw_start(x, "currentMemory");
    virt_xw_attr(x, "unit", "MiB");
    xw_check(x, xmlTextWriterWriteString(x->w, (const xmlChar *)num));
    virt_xw_end(x);
    snprintf(num, sizeof(num), "%" PRId64, s->vcpus);
    virt_xw_start(x, "vcpu");
    virt_xw_attr(x, "placement", "static");
    xw_check(x, xmlTextWriterWriteString(x->w, (const xmlChar *)num));
    virt_xw_end(x);
}

int
virt_spec_xml(const struct virt_spec *s, const char *domtype, const char *disk_path, char **xml_out,
              err *e)
{
    *xml_out = NULL;
    if (virt_spec_validate(s, e) < 0)
        return -1;
    struct virt_xw x;
    if (virt_xw_begin(&x) < 0)
        return err_set(e, ERR_INTERNAL, "out of memory");
    virt_xw_start(&x, "domain");
    virt_xw_attr(&x, "type", domtype);
    virt_xw_elem(&x, "name", s->name);
    if (s->tenant_id > 0 || s->ntags > 0) {
        virt_xw_start(&x, "metadata");
        virt_xw_meta(&x, "vp", s->tenant_id, s->tags, s->ntags);
        virt_xw_end(&x);
    }
    xml_sizes(&x, s);
    if (s->partition) {
        virt_xw_start(&x, "resource");
        virt_xw_elem(&x, "partition", s->partition);
        virt_xw_end(&x);
    }
    xml_os(&x, s);
    if (strcmp(domtype, "kvm") == 0) {
        virt_xw_start(&x, "cpu");
        virt_xw_attr(&x, "mode", "host-model");
        virt_xw_end(&x);
    }
    virt_xw_start(&x, "clock");
    virt_xw_attr(&x, "offset", "utc");
    virt_xw_end(&x);
    virt_xw_elem(&x, "on_poweroff", "destroy");
    virt_xw_elem(&x, "on_reboot", "restart");
    virt_xw_elem(&x, "on_crash", "destroy");
    xml_devices(&x, s, disk_path);
    virt_xw_end(&x);
    *xml_out = virt_xw_finish(&x);
    if (!*xml_out)
        return err_set(e, ERR_INTERNAL, "cannot write the domain XML");
    return 0;
}
