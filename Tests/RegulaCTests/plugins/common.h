/* Shared pieces of the bad-plugin fixtures: a tiny valid penalty (R = sum w^2 / 2). */
#ifndef REGULA_FIXTURE_COMMON_H
#define REGULA_FIXTURE_COMMON_H
#include <math.h>
#include <stdlib.h>

#include "regula_plugin.h"

static int64_t fx_count(const rg_array *x) {
    int64_t n = 1;
    for (int32_t k = 0; k < x->ndim; k++) n *= x->shape[k];
    return n;
}
static int32_t fx_create(void *u, const double *p, int32_t n, void **state) {
    (void)u; (void)p; (void)n;
    *state = malloc(1);
    return *state ? 0 : 1;
}
static void fx_destroy(void *state) { free(state); }
static int32_t fx_eval(void *state, const rg_array *x, const rg_array *t, double *value, rg_array *out) {
    (void)state; (void)t;
    const double *w = x->data;
    double *g = out ? out->data : NULL, s = 0;
    for (int64_t i = 0; i < fx_count(x); i++) { s += 0.5 * w[i] * w[i]; if (g) g[i] = w[i]; }
    if (value) *value = s;
    return 0;
}
/* A component table without parameters: kind, id, summary and the functions. */
#define FX_ENTRY(kind_, id_, summary_, create_, eval_, prox_, vjp_, message_) \
    {sizeof(rg_component_table), kind_, id_, summary_, NULL, NULL, NULL, 0, NULL, create_, fx_destroy, eval_, prox_, vjp_, message_}
#define FX_TABLE(id_) FX_ENTRY(RG_KIND_PENALTY, id_, "fixture", fx_create, fx_eval, NULL, NULL, NULL)
#endif
