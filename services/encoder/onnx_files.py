"""ONNX files of the towers, exported once per model and reused on later starts.

Files live in ``data_dir/encoder/onnx/<model>-v<EXPORT_VERSION>-torch<version>``; each is written to
a temporary file and renamed, so a crash or a concurrent start never leaves half a file.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
import warnings
from pathlib import Path

import torch
from torch import nn

log = logging.getLogger(__name__)

# Bump when the exported graphs change, so stale cached files are not reused.
EXPORT_VERSION = "4"
ONNX_OPSET = 17
_export_lock = threading.Lock()


def onnx_folder(data_dir: Path, model_id: str) -> Path:
    """Cache folder for one model's exported towers, keyed by model_id and the export version."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model_id).strip("_")
    return Path(data_dir) / "encoder" / "onnx" / f"{slug}-v{EXPORT_VERSION}-torch{torch.__version__}"


def exported(module: nn.Module, example: torch.Tensor, path: Path, input_name: str, axes: dict) -> Path:
    with _export_lock:
        if path.is_file():
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        log.info("exporting %s to ONNX (first start for this model)", path.name)
        # Write to a temp file and rename, so a crash or a concurrent start never leaves half a file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".onnx.tmp")
        os.close(fd)
        try:
            # Grad mode on: under no_grad, nn.MultiheadAttention takes its fused fast path, which
            # has no ONNX export; with grad enabled it traces into plain, exportable ops.
            with warnings.catch_warnings(), torch.inference_mode(False), torch.enable_grad():
                warnings.simplefilter("ignore")
                # The TorchScript exporter: the dynamo one needs onnxscript, which is not installed.
                torch.onnx.export(
                    module,
                    (example,),
                    tmp,
                    dynamo=False,
                    input_names=[input_name],
                    output_names=["embedding"],
                    dynamic_axes={input_name: axes, "embedding": {0: "batch"}},
                    opset_version=ONNX_OPSET,
                )
            os.chmod(tmp, 0o644)  # mkstemp makes it owner-only; other local users may run the service
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return path


def quantized(path: Path, signed: bool) -> Path:
    """``path`` with its MatMuls dynamically quantised to int8 (cached beside it).

    The final projection (the MatMul that writes the output) stays fp32, and so does the patch
    Conv: they carry most of the int8 drift (docs/benchmarks-history.md) and cost almost nothing in
    fp32, since one sees one token and the other runs once.
    Signed weights (u8 activations x s8 weights) run on VNNI. Without VNNI, ORT's u8s8 kernels can
    saturate and drift much further from fp32 than u8u8, so weights are unsigned there.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = path.with_name(f"{path.stem}-int8-{'s8' if signed else 'u8'}.onnx")
    with _export_lock:
        if not target.is_file():
            graph = onnx.load(str(path), load_external_data=False).graph
            outputs = {output.name for output in graph.output}
            projection = [node.name for node in graph.node if outputs.intersection(node.output)]
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".onnx.tmp")
            os.close(fd)
            try:
                quantize_dynamic(
                    str(path),
                    tmp,
                    weight_type=QuantType.QInt8 if signed else QuantType.QUInt8,
                    op_types_to_quantize=["MatMul"],
                    nodes_to_exclude=projection,
                )
                os.chmod(tmp, 0o644)
                os.replace(tmp, target)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
    return target
