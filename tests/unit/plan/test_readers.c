/* RVTools (xlsx and csv) and OVF readers: the shared fixtures, plus hostile and
 * old-format inputs built in memory (xlsx archives are assembled with libzip). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zip.h>

#include "fixture_io.h"
#include "plan.h"

/* ---------------------------------------------------------------- helpers */

struct part {
    const char *name;
    const char *data;
    size_t len; /* 0: strlen(data) */
};

/* Builds a zip archive in memory from parts; caller frees *out. */
static void
make_zip(const struct part *parts, size_t n, char **out, size_t *outlen)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(NULL, 0, 0, &ze);
    assert_non_null(src);
    zip_source_keep(src);
    zip_t *z = zip_open_from_source(src, ZIP_TRUNCATE, &ze);
    assert_non_null(z);
    for (size_t i = 0; i < n; i++) {
        size_t len = parts[i].len ? parts[i].len : strlen(parts[i].data);
        zip_source_t *s = zip_source_buffer(z, parts[i].data, len, 0);
        assert_true(zip_file_add(z, parts[i].name, s, ZIP_FL_OVERWRITE) >= 0);
    }
    assert_int_equal(zip_close(z), 0);
    zip_stat_t st;
    assert_int_equal(zip_source_stat(src, &st), 0);
    *outlen = (size_t)st.size;
    *out = malloc(*outlen + 1);
    assert_int_equal(zip_source_open(src), 0);
    assert_int_equal(zip_source_read(src, *out, *outlen), (zip_int64_t)*outlen);
    zip_source_close(src);
    zip_source_free(src);
    zip_error_fini(&ze);
}

static const char WORKBOOK[] =
    "<?xml version=\"1.0\"?><workbook "
    "xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" "
    "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">"
    "<sheets><sheet name=\"vInfo\" sheetId=\"1\" r:id=\"rId1\"/>"
    "<sheet name=\"vDisk\" sheetId=\"2\" r:id=\"rId2\"/>"
    "<sheet name=\"Notes\" sheetId=\"3\" r:id=\"rId3\"/></sheets></workbook>";

static const char RELS[] =
    "<?xml version=\"1.0\"?><Relationships "
    "xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
    "<Relationship Id=\"rId1\" Type=\"x/worksheet\" Target=\"worksheets/sheet1.xml\"/>"
    "<Relationship Id=\"rId2\" Type=\"x/worksheet\" Target=\"/xl/worksheets/./sheet2.xml\"/>"
    "<Relationship Id=\"rId3\" Type=\"x/worksheet\" Target=\"worksheets/sheet3.xml\"/>"
    "<Relationship Id=\"rId9\" Type=\"x/sharedStrings\" Target=\"sharedStrings.xml\"/>"
    "</Relationships>";

/* RVTools 3.x style: "MB" units, shared strings with rich text and phonetic runs,
 * booleans as t="b", an inline string, a formula, empty trailing rows. */
static const char STRINGS[] =
    "<sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">"
    "<si><t>VM</t></si><si><t>CPUs</t></si><si><t>Memory</t></si>"
    "<si><r><t>Total disk </t></r><r><t>capacity MB</t></r><rPh><t>junk</t></rPh></si>"
    "<si><t>Template</t></si><si><t>web &amp; co</t></si><si><t>Firmware</t></si>"
    "<si><t>Disk</t></si><si><t>Capacity MB</t></si><si><t>Raw</t></si>"
    "</sst>";

static const char SHEET1[] =
    "<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>"
    "<row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c><c r=\"B1\" t=\"s\"><v>1</v></c>"
    "<c r=\"C1\" t=\"s\"><v>2</v></c><c r=\"D1\" t=\"s\"><v>3</v></c>"
    "<c r=\"E1\" t=\"s\"><v>4</v></c><c r=\"F1\" t=\"s\"><v>6</v></c></row>"
    "<row r=\"2\"><c r=\"A2\" t=\"s\"><v>5</v></c><c r=\"B2\"><v>4</v></c>"
    "<c r=\"C2\"><f>1024*8</f><v>8192</v></c><c r=\"D2\"><v>40960</v></c>"
    "<c r=\"E2\" t=\"b\"><v>0</v></c><c r=\"F2\" t=\"inlineStr\"><is><t>efi</t></is></c></row>"
    "<row r=\"3\"><c t=\"inlineStr\"><is><t>db</t></is></c><c><v>2</v></c><c/><c><v>1e3</v></c>"
    "<c t=\"b\"><v>1</v></c></row>"
    "<row r=\"4\"/><row r=\"5\"><c r=\"A5\" s=\"1\"/></row><row r=\"1048576\"/>"
    "</sheetData></worksheet>";

