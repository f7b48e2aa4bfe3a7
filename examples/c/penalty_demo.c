/*
 * Regula from C: a penalty's value, gradient and prox, and a loss, through include/regula.h.
 * Build: cc -std=c99 -Wall -Werror -I include examples/c/penalty_demo.c -L .build/release -lregula
 */
#include <stdio.h>
#include <stdlib.h>

#include "regula.h"

#define CHECK(call)                                                              \
    do {                                                                         \
        rg_status s_ = (call);                                                   \
        if (s_ != RG_OK) {                                                       \
            fprintf(stderr, "%s failed (%d): %s\n", #call, s_, rg_last_error()); \
            exit(1);                                                             \
        }                                                                        \
    } while (0)

static void print_matrix(const char *name, const double *x, int rows, int cols) {
    printf("%s =", name);
    for (int i = 0; i < rows; i++) {
        printf(" [");
        for (int j = 0; j < cols; j++) printf("%s%.6f", j ? ", " : "", x[i * cols + j]);
        printf("]");
    }
    printf("\n");
}

int main(void) {
    printf("regula %s (ABI %d)\n", rg_version(), rg_abi_version());
    int64_t count = 0;
    CHECK(rg_component_count(&count));
    printf("%lld components registered\n", (long long)count);

    /* The catalogue's standard example W0 = [[1, -2], [0.5, 0]]. */
    double w[4] = {1.0, -2.0, 0.5, 0.0}, g[4], x[4], value = 0.0;
    int64_t shape[2] = {2, 2};
    rg_array W = {w, RG_FLOAT64, 2, shape, NULL};
    rg_array G = {g, RG_FLOAT64, 2, shape, NULL};
    rg_array X = {x, RG_FLOAT64, 2, shape, NULL};

    rg_penalty *gl = NULL;
    CHECK(rg_penalty_new("group_lasso", "strength=1", &gl));
    CHECK(rg_penalty_eval(gl, &W, NULL, 0, &value, &G));
    printf("group_lasso(W0) = %.6f\n", value);  /* sqrt(5) + 0.5 = 2.736068 */
    print_matrix("  gradient", g, 2, 2);
    CHECK(rg_penalty_prox(gl, &W, 1.0, NULL, 0, &X));
    print_matrix("  prox_1", x, 2, 2);
    CHECK(rg_penalty_free(gl));

    rg_penalty *l1 = NULL;
    CHECK(rg_penalty_new("l1", "strength=0.6", &l1));
    CHECK(rg_penalty_prox(l1, &W, 1.0, NULL, 0, &X));
    print_matrix("soft_threshold(W0, 0.6)", x, 2, 2);
    CHECK(rg_penalty_free(l1));

    /* Softmax cross-entropy with label smoothing on z = [[2, 1, -1]], y = [0]. */
    double z[3] = {2.0, 1.0, -1.0}, gz[3];
    int64_t zshape[2] = {1, 3}, yshape[1] = {1};
    int64_t y[1] = {0};
    rg_array Z = {z, RG_FLOAT64, 2, zshape, NULL}, GZ = {gz, RG_FLOAT64, 2, zshape, NULL};
    rg_array Y = {y, RG_INT64, 1, yshape, NULL};
    rg_loss *ce = NULL;
    CHECK(rg_loss_new("softmax_cross_entropy", "label_smoothing=0.1", &ce));
    CHECK(rg_loss_eval(ce, &Z, &Y, NULL, 0, &value, NULL, &GZ));
    printf("cross_entropy(eps=0.1) = %.6f\n", value);  /* 0.482346 */
    print_matrix("  gradient", gz, 1, 3);
    CHECK(rg_loss_free(ce));

    /* Errors are statuses with a message, never a crash. */
    rg_penalty *bad = NULL;
    rg_status s = rg_penalty_new("l1", "strength=-1", &bad);
    printf("bad parameter -> status %d: %s\n", s, rg_last_error());
    return 0;
}
