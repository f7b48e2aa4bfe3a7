/*
 * regula.h — the stable C ABI of Regula.
 *
 * Regula is the regularization literature as one verified library: penalties (value, exact
 * gradient, prox), losses, output maps (softmax alternatives with their VJPs), all behind one
 * registry that built-ins and plugins share.
 *
 * Overview
 *   - Every function returns an rg_status (RG_OK == 0); results come back through OUT pointers.
 *     The exceptions are rg_version(), rg_abi_version() and rg_last_error().
 *   - On failure, rg_last_error() returns a message naming the problem (thread-local).
 *   - Arrays are passed as rg_array views (data, dtype, rank, shape, optional strides in
 *     elements), which map one to one onto DLPack's DLTensor on CPU. Inputs may be strided;
 *     outputs must be C-contiguous with the documented shape and the input's dtype.
 *   - Components are created by id with a parameter string, e.g. "strength=0.01,q=0.5".
 *     Unknown ids, unknown parameters and out-of-range values are errors.
 *   - Nothing the caller passes can make the library abort: every argument is validated first.
 *
 * Worked example
 *
 *     #include <regula.h>
 *     double w[4] = {1.0, -2.0, 0.5, 0.0}, g[4], value;
 *     int64_t shape[2] = {2, 2};
 *     rg_array W = {w, RG_FLOAT64, 2, shape, NULL}, G = {g, RG_FLOAT64, 2, shape, NULL};
 *     rg_penalty *p = NULL;
 *     if (rg_penalty_new("l1", "strength=1", &p) != RG_OK) { puts(rg_last_error()); return 1; }
 *     rg_penalty_eval(p, &W, NULL, 0, &value, &G);     // value = 3.5, g = sign(w)
 *     rg_penalty_prox(p, &W, 0.6, NULL, 0, &G);        // g = soft-threshold(w, 0.6)
 *     rg_penalty_free(p);
 */
#ifndef REGULA_H
#define REGULA_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define RG_API __attribute__((visibility("default")))
#else
#define RG_API
#endif

/* ===================================================================================== */
/* Version                                                                                */
/* ===================================================================================== */

/** ABI version. Bumped only on incompatible changes (which we do not make: we add _v2). */
#define REGULA_ABI_VERSION 1

/** Library version string, e.g. "0.1.0". Static storage; never free. Thread safety: reentrant. */
RG_API const char *rg_version(void);

/** The REGULA_ABI_VERSION the library was built with. Thread safety: reentrant. */
RG_API int32_t rg_abi_version(void);

/* ===================================================================================== */
/* Status codes (explicit and append-only)                                               */
/* ===================================================================================== */

typedef int32_t rg_status;
#define RG_OK                    0
#define RG_ERR_NULL              1  /* a required pointer was NULL */
#define RG_ERR_INVALID_ARGUMENT  2  /* an argument is malformed (rank, count, step, ...) */
#define RG_ERR_UNKNOWN_ID        3  /* no component with that id */
#define RG_ERR_UNKNOWN_PARAMETER 4  /* a parameter or input name the component does not take */
#define RG_ERR_PARAMETER         5  /* a parameter value is out of range or of the wrong type */
#define RG_ERR_SHAPE             6  /* shapes do not fit */
#define RG_ERR_DTYPE             7  /* unsupported or mismatched dtype */
#define RG_ERR_NONFINITE         8  /* NaN or infinity in an input */
#define RG_ERR_UNSUPPORTED       9  /* e.g. prox on a penalty that has none */
#define RG_ERR_PLUGIN           10  /* a plugin could not be loaded or registered */
#define RG_ERR_CALLBACK         11  /* a user or plugin function reported an error */
#define RG_ERR_INVALID_HANDLE   12  /* the handle is not live (freed, or never created) */
#define RG_ERR_INTERNAL         13  /* a bug in Regula: please report it */
#define RG_ERR_IO               14  /* a file could not be read or written, or is not in the expected format */

/* ===================================================================================== */
/* Opaque handles                                                                         */
/* ===================================================================================== */

typedef struct rg_penalty rg_penalty; /* a configured penalty */
typedef struct rg_loss rg_loss;       /* a configured loss */
typedef struct rg_map rg_map;         /* a configured output map or activation */

/* ===================================================================================== */
/* Arrays                                                                                 */
/* ===================================================================================== */

/* dtypes (explicit and append-only) */
#define RG_FLOAT32 0
#define RG_FLOAT64 1
#define RG_INT32   2
#define RG_INT64   3

/** Maximum rank of an array. */
#define RG_MAX_RANK 8

/**
 * A borrowed view of a CPU array. `strides` counts elements (not bytes) and may be NULL for
 * C-contiguous data; negative strides are allowed for inputs. A rank-0 array is a scalar.
 * An empty array's non-zero dimensions may multiply to at most 2^24 (else RG_ERR_SHAPE).
 * Ownership: the caller owns everything; Regula never keeps the pointers after a call returns.
 */
typedef struct rg_array {
    void *data;
    int32_t dtype;
    int32_t ndim;
    const int64_t *shape;
    const int64_t *strides;
} rg_array;

/** A named array: side inputs of a call ("labels", "mask", ...) or fixed data of a component. */
typedef struct rg_named_array {
    const char *name;
    rg_array array;
} rg_named_array;

/* ===================================================================================== */
/* Registry                                                                               */
/* ===================================================================================== */

/**
 * Number of registered components (built-ins and plugins), the training transforms included:
 * their rg_describe says "kind":"transform"; they are built by rg_optimizer_new, and the
 * rg_penalty/loss/map constructors refuse them with RG_ERR_UNSUPPORTED.
 * OUT count. Thread safety: serialized global (safe from any thread). Errors: RG_ERR_NULL.
 */
