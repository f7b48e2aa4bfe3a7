"""ctypes declarations of include/regula.h and include/regula_plugin.h (declarations only)."""
import ctypes
import os
import pathlib
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_double, c_int32, c_int64,
                    c_uint32, c_uint64, c_void_p)

# dtypes, status codes and kinds (values of the header; append-only)
RG_FLOAT32, RG_FLOAT64, RG_INT32, RG_INT64 = 0, 1, 2, 3
RG_OK = 0
RG_ERR_CALLBACK = 11
RG_ERR_IO = 14
RG_GRAPH_INPUT_GRAD = 1
RG_KIND_PENALTY, RG_KIND_LOSS, RG_KIND_MAP = 0, 1, 2
RG_PARAM_REAL, RG_PARAM_INT, RG_PARAM_BOOL = 0, 1, 2
RG_PLUGIN_ABI_VERSION = 1


class rg_array(Structure):
    _fields_ = [("data", c_void_p), ("dtype", c_int32), ("ndim", c_int32),
                ("shape", POINTER(c_int64)), ("strides", POINTER(c_int64))]


class rg_named_array(Structure):
    _fields_ = [("name", c_char_p), ("array", rg_array)]


class rg_param_spec(Structure):
    _fields_ = [("name", c_char_p), ("type", c_int32), ("default_value", c_double),
                ("min_value", c_double), ("max_value", c_double), ("doc", c_char_p)]


CREATE_FN = CFUNCTYPE(c_int32, c_void_p, POINTER(c_double), c_int32, POINTER(c_void_p))
DESTROY_FN = CFUNCTYPE(None, c_void_p)
EVAL_FN = CFUNCTYPE(c_int32, c_void_p, POINTER(rg_array), POINTER(rg_array), POINTER(c_double),
                    POINTER(rg_array))
PROX_FN = CFUNCTYPE(c_int32, c_void_p, POINTER(rg_array), c_double, POINTER(rg_array))
VJP_FN = CFUNCTYPE(c_int32, c_void_p, POINTER(rg_array), POINTER(rg_array), POINTER(rg_array))
ERROR_FN = CFUNCTYPE(c_void_p, c_void_p)
GRAD_FN = CFUNCTYPE(c_int32, c_void_p, POINTER(c_double))  # rg_grad_fn (Training section)


class rg_component_table(Structure):
    _fields_ = [("struct_size", c_uint32), ("kind", c_int32), ("id", c_char_p),
                ("summary", c_char_p), ("reference", c_char_p), ("formula", c_char_p),
                ("params", POINTER(rg_param_spec)), ("n_params", c_int32),
                ("user_data", c_void_p), ("create", CREATE_FN), ("destroy", DESTROY_FN),
                ("eval", EVAL_FN), ("prox", PROX_FN), ("vjp", VJP_FN),
                ("error_message", ERROR_FN)]


class rg_plugin_descriptor(Structure):
    _fields_ = [("struct_size", c_uint32), ("abi_version", c_int32), ("name", c_char_p),
                ("version", c_char_p), ("components", POINTER(rg_component_table)),
                ("n_components", c_int32)]


_ARR = POINTER(rg_array)
_NAMED = POINTER(rg_named_array)
_HANDLE_OUT = POINTER(c_void_p)
_NODE_OUT = POINTER(c_int64)

