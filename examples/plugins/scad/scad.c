/*
 * SCAD penalty as a Regula plugin: how an outside author adds a component.
 *
 * Fan & Li, "Variable Selection via Nonconcave Penalized Likelihood and its Oracle Properties",
 * JASA 2001. Elementwise, with lam > 0 and a > 2:
 *
 *   p(w) = lam |w|                                  |w| <= lam
 *        = (2 a lam |w| - w^2 - lam^2) / (2(a-1))   lam < |w| <= a lam
 *        = lam^2 (a+1) / 2                          |w| > a lam
 *   p'(w) = sign(w) * { lam ; (a lam - |w|)/(a-1) ; 0 }       (sign(0) = 0)
 *
 * prox_{t p}(v) = argmin_x t p(x) + (x - v)^2 / 2, exact for every t >= 0: the minimiser is one of
 * the stationary points of the three pieces (clipped to their piece) or a breakpoint, so we
 * evaluate those few candidates and keep the best (this also covers t >= a-1, where the middle
 * piece is concave and the classic closed form does not apply).
 *
 * Build: cc -std=c99 -O2 -fPIC -shared -I../../../include scad.c -o libregula_scad.so
 */
#include <math.h>
#include <stdlib.h>

#include "regula_plugin.h"

typedef struct { double lam, a; } scad_state;

static double scad_value(const scad_state *s, double w) {
    double x = fabs(w), lam = s->lam, a = s->a;
    if (x <= lam) return lam * x;
    if (x <= a * lam) return (2.0 * a * lam * x - x * x - lam * lam) / (2.0 * (a - 1.0));
    return lam * lam * (a + 1.0) / 2.0;
}

static double scad_derivative(const scad_state *s, double w) {
    double x = fabs(w), lam = s->lam, a = s->a;
    double sign = w > 0 ? 1.0 : (w < 0 ? -1.0 : 0.0);
    if (x <= lam) return sign * lam;
    if (x <= a * lam) return sign * (a * lam - x) / (a - 1.0);
    return 0.0;
}

static double clamp(double x, double lo, double hi) { return x < lo ? lo : (x > hi ? hi : x); }

static double scad_prox(const scad_state *s, double v, double t) {
    double lam = s->lam, a = s->a, sg = v >= 0 ? 1.0 : -1.0, av = fabs(v);
    double cand[7];
    int n = 0;
    cand[n++] = 0.0;
    cand[n++] = sg * clamp(av - t * lam, 0.0, lam);                 /* piece 1: soft threshold */
    if (fabs(a - 1.0 - t) > 1e-12)                                 /* piece 2: stationary point */
        cand[n++] = sg * clamp(((a - 1.0) * av - t * a * lam) / (a - 1.0 - t), lam, a * lam);
    cand[n++] = sg * lam;                                           /* breakpoints */
    cand[n++] = sg * a * lam;
    cand[n++] = sg * (av > a * lam ? av : a * lam);                 /* piece 3: x = v */
    double best = 0.0, fbest = INFINITY;
    for (int i = 0; i < n; i++) {
        double x = cand[i], f = t * scad_value(s, x) + 0.5 * (x - v) * (x - v);
        if (f < fbest) { fbest = f; best = x; }
    }
    return best;
}

static int64_t count_of(const rg_array *x) {
    int64_t n = 1;
    for (int32_t k = 0; k < x->ndim; k++) n *= x->shape[k];
    return n;
}

static int32_t scad_create(void *user, const double *params, int32_t n, void **state) {
    (void)user;
    if (n != 2 || params[0] <= 0.0 || params[1] <= 2.0) return 1;  /* Regula validated ranges too */
    scad_state *s = malloc(sizeof *s);
    if (!s) return 2;
    s->lam = params[0];
    s->a = params[1];
    *state = s;
    return 0;
}

static void scad_destroy(void *state) { free(state); }

static int32_t scad_eval(void *state, const rg_array *x, const rg_array *target, double *value, rg_array *out) {
    (void)target;
    const scad_state *s = state;
    const double *w = x->data;
    double *g = out->data, total = 0.0;
    int64_t n = count_of(x);
    for (int64_t i = 0; i < n; i++) {
        total += scad_value(s, w[i]);
        g[i] = scad_derivative(s, w[i]);
    }
    *value = total;
    return 0;
}

static int32_t scad_prox_fn(void *state, const rg_array *v, double t, rg_array *out) {
    const scad_state *s = state;
    const double *x = v->data;
    double *o = out->data;
    int64_t n = count_of(v);
    for (int64_t i = 0; i < n; i++) o[i] = scad_prox(s, x[i], t);
    return 0;
}

static const rg_param_spec scad_params[] = {
    {"lam", RG_PARAM_REAL, 1.0, 1e-12, HUGE_VAL, "threshold lambda (> 0)"},
    {"a", RG_PARAM_REAL, 3.7, 2.000001, HUGE_VAL, "concavity a (> 2; 3.7 recommended by Fan & Li)"},
};

static const rg_component_table scad_components[] = {{
    .struct_size = sizeof(rg_component_table),
    .kind = RG_KIND_PENALTY,
    .id = "scad",
    .summary = "SCAD: smoothly clipped absolute deviation, a nonconvex nearly unbiased sparsity penalty",
    .reference = "Variable Selection via Nonconcave Penalized Likelihood and its Oracle Properties (Fan & Li 2001)",
    .formula = "p(w) = lam|w| | (2a lam|w| - w^2 - lam^2)/(2(a-1)) | lam^2(a+1)/2 by |w| <= lam, <= a lam, > a lam",
    .params = scad_params,
    .n_params = 2,
    .user_data = NULL,
    .create = scad_create,
    .destroy = scad_destroy,
    .eval = scad_eval,
    .prox = scad_prox_fn,
    .vjp = NULL,
    .error_message = NULL,
}};

static const rg_plugin_descriptor scad_descriptor = {
    .struct_size = sizeof(rg_plugin_descriptor),
    .abi_version = RG_PLUGIN_ABI_VERSION,
    .name = "scad",
    .version = "1.0.0",
    .components = scad_components,
    .n_components = 1,
};

const rg_plugin_descriptor *regula_plugin_entry(void) { return &scad_descriptor; }
