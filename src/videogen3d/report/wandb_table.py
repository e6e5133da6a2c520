"""``videogen3d report --wandb``: the grid as one ``wandb.Table`` in one summary run.

Each row carries the report's columns plus the run's last comparison video (``wandb.Video``) and PNG
strip (``wandb.Image``), so the W&B dashboard shows the trials side by side. Offline without an API
key (or with WANDB_MODE=offline): the run is written under ``<out>/wandb`` and ``wandb sync`` uploads it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from videogen3d.report.runs import latest_media
from videogen3d.utils.loggers import wandb_credentials_present


def log_grid_table(rows: list[dict[str, Any]], out: str | os.PathLike, files: dict[str, str],
                   project: str = "videogen3d", name: str = "trial-grid-report") -> Path:
    """Log the rows (and the score figure and contact sheet) to one W&B run; returns its local folder."""
    import wandb

    offline = os.environ.get("WANDB_MODE", "") in ("offline", "dryrun") or not wandb_credentials_present()
    run = wandb.init(project=project, name=name, job_type="report", dir=str(out),
                     mode="offline" if offline else "online", config={"runs": [r["path"] for r in rows]})
    columns = [k for k in dict.fromkeys(k for r in rows for k in r) if k not in ("path",)]
    table = wandb.Table(columns=[*columns, "video", "strip"])
    for r in rows:
        video, strip = latest_media(Path(r["path"]), ".mp4"), latest_media(Path(r["path"]), ".png")
        table.add_data(*[_plain(r.get(k)) for k in columns],
                       wandb.Video(str(video), format="mp4") if video else None,
                       wandb.Image(str(strip)) if strip else None)
    run.log({"grid": table, "score": wandb.Image(files["score"]),
             "contact_sheet": wandb.Image(files["contact_sheet"])})
    folder = Path(run.dir).parent
    run.finish()
    return folder


def _plain(value: Any) -> Any:
    """Table cells: numbers, strings and None (W&B's columns are optional-typed)."""
    if value is None:
        return None
    return value if isinstance(value, (int, float, str)) else str(value)
