/*
 * A plugin whose penalty segfaults in eval (a NULL write): `regula check` must report it from its
 * child process instead of dying. Never load it into a process you care about.
 */
#include "common.h"

static int32_t segv_eval(void *s, const rg_array *x, const rg_array *t, double *v, rg_array *o) {
    (void)s; (void)x; (void)t; (void)v; (void)o;
    volatile double *crash = NULL;
    *crash = 1.0;
    return 0;
}
static const rg_component_table tables[] = {
    FX_TABLE("segv_neighbour"),
    FX_ENTRY(RG_KIND_PENALTY, "segv_eval", "segfaults in eval", fx_create, segv_eval, NULL, NULL, NULL),
};
static const rg_plugin_descriptor descriptor = {sizeof(rg_plugin_descriptor), RG_PLUGIN_ABI_VERSION, "segv", "0", tables, 2};

const rg_plugin_descriptor *regula_plugin_entry(void) { return &descriptor; }