static const char SHEET2[] =
    "<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheetData>"
    "<row><c t=\"s\"><v>0</v></c><c t=\"s\"><v>7</v></c><c t=\"s\"><v>8</v></c>"
    "<c t=\"s\"><v>9</v></c></row>"
    "<row><c t=\"s\"><v>5</v></c><c t=\"inlineStr\"><is><t>Hard disk 1</t></is></c>"
    "<c><v>40960</v></c><c t=\"str\"><v>True</v></c></row>"
    "<row><c t=\"inlineStr\"><is><t>ghost</t></is></c><c><v>1</v></c></row>"
    "</sheetData></worksheet>";

static plan_inventory *
read_xlsx(const struct part *parts, size_t n, const struct plan_limits *lim, int want, err *e)
{
    char *buf;
    size_t len;
    make_zip(parts, n, &buf, &len);
    plan_inventory *inv = plan_inv_new();
    int rc = plan_rvtools_read_xlsx(inv, buf, len, lim, e);
    free(buf);
    if (rc != want)
        fail_msg("read_xlsx returned %d (%s), wanted %d", rc, e->detail, want);
    return inv;
}

static bool
vm_warned(const struct plan_vm *vm, const char *code)
{
    for (size_t i = 0; i < vm->nwarnings; i++)
        if (strcmp(vm->warnings[i].code, code) == 0)
            return true;
    return false;
}

static bool
inv_warned(const plan_inventory *inv, const char *code)
{
    for (size_t i = 0; i < inv->nwarnings; i++)
        if (strcmp(inv->warnings[i].code, code) == 0)
            return true;
    return false;
}

/* ---------------------------------------------------------------- xlsx */

static void
test_xlsx_old_format(void **state)
{
    (void)state;
    struct part parts[] = {{"xl/workbook.xml", WORKBOOK, 0},
                           {"xl/_rels/workbook.xml.rels", RELS, 0},
                           {"xl/sharedStrings.xml", STRINGS, 0},
                           {"xl/worksheets/sheet1.xml", SHEET1, 0},
                           {"xl/worksheets/sheet2.xml", SHEET2, 0}};
    err e = {0};
    plan_inventory *inv = read_xlsx(parts, 5, NULL, 0, &e); /* sheet3 (Notes) is never read */
    assert_int_equal(inv->nvms, 2);
    const struct plan_vm *web = inv->vms[0], *db = inv->vms[1];
    assert_string_equal(web->name, "web & co");
    assert_int_equal(web->vcpus, 4);
    assert_int_equal(web->memory_mib, 8192);
    assert_int_equal(web->firmware, PLAN_FW_UEFI);
    assert_false(web->template_);
    assert_int_equal(web->ndisks, 1);
    assert_int_equal(web->disks[0].capacity_mib, 40960);
    assert_true(web->disks[0].rdm);
    assert_string_equal(db->name, "db");
    assert_int_equal(db->vcpus, 2);
    assert_true(db->template_);
    assert_int_equal(db->memory_mib, 0);         /* empty cell */
    assert_true(vm_warned(db, "missing-value")); /* … reported */
    assert_int_equal(db->ndisks, 1);             /* from vInfo's total, "MB" aliased */
    assert_int_equal(db->disks[0].capacity_mib, 1000);
    assert_true(inv_warned(inv, "sheet-mismatch")); /* vDisk row about "ghost" */
    plan_inv_free(inv);
}

static void
test_xlsx_hostile(void **state)
{
    (void)state;
    err e = {0};
    plan_inventory *inv = plan_inv_new();
    assert_int_equal(plan_rvtools_read_xlsx(inv, "PK\3\4garbage", 11, NULL, &e), -1);
    assert_int_equal(e.kind, ERR_INVALID);
    plan_inv_free(inv);

    /* malformed XML in a sheet */
    struct part bad[] = {{"xl/workbook.xml", WORKBOOK, 0},
                         {"xl/_rels/workbook.xml.rels", RELS, 0},
                         {"xl/sharedStrings.xml", STRINGS, 0},
                         {"xl/worksheets/sheet1.xml", "<worksheet><sheetData><row><c>", 0},
                         {"xl/worksheets/sheet2.xml", SHEET2, 0}};
    plan_inv_free(read_xlsx(bad, 5, NULL, -1, &e));
    assert_int_equal(e.kind, ERR_INVALID);
    assert_non_null(strstr(e.detail, "not well-formed"));

    /* a DOCTYPE (entity expansion) is refused */
    bad[3].data = "<!DOCTYPE x [<!ENTITY a \"aaaa\">]><worksheet><sheetData/></worksheet>";
    plan_inv_free(read_xlsx(bad, 5, NULL, -1, &e));
    assert_non_null(strstr(e.detail, "DOCTYPE"));

    /* a shared string index out of range */
    bad[3].data =
        "<worksheet><sheetData><row><c t=\"s\"><v>99</v></c></row></sheetData></worksheet>";
    plan_inv_free(read_xlsx(bad, 5, NULL, -1, &e));
    assert_non_null(strstr(e.detail, "shared string"));

    /* no workbook at all */
    struct part none[] = {{"hello.txt", "hi", 0}};
    plan_inv_free(read_xlsx(none, 1, NULL, -1, &e));
    assert_int_equal(e.kind, ERR_INVALID);
}

