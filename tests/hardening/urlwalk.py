"""Every URL the project serves, filled with ids an attacker might try.

`walk_urls` reads the live URL configuration (`get_resolver()`), so a new
app's pages are walked the day its `urls.py` is included, without a line
changed here. Each parameter is filled from a pool of candidate values:

- ids (`int`, `path` and regex groups named like ids) get the primary keys
  of the target organization's rows whose model is named by a word of the
  route (`leads/<int:pk>/` gets lead ids), or every row's key when no word
  names a model, plus ids that exist nowhere;
- uuids get the organization's rows' UUID fields (an export's public id),
  plus one that exists nowhere;
- words (`str`, `slug` and other regex groups) get the route words that name
  a model (`leads`, `deals`, ...), the organization's slug and nonsense.

A filled URL counts only when it resolves back to the pattern it came from.
"""

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.apps import apps
from django.contrib import admin
from django.db import models
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404

from clozup.models import Membership, Organization, OrganizationModel
from clozup.tenancy import org_context

# Larger than a bigint: a lookup must answer 404, not fail in the database.
NONSENSE_IDS = ("2147483647", "99999999999999999999")
NONSENSE_WORDS = ("x", "%00", "..", "<b>")
NONSENSE_UUID = "00000000-0000-4000-8000-000000000000"
ID_NAMES = re.compile(r"(^|_)(pk|id|object_id|content_type_id|uidb36)$")
PARAMETER = re.compile(
    r"<(?:(?P<converter>[^>:]+):)?(?P<name>\w+)>|\(\?P<(?P<group>\w+)>"
)
# Keeps the walk within a few minutes: enough values to hit every kind of row.
IDS_PER_MODEL = 1
MAX_URLS_PER_PATTERN = 8
# Every method on a route's first URL; GET and POST on the rest.
FULLY_WALKED_URLS = 1


@dataclass(frozen=True)
class Route:
    """One URL pattern: its full route text and the view it resolves to."""

    text: str
    name: str
    callback: object

    def parameters(self) -> list[tuple[str, str]]:
        """(name, kind) per parameter, kind being "id", "uuid" or "word"."""
        found = []
        for match in PARAMETER.finditer(self.text):
            name = match["name"] or match["group"]
            converter = match["converter"] or ""
            is_id = converter == "int" or (
                converter in ("path", "") and ID_NAMES.search(name)
            )
            kind = "uuid" if converter == "uuid" else "id" if is_id else "word"
            found.append((name, kind))
        return found


def list_routes() -> list[Route]:
    routes = []

    def collect(resolver: URLResolver, prefix: str, namespace: str) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                inner = namespace
                if entry.namespace:
                    inner = (
                        f"{namespace}:{entry.namespace}"
                        if namespace
                        else entry.namespace
                    )
                collect(entry, prefix + str(entry.pattern), inner)
            elif isinstance(entry, URLPattern):
                name = entry.name or ""
                if name and namespace:
                    name = f"{namespace}:{name}"
                routes.append(Route(prefix + str(entry.pattern), name, entry.callback))

    collect(get_resolver(), "", "")
    return routes


