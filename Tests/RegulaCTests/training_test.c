/*
 * C ABI tests of the Training section (rg_optimizer_*): bad arguments come back as statuses, a
 * C gradient callback drives SAM, a failing callback leaves the parameters as they were, and a
 * wrapper that needs the objective's terms apart (surrogate_gradient_norm) is refused.
 */
#include <math.h>
#include <stdio.h>

#include "regula.h"

#include "expect.h"

/* L = ½ (w − c)ᵀ diag(1, 10) (w − c), c = (0.2, 0): the SAM example of transforms.md §3. */
typedef struct { double *w, *g; int calls, fail_at; } quad;

static rg_status quad_grad(void *ctx, double *loss) {
    quad *q = (quad *)ctx;
    q->calls++;
    if (q->calls == q->fail_at) return RG_ERR_CALLBACK;
    double d0 = q->w[0] - 0.2, d1 = q->w[1];
    q->g[0] = d0; q->g[1] = 10 * d1;
    *loss = 0.5 * (d0 * d0 + 10 * d1 * d1);
    return RG_OK;
}

int main(void) {
    double w[2] = {1, 1}, g[2] = {0, 0}, loss = -1;
    int64_t shape[1] = {2}, other[1] = {3};
    rg_array W = {w, RG_FLOAT64, 1, shape, NULL}, G = {g, RG_FLOAT64, 1, shape, NULL};
    rg_array G3 = {g, RG_FLOAT64, 1, other, NULL};
    rg_optimizer *o = NULL;

    EXPECT_STATUS(rg_optimizer_new(NULL, NULL, NULL, &o), RG_ERR_NULL);
    EXPECT_STATUS(rg_optimizer_new("sgd", NULL, NULL, NULL), RG_ERR_NULL);
    EXPECT_STATUS(rg_optimizer_new("lbfgs", NULL, NULL, &o), RG_ERR_PARAMETER);
    EXPECT(o == NULL, "out stays NULL on failure");
    EXPECT_STATUS(rg_optimizer_new("sgd", "lr=0", NULL, &o), RG_ERR_PARAMETER);
    EXPECT_STATUS(rg_optimizer_new("sgd", "alpha=1", NULL, &o), RG_ERR_UNKNOWN_PARAMETER);
    EXPECT_STATUS(rg_optimizer_new("sgd", NULL, "nope", &o), RG_ERR_UNKNOWN_ID);
    EXPECT_STATUS(rg_optimizer_new("sgd", NULL, "flooding", &o), RG_ERR_UNSUPPORTED);
    EXPECT_STATUS(rg_optimizer_step(NULL, &W, &G, 1, NULL, NULL, NULL), RG_ERR_NULL);
    EXPECT_STATUS(rg_optimizer_free(NULL), RG_OK);

    /* SAM through a C callback: w' = (0.9192, −0.09968) */
    EXPECT_STATUS(rg_optimizer_new("sgd", "lr=0.1,momentum=0", "sam:rho=0.1", &o), RG_OK);
    EXPECT_STATUS(rg_optimizer_step(o, &W, &G, 1, NULL, NULL, NULL), RG_ERR_INVALID_ARGUMENT);
    EXPECT_STATUS(rg_optimizer_step(o, NULL, &G, 1, NULL, NULL, NULL), RG_ERR_NULL);
    EXPECT_STATUS(rg_optimizer_step(o, &W, &G, -1, NULL, NULL, NULL), RG_ERR_INVALID_ARGUMENT);
    quad q = {w, g, 0, 0};
    EXPECT_STATUS(rg_optimizer_step(o, &W, &G3, 1, quad_grad, &q, &loss), RG_ERR_SHAPE);
    EXPECT_STATUS(rg_optimizer_step(o, &W, &G, 1, quad_grad, &q, &loss), RG_OK);
    EXPECT(q.calls == 2, "two gradient evaluations (%d)", q.calls);
    EXPECT(fabs(w[0] - 0.91920) < 1e-4 && fabs(w[1] + 0.09968) < 1e-4, "SAM step (%g, %g)", w[0], w[1]);
    EXPECT(fabs(loss - 0.32 - 5) < 1e-12, "loss at the unperturbed point (%g)", loss);

    /* a failing callback: the step fails and the parameters stay */
    double before0 = w[0], before1 = w[1];
    q.calls = 0; q.fail_at = 2;
    EXPECT_STATUS(rg_optimizer_step(o, &W, &G, 1, quad_grad, &q, &loss), RG_ERR_CALLBACK);
    EXPECT(w[0] == before0 && w[1] == before1, "parameters restored");
    EXPECT_STATUS(rg_optimizer_free(o), RG_OK);
    EXPECT_STATUS(rg_optimizer_free(o), RG_ERR_INVALID_HANDLE);

    /* IGNITE needs the task loss and the surrogate mean apart: one callback is refused, nothing moves */
    EXPECT_STATUS(rg_optimizer_new("sgd", "lr=0.1", "surrogate_gradient_norm", &o), RG_OK);
    before0 = w[0]; before1 = w[1]; q.calls = 0; q.fail_at = 0;
    EXPECT_STATUS(rg_optimizer_step(o, &W, &G, 1, quad_grad, &q, &loss), RG_ERR_UNSUPPORTED);
    EXPECT(q.calls == 0 && w[0] == before0 && w[1] == before1, "refused before any evaluation");
    EXPECT_STATUS(rg_optimizer_step(o, &W, &G, 1, NULL, NULL, NULL), RG_ERR_UNSUPPORTED);
    EXPECT_STATUS(rg_optimizer_free(o), RG_OK);
    EXPECT_STATUS(rg_optimizer_new("sgd", NULL, "lipschitz_generator", &o), RG_ERR_UNSUPPORTED);

    printf("training_test: %d passed, %d failed\n", passed, failures);
    return failures ? 1 : 0;
}