static void
test_xlsx_limits(void **state)
{
    (void)state;
    /* a "bomb": 4 MiB of blanks compress to almost nothing; the cap is 1 MiB */
    size_t big = 4 << 20;
    char *blank = malloc(big + 64);
    memset(blank, ' ', big + 64);
    memcpy(blank, "<worksheet><sheetData>", 22);
    memcpy(blank + big + 64 - 24, "</sheetData></worksheet>", 24);
    struct part parts[] = {{"xl/workbook.xml", WORKBOOK, 0},
                           {"xl/_rels/workbook.xml.rels", RELS, 0},
                           {"xl/sharedStrings.xml", STRINGS, 0},
                           {"xl/worksheets/sheet1.xml", blank, big + 64},
                           {"xl/worksheets/sheet2.xml", SHEET2, 0}};
    struct plan_limits lim = {.max_entry = 1 << 20, .max_uncompressed = 2 << 20};
    err e = {0};
    plan_inv_free(read_xlsx(parts, 5, &lim, -1, &e));
    assert_int_equal(e.kind, ERR_TOO_LARGE);
    /* the same file within generous limits reads */
    lim.max_entry = 8 << 20;
    lim.max_uncompressed = 16 << 20;
    plan_inv_free(read_xlsx(parts, 5, &lim, 0, &e));
    free(blank);

    /* too many cells */
    parts[3].data = SHEET1;
    parts[3].len = 0;
    lim = (struct plan_limits){.max_cells = 5};
    plan_inv_free(read_xlsx(parts, 5, &lim, -1, &e));
    assert_int_equal(e.kind, ERR_TOO_LARGE);
    assert_non_null(strstr(e.detail, "cells"));
}

static void
test_xlsx_fixture(void **state)
{
    (void)state;
    size_t len;
    char *buf = fx_read_fixture("rvtools/example1.xlsx", &len);
    assert_non_null(buf);
    plan_inventory *inv = plan_inv_new();
    err e = {0};
    if (plan_rvtools_read_xlsx(inv, buf, len, NULL, &e) != 0)
        fail_msg("example1.xlsx: %s", e.detail);
    free(buf);
    assert_int_equal(inv->nvms, 9);
    assert_int_equal(inv->nhosts, 7);
    size_t warned = 0, mismatches = 0;
    for (size_t i = 0; i < inv->nvms; i++) {
        const struct plan_vm *vm = inv->vms[i];
        warned += vm->nwarnings > 0;
        for (size_t w = 0; w < vm->nwarnings; w++)
            mismatches += strcmp(vm->warnings[w].code, "sheet-mismatch") == 0;
        assert_true(vm->vcpus > 0); /* every VM gets a figure from some sheet */
        assert_true(vm->memory_mib > 0);
    }
    assert_int_equal(warned, 9); /* the sheets disagree about every VM */
    assert_true(mismatches >= 9);
    /* vm-1: vInfo 1 vCPU / 2224 MiB, vCPU 2, vMemory 2048 → the larger of each */
    const struct plan_vm *vm1 = inv->vms[0];
    assert_string_equal(vm1->name, "vm-1");
    assert_int_equal(vm1->vcpus, 2);
    assert_int_equal(vm1->memory_mib, 2224);
    assert_int_equal(vm1->firmware, PLAN_FW_UEFI);
    /* vm-4 has a partition with 15 MiB free; vm-8 asks for an EVC mode no host has */
    assert_int_equal(inv->vms[3]->partitions[0].free_mib, 15);
    assert_true(vm_warned(inv->vms[7], "evc-above-host"));
    /* vm-9: vInfo has no CPUs or memory, vCPU / vMemory do */
    assert_true(vm_warned(inv->vms[8], "missing-value"));
    assert_int_equal(inv->vms[8]->vcpus, 18);
    assert_int_equal(inv->hosts[0].cores, 32);
    assert_int_equal(inv->hosts[0].threads, 64);
    assert_string_equal(inv->hosts[0].evc_max, "intel-cascadelake");
    plan_inv_free(inv);
}

