/*
 * regula_plugin.h — how an outside author adds components to Regula.
 *
 * A plugin is a shared library that exports one function:
 *
 *     const rg_plugin_descriptor *regula_plugin_entry(void);
 *
 * It returns a descriptor with static storage duration: the plugin's name and version and an
 * array of component tables. Regula checks the ABI version and the struct sizes, rejects missing
 * functions and ids that are already registered (nothing of the plugin is registered then), and
 * wraps each component once, so that from then on it is indistinguishable from a built-in: the
 * C ABI, the Python binding, the CLI (`regula check plugin.so`) and the training engine see it.
 *
 * Calling convention of the component functions
 *   - Arrays handed to a plugin are float64 and C-contiguous (Regula converts float32 and strided
 *     inputs, and converts results back). Output arrays are preallocated by Regula.
 *   - Parameters arrive as doubles in the order of the component's parameter schema, already
 *     validated against [min, max]. `strength` (penalties) and `reduction` (losses) are handled by
 *     Regula and never reach the plugin.
 *   - Penalties compute the *unscaled* R(W) and its gradient; prox receives t = step * strength.
 *   - A function returns 0 on success and non-zero on failure; Regula then reports
 *     RG_ERR_CALLBACK with the component id and, when set, the text of `error_message`.
 *   - Functions may be called from several threads, each with its own state object.
 *
 * See examples/plugins/scad/ for a complete plugin.
 */
#ifndef REGULA_PLUGIN_H
#define REGULA_PLUGIN_H

#include "regula.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The plugin ABI version this header describes. */
#define RG_PLUGIN_ABI_VERSION 1

/* component kinds (explicit and append-only) */
#define RG_KIND_PENALTY 0
#define RG_KIND_LOSS    1
#define RG_KIND_MAP     2

/* parameter types (explicit and append-only) */
#define RG_PARAM_REAL 0
#define RG_PARAM_INT  1
#define RG_PARAM_BOOL 2

/** One parameter of a component: its name, type, default and inclusive range. */
typedef struct rg_param_spec {
    const char *name;
    int32_t type;          /* RG_PARAM_* */
    double default_value;
    double min_value;      /* inclusive; use -HUGE_VAL for none */
    double max_value;      /* inclusive; use HUGE_VAL for none */
    const char *doc;       /* one line, may be NULL */
} rg_param_spec;

/** One component of a plugin. */
typedef struct rg_component_table {
    uint32_t struct_size;          /* sizeof(rg_component_table) */
    int32_t kind;                  /* RG_KIND_* */
    const char *id;                /* lowercase snake_case, unique across Regula */
    const char *summary;           /* one line */
    const char *reference;         /* paper title, may be NULL */
    const char *formula;           /* may be NULL */
    const rg_param_spec *params;   /* n_params entries, may be NULL when n_params == 0 */
    int32_t n_params;
    void *user_data;               /* passed back to create */

    /** Required. Makes a state object from the validated parameters (schema order). */
    int32_t (*create)(void *user_data, const double *params, int32_t n_params, void **state);
    /** Required. Frees a state object made by create. */
    void (*destroy)(void *state);
    /**
     * Required. Penalty: *value = R(x), out = grad R(x) (target is NULL).
     * Map: out = map(x) along the last axis (value and target are NULL).
     * Loss: x = logits (B, C), target = labels (B,) as float64 class indices or (B, C) targets;
     *       *value = sum of per-sample losses, out = gradient of that sum.
     */
    int32_t (*eval)(void *state, const rg_array *x, const rg_array *target, double *value,
                    rg_array *out);
    /** Optional (NULL if none). Penalty prox: out = prox_{t R}(v). */
    int32_t (*prox)(void *state, const rg_array *v, double t, rg_array *out);
    /** Optional (NULL if none). Map VJP: out = J(x)^T cotangent. */
    int32_t (*vjp)(void *state, const rg_array *x, const rg_array *cotangent, rg_array *out);
    /** Optional (NULL if none). Text for the last failure of a function on this state. */
    const char *(*error_message)(void *state);
} rg_component_table;

/** What regula_plugin_entry returns. */
typedef struct rg_plugin_descriptor {
    uint32_t struct_size;                  /* sizeof(rg_plugin_descriptor) */
    int32_t abi_version;                   /* RG_PLUGIN_ABI_VERSION */
    const char *name;
    const char *version;
    const rg_component_table *components;  /* n_components entries */
    int32_t n_components;
} rg_plugin_descriptor;

/** The symbol a plugin exports. */
typedef const rg_plugin_descriptor *(*rg_plugin_entry_fn)(void);

/**
 * Registers the components of an in-memory descriptor (for components written in a host
 * language, e.g. Python callbacks). The descriptor and every pointer in it must stay valid for
 * the life of the process. Same checks and errors as rg_plugin_load.
 */
RG_API rg_status rg_plugin_register(const rg_plugin_descriptor *descriptor);

#ifdef __cplusplus
}
#endif

#endif /* REGULA_PLUGIN_H */