RG_API rg_status rg_component_count(int64_t *count);

/**
 * Id of component `index` (0 <= index < count), in sorted order.
 * OUT id: static storage owned by Regula, valid for the life of the process.
 * Errors: RG_ERR_NULL, RG_ERR_INVALID_ARGUMENT (index out of range).
 */
RG_API rg_status rg_component_id(int64_t index, const char **id);

/**
 * JSON description of a component: id, kind, summary, params [{name,type,default,min,max}],
 * inputs, reference, formula, confidence, notes, has_prox / has_vjp.
 * OUT json: thread-local storage owned by Regula, valid until the next rg_describe call on the
 * same thread. Errors: RG_ERR_NULL, RG_ERR_UNKNOWN_ID.
 */
RG_API rg_status rg_describe(const char *id, const char **json);

/* ===================================================================================== */
/* Penalties: R(W) with value, exact gradient and prox. strength multiplies value/gradient; */
/* a prox call with `step` uses t = step * strength.                                     */
/* ===================================================================================== */

/**
 * Creates a penalty. IN id, IN params ("name=value,..." or NULL/"" for defaults).
 * OUT out: a new handle; free it with rg_penalty_free.
 * Errors: RG_ERR_NULL, RG_ERR_UNKNOWN_ID, RG_ERR_UNKNOWN_PARAMETER, RG_ERR_PARAMETER.
 * Thread safety: reentrant.
 */
RG_API rg_status rg_penalty_new(const char *id, const char *params, rg_penalty **out);

/**
 * Creates a penalty with fixed data arrays (e.g. a matrix "C", initial weights "w0").
 * The arrays are copied; the caller keeps ownership of its memory.
 */
RG_API rg_status rg_penalty_new_with(const char *id, const char *params,
                                     const rg_named_array *data, int64_t n_data,
                                     rg_penalty **out);

/**
 * Value and gradient. IN w (float32/float64), IN inputs (per-call side inputs, may be NULL when
 * n_inputs == 0), OUT value (strength * R(w)), OUT grad (may be NULL for value only; otherwise
 * C-contiguous, w's shape and dtype). The value is accumulated in double.
 * Thread safety: one thread per handle at a time. Errors: RG_ERR_NULL, RG_ERR_INVALID_HANDLE,
 * RG_ERR_SHAPE, RG_ERR_DTYPE, RG_ERR_NONFINITE, RG_ERR_UNKNOWN_PARAMETER (unknown input name),
 * RG_ERR_CALLBACK.
 */
RG_API rg_status rg_penalty_eval(rg_penalty *p, const rg_array *w,
                                 const rg_named_array *inputs, int64_t n_inputs,
                                 double *value, rg_array *grad);

/**
 * Value and gradient over a list of tensors in one call (PyTorch's foreach, optax's tree map):
 * value = Σ_k strength · R(w_k), each tensor evaluated on its own, grads[k] = its gradient.
 * IN ws: n arrays; OUT grads: NULL (values only) or n arrays (each w_k's shape and dtype).
 * Saves the per-call overhead for models with many parameter tensors. n = 0 gives 0.
 * Errors: as rg_penalty_eval, naming the index of the failing tensor; no side inputs.
 */
RG_API rg_status rg_penalty_eval_many(rg_penalty *p, const rg_array *ws, int64_t n,
                                      double *value, rg_array *grads);

/**
 * Proximal operator prox_{t R}(v), t = step * strength, written into out (C-contiguous, v's
 * shape and dtype; out may alias v's memory when v is contiguous). step must be >= 0 and finite.
 * Errors: as rg_penalty_eval, plus RG_ERR_UNSUPPORTED when the penalty has no prox.
 */
RG_API rg_status rg_penalty_prox(rg_penalty *p, const rg_array *v, double step,
                                 const rg_named_array *inputs, int64_t n_inputs, rg_array *out);

/**
 * Updates a stateful penalty (e.g. "step=100" for an annealed parameter). IN state: assignments
 * of the names the penalty's `describe` lists under "state". Thread safety: one thread per handle.
 * Errors: RG_ERR_UNKNOWN_PARAMETER (not a state name), RG_ERR_PARAMETER, RG_ERR_UNSUPPORTED
 * (the penalty keeps no state).
 */
RG_API rg_status rg_penalty_update(rg_penalty *p, const char *state);

/** Frees a penalty. rg_penalty_free(NULL) is a no-op. Errors: RG_ERR_INVALID_HANDLE. */
RG_API rg_status rg_penalty_free(rg_penalty *p);

/* ===================================================================================== */
/* Losses on logits (batch, classes) and a target: integer labels (batch,) as int32/int64, */
/* or real targets (probabilities (batch, classes), or values for regression losses).     */
/* Reduction is a parameter: "reduction=mean" (default), "sum" or "none".                */
/* ===================================================================================== */

RG_API rg_status rg_loss_new(const char *id, const char *params, rg_loss **out);
RG_API rg_status rg_loss_new_with(const char *id, const char *params,
                                  const rg_named_array *data, int64_t n_data, rg_loss **out);

/**
 * Evaluates the loss. IN logits, IN target (may be NULL for losses that take none), IN inputs.
 * OUT value: the reduced loss (for "none": the sum of the per-sample losses).
 * OUT per_sample: optional (NULL or a contiguous array of shape (batch,) with the logits' dtype).
 * OUT grad: optional gradient of `value` with respect to the logits (logits' shape and dtype).
 * Thread safety: one thread per handle at a time.
 */
