"""Searches and shows an event through the generated client; prints what it found as JSON."""
import json
import sys

from ideadb_client import AuthenticatedClient
from ideadb_client.api.events import get_api_events_id_show, get_api_events_search
from ideadb_client.models import SearchResult, Shown

base, key = sys.argv[1], sys.argv[2]
# Hawat's `key <key>` form of the Authorization header.
client = AuthenticatedClient(base_url=base, token=key, prefix="key")

found = get_api_events_search.sync(
    client=client, submit="Search", dt_from="", categories=["Recon.Scanning"], limit="5", count="true"
)
assert isinstance(found, SearchResult), found
items = found.items
assert items, "the search found nothing"
first_id = items[0]["ID"]
shown = get_api_events_id_show.sync(first_id, client=client)
assert isinstance(shown, Shown), shown
print(json.dumps({
    "ids": [i["ID"] for i in items],
    "total": found.total,
    "shown_id": shown.item_id,
    "shown": shown.item,
}))
