"""Revision records in memory, for FakeEngine (the Docker adapter keeps them in volumes).

Pipeline position: mixed into ``testing.fake.FakeEngine``; same contract as
``adapters.docker.revisions``: create-or-get by number, so a test can race two writers.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

from stackup.ports import revisions as R


class FakeRevisionsMixin:
    """``create_revision`` / ``list_revisions`` / ``remove_revisions`` over a dict."""

    def _revision_store(self) -> tuple[threading.Lock, dict[str, dict[str, str]]]:
        found = self.__dict__.get("_revision_records")
        if found is None:
            found = self.__dict__.setdefault("_revision_records", (threading.Lock(), {}))
        return found

    def create_revision(self, project_name: str, number: int,
                        labels: Mapping[str, str]) -> dict[str, str]:
        lock, records = self._revision_store()
        with lock:
            stored = records.setdefault(R.volume_name(project_name, number), dict(labels))
            return dict(stored)

    def list_revisions(self, project_name: str) -> list[dict[str, str]]:
        lock, records = self._revision_store()
        with lock:
            return [dict(v) for v in records.values() if v.get(R.PROJECT) == project_name]

    def remove_revisions(self, project_name: str, numbers: Iterable[int]) -> None:
        lock, records = self._revision_store()
        with lock:
            for number in numbers:
                name = R.volume_name(project_name, number)
                if records.get(name, {}).get(R.PROJECT) == project_name:
                    del records[name]