RG_API rg_status rg_loss_eval(rg_loss *l, const rg_array *logits, const rg_array *target,
                              const rg_named_array *inputs, int64_t n_inputs,
                              double *value, rg_array *per_sample, rg_array *grad);

/**
 * Updates a stateful loss (e.g. "epoch=3" for schedules). Errors: RG_ERR_UNKNOWN_PARAMETER for
 * a name the loss does not keep as state, RG_ERR_UNSUPPORTED for a stateless loss.
 */
RG_API rg_status rg_loss_update(rg_loss *l, const char *state);

RG_API rg_status rg_loss_free(rg_loss *l);

/* ===================================================================================== */
/* Output maps and activations, applied along the last axis.                              */
/* ===================================================================================== */

RG_API rg_status rg_map_new(const char *id, const char *params, rg_map **out);
RG_API rg_status rg_map_new_with(const char *id, const char *params,
                                 const rg_named_array *data, int64_t n_data, rg_map **out);

/** y = map(x). OUT y: C-contiguous, x's shape and dtype. */
RG_API rg_status rg_map_forward(rg_map *m, const rg_array *x,
                                const rg_named_array *inputs, int64_t n_inputs, rg_array *y);

/** Vector-Jacobian product gx = J(x)^T cotangent. OUT gx: x's shape and dtype. */
RG_API rg_status rg_map_vjp(rg_map *m, const rg_array *x, const rg_array *cotangent,
                            const rg_named_array *inputs, int64_t n_inputs, rg_array *gx);

/** Updates a stateful map (e.g. "step=3" to draw new Gumbel noise). Errors as rg_loss_update. */
RG_API rg_status rg_map_update(rg_map *m, const char *state);

RG_API rg_status rg_map_free(rg_map *m);

/* ===================================================================================== */
/* Plugins (see regula_plugin.h for the descriptor a plugin exports)                      */
/* ===================================================================================== */

/**
 * Loads a plugin shared library (RTLD_NOW | RTLD_LOCAL) and registers its components.
 * The library is never unloaded. Loading the same file twice is a no-op.
 * Errors: RG_ERR_NULL, RG_ERR_PLUGIN (missing file, no entry symbol, wrong ABI version or
 * struct size, missing functions, duplicate ids: nothing is registered then; also a call made
 * from inside a plugin's regula_plugin_entry, since loading is serialized).
 * Thread safety: serialized global.
 */
RG_API rg_status rg_plugin_load(const char *path);

/* ===================================================================================== */
/* Training: base optimizers with the training transforms of the catalogue                */
/* (transforms.md): weight decay, clipping, perp_grad, grad_noise, prox_step, and the      */
/* optimizer wrappers sam, usam, dnsam, amp, fd_grad_reg that re-evaluate the gradient     */
/* through a callback.                                                                     */
/* ===================================================================================== */

typedef struct rg_optimizer rg_optimizer; /* a base optimizer, its transforms and its state */

/**
 * Gradient callback of rg_optimizer_step. Evaluate the loss at the current contents of the
 * parameter arrays passed to that call (Regula has written the weights to evaluate into them),
 * write the gradient into the grad arrays of the same call, store the loss in *loss and return
 * RG_OK. Any other status aborts the step: the parameters are restored and the step returns
 * RG_ERR_CALLBACK. Called on the thread that called rg_optimizer_step.
 */
typedef rg_status (*rg_grad_fn)(void *ctx, double *loss);

/**
 * Creates an optimizer. IN optimizer: "sgd", "adam" or "adamw" (Adam + decoupled weight decay).
 * IN params: "lr=0.1,momentum=0.9,nesterov=true,beta1=0.9,beta2=0.999,eps=1e-8,weight_decay=0.01,
 * schedule=constant|cosine|step,warmup=0,total_steps=1,step_every=1,gamma=0.1,seed=0" (any subset;
 * the defaults are these values with lr=1e-3 and schedule=constant; seed seeds grad_noise). IN transforms: NULL or ";"-separated specs such as
 * "clip_global_norm:max_norm=1;sam:rho=0.05;prox_step:penalty=l1,strength=1e-4".
 * Order of a step: raw gradient (a wrapper may re-evaluate it) → l2_grad → perp_grad →
 * grad_noise → clipping → optimizer direction → decoupled decay → × lr → apply → prox_step.
 * Weight decay and prox_step act on parameters of rank >= 2 only (not on biases or norm gains).
 * OUT out: the new handle, freed with rg_optimizer_free.
 * Thread safety: reentrant. Errors: RG_ERR_NULL, RG_ERR_UNKNOWN_ID (transform or penalty id),
 * RG_ERR_UNKNOWN_PARAMETER, RG_ERR_PARAMETER, RG_ERR_UNSUPPORTED (flooding: apply it to the loss),
 * RG_ERR_INVALID_ARGUMENT.
 */
RG_API rg_status rg_optimizer_new(const char *optimizer, const char *params, const char *transforms,
                                  rg_optimizer **out);

/**
 * One optimizer step over n parameter arrays, updated in place. IN/OUT params: C-contiguous
 * float32 or float64 arrays. IN/OUT grads: arrays of the same shapes and dtypes. IN fn, ctx:
 * when fn is not NULL it is called for every gradient evaluation, the first included (the
 * grads' incoming contents are ignored); when fn is NULL the grads must hold the gradient at
 * the current parameters, and wrappers (sam, amp, ...) are refused. OUT loss: optional, the
 * loss at the unperturbed parameters as fn reported it (0 without fn).
 * The first step fixes the number, shapes and dtypes of the parameters; later steps must match.
 * Computation is in float64 whatever the arrays' dtype.
 * Ownership: nothing is kept after the call. Thread safety: one thread per handle at a time.
 * Errors: RG_ERR_NULL, RG_ERR_INVALID_HANDLE, RG_ERR_SHAPE, RG_ERR_DTYPE, RG_ERR_INVALID_ARGUMENT,
 * RG_ERR_NONFINITE (a NaN/inf parameter or gradient, named with its array and flat index),
 * RG_ERR_CALLBACK (fn failed or reported a non-finite loss), RG_ERR_UNSUPPORTED (a wrapper that
 * needs the gradients of objective terms apart, surrogate_gradient_norm: one callback returns
 * only their sum, so step it through a graph). On any error the parameters are left as they were.
 */
