from .defaults import USER_ERRORS, ConfigError, check_output_dir, evaluate_weights, setup_cfg
from .trainer import NonFiniteLossError, Trainer, build_optimizer_params

__all__ = [
    "USER_ERRORS",
    "ConfigError",
    "NonFiniteLossError",
    "Trainer",
    "build_optimizer_params",
    "check_output_dir",
    "evaluate_weights",
    "setup_cfg",
]
