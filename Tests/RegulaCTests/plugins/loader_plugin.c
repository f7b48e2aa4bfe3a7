/*
 * A plugin that loads another plugin from inside its entry function (the path comes from
 * REGULA_TEST_INNER_PLUGIN) through the public rg_plugin_load: the loader must neither
 * deadlock nor corrupt the registry. It then offers its own component, loader_outer.
 */
#include <stdlib.h>

#include "common.h"

static const rg_component_table tables[] = {FX_TABLE("loader_outer")};
static const rg_plugin_descriptor descriptor = {sizeof(rg_plugin_descriptor), RG_PLUGIN_ABI_VERSION, "loader", "0", tables, 1};

const rg_plugin_descriptor *regula_plugin_entry(void) {
    const char *inner = getenv("REGULA_TEST_INNER_PLUGIN");
    if (inner) (void)rg_plugin_load(inner);
    return &descriptor;
}