# name: (restype, argtypes). Exactly the exported symbol set (checked by a test against nm).
SIGNATURES = {
    "rg_version": (c_char_p, []),
    "rg_abi_version": (c_int32, []),
    "rg_last_error": (c_char_p, []),
    "rg_component_count": (c_int32, [POINTER(c_int64)]),
    "rg_component_id": (c_int32, [c_int64, POINTER(c_char_p)]),
    "rg_describe": (c_int32, [c_char_p, POINTER(c_char_p)]),
    "rg_penalty_new": (c_int32, [c_char_p, c_char_p, _HANDLE_OUT]),
    "rg_penalty_new_with": (c_int32, [c_char_p, c_char_p, _NAMED, c_int64, _HANDLE_OUT]),
    "rg_penalty_eval": (c_int32, [c_void_p, _ARR, _NAMED, c_int64, POINTER(c_double), _ARR]),
    "rg_penalty_eval_many": (c_int32, [c_void_p, _ARR, c_int64, POINTER(c_double), _ARR]),
    "rg_penalty_prox": (c_int32, [c_void_p, _ARR, c_double, _NAMED, c_int64, _ARR]),
    "rg_penalty_update": (c_int32, [c_void_p, c_char_p]),
    "rg_penalty_free": (c_int32, [c_void_p]),
    "rg_loss_new": (c_int32, [c_char_p, c_char_p, _HANDLE_OUT]),
    "rg_loss_new_with": (c_int32, [c_char_p, c_char_p, _NAMED, c_int64, _HANDLE_OUT]),
    "rg_loss_eval": (c_int32, [c_void_p, _ARR, _ARR, _NAMED, c_int64, POINTER(c_double), _ARR, _ARR]),
    "rg_loss_update": (c_int32, [c_void_p, c_char_p]),
    "rg_loss_free": (c_int32, [c_void_p]),
    "rg_map_new": (c_int32, [c_char_p, c_char_p, _HANDLE_OUT]),
    "rg_map_new_with": (c_int32, [c_char_p, c_char_p, _NAMED, c_int64, _HANDLE_OUT]),
    "rg_map_forward": (c_int32, [c_void_p, _ARR, _NAMED, c_int64, _ARR]),
    "rg_map_vjp": (c_int32, [c_void_p, _ARR, _ARR, _NAMED, c_int64, _ARR]),
    "rg_map_update": (c_int32, [c_void_p, c_char_p]),
    "rg_map_free": (c_int32, [c_void_p]),
    "rg_plugin_load": (c_int32, [c_char_p]),
    "rg_plugin_register": (c_int32, [POINTER(rg_plugin_descriptor)]),
    "rg_optimizer_new": (c_int32, [c_char_p, c_char_p, c_char_p, _HANDLE_OUT]),
    "rg_optimizer_step": (c_int32, [c_void_p, _ARR, _ARR, c_int64, GRAD_FN, c_void_p, POINTER(c_double)]),
    "rg_optimizer_free": (c_int32, [c_void_p]),
    "rg_graph_new": (c_int32, [c_uint64, _HANDLE_OUT]),
    "rg_graph_free": (c_int32, [c_void_p]),
    "rg_graph_input": (c_int32, [c_void_p, c_int64, c_int32, _NODE_OUT]),
    "rg_graph_parameter": (c_int32, [c_void_p, c_char_p, POINTER(c_int64), c_int32, c_char_p, _NODE_OUT]),
    "rg_graph_linear": (c_int32, [c_void_p, c_int64, c_int64, c_int64, _NODE_OUT]),
    "rg_graph_embedding": (c_int32, [c_void_p, c_int64, c_int64, _NODE_OUT]),
    "rg_graph_activation": (c_int32, [c_void_p, c_int64, c_char_p, _NODE_OUT]),
    "rg_graph_add": (c_int32, [c_void_p, c_int64, c_int64, _NODE_OUT]),
    "rg_graph_layer_norm": (c_int32, [c_void_p, c_int64, c_int64, c_int64, c_double, _NODE_OUT]),
    "rg_graph_noise": (c_int32, [c_void_p, c_int64, c_char_p, _NODE_OUT]),
    "rg_graph_op": (c_int32, [c_void_p, c_char_p, POINTER(c_int64), c_int64, POINTER(c_char_p), _NODE_OUT]),
    "rg_graph_minimize": (c_int32, [c_void_p, c_int64]),
    "rg_graph_feed": (c_int32, [c_void_p, c_int64, _ARR]),
    "rg_graph_forward": (c_int32, [c_void_p, c_int32, POINTER(c_double)]),
    "rg_graph_backward": (c_int32, [c_void_p]),
    "rg_graph_node_shape": (c_int32, [c_void_p, c_int64, POINTER(c_int64), POINTER(c_int32)]),
    "rg_graph_value": (c_int32, [c_void_p, c_int64, _ARR]),
    "rg_graph_gradient": (c_int32, [c_void_p, c_int64, _ARR]),
    "rg_graph_parameter_count": (c_int32, [c_void_p, POINTER(c_int64)]),
    "rg_graph_parameter_at": (c_int32, [c_void_p, c_int64, POINTER(c_char_p), _NODE_OUT]),
    "rg_graph_set_value": (c_int32, [c_void_p, c_int64, _ARR]),
    "rg_graph_save": (c_int32, [c_void_p, c_char_p]),
    "rg_graph_load": (c_int32, [c_void_p, c_char_p]),
    "rg_graph_step": (c_int32, [c_void_p, c_void_p, POINTER(c_double)]),
    "rg_graph_set_precision": (c_int32, [c_void_p, c_char_p]),
    "rg_graph_reduce": (c_int32, [c_void_p, c_int64, c_char_p, POINTER(c_int64)]),
    "rg_graph_neighbors": (c_int32, [c_void_p, c_int64, _ARR, _ARR]),
}