RG_API rg_status rg_optimizer_step(rg_optimizer *opt, rg_array *params, rg_array *grads, int64_t n,
                                   rg_grad_fn fn, void *ctx, double *loss);

/** Frees an optimizer. rg_optimizer_free(NULL) is a no-op. Errors: RG_ERR_INVALID_HANDLE. */
RG_API rg_status rg_optimizer_free(rg_optimizer *opt);

/* ===================================================================================== */
/* Graph: a static reverse-mode autodiff graph (ggml's model). Build the nodes once      */
/* (inputs, parameters, layers, components), then for each batch feed the inputs, run    */
/* forward and backward, and read values and gradients, or let an optimizer step the     */
/* parameters with rg_graph_step. Values and gradients are float64 inside.               */
/*                                                                                       */
/*     rg_graph *g; rg_node x, y, w, b, z, l;                                            */
/*     int64_t ws[2] = {10, 64}, bs[1] = {10};                                           */
/*     rg_graph_new(0, &g);                                                              */
/*     rg_graph_input(g, 64, 0, &x);  rg_graph_input(g, 1, 0, &y);   // features, labels */
/*     rg_graph_parameter(g, "fc.weight", ws, 2, "kaiming_normal", &w);                  */
/*     rg_graph_parameter(g, "fc.bias", bs, 1, "zeros", &b);                             */
/*     rg_graph_linear(g, x, w, b, &z);                                                  */
/*     rg_node in[2] = {z, y};                                                           */
/*     rg_graph_op(g, "softmax_cross_entropy", in, 2, NULL, &l);                         */
/*     rg_graph_minimize(g, l);                                                          */
/*     for each batch: rg_graph_feed(g, x, &X); rg_graph_feed(g, y, &Y);                 */
/*                     rg_graph_step(g, opt, &loss);                                     */
/*     rg_graph_free(g);                                                                 */
/*                                                                                       */
/* Nodes are indices into one graph (0, 1, 2, ... in build order), checked against it:   */
/* a node out of range is RG_ERR_INVALID_ARGUMENT. Batch nodes hold (rows, cols) values  */
/* whose row count is set by the feeds of each run, so a smaller last batch needs no     */
/* rebuild; parameters and objective terms have fixed shapes (a scalar has rank 0).      */
/* Thread safety, for every rg_graph_* function: one thread per graph at a time (and,   */
/* for rg_graph_step, per optimizer); different graphs may be used concurrently.          */
/* ===================================================================================== */

typedef struct rg_graph rg_graph; /* a graph: its nodes, parameters, run state and RNG */
typedef int64_t rg_node;          /* a node of one graph: its index in build order */

/** rg_graph_input flag: backward also computes the gradient with respect to this input. */
#define RG_GRAPH_INPUT_GRAD 1

/**
 * Creates an empty graph. IN seed: seeds the parameter initializers and the noise layers
 * (results are reproducible for a seed). OUT out: the new handle, freed with rg_graph_free.
 * Thread safety: reentrant. Errors: RG_ERR_NULL.
 */
RG_API rg_status rg_graph_new(uint64_t seed, rg_graph **out);

/**
 * Precision of the graph's linear layers (matrix products): "f64" (default, dgemm) or "f32"
 * (sgemm on float32 copies of the operands, results widened back: about twice the speed,
 * float32 rounding in the products; values, gradients and optimizer state stay float64).
 * Errors: RG_ERR_NULL, RG_ERR_INVALID_HANDLE, RG_ERR_PARAMETER.
 */
RG_API rg_status rg_graph_set_precision(rg_graph *g, const char *precision);

/**
 * Frees a graph and everything it owns (parameter names returned by rg_graph_parameter_at
 * included). rg_graph_free(NULL) is a no-op. An optimizer bound to the graph refuses further
 * steps. Errors: RG_ERR_INVALID_HANDLE.
 */
RG_API rg_status rg_graph_free(rg_graph *g);

/**
 * Adds a batch input of `cols` features per row (labels: cols = 1, fed as class indices).
 * IN cols: 1 .. 2^24. IN flags: 0 or RG_GRAPH_INPUT_GRAD. OUT out: the node.
 * Every builder (rg_graph_input .. rg_graph_op) leaves *out = -1 on failure and adds nothing.
 * Errors: RG_ERR_NULL, RG_ERR_INVALID_HANDLE, RG_ERR_SHAPE (cols), RG_ERR_INVALID_ARGUMENT (flags).
 */
RG_API rg_status rg_graph_input(rg_graph *g, int64_t cols, int32_t flags, rg_node *out);

