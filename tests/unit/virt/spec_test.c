/* virt_spec_validate / virt_spec_xml / virt_domxml_parse without a host:
 * the generated XML parses back to the spec, and bad specs are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "virt.h"

static struct virt_spec
good_spec(void)
{
    static const char *const tags[] = {"web", "team-a"};
    return (struct virt_spec){
        .name = "web-07",
        .vcpus = 4,
        .memory_mib = 8192,
        .disk_gib = 40,
        .pool = "default",
        .network = "prod",
        .firmware = VIRT_FW_UEFI,
        .partition = "/machine/virtportal-3.slice",
        .tenant_id = 3,
        .tags = tags,
        .ntags = 2,
    };
}

static void
xml_round_trips(void **state)
{
    (void)state;
    struct virt_spec s = good_spec();
    err e = {0};
    char *xml = NULL;
    assert_int_equal(virt_spec_xml(&s, "qemu", "/var/lib/libvirt/images/web-07.qcow2", &xml, &e),
                     0);
    arena *a = arena_new();
    struct virt_domain d;
    assert_int_equal(virt_domxml_parse(xml, a, &d, &e), 0);
    assert_string_equal(d.name, "web-07");
    assert_string_equal(d.domain_type, "qemu");
    assert_int_equal(d.vcpus, 4);
    assert_int_equal(d.max_vcpus, 4);
    assert_int_equal(d.memory_mib, 8192);
    assert_int_equal(d.max_memory_mib, 8192);
    assert_int_equal(d.firmware, VIRT_FW_UEFI);
    assert_string_equal(d.partition, "/machine/virtportal-3.slice");
    assert_int_equal(d.ndisks, 1);
    assert_string_equal(d.disks[0].source, "/var/lib/libvirt/images/web-07.qcow2");
    assert_string_equal(d.disks[0].target, "vda");
    assert_string_equal(d.disks[0].bus, "virtio");
    assert_string_equal(d.disks[0].format, "qcow2");
    assert_int_equal(d.nnics, 1);
    assert_string_equal(d.nics[0].network, "prod");
    assert_string_equal(d.nics[0].model, "virtio");
    assert_non_null(d.meta);
    assert_int_equal(d.meta->tenant_id, 3);
    assert_int_equal(d.meta->ntags, 2);
    assert_string_equal(d.meta->tags[0], "web");
    assert_string_equal(d.meta->tags[1], "team-a");
    arena_destroy(a);
    free(xml);
}

static void
bios_kvm_without_network(void **state)
{
    (void)state;
    struct virt_spec s = good_spec();
    s.firmware = VIRT_FW_BIOS;
    s.network = NULL;
    s.partition = NULL;
    s.tenant_id = 0;
    s.ntags = 0;
    err e = {0};
    char *xml = NULL;
    assert_int_equal(virt_spec_xml(&s, "kvm", "/dev/vg0/web-07", &xml, &e), 0);
    assert_non_null(strstr(xml, "host-model"));
    assert_null(strstr(xml, "metadata"));
    arena *a = arena_new();
    struct virt_domain d;
    assert_int_equal(virt_domxml_parse(xml, a, &d, &e), 0);
    assert_int_equal(d.firmware, VIRT_FW_BIOS);
    assert_string_equal(d.disks[0].type, "block");
    assert_string_equal(d.disks[0].source, "/dev/vg0/web-07");
    assert_int_equal(d.nnics, 0);
    assert_null(d.meta);
    assert_null(d.partition);
    arena_destroy(a);
    free(xml);
}

struct bad_case {
    const char *what;
    void (*mutate)(struct virt_spec *s);
    const char *detail_has;
};

static char long_name[301];
static const char *bad_tags[] = {"ok", "no spaces"};
static void
m_lt(struct virt_spec *s)
{
    s->name = "web<01";
}
static void
m_quote(struct virt_spec *s)
{
    s->name = "web\"01";
}
static void
m_squote(struct virt_spec *s)
{
    s->name = "web'01";
}
static void
m_long(struct virt_spec *s)
{
    s->name = long_name;
}
static void
m_empty(struct virt_spec *s)
{
    s->name = "";
}
static void
m_dot(struct virt_spec *s)
{
    s->name = ".hidden";
}
static void
m_dash(struct virt_spec *s)
{
    s->name = "-rf";
}
static void
m_slash(struct virt_spec *s)
{
    s->name = "../etc";
}
static void
m_null(struct virt_spec *s)
{
    s->name = NULL;
}
static void
m_vneg(struct virt_spec *s)
{
    s->vcpus = -1;
}
static void
m_vzero(struct virt_spec *s)
{
    s->vcpus = 0;
}
static void
m_vbig(struct virt_spec *s)
{
    s->vcpus = 257;
}
static void
m_mneg(struct virt_spec *s)
{
    s->memory_mib = -4096;
}
static void
m_msmall(struct virt_spec *s)
{
    s->memory_mib = 63;
}
static void
m_mhuge(struct virt_spec *s)
{
    s->memory_mib = INT64_MAX;
}
static void
m_dneg(struct virt_spec *s)
{
    s->disk_gib = -1;
}
static void
m_dhuge(struct virt_spec *s)
{
    s->disk_gib = 65537;
}
static void
m_nostorage(struct virt_spec *s)
{
    s->pool = NULL;
}
static void
m_badpool(struct virt_spec *s)
{
    s->pool = "po ol";
}
static void
m_badbase(struct virt_spec *s)
{
    s->pool = NULL;
    s->base_image = "../x";
}
static void
m_badnet(struct virt_spec *s)
{
    s->network = "a<b";
}
static void
m_badpart(struct virt_spec *s)
{
    s->partition = "machine/x";
}
static void
m_dotpart(struct virt_spec *s)
{
    s->partition = "/machine/../x";
}
static void
m_tenant(struct virt_spec *s)
{
    s->tenant_id = -2;
}
static void
m_tag(struct virt_spec *s)
{
    s->tags = bad_tags;
    s->ntags = 2;
}
static void
m_fw(struct virt_spec *s)
{
    s->firmware = (enum virt_firmware)7;
}
static void
m_arch(struct virt_spec *s)
{
    s->arch = "sparc";
}

static void
bad_specs_are_refused(void **state)
{
    (void)state;
    memset(long_name, 'a', 300);
    long_name[300] = '\0';
    static const struct bad_case cases[] = {
        {"name with <", m_lt, "name"},
        {"name with \"", m_quote, "name"},
        {"name with '", m_squote, "name"},
        {"300-char name", m_long, "name"},
        {"empty name", m_empty, "name"},
        {"leading dot", m_dot, "name"},
        {"leading dash", m_dash, "name"},
        {"slash", m_slash, "name"},
        {"NULL name", m_null, "name"},
        {"vcpus -1", m_vneg, "vcpus"},
        {"vcpus 0", m_vzero, "vcpus"},
        {"vcpus 257", m_vbig, "vcpus"},
        {"memory -4096", m_mneg, "memory_mib"},
        {"memory 63", m_msmall, "memory_mib"},
        {"memory huge", m_mhuge, "memory_mib"},
        {"disk -1", m_dneg, "disk_gib"},
        {"disk 64TiB+1", m_dhuge, "disk_gib"},
        {"no storage", m_nostorage, "pool"},
        {"bad pool", m_badpool, "pool"},
        {"bad base", m_badbase, "base_image"},
        {"bad network", m_badnet, "network"},
        {"relative partition", m_badpart, "partition"},
        {"dotdot partition", m_dotpart, "partition"},
        {"negative tenant", m_tenant, "tenant"},
        {"bad tag", m_tag, "tag 2"},
        {"firmware", m_fw, "firmware"},
        {"arch", m_arch, "arch"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct virt_spec s = good_spec();
        cases[i].mutate(&s);
        err e = {0};
        char *xml = NULL;
        if (virt_spec_validate(&s, &e) == 0)
            fail_msg("accepted: %s", cases[i].what);
        assert_int_equal(e.kind, ERR_INVALID);
        if (!strstr(e.detail, cases[i].detail_has))
            fail_msg("%s: '%s' lacks '%s'", cases[i].what, e.detail, cases[i].detail_has);
        assert_int_equal(virt_spec_xml(&s, "qemu", "/x.qcow2", &xml, &e), -1);
        assert_null(xml);
    }
}

static void
limits_are_inclusive(void **state)
{
    (void)state;
    struct virt_spec s = good_spec();
    err e = {0};
    s.vcpus = 1;
    s.memory_mib = 64;
    s.disk_gib = 1;
    assert_int_equal(virt_spec_validate(&s, &e), 0);
    s.vcpus = 256;
    s.memory_mib = 4194304;
    s.disk_gib = 65536;
    assert_int_equal(virt_spec_validate(&s, &e), 0);
    char name64[65];
    memset(name64, 'x', 64);
    name64[64] = '\0';
    s.name = name64;
    assert_int_equal(virt_spec_validate(&s, &e), 0);
    s.pool = NULL;
    s.base_image = "default/debian-12-base.qcow2";
    assert_int_equal(virt_spec_validate(&s, &e), 0);
    s.base_image = "/var/lib/libvirt/images/debian-12-base.qcow2";
    assert_int_equal(virt_spec_validate(&s, &e), 0);
}

static void
parser_tolerates_foreign_xml(void **state)
{
    (void)state;
    static const char xml[] =
        "<domain type='kvm'><name>x &amp; y</name><uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid>"
        "<memory unit='GiB'>2</memory><vcpu current='1'>4</vcpu>"
        "<os><type arch='x86_64'>hvm</type><loader readonly='yes' type='pflash'>/usr/share/OVMF/"
        "OVMF_CODE.fd</loader></os>"
        "<metadata><other xmlns='urn:x'/><vp:portal xmlns:vp='https://virtportal.dev/xmlns/1'>"
        "<vp:tenant>abc</vp:tenant><vp:tags><vp:tag>ok</vp:tag><vp:tag>b&lt;d</vp:tag></vp:tags>"
        "</vp:portal></metadata>"
        "<devices><disk type='volume' device='disk'><source pool='p1' volume='v1'/>"
        "<target dev='sda' bus='scsi'/></disk><disk type='file' device='cdrom'>"
        "<target dev='hdc' bus='ide'/></disk><interface type='bridge'><mac "
        "address='52:54:00:aa:bb:cc'/>"
        "<source bridge='br0'/><model type='e1000'/></interface></devices></domain>";
    arena *a = arena_new();
    struct virt_domain d;
    err e = {0};
    assert_int_equal(virt_domxml_parse(xml, a, &d, &e), 0);
    assert_string_equal(d.name, "x & y");
    assert_string_equal(d.uuid, "6695eb01-f6a4-8304-79aa-97f2502e193f");
    assert_int_equal(d.max_memory_mib, 2048);
    assert_int_equal(d.memory_mib, 2048);
    assert_int_equal(d.vcpus, 1);
    assert_int_equal(d.max_vcpus, 4);
    assert_int_equal(d.firmware, VIRT_FW_UEFI);
    assert_non_null(d.meta);
    assert_int_equal(d.meta->tenant_id, 0); /* "abc" is not trusted */
    assert_int_equal(d.meta->ntags, 1);     /* "b<d" dropped */
    assert_int_equal(d.ndisks, 2);
    assert_string_equal(d.disks[0].pool, "p1");
    assert_string_equal(d.disks[0].volume, "v1");
    assert_null(d.disks[1].source);
    assert_string_equal(d.disks[1].device, "cdrom");
    assert_string_equal(d.nics[0].type, "bridge");
    assert_string_equal(d.nics[0].bridge, "br0");
    assert_string_equal(d.nics[0].model, "e1000");
    assert_int_equal(virt_domxml_parse("<domain><name>x", a, &d, &e), -1);
    assert_int_equal(virt_domxml_parse("<network/>", a, &d, &e), -1);
    arena_destroy(a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(xml_round_trips),
        cmocka_unit_test(bios_kvm_without_network),
        cmocka_unit_test(bad_specs_are_refused),
        cmocka_unit_test(limits_are_inclusive),
        cmocka_unit_test(parser_tolerates_foreign_xml),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
