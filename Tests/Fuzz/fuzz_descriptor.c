/*
 * libFuzzer target: the plugin descriptor validator (rg_plugin_register). The input decides
 * every field a plugin controls: struct sizes, ABI version, component count, kinds, ids, the
 * parameter schemas (names, types, defaults, ranges, count) and which functions are NULL.
 * Pointers stay valid (a plugin that hands out wild pointers is beyond any validator). The
 * loader must refuse bad descriptors with a message and register all or nothing.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "regula_plugin.h"

typedef struct { const uint8_t *p; size_t n; } cursor;
static uint8_t byte(cursor *c) { if (!c->n) return 0; c->n--; return *c->p++; }
static uint32_t u32(cursor *c) { uint32_t v = 0; for (int i = 0; i < 4; i++) v = v << 8 | byte(c); return v; }
static double real(cursor *c) {
    static const double special[] = {0, 1, -1, 0.5, 1e300, -1e300, 5e-324, NAN, INFINITY, -INFINITY, 2, 3.7};
    uint8_t k = byte(c);
    if (k < 12 * 16) return special[k % 12];
    uint64_t bits = (uint64_t)u32(c) << 32 | u32(c);
    double d; memcpy(&d, &bits, 8); return d;
}

static int32_t f_create(void *u, const double *p, int32_t n, void **s) { (void)u; (void)p; (void)n; *s = malloc(1); return 0; }
static void f_destroy(void *s) { free(s); }
static int32_t f_eval(void *s, const rg_array *x, const rg_array *t, double *v, rg_array *o) {
    (void)s; (void)t;
    int64_t n = 1;
    for (int32_t k = 0; k < x->ndim; k++) n *= x->shape[k];
    if (v) *v = 0;
    if (o) memset(o->data, 0, (size_t)n * sizeof(double));
    return 0;
}

/* Storage a registered descriptor keeps pointing at: never freed (the registry keeps it). */
#define MAXC 4
#define MAXP 4
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static unsigned serial = 0;
    cursor c = {data, size};
    rg_component_table *tables = calloc(MAXC, sizeof *tables);
    rg_param_spec *specs = calloc(MAXC * MAXP, sizeof *specs);
    char (*ids)[24] = calloc(MAXC, 24);
    char (*names)[12] = calloc(MAXC * MAXP, 12);
    rg_plugin_descriptor *d = calloc(1, sizeof *d);
    uint8_t flags = byte(&c);
    d->struct_size = flags & 1 ? u32(&c) : sizeof *d;
    d->abi_version = flags & 2 ? (int32_t)u32(&c) : RG_PLUGIN_ABI_VERSION;
    d->name = flags & 4 ? NULL : "fuzz";
    d->version = "0";
    d->components = flags & 8 ? NULL : tables;
    d->n_components = flags & 16 ? (int32_t)u32(&c) : (int32_t)(byte(&c) % (MAXC + 1));
    if (d->n_components > MAXC) d->n_components = MAXC;   /* more would be a lie about the array */
    serial++;
    for (int i = 0; i < MAXC; i++) {
        rg_component_table *t = &tables[i];
        uint8_t f = byte(&c);
        t->struct_size = f & 1 ? u32(&c) % 512 : sizeof *t;
        t->kind = f & 2 ? (int32_t)(byte(&c) % 5) - 1 : RG_KIND_PENALTY;
        /* ids: fresh and valid, a clash with a built-in, a clash within, or arbitrary bytes */
        switch (byte(&c) % 5) {
        case 0: snprintf(ids[i], 24, "fz%u_%d", serial, i); break;
        case 1: strcpy(ids[i], "l1"); break;
        case 2: snprintf(ids[i], 24, "fz%u_0", serial); break;
        case 3: for (int k = 0; k < 23; k++) ids[i][k] = (char)(byte(&c) | 1); ids[i][23] = 0; break;
        default: ids[i][0] = 0;
        }
        t->id = f & 4 ? NULL : ids[i];
        t->summary = f & 8 ? NULL : "fuzzed";
        t->n_params = f & 16 ? (int32_t)u32(&c) : (int32_t)(byte(&c) % (MAXP + 1));
        if (t->n_params > MAXP) t->n_params = MAXP;   /* negative counts stay: the loader must refuse them */
        t->params = byte(&c) & 1 ? NULL : &specs[i * MAXP];
        for (int k = 0; k < MAXP; k++) {
            rg_param_spec *s = &specs[i * MAXP + k];
            static const char *pool[] = {"lam", "a", "strength", "reduction", "", "x y", "lam", "Q"};
            uint8_t pk = byte(&c);
            if (pk & 8) { snprintf(names[i * MAXP + k], 12, "p%d", k); s->name = names[i * MAXP + k]; }
            else s->name = pk & 16 ? NULL : pool[pk % 8];
            s->type = (int32_t)(byte(&c) % 4);
            s->default_value = real(&c); s->min_value = real(&c); s->max_value = real(&c);
        }
        uint8_t fn = byte(&c);
        t->create = fn & 1 ? NULL : f_create;
        t->destroy = fn & 2 ? NULL : f_destroy;
        t->eval = fn & 4 ? NULL : f_eval;
    }
    int64_t before = 0, after = 0;
    rg_component_count(&before);
    rg_status s = rg_plugin_register(d);
    rg_component_count(&after);
    if (s != RG_OK && s != RG_ERR_PLUGIN && s != RG_ERR_NULL) abort();
    if (s != RG_OK && (after != before || rg_last_error()[0] == 0)) abort();   /* all or nothing, with a message */
    if (s == RG_OK) {
        /* registered components work like built-ins */
        for (int i = 0; i < d->n_components; i++) {
            const char *json;
            if (rg_describe(tables[i].id, &json) != RG_OK) abort();
        }
        return 0;   /* the registry keeps the storage */
    }
    free(tables); free(specs); free(ids); free(names); free(d);
    return 0;
}