/**
 * Adds a trainable parameter. IN name: unique in the graph (1 .. 4096 bytes; copied).
 * IN shape, rank: rank 0 .. 8, every dimension >= 1, at most 2^27 values; a weight matrix is
 * (units, fan_in). IN init: "zeros", "constant:value=1", "normal:std=0.02", "uniform:bound=0.1",
 * "kaiming_normal", "kaiming_uniform", "xavier_normal" or "xavier_uniform" (fans from the shape;
 * defaults value=0, std=0.02, bound=0.1). OUT out: the node.
 * Errors: RG_ERR_NULL, RG_ERR_INVALID_HANDLE, RG_ERR_SHAPE, RG_ERR_INVALID_ARGUMENT (duplicate
 * or empty name), RG_ERR_PARAMETER (unknown initializer or bad value), RG_ERR_UNKNOWN_PARAMETER.
 */
RG_API rg_status rg_graph_parameter(rg_graph *g, const char *name, const int64_t *shape, int32_t rank,
                                    const char *init, rg_node *out);

/**
 * y = x Wᵀ + b for x (rows, in), W (out, in) and b (out) or b = -1 for no bias. OUT out: (rows, out).
 * Errors: RG_ERR_NULL, RG_ERR_INVALID_HANDLE, RG_ERR_INVALID_ARGUMENT (node), RG_ERR_SHAPE.
 */
RG_API rg_status rg_graph_linear(rg_graph *g, rg_node x, rg_node w, rg_node b, rg_node *out);

/**
 * Rows of `table` (vocab, dim) picked by the integer ids of `ids` (rows, 1). OUT out: (rows, dim).
 * An id that is not an integer in [0, vocab) fails the forward run with RG_ERR_PARAMETER.
 * Errors: as rg_graph_linear.
 */
RG_API rg_status rg_graph_embedding(rg_graph *g, rg_node ids, rg_node table, rg_node *out);

/**
 * Elementwise or along-the-last-axis activation. IN spec: "relu", "gelu", "tanh", "identity",
 * or any registered map or activation with its parameters ("sparsemax", "entmax15",
 * "ash:k=2"); the node's backward is the map's VJP. OUT out: x's shape.
 * Errors: as rg_graph_linear, plus RG_ERR_UNKNOWN_ID, RG_ERR_UNKNOWN_PARAMETER, RG_ERR_PARAMETER,
 * RG_ERR_INVALID_ARGUMENT (the id is not a map), RG_ERR_UNSUPPORTED (a map without a VJP, or one
 * that needs per-call inputs).
 */
RG_API rg_status rg_graph_activation(rg_graph *g, rg_node x, const char *spec, rg_node *out);

/** a + b of two nodes of the same shape (a residual connection). Errors: as rg_graph_linear. */
RG_API rg_status rg_graph_add(rg_graph *g, rg_node a, rg_node b, rg_node *out);

/**
 * The mean or the sum of every value of x as a scalar node (an objective term, e.g. the
 * surrogate batch mean of surrogate_gradient_norm). IN how: "mean" or "sum".
 * Errors: as rg_graph_linear, plus RG_ERR_NULL (how), RG_ERR_PARAMETER (another reduction).
 */
RG_API rg_status rg_graph_reduce(rg_graph *g, rg_node x, const char *how, rg_node *out);

/**
 * Layer norm over the features of each row: gain ⊙ (x − μ)/sqrt(σ² + eps) + bias, with gain
 * and bias holding cols values each. IN eps > 0 and finite. Errors: as rg_graph_linear, plus
 * RG_ERR_PARAMETER (eps).
 */
RG_API rg_status rg_graph_layer_norm(rg_graph *g, rg_node x, rg_node gain, rg_node bias, double eps,
                                     rg_node *out);

/**
 * A noise layer, active in training runs only (except fake quantisation). IN spec:
 * "dropout:p=0.1" (inverted dropout, p in [0, 1)), "gaussian_noise:sigma=0.1",
 * "gaussian_dropout:p=0.1", "quant_noise:bits=8,uniform_noise=false" (bits 2 .. 24;
 * fake quantisation with a straight-through gradient, or uniform noise of one step).
 * Errors: as rg_graph_linear, plus RG_ERR_PARAMETER, RG_ERR_UNKNOWN_PARAMETER.
 */
RG_API rg_status rg_graph_noise(rg_graph *g, rg_node x, const char *spec, rg_node *out);

/**
 * A registered component as a node, by spec "id" or "id:params" (plugins included):
 *   - a loss: inputs {scores (rows, K), target (rows, 1) labels or (rows, K) targets}; out: the
 *     reduced loss, a scalar (reduction "none" is refused);
 *   - a map or activation: inputs {x}; out: x's shape;
 *   - a penalty: inputs {x, side inputs...}, the side inputs named by input_names (n − 1
 *     names, the penalty's per-call inputs such as "labels"); out: strength · R(x), a scalar;
 *   - a transform that has a graph form (model-evaluation transforms); others are refused.
 * IN inputs: n nodes (n in 0 .. 64). IN input_names: NULL, or n − 1 strings (penalties only).
 * Width-1 side inputs are passed as integer labels. OUT out: the node.
 * Errors: as rg_graph_linear, plus RG_ERR_UNKNOWN_ID, RG_ERR_UNKNOWN_PARAMETER (a parameter or
 * input name the component does not take), RG_ERR_PARAMETER, RG_ERR_UNSUPPORTED, and
 * RG_ERR_INVALID_ARGUMENT (a missing required input name, names for a non-penalty).
 */
RG_API rg_status rg_graph_op(rg_graph *g, const char *spec, const rg_node *inputs, int64_t n,
                             const char *const *input_names, rg_node *out);

/**
 * Adds a scalar node to the objective; the sum of the objective's terms is minimised.
 * Errors: RG_ERR_INVALID_HANDLE, RG_ERR_INVALID_ARGUMENT (bad node, or already in the
 * objective), RG_ERR_SHAPE (not a scalar).
 */
RG_API rg_status rg_graph_minimize(rg_graph *g, rg_node node);

