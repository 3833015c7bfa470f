"""Saving uploaded bytes to the media storage so that a failure leaves no file behind.

Django's FileSystemStorage leaves a partial (often empty) file when a write fails half-way, for
example on a full disk; every save here removes what it wrote before the error goes on.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Iterable

from django.core.files.base import ContentFile
from django.core.files.storage import Storage, default_storage
from django.db.models.fields.files import FieldFile

from grading.errors import StorageFull

logger = logging.getLogger(__name__)


def bytes_save(*, path: str, content: bytes, storage: Storage = default_storage) -> str:
    """Save under `path` (a name of ours, never the uploader's); the name it got.

    A full disk raises StorageFull; any failure removes the partial file first.
    """
    try:
        return storage.save(path, ContentFile(content))
    except BaseException as error:
        _delete_quietly(storage, path)
        if isinstance(error, OSError) and error.errno == errno.ENOSPC:
            raise StorageFull() from error
        raise


def field_file_save(field_file: FieldFile, *, name: str, content: bytes) -> None:
    """FieldFile.save(name, content, save=False), with bytes_save's clean failure."""
    path = field_file.field.generate_filename(field_file.instance, name)
    field_file.name = bytes_save(path=path, content=content, storage=field_file.storage)
    setattr(field_file.instance, field_file.field.attname, field_file.name)
    field_file._committed = True


def files_delete(paths: Iterable[str], *, storage: Storage = default_storage) -> None:
    for path in paths:
        if path:
            _delete_quietly(storage, path)


def _delete_quietly(storage: Storage, path: str) -> None:
    try:
        storage.delete(path)
    except OSError:
        logger.exception("Could not remove %s from the media storage", path)