/* ---------------------------------------------------------------- csv */

static void
test_csv(void **state)
{
    (void)state;
    static const char vinfo[] =
        "\xEF\xBB\xBFVM,Powerstate,CPUs,Memory,\"Total disk capacity MiB\",OS according to the "
        "configuration file,Cluster rule(s),Cluster rule name(s)\r\n"
        "\"app, \"\"blue\"\"\",poweredOn,4,8192,20480,Microsoft Windows Server 2019 (64-bit),"
        "ClusterAntiAffinityRuleSpec,keep-apart\r\n"
        "\"multi\nline\",poweredOff,2,4096,,Ubuntu Linux (64-bit),normal,x\r\n"
        ",,,,,,,\r\n";
    static const char vmem[] = "VM;Size MB;Hot Add\n\"app, \"\"blue\"\"\";16384;True\n";
    static const char vnet[] = "VM,NIC label,Adapter,Network,Mac Address,Direct Path IO\n"
                               "\"app, \"\"blue\"\"\",Network adapter 1,Vmxnet3,VLAN 10,"
                               "00:50:56:AA:BB:CC,False\n";
    struct plan_csv_sheet sheets[] = {{"vMemory", vmem, sizeof(vmem) - 1},
                                      {"vNetwork", vnet, sizeof(vnet) - 1},
                                      {"vInfo", vinfo, sizeof(vinfo) - 1}};
    plan_inventory *inv = plan_inv_new();
    err e = {0};
    if (plan_rvtools_read_csv(inv, sheets, 3, NULL, &e) != 0)
        fail_msg("csv: %s", e.detail);
    assert_int_equal(inv->nvms, 2);
    const struct plan_vm *app = inv->vms[0], *ml = inv->vms[1];
    assert_string_equal(app->name, "app, \"blue\"");
    assert_int_equal(app->memory_mib, 16384); /* vMemory (semicolons, "MB") beats vInfo */
    assert_true(vm_warned(app, "sheet-mismatch"));
    assert_int_equal(app->mem_hot_add, PLAN_YES);
    assert_int_equal(app->nnics, 1);
    assert_string_equal(app->nics[0].model, "vmxnet3");
    assert_string_equal(app->nics[0].mac, "00:50:56:aa:bb:cc");
    assert_int_equal(app->nanti_affinity, 1);
    assert_string_equal(app->anti_affinity[0], "keep-apart");
    assert_string_equal(ml->name, "multi\nline");
    assert_int_equal(ml->nnics, 0); /* no vNetwork rows, no NICs column in vInfo */
    assert_int_equal(ml->naffinity + ml->nanti_affinity, 0); /* kind "normal": not a rule */
    assert_true(vm_warned(ml, "rule-unknown"));
    assert_int_equal(ml->vcpus, 2);
    assert_string_equal(plan_rvtools_sheet_from_filename("/x/RVTools_tabvInfo.csv"), "vInfo");
    assert_string_equal(plan_rvtools_sheet_from_filename("vPartition.csv"), "vPartition");
    assert_null(plan_rvtools_sheet_from_filename("vInfoX.csv"));
    plan_inv_free(inv);

    static const char broken[] = "VM,CPUs\n\"unterminated,2\n";
    struct plan_csv_sheet b = {"vInfo", broken, sizeof(broken) - 1};
    inv = plan_inv_new();
    assert_int_equal(plan_rvtools_read_csv(inv, &b, 1, NULL, &e), -1);
    assert_int_equal(e.kind, ERR_INVALID);
    assert_non_null(strstr(e.detail, "unterminated"));
    plan_inv_free(inv);
}

/* ---------------------------------------------------------------- ovf */

