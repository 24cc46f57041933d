"""The "nothing changed" build record: a fully cached rebuild answered without importing the builder.

A fully cached ``dockyard build`` of the tutorial app costs ~75 ms, of which ~45 ms are imports (the Dockerfile
parser, the executor, the store, ``dataclasses``, ``logging``) and ~10 ms the build. After a build that took
every step from the cache, :class:`recorder.Recorder` (called by ``commands/buildflow.py``) writes a record to
``<root>/build-records/<key>`` where ``key`` is the SHA-256 of everything the command line decides
(:func:`record.record_material`: the state root, the context directory, every option but ``--iidfile`` with ``-f``
made absolute and bare ``--build-arg``\\s resolved from the environment, the settings files' bytes, whether
stdout is a terminal, the dockyard and Python versions, the size and mtime of the builder's sources). The
record holds:

* the Dockerfile's and both ``.dockerignore`` candidates' SHA-256 (or their absence);
* every directory the context walk read (excluded ones it had to enter included): mtime, inode, mode, owner —
  a file added, removed or renamed changes its directory's mtime;
* every walked file: size, mtime, ctime, inode, device, mode, owner, and for the files COPY/ADD selected their
  content SHA-256 (files no source selected matter only by their size, in "Sending build context");
  every symlink: target, inode, owner;
* every image name the build resolved (``FROM``, ``COPY --from``) with the image ID, every cache hit (key,
  image ID, origin), the schema versions of the build and store tables, the result image ID, its tags, and the
  exact output.

:func:`replay.serve` (called by ``cli/fastpath.py`` before anything else of the build is imported; of the standard
library it imports ``os``, ``sys``, ``marshal``, ``_sha256`` and ``_sqlite3`` only) parses the command line (with
``cli/argscan.py``, over the rows of ``commands/buildflags.py`` the click command is made from), finds the record
and checks all of it: file stats equal, or — where only the times differ (``touch``) — the content re-hashed equal
(the record is then rewritten with the new times); the names still resolve to the same images, the cache entries are
still there unchanged (and were used in the last :data:`storefacts.REFRESH_AFTER` seconds, else the builder runs and
marks them used), every image and its config blob exists, and the tags already point at the result as the
last-created tags of the image (so the builder's re-tagging would change nothing but their timestamps). Then it
prints the recorded output, writes ``--iidfile`` and exits 0. Any doubt — a flag it does not know, ``--no-cache``,
``--pull``, a stdin context, a missing, corrupt or other-version record, any difference at all — and it declines:
the builder runs as always (and rewrites the record). ``DOCKYARD_NO_FASTPATH=1`` turns it off;
``DOCKYARD_TRACE_FASTPATH=1`` makes it say on stderr whether it served the build (``build record: served``) or why
not (``build record: declined: ...``), for tests.

No record is written when the build ran a step, pulled an image, added a URL, resolved a name that is not a plain
``name:tag`` of the local store, selected a path the walk does not cover, found a special file, or when any part of
the context changed after the build began (its ctime is not older than the build's start).

Records are ``marshal`` data after their own SHA-256 (``json`` alone costs ~9 ms to import, more than the whole
check); ``builder prune`` and ``system prune`` may simply delete the directory.

The parts: ``record.py`` (the key, the file and the hashing they share), ``signature.py`` (the context's files),
``storefacts.py`` (the images, cache entries, tags and schema the build relied on), ``recorder.py`` (writing, after
a build) and ``replay.py`` (checking and serving, before one).
"""

__all__: list[str] = []  # its users import the part they need: a served build loads no writer
