/* vp_openapi_merge OUT BASE FRAGMENT...
 *
 * Builds the OpenAPI document from api/openapi/: BASE (info, common components)
 * plus one fragment per resource ({"tags": […], "paths": {…}, "components":
 * {"schemas": {…}}}), so each resource documents itself next to its handlers.
 * An operation or schema defined twice is an error: fragments never overwrite
 * each other. A build-time tool on trusted input. */
#include <jansson.h>
#include <stdio.h>

static json_t *
child(json_t *parent, const char *key)
{
    json_t *c = json_object_get(parent, key);
    if (!c) {
        c = json_object();
        json_object_set_new(parent, key, c);
    }
    return c;
}

/* Copies every member of `from` into `into`; a member present in both fails. */
static int
add_unique(json_t *into, json_t *from, const char *what, const char *file)
{
    const char *key;
    json_t *v;
    json_object_foreach(from, key, v)
    {
        if (json_object_get(into, key)) {
            fprintf(stderr, "vp_openapi_merge: %s: %s '%s' is defined twice\n", file, what, key);
            return -1;
        }
        json_object_set(into, key, v);
    }
    return 0;
}

static int
merge_fragment(json_t *doc, json_t *f, const char *file)
{
    const char *path;
    json_t *item;
    json_object_foreach(json_object_get(f, "paths"), path, item)
    {
        if (add_unique(child(child(doc, "paths"), path), item, "operation", file) < 0)
            return -1;
    }
    json_t *comps = json_object_get(f, "components");
    const char *kind;
    json_t *members;
    json_object_foreach(comps, kind, members)
    {
        if (add_unique(child(child(doc, "components"), kind), members, kind, file) < 0)
            return -1;
    }
    json_t *tags = json_object_get(doc, "tags");
    if (json_is_array(tags) && json_is_array(json_object_get(f, "tags")))
        json_array_extend(tags, json_object_get(f, "tags"));
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: vp_openapi_merge OUT BASE [FRAGMENT...]\n");
        return 2;
    }
    json_error_t jerr;
    json_t *doc = json_load_file(argv[2], JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        fprintf(stderr, "%s:%d: %s\n", argv[2], jerr.line, jerr.text);
        return 1;
    }
    for (int i = 3; i < argc; i++) {
        json_t *f = json_load_file(argv[i], JSON_REJECT_DUPLICATES, &jerr);
        if (!f) {
            fprintf(stderr, "%s:%d: %s\n", argv[i], jerr.line, jerr.text);
            return 1;
        }
        if (merge_fragment(doc, f, argv[i]) < 0)
            return 1;
        json_decref(f);
    }
    if (json_dump_file(doc, argv[1], JSON_INDENT(1) | JSON_PRESERVE_ORDER) < 0)
        return 1;
    json_decref(doc);
    return 0;
}