static void
test_ovf_fixtures(void **state)
{
    (void)state;
    size_t len;
    char *buf = fx_read_fixture("ovf/test-i-ova-two-disks.ovf", &len);
    assert_non_null(buf);
    plan_inventory *inv = plan_inv_new();
    err e = {0};
    assert_int_equal(plan_ovf_read(inv, buf, len, "two.ovf", &e), 0);
    free(buf);
    const struct plan_vm *vm = inv->vms[0];
    assert_string_equal(vm->name, "2K8R2EESP1_2_Medium");
    assert_string_equal(vm->guest_id, "windows7Server64Guest");
    assert_int_equal(vm->hw_version, 10);
    assert_int_equal(vm->vcpus, 1);
    assert_int_equal(vm->memory_mib, 1024);
    assert_int_equal(vm->firmware, PLAN_FW_BIOS);
    assert_int_equal(vm->cpu_hot_add, PLAN_NO);
    assert_int_equal(vm->ndisks, 2);
    assert_int_equal(vm->disks[0].capacity_mib, 50 * 1024);
    assert_int_equal(vm->disks[1].capacity_mib, 450 * 1024);
    assert_int_equal(vm->disks[1].used_mib, 262400); /* ⌈275146276864 / 2^20⌉ */
    assert_string_equal(vm->disks[0].file, "disk1.vmdk");
    assert_int_equal(vm->disks[1].bus, PLAN_BUS_SCSI);
    assert_string_equal(vm->disks[1].controller, "lsisas1068");
    assert_int_equal(vm->disks[1].unit, 1);
    assert_int_equal(vm->ncdroms, 1);
    assert_int_equal(vm->cdroms[0].bus, PLAN_BUS_IDE);
    assert_int_equal(vm->nnics, 1);
    assert_string_equal(vm->nics[0].model, "e1000");
    assert_string_equal(vm->nics[0].network, "PG-VLAN60");
    const struct plan_guest_os *os = plan_guest_os_lookup(vm->guest_id, NULL);
    assert_non_null(os);
    assert_string_equal(os->name, "Windows Server 2008 R2");

    buf = fx_read_fixture("ovf/test-i-ova.ovf", &len);
    assert_int_equal(plan_ovf_read(inv, buf, len, "one.ovf", &e), 0);
    free(buf);
    vm = inv->vms[1];
    assert_string_equal(vm->name, "TestOva");
    assert_int_equal(vm->memory_mib, 2048);
    assert_int_equal(vm->hw_version, 8);
    assert_int_equal(vm->ndisks, 1);
    assert_int_equal(vm->disks[0].capacity_mib, 32 * 1024);
    assert_int_equal(vm->disks[0].used_mib, 963);
    plan_inv_free(inv);
}

static void
test_ovf_hostile(void **state)
{
    (void)state;
    plan_inventory *inv = plan_inv_new();
    err e = {0};
    const char *doctype = "<?xml version=\"1.0\"?><!DOCTYPE Envelope [<!ENTITY x \"y\">]>"
                          "<Envelope><VirtualSystem/></Envelope>";
    assert_int_equal(plan_ovf_read(inv, doctype, strlen(doctype), "x", &e), -1);
    assert_non_null(strstr(e.detail, "DOCTYPE"));
    const char *notovf = "<html><body/></html>";
    assert_int_equal(plan_ovf_read(inv, notovf, strlen(notovf), "x", &e), -1);
    assert_non_null(strstr(e.detail, "Envelope"));
    const char *broken = "<Envelope><VirtualSystem>";
    assert_int_equal(plan_ovf_read(inv, broken, strlen(broken), "x", &e), -1);
    const char *empty = "<Envelope/>";
    assert_int_equal(plan_ovf_read(inv, empty, strlen(empty), "x", &e), -1);
    /* odd units and a dangling disk reference: read, with warnings */
    const char *odd =
        "<Envelope><DiskSection><Disk diskId=\"d1\" capacity=\"2\" "
        "capacityAllocationUnits=\"byte * 1024\"/></DiskSection><VirtualSystem id=\"vs\">"
        "<VirtualHardwareSection><Item><ResourceType>4</ResourceType><AllocationUnits>"
        "GigaBytes</AllocationUnits><VirtualQuantity>3</VirtualQuantity></Item>"
        "<Item><ResourceType>17</ResourceType><HostResource>ovf:/disk/nope</HostResource></Item>"
        "</VirtualHardwareSection></VirtualSystem></Envelope>";
    assert_int_equal(plan_ovf_read(inv, odd, strlen(odd), "x", &e), 0);
    const struct plan_vm *vm = inv->vms[0];
    assert_string_equal(vm->name, "vs");
    assert_int_equal(vm->memory_mib, 3072);
    assert_true(vm_warned(vm, "disk-unresolved"));
    assert_true(vm_warned(vm, "missing-value")); /* no CPU item */
    plan_inv_free(inv);
}

int
main(void)
{
    plan_global_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_xlsx_old_format),
        cmocka_unit_test(test_xlsx_hostile),
        cmocka_unit_test(test_xlsx_limits),
        cmocka_unit_test(test_xlsx_fixture),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_ovf_fixtures),
        cmocka_unit_test(test_ovf_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
