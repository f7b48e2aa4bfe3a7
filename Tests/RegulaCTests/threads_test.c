/*
 * Concurrency: 8 threads create, evaluate and free components while the main thread loads a
 * plugin and registers in-memory descriptors. Results must stay exact and nothing may crash.
 * Run by `make test` (and under valgrind's helgrind-free memcheck, and AddressSanitizer).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "regula.h"
#include "regula_plugin.h"

#define THREADS 8
#define ROUNDS 400

static int errors[THREADS];

static void *worker(void *arg) {
    int t = (int)(long)arg;
    double w[64], g[64], value;
    int64_t shape[2] = {8, 8};
    for (int i = 0; i < 64; i++) w[i] = (i % 7) - 3.0 + t;
    rg_array W = {w, RG_FLOAT64, 2, shape, NULL}, G = {g, RG_FLOAT64, 2, shape, NULL};
    double expected = 0;
    for (int i = 0; i < 64; i++) expected += fabs(w[i]);
    for (int r = 0; r < ROUNDS; r++) {
        rg_penalty *p = NULL;
        const char *ids[3] = {"l1", "group_lasso", "norm_loss"};
        if (rg_penalty_new(ids[r % 3], "strength=1", &p) != RG_OK) { errors[t]++; continue; }
        if (rg_penalty_eval(p, &W, NULL, 0, &value, &G) != RG_OK) errors[t]++;
        if (r % 3 == 0 && fabs(value - expected) > 1e-9 * expected) errors[t]++;
        if (rg_penalty_eval(p, NULL, NULL, 0, &value, &G) != RG_ERR_NULL) errors[t]++;
        if (strlen(rg_last_error()) == 0) errors[t]++;  /* thread-local message is ours */
        if (rg_penalty_free(p) != RG_OK) errors[t]++;
        int64_t n = 0;
        if (rg_component_count(&n) != RG_OK || n < 8) errors[t]++;
        const char *json = NULL;
        if (rg_describe("l1", &json) != RG_OK || !strstr(json, "\"id\":\"l1\"")) errors[t]++;
    }
    return NULL;
}

static int32_t c_create(void *u, const double *p, int32_t n, void **s) { (void)u; (void)p; (void)n; *s = NULL; return 0; }
static void c_destroy(void *s) { (void)s; }
static int32_t c_eval(void *s, const rg_array *x, const rg_array *t, double *v, rg_array *o) {
    (void)s; (void)t;
    int64_t n = 1;
    for (int k = 0; k < x->ndim; k++) n *= x->shape[k];
    double total = 0;
    for (int64_t i = 0; i < n; i++) { double a = ((double *)x->data)[i]; total += a * a; ((double *)o->data)[i] = 2 * a; }
    *v = total;
    return 0;
}

int main(int argc, char **argv) {
    pthread_t threads[THREADS];
    for (long t = 0; t < THREADS; t++) pthread_create(&threads[t], NULL, worker, (void *)t);
    /* meanwhile: plugin loading and registration on this thread */
    if (argc > 1 && rg_plugin_load(argv[1]) != RG_OK) { fprintf(stderr, "load: %s\n", rg_last_error()); return 1; }
    static char ids[16][32];
    static rg_component_table tables[16];
    static rg_plugin_descriptor descs[16];
    int registered = 0;
    for (int i = 0; i < 16; i++) {
        snprintf(ids[i], sizeof ids[i], "thread_square_%d", i);
        rg_component_table t = {sizeof(rg_component_table), RG_KIND_PENALTY, ids[i], "x^2", NULL, NULL, NULL, 0,
                                NULL, c_create, c_destroy, c_eval, NULL, NULL, NULL};
        tables[i] = t;
        rg_plugin_descriptor d = {sizeof(rg_plugin_descriptor), RG_PLUGIN_ABI_VERSION, "threads", "1", &tables[i], 1};
        descs[i] = d;
        if (rg_plugin_register(&descs[i]) == RG_OK) registered++;
    }
    int failed = 0;
    for (int t = 0; t < THREADS; t++) { pthread_join(threads[t], NULL); failed += errors[t]; }
    if (registered != 16) failed++;
    if (rg_plugin_register(&descs[0]) != RG_ERR_PLUGIN) failed++;  /* duplicate id refused */
    printf("%d passed, %d failed\n", THREADS * ROUNDS - failed, failed);
    return failed ? 1 : 0;
}
