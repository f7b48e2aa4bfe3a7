/*
 * Regula from C: an MLP on the bundled digits in plain C arrays. The program owns the model
 * (forward and backward of two linear layers with ReLU), the batches and the evaluation; Regula
 * gives the loss (softmax_cross_entropy with label smoothing), a penalty (l2 on the weight
 * matrices, value and gradient), a proximal step (l1's prox after each update, through the
 * optimizer's prox_step transform) and the optimizer step (Adam, cosine schedule, SAM, which
 * evaluates the gradient twice through the callback).
 *
 * Build: cc -std=c99 -Wall -Werror -I include examples/c/train_digits.c -L .build/release -lregula -lm
 * Run:   ./train_digits [data/digits.csv] [epochs] [min_accuracy]   (exit status 1 below it)
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "regula.h"

#define CHECK(call)                                                              \
    do {                                                                         \
        rg_status s_ = (call);                                                   \
        if (s_ != RG_OK) {                                                       \
            fprintf(stderr, "%s failed (%d): %s\n", #call, s_, rg_last_error()); \
            exit(1);                                                             \
        }                                                                        \
    } while (0)

enum { FEATURES = 64, HIDDEN = 64, CLASSES = 10, BATCH = 32, MAX_ROWS = 4096 };

static double X[MAX_ROWS][FEATURES];
static int64_t Y[MAX_ROWS];

/* Parameters and their gradients: W1 (HIDDEN, FEATURES), b1, W2 (CLASSES, HIDDEN), b2. */
static double W1[HIDDEN * FEATURES], B1[HIDDEN], W2[CLASSES * HIDDEN], B2[CLASSES];
static double GW1[HIDDEN * FEATURES], GB1[HIDDEN], GW2[CLASSES * HIDDEN], GB2[CLASSES];

/* Activations of one batch. */
static double H[BATCH][HIDDEN], Z[BATCH][CLASSES], DZ[BATCH][CLASSES], DH[BATCH][HIDDEN];

static uint64_t rng_state = 42;
static double uniform(void) { /* xorshift64*, in (0, 1) */
    rng_state ^= rng_state >> 12; rng_state ^= rng_state << 25; rng_state ^= rng_state >> 27;
    return ((rng_state * 2685821657736338717ULL) >> 11) * (1.0 / 9007199254740992.0) + 1e-300;
}
static double normal(void) { return sqrt(-2 * log(uniform())) * cos(6.283185307179586 * uniform()); }

static int load(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) { perror(path); exit(1); }
    int n = 0;
    while (n < MAX_ROWS) {
        double v;
        int j = 0;
        for (; j < FEATURES; j++) {
            if (fscanf(f, "%lf,", &v) != 1) break;
            X[n][j] = v / 16.0;
        }
        if (j < FEATURES) break;
        long label;
        if (fscanf(f, "%ld", &label) != 1) break;
        Y[n++] = label;
    }
    fclose(f);
    return n;
}

static void forward(const int *rows, int n) {
    for (int i = 0; i < n; i++) {
        const double *x = X[rows[i]];
        for (int u = 0; u < HIDDEN; u++) {
            double s = B1[u];
            for (int j = 0; j < FEATURES; j++) s += W1[u * FEATURES + j] * x[j];
            H[i][u] = s > 0 ? s : 0;
        }
        for (int c = 0; c < CLASSES; c++) {
            double s = B2[c];
            for (int u = 0; u < HIDDEN; u++) s += W2[c * HIDDEN + u] * H[i][u];
            Z[i][c] = s;
        }
    }
}

/* Gradients of the parameters from DZ = ∂L/∂logits. */
static void backward(const int *rows, int n) {
    memset(GW1, 0, sizeof GW1); memset(GB1, 0, sizeof GB1);
    memset(GW2, 0, sizeof GW2); memset(GB2, 0, sizeof GB2);
    for (int i = 0; i < n; i++) {
        for (int c = 0; c < CLASSES; c++) {
            GB2[c] += DZ[i][c];
            for (int u = 0; u < HIDDEN; u++) GW2[c * HIDDEN + u] += DZ[i][c] * H[i][u];
        }
        for (int u = 0; u < HIDDEN; u++) {
            double s = 0;
            for (int c = 0; c < CLASSES; c++) s += DZ[i][c] * W2[c * HIDDEN + u];
            DH[i][u] = H[i][u] > 0 ? s : 0;
            GB1[u] += DH[i][u];
            for (int j = 0; j < FEATURES; j++) GW1[u * FEATURES + j] += DH[i][u] * X[rows[i]][j];
        }
    }
}

/* What the gradient callback needs: the batch, the loss and the penalty. */
typedef struct {
    const int *rows;
    int n;
    rg_loss *loss;
    rg_penalty *l2;
} batch_ctx;

static const int64_t w1_shape[2] = {HIDDEN, FEATURES}, w2_shape[2] = {CLASSES, HIDDEN};
static const int64_t b1_shape[1] = {HIDDEN}, b2_shape[1] = {CLASSES};

