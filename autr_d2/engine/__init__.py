from .defaults import (
    USER_ERRORS,
    ConfigError,
    check_launch,
    check_output_dir,
    check_reusable,
    evaluate_weights,
    record_outputs,
    setup_cfg,
    user_message,
)
from .trainer import NonFiniteLossError, Trainer, build_optimizer_params

__all__ = [
    "USER_ERRORS",
    "ConfigError",
    "NonFiniteLossError",
    "Trainer",
    "build_optimizer_params",
    "check_launch",
    "check_output_dir",
    "check_reusable",
    "evaluate_weights",
    "record_outputs",
    "setup_cfg",
    "user_message",
]
