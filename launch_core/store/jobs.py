"""Launch jobs kept by the store: an entity's named recipes, their versions and
aliases (``relaunch job create``, ``describe``, ``versions``, ``alias``, ``delete``).

One entity owns its jobs, as it owns its code tarballs: a job's code is a tarball of
that entity, stored with the version in one transaction, and only that entity's
launches name it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from launch_core.errors import InvalidInput, NotFound
from launch_core.spec.job_refs import LATEST, check_alias, version_number
from launch_core.store.blobs import BlobOps
from launch_core.store.schema import launch_job_aliases, launch_job_versions, launch_jobs

if TYPE_CHECKING:  # the model is built on first use, not at every CLI start
    from launch_core.spec.job_recipe import JobRecipe

MAX_VERSION = 999_999_999  # v0 ... v999999999 (job_refs.VERSION)


@dataclass(frozen=True)
class JobVersion:
    """One stored version of a job: its recipe, aliases and whether it is the newest."""

    entity: str
    name: str
    version: int
    digest: str
    recipe: JobRecipe
    aliases: tuple[str, ...]
    latest: bool
    created_at: float

    @property
    def label(self) -> str:
        """``NAME:vN``: what a launched run's spec records (W&B's ``job`` field)."""
        return f"{self.name}:v{self.version}"

    @property
    def all_aliases(self) -> tuple[str, ...]:
        """Its aliases with ``latest`` first when it is the newest."""
        return ((LATEST,) if self.latest else ()) + self.aliases


@dataclass(frozen=True)
class CreatedVersion:
    """What a create did: the version (new, or the one with the same content) and the
    aliases it moved there, each with the version it named before (None: new)."""

    version: JobVersion
    created: bool
    moved: dict[str, int | None]


class JobOps(BlobOps):
    """Jobs by (entity, name); versions by number, alias or ``latest``."""

    def create_job_version(self, entity: str, name: str, recipe: JobRecipe, *,
                           aliases: Sequence[str] = (), code_blob: bytes | None = None
                           ) -> CreatedVersion:
        """Store ``recipe`` as the next version of ``entity``'s job ``name`` (created
        if new), unless a version has the same content: then that one. Either way
        ``aliases`` move to it. ``code_blob`` (the tarball ``recipe.code`` names) is
        stored as the entity's in the same transaction, so a failed create leaves no
        version and no tarball. Raises InvalidInput (an alias, code the entity does not
        own)."""
        for alias in aliases:
            check_alias(alias, "-a/--alias")
        digest, now = recipe.digest(), self.clock()
        with self._write() as conn:
            self._attach_code(conn, entity, recipe.code, code_blob)
            next_version = self._lock_job(conn, entity, name, now)
            found = conn.execute(select(launch_job_versions.c.version).where(
                *_of(launch_job_versions, entity, name),
                launch_job_versions.c.digest == digest)).scalar()
            if found is None:
                if next_version > MAX_VERSION:
                    raise InvalidInput(f"job {name}: no version numbers left")
                conn.execute(insert(launch_job_versions).values(
                    entity=entity, name=name, version=next_version, digest=digest,
                    recipe=recipe.model_dump(mode="json", exclude_none=True), created_at=now))
                conn.execute(update(launch_jobs).where(*_of(launch_jobs, entity, name))
                             .values(next_version=next_version + 1, updated_at=now))
            version = next_version if found is None else int(found)
            moved = {alias: self._point(conn, entity, name, alias, version)
                     for alias in dict.fromkeys(aliases)}
            stored = self._version(conn, entity, name, version)
        return CreatedVersion(stored, found is None, moved)

    def _lock_job(self, conn: Connection, entity: str, name: str, now: float) -> int:
        """The job's next version number, its row created if missing and locked (on
        PostgreSQL; SQLite's write transaction holds the whole file)."""
        dialect = postgresql if self.is_postgres else sqlite
        conn.execute(dialect.insert(launch_jobs).values(
            entity=entity, name=name, next_version=0, created_at=now, updated_at=now
        ).on_conflict_do_nothing(index_elements=["entity", "name"]))
        query = select(launch_jobs.c.next_version).where(*_of(launch_jobs, entity, name))
        return int(conn.execute(query.with_for_update()).scalar_one())

    def _point(self, conn: Connection, entity: str, name: str, alias: str,
               version: int) -> int | None:
        """Make ``alias`` name ``version``; return the version it named before."""
        where = (*_of(launch_job_aliases, entity, name), launch_job_aliases.c.alias == alias)
        before = conn.execute(select(launch_job_aliases.c.version).where(*where)).scalar()
        if before is None:
            conn.execute(insert(launch_job_aliases).values(entity=entity, name=name,
                                                           alias=alias, version=version))
        elif before != version:
            conn.execute(update(launch_job_aliases).where(*where).values(version=version))
        return None if before is None else int(before)

    def get_job_version(self, entity: str, name: str, selector: str | None = None
                        ) -> JobVersion:
        """The version ``selector`` names: None or ``latest`` (the newest), ``vN``, or
        an alias. Raises NotFound naming the job and the selector."""
        with self._read() as conn:
            return self._resolve(conn, entity, name, selector)

    def _resolve(self, conn: Connection, entity: str, name: str, selector: str | None
                 ) -> JobVersion:
        newest = self._newest(conn, entity, name)
        if selector is None or selector == LATEST:
            return self._version(conn, entity, name, newest)
        number = version_number(selector)
        if number is None:
            number = conn.execute(select(launch_job_aliases.c.version).where(
                *_of(launch_job_aliases, entity, name),
                launch_job_aliases.c.alias == selector)).scalar()
            if number is None:
                raise NotFound(f"job {name}: no alias {selector!r} in entity {entity!r}")
        return self._version(conn, entity, name, int(number))

    def _newest(self, conn: Connection, entity: str, name: str) -> int:
        newest = conn.execute(select(func.max(launch_job_versions.c.version)).where(
            *_of(launch_job_versions, entity, name))).scalar()
        if newest is None:
            raise NotFound(f"job {name!r} not found in entity {entity!r}")
        return int(newest)

    def _version(self, conn: Connection, entity: str, name: str, version: int) -> JobVersion:
        row = conn.execute(select(launch_job_versions).where(
            *_of(launch_job_versions, entity, name),
            launch_job_versions.c.version == version)).first()
        if row is None:
            self._newest(conn, entity, name)  # NotFound for the job itself first
            raise NotFound(f"job {name}: no version v{version} in entity {entity!r}")
        return self._record(conn, row._mapping, self._newest(conn, entity, name))

    def _record(self, conn: Connection, row: Any, newest: int) -> JobVersion:
        from launch_core.spec.job_recipe import JobRecipe

        aliases = conn.execute(select(launch_job_aliases.c.alias).where(
            *_of(launch_job_aliases, row["entity"], row["name"]),
            launch_job_aliases.c.version == row["version"]
        ).order_by(launch_job_aliases.c.alias)).scalars().all()
        return JobVersion(row["entity"], row["name"], int(row["version"]), row["digest"],
                          JobRecipe.model_validate(row["recipe"]), tuple(aliases),
                          row["version"] == newest, float(row["created_at"]))

    def job_versions(self, entity: str, name: str) -> list[JobVersion]:
        """Every version of ``entity``'s job ``name``, newest first. Raises NotFound."""
        with self._read() as conn:
            newest = self._newest(conn, entity, name)
            rows = conn.execute(select(launch_job_versions).where(
                *_of(launch_job_versions, entity, name)
            ).order_by(launch_job_versions.c.version.desc())).all()
            return [self._record(conn, row._mapping, newest) for row in rows]

    def set_job_alias(self, entity: str, name: str, version: int, alias: str
                      ) -> tuple[JobVersion, int | None]:
        """Make ``alias`` name ``version`` (moving it from the version it named, which
        is returned). Raises InvalidInput for ``latest`` or ``vN``, NotFound."""
        check_alias(alias, "ALIAS")
        with self._write() as conn:
            self._version(conn, entity, name, version)  # NotFound
            before = self._point(conn, entity, name, alias, version)
            return self._version(conn, entity, name, version), before

    def delete_job(self, entity: str, name: str, version: int | None = None) -> list[int]:
        """Delete a version (and the aliases on it), or with ``version`` None the job
        with all its versions and aliases; deleting a job's only version deletes the
        job. Returns the version numbers deleted. Runs already enqueued keep their own
        spec, and the code tarball stays (other runs and versions may name it).
        Raises NotFound."""
        with self._write() as conn:
            self._newest(conn, entity, name)  # NotFound
            if version is not None:
                self._version(conn, entity, name, version)  # NotFound
            numbers = conn.execute(select(launch_job_versions.c.version).where(
                *_of(launch_job_versions, entity, name))).scalars().all()
            if version is not None and len(numbers) > 1:
                conn.execute(delete(launch_job_aliases).where(
                    *_of(launch_job_aliases, entity, name),
                    launch_job_aliases.c.version == version))
                conn.execute(delete(launch_job_versions).where(
                    *_of(launch_job_versions, entity, name),
                    launch_job_versions.c.version == version))
                return [version]
            for table in (launch_job_aliases, launch_job_versions, launch_jobs):
                conn.execute(delete(table).where(*_of(table, entity, name)))
            return sorted(int(n) for n in numbers)


def _of(table: Any, entity: str, name: str) -> tuple[Any, Any]:
    """The WHERE terms of one job's rows in ``table``."""
    return table.c.entity == entity, table.c.name == name