/* rg_grad_fn: loss and gradient at the current parameters (which SAM may have perturbed). */
static rg_status batch_gradient(void *ctx_, double *loss) {
    batch_ctx *ctx = ctx_;
    int64_t zshape[2] = {ctx->n, CLASSES}, yshape[1] = {ctx->n};
    int64_t labels[BATCH];
    for (int i = 0; i < ctx->n; i++) labels[i] = Y[ctx->rows[i]];
    forward(ctx->rows, ctx->n);
    rg_array z = {Z, RG_FLOAT64, 2, zshape, NULL}, dz = {DZ, RG_FLOAT64, 2, zshape, NULL};
    rg_array y = {labels, RG_INT64, 1, yshape, NULL};
    rg_status s = rg_loss_eval(ctx->loss, &z, &y, NULL, 0, loss, NULL, &dz);
    if (s != RG_OK) return s;
    backward(ctx->rows, ctx->n);
    /* l2 on both weight matrices: its value joins the loss, its gradient the weights' gradient. */
    static double pg[HIDDEN * FEATURES];
    double *ws[2] = {W1, W2}, *gs[2] = {GW1, GW2};
    const int64_t *shapes[2] = {w1_shape, w2_shape};
    for (int k = 0; k < 2; k++) {
        rg_array w = {ws[k], RG_FLOAT64, 2, shapes[k], NULL}, g = {pg, RG_FLOAT64, 2, shapes[k], NULL};
        double value;
        if ((s = rg_penalty_eval(ctx->l2, &w, NULL, 0, &value, &g)) != RG_OK) return s;
        *loss += value;
        for (int64_t i = 0; i < shapes[k][0] * shapes[k][1]; i++) gs[k][i] += pg[i];
    }
    return RG_OK;
}

static double accuracy(const int *rows, int n) {
    int correct = 0;
    for (int start = 0; start < n; start += BATCH) {
        int m = n - start < BATCH ? n - start : BATCH;
        forward(rows + start, m);
        for (int i = 0; i < m; i++) {
            int best = 0;
            for (int c = 1; c < CLASSES; c++) if (Z[i][c] > Z[i][best]) best = c;
            correct += best == Y[rows[start + i]];
        }
    }
    return (double)correct / n;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "data/digits.csv";
    int epochs = argc > 2 ? atoi(argv[2]) : 20;
    double min_accuracy = argc > 3 ? atof(argv[3]) : 0.9;
    int n = load(path);
    if (n < 100 || epochs < 1) { fprintf(stderr, "need >= 100 rows of %s and epochs >= 1\n", path); return 1; }

    /* A seeded shuffle, then 80% train / 20% test. */
    int *order = malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) order[i] = i;
    for (int i = n - 1; i > 0; i--) { int j = (int)(uniform() * (i + 1)) % (i + 1), t = order[i]; order[i] = order[j]; order[j] = t; }
    int n_test = n / 5, n_train = n - n_test;
    int *train = order + n_test, *test = order;

    for (int i = 0; i < HIDDEN * FEATURES; i++) W1[i] = normal() * sqrt(2.0 / FEATURES);
    for (int i = 0; i < CLASSES * HIDDEN; i++) W2[i] = normal() * sqrt(2.0 / HIDDEN);

    rg_loss *loss;
    rg_penalty *l2;
    rg_optimizer *opt;
    CHECK(rg_loss_new("softmax_cross_entropy", "label_smoothing=0.1", &loss));
    CHECK(rg_penalty_new("l2", "strength=1e-4", &l2));
    char settings[128];
    int steps_per_epoch = (n_train + BATCH - 1) / BATCH;
    snprintf(settings, sizeof settings, "lr=0.003,schedule=cosine,total_steps=%d", epochs * steps_per_epoch);
    CHECK(rg_optimizer_new("adam", settings, "sam:rho=0.02;prox_step:penalty=l1,strength=1e-4", &opt));
    printf("digits: %d train / %d test, MLP %d-%d-%d; softmax_cross_entropy(label_smoothing=0.1) + l2(1e-4), "
           "Adam 3e-3 cosine with sam(rho=0.02) and prox_step(l1, 1e-4)\n", n_train, n_test, FEATURES, HIDDEN, CLASSES);

    rg_array params[4] = {{W1, RG_FLOAT64, 2, w1_shape, NULL}, {B1, RG_FLOAT64, 1, b1_shape, NULL},
                          {W2, RG_FLOAT64, 2, w2_shape, NULL}, {B2, RG_FLOAT64, 1, b2_shape, NULL}};
    rg_array grads[4] = {{GW1, RG_FLOAT64, 2, w1_shape, NULL}, {GB1, RG_FLOAT64, 1, b1_shape, NULL},
                         {GW2, RG_FLOAT64, 2, w2_shape, NULL}, {GB2, RG_FLOAT64, 1, b2_shape, NULL}};
    double test_acc = 0;
    for (int epoch = 1; epoch <= epochs; epoch++) {
        for (int i = n_train - 1; i > 0; i--) { int j = (int)(uniform() * (i + 1)) % (i + 1), t = train[i]; train[i] = train[j]; train[j] = t; }
        double total = 0;
        for (int start = 0; start < n_train; start += BATCH) {
            batch_ctx ctx = {train + start, n_train - start < BATCH ? n_train - start : BATCH, loss, l2};
            double value;
            CHECK(rg_optimizer_step(opt, params, grads, 4, batch_gradient, &ctx, &value));
            total += value * ctx.n;
        }
        test_acc = accuracy(test, n_test);
        printf("epoch %3d  loss %.4f  train %.4f  test %.4f\n", epoch, total / n_train, accuracy(train, n_train), test_acc);
    }
    int zeros = 0;
    for (int i = 0; i < HIDDEN * FEATURES; i++) zeros += W1[i] == 0;
    printf("test accuracy %.4f; exact zeros in W1 (l1 prox): %d/%d\n", test_acc, zeros, HIDDEN * FEATURES);
    CHECK(rg_optimizer_free(opt));
    CHECK(rg_penalty_free(l2));
    CHECK(rg_loss_free(loss));
    free(order);
    if (test_acc < min_accuracy) { fprintf(stderr, "test accuracy %.4f is below %.2f\n", test_acc, min_accuracy); return 1; }
    return 0;
}
