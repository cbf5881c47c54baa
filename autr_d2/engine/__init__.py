from .defaults import check_output_dir, evaluate_weights, setup_cfg
from .trainer import NonFiniteLossError, Trainer, build_optimizer_params

__all__ = [
    "NonFiniteLossError",
    "Trainer",
    "build_optimizer_params",
    "check_output_dir",
    "evaluate_weights",
    "setup_cfg",
]
