/*
 * A loadable plugin whose functions fail: create returns an error (err_create), eval and prox
 * return errors with a message (err_eval), a penalty returns a NaN value (nan_value), one an
 * infinite gradient and prox (inf_grad), a map returns NaN (nan_map), a loss fails (err_loss).
 * Each failure must reach the caller as RG_ERR_CALLBACK naming the component.
 */
#include "common.h"

static int32_t fail_create(void *u, const double *p, int32_t n, void **s) { (void)u; (void)p; (void)n; (void)s; return 7; }
static int32_t fail_eval(void *s, const rg_array *x, const rg_array *t, double *v, rg_array *o) {
    (void)s; (void)x; (void)t; (void)v; (void)o; return 3;
}
static int32_t fail_prox(void *s, const rg_array *v, double t, rg_array *o) { (void)s; (void)v; (void)t; (void)o; return 4; }
static const char *fail_message(void *s) { (void)s; return "deliberate failure"; }
static int32_t nan_eval(void *s, const rg_array *x, const rg_array *t, double *v, rg_array *o) {
    fx_eval(s, x, t, v, o);
    if (v) *v = NAN;
    if (o) ((double *)o->data)[0] = NAN;
    return 0;
}
static int32_t inf_eval(void *s, const rg_array *x, const rg_array *t, double *v, rg_array *o) {
    fx_eval(s, x, t, v, o);
    if (o) ((double *)o->data)[fx_count(x) - 1] = INFINITY;
    return 0;
}
static int32_t inf_prox(void *s, const rg_array *v, double t, rg_array *o) {
    (void)s; (void)t;
    double *out = o->data;
    for (int64_t i = 0; i < fx_count(v); i++) out[i] = i == 2 ? -INFINITY : 0;
    return 0;
}
static int32_t nan_vjp(void *s, const rg_array *x, const rg_array *c, rg_array *o) {
    (void)s; (void)c;
    double *out = o->data;
    for (int64_t i = 0; i < fx_count(x); i++) out[i] = NAN;
    return 0;
}

static const rg_component_table tables[] = {
    FX_ENTRY(RG_KIND_PENALTY, "err_create", "create fails", fail_create, fx_eval, NULL, NULL, NULL),
    FX_ENTRY(RG_KIND_PENALTY, "err_eval", "eval and prox fail", fx_create, fail_eval, fail_prox, NULL, fail_message),
    FX_ENTRY(RG_KIND_PENALTY, "nan_value", "NaN value", fx_create, nan_eval, NULL, NULL, NULL),
    FX_ENTRY(RG_KIND_PENALTY, "inf_grad", "infinite gradient and prox", fx_create, inf_eval, inf_prox, NULL, NULL),
    FX_ENTRY(RG_KIND_MAP, "nan_map", "NaN map and VJP", fx_create, nan_eval, NULL, nan_vjp, NULL),
    FX_ENTRY(RG_KIND_LOSS, "err_loss", "loss fails", fx_create, fail_eval, NULL, NULL, NULL),
};
static const rg_plugin_descriptor descriptor = {sizeof(rg_plugin_descriptor), RG_PLUGIN_ABI_VERSION, "err", "0", tables, 6};

const rg_plugin_descriptor *regula_plugin_entry(void) { return &descriptor; }
