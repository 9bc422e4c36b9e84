"""``socle schemas``: the bundled Kubernetes versions, and exporting them for other tools."""

from __future__ import annotations

import argparse
import os
import shutil

from socle.core.errors import UsageError


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="schemas_command", metavar="ACTION")
    sub.add_parser("versions", help="list the bundled Kubernetes versions")
    e = sub.add_parser("export", help="write standalone per-kind schemas (kubeconform layout)")
    e.add_argument("--kubernetes-version", "-kubernetes-version", default="master")
    e.add_argument("--strict", "-strict", action="store_true")
    e.add_argument("--dir", default=None,
                   help="copy into DIR/<version>-standalone[-strict]/ (default: print the cache "
                        "folder)")
    c = sub.add_parser("crd", help="convert CRDs into JSON schemas (public CRD catalog layout)")
    c.add_argument("files", nargs="+")
    c.add_argument("--dir", required=True, help="output folder: {group}/{kind}_{version}.json")


def run(args: argparse.Namespace) -> int:
    from socle.schema import kubernetes

    action = getattr(args, "schemas_command", None)
    if action in (None, "versions"):
        for v in kubernetes.versions():
            print(v)
        return 0
    if action == "export":
        version = kubernetes.resolve_version(args.kubernetes_version)
        folder = kubernetes.export(version, args.strict)
        if args.dir:
            target = os.path.join(args.dir, os.path.basename(folder))
            try:
                shutil.copytree(folder, target, dirs_exist_ok=True)
            except (OSError, shutil.Error) as err:
                raise UsageError(f"cannot write the schemas to {args.dir}: "
                                 f"{getattr(err, 'strerror', None) or err}") from None
            folder = target
        print(folder)
        return 0
    if action == "crd":
        return _crd(args.files, args.dir)
    raise UsageError(f"unknown action {action}")  # pragma: no cover


def _crd(files: list[str], out_dir: str) -> int:
    import json

    from socle.core.sources import discover
    from socle.formats.yaml import iter_documents, quiet_native_stderr
    from socle.schema.crd import catalog_name, is_crd, schemas_from_crd

    count = 0
    for source in discover(files):
        with quiet_native_stderr():
            docs = list(iter_documents(source.read(), source.display))
        for doc in docs:
            if doc.error:
                raise doc.error
            if not is_crd(doc.obj):
                continue
            for (group, kind, version), schema in schemas_from_crd(doc.obj).items():
                target = os.path.join(out_dir, catalog_name(group, kind, version))
                try:
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    with open(target, "w", encoding="utf-8") as fh:
                        json.dump(schema, fh, indent=2)
                except OSError as err:
                    raise UsageError(f"cannot write {target}: {err.strerror or err}") from None
                print(target)
                count += 1
    if not count:
        raise UsageError("no CustomResourceDefinition with a schema found")
    return 0
