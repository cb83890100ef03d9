/* demo_json.c - reading an analysis' JSON and checking its files, for the demo tests. */
#include "demo_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

cJSON *demo_load_json(const char *dir, const char *name) {
    char p[1200];
    snprintf(p, sizeof p, "%s/%s.json", dir, name);
    FILE *f = fopen(p, "rb");
    if (!f) return NULL;
    if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return NULL; }
    long n = ftell(f);
    rewind(f);
    char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
    size_t got = buf ? fread(buf, 1, (size_t)n, f) : 0;
    fclose(f);
    if (!buf) return NULL;
    buf[got] = '\0';
    cJSON *j = cJSON_Parse(buf);
    free(buf);
    return j;
}

double demo_num(const cJSON *o, const char *k) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(it) ? it->valuedouble : NAN;
}

int demo_file_exists(const char *dir, const char *name, const char *ext) {
    char p[1200];
    struct stat sb;
    snprintf(p, sizeof p, "%s/%s%s", dir, name, ext);
    return stat(p, &sb) == 0 && sb.st_size > 1000;
}
