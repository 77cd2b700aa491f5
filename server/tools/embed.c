/* vp_embed OUT.c SYMBOL FILE NAME [FILE NAME...]
 *
 * Writes a C file defining `const struct embedded_file SYMBOL[]`, NULL-terminated,
 * with each FILE's bytes under NAME. A build-time tool: it runs on trusted input. */
#include <stdio.h>
#include <stdlib.h>

static int
emit_file(FILE *out, const char *path, int idx)
{
    FILE *in = fopen(path, "rb");
    if (!in) {
        perror(path);
        return -1;
    }
    fprintf(out, "static const unsigned char f%d[] = {", idx);
    int c;
    unsigned long n = 0;
    while ((c = fgetc(in)) != EOF)
        fprintf(out, "%s%u,", (n++ % 20) ? "" : "\n", (unsigned)c);
    fprintf(out, "0};\n"); /* trailing NUL: text files can be used as C strings */
    fclose(in);
    return (int)(n > 0x7fffffff ? -1 : (long)n);
}

int
main(int argc, char **argv)
{
    if (argc < 3 || (argc - 3) % 2) {
        fprintf(stderr, "usage: vp_embed OUT.c SYMBOL [FILE NAME]...\n");
        return 2;
    }
    FILE *out = fopen(argv[1], "w");
    if (!out) {
        perror(argv[1]);
        return 1;
    }
    fprintf(out, "#include \"embedded.h\"\n");
    int nfiles = (argc - 3) / 2;
    long *lens = calloc((size_t)nfiles + 1, sizeof(long));
    for (int i = 0; i < nfiles; i++) {
        lens[i] = emit_file(out, argv[3 + 2 * i], i);
        if (lens[i] < 0)
            return 1;
    }
    fprintf(out, "const struct embedded_file %s[] = {\n", argv[2]);
    for (int i = 0; i < nfiles; i++)
        fprintf(out, "    {\"%s\", f%d, %ld},\n", argv[4 + 2 * i], i, lens[i]);
    fprintf(out, "    {0, 0, 0}};\n");
    free(lens);
    return fclose(out) == 0 ? 0 : 1;
}
