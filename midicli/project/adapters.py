"""Which model an adapter fits: the weights it was tuned on, and no other; and the name
that means no adapter at all."""

from __future__ import annotations

from midicli.errors import ModelError
from midicli.project.records import AdapterRecord

NO_ADAPTER = "none"  # what `--adapter none` means, so no adapter may be called that


def check_base(adapter: AdapterRecord, model: str) -> None:
    """Refuse ``adapter`` on ``model`` unless it was tuned on exactly those weights, before
    anything loads (else applying it fails deep inside PEFT, or quietly sounds wrong)."""
    from midicli.engines.models import model_hash

    try:
        current = model_hash(model)
    except ModelError:
        return  # not on this machine yet: the engine checks again once it has loaded it
    if current != adapter.base_hash:
        raise ModelError(
            f"adapter {adapter.name} was tuned on {adapter.base_model}, not on {model}: "
            f"pass --model {adapter.base_model}, or --adapter none"
        )