/**
 * Sets an input's values for the next run. IN values: (rows, cols) or, when cols == 1, (rows,);
 * float32, float64, int32 or int64 (labels and embedding ids may be integers), any strides,
 * rows >= 1. Values are copied. The inputs fed since the last run must agree in their row
 * count (feeding an input again replaces its earlier values), and every input must hold the
 * current batch (the latest feed's rows) when the graph runs.
 * Errors: RG_ERR_NULL, RG_ERR_INVALID_HANDLE, RG_ERR_INVALID_ARGUMENT (bad node, not an
 * input), RG_ERR_SHAPE (wrong shape, empty batch, row count differing from the other feeds of
 * this batch), RG_ERR_DTYPE, RG_ERR_NONFINITE (NaN/inf, with its flat index).
 */
RG_API rg_status rg_graph_feed(rg_graph *g, rg_node node, const rg_array *values);

/**
 * Runs every node forward on the fed batch. IN training: non-zero turns the noise layers on.
 * OUT objective: optional (NULL), the sum of the objective terms (0 without any).
 * Errors: RG_ERR_INVALID_HANDLE, RG_ERR_INVALID_ARGUMENT (an input never fed, or holding rows
 * of an earlier batch; a component refused its inputs, e.g. a label out of range), RG_ERR_SHAPE
 * (a node would hold more than 2^27 values), RG_ERR_PARAMETER (an embedding id out of range),
 * RG_ERR_CALLBACK (a plugin component failed).
 */
RG_API rg_status rg_graph_forward(rg_graph *g, int32_t training, double *objective);

/**
 * Gradients of the objective with respect to every parameter, every RG_GRAPH_INPUT_GRAD input
 * and every node depending on them, for the last forward run.
 * Errors: RG_ERR_INVALID_HANDLE, RG_ERR_INVALID_ARGUMENT (no objective; no forward run since
 * the last feed, build or parameter change), RG_ERR_CALLBACK.
 */
RG_API rg_status rg_graph_backward(rg_graph *g);

/**
 * The shape of a node's value now: a parameter's shape, rank 0 for a scalar, (rows, cols) for
 * a batch node with rows of the latest feed (0 before any). OUT shape: room for RG_MAX_RANK
 * values; OUT rank. Errors: RG_ERR_NULL, RG_ERR_INVALID_HANDLE, RG_ERR_INVALID_ARGUMENT.
 */
RG_API rg_status rg_graph_node_shape(rg_graph *g, rg_node node, int64_t *shape, int32_t *rank);

/**
 * Copies a node's value into `out`: C-contiguous, aligned, float32 or float64, of the shape
 * rg_graph_node_shape reports ((rows,) also accepted for a (rows, 1) node). Parameters always
 * have a value, inputs once fed, other nodes after a forward run (or rg_graph_step) that
 * followed the last feed, build or parameter change.
 * Errors: RG_ERR_NULL, RG_ERR_INVALID_HANDLE, RG_ERR_INVALID_ARGUMENT (bad node, no value yet,
 * misaligned out), RG_ERR_SHAPE, RG_ERR_DTYPE.
 */
RG_API rg_status rg_graph_value(rg_graph *g, rg_node node, rg_array *out);

/**
 * Copies the objective's gradient with respect to a node into `out` (as rg_graph_value), after
 * rg_graph_backward (or rg_graph_step: the gradient of its last evaluation, as the optimizer's
 * transforms left it for parameters). Errors: as rg_graph_value, plus RG_ERR_INVALID_ARGUMENT
 * for a node without a gradient (an input built without RG_GRAPH_INPUT_GRAD, a node that
 * depends on no parameter) and before any backward run.
 */
RG_API rg_status rg_graph_gradient(rg_graph *g, rg_node node, rg_array *out);

/** Number of parameters. OUT count. Errors: RG_ERR_NULL, RG_ERR_INVALID_HANDLE. */
RG_API rg_status rg_graph_parameter_count(rg_graph *g, int64_t *count);

/**
 * Parameter i (0 <= i < count, in creation order). OUT name: optional, owned by the graph and
 * valid until rg_graph_free. OUT node: optional. Errors: RG_ERR_NULL (both NULL),
 * RG_ERR_INVALID_HANDLE, RG_ERR_INVALID_ARGUMENT (index out of range).
 */
RG_API rg_status rg_graph_parameter_at(rg_graph *g, int64_t i, const char **name, rg_node *node);

/**
 * Overwrites a parameter's value. IN values: float32 or float64, the parameter's exact shape,
 * finite, any strides (copied). Errors: RG_ERR_NULL, RG_ERR_INVALID_HANDLE,
 * RG_ERR_INVALID_ARGUMENT (not a parameter), RG_ERR_SHAPE, RG_ERR_DTYPE, RG_ERR_NONFINITE.
 */
RG_API rg_status rg_graph_set_value(rg_graph *g, rg_node node, const rg_array *values);

/**
 * Saves every parameter (name, shape, float64 values) to a file at `path`, written to
 * path + ".tmp" then renamed. Errors: RG_ERR_NULL, RG_ERR_INVALID_HANDLE, RG_ERR_IO.
 */
RG_API rg_status rg_graph_save(rg_graph *g, const char *path);

/**
 * Loads parameters saved by rg_graph_save: the file must hold exactly this graph's parameter
 * names with the same shapes and finite values; nothing changes on an error.
 * Errors: RG_ERR_NULL, RG_ERR_INVALID_HANDLE, RG_ERR_IO (missing, corrupt or foreign file, a
 * missing or extra name, a non-finite value), RG_ERR_SHAPE (a shape differs).
 */
