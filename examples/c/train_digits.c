/*
 * Regula from C: an MLP on the bundled digits, built as a Regula graph. The program owns the data,
 * the batches and the evaluation; the graph holds the model (two linear layers with ReLU), the
 * loss (softmax_cross_entropy with label smoothing) and a penalty (l2 on the weight matrices), and
 * rg_graph_step runs the optimizer on it: Adam with a cosine schedule, SAM (which runs the graph
 * forward and backward twice per step) and l1's proximal step after each update (prox_step).
 *
 * Build: cc -std=c99 -Wall -Werror -I include examples/c/train_digits.c -L .build/release -lregula -lm
 * Run:   ./train_digits [data/digits.csv] [epochs] [min_accuracy]   (exit status 1 below it)
 */
#include <stdint.h>
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

enum { FEATURES = 64, HIDDEN = 64, CLASSES = 10, BATCH = 32, MAX_ROWS = 4096 };

static double X[MAX_ROWS][FEATURES], Y[MAX_ROWS];

static uint64_t rng_state = 42;
static double uniform(void) { /* xorshift64*, in [0, 1) */
    rng_state ^= rng_state >> 12; rng_state ^= rng_state << 25; rng_state ^= rng_state >> 27;
    return ((rng_state * 2685821657736338717ULL) >> 11) * (1.0 / 9007199254740992.0);
}
static void shuffle(int *a, int n) {
    for (int i = n - 1; i > 0; i--) { int j = (int)(uniform() * (i + 1)), t = a[i]; a[i] = a[j]; a[j] = t; }
}

static int load(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) { perror(path); exit(1); }
    int n = 0;
    while (n < MAX_ROWS) {
        int j = 0;
        for (; j < FEATURES && fscanf(f, "%lf,", &X[n][j]) == 1; j++) X[n][j] /= 16.0;
        if (j < FEATURES || fscanf(f, "%lf", &Y[n]) != 1) break;
        n++;
    }
    fclose(f);
    return n;
}

/* The model: x → linear → relu → linear → logits; objective CE(logits, y) + l2(W1) + l2(W2). */
typedef struct { rg_graph *g; rg_node x, y, w1, logits; } model;

static model build(void) {
    model m;
    int64_t w1s[2] = {HIDDEN, FEATURES}, b1s[1] = {HIDDEN}, w2s[2] = {CLASSES, HIDDEN}, b2s[1] = {CLASSES};
    rg_node b1, w2, b2, z1, h, loss, l2a, l2b;
    CHECK(rg_graph_new(42, &m.g));
    CHECK(rg_graph_input(m.g, FEATURES, 0, &m.x));
    CHECK(rg_graph_input(m.g, 1, 0, &m.y));  /* labels, fed as one class index per row */
    CHECK(rg_graph_parameter(m.g, "layer1.weight", w1s, 2, "kaiming_normal", &m.w1));
    CHECK(rg_graph_parameter(m.g, "layer1.bias", b1s, 1, "zeros", &b1));
    CHECK(rg_graph_parameter(m.g, "output.weight", w2s, 2, "xavier_normal", &w2));
    CHECK(rg_graph_parameter(m.g, "output.bias", b2s, 1, "zeros", &b2));
    CHECK(rg_graph_linear(m.g, m.x, m.w1, b1, &z1));
    CHECK(rg_graph_activation(m.g, z1, "relu", &h));
    CHECK(rg_graph_linear(m.g, h, w2, b2, &m.logits));
    rg_node ce_inputs[2] = {m.logits, m.y};
    CHECK(rg_graph_op(m.g, "softmax_cross_entropy:label_smoothing=0.1", ce_inputs, 2, NULL, &loss));
    CHECK(rg_graph_op(m.g, "l2:strength=1e-4", &m.w1, 1, NULL, &l2a));
    CHECK(rg_graph_op(m.g, "l2:strength=1e-4", &w2, 1, NULL, &l2b));
    CHECK(rg_graph_minimize(m.g, loss));
    CHECK(rg_graph_minimize(m.g, l2a));
    CHECK(rg_graph_minimize(m.g, l2b));
    return m;
}

