/*
 * libFuzzer target: the training-level text specs. The input (as text) is given as a trainer
 * spec (rg_trainer_new: "widths=..;loss=..;penalty=..@pattern;transform=..;optimizer=.."),
 * and as the initializer, activation, noise and component specs of a small graph
 * (rg_graph_parameter/_activation/_noise/_op). Every call must return a status; a success must
 * give a handle that runs (a trainer steps and predicts, a graph runs forward/backward).
 * Crashes, hangs and sanitizer reports are findings.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "regula.h"

/* Models of up to 2^25 parameters are valid but slow to build: keep widths small so the
 * fuzzer spends its time on parsing and validation (a throughput limit, not a safety one). */
static int has_long_number(const char *s) {
    int run = 0;
    for (; *s; s++) {
        run = isdigit((unsigned char)*s) ? run + 1 : 0;
        if (run > 3) return 1;
    }
    return 0;
}

static void must_fail_cleanly(rg_status st) {
    if (st != RG_OK && rg_last_error()[0] == 0) abort();  /* every failure names its problem */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = 0;
    double x[8] = {0.5, -1, 2, 0, 1, 1, -0.5, 0.25}, probs[6];
    int64_t labels[2] = {0, 2};
    int64_t xs[2] = {2, 4}, ls[1] = {2}, ps[2] = {2, 3};
    rg_array X = {x, RG_FLOAT64, 2, xs, NULL}, L = {labels, RG_INT64, 1, ls, NULL}, P = {probs, RG_FLOAT64, 2, ps, NULL};

    if (!has_long_number(s)) {
        rg_trainer *t = NULL;
        rg_status st = rg_trainer_new(4, 3, s, &t);
        must_fail_cleanly(st);
        if (st == RG_OK) {
            double loss;
            must_fail_cleanly(rg_trainer_plan(t, 2, 1));
            must_fail_cleanly(rg_trainer_step(t, &X, &L, &loss));
            must_fail_cleanly(rg_trainer_predict(t, &X, &P));
            if (rg_trainer_free(t) != RG_OK) abort();
        } else if (t != NULL) {
            abort();
        }
    }

    rg_graph *g = NULL;
    if (rg_graph_new(1, &g) != RG_OK) abort();
    rg_node in, y, w, h, a, n, o;
    int64_t wshape[2] = {3, 4};
    if (rg_graph_input(g, 4, 0, &in) != RG_OK || rg_graph_input(g, 1, 0, &y) != RG_OK) abort();
    if (rg_graph_parameter(g, "w", wshape, 2, has_long_number(s) ? "zeros" : s, &w) != RG_OK)
        rg_graph_parameter(g, "w", wshape, 2, "normal:std=0.5", &w);
    if (rg_graph_linear(g, in, w, -1, &h) != RG_OK) abort();
    must_fail_cleanly(rg_graph_activation(g, h, s, &a));
    must_fail_cleanly(rg_graph_noise(g, h, s, &n));
    rg_node inputs[2] = {h, y};
    for (int64_t k = 1; k <= 2; k++) {
        rg_status st = rg_graph_op(g, s, inputs, k, NULL, &o);
        must_fail_cleanly(st);
        if (st == RG_OK) rg_graph_minimize(g, o);
    }
    double yv[2] = {0, 2};
    int64_t ys[1] = {2};
    rg_array Y = {yv, RG_FLOAT64, 1, ys, NULL};
    if (rg_graph_feed(g, in, &X) != RG_OK || rg_graph_feed(g, y, &Y) != RG_OK) abort();
    double obj;
    if (rg_graph_forward(g, 1, &obj) == RG_OK) must_fail_cleanly(rg_graph_backward(g));
    if (rg_graph_free(g) != RG_OK) abort();
    free(s);
    return 0;
}