RG_API rg_status rg_graph_load(rg_graph *g, const char *path);

/**
 * One optimizer step on the graph's parameters, with the graph as the gradient function: each
 * gradient evaluation is a training-mode forward and backward run on the fed batch, so
 * wrappers that re-evaluate (sam, usam, dnsam, amp, fd_grad_reg, de_elbo) and post steps
 * (prox_step, ...) work. The first rg_graph_step binds `opt` to this graph for good: another
 * graph, caller arrays (rg_optimizer_step), or parameters added later are refused; an
 * optimizer already used by rg_optimizer_step is refused here. OUT loss: optional, the
 * objective at the parameters before the step. Afterwards the nodes hold the values and
 * gradients of the step's last evaluation. The objective's terms (in rg_graph_minimize order)
 * are evaluated apart when the optimizer's wrapper needs it: surrogate_gradient_norm takes
 * term 0 as the task loss and term 1 as the surrogate's batch mean G_B.
 * Errors: RG_ERR_NULL, RG_ERR_INVALID_HANDLE, RG_ERR_INVALID_ARGUMENT (binding, no objective,
 * inputs not fed), RG_ERR_NONFINITE (the objective or a parameter's gradient became NaN/inf:
 * lower the learning rate), RG_ERR_CALLBACK, and the errors of rg_graph_forward. On any error
 * the parameters are left as they were.
 */
RG_API rg_status rg_graph_step(rg_graph *g, rg_optimizer *opt, double *loss);

/**
 * Neighbouring conditions for a lipschitz_generator node (rg_graph_op "lipschitz_generator:
 * neighbor=batch_knn|perturb,..."), drawn with the node's sampler from the graph's random
 * stream: batch_knn picks one of the k nearest other conditions of the batch, perturb adds
 * N(0, (scale·std y)²) noise. Feed the result as the node's y' input. IN y: (rows, cols) or
 * (rows,) float32/float64. OUT y_prime: y's shape, float32 or float64.
 * Errors: RG_ERR_NULL, RG_ERR_INVALID_HANDLE, RG_ERR_INVALID_ARGUMENT (not such a node; a
 * batch with no distinct neighbour), RG_ERR_SHAPE, RG_ERR_DTYPE, RG_ERR_NONFINITE.
 */
RG_API rg_status rg_graph_neighbors(rg_graph *g, rg_node node, const rg_array *y, rg_array *y_prime);
/* Trainer: an MLP classifier with its loss, penalties, transforms and optimizer, built   */
/* from one spec string and trained batch by batch (the convenience level; Python's       */
/* regula.Sequential + regula.Trainer and Swift's TrainingSession are the same object).   */
/* ===================================================================================== */

typedef struct rg_trainer rg_trainer; /* a model, its optimizer state and its training counters */

/** Metrics of rg_trainer_evaluate: plain data, nothing to free. */
typedef struct rg_metrics {
    double accuracy; /* share of rows whose arg-max class is the label */
    double nll;      /* mean −log softmax(z)_y of the eval-mode logits z */
    double ece;      /* expected calibration error over 15 equal-width bins of the max softmax probability */
    int64_t count;   /* rows evaluated */
} rg_metrics;

/**
 * Creates a trainer for `features` inputs and `classes` classes. IN spec: NULL or "" for the
 * defaults, else ";"-separated key=value items (a key ends at its first "="), e.g.
 *   "widths=256,128;activation=relu;dropout=0.1;layer_norm=true;
 *    loss=softmax_cross_entropy:label_smoothing=0.1;penalty=l2=1e-4@layer*.weight;
 *    penalty=l1-prox:strength=1e-4@output.weight;transform=sam:rho=0.05;optimizer=adamw;
 *    lr=1e-3;weight_decay=0.01;schedule=cosine;warmup=0;batch=32;epochs=40;total_steps=2000;seed=0"
 * Model keys [defaults]: widths [256] (comma-separated hidden widths, each 1..65536; "" or none: a
 * linear model), activation [relu] (relu, gelu, tanh, identity, or a registered map id[:params]),
 * dropout [0], layer_norm [false], residual [false], gaussian_noise [0], gaussian_dropout [0],
 * quant_bits [none], quant_mode [fake_quant | uniform_noise]. Objective: loss
 * [softmax_cross_entropy] (id[:params]), output_map [none]; repeatable penalty items:
 * "id=strength", "id-prox=strength" (a proximal step after each update), "id:name=value,...",
 * each optionally followed by "@pattern", a glob on parameter names ("*" any run, "?" one
 * character; names layerN.weight, layerN.bias, layerN.norm.gain, layerN.norm.bias, output.weight,
 * output.bias); without a pattern a penalty acts on every weight matrix. feature_penalty items act
 * on the penultimate features. Optimizer: optimizer [adam | adamw | sgd], lr [1e-3], momentum
 * [0.9], nesterov [false], beta1 [0.9], beta2 [0.999], eps [1e-8], weight_decay [0.01] (adamw),
 * schedule [cosine | constant | step], warmup [0 steps], step_every [30 epochs], step_gamma [0.1],
 * repeatable transform items (the specs of rg_optimizer_new plus the model and batch transforms:
 * mixup, avmixup, vat, vat_ent, autosparse_ga, qreg, lora_dropout, ...) and group items
 * ("pattern:lr_scale=0.1,decay=false", pattern = a substring of parameter names). Run: epochs [40]
 * (with total_steps: ceil(total_steps / epochs) steps per epoch), total_steps [none], batch [32]
 * (for callers that batch, such as the Python binding's fit), seed [0] (initialisation, dropout,
 * noise and batch transforms: the same seed and calls give the same results).
 * Inputs are used as given: scale them before stepping. schedule=cosine or step (and
 * smcp_soft_mask) need the run's length: total_steps, or rg_trainer_plan before the first step.
 * IN features: 1..2^24. IN classes: 2..65536. OUT out: a new handle, freed with rg_trainer_free.
 * Thread safety: reentrant. Errors: RG_ERR_NULL, RG_ERR_INVALID_ARGUMENT (a malformed item, a key
 * given twice, sizes out of range, a model above 2^25 parameters), RG_ERR_UNKNOWN_PARAMETER (an
 * unknown key, or a component parameter), RG_ERR_PARAMETER (a value of the wrong type or out of
 * range), RG_ERR_UNKNOWN_ID (a loss, map, penalty or transform id), RG_ERR_UNSUPPORTED
 * (pseudo_label_mixup: it needs the whole training set at once).
 */
