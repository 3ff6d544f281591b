"""Creates Mentat's tables in an existing database and stores messages with Mentat's own
storage service, as mentat-ng 2.15.4 does (mentat-peer.md)."""
import copy
import json
import sys

import mentat.idea.internal
import mentat.services.eventstorage as es


def main(dbname, path, port="5432"):
    storage = es.EventStorageService(dbname=dbname, user="postgres", password="", host="127.0.0.1", port=int(port))
    storage.database_create()
    storage.index_create()
    stored = 0
    for message in json.load(open(path)):
        message = copy.deepcopy(message)
        # mentat-ng reads only _Mentat, and storing needs its StorageTime.
        private = message.setdefault("_Mentat", {})
        if "StorageTime" not in private and "StorageTime" in message.get("_CESNET", {}):
            private["StorageTime"] = message["_CESNET"]["StorageTime"]
        try:
            storage.insert_event(mentat.idea.internal.Idea(message))
            stored += 1
        except Exception as e:  # Mentat refuses it: the import cannot meet it either.
            storage.rollback()
            print(f"mentat refused {message.get('ID')}: {e}", file=sys.stderr)
    print(stored)


if __name__ == "__main__":
    main(*sys.argv[1:4])
