from .defaults import check_output_dir, setup_cfg
from .trainer import Trainer, build_optimizer_params

__all__ = ["Trainer", "build_optimizer_params", "check_output_dir", "setup_cfg"]