/* Feeds the rows `rows[0..n)` (n <= BATCH; the last batch may be smaller). */
static void feed(const model *m, const int *rows, int n) {
    static double bx[BATCH][FEATURES], by[BATCH];
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < FEATURES; j++) bx[i][j] = X[rows[i]][j];
        by[i] = Y[rows[i]];
    }
    int64_t xs[2] = {n, FEATURES}, ys[1] = {n};
    rg_array ax = {bx, RG_FLOAT64, 2, xs, NULL}, ay = {by, RG_FLOAT64, 1, ys, NULL};
    CHECK(rg_graph_feed(m->g, m->x, &ax));
    CHECK(rg_graph_feed(m->g, m->y, &ay));
}

/* Eval-mode accuracy: forward without training, then the argmax of the logits node. */
static double accuracy(const model *m, const int *rows, int n) {
    static double z[BATCH][CLASSES];
    int correct = 0;
    for (int start = 0; start < n; start += BATCH) {
        int k = n - start < BATCH ? n - start : BATCH;
        int64_t zs[2] = {k, CLASSES};
        rg_array out = {z, RG_FLOAT64, 2, zs, NULL};
        feed(m, rows + start, k);
        CHECK(rg_graph_forward(m->g, 0, NULL));
        CHECK(rg_graph_value(m->g, m->logits, &out));
        for (int i = 0; i < k; i++) {
            int best = 0;
            for (int c = 1; c < CLASSES; c++) if (z[i][c] > z[i][best]) best = c;
            correct += best == (int)Y[rows[start + i]];
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
    shuffle(order, n);
    int n_test = n / 5, n_train = n - n_test;
    int *train = order + n_test, *test = order;

    model m = build();
    rg_optimizer *opt;
    char settings[128];
    int steps_per_epoch = (n_train + BATCH - 1) / BATCH;
    snprintf(settings, sizeof settings, "lr=0.003,schedule=cosine,total_steps=%d", epochs * steps_per_epoch);
    CHECK(rg_optimizer_new("adam", settings, "sam:rho=0.02;prox_step:penalty=l1,strength=1e-4", &opt));
    printf("digits: %d train / %d test, graph MLP %d-%d-%d; softmax_cross_entropy(label_smoothing=0.1) + l2(1e-4), "
           "Adam 3e-3 cosine with sam(rho=0.02) and prox_step(l1, 1e-4)\n", n_train, n_test, FEATURES, HIDDEN, CLASSES);

    double test_acc = 0;
    for (int epoch = 1; epoch <= epochs; epoch++) {
        shuffle(train, n_train);
        double total = 0, loss;
        for (int start = 0; start < n_train; start += BATCH) {
            int k = n_train - start < BATCH ? n_train - start : BATCH;
            feed(&m, train + start, k);
            CHECK(rg_graph_step(m.g, opt, &loss));
            total += loss * k;
        }
        test_acc = accuracy(&m, test, n_test);
        printf("epoch %3d  objective %.4f  train %.4f  test %.4f\n", epoch, total / n_train, accuracy(&m, train, n_train), test_acc);
    }
    static double w1[HIDDEN][FEATURES];
    int64_t w1s[2] = {HIDDEN, FEATURES};
    rg_array W1 = {w1, RG_FLOAT64, 2, w1s, NULL};
    CHECK(rg_graph_value(m.g, m.w1, &W1));
    int zeros = 0;
    for (int u = 0; u < HIDDEN; u++) for (int j = 0; j < FEATURES; j++) zeros += w1[u][j] == 0;
    printf("test accuracy %.4f; exact zeros in layer1.weight (l1 prox): %d/%d\n", test_acc, zeros, HIDDEN * FEATURES);
    CHECK(rg_optimizer_free(opt));
    CHECK(rg_graph_free(m.g));
    free(order);
    if (test_acc < min_accuracy) { fprintf(stderr, "test accuracy %.4f is below %.2f\n", test_acc, min_accuracy); return 1; }
    return 0;
}
