/* demo_json.h - what the demo tests share: reading an analysis' JSON and checking its files
 * (tests/demo_json.c is linked into every test program). */
#ifndef MLM_DEMO_JSON_H
#define MLM_DEMO_JSON_H
#include <cjson/cJSON.h>

/* dir/name.json parsed (caller deletes), or NULL when missing or malformed. */
cJSON *demo_load_json(const char *dir, const char *name);
/* o[k] as a number, NaN when absent or not a number. */
double demo_num(const cJSON *o, const char *k);
/* 1 when dir/name+ext exists and holds more than 1000 bytes. */
int demo_file_exists(const char *dir, const char *name, const char *ext);

#endif