class rg_metrics(Structure):
    _fields_ = [("accuracy", c_double), ("nll", c_double), ("ece", c_double), ("count", c_int64)]


# Trainer section (rg_trainer_*), kept apart from the table above to ease merges.
SIGNATURES.update({
    "rg_trainer_new": (c_int32, [c_int64, c_int64, c_char_p, _HANDLE_OUT]),
    "rg_trainer_plan": (c_int32, [c_void_p, c_int64, c_int64]),
    "rg_trainer_step": (c_int32, [c_void_p, _ARR, _ARR, POINTER(c_double)]),
    "rg_trainer_evaluate": (c_int32, [c_void_p, _ARR, _ARR, POINTER(rg_metrics)]),
    "rg_trainer_predict": (c_int32, [c_void_p, _ARR, _ARR]),
    "rg_trainer_save": (c_int32, [c_void_p, c_char_p]),
    "rg_trainer_load": (c_int32, [c_void_p, c_char_p]),
    "rg_trainer_free": (c_int32, [c_void_p]),
})


def _candidates():
    env = os.environ.get("REGULA_LIBRARY")
    if env:
        yield pathlib.Path(env)
        return
    here = pathlib.Path(__file__).resolve().parent
    yield here / "libregula.so"
    root = here.parent.parent.parent
    for config in ("release", "debug"):
        yield root / ".build" / config / "libregula.so"
    yield root / "build" / "lib" / "libregula.so"


# Hot entry points also bound without argtypes: ctypes then skips per-argument conversion (about
# half of a small call's cost). Callers must pass exact ctypes objects (c_void_p, byref(...),
# c_int64, None) — the binding does, internally.
FAST = ("rg_penalty_eval", "rg_penalty_prox", "rg_loss_eval", "rg_map_forward", "rg_map_vjp")


class _Fast:
    pass


def load():
    tried = []
    for path in _candidates():
        tried.append(str(path))
        if path.is_file():
            lib = ctypes.CDLL(str(path))
            for name, (res, args) in SIGNATURES.items():
                fn = getattr(lib, name)
                fn.restype, fn.argtypes = res, args
            raw, fast = ctypes.CDLL(str(path)), _Fast()
            for name in FAST:
                fn = getattr(raw, name)
                fn.restype = c_int32
                setattr(fast, name, fn)
            lib.fast = fast
            return lib, str(path)
    raise OSError("libregula.so not found (set REGULA_LIBRARY or run `make build`); tried: "
                  + ", ".join(tried))
