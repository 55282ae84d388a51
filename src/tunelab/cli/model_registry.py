"""Where ``tunelab models`` finds the registry: the server at ``TUNELAB_URL`` (with
``TUNELAB_API_KEY``) when it is set, else the local store (``TUNELAB_DATABASE_URL`` or SQLite in
the tunelab home). Both answer with the same objects (the API's), so the commands print the same.
"""

from __future__ import annotations

import os

from tunelab.cli.client import Client, path_part


class RegistryClient(Client):
    """The CLI's client plus ``PUT`` (moving an alias)."""

    def put(self, path: str, json: dict) -> dict:
        return self._send("PUT", path, json=json)


class RemoteRegistry:
    """The registry of the server at ``TUNELAB_URL``."""

    def __init__(self):
        self.client = RegistryClient()

    def versions(self) -> list[dict]:
        return [m for m in self.client.get("/v1/models")["data"] if m["id"].startswith("ft:")]

    def get(self, model_id: str) -> dict:
        return self.client.get(f"/v1/models/{path_part(model_id)}")

    def delete(self, model_id: str, force: bool) -> dict:
        query = "?force=true" if force else ""
        return self.client.delete(f"/v1/models/{path_part(model_id)}{query}")

    def gc(self, dry_run: bool) -> dict:
        return self.client.post("/v1/models/gc" + ("?dry_run=true" if dry_run else ""))

    def aliases(self) -> list[dict]:
        return self.client.get("/v1/aliases")["data"]

    def alias(self, name: str) -> dict:
        return self.client.get(f"/v1/aliases/{path_part(name)}")

    def set_alias(self, name: str, model_id: str, note: str | None, force: bool = False) -> dict:
        body = {"model": model_id} | ({"note": note} if note else {})
        body |= {"force": True} if force else {}
        return self.client.put(f"/v1/aliases/{path_part(name)}", body)

    def rollback(self, name: str) -> dict:
        return self.client.post(f"/v1/aliases/{path_part(name)}/rollback")

    def delete_alias(self, name: str) -> dict:
        return self.client.delete(f"/v1/aliases/{path_part(name)}")

    def close(self) -> None:
        self.client.close()


class LocalRegistry:
    """The registry in the local store, through the same library calls the server makes."""

    def __init__(self):
        from tunelab.cli.refs import open_local_store
        from tunelab.jobs import aliases, registry, shapes

        self.registry, self.alias_table, self.shapes = registry, aliases, shapes
        self.store = open_local_store()

    def versions(self) -> list[dict]:
        return [m for m in self.registry.list_models(self.store) if m["id"].startswith("ft:")]

    def get(self, model_id: str) -> dict:
        return self.registry.get_model(self.store, model_id)

    def delete(self, model_id: str, force: bool) -> dict:
        return self.registry.delete_model(self.store, model_id, force=force)

    def gc(self, dry_run: bool) -> dict:
        return self.registry.collect_garbage(self.store, dry_run=dry_run)

    def aliases(self) -> list[dict]:
        return [self.shapes.alias_object(a) for a in self.alias_table.list_aliases(self.store)]

    def alias(self, name: str) -> dict:
        return self.shapes.alias_object(self.alias_table.get_alias(self.store, name))

    def set_alias(self, name: str, model_id: str, note: str | None, force: bool = False) -> dict:
        state = self.alias_table.set_alias(self.store, name, model_id, note=note, forced=force)
        return self.shapes.alias_object(state)

    def rollback(self, name: str) -> dict:
        return self.shapes.alias_object(self.alias_table.rollback_alias(self.store, name))

    def delete_alias(self, name: str) -> dict:
        return self.alias_table.delete_alias(self.store, name)

    def close(self) -> None:
        self.store.dispose()


def open_registry() -> RemoteRegistry | LocalRegistry:
    """The server's registry when ``TUNELAB_URL`` is set, else the local store's."""
    return RemoteRegistry() if os.environ.get("TUNELAB_URL") else LocalRegistry()


def call(method: str, *args):
    found = open_registry()
    try:
        return getattr(found, method)(*args)
    finally:
        found.close()