RG_API rg_status rg_trainer_new(int64_t features, int64_t classes, const char *spec, rg_trainer **out);

/**
 * Plans the run: `epochs` epochs of `steps_per_epoch` steps, counted from the first step (e.g.
 * ceil(rows / batch) steps per epoch). The cosine and step schedules, SMCP's mask ramp,
 * AutoSparse's annealing and the "epoch" state of stateful losses and maps follow the plan; the
 * epoch counter is steps taken ÷ steps_per_epoch. Overrides total_steps. Without a plan and without
 * total_steps the epoch counter stays 0.
 * Thread safety: one thread per handle at a time. Errors: RG_ERR_NULL, RG_ERR_INVALID_HANDLE,
 * RG_ERR_INVALID_ARGUMENT (a count < 1 or above 2^40).
 */
RG_API rg_status rg_trainer_plan(rg_trainer *t, int64_t steps_per_epoch, int64_t epochs);

/**
 * One optimizer step on a batch, in train mode (dropout and noise on). IN x: (n, features) float32
 * or float64, any strides. IN labels: (n,) or (n, 1), int32/int64, or float32/float64 holding
 * integers, each in 0..classes-1. OUT loss: optional (NULL), the objective at the parameters before
 * the step (the task loss, flooded if asked, plus the penalties). The spec's batch transforms
 * (mixup, avmixup, vat), schedules and stateful updates apply; computation is in float64.
 * Ownership: nothing is kept after the call. Thread safety: one thread per handle at a time.
 * Errors: RG_ERR_NULL, RG_ERR_INVALID_HANDLE, RG_ERR_DTYPE, RG_ERR_SHAPE (x not (n, features),
 * labels of another length), RG_ERR_NONFINITE (x or float labels, with the flat index),
 * RG_ERR_INVALID_ARGUMENT (an empty batch, a label that is not a class index, named by its index;
 * a schedule that needs a plan; a loss that became non-finite), RG_ERR_CALLBACK (a plugin
 * component failed). On an error the parameters are left as they were.
 */
RG_API rg_status rg_trainer_step(rg_trainer *t, const rg_array *x, const rg_array *labels, double *loss);

/**
 * Accuracy, NLL and ECE of the eval-mode model (dropout and noise off) on x with labels (as in
 * rg_trainer_step; at least one row). OUT out: the metrics.
 * Thread safety: one thread per handle at a time. Errors: as rg_trainer_step.
 */
RG_API rg_status rg_trainer_evaluate(rg_trainer *t, const rg_array *x, const rg_array *labels, rg_metrics *out);

/**
 * Class probabilities of the eval-mode model: softmax of the logits (the probabilities
 * rg_trainer_evaluate scores, whatever loss or output map trained them). IN x: as in
 * rg_trainer_step (n may be 0). OUT probs: C-contiguous (n, classes) array with x's dtype.
 * Thread safety: one thread per handle at a time. Errors: RG_ERR_NULL, RG_ERR_INVALID_HANDLE,
 * RG_ERR_DTYPE, RG_ERR_SHAPE, RG_ERR_NONFINITE, RG_ERR_INVALID_ARGUMENT (probs misaligned).
 */
RG_API rg_status rg_trainer_predict(rg_trainer *t, const rg_array *x, rg_array *probs);

/**
 * Saves the model's parameters (names, shapes, float64 values) to the file at `path`, written to
 * path.tmp and renamed, so `path` never holds half a file. The optimizer's state is not saved.
 * Thread safety: one thread per handle at a time. Errors: RG_ERR_NULL, RG_ERR_INVALID_HANDLE,
 * RG_ERR_IO (the file cannot be written).
 */
RG_API rg_status rg_trainer_save(rg_trainer *t, const char *path);

/**
 * Loads parameters saved by rg_trainer_save from a trainer with the same model: every parameter
 * must be in the file with the same shape and finite values, and the file may hold no others.
 * Nothing changes on an error. Thread safety: one thread per handle at a time.
 * Errors: RG_ERR_NULL, RG_ERR_INVALID_HANDLE, RG_ERR_IO (missing, truncated or foreign file, a
 * missing or extra parameter, a NaN/inf value), RG_ERR_SHAPE (a parameter of another shape).
 */
RG_API rg_status rg_trainer_load(rg_trainer *t, const char *path);

/** Frees a trainer. rg_trainer_free(NULL) is a no-op. Errors: RG_ERR_INVALID_HANDLE. */
RG_API rg_status rg_trainer_free(rg_trainer *t);

/* ===================================================================================== */
/* Errors                                                                                 */
/* ===================================================================================== */

/**
 * Message of the last failed call on this thread ("" when none). Thread-local storage owned by
 * Regula, valid until the next failing call on the same thread.
 */
RG_API const char *rg_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* REGULA_H */
