/*
 * libFuzzer target: the parameter-string parser. The input (as text) is given as the parameter
 * string of a penalty, a loss, a map, an optimizer (its settings and its transform list) and as
 * the state string of rg_*_update. Every call must return a status; a success must give a
 * handle that evaluates. Crashes, hangs and sanitizer reports are findings.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "regula.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = 0;
    double w[6] = {1, -2, 0.5, 0, 3, -1}, g[6], v;
    int64_t shape[2] = {2, 3};
    rg_array W = {w, RG_FLOAT64, 2, shape, NULL}, G = {g, RG_FLOAT64, 2, shape, NULL};

    static const char *penalties[] = {"l1", "elastic_net", "group_lasso", "lq", "sef", "hyperspherical_energy"};
    rg_penalty *p = NULL;
    if (rg_penalty_new(penalties[size % 6], s, &p) == RG_OK) {
        if (rg_penalty_eval(p, &W, NULL, 0, &v, &G) != RG_OK && rg_last_error()[0] == 0) abort();
        rg_penalty_update(p, s);
        if (rg_penalty_free(p) != RG_OK) abort();
    } else if (p != NULL || rg_last_error()[0] == 0) {
        abort();   /* a failure leaves the handle NULL and names the problem */
    }
    rg_loss *l = NULL;
    if (rg_loss_new("softmax_cross_entropy", s, &l) == RG_OK) { rg_loss_update(l, s); rg_loss_free(l); }
    rg_map *m = NULL;
    if (rg_map_new("gumbel_softmax", s, &m) == RG_OK) {
        rg_map_update(m, s);
        rg_map_forward(m, &W, NULL, 0, &G);
        rg_map_free(m);
    }
    rg_optimizer *o = NULL;
    if (rg_optimizer_new("adam", s, NULL, &o) == RG_OK) rg_optimizer_free(o);
    o = NULL;
    if (rg_optimizer_new("sgd", "lr=0.1", s, &o) == RG_OK) rg_optimizer_free(o);
    free(s);
    return 0;
}
