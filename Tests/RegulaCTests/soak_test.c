/*
 * Soak test: create / evaluate / free every registered component in a loop (up to 100k rounds
 * or SOAK_SECONDS, default 30) and require that the resident set does not grow: RSS after a
 * warm-up round versus at the end, from /proc/self/statm. Failing creations and evaluations
 * (components that need data or side inputs) are part of the loop: error paths must not leak.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "regula.h"

static long rss_kb(void) {
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return -1;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = -1;
    fclose(f);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

int main(void) {
    double seconds = getenv("SOAK_SECONDS") ? atof(getenv("SOAK_SECONDS")) : 30;
    long max_rounds = getenv("SOAK_ROUNDS") ? atol(getenv("SOAK_ROUNDS")) : 100000;
    int64_t n = 0;
    rg_component_count(&n);
    const char **ids = calloc((size_t)n, sizeof *ids);
    char *kinds = calloc((size_t)n, 1);
    for (int64_t i = 0; i < n; i++) {
        const char *json;
        rg_component_id(i, &ids[i]);
        rg_describe(ids[i], &json);
        kinds[i] = strstr(json, "\"kind\":\"penalty\"") ? 'p' : strstr(json, "\"kind\":\"loss\"") ? 'l'
                 : strstr(json, "\"kind\":\"map\"") ? 'm' : '?';
    }
    double x[30], g[30], out[30], v;
    for (int i = 0; i < 30; i++) x[i] = ((i * 7) % 11) / 4.0 - 1.2;
    int64_t s65[2] = {6, 5}, s6[1] = {6};
    int32_t y[6] = {0, 1, 2, 3, 4, 0};
    rg_array X = {x, RG_FLOAT64, 2, s65, NULL}, G = {g, RG_FLOAT64, 2, s65, NULL}, O = {out, RG_FLOAT64, 2, s65, NULL};
    rg_array Y = {y, RG_INT32, 1, s6, NULL};
    long base = 0, rounds = 0, evals = 0;
    double t0 = now(), warm_end = 0;
    for (; rounds < max_rounds; rounds++) {
        for (int64_t i = 0; i < n; i++) {
            if (kinds[i] == 'p') {
                rg_penalty *p = NULL;
                if (rg_penalty_new(ids[i], NULL, &p) == RG_OK) {
                    rg_penalty_eval(p, &X, NULL, 0, &v, &G);
                    rg_penalty_prox(p, &X, 0.1, NULL, 0, &O);
                    rg_penalty_free(p);
                }
            } else if (kinds[i] == 'l') {
                rg_loss *l = NULL;
                if (rg_loss_new(ids[i], NULL, &l) == RG_OK) {
                    rg_loss_eval(l, &X, &Y, NULL, 0, &v, NULL, &G);
                    rg_loss_free(l);
                }
            } else if (kinds[i] == 'm') {
                rg_map *m = NULL;
                if (rg_map_new(ids[i], NULL, &m) == RG_OK) {
                    rg_map_forward(m, &X, NULL, 0, &O);
                    rg_map_vjp(m, &X, &X, NULL, 0, &G);
                    rg_map_free(m);
                }
            }
            evals++;
        }
        rg_penalty *bad = NULL;
        rg_penalty_new("no_such_component", "strength=1", &bad);   /* the error path */
        if (rounds == 49) { base = rss_kb(); warm_end = now(); }   /* caches and arenas settle */
        if (rounds > 50 && now() - t0 > seconds) break;
    }
    long end = rss_kb();
    double rate = (rounds - 50) / (now() - warm_end);
    long growth = end - base;
    printf("soak_test: %ld rounds of %lld components (%ld create/eval/free cycles, %.0f rounds/s), "
           "RSS %ld kB after warm-up -> %ld kB (%+ld kB)\n",
           rounds, (long long)n, evals, rate, base, end, growth);
    /* A leak of one small allocation per component and round would be > 85 * rounds * 32 bytes. */
    long allowed = 2048;
    if (growth > allowed) { fprintf(stderr, "FAIL: RSS grew by %ld kB (allowed %ld kB)\n", growth, allowed); return 1; }
    return 0;
}