@dataclass
class Pool:
    """Candidate values taken from one organization's rows."""

    ids_by_model: dict[str, list[str]]
    slug: str
    name: str = ""
    uuids: list[str] = field(default_factory=list)
    owner_login: object = None
    marked_pages: int = 0

    @classmethod
    def of(cls, organization: Organization) -> "Pool":
        ids: dict[str, list[str]] = {}
        uuids: list[str] = []
        with org_context(organization):
            for model in apps.get_models():
                if not issubclass(model, OrganizationModel):
                    continue
                keys = model.objects.order_by("-pk").values_list("pk", flat=True)
                found = [str(pk) for pk in keys[:IDS_PER_MODEL]]
                if found:
                    ids[model._meta.model_name] = found
                for uuid_field in model._meta.fields:
                    if isinstance(uuid_field, models.UUIDField):
                        values = model.objects.values_list(uuid_field.name, flat=True)
                        uuids += [str(value) for value in values[:IDS_PER_MODEL]]
            users = Membership.objects.values_list("user_id", flat=True)
            ids["user"] = [str(pk) for pk in users[:IDS_PER_MODEL]]
        return cls(
            ids_by_model=ids,
            slug=organization.slug,
            name=organization.name,
            uuids=uuids,
        )

    def model_words(self) -> list[str]:
        """Plural model names that routes spell out, such as `leads`."""
        spelled = {
            word
            for route in list_routes()
            for word in re.findall(r"[a-z]+", route.text)
        }
        return sorted(spelled & {_plural(name) for name in self.ids_by_model})

    def ids_for(self, text: str) -> list[str]:
        named = [
            pk
            for word in re.findall(r"[a-z]+", text.lower())
            for model, pks in self.ids_by_model.items()
            if _names_model(word, model)
            for pk in pks
        ]
        every = [pks[0] for pks in self.ids_by_model.values()]
        return _unique(named or every) + list(NONSENSE_IDS)

    def words(self) -> list[str]:
        labels = sorted({model._meta.app_label for model in admin.site._registry})
        return self.model_words() + [self.slug, *labels, *NONSENSE_WORDS]


def _plural(model: str) -> str:
    if model.endswith("y"):
        return model[:-1] + "ies"
    return model + "s"


def _singular(word: str) -> str:
    if word.endswith("ies"):
        return word[:-3] + "y"
    return word.removesuffix("s")


def _names_model(word: str, model: str) -> bool:
    stem = _singular(word)
    if len(stem) < 4:
        return False
    return model == stem or model.startswith(stem) or model.endswith(stem)


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


# A route converter, or a regex group with its body (one level of nesting).
SLOT = re.compile(r"<(?:[^>:]+:)?(\w+)>|\(\?P<(\w+)>(?:[^()]|\([^()]*\))*\)")


def _fill(text: str, values: dict[str, str]) -> str:
    url = SLOT.sub(
        lambda m: values[m[1] or m[2]], text.replace("^", "").replace("$", "")
    )
    return "/" + url


def urls_for(route: Route, pool: Pool) -> list[str]:
    """The URLs that fill `route` from `pool` and resolve back to it."""
    parameters = route.parameters()
    words = [name for name, kind in parameters if kind == "word"]
    keys = [(name, kind) for name, kind in parameters if kind != "word"]
    per_choice: list[list[str]] = []
    for word_values in itertools.product(pool.words(), repeat=len(words)):
        chosen = dict(zip(words, word_values, strict=True))
        context = _fill(route.text, {**chosen, **{name: "" for name, _ in keys}})
        candidates = {
            "id": pool.ids_for(context),
            "uuid": _unique([*pool.uuids, NONSENSE_UUID]),
        }
        key_values = itertools.product(*(candidates[kind] for _, kind in keys))
        urls = [
            _fill(route.text, {**chosen, **dict(zip(names, values, strict=True))})
            for names in [[name for name, _ in keys]]
            for values in itertools.islice(key_values, MAX_URLS_PER_PATTERN)
        ]
        per_choice.append([url for url in urls if _resolves_to(url, route)])
    # Round robin, so that every choice of words keeps some of its ids.
    mixed = itertools.chain.from_iterable(itertools.zip_longest(*per_choice))
    return _unique([url for url in mixed if url])[:MAX_URLS_PER_PATTERN]


def _resolves_to(url: str, route: Route) -> bool:
    try:
        match = resolve(url.split("?")[0])
    except Resolver404:
        return False
    return match.func == route.callback or getattr(
        match.func, "view_class", None
    ) == getattr(route.callback, "view_class", object())


def walk_urls(pool: Pool) -> Iterator[tuple[Route, str, bool]]:
    """(route, URL, whether it is the route's first URL)."""
    for route in list_routes():
        for index, url in enumerate(urls_for(route, pool)):
            yield route, url, index < FULLY_WALKED_URLS
