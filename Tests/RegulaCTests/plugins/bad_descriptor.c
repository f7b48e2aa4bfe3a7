/*
 * Bad-plugin fixtures, one per -D flag (the Makefile builds each): a descriptor that the loader
 * must refuse with a clear message, registering nothing.
 *   BAD_NULL_DESCRIPTOR  the entry returns NULL          BAD_ABI          abi_version 999
 *   BAD_STRUCT_SIZE      descriptor struct_size 4        BAD_TABLE_SIZE   component struct_size 12
 *   BAD_NULL_FN          eval is NULL                    BAD_DUP_BUILTIN  id "l1" (a built-in)
 *   BAD_DUP_WITHIN       the same id twice               BAD_SCHEMA       default outside [min, max]
 *   BAD_ID               id "Bad-Id"
 * The first component of each is valid, so "all or nothing" is tested too.
 */
#include "common.h"

#if defined(BAD_SCHEMA)
static const rg_param_spec schema[1] = {{"lam", RG_PARAM_REAL, 5.0, 0.0, 1.0, "default above max"}};
#endif

static rg_component_table tables[2] = {
    FX_TABLE("fixture_valid_first"),
#if defined(BAD_DUP_BUILTIN)
    FX_TABLE("l1"),
#elif defined(BAD_DUP_WITHIN)
    FX_TABLE("fixture_valid_first"),
#elif defined(BAD_ID)
    FX_TABLE("Bad-Id"),
#else
    FX_TABLE("fixture_second"),
#endif
};

static rg_plugin_descriptor descriptor = {sizeof(rg_plugin_descriptor), RG_PLUGIN_ABI_VERSION, "bad", "0", tables, 2};

const rg_plugin_descriptor *regula_plugin_entry(void) {
#if defined(BAD_DUP_WITHIN)
    tables[0].id = "twice_here"; tables[1].id = "twice_here";
#endif
#if defined(BAD_ABI)
    descriptor.abi_version = 999;
#elif defined(BAD_STRUCT_SIZE)
    descriptor.struct_size = 4;
#elif defined(BAD_TABLE_SIZE)
    tables[1].struct_size = 12;
#elif defined(BAD_NULL_FN)
    tables[1].eval = NULL;
#elif defined(BAD_SCHEMA)
    tables[1].params = schema; tables[1].n_params = 1;
#elif defined(BAD_NULL_DESCRIPTOR)
    return NULL;
#endif
    return &descriptor;
}
